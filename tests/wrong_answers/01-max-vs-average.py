"""Plausible wrong answers for lesson 01 (max vs average pooling), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.

Known mistakes (the ones a diagnosis names) live in
``solutions/01-max-vs-average/mistakes.py``; this file keeps the other wrong answers: rule
breaks (other libraries, speed, types) and answers no probe can pin down.
"""

WRONG = {
    "max_pool2d_loops": [
        ('delegates to poolkit', '''
import poolkit

def max_pool2d_loops(x, kernel_size, stride=None, padding=0):
    return poolkit.max_pool2d(x, kernel_size, stride, padding)
'''),
        ('right values, but vectorized with sliding_window_view instead of loops', '''
from numpy.lib.stride_tricks import sliding_window_view

def max_pool2d_loops(x, kernel_size, stride=None, padding=0):
    def pair(v):
        return (v, v) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))

    kh, kw = pair(kernel_size)
    sh, sw = pair(kernel_size if stride is None else stride)
    ph, pw = pair(padding)
    padded = np.pad(np.asarray(x, dtype=np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)),
                    constant_values=-np.inf)
    return sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw].max(axis=(-2, -1))
'''),
    ],
    "pool2d_vectorized": [
        ('correct values but loops over every output position', '''
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
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = padded[:, :, i * s:i * s + k, j * s:j * s + k]
            out[:, :, i, j] = window.max(axis=(2, 3)) if mode == "max" else window.mean(axis=(2, 3))
    return out
'''),
    ],
    "bug_counterexample": [
        ('the hand example: stride equals kernel_size, so the bug hides', '''
def bug_counterexample():
    x = np.array([[[[1., 3., 2., 0.], [4., 6., 1., 1.], [0., 2., 5., 7.], [1., 1., 8., 3.]]]])
    return x, 2, 2, 0
'''),
        ('overlapping windows, but a constant input hides the bug', '''
def bug_counterexample():
    return np.ones((1, 1, 5, 5)), 3, 1, 0
'''),
        ('a padding PyTorch refuses', '''
def bug_counterexample():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 2, 2] = 1.0
    return x, 2, 1, 2
'''),
        ('x without the batch and channel axes', '''
def bug_counterexample():
    x = np.zeros((3, 3))
    x[2, 2] = 1.0
    return x, 3, 1, 0
'''),
    ],
    "input_from_max_pool": [
        # the probes hold one channel of one sample: a check of the first plane only behaves
        # there as the solution does, so no probe can pin it down; the hidden test's batch
        # with one impossible window in sample 1, channel 2 fails it
        ('the check made on the first sample and channel only', '''
def input_from_max_pool(pooled):
    p = np.asarray(pooled, dtype=np.float64)
    padded = np.pad(p, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=np.inf)
    x = np.minimum(np.minimum(padded[..., :-1, :-1], padded[..., :-1, 1:]),
                   np.minimum(padded[..., 1:, :-1], padded[..., 1:, 1:]))
    back = np.maximum(np.maximum(x[..., :-1, :-1], x[..., :-1, 1:]),
                      np.maximum(x[..., 1:, :-1], x[..., 1:, 1:]))
    if not np.array_equal(back[0, 0], p[0, 0]):
        raise ValueError("some window's max is not reached")
    return x
'''),
        ('each window\'s max at its top-left cell, the last row and column the smallest value', '''
def input_from_max_pool(pooled):
    p = np.asarray(pooled, dtype=np.float64)
    n, c, h, w = p.shape
    x = np.full((n, c, h + 1, w + 1), p.min())
    x[..., :h, :w] = p
    return x
'''),
        ('the min over the windows below and to the right, not the ones covering each cell', '''
def input_from_max_pool(pooled):
    p = np.asarray(pooled, dtype=np.float64)
    padded = np.pad(p, ((0, 0), (0, 0), (0, 2), (0, 2)), constant_values=np.inf)
    x = np.minimum(np.minimum(padded[..., :-1, :-1], padded[..., :-1, 1:]),
                   np.minimum(padded[..., 1:, :-1], padded[..., 1:, 1:]))
    back = np.maximum(np.maximum(x[..., :-1, :-1], x[..., :-1, 1:]),
                      np.maximum(x[..., 1:, :-1], x[..., 1:, 1:]))
    if not np.array_equal(back, p):
        raise ValueError("some window's max is not reached")
    return x
'''),
        ('every window tiled with its max, as for stride 2: x of shape (N, C, 2H, 2W)', '''
def input_from_max_pool(pooled):
    p = np.asarray(pooled, dtype=np.float64)
    return np.repeat(np.repeat(p, 2, axis=-2), 2, axis=-1)
'''),
    ],
}
