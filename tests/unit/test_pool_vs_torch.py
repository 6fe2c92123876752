"""poolgrade.reference (the instructor's NumPy oracle) against torch: random configurations
(hypothesis)."""

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from poolgrade import reference as ref

pytestmark = pytest.mark.frameworks
torch.set_num_threads(1)

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)

TORCH_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
TORCH_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
POOLKIT_MAX = {1: ref.max_pool1d, 2: ref.max_pool2d, 3: ref.max_pool3d}
POOLKIT_AVG = {1: ref.avg_pool1d, 2: ref.avg_pool2d, 3: ref.avg_pool3d}


@st.composite
def configs(draw, max_dims=3, with_dilation=True):
    n = draw(st.integers(1, max_dims))
    top = {1: 9, 2: 7, 3: 5}[n]
    batch = draw(st.sampled_from([(), (0,), (1,), (2,)]))
    channels = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, top)) for _ in range(n))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(n))
    stride = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 4)] * n)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(n)) if with_dilation else (1,) * n
    ceil_mode = draw(st.booleans())
    # Small integers make ties common; negatives check that padding is not zero.
    values = draw(st.sampled_from(["ties", "normal", "negative", "special"]))
    shape = batch + (channels,) + spatial
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    if values == "ties":
        x = rng.integers(-2, 3, size=shape).astype(np.float64)
    elif values == "negative":
        x = -rng.random(shape) - 1.0
    else:
        x = rng.standard_normal(shape)
    if values == "special" and x.size:
        flat = x.reshape(-1)
        picks = rng.integers(0, flat.size, size=max(1, flat.size // 5))
        flat[picks] = rng.choice([np.nan, -np.inf, np.inf], size=picks.size)
    return n, x, kernel, stride, padding, dilation, ceil_mode


def torch_or_error(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs), None
    except RuntimeError as exc:
        return None, exc


@SETTINGS
@given(configs())
def test_max_pool_matches_torch(cfg):
    n, x, kernel, stride, padding, dilation, ceil_mode = cfg
    expected, refused = torch_or_error(
        TORCH_MAX[n], torch.from_numpy(x), kernel, stride, padding, dilation, ceil_mode,
        return_indices=True,
    )
    if refused is not None:
        with pytest.raises(ValueError):
            POOLKIT_MAX[n](x, kernel, stride, padding, dilation, ceil_mode)
        return
    out, idx = POOLKIT_MAX[n](x, kernel, stride, padding, dilation, ceil_mode,
                              return_indices=True)
    fast = POOLKIT_MAX[n](x, kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(out, expected[0].numpy())
    np.testing.assert_array_equal(fast, expected[0].numpy())
    np.testing.assert_array_equal(idx, expected[1].numpy())
    assert out.dtype == x.dtype and idx.dtype == np.int64


@SETTINGS
@given(configs(with_dilation=False), st.booleans(), st.sampled_from([None, 1, 3, -2]))
def test_avg_pool_matches_torch(cfg, count_include_pad, divisor_override):
    n, x, kernel, stride, padding, _, ceil_mode = cfg
    x = np.nan_to_num(x, nan=0.5, posinf=2.0, neginf=-2.0)
    if n == 1:
        divisor_override = None  # torch's avg_pool1d has no divisor_override
    extra = {} if divisor_override is None else {"divisor_override": divisor_override}
    expected, refused = torch_or_error(
        TORCH_AVG[n], torch.from_numpy(x), kernel, stride, padding, ceil_mode,
        count_include_pad, **extra,
    )
    if refused is not None:
        with pytest.raises(ValueError):
            POOLKIT_AVG[n](x, kernel, stride, padding, ceil_mode, count_include_pad, **extra)
        return
    out = POOLKIT_AVG[n](x, kernel, stride, padding, ceil_mode, count_include_pad, **extra)
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(configs(max_dims=1), st.booleans())
def test_avg_pool1d_divisor_override_matches_torch_2d(cfg, count_include_pad):
    """torch has no 1-D divisor_override; a 2-D pool over a height of 1 is the same thing."""
    _, x, kernel, stride, padding, _, ceil_mode = cfg
    x = np.nan_to_num(x, nan=0.5, posinf=2.0, neginf=-2.0)
    expected, refused = torch_or_error(
        F.avg_pool2d, torch.from_numpy(x[..., None, :]), (1, kernel[0]),
        None if stride is None else (1, stride[0]), (0, padding[0]), ceil_mode,
        count_include_pad, divisor_override=3,
    )
    assume(refused is None)
    out = ref.avg_pool1d(x, kernel, stride, padding, ceil_mode, count_include_pad, 3)
    np.testing.assert_allclose(out, expected.numpy()[..., 0, :], rtol=1e-12)


@SETTINGS
@given(configs(max_dims=2), st.integers(0, 2**31 - 1))
def test_max_pool2d_backward_matches_autograd(cfg, seed):
    n, x, kernel, stride, padding, dilation, ceil_mode = cfg
    assume(n == 2)
    x = np.nan_to_num(x, nan=0.25, posinf=3.0, neginf=-3.0)
    xt = torch.from_numpy(x).requires_grad_()
    out, refused = torch_or_error(F.max_pool2d, xt, kernel, stride, padding, dilation, ceil_mode)
    assume(refused is None)
    # A window lying wholly in the padding has no input to send its gradient to; torch's
    # backward writes out of bounds on it and can kill the process, so such configurations
    # are tested on their own in test_pool_semantics.py.
    probe = ref.max_pool2d(np.zeros(x.shape[-3:]), kernel, stride, padding, dilation, ceil_mode)
    assume(np.isfinite(probe).all())
    grad = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    out.backward(torch.from_numpy(grad))
    dx = ref.max_pool2d_backward(grad, x, kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(configs(max_dims=2, with_dilation=False), st.booleans(),
       st.sampled_from([None, 2, 5]), st.integers(0, 2**31 - 1))
def test_avg_pool2d_backward_matches_autograd(cfg, count_include_pad, divisor_override, seed):
    n, x, kernel, stride, padding, _, ceil_mode = cfg
    assume(n == 2)
    x = np.nan_to_num(x)
    xt = torch.from_numpy(x).requires_grad_()
    out, refused = torch_or_error(F.avg_pool2d, xt, kernel, stride, padding, ceil_mode,
                                  count_include_pad, divisor_override)
    assume(refused is None)
    grad = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    out.backward(torch.from_numpy(grad))
    dx = ref.avg_pool2d_backward(grad, x, kernel, stride, padding, ceil_mode,
                                     count_include_pad, divisor_override)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(configs(max_dims=2), st.integers(0, 4), st.integers(0, 4))
def test_adaptive_pooling_matches_torch(cfg, out_h, out_w):
    n, x, *_ = cfg
    t = torch.from_numpy(x)
    size = out_h if n == 1 else (out_h, out_w)
    adaptive_avg = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d}[n]
    adaptive_max = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d}[n]
    ours_avg = {1: ref.adaptive_avg_pool1d, 2: ref.adaptive_avg_pool2d}[n]
    ours_max = {1: ref.adaptive_max_pool1d, 2: ref.adaptive_max_pool2d}[n]
    np.testing.assert_allclose(ours_avg(x, size), adaptive_avg(t, size).numpy(), rtol=1e-12)
    out, idx = ours_max(x, size, return_indices=True)
    expected, expected_idx = adaptive_max(t, size, return_indices=True)
    np.testing.assert_array_equal(out, expected.numpy())
    np.testing.assert_array_equal(idx, expected_idx.numpy())


@SETTINGS
@given(st.integers(1, 40), st.integers(1, 6), st.integers(1, 6), st.integers(0, 3),
       st.integers(1, 4), st.booleans())
def test_output_size_matches_torch(size, k, s, p, d, ceil_mode):
    try:
        expected = F.max_pool1d(torch.zeros(1, 1, size), k, s, p, d, ceil_mode).shape[-1]
    except RuntimeError:
        with pytest.raises(ValueError):
            ref.pool_output_size(size, k, s, p, d, ceil_mode)
        return
    assert ref.pool_output_size(size, k, s, p, d, ceil_mode) == expected
    assert ref.loops.output_size(size, k, s, p, d, ceil_mode) == expected


@pytest.mark.parametrize("batch", [(), (0,), (2,)])
@pytest.mark.parametrize("n, size", [(1, 0), (2, 0), (2, (0, 3)), (2, (3, 0)), (2, (0, None))])
def test_adaptive_output_size_zero_gives_the_empty_output_like_torch(n, size, batch):
    x = np.random.default_rng(8).standard_normal(batch + (3,) + (5, 4)[:n])
    t = torch.from_numpy(x)
    adaptive_avg = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d}[n]
    adaptive_max = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d}[n]
    ours_avg = {1: ref.adaptive_avg_pool1d, 2: ref.adaptive_avg_pool2d}[n]
    ours_max = {1: ref.adaptive_max_pool1d, 2: ref.adaptive_max_pool2d}[n]
    pairs = [
        (ours_avg(x, size), adaptive_avg(t, size)),
        (ours_max(x, size), adaptive_max(t, size)),
        *zip(ours_max(x, size, return_indices=True), adaptive_max(t, size, return_indices=True)),
    ]
    for ours, theirs in pairs:
        assert ours.size == 0
        assert ours.shape == tuple(theirs.shape) and ours.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours, theirs.numpy())


