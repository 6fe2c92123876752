"""Plausible wrong answers for lesson 03 (stride and shape math), one list per exercise.

Each entry replaces the whole solution cell in an otherwise correct submission; the
nbgrader round-trip test asserts that the exercise's test cells then lose points.

Known mistakes (the ones a diagnosis names) live in
``solutions/03-stride-and-shape-math/mistakes.py``; this file keeps the other wrong answers: rule
breaks (other libraries, speed, types) and answers no probe can pin down.
"""

WRONG = {
    "output_size": [
        ('returns a numpy.int64', '''
import numpy as np

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    stride = kernel_size if stride is None else stride
    room = np.int64(size + 2 * padding - dilation * (kernel_size - 1) - 1)
    out = (-(-room // stride) if ceil_mode else room // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
'''),
    ],
}
