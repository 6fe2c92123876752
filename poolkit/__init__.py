"""poolkit: the pooling course's student library.

The pooling layers (``max_pool2d``, ``avg_pool2d``, their 1-D and 3-D forms, adaptive and
global pooling) take NumPy arrays, channels first ``(N, C, *spatial)`` or unbatched
``(C, *spatial)`` like torch, and return NumPy arrays computed by ``torch.nn.functional``
(:mod:`poolkit.pooling`).  Importing poolkit loads NumPy only: torch, TensorFlow, matplotlib
and ipywidgets are imported by the functions and submodules that use them.
"""

from __future__ import annotations

import importlib

from .pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    global_avg_pool2d,
    global_max_pool2d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)

__version__ = "0.1.0"

# Submodules loaded on first use, so `import poolkit` stays light.
_LAZY_SUBMODULES = {"checks", "data", "explore", "models", "widgets"}

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d", "global_avg_pool2d", "global_max_pool2d",
    "max_pool1d", "max_pool2d", "max_pool3d",
]


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'poolkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY_SUBMODULES)
