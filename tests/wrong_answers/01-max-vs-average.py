"""Plausible wrong answers for lesson 01 (max vs average pooling), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.
"""

_PAIR = '''
    def pair(v):
        return (v, v) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))

    kh, kw = pair(kernel_size)
    sh, sw = pair(kernel_size if stride is None else stride)
    ph, pw = pair(padding)
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
'''

WRONG = {
    "max_pool2d_loops": [
        ("pads with zeros instead of -inf", '''
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return out
'''),
        ("off by one: output size without the +1", '''
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    h_out = (h + 2 * ph - kh) // sh
    w_out = (w + 2 * pw - kw) // sw
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return out
'''),
        ("swaps height and width of the window", '''
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
'''),
        ("delegates to poolkit", '''
import poolkit

def max_pool2d_loops(x, kernel_size, stride=None, padding=0):
    return poolkit.max_pool2d(x, kernel_size, stride, padding)
'''),
    ],
    "avg_pool2d_loops": [
        ("divides by the real elements only (count_include_pad=False)", '''
def avg_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    real = np.pad(np.ones((h, w)), ((ph, ph), (pw, pw)))
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
            out[:, :, i, j] = padded[:, :, rows, cols].sum(axis=(2, 3)) / real[rows, cols].sum()
    return out
'''),
        ("takes the maximum instead of the mean", '''
def avg_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            out[:, :, i, j] = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
    return out
'''),
        ("divides by kernel_h + kernel_w", '''
def avg_pool2d_loops(x, kernel_size, stride=None, padding=0):''' + _PAIR + '''
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = window.sum(axis=(2, 3)) / (kh + kw)
    return out
'''),
    ],
    "pool2d_vectorized": [
        ("always max, ignores mode", '''
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
'''),
        ("slices with step 1 instead of the stride", '''
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
'''),
        ("correct values but loops over every output position", '''
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
    "global_avg_pool": [
        ("averages over the wrong axes", '''
def global_avg_pool(x):
    x = np.asarray(x, dtype=np.float64)
    return x.mean(axis=(1, 2), keepdims=True)
'''),
        ("drops the 1x1 axes: returns (N, C)", '''
def global_avg_pool(x):
    return np.asarray(x, dtype=np.float64).mean(axis=(2, 3))
'''),
        ("global max instead of average", '''
def global_avg_pool(x):
    return np.asarray(x, dtype=np.float64).max(axis=(2, 3), keepdims=True)
'''),
    ],
    "bug_counterexample": [
        ("the hand example: stride equals kernel_size, so the bug hides", '''
def bug_counterexample():
    x = np.array([[[[1., 3., 2., 0.], [4., 6., 1., 1.], [0., 2., 5., 7.], [1., 1., 8., 3.]]]])
    return x, 2, 2, 0
'''),
        ("overlapping windows, but a constant input hides the bug", '''
def bug_counterexample():
    return np.ones((1, 1, 5, 5)), 3, 1, 0
'''),
        ("a padding PyTorch refuses", '''
def bug_counterexample():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 2, 2] = 1.0
    return x, 2, 1, 2
'''),
        ("x without the batch and channel axes", '''
def bug_counterexample():
    x = np.zeros((3, 3))
    x[2, 2] = 1.0
    return x, 3, 1, 0
'''),
    ],
}
