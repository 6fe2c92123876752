"""Known mistakes of lesson 03 (stride and shape math), one entry per exercise.

Each mistake is written as a student holding it would write the exercise cell.  ``python
tools/mistakes.py`` runs them on the probes and stores what they return in
``poolkit/mistakes/03-stride-and-shape-math.json``; the code stays here, with the instructor.
See tools/mistakes.py for the format.
"""

from poolkit.checks import hw_cases, keras_size_cases, literal_cases, size_cases

# ceil mode: an extra window that would start past the right padding (not just in it),
# and a dilated window whose stride is shorter than its span
_CEIL = literal_cases(
    [((4, 2, 3, 1, 1, True), {}, "ceil mode: the extra window starts past the padding"),
     ((10, 3, 2, 1, 2, True), {}, "ceil mode with dilation 2")],
    names=("size", "kernel_size", "stride", "padding", "dilation", "ceil_mode"))

# a halving (24 -> 12), two halvings (37 -> 9), fine-tuning only (64 -> 60), and a target
# that 2x2/2 halvings miss (50 -> 13)
_STACKS = literal_cases([((24, 12), {}), ((37, 9), {}), ((64, 60), {}), ((50, 13), {})],
                        names=("size", "target"))

MISTAKES = {
    "output_size": {
        "probes": [size_cases(seed=9301, n=8, stride_none=True), _CEIL],
        "mistakes": [
            {
                "id": 'no_drop_rule',
                "matches": 'ceil mode that keeps a last window starting in the right padding',
                "explain": 'PyTorch drops the extra ceil-mode window when it would start in the right padding or beyond, because it would see no real input',
                "section": 'Section 1, the output-size formula (the ceil-mode drop rule and the drawing)',
                "source": '''
import math

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = size + 2 * padding - dilation * (kernel_size - 1) - 1
    return (math.ceil(room / stride) if ceil_mode else room // stride) + 1
''',
            },
            {
                "id": 'ignores_dilation',
                "matches": 'the size for an undilated window',
                "explain": 'with dilation d the k taps sit d positions apart, so the window spans more than k positions',
                "section": 'Section 1, the output-size formula',
                "source": '''
import math

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = size + 2 * padding - kernel_size
    out = (math.ceil(room / stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
''',
            },
            {
                "id": 'one_side_padding',
                "matches": 'the size with the padding added on one side only',
                "explain": 'padding p is added at both ends of the axis, so the padded length grows by 2p',
                "section": 'Section 1, the output-size formula',
                "source": '''
def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = size + padding - dilation * (kernel_size - 1) - 1
    out = (-(-room // stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
''',
            },
            {
                "id": 'no_plus_one',
                "matches": 'one window too few',
                "explain": 'the room left after the first window, divided by the stride, counts the further windows; the first window itself adds one more',
                "section": 'Section 1, the output-size formula',
                "source": '''
def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = size + 2 * padding - dilation * (kernel_size - 1) - 1
    out = -(-room // stride) if ceil_mode else room // stride
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
''',
            },
            {
                "id": 'returns_float',
                "matches": 'the right size, but as a float',
                "explain": 'a size counts windows and must be a plain int, but true division and float constants turn it into a float',
                "section": "Exercise 1: PyTorch's output size (the result is a plain Python int)",
                "source": '''
import math

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = size + 2 * padding - dilation * (kernel_size - 1) - 1
    out = (math.ceil(room / stride) if ceil_mode else math.floor(room / stride)) + 1.0
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
''',
            },
            {
                "id": 'stride_none_is_one',
                "matches": 'the size with stride 1 when stride is None',
                "explain": "PyTorch's default stride is the kernel size, so stride=None gives non-overlapping windows",
                "section": "Exercise 1: PyTorch's output size (stride=None means stride = kernel_size)",
                "source": '''
def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = 1 if stride is None else stride
    room = size + 2 * padding - dilation * (kernel_size - 1) - 1
    out = (-(-room // stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
''',
            },
            {
                "id": 'ignores_ceil_mode',
                "matches": 'the floor-mode size whatever ceil_mode says',
                "explain": 'ceil_mode=True rounds the number of stride steps up, which can add a last, partial window',
                "section": 'Section 1, the output-size formula (ceil_mode and the drawing)',
                "source": '''
def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
''',
            },
        ],
    },
    "fraction_kept": {
        "probes": [hw_cases(seed=9303, n=6, stride_none=True)],
        "mistakes": [
            {
                "id": 'ignores_padding',
                "matches": 'the fraction kept without the padding',
                "explain": 'padding widens each axis by 2p before the windows are counted, while the input still has H x W positions',
                "section": 'Section 2, what a pooling layer keeps, and Exercise 1',
                "source": '''
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    h_out = (height - kernel_size) // stride + 1
    w_out = (width - kernel_size) // stride + 1
    return h_out * w_out / (height * width)
''',
            },
            {
                "id": 'stride_limit',
                "matches": 'the large-input limit 1 / stride**2',
                "explain": 'that limit holds only for large inputs; on a real plane floor mode drops the last incomplete window and k > s loses a border, so count the outputs of each axis',
                "section": 'Section 2, what a pooling layer keeps',
                "source": '''
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    return 1 / stride**2
''',
            },
            {
                "id": 'fraction_dropped',
                "matches": 'the fraction dropped (1 minus the fraction kept)',
                "explain": 'the fraction kept is the output positions divided by the input positions; what you return is the share that is dropped',
                "section": 'Section 2, what a pooling layer keeps',
                "source": '''
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    h_out = (height + 2 * padding - kernel_size) // stride + 1
    w_out = (width + 2 * padding - kernel_size) // stride + 1
    return 1 - h_out * w_out / (height * width)
''',
            },
            {
                "id": 'stride_none_is_one',
                "matches": 'the fraction with stride 1 when stride is None',
                "explain": 'a missing stride means the kernel size, as in PyTorch',
                "section": 'Exercise 3: fraction kept (stride=None means kernel_size)',
                "source": '''
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    stride = 1 if stride is None else stride
    h_out = (height + 2 * padding - kernel_size) // stride + 1
    w_out = (width + 2 * padding - kernel_size) // stride + 1
    return h_out * w_out / (height * width)
''',
            },
            {
                "id": 'same_axis_twice',
                "matches": "the fraction with the height's output count used for both axes",
                "explain": 'on a plane that is not square the two axes give different output counts, so count each axis with its own length',
                "section": 'Section 2, what a pooling layer keeps',
                "source": '''
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    n_out = (height + 2 * padding - kernel_size) // stride + 1
    return n_out * n_out / (height * width)
''',
            },
        ],
    },
    "keras_output_size": {
        "probes": [keras_size_cases(seed=9306, n=8, with_padding=True, strides_none=True)],
        "mistakes": [
            {
                "id": 'same_rounds_down',
                "matches": "'same' rounded down",
                "explain": "'same' pads for the last, partial window, so it rounds the number of stride steps up",
                "section": "Section 3, Keras' 'valid' and 'same'",
                "source": '''
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    strides = pool_size if strides is None else strides
    if padding == "same":
        return size // strides
    return (size - pool_size) // strides + 1
''',
            },
            {
                "id": 'same_as_valid',
                "matches": "the 'valid' size for both policies",
                "explain": "'same' pads just enough for every stride step to get a window, so its size depends only on L and the stride, not on the window",
                "section": "Section 3, Keras' 'valid' and 'same'",
                "source": '''
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    strides = pool_size if strides is None else strides
    return (size - pool_size) // strides + 1
''',
            },
            {
                "id": 'strides_none_is_one',
                "matches": 'the size with strides 1 when strides is None',
                "explain": 'a missing strides means strides = pool_size, in Keras as in PyTorch',
                "section": "Section 3, Keras' 'valid' and 'same'",
                "source": '''
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    strides = 1 if strides is None else strides
    if padding == "same":
        return -(-size // strides)
    return (size - pool_size) // strides + 1
''',
            },
            {
                "id": 'same_as_ceil_mode',
                "matches": "'same' as the 'valid' count rounded up",
                "explain": "'same' is not PyTorch's ceil mode: it pads so that every stride step starts a window, so the window size plays no part",
                "section": "Section 3, Keras' 'valid' and 'same'",
                "source": '''
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    strides = pool_size if strides is None else strides
    if padding == "same":
        return -(-(size - pool_size) // strides) + 1
    return (size - pool_size) // strides + 1
''',
            },
        ],
    },
    "stack_to_target": {
        "probes": [_STACKS],
        "mistakes": [
            {
                "id": 'hardcoded_example',
                "matches": "the example's stack for 37 -> 9, whatever the sizes",
                "explain": 'the stack must depend on size and target: follow the size after each layer and choose layers until it equals the target',
                "section": 'Exercise 4: design a stack to a target size',
                "source": '''
def stack_to_target(size, target):
    return [(3, 2, 0), (2, 2, 0)]
''',
            },
            {
                "id": 'halves_only',
                "matches": 'a stack of 2x2/2 halvings only',
                "explain": 'repeated halving reaches only about L/2, L/4, L/8, ...; stride-1 layers change the size by -2 to +1 to fine-tune it, and the other stride-2 layers halve to slightly different sizes',
                "section": 'Exercise 4: design a stack to a target size (which layer shrinks a lot, which fine-tunes?)',
                "source": '''
def stack_to_target(size, target):
    stack = []
    while size > target and len(stack) < 6:
        stack.append((2, 2, 0))
        size //= 2
    return stack
''',
            },
            {
                "id": 'one_big_window',
                "matches": 'one stride-1 window of size - target + 1',
                "explain": 'only kernels 2 and 3 are allowed, so a large reduction must come from several layers, mostly with stride 2',
                "section": 'Exercise 4: design a stack to a target size',
                "source": '''
def stack_to_target(size, target):
    if size == target:
        return []
    return [(size - target + 1, 1, 0)]
''',
            },
            {
                "id": 'halve_then_shrink',
                "matches": 'halvings followed by one-row 2x2/1 shrinks',
                "explain": 'shrinking by one row per layer can need far more than 6 layers: choose the halvings (2x2/2, 3x3/2, padded) so they end close to the target',
                "section": 'Exercise 4: design a stack to a target size (which layer shrinks a lot, which fine-tunes?)',
                "source": '''
def stack_to_target(size, target):
    stack = []
    while size // 2 >= target:
        stack.append((2, 2, 0))
        size //= 2
    while size > target:
        stack.append((2, 1, 0))
        size -= 1
    return stack
''',
            },
        ],
    },
}
