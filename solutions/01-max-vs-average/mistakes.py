"""Known mistakes of lesson 01 (max vs average pooling), one entry per exercise.

Each mistake is written as a student holding it would write the exercise cell.  ``poolgrade
mistakes`` runs them on the probes and stores what they return in
``poolkit/mistakes/01-max-vs-average.json``; the code stays here, with the instructor.
See poolgrade/authoring/mistake_catalogue.py for the format.
"""

import numpy as np

from poolkit.checks import arr, literal_cases, pool_cases


def _values(shape, seed, negative=False):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 5.0, size=shape) if negative else rng.normal(0.0, 2.0, size=shape)
    return arr((-x if negative else x).round(3).tolist())


# both modes, overlapping and strided windows, padding on all-negative input
_VECTORIZED = literal_cases([
    ((_values((1, 2, 5, 5), 1, negative=True), 3, 2, 1), {"mode": mode}, mode)
    for mode in ("max", "avg")] + [
    ((_values((2, 1, 6, 7), 2), 2, 1, 0), {"mode": mode}, mode) for mode in ("max", "avg")],
    names=("x", "kernel_size", "stride", "padding"))

# the argument handling a loop version of exercise 1 starts with
_PAIR = '''
    def pair(v):
        return (v, v) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))

    kh, kw = pair(kernel_size)
    sh, sw = pair(kernel_size if stride is None else stride)
    ph, pw = pair(padding)
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
'''

# NumPy mechanics (the primer at the start of the lesson), shared by several exercises
_FLOAT_SIZES = {
    "matches": 'output sizes computed with `/`',
    "explain": "`/` always gives a float, which np.empty, np.full and range refuse as a size "
               "(\"'float' object cannot be interpreted as an integer\"): if that is your "
               "error, compute sizes with `//`, which rounds down as the formula's floor does",
    "section": 'NumPy mechanics (`//` against `/`) and Section 1 (the output size)',
}
_PADS_EVERY_AXIS = {
    "matches": 'np.pad given one padding for every axis, which pads N and C as well as H and W',
    "explain": 'with padding, your padded array grew along the sample and channel axes too, so '
               'it no longer fits the output: give np.pad one (before, after) pair per axis, '
               '(0, 0) for N and C',
    "section": 'NumPy mechanics (`np.pad`) and Section 3, the forward pass',
}
_AXES_0_1 = {
    "explain": "axes 0 and 1 of an (N, C, H, W) array are samples and channels: a window's "
               "rows and columns are axes 2 and 3 (or -2 and -1)",
    "section": 'NumPy mechanics (axes and `...`)',
}

