"""Plausible wrong answers for lesson 02 (why pooling), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.
"""

_COSTS_HEAD = '''
def cnn_costs(size, channels, hidden, pooled):
    params = madds = acts = 0
    c_in, side = 1, size
    for c_out in channels:
        conv_outputs = c_out * side * side
'''

WRONG = {
    "cnn_costs": [
        ("forgets the biases", _COSTS_HEAD + '''
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
'''),
        ("counts only the conv and dense outputs as activations (no ReLU, pool, Flatten)",
         _COSTS_HEAD + '''
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
'''),
        ("rounds the pooled size up (ceil) instead of flooring", _COSTS_HEAD + '''
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
'''),
        ("conv multiply-adds per output forget the input channels", _COSTS_HEAD + '''
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
'''),
        ("numpy integers instead of Python ints", _COSTS_HEAD + '''
        params += c_in * c_out * 9 + c_out
        madds += conv_outputs * c_in * 9
        acts += 2 * conv_outputs
        if pooled:
            side //= 2
            acts += c_out * side * side
        c_in = c_out
    flat = c_in * side * side
    params += flat * hidden + hidden + hidden * 4 + 4
    madds += flat * hidden + hidden * 4
    acts += flat + 2 * hidden + 4
    return np.int64(params), np.int64(madds), np.int64(acts)
'''),
    ],
    "consistency_table": [
        ("counts changes instead of agreements", '''
def consistency_table(labels):
    labels = np.asarray(labels)
    return np.mean(labels != labels[0, 0], axis=-1).astype(np.float64)
'''),
        ("averages over the shift axis instead of the images", '''
def consistency_table(labels):
    labels = np.asarray(labels)
    return np.mean(labels == labels[0, 0], axis=0).astype(np.float64)
'''),
        ("compares with the previous shift", '''
def consistency_table(labels):
    labels = np.asarray(labels)
    previous = np.roll(labels, 1, axis=1)
    previous[:, 0] = labels[0, 0]
    return np.mean(labels == previous, axis=-1).astype(np.float64)
'''),
        ("compares with the first image instead of the unshifted predictions", '''
def consistency_table(labels):
    labels = np.asarray(labels)
    return np.mean(labels == labels[..., :1], axis=-1).astype(np.float64)
'''),
    ],
    "max_blur_pool2d": [
        ("blur, then max 2x2/2 (the simple order, not Zhang's)", '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    return out[..., ::2, ::2]
'''),
        ("max 2x2 with stride 2 first, then blur (no dense max)", '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    out = out[..., ::2, ::2]
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    return out
'''),
        ("zero padding instead of wrapping around", '''
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
'''),
        ("box blur [1, 1, 1] / 3", '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + out + np.roll(out, -1, axis=axis)) / 3
    return out[..., ::2, ::2]
'''),
        ("keeps the odd rows and columns", '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    return out[..., 1::2, 1::2]
'''),
        ("calls the poolkit blur helper (not NumPy only)", '''
def max_blur_pool2d(x):
    from poolkit.explore import blur
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    return blur(out)[..., ::2, ::2]
'''),
    ],
}
