"""Known mistakes of lesson 05 (Keras and PyTorch), one entry per exercise.

Each mistake is written as a student holding it would write the exercise cell.  ``poolgrade
mistakes`` runs them on the probes and stores what they return in
``poolkit/mistakes/05-keras-and-pytorch.json``; the code stays here, with the instructor.
See poolgrade/authoring/mistake_catalogue.py for the format.

Not here: Exercise 2 (torch_to_keras) returns Keras layers as (name, kwargs) pairs, not
plain data, so its wrong answers all stay in tests/wrong_answers; so do Exercise 3's
(pool_nets builds torch and Keras models).  Exercise 1 asks for two functions; its probes
call keras_same_max_pool2d, so a slip in same_padding is named by what it does to the pooling.
"""

import numpy as np

from poolkit.checks import arr, array_cases, literal_cases


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

MISTAKES = {
    "keras_same_max_pool": {
        "function": "keras_same_max_pool2d",
        "functions": ["same_padding"],
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
            {
                "id": 'extra_pixel_first',
                "matches": "'same' padding with the odd extra pixel before instead of after",
                "explain": 'the total padding is right but the odd extra pixel sits on the wrong side, so every window is shifted by one: which side does Keras give it?',
                "section": "Section 4, reproducing Keras padding='same' in PyTorch",
                "source": '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total - total // 2), int(total // 2)

def keras_same_max_pool2d(x, pool_size, strides=None):
    x = np.asarray(x, dtype=np.float64)
    strides = pool_size if strides is None else strides
    n, height, width, c = x.shape
    (top, bottom), (left, right) = (same_padding(height, pool_size, strides),
                                    same_padding(width, pool_size, strides))
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
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
                "id": 'stride_one_total',
                "matches": "'same' padding of k - 1 in total whatever the stride and the length",
                "explain": 'your total padding ignores the stride and the input length: where does the last of the ceil(L / s) windows end, and how much padding does it need to fit?',
                "section": "Section 4, reproducing Keras padding='same' in PyTorch",
                "source": '''
def same_padding(size, pool_size, strides=None):
    total = pool_size - 1
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
    out = np.full((n, h_out, w_out, c), -np.inf)
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
}
