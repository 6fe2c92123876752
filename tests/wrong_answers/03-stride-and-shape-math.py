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
        ('asks PyTorch, as the visible test does', '''
import torch

def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    pool = torch.nn.MaxPool1d(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)
    return int(pool(torch.zeros(1, 1, size)).shape[-1])
'''),
    ],
    "keras_output_size": [
        ('asks Keras', '''
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    import keras
    layer = keras.layers.MaxPooling1D(pool_size, strides, padding)
    return layer.compute_output_shape((1, size, 1))[1]
'''),
    ],
    "fraction_kept": [
        ('runs poolkit\'s pooling', '''
import poolkit

def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    out = poolkit.max_pool2d(np.zeros((1, 1, height, width)), kernel_size, stride, padding)
    return out.size / (height * width)
'''),
    ],
}
