"""Known mistakes of lesson 02 (why pooling), one entry per exercise.

Each mistake is written as a student holding it would write the exercise cell.  ``poolgrade
mistakes`` runs them on the probes and stores what they return in
``poolkit/mistakes/02-why-pooling.json``; the code stays here, with the instructor.
See poolgrade/authoring/mistake_catalogue.py for the format.
"""


from poolkit.checks import array_cases, literal_cases

# an odd side under pooling, no pooling, three blocks (input channels > 1 twice)
_COSTS = literal_cases([
    ((13, (3, 5), 6, True), {}, "odd side, pooled"),
    ((10, (4,), 7, False), {}, "one block, no pooling"),
    ((7, (2, 3, 2), 5, True), {}, "three blocks, pooled"),
], names=("size", "channels", "hidden", "pooled"))

# a square map and a wide one (the width is not a multiple of 4)
_WORST = literal_cases([
    ((4, 4), {}, "4x4"),
    ((6, 10), {}, "6x10"),
], names=("height", "width"))

# the start of cnn_costs that its wrong versions share
_COSTS_HEAD = '''
def cnn_costs(size, channels, hidden, pooled):
    params = madds = acts = 0
    c_in, side = 1, size
    for c_out in channels:
        conv_outputs = c_out * side * side
'''

