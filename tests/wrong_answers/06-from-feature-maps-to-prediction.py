"""Plausible wrong answers for lesson 06 (from feature maps to prediction), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.
"""

WRONG = {
    "head_params": [
        ("forgets the biases", '''
def head_params(channels, height, width, n_classes, head):
    if head == "flatten":
        return int(channels * height * width * n_classes)
    if head == "gap":
        return int(channels * n_classes)
    raise ValueError(f"unknown head {head!r}")
'''),
        ("no ValueError for an unknown head (treated as flatten)", '''
def head_params(channels, height, width, n_classes, head):
    inputs = channels if head == "gap" else channels * height * width
    return int(inputs * n_classes + n_classes)
'''),
        ("GAP head counted like a flatten head", '''
def head_params(channels, height, width, n_classes, head):
    if head not in ("flatten", "gap"):
        raise ValueError(f"unknown head {head!r}")
    return int(channels * height * width * n_classes + n_classes)
'''),
        ("assumes a square map (height * height)", '''
def head_params(channels, height, width, n_classes, head):
    if head == "flatten":
        return int(channels * height * height * n_classes + n_classes)
    if head == "gap":
        return int(channels * n_classes + n_classes)
    raise ValueError(f"unknown head {head!r}")
'''),
    ],
    "gap_head": [
        ("max pooling instead of average", '''
def gap_head(features, weight, bias):
    pooled = np.asarray(features, dtype=np.float64).max(axis=(2, 3))
    return pooled @ np.asarray(weight).T + np.asarray(bias)
'''),
        ("averages over channels and width (wrong axes)", '''
def gap_head(features, weight, bias):
    features = np.asarray(features, dtype=np.float64)
    pooled = features.mean(axis=(1, 3))
    return pooled @ np.asarray(weight).T + np.asarray(bias)
'''),
        ("delegates to torch", '''
def gap_head(features, weight, bias):
    import torch
    from torch.nn import functional as F
    x = torch.as_tensor(np.asarray(features, dtype=np.float64))
    pooled = F.adaptive_avg_pool2d(x, 1).flatten(1)
    return F.linear(pooled, torch.as_tensor(weight), torch.as_tensor(bias)).numpy()
'''),
    ],
    "adaptive_windows": [
        ("stop rounded down (floor instead of ceil)", '''
def adaptive_windows(length, output_size):
    return [(i * length // output_size, (i + 1) * length // output_size)
            for i in range(output_size)]
'''),
        ("fixed window and stride length // output_size", '''
def adaptive_windows(length, output_size):
    step = max(length // output_size, 1)
    return [(i * step, i * step + step) for i in range(output_size)]
'''),
        ("floats: ceil of (i + 1) times the rounded quotient length / output_size", '''
def adaptive_windows(length, output_size):
    import math
    step = length / output_size
    return [(math.floor(i * step), math.ceil((i + 1) * step)) for i in range(output_size)]
'''),
        ("numpy integers instead of Python ints", '''
def adaptive_windows(length, output_size):
    i = np.arange(output_size)
    return list(zip(i * length // output_size, -(-(i + 1) * length // output_size)))
'''),
        ("start rounded to nearest", '''
def adaptive_windows(length, output_size):
    return [(int(round(i * length / output_size)), -(-(i + 1) * length // output_size))
            for i in range(output_size)]
'''),
    ],
    "adaptive_avg_pool2d_np": [
        ("fixed kernel and stride H // OH (ordinary pooling)", '''
def adaptive_avg_pool2d_np(x, output_size):
    x = np.asarray(x, dtype=np.float64)
    out_h, out_w = (output_size, output_size) if np.ndim(output_size) == 0 else output_size
    n, c, h, w = x.shape
    kh, kw = max(h // out_h, 1), max(w // out_w, 1)
    out = np.zeros((n, c, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, :, i * kh:(i + 1) * kh, j * kw:(j + 1) * kw]
            out[:, :, i, j] = window.mean(axis=(2, 3)) if window.size else 0.0
    return out
'''),
        ("swaps the row and column output sizes", '''
def adaptive_avg_pool2d_np(x, output_size):
    x = np.asarray(x, dtype=np.float64)
    out_w, out_h = (output_size, output_size) if np.ndim(output_size) == 0 else output_size
    n, c, h, w = x.shape
    out = np.empty((n, c, out_h, out_w))
    for i in range(out_h):
        r0, r1 = i * h // out_h, -(-(i + 1) * h // out_h)
        for j in range(out_w):
            c0, c1 = j * w // out_w, -(-(j + 1) * w // out_w)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out
'''),
        ("delegates to poolkit", '''
def adaptive_avg_pool2d_np(x, output_size):
    import poolkit
    return poolkit.adaptive_avg_pool2d(x, output_size)
'''),
    ],
    "design_head": [
        ("flatten head sized for a 28x28 input", '''
def design_head(trunk, n_classes):
    import torch
    from torch import nn
    layers, c = [], 1
    for layer in trunk:
        if layer[0] == "conv":
            _, out, k, s, p = layer
            layers += [nn.Conv2d(c, out, k, stride=s, padding=p)]
            c = out
        else:
            layers.append(nn.MaxPool2d(*layer[1:]))
    features = nn.Sequential(*layers)(torch.zeros(1, 1, 28, 28)).numel()
    return [("flatten",), ("linear", int(features), n_classes)]
'''),
        ("adaptive 2x2 pooling before a flatten head (size-agnostic, but not the smallest)", '''
def design_head(trunk, n_classes):
    channels = [layer[1] for layer in trunk if layer[0] == "conv"][-1]
    return [("adaptive", 2), ("flatten",), ("linear", 4 * channels, n_classes)]
'''),
        ("takes the channel count of the first convolution", '''
def design_head(trunk, n_classes):
    channels = [layer[1] for layer in trunk if layer[0] == "conv"][0]
    return [("gap",), ("linear", channels, n_classes)]
'''),
        ("a hidden layer of 32 units (not the smallest)", '''
def design_head(trunk, n_classes):
    channels = [layer[1] for layer in trunk if layer[0] == "conv"][-1]
    return [("gap",), ("linear", channels, 32), ("relu",), ("linear", 32, n_classes)]
'''),
        ("dense layer without the averaging", '''
def design_head(trunk, n_classes):
    channels = [layer[1] for layer in trunk if layer[0] == "conv"][-1]
    return [("linear", channels, n_classes)]
'''),
    ],
}
