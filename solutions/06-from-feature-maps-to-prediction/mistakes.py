"""Known mistakes of lesson 06 (from feature maps to a prediction), one entry per exercise.

Each mistake is written as a student holding it would write the exercise cell.  ``poolgrade
mistakes`` runs them on the probes and stores what they return in
``poolkit/mistakes/06-from-feature-maps-to-prediction.json``; the code stays here, with the
instructor.  See poolgrade/authoring/mistake_catalogue.py for the format.  ``design_head`` has no entry: its answer
is a list of menu layers (strings), not data a probe can compare; the written exercise has none
either.
"""

import numpy as np

from poolkit.checks import arr, array_cases, literal_cases


def _values(shape, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return arr((rng.standard_normal(shape) + shift).round(3).tolist())


def _maps(means, seed):
    """(N, C, 2, 2) maps whose channel means are ``means`` (N, C), exactly (a +-0.25 pattern)."""
    rng = np.random.default_rng(seed)
    means = np.asarray(means, dtype=np.float64)
    signs = rng.permutation(np.array([1.0, 1.0, -1.0, -1.0])).reshape(2, 2)
    return arr((means[:, :, None, None] + 0.25 * signs).tolist())


# each image's own softmax: ordinary logits (N != K), all near +1000 (a plain np.exp
# overflows), one image near +1000 and one near -1000 (a shift by the batch's largest logit
# leaves 0 / 0), tied classes, C == H == K with mostly negative means (averaging over the
# wrong axes or an untransposed weight still gives numbers there; a max is not a mean), and
# N == K (a row's largest logit or sum taken without keepdims broadcasts down the columns
# there instead of raising)
_PREDICT = literal_cases([
    ((_maps([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]], 6621), arr([[1.0, -0.5], [0.25, 2.0],
      [-1.5, 0.5], [0.75, 0.75]]), arr([0.1, -0.2, 0.3, 0.0])), {}, "N=3, C=2, K=4"),
    ((_maps([[1000.0, 1001.5], [999.0, 1000.25]], 6622), arr([[1.0, 0.0], [0.0, 1.0],
      [0.5, 0.5]]), arr([0.0, 0.0, 0.0])), {}, "logits near +1000"),
    ((_maps([[1000.0, 1002.0], [-1000.0, -1001.0]], 6623), arr([[1.0, 0.0], [0.0, 1.0],
      [0.5, 0.5]]), arr([0.0, 0.0, 0.0])), {}, "one image near +1000, one near -1000"),
    ((_maps([[1.5, -0.5], [0.0, 0.0]], 6624), arr([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
      arr([0.0, 0.0, 0.0])), {}, "classes 0 and 1 tie"),
    ((_maps([[-1.0, 0.5], [-2.25, -0.75], [0.25, -1.5]], 6625), arr([[1.0, -0.5], [0.25, 2.0]]),
      arr([0.1, -0.2])), {}, "N=3, C=2, 2x2 maps, K=2"),
    ((_maps([[0.5, -1.0], [2.0, 0.25]], 6626), arr([[1.0, -0.5], [0.25, 2.0]]),
      arr([0.1, -0.2])), {}, "N=2, C=2, K=2: a per-row value without keepdims still broadcasts"),
], names=("feature_maps", "weight", "bias"))

# float-trap windows: 21 * (36 / 28) lands above 27 and 11 * (30 / 22) below 15, so a
# window edge computed from the rounded quotient moves by one position
_TRAP = literal_cases([
    ((_values((1, 2, 36, 5), 6613), (28, 2)), {}, "36 rows to 28 outputs"),
    ((_values((2, 1, 4, 30), 6614, -2.0), (3, 22)), {}, "30 columns to 22 outputs")],
    names=("x", "output_size"))

MISTAKES = {
    "predict_from_maps": {
        "probes": [_PREDICT],
        "mistakes": [
            {
                "id": 'max_not_mean',
                "matches": 'global max pooling before the dense layer',
                "explain": "you kept each channel's largest value: what does the A in GAP stand for?",
                "section": 'Section 1, two heads counted (the GAP head)',
                "source": '''
def predict_from_maps(feature_maps, weight, bias):
    pooled = np.asarray(feature_maps, dtype=np.float64).max(axis=(2, 3))
    logits = pooled @ np.asarray(weight).T + bias
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return logits, e / e.sum(axis=1, keepdims=True), logits.argmax(axis=1)
''',
            },
            {
                "id": 'wrong_axes',
                "matches": 'a mean over the channel and width axes',
                "explain": 'the averages mix different channels together: which axes of the feature maps hold the positions?',
                "section": 'Section 1, two heads counted (the GAP head)',
                "source": '''
def predict_from_maps(feature_maps, weight, bias):
    pooled = np.asarray(feature_maps, dtype=np.float64).mean(axis=(1, 3))
    logits = pooled @ np.asarray(weight).T + bias
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return logits, e / e.sum(axis=1, keepdims=True), logits.argmax(axis=1)
''',
            },
            {
                "id": 'sum_not_mean',
                "matches": 'the sum of each channel, not divided by anything',
                "explain": "your logits grow with the size of the map: what turns a channel's total into its average?",
                "section": 'Section 1, two heads counted (the GAP head)',
                "source": '''
def predict_from_maps(feature_maps, weight, bias):
    pooled = np.asarray(feature_maps, dtype=np.float64).sum(axis=(2, 3))
    logits = pooled @ np.asarray(weight).T + bias
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return logits, e / e.sum(axis=1, keepdims=True), logits.argmax(axis=1)
''',
            },
            {
                "id": 'weight_not_transposed',
                "matches": 'the pooled features times the weight as it is stored',
                "explain": "the weight is stored (K, C), one row per class, like nn.Linear's: the logits are the (N, C) batch of channel averages times the transpose of the weight, (N, C) @ (C, K) = (N, K)",
                "section": 'Exercise 4: from feature maps to a predicted class',
                "source": '''
def predict_from_maps(feature_maps, weight, bias):
    pooled = np.asarray(feature_maps, dtype=np.float64).mean(axis=(2, 3))
    logits = pooled @ np.asarray(weight, dtype=np.float64) + bias
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return logits, e / e.sum(axis=1, keepdims=True), logits.argmax(axis=1)
''',
            },
            {
                "id": 'naive_softmax',
                "matches": 'a softmax straight from the formula, np.exp of the raw logits',
                "explain": 'np.exp of a logit near 1000 is inf, and inf / inf is nan: which number can you subtract from every logit of an image without changing its probabilities (section 4)?',
                "section": 'Section 4, from logits to a prediction',
                "source": '''
def predict_from_maps(feature_maps, weight, bias):
    logits = np.asarray(feature_maps, dtype=np.float64).mean(axis=(2, 3)) @ np.asarray(weight).T + bias
    e = np.exp(logits)
    return logits, e / e.sum(axis=1, keepdims=True), logits.argmax(axis=1)
''',
            },
            {
                "id": 'batch_max_shift',
                "matches": "a softmax shifted by the largest logit of the whole batch",
                "explain": "an image whose logits lie far below the batch's largest gets np.exp(...) = 0 for every class, and 0 / 0 is nan: shift each image's logits by that image's own largest",
                "section": 'Section 4, from logits to a prediction',
                "source": '''
def predict_from_maps(feature_maps, weight, bias):
    logits = np.asarray(feature_maps, dtype=np.float64).mean(axis=(2, 3)) @ np.asarray(weight).T + bias
    e = np.exp(logits - logits.max())
    return logits, e / e.sum(axis=1, keepdims=True), logits.argmax(axis=1)
''',
            },
            {
                "id": 'row_value_without_keepdims',
                "matches": "a softmax whose per-row largest logit and sum lost their axis (no keepdims)",
                "explain": "logits.max(axis=1) has shape (N,), and NumPy lines it up with the last axis of the (N, K) logits, the classes, so it raises or, when N == K, subtracts row k's largest from column k: keep the axis (keepdims=True, or [:, None]) so each image's row gets its own value",
                "section": 'Section 4, from logits to a prediction (one value per row)',
                "source": '''
def predict_from_maps(feature_maps, weight, bias):
    logits = np.asarray(feature_maps, dtype=np.float64).mean(axis=(2, 3)) @ np.asarray(weight).T + bias
    e = np.exp(logits - logits.max(axis=1))
    return logits, e / e.sum(axis=1), logits.argmax(axis=1)
''',
            },
            {
                "id": 'softmax_over_images',
                "matches": 'a softmax over the images (axis 0) instead of over the classes',
                "explain": "your probabilities sum to 1 down each class, over the images: one image's K probabilities are a row, axis 1",
                "section": 'Section 4, from logits to a prediction',
                "source": '''
def predict_from_maps(feature_maps, weight, bias):
    logits = np.asarray(feature_maps, dtype=np.float64).mean(axis=(2, 3)) @ np.asarray(weight).T + bias
    e = np.exp(logits - logits.max(axis=0, keepdims=True))
    return logits, e / e.sum(axis=0, keepdims=True), logits.argmax(axis=1)
''',
            },
            {
                "id": 'sigmoid_per_class',
                "matches": 'a sigmoid of every logit on its own',
                "explain": "each probability came from its own logit alone, so an image's probabilities do not sum to 1: the sigmoid is the two-class case, the softmax divides by a sum over all K classes",
                "section": 'Section 4, from logits to a prediction',
                "source": '''
def predict_from_maps(feature_maps, weight, bias):
    logits = np.asarray(feature_maps, dtype=np.float64).mean(axis=(2, 3)) @ np.asarray(weight).T + bias
    return logits, 1.0 / (1.0 + np.exp(-logits)), logits.argmax(axis=1)
''',
            },
            {
                "id": 'argmax_over_images',
                "matches": 'classes from an argmax over the images (axis 0)',
                "explain": "you got one index per class (the image where that class scores highest): an image's class is the argmax over its own K logits, axis 1",
                "section": 'Section 4, from logits to a prediction',
                "source": '''
def predict_from_maps(feature_maps, weight, bias):
    logits = np.asarray(feature_maps, dtype=np.float64).mean(axis=(2, 3)) @ np.asarray(weight).T + bias
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return logits, e / e.sum(axis=1, keepdims=True), logits.argmax(axis=0)
''',
            },
            {
                "id": 'all_tied_classes',
                "matches": 'the index of every largest logit (np.nonzero), ties included',
                "explain": "when classes tie you returned each of them, so there are more classes than images: take one per image, the first of the tied ones (np.argmax does)",
                "section": 'Exercise 4: from feature maps to a predicted class',
                "source": '''
def predict_from_maps(feature_maps, weight, bias):
    logits = np.asarray(feature_maps, dtype=np.float64).mean(axis=(2, 3)) @ np.asarray(weight).T + bias
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    classes = np.nonzero(logits == logits.max(axis=1, keepdims=True))[1]
    return logits, e / e.sum(axis=1, keepdims=True), classes
''',
            },
        ],
    },
    "adaptive_avg_pool2d_np": {
        "probes": [array_cases(seed=6611, n=3, rank=4, max_size=7, extra_args=((2, 5),)),
                   array_cases(seed=6612, n=2, rank=4, max_size=6, extra_args=(3,)), _TRAP],
        "mistakes": [
            {
                "id": 'fixed_kernel',
                "matches": 'ordinary pooling with kernel and stride H // OH',
                "explain": "one kernel and stride for every output is ordinary pooling: probe torch's windows where O does not divide L (as section 3's figure does) and compare them with yours",
                "section": 'Section 3, any input size (adaptive pooling, and probing its windows)',
                "source": '''
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
''',
            },
            {
                "id": 'swapped_output',
                "matches": 'adaptive pooling with the two output sizes swapped',
                "explain": 'your output has the right sizes on the wrong axes: which number of the pair belongs to the rows?',
                "section": 'Exercise 1: adaptive average pooling in NumPy',
                "source": '''
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
''',
            },
            {
                "id": 'floor_stop',
                "matches": 'averages over windows whose stops are rounded down',
                "explain": "some averages come from empty or short windows: probe torch where O does not divide L (as section 3's figure does): which way is each window's stop rounded?",
                "section": 'Section 3, any input size (adaptive pooling, and probing its windows)',
                "source": '''
def adaptive_avg_pool2d_np(x, output_size):
    x = np.asarray(x, dtype=np.float64)
    out_h, out_w = (output_size, output_size) if np.ndim(output_size) == 0 else output_size
    n, c, h, w = x.shape
    out = np.empty((n, c, out_h, out_w))
    for i in range(out_h):
        r0, r1 = i * h // out_h, (i + 1) * h // out_h
        for j in range(out_w):
            c0, c1 = j * w // out_w, (j + 1) * w // out_w
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out
''',
            },
            {
                "id": 'rounded_quotient',
                "matches": 'windows computed from the rounded float H / OH and W / OW',
                "explain": 'a window gained an extra position: a float quotient can miss an integer by a hair, so which arithmetic stays exact?',
                "section": 'Exercise 1: adaptive average pooling in NumPy',
                "source": '''
def adaptive_avg_pool2d_np(x, output_size):
    import math
    x = np.asarray(x, dtype=np.float64)
    out_h, out_w = (output_size, output_size) if np.ndim(output_size) == 0 else output_size
    n, c, h, w = x.shape
    sh, sw = h / out_h, w / out_w
    out = np.empty((n, c, out_h, out_w))
    for i in range(out_h):
        r0, r1 = math.floor(i * sh), math.ceil((i + 1) * sh)
        for j in range(out_w):
            c0, c1 = math.floor(j * sw), math.ceil((j + 1) * sw)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out
''',
            },
            {
                "id": 'rounded_start',
                "matches": 'windows whose starts are rounded to the nearest integer',
                "explain": "some windows start one position late: probe torch where O does not divide L (as section 3's figure does): which way is each window's start rounded?",
                "section": 'Section 3, any input size (adaptive pooling, and probing its windows)',
                "source": '''
def adaptive_avg_pool2d_np(x, output_size):
    x = np.asarray(x, dtype=np.float64)
    out_h, out_w = (output_size, output_size) if np.ndim(output_size) == 0 else output_size
    n, c, h, w = x.shape
    out = np.empty((n, c, out_h, out_w))
    for i in range(out_h):
        r0, r1 = int(round(i * h / out_h)), -(-(i + 1) * h // out_h)
        for j in range(out_w):
            c0, c1 = int(round(j * w / out_w)), -(-(j + 1) * w // out_w)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out
''',
            },
        ],
    },
}
