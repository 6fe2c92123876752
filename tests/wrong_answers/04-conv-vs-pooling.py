"""Plausible wrong answers for lesson 04 (conv vs pooling), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.
"""

WRONG = {
    "depthwise_conv2d": [
        ("flips the filter (textbook convolution, not cross-correlation)", '''
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
'''),
        ("sums over all channels (a full convolution)", '''
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
'''),
        ("delegates to torch (correct values, not NumPy)", '''
def depthwise_conv2d(x, weight, stride=1, padding=0):
    import torch
    import torch.nn.functional as F
    x = np.asarray(x, dtype=np.float64)
    out = F.conv2d(torch.from_numpy(x), torch.from_numpy(np.asarray(weight, dtype=np.float64)),
                   stride=stride, padding=padding, groups=x.shape[1])
    return out.numpy()
'''),
    ],
    "avg_pool2d_via_conv": [
        ("weights of one: sum pooling instead of average", '''
def avg_pool_weights(channels, kernel_size):
    return np.ones((channels, 1, kernel_size, kernel_size))


def avg_pool2d_via_conv(x, kernel_size, stride=None, padding=0):
    x = np.asarray(x, dtype=np.float64)
    stride = kernel_size if stride is None else stride
    return depthwise_conv2d(x, avg_pool_weights(x.shape[1], kernel_size), stride, padding)
'''),
        ("stride=None taken as stride 1", '''
def avg_pool_weights(channels, kernel_size):
    return np.full((channels, 1, kernel_size, kernel_size), 1.0 / kernel_size**2)


def avg_pool2d_via_conv(x, kernel_size, stride=None, padding=0):
    x = np.asarray(x, dtype=np.float64)
    stride = 1 if stride is None else stride
    return depthwise_conv2d(x, avg_pool_weights(x.shape[1], kernel_size), stride, padding)
'''),
        ("delegates to poolkit (correct values, not NumPy)", '''
import poolkit


def avg_pool_weights(channels, kernel_size):
    return np.full((channels, 1, kernel_size, kernel_size), 1.0 / kernel_size**2)


def avg_pool2d_via_conv(x, kernel_size, stride=None, padding=0):
    return poolkit.avg_pool2d(np.asarray(x, dtype=np.float64), kernel_size, stride, padding)
'''),
    ],
    "stack_output_shape": [
        ("pooling stride None taken as 1", '''
def stack_output_shape(input_shape, layers):
    n, c, h, w = input_shape
    for layer in layers:
        if layer[0] == "conv":
            _, c, k, s, p = layer
        else:
            _, k, s, p = layer
            s = 1 if s is None else s
        h = (h + 2 * p - k) // s + 1
        w = (w + 2 * p - k) // s + 1
    return (int(n), int(c), int(h), int(w))
'''),
        ("convolutions keep the channel count", '''
def stack_output_shape(input_shape, layers):
    n, c, h, w = input_shape
    for layer in layers:
        if layer[0] == "conv":
            _, _, k, s, p = layer
        else:
            _, k, s, p = layer
            s = k if s is None else s
        h = (h + 2 * p - k) // s + 1
        w = (w + 2 * p - k) // s + 1
    return (int(n), int(c), int(h), int(w))
'''),
        ("rounds up instead of down", '''
def stack_output_shape(input_shape, layers):
    n, c, h, w = input_shape
    for layer in layers:
        if layer[0] == "conv":
            _, c, k, s, p = layer
        else:
            _, k, s, p = layer
            s = k if s is None else s
        h = -(-(h + 2 * p - k) // s) + 1
        w = -(-(w + 2 * p - k) // s) + 1
    return (int(n), int(c), int(h), int(w))
'''),
    ],
}

_DESIGN_HEAD = """
def design_stack(in_shape, out_shape, max_params):
    (_, c, h, w), (_, c2, h2, w2) = in_shape, out_shape
    layers = []
"""

_AVG_BACK = """
def avg_pool2d_backward(grad_output, x_shape, kernel_size, stride=None, padding=0):
    g = np.asarray(grad_output, dtype=np.float64)
    k = kernel_size
    s = k if stride is None else stride
    n, c, height, width = x_shape
    h_out, w_out = g.shape[-2:]
    padded = np.zeros((n, c, height + 2 * padding, width + 2 * padding))
BODY
    return padded[:, :, padding : padding + height, padding : padding + width]
"""

_AVG_ADD = """    for a in range(k):
        for b in range(k):
            padded[:, :, a : a + s * (h_out - 1) + 1 : s,
                         b : b + s * (w_out - 1) + 1 : s] += SHARE
"""

WRONG["design_stack"] = [
    ("a 3x3 convolution for the channel change (over the budget)", _DESIGN_HEAD + """
    if c2 != c:
        if 9 * c * c2 + c2 > max_params:
            raise ValueError("over budget")
        layers.append(("conv", c2, 3, 1, 1))
    layers.append(("pool", (h - h2 + 1, w - w2 + 1), 1, 0))
    return layers
"""),
    ("forgets the bias in the budget", _DESIGN_HEAD + """
    if c2 != c:
        if c * c2 > max_params:
            raise ValueError("over budget")
        layers.append(("conv", c2, 1, 1, 0))
    layers.append(("pool", (h - h2 + 1, w - w2 + 1), 1, 0))
    return layers
"""),
    ("always halves with a 2x2 pool", _DESIGN_HEAD + """
    if c2 != c:
        if c * c2 + c2 > max_params:
            raise ValueError("over budget")
        layers.append(("conv", c2, 1, 1, 0))
    layers.append(("pool", 2, 2, 0))
    return layers
"""),
    ("never raises: a convolution whatever the budget", _DESIGN_HEAD + """
    if c2 != c:
        layers.append(("conv", c2, 1, 1, 0))
    layers.append(("pool", (h - h2 + 1, w - w2 + 1), 1, 0))
    return layers
"""),
    ("pool window H - H2 (one short)", _DESIGN_HEAD + """
    if c2 != c:
        if c * c2 + c2 > max_params:
            raise ValueError("over budget")
        layers.append(("conv", c2, 1, 1, 0))
    layers.append(("pool", (max(h - h2, 1), max(w - w2, 1)), 1, 0))
    return layers
"""),
]

WRONG["avg_pool2d_backward"] = [
    ("forgets to divide by k*k", _AVG_BACK.replace("BODY", _AVG_ADD.replace("SHARE", "g"))),
    ("overlapping windows overwrite instead of adding up",
     _AVG_BACK.replace("BODY", _AVG_ADD.replace("] += SHARE", "] = g / (k * k)"))),
    ("border windows divided by their real pixels (count_include_pad=False)", """
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
"""),
    ("ignores the padding offset (windows start at i * s)", """
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
"""),
]
