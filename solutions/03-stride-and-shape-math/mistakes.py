"""Known mistakes of lesson 03 (stride and shape math), one entry per exercise.

Each mistake is written as a student holding it would write the exercise cell.  ``poolgrade
mistakes`` runs them on the probes and stores what they return in
``poolkit/mistakes/03-stride-and-shape-math.json``; the code stays here, with the instructor.
See poolgrade/authoring/mistake_catalogue.py for the format.
"""

from poolkit.checks import hw_cases, keras_size_cases, literal_cases, size_cases

# ceil mode: an extra window that would start past the right padding (not just in it),
# and a dilated window whose stride is shorter than its span
_CEIL = literal_cases(
    [((4, 2, 3, 1, 1, True), {}, "ceil mode: the extra window starts past the padding"),
     ((10, 3, 2, 1, 2, True), {}, "ceil mode with dilation 2")],
    names=("size", "kernel_size", "stride", "padding", "dilation", "ceil_mode"))

# a halving (24 -> 12), two halvings (37 -> 9), fine-tuning only (64 -> 60), and a target
# that 2x2/2 halvings miss (50 -> 13: 25 is above it, 12 below)
_STACKS = literal_cases([((24, 12), {}), ((37, 9), {}), ((64, 60), {}), ((50, 13), {})],
                        names=("size", "target"))

MISTAKES = {
    "output_size": {
        "probes": [size_cases(seed=9301, n=8, stride_none=True), _CEIL],
        "mistakes": [
            {
                "id": 'no_drop_rule',
                "matches": 'ceil mode that keeps a last window starting in the right padding',
                "explain": 'your last ceil-mode window starts where there is no real input left: would PyTorch keep a window that sees none?',
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
                "explain": 'dilation puts gaps between the taps, so a dilated window covers more positions than it has taps: how many?',
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
                "explain": 'your padded axis comes out too short: on which ends of the axis does the padding go?',
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
                "explain": 'the stride steps you count lie between windows: how many windows do that many steps connect?',
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
                "explain": 'a size counts windows, so it must stay a whole-number int: which step of yours turned it into a float?',
                "section": "Exercise 1: PyTorch's output size (the list of what the tests check)",
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
                "explain": 'with no stride given your windows overlap: how far does a PyTorch pooling window step by default?',
                "section": "Exercise 1: PyTorch's output size (the list of what the tests check)",
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
                "explain": 'ceil mode is there to decide about a last, partial window: what should it do with one?',
                "section": 'Section 1, the output-size formula (ceil mode and the drawing)',
                "source": '''
def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
''',
            },
            {
                "id": 'ceil_mode_inverted',
                "matches": 'the size with floor and ceil mode swapped',
                "explain": 'your rounding does the opposite of what the flag asks: which mode may keep a last, partial window?',
                "section": 'Section 1, the output-size formula (ceil mode and the drawing)',
                "source": '''
import math

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = size + 2 * padding - dilation * (kernel_size - 1) - 1
    if ceil_mode:
        return math.floor(room / stride) + 1
    out = math.ceil(room / stride) + 1
    if (out - 1) * stride >= size + padding:
        out -= 1
    return out
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
                "explain": 'padding changes one of the two counts in the fraction but not the other: which one, and by how much?',
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
                "explain": 'that limit is only approached on large inputs: on a real plane, which windows are lost at the edges?',
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
                "explain": 'your fraction counts the positions that do not survive the pooling: which ones does the exercise ask for?',
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
                "explain": 'with no stride given your windows overlap: how far does a PyTorch pooling window step by default?',
                "section": 'Exercise 3: fraction kept (what the arguments mean)',
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
                "explain": 'on a plane that is not square the two axes have different lengths: does your count notice?',
                "section": 'Section 2, what a pooling layer keeps',
                "source": '''
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    n_out = (height + 2 * padding - kernel_size) // stride + 1
    return n_out * n_out / (height * width)
''',
            },
            {
                "id": 'integer_division',
                "matches": 'the fraction rounded down to a whole number',
                "explain": 'a fraction kept lies between 0 and 1, but your division throws away everything after the point',
                "section": 'Section 2, what a pooling layer keeps',
                "source": '''
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    stride = kernel_size if stride is None else stride
    h_out = (height + 2 * padding - kernel_size) // stride + 1
    w_out = (width + 2 * padding - kernel_size) // stride + 1
    return (h_out * w_out) // (height * width)
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
                "explain": "'same' keeps a window for the last, partial stretch of the input: does your rounding keep it?",
                "section": "Section 3, Keras: 'valid' and 'same'",
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
                "explain": "'same' pads the input while 'valid' does not: what is the padding of 'same' there to achieve?",
                "section": "Section 3, Keras: 'valid' and 'same'",
                "source": '''
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    strides = pool_size if strides is None else strides
    return (size - pool_size) // strides + 1
''',
            },
            {
                "id": 'strides_none_is_one',
                "matches": 'the size with strides 1 when strides is None',
                "explain": 'with no strides given your windows overlap: how far does a Keras pooling window step by default?',
                "section": "Section 3, Keras: 'valid' and 'same'",
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
                "explain": "'same' is not PyTorch's ceil mode: once 'same' has padded, which of length, window and stride still matter?",
                "section": "Section 3, Keras: 'valid' and 'same'",
                "source": '''
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    strides = pool_size if strides is None else strides
    if padding == "same":
        return -(-(size - pool_size) // strides) + 1
    return (size - pool_size) // strides + 1
''',
            },
            {
                "id": 'rounds_to_nearest',
                "matches": "'same' rounded to the nearest whole number",
                "explain": "rounding to the nearest can drop a short last stretch of the input: does 'same' ever drop one?",
                "section": "Section 3, Keras: 'valid' and 'same'",
                "source": '''
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    strides = pool_size if strides is None else strides
    if padding == "same":
        return round(size / strides)
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
                "explain": 'a stack that fits one pair of sizes rarely fits another: what must your stack depend on?',
                "section": 'Exercise 4: design a stack to a target size',
                "source": '''
def stack_to_target(size, target):
    return [(3, 2, 0), (2, 2, 0)]
''',
            },
            # Two ways to stop a stack of halvings; the probes cannot name both with one
            # entry (a failing case where one stops above the target, the other goes below).
            {
                "id": 'halves_only',
                "matches": 'a stack of 2x2/2 halvings only, halving until the side is at or below the target',
                "explain": 'halving alone reaches only a few sizes: which of the allowed layers change the size by a little?',
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
                "id": 'halves_only_above',
                "matches": 'a stack of 2x2/2 halvings only, halving while the half is still at least the target',
                "explain": 'halving alone reaches only a few sizes: which of the allowed layers change the size by a little?',
                "section": 'Exercise 4: design a stack to a target size (which layer shrinks a lot, which fine-tunes?)',
                "source": '''
def stack_to_target(size, target):
    stack = []
    while size // 2 >= target and len(stack) < 6:
        stack.append((2, 2, 0))
        size //= 2
    return stack
''',
            },
            {
                "id": 'one_big_window',
                "matches": 'one stride-1 window of size - target + 1',
                "explain": 'a single window that big is not an allowed layer: which allowed layers shrink the size a lot?',
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
                "explain": 'shrinking one row per layer can need far more than 6 layers: could the big steps already land nearer the target?',
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
