"""Instructor answers for lesson 06 (from feature maps to a prediction), for hidden tests.

Hidden test cells reach them as oracles named
``"poolgrade.answers:06-from-feature-maps-to-prediction.<function>"`` (see
``poolgrade.answers.instructor_answers``).  Not part of poolkit; nbgrader does not release
``*.py`` files.

``head_parameters``, ``gap_head_logits`` and ``adaptive_windows`` are no longer exercises (the
head count is section 1's worked example, the GAP head is part of Exercise 4's
``predict_from_maps``, the windows part of Exercise 1's ``adaptive_avg_pool2d_np``); they stay
as the instructor's statement of those rules, which the unit tests check against torch.
"""

from __future__ import annotations

import numpy as np


def head_parameters(channels: int, height: int, width: int, n_classes: int, head: str) -> int:
    """Parameters of a flatten (``channels*height*width`` inputs) or GAP (``channels``
    inputs) head with one dense layer of ``n_classes`` outputs and biases."""
    if head == "flatten":
        inputs = channels * height * width
    elif head == "gap":
        inputs = channels
    else:
        raise ValueError(f"head must be 'flatten' or 'gap', got {head!r}")
    return int(inputs * n_classes + n_classes)


def gap_head_logits(features, weight, bias) -> np.ndarray:
    """Global average pooling + dense layer (float64): ``(N, C, H, W)``, ``(K, C)``, ``(K,)``
    -> logits ``(N, K)``."""
    pooled = np.asarray(features, dtype=np.float64).mean(axis=(2, 3))
    return pooled @ np.asarray(weight, dtype=np.float64).T + np.asarray(bias, dtype=np.float64)


def adaptive_windows(length: int, output_size: int) -> list[tuple[int, int]]:
    """torch's adaptive pooling windows: ``[floor(i L / O), ceil((i + 1) L / O))``."""
    return [(i * length // output_size, -(-(i + 1) * length // output_size))
            for i in range(output_size)]


def design_head(trunk, n_classes):
    """The smallest size-agnostic head: global average pooling, then one dense layer from
    the trunk's last channel count to ``n_classes``."""
    channels = 1
    for layer in trunk:
        if layer[0] == "conv":
            channels = layer[1]
    return [("gap",), ("linear", channels, n_classes)]


def predict_from_maps(feature_maps, weight, bias):
    """torch's GAP head, softmax and argmax (float64): ``(N, C, H, W)``, ``(K, C)``, ``(K,)``
    -> ``(logits (N, K), probabilities (N, K), classes (N,) int64)``.  Computed by torch, not
    by the NumPy of the lesson's solution, so the two are checked against each other."""
    import torch

    maps, w, b = (torch.from_numpy(np.array(a, dtype=np.float64))
                  for a in (feature_maps, weight, bias))
    logits = maps.mean(dim=(2, 3)) @ w.T + b
    return (logits.numpy(), torch.softmax(logits, dim=1).numpy(),
            torch.argmax(logits, dim=1).numpy())
