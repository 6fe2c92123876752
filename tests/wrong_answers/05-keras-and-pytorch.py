"""Plausible wrong answers for lesson 05 (Keras and PyTorch), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.
"""

_SAME_PADDING_OK = '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total - total // 2)
'''

_MAX_POOL_BODY = '''
def keras_same_max_pool2d(x, pool_size, strides=None):
    x = np.asarray(x, dtype=np.float64)
    strides = pool_size if strides is None else strides
    n, height, width, c = x.shape
    (top, bottom), (left, right) = (same_padding(height, pool_size, strides),
                                    same_padding(width, pool_size, strides))
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=PAD)
    h_out = -(-height // strides)
    w_out = -(-width // strides)
    out = np.full((n, h_out, w_out, c), -np.inf)
    for a in range(pool_size):
        for b in range(pool_size):
            taps = padded[:, a : a + strides * (h_out - 1) + 1 : strides,
                             b : b + strides * (w_out - 1) + 1 : strides, :]
            out = np.maximum(out, taps)
    return out
'''


def _backward(loop_body):
    """A max-pool backward whose inner loop body (over output position i, j) is given."""
    return """
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
        for j in range(w_out):""" + loop_body + """
    return dx
"""


WRONG = {
    "channels_layout": [
        ("reshape instead of transpose", '''
def nchw_to_nhwc(x):
    n, c, h, w = np.shape(x)
    return np.reshape(x, (n, h, w, c))


def nhwc_to_nchw(x):
    n, h, w, c = np.shape(x)
    return np.reshape(x, (n, c, h, w))
'''),
        ("height and width swapped", '''
def nchw_to_nhwc(x):
    return np.transpose(np.asarray(x), (0, 3, 2, 1))


def nhwc_to_nchw(x):
    return np.transpose(np.asarray(x), (0, 3, 2, 1))
'''),
        ("delegates to poolkit (correct values, not NumPy)", '''
from poolkit import bridges


def nchw_to_nhwc(x):
    return bridges.to_channels_last(np.asarray(x))


def nhwc_to_nchw(x):
    return bridges.to_channels_first(np.asarray(x))
'''),
    ],
    "same_padding": [
        ("extra pixel at the start", '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total - total // 2), int(total // 2)
'''),
        ("output size rounded down", '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = size // strides
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total - total // 2)
'''),
        ("no max(..., 0): negative padding when the window is smaller than the stride", '''
def same_padding(size, pool_size, strides=None):
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = (out - 1) * strides + pool_size - size
    return int(total // 2), int(total - total // 2)
'''),
        ("total padding k - 1 (stride-1 rule)", '''
def same_padding(size, pool_size, strides=None):
    total = pool_size - 1
    return int(total // 2), int(total - total // 2)
'''),
    ],
    "keras_same_max_pool": [
        ("zero padding instead of -inf", _SAME_PADDING_OK + _MAX_POOL_BODY.replace("PAD", "0.0")),
        ("treats the input as channels first", _SAME_PADDING_OK + '''
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
'''),
        ("delegates to poolkit (correct values, not NumPy)", _SAME_PADDING_OK + '''
import poolkit


def keras_same_max_pool2d(x, pool_size, strides=None):
    return poolkit.keras_pool2d(np.asarray(x, dtype=np.float64), pool_size, strides, "same")
'''),
    ],
    "max_pool_backward": [
        ("every tied maximum gets the gradient", _backward("""
            window = x[:, :, i * s : i * s + k, j * s : j * s + k]
            mask = window == window.max(axis=(2, 3), keepdims=True)
            upstream = grad_output[:, :, i, j][:, :, None, None]
            dx[:, :, i * s : i * s + k, j * s : j * s + k] += mask * upstream""")),
        ("last maximum instead of the first", _backward("""
            flat = x[:, :, i * s : i * s + k, j * s : j * s + k].reshape(n, c, k * k)
            last = k * k - 1 - flat[:, :, ::-1].argmax(axis=2)
            row, col = np.divmod(last, k)
            dx[batch, channel, i * s + row, j * s + col] += grad_output[:, :, i, j]""")),
        ("overlapping windows overwrite instead of adding up", _backward("""
            flat = x[:, :, i * s : i * s + k, j * s : j * s + k].reshape(n, c, k * k)
            row, col = np.divmod(flat.argmax(axis=2), k)
            dx[batch, channel, i * s + row, j * s + col] = grad_output[:, :, i, j]""")),
    ],
}

_T2K_HEAD = """
def torch_to_keras(layer, input_hw):
    def pair(v):
        return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))

    keras_name = {"MaxPool2d": "MaxPooling2D", "AvgPool2d": "AveragePooling2D"}[layer["type"]]
    k = pair(layer["kernel_size"])
    s = k if layer.get("stride") is None else pair(layer["stride"])
    p = pair(layer.get("padding", 0))
    pool = {"pool_size": k, "strides": s}
"""

_T2K_SAME_CHECK = """
    for size, kk, ss, pp in zip(input_hw, k, s, p):
        out_torch = (size + 2 * pp - kk) // ss + 1
        out_same = -(-size // ss)
        before = max((out_same - 1) * ss + kk - size, 0) // 2
        if out_same != out_torch or before != pp:
            raise ValueError("no translation")
    return [(keras_name, {**pool, "padding": "same"})]
"""

WRONG["torch_to_keras"] = [
    ("any padding becomes Keras 'same' (never raises)", _T2K_HEAD + """
    return [(keras_name, {**pool, "padding": "valid" if p == (0, 0) else "same"})]
"""),
    ("zero padding for every padded layer (zeros win a max on negative inputs)", _T2K_HEAD + """
    if p == (0, 0):
        return [(keras_name, {**pool, "padding": "valid"})]
    return [("ZeroPadding2D", {"padding": ((p[0], p[0]), (p[1], p[1]))}),
            (keras_name, {**pool, "padding": "valid"})]
"""),
    ("ignores count_include_pad (always zero padding for average)", _T2K_HEAD + """
    if p == (0, 0):
        return [(keras_name, {**pool, "padding": "valid"})]
    if layer["type"] == "AvgPool2d":
        return [("ZeroPadding2D", {"padding": ((p[0], p[0]), (p[1], p[1]))}),
                (keras_name, {**pool, "padding": "valid"})]
""" + _T2K_SAME_CHECK),
    ("'same' accepted when the output sizes match, padding not compared", _T2K_HEAD + """
    if p == (0, 0):
        return [(keras_name, {**pool, "padding": "valid"})]
    if layer["type"] == "AvgPool2d" and layer.get("count_include_pad", True):
        return [("ZeroPadding2D", {"padding": ((p[0], p[0]), (p[1], p[1]))}),
                (keras_name, {**pool, "padding": "valid"})]
    for size, kk, ss, pp in zip(input_hw, k, s, p):
        if -(-size // ss) != (size + 2 * pp - kk) // ss + 1:
            raise ValueError("no translation")
    return [(keras_name, {**pool, "padding": "same"})]
"""),
    ("H and W padding swapped in ZeroPadding2D", _T2K_HEAD + """
    if p == (0, 0):
        return [(keras_name, {**pool, "padding": "valid"})]
    if layer["type"] == "AvgPool2d" and layer.get("count_include_pad", True):
        return [("ZeroPadding2D", {"padding": ((p[1], p[1]), (p[0], p[0]))}),
                (keras_name, {**pool, "padding": "valid"})]
""" + _T2K_SAME_CHECK),
]
