"""Torch oracles for lesson 02's and 06's exercises: MaxBlurPool, and what torch itself
computes for a classifier head.

Instructor-side (hidden tests and the known-mistake tooling name them
``"poolgrade.reference.models.<fn>"``): each one computes an exercise's answer, so they do not
ship with poolkit.  torch is imported inside the functions.
"""

from __future__ import annotations

import numpy as np

from poolkit.models import HEADS, count_parameters


def torch_adaptive_windows(length: int, output_size: int) -> list[tuple[int, int]]:
    """The input window ``(start, stop)`` of every output of ``nn.AdaptiveAvgPool1d``, read
    off torch itself: output ``i`` covers input ``j`` when a one at ``j`` reaches output ``i``."""
    import torch
    from torch.nn import functional as F

    if length < 1 or output_size < 1:
        raise ValueError(f"length and output_size must be >= 1, got {length}, {output_size}")
    with torch.no_grad():
        reach = F.adaptive_avg_pool1d(torch.eye(length, dtype=torch.float64)[:, None, :],
                                      output_size)[:, 0, :] > 0          # (input j, output i)
    windows = []
    for i in range(output_size):
        covered = torch.nonzero(reach[:, i]).flatten().tolist()
        windows.append((int(covered[0]), int(covered[-1]) + 1))
    return windows


def torch_head_parameters(channels: int, height: int, width: int, n_classes: int,
                          head: str) -> int:
    """Parameters torch creates for a classifier head on a ``(channels, height, width)`` map:
    ``"flatten"`` (Flatten + Linear) or ``"gap"`` (AdaptiveAvgPool2d(1) + Flatten + Linear).
    Built on the ``meta`` device (shapes only, no memory)."""
    import torch
    from torch import nn

    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    layers = [nn.Flatten()] if head == "flatten" else [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    features = nn.Sequential(*layers)(torch.zeros(1, channels, height, width, device="meta"))
    model = nn.Sequential(*layers, nn.Linear(features.shape[1], n_classes, device="meta"))
    return int(count_parameters(model))


def max_blur_pool2d(x) -> np.ndarray:
    """Zhang's MaxBlurPool (2019) computed by torch, with wrap-around borders.

    ``x: (..., H, W)`` -> ``(..., ceil(H / 2), ceil(W / 2))`` float64: ``F.max_pool2d`` with
    a 2x2 window and stride 1 on the circularly padded input, then ``F.conv2d`` with the
    fixed 3x3 binomial filter of :func:`poolkit.models.blur_pool` and stride 2 on the
    circularly padded map.
    """
    import torch
    from torch.nn import functional as F

    x = np.asarray(x, dtype=np.float64)
    if x.ndim < 2 or min(x.shape[-2:]) < 1:
        raise ValueError(f"x must be (..., H, W) with H, W >= 1, got shape {x.shape}")
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    t = torch.from_numpy(x.reshape(-1, 1, h, w))
    t = F.max_pool2d(torch.cat([t, t[..., :1, :]], dim=-2), (2, 1), stride=1)
    t = F.max_pool2d(torch.cat([t, t[..., :, :1]], dim=-1), (1, 2), stride=1)
    taps = torch.tensor([1.0, 2.0, 1.0], dtype=t.dtype)
    kernel = (taps[:, None] * taps[None, :] / 16).view(1, 1, 3, 3)
    t = torch.cat([t[..., -1:, :], t, t[..., :1, :]], dim=-2)
    t = torch.cat([t[..., :, -1:], t, t[..., :, :1]], dim=-1)
    t = F.conv2d(t, kernel, stride=2)
    return t.numpy().reshape(*lead, *t.shape[-2:])
