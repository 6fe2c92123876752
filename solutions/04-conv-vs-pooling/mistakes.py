"""Known mistakes of lesson 04 (convolution vs pooling), one entry per exercise.

Each mistake is written as a student holding it would write the exercise cell.  ``poolgrade
mistakes`` runs them on the probes and stores what they return in
``poolkit/mistakes/04-conv-vs-pooling.json``; the code stays here, with the instructor.
See poolgrade/authoring/mistake_catalogue.py for the format.

``design_stack`` has no entry: it returns layer tuples holding strings ("conv", "pool"),
which the checks do not read as data, and many different stacks are correct (its wrong
answers are in tests/wrong_answers/04-conv-vs-pooling.py).
``avg_pool2d_exclude_pad`` calls the student's ``depthwise_conv2d`` (the instructor's when
the catalogue is built); its probes keep a non-zero real pixel in every window, so that
``nonzero_count`` gives numbers, not 0 / 0.
"""

import numpy as np

from poolkit.checks import arr, literal_cases


def _values(shape, seed):
    rng = np.random.default_rng(seed)
    return arr(rng.normal(0.0, 2.0, size=shape).round(3).tolist())


# several channels (a full convolution mixes them), asymmetric filters (flipping shows),
# stride 2 with padding, and a stride-1 unpadded case
_DEPTHWISE = literal_cases([
    ((_values((1, 2, 4, 5), 41), _values((2, 1, 2, 3), 42), 2, 1), {}, "stride 2, padding 1"),
    ((_values((2, 3, 5, 4), 43), _values((3, 1, 3, 2), 44), 1, 0), {}, "stride 1"),
], names=("x", "weight", "stride", "padding"))



def _with_zeros(shape, seed, zeros):
    """_values' numbers with the entries at `zeros` (index tuples, never a whole window) 0."""
    x = np.random.default_rng(seed).normal(0.0, 2.0, size=shape).round(3)
    for index in zeros:
        x[index] = 0.0
    return arr(x.tolist())


# padding (the divisor changes at the border), zeros among the real pixels, stride None
_EXCLUDE = literal_cases([
    ((_with_zeros((1, 2, 5, 6), 45, [(0, 0, 2, 2), (0, 1, 1, 3)]), 3, None, 1), {},
     "stride None, padding 1, zeros inside"),
    ((_with_zeros((1, 1, 5, 5), 46, [(0, 0, 2, 2)]), 2, 1, 1), {}, "stride 1, padding 1"),
    ((_with_zeros((2, 1, 6, 5), 47, [(0, 0, 3, 1), (1, 0, 2, 2)]), 3, 2, 1), {},
     "stride 2, padding 1, zeros inside"),
], names=("x", "kernel_size", "stride", "padding"))

# overlapping windows with padding, stride None, stride 1 without padding
_BACKWARD = literal_cases([
    ((_values((1, 2, 3, 3), 48), (1, 2, 5, 6), 3, 2, 1), {}, "k=3, s=2, p=1"),
    ((_values((1, 1, 2, 2), 49), (1, 1, 4, 5), 2, None, 0), {}, "k=2, stride None"),
    ((_values((2, 1, 2, 2), 50), (2, 1, 4, 4), 3, 1, 0), {}, "k=3, s=1"),
    ((_values((1, 1, 4, 3), 51), (1, 1, 4, 3), 3, 1, 1), {}, "k=3, s=1, p=1"),
], names=("grad_output", "x_shape", "kernel_size", "stride", "padding"))

