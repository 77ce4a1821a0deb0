"""attend: attention-based time-series forecasting (the C++ library attend, from Python).

The compiled core is the extension module ``attend._attend``; this package gives it its public
names. Errors: a missing input file or folder raises FileNotFoundError, any other error a caller
can cause (bad shapes, dtypes, values, files) ValueError.
"""

from __future__ import annotations

from typing import Optional, Tuple, Union

import numpy as np

from attend import _attend
from attend._attend import __version__

from attend.forecaster import Explanation, ForecastArrays, Forecaster, load

__all__ = ["Forecaster", "load", "ForecastArrays", "Explanation", "attention", "models",
           "__version__"]


def attention(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    mask: Optional[np.ndarray] = None,
    causal: bool = False,
    scale: Optional[float] = None,
    return_weights: bool = False,
    threads: Optional[int] = None,
) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """Scaled dot-product attention, softmax(Q Kᵀ · scale + mask) V, on float32 arrays.

    Shapes: q (B, H, Lq, D), k (B, H, Lk, D), v (B, H, Lk, Dv) -> output (B, H, Lq, Dv);
    the weights softmax(Q Kᵀ · scale + mask) are (B, H, Lq, Lk).

    Args:
        q, k, v: float32 arrays (other dtypes are refused, not converted).
        mask: broadcastable to (B, H, Lq, Lk); bool (True = may attend, as PyTorch's
            ``attn_mask``) or float32/float64, added to the scores (-inf masks).
        causal: query i sees keys j <= i, top-left aligned when Lq != Lk (PyTorch's
            ``is_causal``). Combines with ``mask``.
        scale: multiplies Q Kᵀ; default 1/sqrt(D).
        return_weights: also return the weights (the reference path, which materialises them;
            otherwise the fused kernel runs and never stores the Lq × Lk matrix).
        threads: worker threads for this call; None uses every hardware thread.

    A query row whose keys are all masked gives zeros (output and weights), not NaN.
    The GIL is released while the kernel runs.

    Returns:
        The output (B, H, Lq, Dv), or (output, weights) when ``return_weights``.

    Raises:
        ValueError: an argument of the wrong dimension, dtype or shape (the message names it).
    """
    return _attend.attention(
        q,
        k,
        v,
        mask=mask,
        causal=causal,
        scale=scale,
        return_weights=return_weights,
        threads=0 if threads is None else threads,
    )


def models() -> list[str]:
    """The names of attend's forecasting models (TSLib's names), sorted."""
    return _attend.models()
