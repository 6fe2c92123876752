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
    "input_from_pools": {
        # constant windows and a zero window (one right answer, whatever the construction),
        # a possible pair in two windows, then impossible pairs: max above 4 * mean, mean
        # above max, one bad window of two
        "probes": [literal_cases([
            ((arr([[[[1.0, 2.0], [0.0, 3.5]]]]), arr([[[[1.0, 2.0], [0.0, 3.5]]]])), {},
             "four equal values per window, one all-zero window"),
            ((arr([[[[0.0]]]]), arr([[[[0.0]]]])), {}, "an all-zero window"),
            # possible on most of the grader's fresh redraws (each array keeps its ties), so
            # a layout mistake can be confirmed there
            ((arr([[[[2.0, 2.0]]]]), arr([[[[1.0, 1.0]]]])), {}, "two windows, mean half the max"),
            ((arr([[[[5.0]]]]), arr([[[[1.0]]]])), {}, "max above 4 * mean"),
            ((arr([[[[1.0]]]]), arr([[[[2.0]]]])), {}, "mean above max"),
            ((arr([[[[1.0, 5.0]]]]), arr([[[[1.0, 1.0]]]])), {}, "the second window: max above 4 * mean"),
        ], names=("max_out", "avg_out"))],
        "mistakes": [
            {
                "id": 'no_upper_bound',
                "visible": False,     # the visible tests hold no such case: the hidden ones do
                "matches": 'a window with its max above 4 x its mean accepted',
                "explain": 'the other three values of a window add up to 4 * mean - max, and none of '
                           'them may be negative: a pair with max above 4 * mean has no input, so '
                           'raise ValueError for it',
                "section": 'Exercise 4: which (max, mean) pairs can four values >= 0 have?',
                "source": '''
def input_from_pools(max_out, avg_out):
    m = np.asarray(max_out, dtype=np.float64)
    a = np.asarray(avg_out, dtype=np.float64)
    if np.any(a > m):
        raise ValueError("the mean of a window is never above its max")
    rest = (4 * a - m) / 3
    x = np.repeat(np.repeat(rest, 2, axis=-2), 2, axis=-1)
    x[..., ::2, ::2] = m
    return x
''',
            },
            {
                "id": 'no_lower_bound',
                "matches": 'a window with its mean above its max accepted',
                "explain": 'no value of a window is above its max, so neither is their mean: a pair '
                           'with mean above max has no input, so raise ValueError for it',
                "section": 'Exercise 4: which (max, mean) pairs can four values >= 0 have?',
                "source": '''
def input_from_pools(max_out, avg_out):
    m = np.asarray(max_out, dtype=np.float64)
    a = np.asarray(avg_out, dtype=np.float64)
    if np.any(m > 4 * a):
        raise ValueError("the max of four values >= 0 is at most their sum")
    rest = (4 * a - m) / 3
    x = np.repeat(np.repeat(rest, 2, axis=-2), 2, axis=-1)
    x[..., ::2, ::2] = m
    return x
''',
            },
            {
                "id": 'all_windows_bad',
                "matches": 'ValueError only when every window is impossible',
                "explain": 'one impossible window is enough: no input can give it, whatever the other '
                           'windows hold (np.any, not np.all)',
                "section": 'Exercise 4 (one impossible window is enough)',
                "source": '''
def input_from_pools(max_out, avg_out):
    m = np.asarray(max_out, dtype=np.float64)
    a = np.asarray(avg_out, dtype=np.float64)
    if np.all((a > m) | (m > 4 * a)):
        raise ValueError("no window can be built")
    rest = (4 * a - m) / 3
    x = np.repeat(np.repeat(rest, 2, axis=-2), 2, axis=-1)
    x[..., ::2, ::2] = m
    return x
''',
            },
            {
                "id": 'reshape_without_transpose',
                "matches": 'right windows laid out by reshaping (N, C, H, W, 2, 2) straight to (N, C, 2H, 2W)',
                "explain": "reshape keeps the order of the values in memory, so each window's four "
                           "values land in one row of x instead of a 2x2 block: put each window axis "
                           "next to the axis it extends, (N, C, H, 2, W, 2), before you reshape",
                "section": 'NumPy mechanics (axes) and Exercise 4',
                "source": '''
def input_from_pools(max_out, avg_out):
    m = np.asarray(max_out, dtype=np.float64)
    a = np.asarray(avg_out, dtype=np.float64)
    if np.any(a > m) or np.any(m > 4 * a):
        raise ValueError("a window of four values >= 0 needs mean <= max <= 4 * mean")
    rest = (4 * a - m) / 3
    n, c, h, w = m.shape
    blocks = np.stack([np.stack([m, rest], axis=-1), np.stack([rest, rest], axis=-1)], axis=-2)
    return blocks.reshape(n, c, 2 * h, 2 * w)
''',
            },
        ],
    },
}
