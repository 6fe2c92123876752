"""Known mistakes of lesson 06 (from feature maps to a prediction), one entry per exercise.

Each mistake is written as a student holding it would write the exercise cell.  ``poolgrade
mistakes`` runs them on the probes and stores what they return in
``poolkit/mistakes/06-from-feature-maps-to-prediction.json``; the code stays here, with the
instructor.  See poolgrade/authoring/mistake_catalogue.py for the format.  ``design_head`` has no entry: its answer
is a list of menu layers (strings), not data a probe can compare.
"""

import numpy as np

from poolkit.checks import arr, array_cases, literal_cases


def _values(shape, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return arr((rng.standard_normal(shape) + shift).round(3).tolist())


# non-square maps, both heads, an unknown head name
_HEAD_PARAMS = literal_cases([
    ((5, 2, 6, 3, "flatten"), {}, "non-square map, flatten"),
    ((4, 3, 5, 2, "gap"), {}, "non-square map, GAP"),
    ((3, 4, 5, 6, "dense"), {}, "unknown head")],
    names=("channels", "height", "width", "n_classes", "head"))


def _gap_case(n, c, h, w, k, seed):
    return ((_values((n, c, h, w), seed, -1.0), _values((k, c), seed + 1),
             _values((k,), seed + 2)), {}, f"N={n}, C={c}, {h}x{w}, K={k}")


# mostly negative maps (a max is not a mean); C == H == K in the first case, so averaging
# over the wrong axes or an untransposed weight still gives numbers there
_GAP_HEAD = literal_cases([_gap_case(2, 3, 3, 4, 3, 6601), _gap_case(1, 2, 1, 5, 4, 6604),
                           _gap_case(3, 4, 2, 3, 2, 6607)],
                          names=("features", "weight", "bias"))

# uneven windows, more outputs than inputs, the float trap (7, 25), a long input
_WINDOWS = literal_cases([((10, 4), {}, "overlapping windows"),
                          ((5, 7), {}, "more outputs than inputs"),
                          ((7, 25), {}, "the float trap"),
                          ((49, 31), {}, "a long input")],
                         names=("length", "output_size"))


def _maps(means, seed):
    """(N, C, 2, 2) maps whose channel means are ``means`` (N, C), exactly (a +-0.25 pattern)."""
    rng = np.random.default_rng(seed)
    means = np.asarray(means, dtype=np.float64)
    signs = rng.permutation(np.array([1.0, 1.0, -1.0, -1.0])).reshape(2, 2)
    return arr((means[:, :, None, None] + 0.25 * signs).tolist())


# each image's own softmax: ordinary logits (N != K), all near +1000 (a plain np.exp
# overflows), one image near +1000 and one near -1000 (a shift by the batch's largest logit
# leaves 0 / 0), and tied classes
_PREDICT = literal_cases([
    ((_maps([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]], 6621), arr([[1.0, -0.5], [0.25, 2.0],
      [-1.5, 0.5], [0.75, 0.75]]), arr([0.1, -0.2, 0.3, 0.0])), {}, "N=3, C=2, K=4"),
    ((_maps([[1000.0, 1001.5], [999.0, 1000.25]], 6622), arr([[1.0, 0.0], [0.0, 1.0],
      [0.5, 0.5]]), arr([0.0, 0.0, 0.0])), {}, "logits near +1000"),
    ((_maps([[1000.0, 1002.0], [-1000.0, -1001.0]], 6623), arr([[1.0, 0.0], [0.0, 1.0],
      [0.5, 0.5]]), arr([0.0, 0.0, 0.0])), {}, "one image near +1000, one near -1000"),
    ((_maps([[1.5, -0.5], [0.0, 0.0]], 6624), arr([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
      arr([0.0, 0.0, 0.0])), {}, "classes 0 and 1 tie"),
], names=("feature_maps", "weight", "bias"))

MISTAKES = {
    "head_params": {
        "probes": [_HEAD_PARAMS],
        "mistakes": [
            {
                "id": 'no_biases',
                "matches": 'the weights without the K biases',
                "explain": 'every head comes out short by one parameter per class: what does a dense layer learn besides its weights?',
                "section": 'Section 1, two heads counted',
                "source": '''
def head_params(channels, height, width, n_classes, head):
    if head == "flatten":
        return int(channels * height * width * n_classes)
    if head == "gap":
        return int(channels * n_classes)
    raise ValueError(f"unknown head {head!r}")
''',
            },
            {
                "id": 'no_value_error',
                "matches": "a flatten head for any head name but 'gap'",
                "explain": 'an unknown head name got a flatten count: what should a function do with an argument it cannot handle?',
                "section": 'Exercise 1: counting heads',
                "source": '''
def head_params(channels, height, width, n_classes, head):
    inputs = channels if head == "gap" else channels * height * width
    return int(inputs * n_classes + n_classes)
''',
            },
            {
                "id": 'gap_as_flatten',
                "matches": "the flatten head's count for the GAP head too",
                "explain": 'the GAP head got the flatten count: how many numbers reach its dense layer after the averaging?',
                "section": 'Section 1, two heads counted',
                "source": '''
def head_params(channels, height, width, n_classes, head):
    if head not in ("flatten", "gap"):
        raise ValueError(f"unknown head {head!r}")
    return int(channels * height * width * n_classes + n_classes)
''',
            },
            {
                "id": 'square_map',
                "matches": 'counting with height * height positions',
                "explain": 'your count is right on square maps only: how many positions does a non-square map have?',
                "section": 'Section 1, two heads counted',
                "source": '''
def head_params(channels, height, width, n_classes, head):
    if head == "flatten":
        return int(channels * height * height * n_classes + n_classes)
    if head == "gap":
        return int(channels * n_classes + n_classes)
    raise ValueError(f"unknown head {head!r}")
''',
            },
        ],
    },
    "gap_head": {
        "probes": [_GAP_HEAD],
        "mistakes": [
            {
                "id": 'max_not_mean',
                "matches": 'global max pooling before the dense layer',
                "explain": "you kept each channel's largest value: what does the A in GAP stand for?",
                "section": "Section 1 (the GAP head) and lesson 01's global average pooling",
                "source": '''
def gap_head(features, weight, bias):
    pooled = np.asarray(features, dtype=np.float64).max(axis=(2, 3))
    return pooled @ np.asarray(weight).T + np.asarray(bias)
''',
            },
            {
                "id": 'wrong_axes',
                "matches": 'a mean over the channel and width axes',
                "explain": 'the averages mix different channels together: which axes of the feature maps hold the positions?',
                "section": "Section 1 (the GAP head) and lesson 01's global average pooling",
                "source": '''
def gap_head(features, weight, bias):
    features = np.asarray(features, dtype=np.float64)
    pooled = features.mean(axis=(1, 3))
    return pooled @ np.asarray(weight).T + np.asarray(bias)
''',
            },
            {
                "id": 'sum_not_mean',
                "matches": 'the sum of each channel, not divided by anything',
                "explain": "your logits grow with the size of the map: what turns a channel's total into its average?",
                "section": "Section 1 (the GAP head) and lesson 01's global average pooling",
                "source": '''
def gap_head(features, weight, bias):
    pooled = np.asarray(features, dtype=np.float64).sum(axis=(2, 3))
    return pooled @ np.asarray(weight, dtype=np.float64).T + np.asarray(bias, dtype=np.float64)
''',
            },
            {
                "id": 'weight_not_transposed',
                "matches": 'the pooled features times the weight as it is stored',
                "explain": "the weight is stored (K, C), one row per class, like nn.Linear's: the logits are the (N, C) batch of channel averages times the transpose of the weight, (N, C) @ (C, K) = (N, K)",
                "section": 'Exercise 2: a GAP head in NumPy',
                "source": '''
def gap_head(features, weight, bias):
    pooled = np.asarray(features, dtype=np.float64).mean(axis=(2, 3))
    return pooled @ np.asarray(weight, dtype=np.float64) + np.asarray(bias, dtype=np.float64)
''',
            },
        ],
    },
    "adaptive_windows": {
        "probes": [_WINDOWS],
        "mistakes": [
            {
                "id": 'floor_stop',
                "matches": 'windows whose stops are rounded down',
                "explain": 'some windows came out empty or too short: which way must a stop be rounded so that none loses its share?',
                "section": 'Section 3, any input size (the window formula of adaptive pooling)',
                "source": '''
def adaptive_windows(length, output_size):
    return [(i * length // output_size, (i + 1) * length // output_size)
            for i in range(output_size)]
''',
            },
            {
                "id": 'fixed_stride',
                "matches": 'windows of one fixed size and stride',
                "explain": 'adaptive pooling fixes the output, not the window: why would all its windows share one size and step?',
                "section": 'Section 3, any input size (the window formula of adaptive pooling)',
                "source": '''
def adaptive_windows(length, output_size):
    step = max(length // output_size, 1)
    return [(i * step, i * step + step) for i in range(output_size)]
''',
            },
            {
                "id": 'rounded_quotient',
                "matches": 'windows computed from the rounded float length / output_size',
                "explain": 'a window gained an extra position: a float quotient can miss an integer by a hair, so which arithmetic stays exact?',
                "section": 'Exercise 3: adaptive pooling windows',
                "source": '''
def adaptive_windows(length, output_size):
    import math
    step = length / output_size
    return [(math.floor(i * step), math.ceil((i + 1) * step)) for i in range(output_size)]
''',
            },
            {
                "id": 'rounded_start',
                "matches": 'windows whose starts are rounded to the nearest integer',
                "explain": "some windows start one position late: which way does the lesson's window formula round a start?",
                "section": 'Section 3, any input size (the window formula of adaptive pooling)',
                "source": '''
def adaptive_windows(length, output_size):
    return [(int(round(i * length / output_size)), -(-(i + 1) * length // output_size))
            for i in range(output_size)]
''',
            },
        ],
    },
    "predict_from_maps": {
        "probes": [_PREDICT],
        "mistakes": [
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
                "section": 'Exercise 7: from feature maps to a predicted class',
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
                   array_cases(seed=6612, n=2, rank=4, max_size=6, extra_args=(3,))],
        "mistakes": [
            {
                "id": 'fixed_kernel',
                "matches": 'ordinary pooling with kernel and stride H // OH',
                "explain": "one kernel and stride for every output is ordinary pooling: where do adaptive pooling's windows come from?",
                "section": 'Section 3, any input size (the window formula of adaptive pooling)',
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
                "section": 'Exercise 4: adaptive average pooling in NumPy',
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
                "explain": "some averages come from empty or short windows: which way must each window's stop be rounded?",
                "section": 'Section 3, any input size (the window formula of adaptive pooling)',
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
        ],
    },
}
