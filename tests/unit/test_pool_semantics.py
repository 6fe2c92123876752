"""The worked examples of ../shared/reference/pooling-semantics.md, each checked against torch
as well, and the corner cases a course must get right."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from poolgrade import reference as ref

nan, inf = np.nan, np.inf


def t(x):
    return torch.tensor(np.asarray(x, dtype=np.float64))


def test_ceil_mode_output_sizes():
    assert ref.pool_output_size(5, 2, 2, 1, ceil_mode=False) == 3
    assert ref.pool_output_size(5, 2, 2, 1, ceil_mode=True) == 3  # last window dropped
    assert ref.pool_output_size(6, 3, 2, 0) == 2
    assert ref.pool_output_size(6, 3, 2, 0, ceil_mode=True) == 3
    for args in [(5, 2, 2, 1, 1, True), (6, 3, 2, 0, 1, True), (6, 3, 2, 0, 1, False)]:
        expected = F.max_pool1d(torch.zeros(1, 1, args[0]), *args[1:]).shape[-1]
        assert ref.pool_output_size(*args) == expected


def test_ties_go_to_the_first_position():
    x = np.array([[3.0, 3, 1, 3]])
    out, idx = ref.max_pool1d(x, 2, 1, return_indices=True)
    np.testing.assert_array_equal(idx, [[0, 1, 3]])
    np.testing.assert_array_equal(out, [[3, 3, 3]])
    expected = F.max_pool1d(t(x), 2, 1, return_indices=True)[1].numpy()
    np.testing.assert_array_equal(idx, expected)


def test_tie_gradient_goes_to_first_and_overlaps_add_up():
    x = np.array([[[3.0, 3, 1, 3]]])  # as a (C=1, H=1, W=4) image
    dx = ref.max_pool2d_backward(np.ones((1, 1, 3)), x, (1, 2), (1, 1))
    np.testing.assert_array_equal(dx, [[[1, 1, 0, 1]]])
    xt = t(x).requires_grad_()
    F.max_pool2d(xt, (1, 2), (1, 1)).sum().backward()
    np.testing.assert_array_equal(dx, xt.grad.numpy())


def test_nan_wins_and_the_last_nan_is_pointed_at():
    out, idx = ref.max_pool2d(np.full((1, 3, 3), nan), 3, return_indices=True)
    assert np.isnan(out).all() and idx.item() == 8
    out, idx = ref.max_pool1d(np.array([[nan, 1, nan]]), 3, return_indices=True)
    assert np.isnan(out).all() and idx.item() == 2
    expected = F.max_pool1d(t([[nan, 1, nan]]), 3, return_indices=True)[1]
    assert idx.item() == expected.item()
    # without indices too: NaN is not skipped
    assert np.isnan(ref.max_pool1d(np.array([[1.0, nan, 0.5]]), 3)).all()


def test_indices_index_the_unpadded_plane():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    _, idx = ref.max_pool2d(x, 2, 2, return_indices=True)
    np.testing.assert_array_equal(idx[0, 0], [[5, 7], [13, 15]])


def test_all_negative_input_with_padding_stays_negative():
    x = -np.arange(1.0, 17).reshape(1, 1, 4, 4)
    out = ref.max_pool2d(x, 3, 2, 1)
    assert (out < 0).all()  # zero padding would give 0 at the borders
    np.testing.assert_array_equal(out, F.max_pool2d(t(x), 3, 2, 1).numpy())


def test_average_divisors_worked_example():
    x = np.arange(1.0, 17).reshape(1, 1, 4, 4)
    with_pad = [[1.5556, 3.3333, 2.0], [6.3333, 11.0, 6.0], [4.5, 7.5, 4.0]]
    without = [[3.5, 5.0, 6.0], [9.5, 11.0, 12.0], [13.5, 15.0, 16.0]]
    out = ref.avg_pool2d(x, 3, 2, 1, ceil_mode=True)
    np.testing.assert_allclose(out[0, 0], with_pad, atol=1e-4)
    np.testing.assert_allclose(out, F.avg_pool2d(t(x), 3, 2, 1, True).numpy())
    out = ref.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(out[0, 0], without)
    np.testing.assert_allclose(out, F.avg_pool2d(t(x), 3, 2, 1, True, False).numpy())


def test_ceil_mode_window_hanging_past_the_padding_1d():
    x = np.array([[1.0, 2, 3, 4, 5]])
    np.testing.assert_allclose(ref.avg_pool1d(x, 2, 2, 1, ceil_mode=True), [[0.5, 2.5, 4.5]])
    np.testing.assert_allclose(
        ref.avg_pool1d(x, 2, 2, 1, ceil_mode=True, count_include_pad=False), [[1.0, 2.5, 4.5]]
    )
    x = np.arange(1.0, 8).reshape(1, 7)
    # L=7, k=3, s=2, p=1, ceil: the last window covers [5, 8) and the padded input ends at 8
    for cip in (True, False):
        np.testing.assert_allclose(ref.avg_pool1d(x, 3, 2, 1, True, cip),
                                   F.avg_pool1d(t(x), 3, 2, 1, True, cip).numpy())


def test_divisor_override_including_negative():
    x = np.arange(1.0, 17).reshape(1, 1, 4, 4)
    for d in (1, 3, -2):
        np.testing.assert_allclose(ref.avg_pool2d(x, 2, divisor_override=d),
                                   F.avg_pool2d(t(x), 2, divisor_override=d).numpy())


def test_adaptive_windows_overlap_and_differ():
    np.testing.assert_allclose(ref.adaptive_avg_pool1d(np.array([[1.0, 2, 3, 4, 5]]), 3),
                               [[1.5, 3.0, 4.5]])
    from poolgrade.reference import adaptive_bins
    assert adaptive_bins(5, 3) == [(0, 2), (1, 4), (3, 5)]


def test_window_wholly_in_padding_gives_minus_inf_like_torch():
    # L=1, k=2, d=2, p=1: taps at -1 and 1, both outside the input
    x = np.array([[[[4.0]]]])
    out, idx = ref.max_pool2d(x, (1, 2), 1, (0, 1), (1, 2), return_indices=True)
    expected, expected_idx = F.max_pool2d(t(x), (1, 2), 1, (0, 1), (1, 2), return_indices=True)
    np.testing.assert_array_equal(out, expected.numpy())
    np.testing.assert_array_equal(idx, expected_idx.numpy())
    assert np.isneginf(out).all()


def test_windows_wholly_in_padding_send_no_gradient():
    # dilation 3 and ceil mode on a height of 1: every window's taps fall in the padding
    args = ((2, 1), (2, 1), (1, 0), (3, 1), True)
    x = np.zeros((1, 1, 1, 3))
    out, idx = ref.max_pool2d(x, *args, return_indices=True)
    expected, expected_idx = F.max_pool2d(t(x), *args, return_indices=True)
    np.testing.assert_array_equal(out, expected.numpy())
    np.testing.assert_array_equal(idx, expected_idx.numpy())  # [6, 7, 8]: past the plane
    # torch's own backward writes out of bounds here; there is no input to receive anything
    dx = ref.max_pool2d_backward(np.ones(out.shape), x, *args)
    np.testing.assert_array_equal(dx, np.zeros_like(x))


def test_empty_batch_and_seed_example_shapes():
    assert ref.max_pool2d(np.zeros((0, 3, 4, 4)), 2).shape == (0, 3, 2, 2)
    assert ref.avg_pool2d(np.zeros((0, 3, 4, 4)), 2).shape == (0, 3, 2, 2)
    assert ref.max_pool2d(np.zeros((1, 16, 24, 24)), 2, 2).shape == (1, 16, 12, 12)
    assert tuple(F.max_pool2d(torch.zeros(1, 16, 24, 24), 2, 2).shape) == (1, 16, 12, 12)


def test_two_by_two_stride_two_keeps_a_quarter():
    x = np.random.default_rng(0).random((1, 16, 24, 24))
    out = ref.max_pool2d(x, 2, 2)
    assert out.size / x.size == pytest.approx(0.25)


def test_3d_pooling_against_torch():
    x = np.random.default_rng(1).integers(-3, 3, size=(2, 2, 5, 6, 7)).astype(np.float64)
    out, idx = ref.max_pool3d(x, (2, 3, 2), (1, 2, 2), (1, 1, 0), ceil_mode=True,
                                  return_indices=True)
    expected, expected_idx = F.max_pool3d(t(x), (2, 3, 2), (1, 2, 2), (1, 1, 0), ceil_mode=True,
                                          return_indices=True)
    np.testing.assert_array_equal(out, expected.numpy())
    np.testing.assert_array_equal(idx, expected_idx.numpy())
    np.testing.assert_allclose(ref.avg_pool3d(x, 3, 2, 1, count_include_pad=False),
                               F.avg_pool3d(t(x), 3, 2, 1, count_include_pad=False).numpy())
