"""Known mistakes of lesson 03 (stride and shape math), one entry per exercise.

Each mistake is written as a student holding it would write the exercise cell.  ``poolgrade
mistakes`` runs them on the probes and stores what they return in
``poolkit/mistakes/03-stride-and-shape-math.json``; the code stays here, with the instructor.
See poolgrade/authoring/mistake_catalogue.py for the format.
"""

from poolkit.checks import literal_cases, size_cases

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

# the lengths that give an output: several per output (24, 25 -> 12), none at all (a 2x2
# window with padding 1 and stride 1 gives 2 windows even for L = 1), ceil mode where the
# last-window rule moves both ends (the stride is longer than the window), and dilation
_INVERSE = literal_cases(
    [((12, 2, 2, 0, 1, False), {}, "24 and 25 both give 12"),
     ((1, 2, 1, 1, 1, False), {}, "no length gives 1"),
     ((3, 3, 1, 1, 2, False), {}, "dilation 2"),
     ((4, 2, 2, 1, 1, True), {}, "ceil mode: the last-window rule"),
     ((3, 2, 3, 1, 1, True), {}, "ceil mode, stride longer than the window"),
     ((7, 3, 2, 0, 1, True), {}, "ceil mode"),
     ((5, 3, 4, 1, 2, False), {}, "dilation 2, stride 4")],
    names=("out", "kernel_size", "stride", "padding", "dilation", "ceil_mode"))

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
    "input_sizes": {
        "probes": [_INVERSE],
        "mistakes": [
            {
                "id": 'single_length',
                "matches": 'only the length whose last window fits exactly (the formula solved for L)',
                "explain": 'floor rounding sends several lengths to the same output: which longer inputs still give it?',
                "section": 'Section 1, the output-size formula (the floor), and Section 2 (24 and 25 both give 12)',
                "source": '''
def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    size = (out - 1) * stride + dilation * (kernel_size - 1) + 1 - 2 * padding
    return [size] if size >= 1 else []
''',
            },
            {
                "id": 'one_length_too_many',
                "matches": 'the floor-mode list with one length too many at its end',
                "explain": 'your last length gives one window more than out: how far past the first length can the room grow before another window fits?',
                "section": 'Section 1, the output-size formula',
                "source": '''
def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    first = (out - 1) * stride + dilation * (kernel_size - 1) + 1 - 2 * padding
    if ceil_mode:
        low = max(first - stride + 1, (out - 1) * stride - padding + 1)
        high = max(first, min(first + stride, out * stride - padding))
    else:
        low, high = first, first + stride
    return list(range(max(low, 1), high + 1))
''',
            },
            {
                "id": 'no_drop_rule',
                "matches": "ceil mode's list without the last-window rule",
                "explain": 'in ceil mode PyTorch drops a last window that starts at or beyond L + p: which lengths does that move into or out of your list?',
                "section": 'Section 1, the output-size formula (the ceil-mode drop rule and the drawing)',
                "source": '''
def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    first = (out - 1) * stride + dilation * (kernel_size - 1) + 1 - 2 * padding
    if ceil_mode:
        low, high = first - stride + 1, first
    else:
        low, high = first, first + stride - 1
    return list(range(max(low, 1), high + 1))
''',
            },
            {
                "id": 'ignores_dilation',
                "matches": 'the list for an undilated window',
                "explain": 'dilation puts gaps between the taps, so a dilated window covers more positions than it has taps: how many?',
                "section": 'Section 1, the output-size formula',
                "source": '''
def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    first = (out - 1) * stride + kernel_size - 2 * padding
    if ceil_mode:
        low = max(first - stride + 1, (out - 1) * stride - padding + 1)
        high = max(first, min(first + stride, out * stride - padding))
    else:
        low, high = first, first + stride - 1
    return list(range(max(low, 1), high + 1))
''',
            },
            {
                "id": 'lengths_below_one',
                "matches": 'the list with lengths below 1 (an input of length 0 or less)',
                "explain": 'your list holds a length below 1, which is no input at all: what if even the shortest real input gives more than out windows?',
                "section": 'Exercise 2: run the formula backwards (every input length L >= 1)',
                "source": '''
def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    first = (out - 1) * stride + dilation * (kernel_size - 1) + 1 - 2 * padding
    if ceil_mode:
        low = max(first - stride + 1, (out - 1) * stride - padding + 1)
        high = max(first, min(first + stride, out * stride - padding))
    else:
        low, high = first, first + stride - 1
    return list(range(low, high + 1))
''',
            },
            {
                "id": 'ignores_ceil_mode',
                "matches": 'the floor-mode list whatever ceil_mode says',
                "explain": 'ceil mode keeps a last, partial window, so a shorter input already reaches out windows: which lengths does that add?',
                "section": 'Section 1, the output-size formula (ceil mode and the drawing)',
                "source": '''
def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    first = (out - 1) * stride + dilation * (kernel_size - 1) + 1 - 2 * padding
    return list(range(max(first, 1), first + stride))
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
                "section": 'Exercise 3: design a stack to a target size',
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
                "section": 'Exercise 3: design a stack to a target size (which layer shrinks a lot, which fine-tunes?)',
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
                "section": 'Exercise 3: design a stack to a target size (which layer shrinks a lot, which fine-tunes?)',
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
                "section": 'Exercise 3: design a stack to a target size',
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
                "section": 'Exercise 3: design a stack to a target size (which layer shrinks a lot, which fine-tunes?)',
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
