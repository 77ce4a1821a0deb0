"""Exception translation: attend::Error -> ValueError, attend::NotFoundError -> FileNotFoundError;
other C++ exceptions keep pybind11's defaults (RuntimeError, ...)."""

import numpy as np
import pytest

import attend
from attend import _attend


def test_attend_error_is_value_error_with_its_message():
    q = np.zeros((1, 1, 2, 4), np.float64)
    k = v = np.zeros((1, 1, 2, 4), np.float32)
    with pytest.raises(ValueError) as e:
        _attend.attention(q, k, v)
    assert type(e.value) is ValueError  # translated, not pybind11's RuntimeError
    assert str(e.value) == "[attention] q must be float32, got float64"


def test_wrong_argument_types_are_type_errors():
    q = np.zeros((1, 1, 2, 4), np.float32)
    with pytest.raises(TypeError):
        _attend.attention(q, q, q, threads="two")
    with pytest.raises(TypeError):
        _attend.attention(q, q, q, scale="big")


@pytest.mark.skipif(not hasattr(attend, "load"), reason="needs attend.load (the Forecaster API)")
def test_missing_checkpoint_is_file_not_found(tmp_path):
    missing = tmp_path / "no_such_checkpoint"
    with pytest.raises(FileNotFoundError) as e:
        attend.load(str(missing))
    assert str(missing) in str(e.value)
