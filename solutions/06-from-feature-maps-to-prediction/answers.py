"""Instructor answers for lesson 06 (from feature maps to a prediction), for hidden tests.

Hidden test cells reach them as oracles named
``"poolgrade.answers:06-from-feature-maps-to-prediction.<function>"`` (see
``poolgrade.answers.instructor_answers``).  Not part of poolkit; nbgrader does not release
``*.py`` files.
"""

from __future__ import annotations

import numpy as np


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
