"""Plausible wrong answers for lesson 02 (why pooling), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.

Known mistakes (the ones a diagnosis names) live in
``solutions/02-why-pooling/mistakes.py``; this file keeps the other wrong answers: rule
breaks (other libraries, speed, types) and answers no probe can pin down.
"""

# the start of cnn_costs that its wrong versions share
_COSTS_HEAD = '''
def cnn_costs(size, channels, hidden, pooled):
    params = madds = acts = 0
    c_in, side = 1, size
    for c_out in channels:
        conv_outputs = c_out * side * side
'''

WRONG = {
    "cnn_costs": [
        ('numpy integers instead of Python ints',
         _COSTS_HEAD + '''        params += c_in * c_out * 9 + c_out
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
        ('pastes the visible test: torch builds and counts the network', '''
from poolkit import models

def cnn_costs(size, channels, hidden, pooled):
    model = models.small_cnn(pool="max" if pooled else None, in_size=size, channels=channels,
                             hidden=hidden)
    rows = models.layer_summary(model, (1, size, size))
    return tuple(int(sum(row[key] for row in rows))
                 for key in ("parameters", "multiply_adds", "activations"))
'''),
    ],
    "worst_shift_input": [
        ('negative values: the pooled map is all zero, the shifted one is not', '''
def worst_shift_input(height, width):
    x = -np.ones((height, width))
    x[:, 0::4] = 0.0
    x[:, 3::4] = 0.0
    return x, 1e9
'''),
        ('measures its own two-pixel bar instead of deriving the bound', '''
def worst_shift_input(height, width):
    x = np.zeros((height, width))
    x[:, 1:3] = 1.0
    pooled = x.reshape(height // 2, 2, width // 2, 2).max(axis=(1, 3))
    shifted = np.roll(x, 1, axis=-1).reshape(height // 2, 2, width // 2, 2).max(axis=(1, 3))
    return x, float(np.linalg.norm(shifted - pooled) / np.linalg.norm(pooled))
'''),
        ('the right answer, but the bound as a NumPy float', '''
def worst_shift_input(height, width):
    x = np.zeros((height, width))
    x[0, 1] = 1.0
    return x, np.sqrt(2)
'''),
        ('x with the axes swapped: shape (width, height)', '''
def worst_shift_input(height, width):
    x = np.zeros((width, height))
    x[0, 1] = 1.0
    return x, float(np.sqrt(2))
'''),
    ],
    "max_blur_pool2d": [
        ('calls the poolkit blur helper (not NumPy only)', '''
def max_blur_pool2d(x):
    from poolkit.explore import blur
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    return blur(out)[..., ::2, ::2]
'''),
    ],
}