def test_global_pooling_matches_torch():
    x = np.random.default_rng(3).standard_normal((2, 5, 7, 3))
    t = torch.from_numpy(x)
    np.testing.assert_allclose(ref.global_avg_pool2d(x), F.adaptive_avg_pool2d(t, 1).numpy())
    np.testing.assert_array_equal(ref.global_max_pool2d(x), F.adaptive_max_pool2d(t, 1).numpy())
    assert ref.global_avg_pool2d(x[0]).shape == (5, 1, 1)


def test_float32_stays_float32_and_agrees_with_torch():
    x = np.random.default_rng(4).standard_normal((2, 3, 33, 31)).astype(np.float32)
    t = torch.from_numpy(x)
    for args in [(2, 2, 0), (3, 2, 1), ((3, 2), (1, 2), (1, 1))]:
        out = ref.avg_pool2d(x, *args)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, F.avg_pool2d(t, *args).numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(ref.max_pool2d(x, *args), F.max_pool2d(t, *args).numpy())


def test_large_input_takes_the_threaded_path_and_agrees():
    """Big enough to be split across threads; the split must not change any value."""
    x = np.random.default_rng(5).standard_normal((4, 16, 130, 131)).astype(np.float32)
    assert x.size >= ref._engine._PARALLEL_MIN_ELEMENTS
    t = torch.from_numpy(x)
    np.testing.assert_array_equal(ref.max_pool2d(x, 3, 2, 1), F.max_pool2d(t, 3, 2, 1).numpy())
    # float32 sums in a different order: a few ulps apart near zero
    np.testing.assert_allclose(ref.avg_pool2d(x, 2, 2), F.avg_pool2d(t, 2, 2).numpy(),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
def test_integer_max_pooling_keeps_dtype_like_torch(dtype):
    x = np.random.default_rng(6).integers(0, 100, size=(1, 2, 6, 6)).astype(dtype)
    out = ref.max_pool2d(x, 3, 2, 1)
    assert out.dtype == dtype
    expected = F.max_pool2d(torch.from_numpy(x.astype(np.int64)), 3, 2, 1).numpy()
    np.testing.assert_array_equal(out, expected)
    assert ref.avg_pool2d(x, 2).dtype == np.float64


def test_reference_loops_agree_with_vectorized():
    rng = np.random.default_rng(7)
    for _ in range(25):
        k = int(rng.integers(1, 4))
        s = int(rng.integers(1, 4))
        p = int(rng.integers(0, k // 2 + 1))
        x = rng.integers(-3, 4, size=(2, 2, int(rng.integers(k, 9)), int(rng.integers(k, 9))))
        x = x.astype(np.float64)
        np.testing.assert_array_equal(ref.loops.max_pool2d(x, k, s, p),
                                      ref.max_pool2d(x, k, s, p))
        for cip in (True, False):
            np.testing.assert_allclose(ref.loops.avg_pool2d(x, k, s, p, cip),
                                       ref.avg_pool2d(x, k, s, p, count_include_pad=cip))


def test_accepts_torch_tensors_that_require_grad():
    t = torch.randn(1, 2, 4, 4, requires_grad=True)
    np.testing.assert_array_equal(ref.max_pool2d(t, 2), F.max_pool2d(t, 2).detach().numpy())
    assert ref.bridges.to_torch(ref.bridges.to_numpy(t)).shape == (1, 2, 4, 4)
