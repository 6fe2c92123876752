"""Every configuration torch refuses is refused here too, with a message that says why."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import poolkit

X = np.zeros((1, 2, 6, 6))


@pytest.mark.parametrize("call, torch_call, words", [
    (lambda: poolkit.max_pool2d(X, 2, padding=2), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 2,
     padding=2), ["padding", "half", "kernel_size"]),
    (lambda: poolkit.max_pool2d(X, 3, dilation=2, padding=2),
     lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 3, dilation=2, padding=2), ["padding", "half"]),
    (lambda: poolkit.max_pool1d(np.zeros((1, 1, 2)), 3), lambda: F.max_pool1d(torch.zeros(1, 1, 2),
     3), ["output size", "at least 1"]),
    (lambda: poolkit.max_pool2d(X, 0), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 0),
     ["kernel_size", "at least 1"]),
    (lambda: poolkit.max_pool2d(X, 2, stride=0), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 2,
     0), ["stride", "at least 1"]),
    (lambda: poolkit.max_pool2d(X, 2, dilation=0), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 2,
     dilation=0), ["dilation"]),
    (lambda: poolkit.max_pool2d(X, 2, padding=-1), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 2,
     padding=-1), ["padding", "non-negative"]),
    (lambda: poolkit.avg_pool2d(X, 2, divisor_override=0),
     lambda: F.avg_pool2d(torch.zeros(1, 2, 6, 6), 2, divisor_override=0), ["divisor_override"]),
    (lambda: poolkit.max_pool2d(np.zeros((6, 6)), 2), lambda: F.max_pool2d(torch.zeros(6, 6), 2),
     ["(N, C, H, W)", "(6, 6)"]),
    (lambda: poolkit.max_pool2d(np.zeros((1, 1, 1, 6, 6)), 2),
     lambda: F.max_pool2d(torch.zeros(1, 1, 1, 6, 6), 2), ["5 dimensions"]),
    (lambda: poolkit.max_pool2d(np.zeros((1, 0, 6, 6)), 2),
     lambda: F.max_pool2d(torch.zeros(1, 0, 6, 6), 2), ["channel"]),
    (lambda: poolkit.max_pool2d(np.zeros((1, 1, 0, 6)), 2),
     lambda: F.max_pool2d(torch.zeros(1, 1, 0, 6), 2), ["spatial"]),
    (lambda: poolkit.max_pool2d(X, (2, 2, 2)), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6),
     (2, 2, 2)), ["kernel_size", "2 ints"]),
    (lambda: poolkit.avg_pool3d(np.zeros((1, 1, 1, 4, 4)), 2, padding=1),
     lambda: F.avg_pool3d(torch.zeros(1, 1, 1, 4, 4), 2, padding=1), ["smaller than kernel"]),
    (lambda: poolkit.pool_output_size(2, 3), lambda: F.max_pool1d(torch.zeros(1, 1, 2), 3),
     ["output size"]),
])
def test_refused_like_torch_with_a_clear_message(call, torch_call, words):
    with pytest.raises(RuntimeError):
        torch_call()
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize("call, words", [
    (lambda: poolkit.max_pool2d(X, 2.5), ["kernel_size", "2.5"]),
    (lambda: poolkit.max_pool2d(X, True), ["kernel_size"]),
    (lambda: poolkit.max_pool2d(X, "2"), ["kernel_size"]),
    (lambda: poolkit.max_pool2d(np.zeros((1, 1, 4, 4), dtype=bool), 2), ["dtype bool"]),
    (lambda: poolkit.max_pool2d(np.zeros((1, 1, 4, 4), dtype=complex), 2), ["complex"]),
    (lambda: poolkit.max_pool2d([["a", "b"]], 2), ["real numbers"]),
    (lambda: poolkit.avg_pool2d(X, 2, divisor_override=1.5), ["divisor_override"]),
    (lambda: poolkit.pool_output_size(6.0, 2), ["size must be an int"]),
])
def test_wrong_types_raise_type_error(call, words):
    with pytest.raises(TypeError) as info:
        call()
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("call, words", [
    (lambda: poolkit.keras_pool2d(np.zeros((4, 4, 3)), 2), ["4 dimensions", "x[None]"]),
    (lambda: poolkit.keras_pool2d(np.zeros((1, 4, 4, 3)), 2, padding="full"), ["'valid'"]),
    (lambda: poolkit.keras_pool2d(np.zeros((1, 4, 4, 3)), 2, mode="min"), ["'max' or 'avg'"]),
    (lambda: poolkit.keras_pool2d(np.zeros((1, 4, 4, 3)), 2, data_format="NHWC"),
     ["channels_last"]),
    (lambda: poolkit.keras_output_size(1, 3, 1), ["negative"]),
    (lambda: poolkit.max_pool2d_backward(np.zeros((1, 2, 2, 2)), X, 2), ["grad_output",
                                                                         "(1, 2, 3, 3)"]),
    (lambda: poolkit.avg_pool2d_backward(np.zeros((1, 2, 3)), X, 2), ["grad_output"]),
    (lambda: poolkit.adaptive_avg_pool2d(X, 0), ["output_size"]),
    (lambda: poolkit.adaptive_max_pool2d(X, (2, 2, 2)), ["output_size"]),
])
def test_other_bad_values_raise_value_error(call, words):
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value)
