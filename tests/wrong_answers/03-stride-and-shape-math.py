"""Plausible wrong answers for lesson 03 (stride and shape math), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.
"""

WRONG = {
    "output_size": [
        ("ceil mode without dropping the last window", '''
import math

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = size + 2 * padding - dilation * (kernel_size - 1) - 1
    return (math.ceil(room / stride) if ceil_mode else room // stride) + 1
'''),
        ("ignores dilation", '''
import math

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = size + 2 * padding - kernel_size
    out = (math.ceil(room / stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
'''),
        ("counts the padding on one side only", '''
def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    return (size + padding - dilation * (kernel_size - 1) - 1) // stride + 1
'''),
        ("off by one: forgets the +1", '''
def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride
'''),
        ("returns a float", '''
import math

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = size + 2 * padding - dilation * (kernel_size - 1) - 1
    out = (math.ceil(room / stride) if ceil_mode else math.floor(room / stride)) + 1.0
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
'''),
        ("returns a numpy.int64", '''
import numpy as np

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = np.int64(size + 2 * padding - dilation * (kernel_size - 1) - 1)
    out = (-(-room // stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
'''),
        ("stride=None means 1", '''
def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = 1 if stride is None else stride
    room = size + 2 * padding - dilation * (kernel_size - 1) - 1
    out = (-(-room // stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
'''),
    ],
    "fraction_kept": [
        ("ignores padding", '''
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    h_out = (height - kernel_size) // stride + 1
    w_out = (width - kernel_size) // stride + 1
    return h_out * w_out / (height * width)
'''),
        ("uses the large-input limit 1/stride**2", '''
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    return 1 / stride**2
'''),
        ("returns the fraction dropped", '''
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    h_out = (height + 2 * padding - kernel_size) // stride + 1
    w_out = (width + 2 * padding - kernel_size) // stride + 1
    return 1 - h_out * w_out / (height * width)
'''),
        ("stride=None means 1", '''
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    stride = 1 if stride is None else stride
    h_out = (height + 2 * padding - kernel_size) // stride + 1
    w_out = (width + 2 * padding - kernel_size) // stride + 1
    return h_out * w_out / (height * width)
'''),
    ],
    "keras_output_size": [
        ("'same' rounds down", '''
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    strides = pool_size if strides is None else strides
    if padding == "same":
        return size // strides
    return (size - pool_size) // strides + 1
'''),
        ("'valid' uses the window in 'same' too", '''
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    strides = pool_size if strides is None else strides
    return (size - pool_size) // strides + 1
'''),
        ("strides=None means 1", '''
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    strides = 1 if strides is None else strides
    if padding == "same":
        return -(-size // strides)
    return (size - pool_size) // strides + 1
'''),
    ],
    "stack_to_target": [
        ("hard-codes the example 37 -> 9", '''
def stack_to_target(size, target):
    return [(3, 2, 0), (2, 2, 0)]
'''),
        ("only 2x2/2 halvings, never fine-tunes", '''
def stack_to_target(size, target):
    stack = []
    while size > target and len(stack) < 6:
        stack.append((2, 2, 0))
        size //= 2
    return stack
'''),
        ("one big stride-1 window (breaks the kernel rule)", '''
def stack_to_target(size, target):
    if size == target:
        return []
    return [(size - target + 1, 1, 0)]
'''),
        ("halves while it can, then shrinks one row at a time (too many layers)", '''
def stack_to_target(size, target):
    stack = []
    while size // 2 >= target:
        stack.append((2, 2, 0))
        size //= 2
    while size > target:
        stack.append((2, 1, 0))
        size -= 1
    return stack
'''),
    ],
}
