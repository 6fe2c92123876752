"""Plausible wrong answers for lesson 06 (from feature maps to prediction), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.

Known mistakes (the ones a diagnosis names) live in
``solutions/06-from-feature-maps-to-prediction/mistakes.py``; this file keeps the other
wrong answers: rule breaks (other libraries, speed, types), answers no probe can pin down,
and every wrong answer of ``design_head``, whose answer (a list of menu layers, strings) is
not data a probe can compare.
"""

WRONG = {
    "adaptive_avg_pool2d_np": [
        ('delegates to poolkit', '''
def adaptive_avg_pool2d_np(x, output_size):
    import poolkit
    return poolkit.adaptive_avg_pool2d(x, output_size)
'''),
        ('delegates to torch', '''
def adaptive_avg_pool2d_np(x, output_size):
    import torch
    from torch.nn import functional as F
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    return F.adaptive_avg_pool2d(x, output_size).numpy()
'''),
        ('windows spread evenly with np.linspace, rounded to the nearest position', '''
def adaptive_avg_pool2d_np(x, output_size):
    x = np.asarray(x, dtype=np.float64)
    out_h, out_w = (output_size, output_size) if np.ndim(output_size) == 0 else output_size
    n, c, h, w = x.shape
    rows = np.linspace(0, h, out_h + 1).round().astype(int)
    cols = np.linspace(0, w, out_w + 1).round().astype(int)
    out = np.empty((n, c, out_h, out_w))
    for i in range(out_h):
        r0, r1 = rows[i], max(rows[i + 1], rows[i] + 1)
        for j in range(out_w):
            c0, c1 = cols[j], max(cols[j + 1], cols[j] + 1)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out
'''),
        ('equal windows of L // O, the last one stretched to the end (a guess, not probed)', '''
def adaptive_avg_pool2d_np(x, output_size):
    x = np.asarray(x, dtype=np.float64)
    out_h, out_w = (output_size, output_size) if np.ndim(output_size) == 0 else output_size
    n, c, h, w = x.shape

    def window(i, length, size):
        step = max(length // size, 1)
        start = min(i * step, length - 1)
        return start, length if i == size - 1 else max(start + step, start + 1)

    out = np.empty((n, c, out_h, out_w))
    for i in range(out_h):
        r0, r1 = window(i, h, out_h)
        for j in range(out_w):
            c0, c1 = window(j, w, out_w)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out
'''),
    ],
    "design_head": [
        ('flatten head sized for a 28x28 input', '''
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
        ('adaptive 2x2 pooling before a flatten head (size-agnostic, but not the smallest)', '''
def design_head(trunk, n_classes):
    channels = [layer[1] for layer in trunk if layer[0] == "conv"][-1]
    return [("adaptive", 2), ("flatten",), ("linear", 4 * channels, n_classes)]
'''),
        ('takes the channel count of the first convolution', '''
def design_head(trunk, n_classes):
    channels = [layer[1] for layer in trunk if layer[0] == "conv"][0]
    return [("gap",), ("linear", channels, n_classes)]
'''),
        ('a hidden layer of 32 units (not the smallest)', '''
def design_head(trunk, n_classes):
    channels = [layer[1] for layer in trunk if layer[0] == "conv"][-1]
    return [("gap",), ("linear", channels, 32), ("relu",), ("linear", 32, n_classes)]
'''),
        ('a bottleneck of one unit: fewer parameters, but two layers with parameters', '''
def design_head(trunk, n_classes):
    channels = ([1] + [layer[1] for layer in trunk if layer[0] == "conv"])[-1]
    return [("gap",), ("linear", channels, 1), ("linear", 1, n_classes)]
'''),
        ('dense layer without the averaging', '''
def design_head(trunk, n_classes):
    channels = [layer[1] for layer in trunk if layer[0] == "conv"][-1]
    return [("linear", channels, n_classes)]
'''),
        ('degenerate: adaptive pooling to size 0, a dense layer of biases only', '''
def design_head(trunk, n_classes):
    return [("adaptive", 0), ("flatten",), ("linear", 0, n_classes)]
'''),
        ('degenerate: no layer with parameters when the channels equal the classes', '''
def design_head(trunk, n_classes):
    channels = ([1] + [layer[1] for layer in trunk if layer[0] == "conv"])[-1]
    if channels == n_classes:
        return [("gap",)]
    return [("gap",), ("linear", channels, n_classes)]
'''),
        ('degenerate: a ReLU on the logits', '''
def design_head(trunk, n_classes):
    channels = ([1] + [layer[1] for layer in trunk if layer[0] == "conv"])[-1]
    return [("gap",), ("linear", channels, n_classes), ("relu",)]
'''),
    ],
    "predict_from_maps": [
        ('delegates to torch', '''
def predict_from_maps(feature_maps, weight, bias):
    import torch
    maps, w, b = (torch.as_tensor(np.asarray(a, dtype=np.float64))
                  for a in (feature_maps, weight, bias))
    logits = torch.nn.functional.linear(maps.mean(dim=(2, 3)), w, b)
    return logits.numpy(), torch.softmax(logits, dim=1).numpy(), logits.argmax(dim=1).numpy()
'''),
        ('classes filled into np.zeros: floats, not integers', '''
def predict_from_maps(feature_maps, weight, bias):
    pooled = np.asarray(feature_maps, dtype=np.float64).mean(axis=(2, 3))
    logits = pooled @ np.asarray(weight).T + bias
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    classes = np.zeros(len(logits))
    for i, row in enumerate(logits):
        classes[i] = np.argmax(row)
    return logits, e / e.sum(axis=1, keepdims=True), classes
'''),
    ],
}