MISTAKES = {
    "max_pool2d_loops": {
        "probes": [pool_cases(seed=9101, n=6, square=False, min_kernel=2, stride_none=True)],
        "mistakes": [
            {
                "id": 'zero_padding',
                "matches": 'max pooling with zero padding',
                "explain": 'a padded position won the max, but padding must never be the largest value in a window: which fill value can never win?',
                "section": 'Section 3, the forward pass, one window at a time',
                "source": '''
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return out
''',
            },
            {
                "id": 'no_plus_one',
                "matches": 'pooling with one window too few per axis',
                "explain": 'each axis has one window too few: count the windows of a small example by hand and compare with your count',
                "section": 'Section 1, pooling by hand (the output size)',
                "source": '''
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    h_out = (h + 2 * ph - kh) // sh
    w_out = (w + 2 * pw - kw) // sw
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return out
''',
            },
            {
                "id": 'swapped_window',
                "matches": "pooling with the window's height and width swapped",
                "explain": 'your windows came out transposed: which entry of an (h, w) pair describes the rows?',
                "section": 'Section 1, pooling by hand (the output size)',
                "source": '''
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    kh, kw = kw, kh
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return out
''',
            },
            {
                "id": 'max_over_batch_and_channels',
                "matches": 'one max per window position over all samples and channels',
                "explain": 'pooling keeps samples and channels apart, but each of your maxima mixed them all: which axes should it reduce?',
                "section": 'Section 1, pooling by hand (several channels)',
                "source": '''
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = np.max(window)
    return out
''',
            },
            {
                "id": 'float_sizes',
                **_FLOAT_SIZES,
                "source": '''
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    h_out = (h + 2 * ph - kh) / sh + 1
    w_out = (w + 2 * pw - kw) / sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return out
''',
            },
            {
                "id": 'pads_every_axis',
                **_PADS_EVERY_AXIS,
                "source": '''
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    padded = np.pad(x, padding, constant_values=-np.inf)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return out
''',
            },
            {
                "id": 'max_over_axes_0_1',
                "matches": 'each window reduced over axes 0 and 1 (samples and channels) instead of its rows and columns',
                **_AXES_0_1,
                "source": '''
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(0, 1))
    return out
''',
            },
        ],
    },
    "pool2d_vectorized": {
        "probes": [_VECTORIZED],
        "mistakes": [
            {
                "id": 'ignores_mode',
                "matches": 'max pooling whatever the mode',
                "explain": 'in average mode your function still returned window maxima: where does your code read the mode?',
                "section": 'Section 4, loop over the window, not over the output',
                "source": '''
def pool2d_vectorized(x, kernel_size, stride=None, padding=0, mode="max"):
    k = kernel_size
    s = k if stride is None else stride
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    h_out = (h + 2 * padding - k) // s + 1
    w_out = (w + 2 * padding - k) // s + 1
    p = padding
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    out = np.full((n, c, h_out, w_out), -np.inf)
    for di in range(k):
        for dj in range(k):
            part = padded[:, :, di:di + s * (h_out - 1) + 1:s, dj:dj + s * (w_out - 1) + 1:s]
            out = np.maximum(out, part)
    return out
''',
            },
            {
                "id": 'step_one_slices',
                "matches": 'offset slices that take every row and column, as if the stride were 1',
                "explain": 'neighbouring windows start one row apart, so the stride was lost: which rows of the padded input start a window?',
                "section": 'Section 4, loop over the window, not over the output',
                "source": '''
def pool2d_vectorized(x, kernel_size, stride=None, padding=0, mode="max"):
    k = kernel_size
    s = k if stride is None else stride
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    h_out = (h + 2 * padding - k) // s + 1
    w_out = (w + 2 * padding - k) // s + 1
    fill = -np.inf if mode == "max" else 0.0
    p = padding
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    out = np.full((n, c, h_out, w_out), fill)
    for di in range(k):
        for dj in range(k):
            part = padded[:, :, di:di + h_out, dj:dj + w_out]
            out = np.maximum(out, part) if mode == "max" else out + part
    return out if mode == "max" else out / (k * k)
''',
            },
            {
                "id": 'inf_padding_in_avg',
                "matches": 'average pooling padded with minus infinity',
                "explain": 'border averages came out as minus infinity: which fill value can sit in a sum without changing it?',
                "section": 'Section 3, the forward pass, one window at a time',
                "source": '''
def pool2d_vectorized(x, kernel_size, stride=None, padding=0, mode="max"):
    k = kernel_size
    s = k if stride is None else stride
    p = padding
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    h_out = (h + 2 * p - k) // s + 1
    w_out = (w + 2 * p - k) // s + 1
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    if mode == "max":
        out = np.full((n, c, h_out, w_out), -np.inf)
    else:
        out = np.zeros((n, c, h_out, w_out))
    for di in range(k):
        for dj in range(k):
            part = padded[:, :, di:di + s * (h_out - 1) + 1:s, dj:dj + s * (w_out - 1) + 1:s]
            out = np.maximum(out, part) if mode == "max" else out + part
    return out if mode == "max" else out / (k * k)
''',
            },
            {
                "id": 'float_sizes',
                **_FLOAT_SIZES,
                "source": '''
def pool2d_vectorized(x, kernel_size, stride=None, padding=0, mode="max"):
    k = kernel_size
    s = k if stride is None else stride
    p = padding
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    h_out = (h + 2 * p - k) / s + 1
    w_out = (w + 2 * p - k) / s + 1
    fill = -np.inf if mode == "max" else 0.0
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    out = np.full((n, c, h_out, w_out), fill)
    for di in range(k):
        for dj in range(k):
            part = padded[:, :, di:di + s * (h_out - 1) + 1:s, dj:dj + s * (w_out - 1) + 1:s]
            out = np.maximum(out, part) if mode == "max" else out + part
    return out if mode == "max" else out / (k * k)
''',
            },
            {
                "id": 'pads_every_axis',
                **_PADS_EVERY_AXIS,
                "source": '''
def pool2d_vectorized(x, kernel_size, stride=None, padding=0, mode="max"):
    k = kernel_size
    s = k if stride is None else stride
    p = padding
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    h_out = (h + 2 * p - k) // s + 1
    w_out = (w + 2 * p - k) // s + 1
    fill = -np.inf if mode == "max" else 0.0
    padded = np.pad(x, p, constant_values=fill)
    out = np.full((n, c, h_out, w_out), fill)
    for di in range(k):
        for dj in range(k):
            part = padded[:, :, di:di + s * (h_out - 1) + 1:s, dj:dj + s * (w_out - 1) + 1:s]
            out = np.maximum(out, part) if mode == "max" else out + part
    return out if mode == "max" else out / (k * k)
''',
            },
        ],
    },
    "input_from_max_pool": {
        # reachable maps (a strict max in a corner, a 1x1 map, a map increasing to the bottom
        # right) and impossible ones (a 5 raised above the zeros around it, inside and on an
        # edge); the grader's fresh redraws keep every value's order, and reachability
        # depends on that order alone
        "probes": [literal_cases([
            ((arr([[[[3.0, 1.0, 2.0], [0.0, 1.0, 2.0]]]]),), {}, "a 2x3 map, its largest value in a corner"),
            ((arr([[[[2.0]]]]),), {}, "a 1x1 map"),
            ((arr([[[[0.0, 1.0], [2.0, 3.0]]]]),), {}, "a 2x2 map increasing to the bottom right"),
            ((arr([[[[0.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]]]),), {},
             "a 5 in the centre of zeros"),
            ((arr([[[[0.0, 5.0, 0.0]]]]),), {}, "a 1x3 map, a 5 between zeros"),
        ], names=("pooled",))],
        "mistakes": [
            {
                "id": 'max_over_covering',
                "matches": 'each value of x set to the max of the windows covering it',
                "explain": 'a value of x counts in every window it sits in: the largest of their '
                           'maxima pushes the other windows above their targets. Which of those '
                           'maxima may a value of x not exceed?',
                "section": 'Exercise 4: a value of x sits in up to four windows',
                "source": '''
def input_from_max_pool(pooled):
    p = np.asarray(pooled, dtype=np.float64)
    padded = np.pad(p, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    return np.maximum(np.maximum(padded[..., :-1, :-1], padded[..., :-1, 1:]),
                      np.maximum(padded[..., 1:, :-1], padded[..., 1:, 1:]))
''',
            },
            {
                "id": 'top_left_fill',
                "matches": "each window's max at its top-left cell, the last row and column copied",
                "explain": "window (i, j) also holds x's cells to its right and below, which are the "
                           "top-left cells of the next windows: a larger neighbour raises this "
                           "window's max above its target",
                "section": 'Exercise 4: the windows overlap',
                "source": '''
def input_from_max_pool(pooled):
    p = np.asarray(pooled, dtype=np.float64)
    return np.pad(p, ((0, 0), (0, 0), (0, 1), (0, 1)), mode="edge")
''',
            },
            {
                "id": 'no_check',
                "matches": 'the largest input allowed, returned without checking that it pools back',
                "explain": 'not every pooled map has an input: build your x, pool it again, and '
                           'raise ValueError where it misses the target',
                "section": 'Exercise 4 (raise when no input has that pooling)',
                "source": '''
def input_from_max_pool(pooled):
    p = np.asarray(pooled, dtype=np.float64)
    padded = np.pad(p, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=np.inf)
    return np.minimum(np.minimum(padded[..., :-1, :-1], padded[..., :-1, 1:]),
                      np.minimum(padded[..., 1:, :-1], padded[..., 1:, 1:]))
''',
            },
            {
                "id": 'raises_at_local_max',
                "matches": 'ValueError for every value above all its neighbours',
                "explain": 'a value above its neighbours can sit where no other window reaches '
                           '(a corner, a 1x1 map), and a window can be impossible without being '
                           'the largest around it: what decides is whether some cell of the '
                           'window can hold its max without raising another window',
                "section": 'Exercise 4: which inputs does one window constrain?',
                "source": '''
def input_from_max_pool(pooled):
    p = np.asarray(pooled, dtype=np.float64)
    h, w = p.shape[-2:]
    around = np.pad(p, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    neighbours = np.stack([around[..., 1 + di:1 + di + h, 1 + dj:1 + dj + w]
                           for di in (-1, 0, 1) for dj in (-1, 0, 1) if (di, dj) != (0, 0)])
    if np.any(p > neighbours.max(axis=0)):
        raise ValueError("a window's max above all its neighbours cannot be reached")
    padded = np.pad(p, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=np.inf)
    return np.minimum(np.minimum(padded[..., :-1, :-1], padded[..., :-1, 1:]),
                      np.minimum(padded[..., 1:, :-1], padded[..., 1:, 1:]))
''',
            },
        ],
    },
}
