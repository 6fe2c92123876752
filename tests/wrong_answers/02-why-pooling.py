"""Plausible wrong answers for lesson 02 (why pooling), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.
"""

WRONG = {
    "first_dense_params": [
        ("forgets the biases", '''
def first_dense_params(channels, height, width, units, n_pools):
    for _ in range(n_pools):
        height, width = height // 2, width // 2
    return int(channels * height * width * units)
'''),
        ("rounds up (ceil) instead of flooring", '''
def first_dense_params(channels, height, width, units, n_pools):
    for _ in range(n_pools):
        height, width = -(-height // 2), -(-width // 2)
    return int(channels * height * width * units + units)
'''),
        ("divides the area by 4**n_pools and rounds once at the end", '''
def first_dense_params(channels, height, width, units, n_pools):
    inputs = int(channels * height * width / 4 ** n_pools)
    return int(inputs * units + units)
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
    ],
    "binomial_blur": [
        ("box filter [1, 1, 1] / 3", '''
def binomial_blur(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + out + np.roll(out, -1, axis=axis)) / 3
    return out
'''),
        ("zero padding instead of wrapping around", '''
def binomial_blur(x):
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        width = [(0, 0)] * out.ndim
        width[axis] = (1, 1)
        padded = np.pad(out, width)
        n = out.shape[axis]
        before = np.take(padded, range(0, n), axis=axis)
        after = np.take(padded, range(2, n + 2), axis=axis)
        out = (before + 2 * out + after) / 4
    return out
'''),
        ("delegates to poolkit", '''
def binomial_blur(x):
    from poolkit.explore import blur
    return blur(x)
'''),
    ],
}
