"""Instructor answers for lesson 03 (stride and shape math), reached by the hidden tests as
``"poolgrade.answers:03-stride-and-shape-math.<function>"``.  Not part of poolkit: students import
poolkit, and these are the exercises' answers."""

from __future__ import annotations


def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> int:
    """PyTorch's output length of one dimension, read off PyTorch itself: the length of
    ``nn.MaxPool1d`` applied to a tensor of zeros (a configuration torch refuses raises)."""
    import torch

    pool = torch.nn.MaxPool1d(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)
    return int(pool(torch.zeros(1, 1, size)).shape[-1])


def _torch_length(size, kernel_size, stride, padding, dilation, ceil_mode) -> int:
    """The output height ``nn.MaxPool2d`` gives a ``size x 1`` input, 0 where torch refuses the
    input as too small.  The input lives on torch's "meta" device: torch works out the shape
    without allocating it, so sizes of 10**9 cost nothing."""
    import torch

    pool = torch.nn.MaxPool2d((kernel_size, 1), (stride, 1), (padding, 0), (dilation, 1),
                              ceil_mode=ceil_mode)
    try:
        return int(pool(torch.zeros(1, 1, size, 1, device="meta")).shape[2])
    except RuntimeError:          # "Output size is too small" / "Invalid computed output size"
        return 0


def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False) -> list:
    """Every input length >= 1 that PyTorch's pooling takes to ``out``, ascending, read off
    torch itself.  Torch's output length never decreases as the input grows (checked for every
    small configuration while writing the lesson), so the answer is the run of lengths from
    the first that reaches ``out`` to the first that passes it; both are found by bisection."""
    stride = kernel_size if stride is None else stride

    def first_reaching(n):
        # the smallest length whose output is at least n; a length of (n + 1) * stride plus
        # the window's span outputs more than n whatever the padding and rounding
        low, high = 1, (n + 1) * stride + dilation * (kernel_size - 1) + 2
        while low < high:
            mid = (low + high) // 2
            if _torch_length(mid, kernel_size, stride, padding, dilation, ceil_mode) >= n:
                high = mid
            else:
                low = mid + 1
        return low

    return list(range(first_reaching(out), first_reaching(out + 1)))
