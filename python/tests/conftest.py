"""Shared fixtures. The suite tests the package on PYTHONPATH (ctest sets it to build/python) or
the installed one."""

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(19)
