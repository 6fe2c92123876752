"""Plausible wrong answers for lesson 04 (conv vs pooling), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.
"""

WRONG = {
    "conv2d_param_count": [
        ("forgets the bias", '''
def conv2d_param_count(in_channels, out_channels, kernel_size, bias=True, groups=1):
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    kh, kw = kernel_size
    return int(out_channels * (in_channels // groups) * kh * kw)
'''),
        ("ignores groups", '''
def conv2d_param_count(in_channels, out_channels, kernel_size, bias=True, groups=1):
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    kh, kw = kernel_size
    return int(out_channels * in_channels * kh * kw + (out_channels if bias else 0))
'''),
        ("kernel side instead of kernel area", '''
def conv2d_param_count(in_channels, out_channels, kernel_size, bias=True, groups=1):
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    kh, kw = kernel_size
    weights = out_channels * (in_channels // groups) * (kh + kw)
    return int(weights + (out_channels if bias else 0))
'''),
    ],
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
    "avg_pool_via_conv": [
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
