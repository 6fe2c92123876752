"""Known mistakes of lesson 02 (why pooling), one entry per exercise.

Each mistake is written as a student holding it would write the exercise cell.  ``python
tools/mistakes.py`` runs them on the probes and stores what they return in
``poolkit/mistakes/02-why-pooling.json``; the code stays here, with the instructor.
See tools/mistakes.py for the format.
"""

import numpy as np

from poolkit.checks import arr, array_cases, literal_cases


def _labels(seed, size, n, classes):
    """(S, S, N) predicted classes that mostly keep the unshifted label, as the hidden
    test builds them, plus a few flips."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, classes, size=n)
    labels = np.broadcast_to(base, (size, size, n)).copy()
    flips = rng.random((size, size, n)) < 0.4
    labels[flips] = rng.integers(0, classes, size=int(flips.sum()))
    return arr(labels.tolist(), dtype="int64")


# an odd side under pooling, no pooling, three blocks (input channels > 1 twice)
_COSTS = literal_cases([
    ((13, (3, 5), 6, True), {}, "odd side, pooled"),
    ((10, (4,), 7, False), {}, "one block, no pooling"),
    ((7, (2, 3, 2), 5, True), {}, "three blocks, pooled"),
], names=("size", "channels", "hidden", "pooled"))

# S = 3 (a shift two steps away from the reference) and S = 2 with N = S
_CONSISTENCY = literal_cases([
    ((_labels(9202, 3, 5, 3),), {}, "S=3, N=5"),
    ((_labels(9203, 2, 2, 2),), {}, "S=2, N=2"),
], names=("labels",))

MISTAKES = {
    "cnn_costs": {
        "probes": [_COSTS],
        "mistakes": [
            {
                "id": 'no_biases',
                "matches": 'the counts without any bias',
                "explain": 'every convolution and dense layer also has one bias per output channel or unit, and biases are parameters (though not multiply-adds)',
                "section": 'Section 2, Claim 1: pooling means fewer numbers (the layer tables)',
                "source": '''
def cnn_costs(size, channels, hidden, pooled):
    params = madds = acts = 0
    c_in, side = 1, size
    for c_out in channels:
        conv_outputs = c_out * side * side
        params += c_in * c_out * 9
        madds += conv_outputs * c_in * 9
        acts += 2 * conv_outputs
        if pooled:
            side //= 2
            acts += c_out * side * side
        c_in = c_out
    flat = c_in * side * side
    params += flat * hidden + hidden * 4
    madds += flat * hidden + hidden * 4
    acts += flat + 2 * hidden + 4
    return int(params), int(madds), int(acts)
''',
            },
            {
                "id": 'only_conv_dense_activations',
                "matches": 'activations counted for the convolutions and dense layers only',
                "explain": 'every layer stores its output for the backward pass, so each ReLU, each pooling layer and the Flatten count as activations too',
                "section": 'Exercise 1: predict the costs of a small CNN',
                "source": '''
def cnn_costs(size, channels, hidden, pooled):
    params = madds = acts = 0
    c_in, side = 1, size
    for c_out in channels:
        conv_outputs = c_out * side * side
        params += c_in * c_out * 9 + c_out
        madds += conv_outputs * c_in * 9
        acts += conv_outputs
        if pooled:
            side //= 2
        c_in = c_out
    flat = c_in * side * side
    params += flat * hidden + hidden + hidden * 4 + 4
    madds += flat * hidden + hidden * 4
    acts += hidden + 4
    return int(params), int(madds), int(acts)
''',
            },
            {
                "id": 'ceil_pooled_side',
                "matches": 'the counts with the pooled side rounded up',
                "explain": 'a 2x2 pooling with stride 2 drops an odd last row and column, so a side of 7 becomes 3, not 4',
                "section": 'Exercise 1: predict the costs of a small CNN',
                "source": '''
def cnn_costs(size, channels, hidden, pooled):
    params = madds = acts = 0
    c_in, side = 1, size
    for c_out in channels:
        conv_outputs = c_out * side * side
        params += c_in * c_out * 9 + c_out
        madds += conv_outputs * c_in * 9
        acts += 2 * conv_outputs
        if pooled:
            side = -(-side // 2)
            acts += c_out * side * side
        c_in = c_out
    flat = c_in * side * side
    params += flat * hidden + hidden + hidden * 4 + 4
    madds += flat * hidden + hidden * 4
    acts += flat + 2 * hidden + 4
    return int(params), int(madds), int(acts)
''',
            },
            {
                "id": 'conv_madds_one_channel',
                "matches": 'the counts with each convolution output reading one input channel',
                "explain": 'a 3x3 convolution output sums over all input channels, so it costs 3*3 multiply-adds per input channel',
                "section": 'Section 2, Claim 1: pooling means fewer numbers (the layer tables)',
                "source": '''
def cnn_costs(size, channels, hidden, pooled):
    params = madds = acts = 0
    c_in, side = 1, size
    for c_out in channels:
        conv_outputs = c_out * side * side
        params += c_in * c_out * 9 + c_out
        madds += conv_outputs * 9
        acts += 2 * conv_outputs
        if pooled:
            side //= 2
            acts += c_out * side * side
        c_in = c_out
    flat = c_in * side * side
    params += flat * hidden + hidden + hidden * 4 + 4
    madds += flat * hidden + hidden * 4
    acts += flat + 2 * hidden + 4
    return int(params), int(madds), int(acts)
''',
            },
        ],
    },
    "consistency_table": {
        "probes": [_CONSISTENCY],
        "mistakes": [
            {
                "id": 'counts_changes',
                "matches": 'the fraction of predictions that changed',
                "explain": 'the score counts the images whose prediction stayed the same, so entry [0, 0] is 1',
                "section": 'Exercise 2: a shift-consistency score',
                "source": '''
def consistency_table(labels):
    labels = np.asarray(labels)
    return np.mean(labels != labels[0, 0], axis=-1).astype(np.float64)
''',
            },
            {
                "id": 'mean_over_shifts',
                "matches": 'a mean over the shift axis, not over the images',
                "explain": 'each entry is a fraction of the N images, so average over the last axis and keep one entry per shift (dy, dx)',
                "section": 'Exercise 2: a shift-consistency score',
                "source": '''
def consistency_table(labels):
    labels = np.asarray(labels)
    return np.mean(labels == labels[0, 0], axis=0).astype(np.float64)
''',
            },
            {
                "id": 'compares_with_previous_shift',
                "matches": 'agreement with the neighbouring shift',
                "explain": 'every shift is compared with the unshifted predictions labels[0, 0], not with the shift next to it',
                "section": 'Exercise 2: a shift-consistency score',
                "source": '''
def consistency_table(labels):
    labels = np.asarray(labels)
    previous = np.roll(labels, 1, axis=1)
    previous[:, 0] = labels[0, 0]
    return np.mean(labels == previous, axis=-1).astype(np.float64)
''',
            },
            {
                "id": 'compares_with_first_image',
                "matches": "agreement with the first image's prediction",
                "explain": "each image is compared with its own unshifted prediction, not with another image's",
                "section": 'Exercise 2: a shift-consistency score',
                "source": '''
def consistency_table(labels):
    labels = np.asarray(labels)
    return np.mean(labels == labels[..., :1], axis=-1).astype(np.float64)
''',
            },
        ],
    },
    "max_blur_pool2d": {
        "probes": [array_cases(seed=9204, n=4, rank=4, max_size=6)],
        "mistakes": [
            {
                "id": 'blur_then_max',
                "matches": 'blur, then max 2x2/2 (the simple order)',
                "explain": "Zhang's order splits the max pooling in two, a dense max first, then the blur, and only then the subsampling",
                "section": "Section 3, 'Where it breaks: aliasing' (Zhang's order)",
                "source": '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    return out[..., ::2, ::2]
''',
            },
            {
                "id": 'max_pool_then_blur',
                "matches": 'max 2x2/2 first, then the blur',
                "explain": 'the blur must come before the only subsampling step, so the 2x2 max is taken at every position (stride 1), then blurred, and only then are every second row and column kept',
                "section": "Section 3, 'Where it breaks: aliasing' (Zhang's order)",
                "source": '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    out = out[..., ::2, ::2]
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    return out
''',
            },
            {
                "id": 'zero_padding',
                "matches": 'MaxBlurPool with zero padding at the borders',
                "explain": 'windows that reach past a border wrap around to the other side, so the layer commutes with circular shifts',
                "section": "Exercise 3: Zhang's MaxBlurPool in NumPy",
                "source": '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    h, w = out.shape[-2:]
    padded = np.pad(out, [(0, 0)] * (out.ndim - 2) + [(0, 1), (0, 1)])
    out = np.maximum(np.maximum(padded[..., :h, :w], padded[..., 1:, :w]),
                     np.maximum(padded[..., :h, 1:], padded[..., 1:, 1:]))
    padded = np.pad(out, [(0, 0)] * (out.ndim - 2) + [(1, 1), (1, 1)])
    out = (padded[..., :-2, :] + 2 * padded[..., 1:-1, :] + padded[..., 2:, :]) / 4
    out = (out[..., :-2] + 2 * out[..., 1:-1] + out[..., 2:]) / 4
    return out[..., ::2, ::2]
''',
            },
            {
                "id": 'box_blur',
                "matches": 'MaxBlurPool with a box blur [1, 1, 1] / 3',
                "explain": 'the binomial blur weighs the centre twice as much as each neighbour, [1, 2, 1] / 4',
                "section": "Section 3, 'Where it breaks: aliasing' (Zhang's order)",
                "source": '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + out + np.roll(out, -1, axis=axis)) / 3
    return out[..., ::2, ::2]
''',
            },
            {
                "id": 'odd_rows',
                "matches": 'MaxBlurPool keeping the odd rows and columns',
                "explain": 'the subsampling keeps rows and columns 0, 2, 4, ..., starting at 0',
                "section": "Exercise 3: Zhang's MaxBlurPool in NumPy",
                "source": '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    return out[..., 1::2, 1::2]
''',
            },
            {
                "id": 'max_window_backwards',
                "matches": 'MaxBlurPool with the dense max window reaching up and left',
                "explain": 'the 2x2 window whose top-left corner is [i, j] takes its neighbours from row i + 1 and column j + 1; np.roll with a positive shift brings in the ones before instead',
                "section": "Exercise 3: Zhang's MaxBlurPool in NumPy",
                "source": '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, 1, axis=axis))
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    return out[..., ::2, ::2]
''',
            },
        ],
    },
}
