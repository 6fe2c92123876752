"""Known mistakes of lesson 05 (Keras and PyTorch), one entry per exercise.

Each mistake is written as a student holding it would write the exercise cell.  ``poolgrade
mistakes`` runs them on the probes and stores what they return in
``poolkit/mistakes/05-keras-and-pytorch.json``; the code stays here, with the instructor.
See poolgrade/authoring/mistake_catalogue.py for the format.

Not here: Exercise 5 (torch_to_keras) returns Keras layers as (name, kwargs) pairs, not
plain data, so its wrong answers all stay in tests/wrong_answers; so do Exercise 6's
(pool_nets builds torch and Keras models).  Exercise 1 asks for two
functions; its probes call nchw_to_nhwc, which the visible and hidden tests check first.
"""

import numpy as np

from poolkit.checks import arr, array_cases, keras_size_cases, literal_cases


def _values(shape, seed, style="normal"):
    rng = np.random.default_rng(seed)
    if style == "negative":
        x = -rng.uniform(0.5, 5.0, size=shape)
    elif style == "ties":
        x = rng.integers(-2, 3, size=shape).astype(np.float64)
    else:
        x = rng.normal(0.0, 2.0, size=shape)
    return arr(x.round(3).tolist())


_SAME_POOL_NAMES = ("x", "pool_size", "strides")
_BACKWARD_NAMES = ("grad_output", "x", "kernel_size", "stride")
_TIE = arr([[[[3.0, 3.0, 1.0, 3.0], [3.0, 3.0, 1.0, 3.0]]]])

