"""Torch oracles for lesson 06's exercises: what torch itself computes for a classifier head.

Instructor-side (hidden tests and the known-mistake tooling name them
``"poolgrade.reference.models.<fn>"``): each one computes an exercise's answer, so they do not
ship with poolkit.  torch is imported inside the functions.
"""

from __future__ import annotations

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
