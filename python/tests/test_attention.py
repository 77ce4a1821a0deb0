"""attend.attention against softmax(Q Kᵀ · scale + mask) V written in numpy (float64)."""

import math

import numpy as np
import pytest

import attend

TOL = dict(rtol=1e-5, atol=1e-5)


def reference(q, k, v, mask=None, causal=False, scale=None):
    """(output (B, H, Lq, Dv), weights (B, H, Lq, Lk)) in float64; rows with every key masked give
    zeros, as the library does."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    lq, lk = q.shape[2], k.shape[2]
    s = q @ np.swapaxes(k, -1, -2) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    if causal:  # query i sees keys j <= i (top-left aligned)
        s = np.where(np.tril(np.ones((lq, lk), bool)), s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    dead = m == -np.inf
    e = np.exp(s - np.where(dead, 0.0, m))
    w = np.where(dead, 0.0, e / np.where(dead, 1.0, e.sum(axis=-1, keepdims=True)))
    return w @ v, w


def qkv(rng, b, h, lq, lk, d, dv):
    return (
        rng.standard_normal((b, h, lq, d), dtype=np.float32),
        rng.standard_normal((b, h, lk, d), dtype=np.float32),
        rng.standard_normal((b, h, lk, dv), dtype=np.float32),
    )


# (B, H, Lq, Lk, D, Dv): single elements, Lq != Lk both ways, Dv != D, and lengths past 64 (the
# fused "tiles" kernel; shorter ones take the "rows" kernel).
SHAPES = [
    (1, 1, 1, 1, 1, 1),
    (2, 3, 5, 5, 8, 8),
    (2, 2, 7, 13, 16, 16),
    (1, 2, 13, 7, 16, 16),
    (1, 4, 9, 6, 8, 24),
    (2, 1, 130, 257, 32, 12),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("causal", [False, True])
def test_matches_numpy(rng, shape, causal):
    q, k, v = qkv(rng, *shape)
    out = attend.attention(q, k, v, causal=causal)
    assert out.dtype == np.float32 and out.shape == shape[:3] + (shape[5],)
    np.testing.assert_allclose(out, reference(q, k, v, causal=causal)[0], **TOL)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("causal", [False, True])
def test_weights(rng, shape, causal):
    q, k, v = qkv(rng, *shape)
    out, w = attend.attention(q, k, v, causal=causal, return_weights=True)
    ref_out, ref_w = reference(q, k, v, causal=causal)
    assert w.dtype == np.float32 and w.shape == shape[:4]
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, **TOL)
    np.testing.assert_allclose(w, ref_w, **TOL)
    np.testing.assert_allclose(out, ref_out, **TOL)
    # the reference path (weights) and the fused path agree
    np.testing.assert_allclose(out, attend.attention(q, k, v, causal=causal), **TOL)


def test_scale(rng):
    q, k, v = qkv(rng, 2, 2, 6, 9, 8, 4)
    for return_weights in (False, True):
        out = attend.attention(q, k, v, scale=0.3, return_weights=return_weights)
        out = out[0] if return_weights else out
        np.testing.assert_allclose(out, reference(q, k, v, scale=0.3)[0], **TOL)


def bool_mask(rng, shape):
    m = rng.random(shape) < 0.7
    m[..., 0, :] = False  # a fully masked query row (when the mask has rows)
    return m


# (B, H, Lq, Lk, D, Dv) and mask shapes broadcast to (B, H, Lq, Lk)
MASK_CASES = [
    ((2, 3, 5, 7, 8, 8), (5, 7)),
    ((2, 3, 5, 7, 8, 8), (2, 1, 1, 7)),  # key padding
    ((2, 3, 5, 7, 8, 8), (2, 3, 5, 7)),
    ((1, 2, 70, 90, 16, 8), (1, 70, 90)),
]


@pytest.mark.parametrize("case", MASK_CASES, ids=str)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("return_weights", [False, True])
def test_bool_mask(rng, case, causal, return_weights):
    shape, mshape = case
    q, k, v = qkv(rng, *shape)
    mask = bool_mask(rng, mshape)
    ref_out, ref_w = reference(q, k, v, mask=mask, causal=causal)
    got = attend.attention(q, k, v, mask=mask, causal=causal, return_weights=return_weights)
    out = got[0] if return_weights else got
    np.testing.assert_allclose(out, ref_out, **TOL)
    if return_weights:
        np.testing.assert_allclose(got[1], ref_w, **TOL)
    if len(mshape) >= 2:  # the row masked everywhere gives zeros, not NaN
        assert not np.isnan(out).any()
        np.testing.assert_array_equal(out[..., 0, :], 0.0)


@pytest.mark.parametrize("case", MASK_CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("return_weights", [False, True])
def test_additive_mask(rng, case, dtype, return_weights):
    shape, mshape = case
    q, k, v = qkv(rng, *shape)
    mask = rng.standard_normal(mshape).astype(dtype)
    mask[rng.random(mshape) < 0.2] = -np.inf
    mask[..., -1, :] = -np.inf  # a fully masked query row
    ref_out, ref_w = reference(q, k, v, mask=mask)
    got = attend.attention(q, k, v, mask=mask, return_weights=return_weights)
    out = got[0] if return_weights else got
    np.testing.assert_allclose(out, ref_out, **TOL)
    if return_weights:
        np.testing.assert_allclose(got[1], ref_w, **TOL)
    np.testing.assert_array_equal(out[..., -1, :], 0.0)


def test_threads_agree(rng):
    for shape in [(2, 4, 40, 50, 16, 16), (2, 4, 200, 300, 32, 32)]:
        q, k, v = qkv(rng, *shape)
        one = attend.attention(q, k, v, causal=True, threads=1)
        two = attend.attention(q, k, v, causal=True, threads=2)
        np.testing.assert_array_equal(one, two)
        np.testing.assert_array_equal(attend.attention(q, k, v, causal=True), two)


def test_strided_inputs(rng):
    """Views are read in place or copied once: TSLib's (B, L, H, D) transposed, reversed,
    broadcast and Fortran-ordered arrays give the same result as their contiguous copies."""
    b, h, lq, lk, d = 2, 3, 6, 8, 4
    q_blhd = rng.standard_normal((b, lq, h, d), dtype=np.float32)
    k, v = qkv(rng, b, h, lk, lk, d, d)[1:]
    q = q_blhd.transpose(0, 2, 1, 3)
    cases = [
        (q, k, v),
        (q, k[:, :, ::-1], v[:, :, ::-1]),
        (q, np.broadcast_to(k[:1], k.shape), v),
        (np.asfortranarray(q), k, v),
    ]
    for qq, kk, vv in cases:
        expected = reference(qq, kk, vv)[0]
        np.testing.assert_allclose(attend.attention(qq, kk, vv), expected, **TOL)


def test_array_likes(rng):
    q, k, v = qkv(rng, 1, 1, 2, 3, 2, 2)
    mask = [[True, False, True], [False, True, True]]
    out = attend.attention(q, k, v, mask=mask)
    np.testing.assert_allclose(out, reference(q, k, v, mask=np.array(mask))[0], **TOL)


def test_models_and_version():
    names = attend.models()
    assert names == sorted(names) and "Transformer" in names and "PatchTST" in names
    assert isinstance(attend.__version__, str) and attend.__version__.count(".") == 2


# ---- errors: ValueError naming the argument ----------------------------------------------------


def bad_calls(rng):
    q, k, v = qkv(rng, 2, 3, 5, 7, 8, 4)
    return [
        ("q must be 4-d", lambda: attend.attention(q[0], k, v)),
        ("k must be 4-d", lambda: attend.attention(q, k[None], v)),
        ("v must be 4-d", lambda: attend.attention(q, k, v[0, 0])),
        ("q must be float32, got float64", lambda: attend.attention(q.astype(np.float64), k, v)),
        ("k must be float32, got float16", lambda: attend.attention(q, k.astype(np.float16), v)),
        ("v must be float32, got int64", lambda: attend.attention(q, k, v.astype(np.int64))),
        ("k of shape (2, 3, 7, 6) does not match q", lambda: attend.attention(q, k[..., :6], v)),
        ("k of shape (2, 1, 7, 8) does not match q", lambda: attend.attention(q, k[:, :1], v)),
        ("v of shape (2, 3, 6, 4) does not match k", lambda: attend.attention(q, k, v[:, :, :6])),
        ("mask of shape (5, 6)", lambda: attend.attention(q, k, v, mask=np.ones((5, 6), bool))),
        ("mask of shape (3, 2, 3, 5, 7)", lambda: attend.attention(q, k, v, mask=np.ones((3, 2, 3, 5, 7), bool))),
        ("mask must be bool", lambda: attend.attention(q, k, v, mask=np.ones((5, 7), np.int32))),
        ("threads must be >= 0", lambda: attend.attention(q, k, v, threads=-1)),
    ]


def test_errors_name_the_argument(rng):
    for message, call in bad_calls(rng):
        with pytest.raises(ValueError) as e:
            call()
        assert type(e.value) is ValueError
        assert message in str(e.value), (message, str(e.value))