MISTAKES = {
    "channels_layout": {
        "function": "nchw_to_nhwc",
        # random shapes, then one whose N, C, H, W all differ (a reshape or a wrong order
        # of the axes cannot come out right by chance)
        "probes": [array_cases(seed=9501, n=3, max_size=5),
                   literal_cases([((_values((2, 3, 4, 5), 1),), {}, "N, C, H, W all different")],
                                 names=("x",))],
        "mistakes": [
            {
                "id": 'reshape_not_transpose',
                "matches": 'a reshape to the channels-last shape (right shape, scrambled values)',
                "explain": 'the shape is right but the values moved to wrong places: does your operation reorder axes or re-cut memory?',
                "section": 'Section 2, channels first vs channels last',
                "source": '''
def nchw_to_nhwc(x):
    n, c, h, w = np.shape(x)
    return np.reshape(x, (n, h, w, c))


def nhwc_to_nchw(x):
    n, h, w, c = np.shape(x)
    return np.reshape(x, (n, c, h, w))
''',
            },
            {
                "id": 'swapped_height_width',
                "matches": 'the channels moved last with height and width swapped',
                "explain": 'every image comes out mirrored across its diagonal: which axes should keep their order?',
                "section": 'Section 2, channels first vs channels last',
                "source": '''
def nchw_to_nhwc(x):
    return np.transpose(np.asarray(x), (0, 3, 2, 1))


def nhwc_to_nchw(x):
    return np.transpose(np.asarray(x), (0, 3, 2, 1))
''',
            },
            {
                "id": 'inverse_permutation',
                "matches": 'the channels-last to channels-first move, applied the wrong way',
                "explain": 'does an axis order say where each old axis goes, or where each new one comes from?',
                "section": 'Section 2, channels first vs channels last',
                "source": '''
def nchw_to_nhwc(x):
    return np.transpose(np.asarray(x), (0, 3, 1, 2))


def nhwc_to_nchw(x):
    return np.transpose(np.asarray(x), (0, 2, 3, 1))
''',
            },
        ],
    },
    "same_padding": {
        # the classic cases, random ones (one with strides=None), and a window smaller than
        # the stride (the windows already fit)
        "probes": [keras_size_cases(seed=9502, n=8, strides_none=True),
                   literal_cases([((6, 1, 3), {}, "window smaller than the stride")],
                                 names=("size", "pool_size", "strides"))],
        "mistakes": [
            {
                "id": 'extra_pixel_first',
                "matches": 'the right total padding with the extra pixel before',
                "explain": 'the total is right but the odd extra pixel sits on the wrong side: which side does Keras give it?',
                "section": "Section 4, reproducing Keras padding='same' in PyTorch",
                "source": '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total - total // 2), int(total // 2)
''',
            },
            {
                "id": 'floor_output',
                "matches": 'the padding for floor(L / s) outputs',
                "explain": "a partly filled last window was dropped: how many outputs does 'same' promise for a length that s does not divide?",
                "section": "Section 4, reproducing Keras padding='same' in PyTorch",
                "source": '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = size // strides
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total - total // 2)
''',
            },
            {
                "id": 'negative_padding',
                "matches": 'negative padding when the windows already fit',
                "explain": "padding can add pixels but never remove them: what does 'same' add when the windows already fit?",
                "section": "Section 4, reproducing Keras padding='same' in PyTorch",
                "source": '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = (out - 1) * strides + pool_size - size
    return int(total // 2), int(total - total // 2)
''',
            },
            {
                "id": 'stride_one_total',
                "matches": 'the stride-1 padding (k - 1 in total) whatever the stride',
                "explain": 'your total ignores the stride and the input length: what does the last window need in order to fit?',
                "section": "Section 4, reproducing Keras padding='same' in PyTorch",
                "source": '''
def same_padding(size, pool_size, strides=None):
    total = pool_size - 1
    return int(total // 2), int(total - total // 2)
''',
            },
        ],
    },
    "keras_same_max_pool": {
        "function": "keras_same_max_pool2d",
        # small random inputs (pool 2, strides=None), then an all-negative one with an odd
        # total padding and strides != pool_size, and an overlapping stride-1 one
        "probes": [array_cases(seed=9503, n=3, max_size=4, extra_args=(2, None)),
                   literal_cases([((_values((1, 5, 6, 2), 2, "negative"), 3, 2), {},
                                   "negative, odd padding"),
                                  ((_values((2, 4, 7, 3), 3), 2, 1), {}, "stride 1")],
                                 names=_SAME_POOL_NAMES)],
        "mistakes": [
            {
                "id": 'zero_padding',
                "matches": "'same' max pooling with zero padding",
                "explain": 'a padded position won the max on a negative input, but padding must never win: which fill value never can?',
                "section": 'Section 4, why zero padding is wrong for max pooling',
                "source": '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total - total // 2)

def keras_same_max_pool2d(x, pool_size, strides=None):
    x = np.asarray(x, dtype=np.float64)
    strides = pool_size if strides is None else strides
    n, height, width, c = x.shape
    (top, bottom), (left, right) = (same_padding(height, pool_size, strides),
                                    same_padding(width, pool_size, strides))
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=0.0)
    h_out = -(-height // strides)
    w_out = -(-width // strides)
    out = np.full((n, h_out, w_out, c), -np.inf)
    for a in range(pool_size):
        for b in range(pool_size):
            taps = padded[:, a : a + strides * (h_out - 1) + 1 : strides,
                             b : b + strides * (w_out - 1) + 1 : strides, :]
            out = np.maximum(out, taps)
    return out
''',
            },
            {
                "id": 'channels_first_input',
                "matches": 'pooling the input as if it were channels first (N, C, H, W)',
                "explain": 'you pooled over the wrong axes: in which layout does Keras store a batch of images?',
                "section": 'Section 2, channels first vs channels last',
                "source": '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total - total // 2)

def keras_same_max_pool2d(x, pool_size, strides=None):
    x = np.asarray(x, dtype=np.float64)
    strides = pool_size if strides is None else strides
    n, c, height, width = x.shape
    (top, bottom), (left, right) = (same_padding(height, pool_size, strides),
                                    same_padding(width, pool_size, strides))
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=-np.inf)
    h_out = -(-height // strides)
    w_out = -(-width // strides)
    out = np.full((n, c, h_out, w_out), -np.inf)
    for a in range(pool_size):
        for b in range(pool_size):
            taps = padded[:, :, a : a + strides * (h_out - 1) + 1 : strides,
                                b : b + strides * (w_out - 1) + 1 : strides]
            out = np.maximum(out, taps)
    return out
''',
            },
            {
                "id": 'pad_every_axis',
                "matches": 'np.pad given one (before, after) pair, which pads every axis (N and C too)',
                "explain": 'your output has extra samples and channels: given one (before, after) pair, np.pad pads every axis. How many pairs does a 4-D array need, and what do N and C get?',
                "section": "Section 4, reproducing Keras padding='same' in PyTorch",
                "source": '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total - total // 2)

def keras_same_max_pool2d(x, pool_size, strides=None):
    x = np.asarray(x, dtype=np.float64)
    strides = pool_size if strides is None else strides
    top, bottom = same_padding(x.shape[1], pool_size, strides)
    padded = np.pad(x, (top, bottom), constant_values=-np.inf)
    rows = (padded.shape[1] - pool_size) // strides + 1
    cols = (padded.shape[2] - pool_size) // strides + 1
    out = np.empty((padded.shape[0], rows, cols, padded.shape[3]))
    for i in range(rows):
        for j in range(cols):
            window = padded[:, i * strides : i * strides + pool_size,
                               j * strides : j * strides + pool_size, :]
            out[:, i, j, :] = window.max(axis=(1, 2))
    return out
''',
            },
            {
                "id": 'running_max_from_zero',
                "matches": 'a running maximum that starts at 0 (np.zeros) instead of -inf',
                "explain": 'on an all-negative input every window came out 0, not only the border ones: which start value can never beat a real number?',
                "section": 'Section 4, why zero padding is wrong for max pooling',
                "source": '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total - total // 2)

def keras_same_max_pool2d(x, pool_size, strides=None):
    x = np.asarray(x, dtype=np.float64)
    strides = pool_size if strides is None else strides
    n, height, width, c = x.shape
    (top, bottom), (left, right) = (same_padding(height, pool_size, strides),
                                    same_padding(width, pool_size, strides))
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
    h_out = -(-height // strides)
    w_out = -(-width // strides)
    out = np.zeros((n, h_out, w_out, c))
    for a in range(pool_size):
        for b in range(pool_size):
            taps = padded[:, a : a + strides * (h_out - 1) + 1 : strides,
                             b : b + strides * (w_out - 1) + 1 : strides, :]
            out = np.maximum(out, taps)
    return out
''',
            },
        ],
    },
    "max_pool_backward": {
        "function": "max_pool2d_backward",
        # ties everywhere with overlapping windows, stride=None, and stride < kernel_size
        "probes": [literal_cases([
            ((arr(np.ones((1, 1, 1, 3)).tolist()), _TIE, 2, 1), {}, "ties, overlapping windows"),
            ((_values((1, 2, 3, 4), 4), _values((1, 2, 5, 6), 5, "ties"), 3, 1), {},
             "ties, overlaps"),
            ((_values((2, 1, 2, 3), 6), _values((2, 1, 5, 7), 7, "negative"), 2, None), {},
             "stride=None"),
            ((_values((1, 2, 2, 2), 8), _values((1, 2, 5, 6), 9), 3, 2), {},
             "stride 2 < kernel 3"),
        ], names=_BACKWARD_NAMES)],
        "mistakes": [
            {
                "id": 'all_ties_get_gradient',
                "matches": 'the gradient sent to every tied maximum of a window',
                "explain": 'a tied window passed its gradient to every maximum, but torch picks a single winner: which one?',
                "section": 'Section 5, the backward pass, checked against autograd',
                "source": '''
def max_pool2d_backward(grad_output, x, kernel_size, stride=None):
    x = np.asarray(x, dtype=np.float64)
    grad_output = np.asarray(grad_output, dtype=np.float64)
    k = kernel_size
    s = k if stride is None else stride
    n, c, height, width = x.shape
    h_out, w_out = (height - k) // s + 1, (width - k) // s + 1
    dx = np.zeros_like(x)
    batch, channel = np.indices((n, c))
    for i in range(h_out):
        for j in range(w_out):
            window = x[:, :, i * s : i * s + k, j * s : j * s + k]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            upstream = grad_output[:, :, i, j][:, :, None, None]
            dx[:, :, i * s : i * s + k, j * s : j * s + k] += mask * upstream
    return dx
''',
            },
            {
                "id": 'last_maximum',
                "matches": 'the gradient sent to the last maximum of each window',
                "explain": 'on a tie you chose a different winner than torch: which of the tied maxima does torch pick?',
                "section": 'Section 5, the backward pass, checked against autograd',
                "source": '''
def max_pool2d_backward(grad_output, x, kernel_size, stride=None):
    x = np.asarray(x, dtype=np.float64)
    grad_output = np.asarray(grad_output, dtype=np.float64)
    k = kernel_size
    s = k if stride is None else stride
    n, c, height, width = x.shape
    h_out, w_out = (height - k) // s + 1, (width - k) // s + 1
    dx = np.zeros_like(x)
    batch, channel = np.indices((n, c))
    for i in range(h_out):
        for j in range(w_out):
            flat = x[:, :, i * s : i * s + k, j * s : j * s + k].reshape(n, c, k * k)
            last = k * k - 1 - flat[:, :, ::-1].argmax(axis=2)
            row, col = np.divmod(last, k)
            dx[batch, channel, i * s + row, j * s + col] += grad_output[:, :, i, j]
    return dx
''',
            },
            {
                "id": 'overlaps_overwrite',
                "matches": 'gradients that overwrite each other where windows overlap',
                "explain": 'an input that wins two overlapping windows kept only one of their gradients: what happened to the other?',
                "section": 'Section 5, the backward pass, checked against autograd',
                "source": '''
def max_pool2d_backward(grad_output, x, kernel_size, stride=None):
    x = np.asarray(x, dtype=np.float64)
    grad_output = np.asarray(grad_output, dtype=np.float64)
    k = kernel_size
    s = k if stride is None else stride
    n, c, height, width = x.shape
    h_out, w_out = (height - k) // s + 1, (width - k) // s + 1
    dx = np.zeros_like(x)
    batch, channel = np.indices((n, c))
    for i in range(h_out):
        for j in range(w_out):
            flat = x[:, :, i * s : i * s + k, j * s : j * s + k].reshape(n, c, k * k)
            row, col = np.divmod(flat.argmax(axis=2), k)
            dx[batch, channel, i * s + row, j * s + col] = grad_output[:, :, i, j]
    return dx
''',
            },
        ],
    },
}