MISTAKES = {
    "depthwise_conv2d": {
        "probes": [_DEPTHWISE],
        "mistakes": [
            {
                "id": 'flipped_filter',
                "matches": 'a convolution with the filter flipped (textbook convolution)',
                "explain": 'deep-learning frameworks do not compute the textbook operation: which one do they compute, and does it turn the filter?',
                "section": 'Exercise 2: depthwise_conv2d in NumPy (cross-correlation)',
                "source": '''
def depthwise_conv2d(x, weight, stride=1, padding=0):
    x = np.asarray(x, dtype=np.float64)
    filters = np.asarray(weight, dtype=np.float64)[:, 0, ::-1, ::-1]
    kh, kw = filters.shape[-2:]
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, height, width = padded.shape
    h_out = (height - kh) // stride + 1
    w_out = (width - kw) // stride + 1
    out = np.zeros((n, c, h_out, w_out))
    for a in range(kh):
        for b in range(kw):
            taps = padded[:, :, a : a + stride * (h_out - 1) + 1 : stride,
                                b : b + stride * (w_out - 1) + 1 : stride]
            out += taps * filters[:, a, b][None, :, None, None]
    return out
''',
            },
            {
                "id": 'sums_channels',
                "matches": 'a full convolution that sums over all channels',
                "explain": 'depthwise is what sets this layer apart from a full convolution: which input channels may one output channel see?',
                "section": 'Section 3, average pooling is a depthwise convolution with fixed weights',
                "source": '''
def depthwise_conv2d(x, weight, stride=1, padding=0):
    x = np.asarray(x, dtype=np.float64)
    filters = np.asarray(weight, dtype=np.float64)[:, 0]
    kh, kw = filters.shape[-2:]
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, height, width = padded.shape
    h_out = (height - kh) // stride + 1
    w_out = (width - kw) // stride + 1
    out = np.zeros((n, c, h_out, w_out))
    for a in range(kh):
        for b in range(kw):
            taps = padded[:, :, a : a + stride * (h_out - 1) + 1 : stride,
                                b : b + stride * (w_out - 1) + 1 : stride]
            out += (taps * filters[:, a, b][None, :, None, None]).sum(axis=1, keepdims=True)
    return out
''',
            },
            {
                "id": 'pads_every_axis',
                "matches": 'a convolution of np.pad(x, padding), which pads all four axes (N and C too)',
                "explain": 'with a single width np.pad pads every axis, so batch item 0 and channel 0 of your padded array are zeros and the others are shifted: which axes should get padding, and how do you give np.pad one width per axis?',
                "section": 'Exercise 2: depthwise_conv2d in NumPy (padding H and W only)',
                "source": '''
def depthwise_conv2d(x, weight, stride=1, padding=0):
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    n, c, height, width = x.shape
    kh, kw = weight.shape[-2:]
    padded = np.pad(x, padding)
    h_out = (height + 2 * padding - kh) // stride + 1
    w_out = (width + 2 * padding - kw) // stride + 1
    out = np.zeros((n, c, h_out, w_out))
    for i in range(n):
        for ch in range(c):
            for r in range(h_out):
                for col in range(w_out):
                    window = padded[i, ch, r * stride : r * stride + kh,
                                    col * stride : col * stride + kw]
                    out[i, ch, r, col] = (window * weight[ch, 0]).sum()
    return out
''',
            },
            {
                "id": 'pads_axes_0_1',
                "matches": 'a convolution padded on axes 0 and 1 (N and C) instead of the last two (H and W)',
                "explain": 'np.pad reads its widths in axis order, (N, C, H, W): which two of the four pairs belong to height and width?',
                "section": 'Exercise 2: depthwise_conv2d in NumPy (padding H and W only)',
                "source": '''
def depthwise_conv2d(x, weight, stride=1, padding=0):
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    n, c = x.shape[:2]
    kh, kw = weight.shape[-2:]
    padded = np.pad(x, ((padding, padding), (padding, padding), (0, 0), (0, 0)))
    height, width = padded.shape[-2:]
    h_out = (height - kh) // stride + 1
    w_out = (width - kw) // stride + 1
    out = np.zeros((n, c, h_out, w_out))
    for i in range(n):
        for ch in range(c):
            for r in range(h_out):
                for col in range(w_out):
                    window = padded[i, ch, r * stride : r * stride + kh,
                                    col * stride : col * stride + kw]
                    out[i, ch, r, col] = (window * weight[ch, 0]).sum()
    return out
''',
            },
            {
                "id": 'first_filter_for_all',
                "matches": "a convolution that filters every channel with channel 0's filter (weight[0])",
                "explain": 'weight has shape (C, 1, kh, kw): which index picks the filter of channel c, and which axis is the one of length 1?',
                "section": 'Exercise 2: depthwise_conv2d in NumPy (cross-correlation)',
                "source": '''
def depthwise_conv2d(x, weight, stride=1, padding=0):
    x = np.asarray(x, dtype=np.float64)
    filters = np.asarray(weight, dtype=np.float64)[0]
    kh, kw = filters.shape[-2:]
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, height, width = padded.shape
    h_out = (height - kh) // stride + 1
    w_out = (width - kw) // stride + 1
    out = np.zeros((n, c, h_out, w_out))
    for a in range(kh):
        for b in range(kw):
            taps = padded[:, :, a : a + stride * (h_out - 1) + 1 : stride,
                                b : b + stride * (w_out - 1) + 1 : stride]
            out += taps * filters[:, a, b][None, :, None, None]
    return out
''',
            },
        ],
    },
    "avg_pool2d_exclude_pad": {
        "probes": [_EXCLUDE],
        "mistakes": [
            {
                "id": "include_pad",
                "matches": "average pooling with the padding counted (every divisor k * k)",
                "explain": "your windows that cover padding are divided by k * k: how many real pixels "
                           "does such a window hold, and what could count them for every window at once?",
                "section": "Section 3, average pooling is a depthwise convolution with fixed weights",
                "source": '''
def avg_pool2d_exclude_pad(x, kernel_size, stride=None, padding=0):
    x = np.asarray(x, dtype=np.float64)
    stride = kernel_size if stride is None else stride
    ones = np.ones((x.shape[1], 1, kernel_size, kernel_size))
    return depthwise_conv2d(x, ones, stride, padding) / kernel_size**2
''',
            },
            {
                "id": "nonzero_count",
                "matches": "each window's sum divided by the number of non-zero values in it",
                "explain": "a real pixel whose value is 0 still counts in the divisor: does the divisor "
                           "depend on the values of x, or only on where each window lies?",
                "section": "Exercise 3: average pooling that ignores the padding",
                "source": '''
def avg_pool2d_exclude_pad(x, kernel_size, stride=None, padding=0):
    x = np.asarray(x, dtype=np.float64)
    stride = kernel_size if stride is None else stride
    ones = np.ones((x.shape[1], 1, kernel_size, kernel_size))
    sums = depthwise_conv2d(x, ones, stride, padding)
    counts = depthwise_conv2d((x != 0).astype(np.float64), ones, stride, padding)
    return sums / counts
''',
            },
            {
                "id": "stride_none_as_one",
                "matches": "the right averages with stride 1 when stride is None",
                "explain": "with no stride given your windows overlap: how far does a pooling window step "
                           "by default?",
                "section": "Exercise 3: average pooling that ignores the padding",
                "source": '''
def avg_pool2d_exclude_pad(x, kernel_size, stride=None, padding=0):
    x = np.asarray(x, dtype=np.float64)
    stride = 1 if stride is None else stride
    ones = np.ones((x.shape[1], 1, kernel_size, kernel_size))
    sums = depthwise_conv2d(x, ones, stride, padding)
    counts = depthwise_conv2d(np.ones_like(x), ones, stride, padding)
    return sums / counts
''',
            },
        ],
    },
    "avg_pool2d_backward": {
        "probes": [_BACKWARD],
        "mistakes": [
            {
                "id": 'no_division',
                "matches": 'the gradient of sum pooling',
                "explain": 'your gradient is too large: how much does an average move when one of its inputs moves by 1?',
                "section": 'Section 3, average pooling is a depthwise convolution with fixed weights',
                "source": '''
def avg_pool2d_backward(grad_output, x_shape, kernel_size, stride=None, padding=0):
    g = np.asarray(grad_output, dtype=np.float64)
    k = kernel_size
    s = k if stride is None else stride
    n, c, height, width = x_shape
    h_out, w_out = g.shape[-2:]
    padded = np.zeros((n, c, height + 2 * padding, width + 2 * padding))
    for a in range(k):
        for b in range(k):
            padded[:, :, a : a + s * (h_out - 1) + 1 : s,
                         b : b + s * (w_out - 1) + 1 : s] += g

    return padded[:, :, padding : padding + height, padding : padding + width]
''',
            },
            {
                "id": 'overlaps_overwrite',
                "matches": 'the gradient with overlapping windows overwriting each other',
                "explain": 'an input inside several windows affects each of them: does your gradient hear from all of them?',
                "section": 'Exercise 4: the backward pass of average pooling',
                "source": '''
def avg_pool2d_backward(grad_output, x_shape, kernel_size, stride=None, padding=0):
    g = np.asarray(grad_output, dtype=np.float64)
    k = kernel_size
    s = k if stride is None else stride
    n, c, height, width = x_shape
    h_out, w_out = g.shape[-2:]
    padded = np.zeros((n, c, height + 2 * padding, width + 2 * padding))
    for a in range(k):
        for b in range(k):
            padded[:, :, a : a + s * (h_out - 1) + 1 : s,
                         b : b + s * (w_out - 1) + 1 : s] = g / (k * k)

    return padded[:, :, padding : padding + height, padding : padding + width]
''',
            },
            {
                "id": 'real_pixels_divisor',
                "matches": 'the gradient of average pooling with count_include_pad=False',
                "explain": "your border windows divide by their real pixels only: what does torch's default average count in a border window?",
                "section": 'Section 3, average pooling is a depthwise convolution with fixed weights',
                "source": '''
def avg_pool2d_backward(grad_output, x_shape, kernel_size, stride=None, padding=0):
    g = np.asarray(grad_output, dtype=np.float64)
    k = kernel_size
    s = k if stride is None else stride
    n, c, height, width = x_shape
    h_out, w_out = g.shape[-2:]
    dx = np.zeros((n, c, height, width))
    for i in range(h_out):
        for j in range(w_out):
            r0, c0 = i * s - padding, j * s - padding
            r1, c1 = min(r0 + k, height), min(c0 + k, width)
            r0, c0 = max(r0, 0), max(c0, 0)
            dx[:, :, r0:r1, c0:c1] += (g[:, :, i, j] / ((r1 - r0) * (c1 - c0)))[:, :, None, None]
    return dx
''',
            },
            {
                "id": 'slice_p_to_minus_p',
                "matches": 'the right gradient cut with [p:-p], which keeps no rows or columns when padding is 0',
                "explain": 'your result is empty when padding is 0: which rows does a slice from p to -p keep when p is 0, and how else can you say where the real rows end?',
                "section": 'Exercise 4: the backward pass of average pooling (the result has the shape of x)',
                "source": '''
def avg_pool2d_backward(grad_output, x_shape, kernel_size, stride=None, padding=0):
    g = np.asarray(grad_output, dtype=np.float64)
    k = kernel_size
    s = k if stride is None else stride
    n, c, height, width = x_shape
    h_out, w_out = g.shape[-2:]
    p = padding
    padded = np.zeros((n, c, height + 2 * p, width + 2 * p))
    for a in range(k):
        for b in range(k):
            padded[:, :, a : a + s * (h_out - 1) + 1 : s,
                         b : b + s * (w_out - 1) + 1 : s] += g / (k * k)
    return padded[:, :, p:-p, p:-p]
''',
            },
            {
                "id": 'ignores_padding_offset',
                "matches": 'the gradient with windows placed as if there were no padding',
                "explain": 'windows are laid out on the padded map: where, in the input itself, does the first one start?',
                "section": 'Exercise 4: the backward pass of average pooling',
                "source": '''
def avg_pool2d_backward(grad_output, x_shape, kernel_size, stride=None, padding=0):
    g = np.asarray(grad_output, dtype=np.float64)
    k = kernel_size
    s = k if stride is None else stride
    n, c, height, width = x_shape
    h_out, w_out = g.shape[-2:]
    dx = np.zeros((n, c, height + k, width + k))
    for a in range(k):
        for b in range(k):
            dx[:, :, a : a + s * (h_out - 1) + 1 : s,
               b : b + s * (w_out - 1) + 1 : s] += g / (k * k)
    return dx[:, :, :height, :width]
''',
            },
        ],
    },
}
