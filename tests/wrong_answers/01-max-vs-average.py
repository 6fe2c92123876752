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
    "input_from_pools": [
        # strict bounds differ from the solution only where mean == max or max == 4 * mean,
        # two arrays in a tie that the grader's fresh inputs do not keep, so it is not a
        # known mistake the grader could always confirm: the hidden test's edge cases fail it
        ('ValueError also at the edges, mean == max and max == 4 x mean', '''
def input_from_pools(max_out, avg_out):
    m = np.asarray(max_out, dtype=np.float64)
    a = np.asarray(avg_out, dtype=np.float64)
    if np.any(a >= m) or np.any(m >= 4 * a):
        raise ValueError("a window needs mean < max < 4 * mean")
    rest = (4 * a - m) / 3
    x = np.repeat(np.repeat(rest, 2, axis=-2), 2, axis=-1)
    x[..., ::2, ::2] = m
    return x
'''),
        ('every window filled with its max: the mean is ignored', '''
def input_from_pools(max_out, avg_out):
    m = np.asarray(max_out, dtype=np.float64)
    return np.repeat(np.repeat(m, 2, axis=-2), 2, axis=-1)
'''),
        ('the max and the rest of the sum in one other cell: ValueError once mean > max / 2', '''
def input_from_pools(max_out, avg_out):
    m = np.asarray(max_out, dtype=np.float64)
    a = np.asarray(avg_out, dtype=np.float64)
    rest = 4 * a - m
    if np.any(rest < 0) or np.any(rest > m):
        raise ValueError("no window can be built")
    x = np.zeros(m.shape[:2] + (2 * m.shape[2], 2 * m.shape[3]))
    x[..., ::2, ::2] = m
    x[..., ::2, 1::2] = rest
    return x
'''),
        ('negative values clipped to zero instead of a ValueError', '''
def input_from_pools(max_out, avg_out):
    m = np.asarray(max_out, dtype=np.float64)
    a = np.asarray(avg_out, dtype=np.float64)
    rest = np.clip((4 * a - m) / 3, 0, None)
    x = np.repeat(np.repeat(rest, 2, axis=-2), 2, axis=-1)
    x[..., ::2, ::2] = m
    return x
'''),
        ('one value per window: x has the shape of max_out', '''
def input_from_pools(max_out, avg_out):
    m = np.asarray(max_out, dtype=np.float64)
    a = np.asarray(avg_out, dtype=np.float64)
    if np.any(a > m) or np.any(m > 4 * a):
        raise ValueError("a window of four values >= 0 needs mean <= max <= 4 * mean")
    return a.copy()
'''),
    ],
}