MISTAKES = {
    "cnn_costs": {
        "probes": [_COSTS],
        "mistakes": [
            {
                "id": 'no_biases',
                "matches": 'the counts without any bias',
                "explain": 'your parameter counts are short: besides its weights, what else does each convolution and dense layer learn?',
                "section": 'Section 2, Claim 1: pooling means fewer numbers (the layer tables)',
                "source": _COSTS_HEAD + '''        params += c_in * c_out * 9
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
''',
            },
            {
                "id": 'only_conv_dense_activations',
                "matches": 'activations counted for the convolutions and dense layers only',
                "explain": 'too few activations: the count is the values every layer outputs, not only the layers with weights',
                "section": 'Exercise 1: predict the costs of a small CNN',
                "source": _COSTS_HEAD + '''        params += c_in * c_out * 9 + c_out
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
''',
            },
            {
                "id": 'ceil_pooled_side',
                "matches": 'the counts with the pooled side rounded up',
                "explain": 'an odd side was rounded up after pooling: what happens to a last row that no full window covers?',
                "section": 'Exercise 1: predict the costs of a small CNN',
                "source": _COSTS_HEAD + '''        params += c_in * c_out * 9 + c_out
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
''',
            },
            # NumPy/Python mechanics: a true division where the side must be floored
            {
                "id": 'true_division_side',
                "matches": 'the counts with the pooled side halved by / (floats)',
                "explain": 'your counts are floats: / always gives a float, and on an odd side it keeps a half row that a 2x2/2 pooling drops; which division floors?',
                "section": 'Exercise 1: predict the costs of a small CNN',
                "source": _COSTS_HEAD + '''        params += c_in * c_out * 9 + c_out
        madds += conv_outputs * c_in * 9
        acts += 2 * conv_outputs
        if pooled:
            side /= 2
            acts += c_out * side * side
        c_in = c_out
    flat = c_in * side * side
    params += flat * hidden + hidden + hidden * 4 + 4
    madds += flat * hidden + hidden * 4
    acts += flat + 2 * hidden + 4
    return params, madds, acts
''',
            },
            {
                "id": 'true_division_then_int',
                "matches": 'the counts with the pooled side halved by /, then cut to ints by int()',
                "explain": 'int() at the end hid the cause: a side halved with / keeps a half row on an odd side, so the counts before int() are already wrong; which division floors?',
                "section": 'Exercise 1: predict the costs of a small CNN',
                "source": _COSTS_HEAD + '''        params += c_in * c_out * 9 + c_out
        madds += conv_outputs * c_in * 9
        acts += 2 * conv_outputs
        if pooled:
            side = side / 2
            acts += c_out * side * side
        c_in = c_out
    flat = c_in * side * side
    params += flat * hidden + hidden + hidden * 4 + 4
    madds += flat * hidden + hidden * 4
    acts += flat + 2 * hidden + 4
    return int(params), int(madds), int(acts)
''',
            },
            {
                "id": 'conv_madds_one_channel',
                "matches": 'the counts with each convolution output reading one input channel',
                "explain": 'too few multiply-adds: one convolution output reads a 3x3 patch in how many input channels?',
                "section": 'Section 2, Claim 1: pooling means fewer numbers (the layer tables)',
                "source": _COSTS_HEAD + '''        params += c_in * c_out * 9 + c_out
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
''',
            },
        ],
    },
    "worst_shift_input": {
        "probes": [_WORST],
        "mistakes": [
            {
                "id": 'lesson_stripes',
                "matches": "section 3's stripes with the bound 1.0",
                "explain": 'the stripes change by 1.0, but a larger change is possible: bound each value of the shifted pooled map by the unshifted pooled values it can come from, and build an input whose shift empties one window and fills another',
                "section": "Section 3, 'Where it breaks: aliasing'",
                "source": '''
def worst_shift_input(height, width):
    x = np.zeros((height, width))
    x[:, (np.arange(width) % 4) >= 2] = 1.0
    return x, 1.0
''',
            },
            {
                "id": 'triangle_bound',
                "matches": 'the bound 2 from the triangle inequality, with the stripes',
                "explain": 'a bound built on ||b - a|| <= ||a|| + ||b|| is true but no input reaches it: bound each shifted pooled value by the two unshifted pooled values it can come from, then bound the squared changes with that',
                "section": 'Exercise 2: the input that breaks max pooling',
                "source": '''
def worst_shift_input(height, width):
    x = np.zeros((height, width))
    x[:, (np.arange(width) % 4) >= 2] = 1.0
    return x, 2.0
''',
            },
            {
                "id": 'pixel_stays_in_window',
                "matches": 'a single pixel in an even column (0, 2, ...), with its own change as the bound',
                "explain": 'a pixel in column 2j moves to column 2j + 1 after the shift, inside the same 2x2 window, so the pooled map does not change at all: which columns does a shift carry into the next window?',
                "section": 'Exercise 2: the input that breaks max pooling',
                "source": '''
def worst_shift_input(height, width):
    x = np.zeros((height, width))
    x[0, 0] = 1.0
    pooled = x.reshape(height // 2, 2, width // 2, 2).max(axis=(1, 3))
    shifted = np.roll(x, 1, axis=-1).reshape(height // 2, 2, width // 2, 2).max(axis=(1, 3))
    return x, float(np.linalg.norm(shifted - pooled) / np.linalg.norm(pooled))
''',
            },
            {
                "id": 'sqrt3_bound',
                "matches": 'the bound sqrt(3) from ||b||^2 <= 2 ||a||^2 plus ||a||^2, with the stripes',
                "explain": 'adding ||a||^2 and ||b||^2 assumes the two pooled maps share no nonzero position while b is as large as it can be, and both cannot happen at once: bound each squared change (b_j - a_j)^2 directly by the unshifted pooled values',
                "section": 'Exercise 2: the input that breaks max pooling',
                "source": '''
def worst_shift_input(height, width):
    x = np.zeros((height, width))
    x[:, (np.arange(width) % 4) >= 2] = 1.0
    return x, float(np.sqrt(3))
''',
            },
        ],
    },
    "max_blur_pool2d": {
        "probes": [array_cases(seed=9204, n=4, rank=4, max_size=6)],
        "mistakes": [
            {
                "id": 'blur_then_max',
                "matches": 'blur, then max 2x2/2 (the simple order)',
                "explain": 'you blurred first, so the max still feeds the subsampling unfiltered: which step must the blur come right before?',
                "section": "Section 3, 'Where it breaks: aliasing' (Zhang's order)",
                "source": '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    return out[..., ::2, ::2]
''',
            },
            {
                "id": 'max_pool_then_blur',
                "matches": 'max 2x2/2 first, then the blur',
                "explain": 'you subsampled before blurring, so the aliasing had already happened: what is the blur there to protect?',
                "section": "Section 3, 'Where it breaks: aliasing' (Zhang's order)",
                "source": '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    out = out[..., ::2, ::2]
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    return out
''',
            },
            {
                "id": 'zero_padding',
                "matches": 'MaxBlurPool with zero padding at the borders',
                "explain": 'your borders differ: the layer must commute with circular shifts, so what lies just past the right edge?',
                "section": "Exercise 3: Zhang's MaxBlurPool in NumPy",
                "source": '''
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
''',
            },
            {
                "id": 'box_blur',
                "matches": 'MaxBlurPool with a box blur [1, 1, 1] / 3',
                "explain": 'an equal-weight blur is not the binomial one: how much weight does the binomial filter give the centre?',
                "section": "Section 3, 'Where it breaks: aliasing' (Zhang's order)",
                "source": '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + out + np.roll(out, -1, axis=axis)) / 3
    return out[..., ::2, ::2]
''',
            },
            {
                "id": 'odd_rows',
                "matches": 'MaxBlurPool keeping the odd rows and columns',
                "explain": 'the subsampling started one row and column late: which is the first row a stride-2 pooling keeps?',
                "section": "Exercise 3: Zhang's MaxBlurPool in NumPy",
                "source": '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    return out[..., 1::2, 1::2]
''',
            },
            {
                "id": 'max_window_backwards',
                "matches": 'MaxBlurPool with the dense max window reaching up and left',
                "explain": 'the window with top-left corner [i, j] covers [i, j] and neighbours on one side only: which side, and which way does each of your shifts move the values?',
                "section": "Exercise 3: Zhang's MaxBlurPool in NumPy",
                "source": '''
def max_blur_pool2d(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, 1, axis=axis))
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    return out[..., ::2, ::2]
''',
            },
        ],
    },
}
