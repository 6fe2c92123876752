"""Plausible wrong answers for lesson 03 (stride and shape math), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.

Known mistakes (the ones a diagnosis names) live in
``solutions/03-stride-and-shape-math/mistakes.py``; this file keeps the other wrong answers: rule
breaks (other libraries, speed, types) and answers no probe can pin down.
"""

WRONG = {
    "output_size": [
        ('returns a numpy.int64', '''
import numpy as np

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = np.int64(size + 2 * padding - dilation * (kernel_size - 1) - 1)
    out = (-(-room // stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
'''),
        ('a float in ceil mode only (np.ceil), an int in floor mode', '''
import numpy as np

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = size + 2 * padding - dilation * (kernel_size - 1) - 1
    out = (np.ceil(room / stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
'''),
        ('asks PyTorch, as the visible test does', '''
import torch

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    pool = torch.nn.MaxPool1d(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)
    return int(pool(torch.zeros(1, 1, size)).shape[-1])
'''),
    ],
    "input_sizes": [
        ('tries every length from 1 up (too slow for a large output)', '''
def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    span = dilation * (kernel_size - 1) + 1
    found, length = [], 1
    while True:
        room = length + 2 * padding - span
        n = (-(-room // stride) if ceil_mode else room // stride) + 1
        if ceil_mode and (n - 1) * stride >= length + padding:
            n -= 1
        if n == out:
            found.append(length)
        elif n > out:
            return found
        length += 1
'''),
        ('tries a fixed set of lengths, 1 to 999', '''
def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    span = dilation * (kernel_size - 1) + 1
    found = []
    for length in range(1, 1000):
        room = length + 2 * padding - span
        n = (-(-room // stride) if ceil_mode else room // stride) + 1
        if ceil_mode and (n - 1) * stride >= length + padding:
            n -= 1
        if n == out:
            found.append(length)
    return found
'''),
        ('returns a range, not a list', '''
def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    first = (out - 1) * stride + dilation * (kernel_size - 1) + 1 - 2 * padding
    if ceil_mode:
        low = max(first - stride + 1, (out - 1) * stride - padding + 1)
        high = max(first, min(first + stride, out * stride - padding))
    else:
        low, high = first, first + stride - 1
    return range(max(low, 1), high + 1)
'''),
        ('asks PyTorch', '''
import torch

def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    pool = torch.nn.MaxPool1d(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)
    found = []
    for length in range(1, 200):
        try:
            if pool(torch.zeros(1, 1, length)).shape[-1] == out:
                found.append(length)
        except RuntimeError:
            pass
    return found
'''),
    ],
    "stack_to_target": [
        ('greedy: halve while the half still reaches the target, then stride-1 steps '
         '(misses pairs like 32 -> 17 that need a halving that rounds up)', '''
def stack_to_target(size, target):
    stack = []
    while size >= 2 * target - 1 and size > target:
        layer = (2, 2, 0) if size % 2 == 0 else (3, 2, 1)
        stack.append(layer)
        size = (size + 2 * layer[2] - layer[0]) // 2 + 1
    while size - target >= 2:
        stack.append((3, 1, 0))
        size -= 2
    if size > target:
        stack.append((2, 1, 0))
        size -= 1
    return stack
'''),
        ('greedy over every shrinking layer, the padded stride-2 ones that round up included, '
         'but never growing (30 -> 17 takes it 7 layers; 30 -> 16 -> 17 takes 2)', '''
def stack_to_target(size, target):
    stack = []
    while size > target:
        for k, s, p in [(2, 2, 0), (3, 2, 1), (2, 2, 1), (3, 1, 0), (2, 1, 0)]:
            if (size + 2 * p - k) // s + 1 >= target:
                stack.append((k, s, p))
                size = (size + 2 * p - k) // s + 1
                break
    return stack
'''),
    ],
}
