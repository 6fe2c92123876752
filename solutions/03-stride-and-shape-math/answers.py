"""Instructor answers for lesson 03 (stride and shape math), reached by the hidden tests as
``"poolgrade.answers:03-stride-and-shape-math.<function>"``.  Not part of poolkit: students import
poolkit, and these are the exercises' answers."""

from __future__ import annotations

import numpy as np


def fraction_kept(height, width, kernel_size, stride=None, padding=0) -> float:
    """Share of positions a 2-D pooling keeps: output elements / input elements, measured by
    running poolkit's max pooling (the truth comes from the pooling, not from a formula)."""
    import poolkit
    out = poolkit.max_pool2d(np.zeros((1, 1, height, width)), kernel_size, stride, padding)
    return out.size / (height * width)
