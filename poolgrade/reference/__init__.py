"""The instructor's exact NumPy pooling library: the oracle the graders compare against.

Pooling layers in NumPy computed exactly as torch and Keras compute them (the unit tests hold
them to torch and Keras).  It does not ship to students: poolkit gives them the same public
pooling names computed by torch, while every formula-shaped helper (output sizes, Keras'
'same' padding, backward passes, layout bridges, adaptive bins, the loop versions) lives only
here.  Hidden tests and the known-mistake tooling name these ``"poolgrade.reference.<fn>"``.

Arrays are channels first, ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``, like torch;
:func:`keras_pool2d` speaks Keras' channels-last layout.  Importing this package loads NumPy
only; :mod:`.bridges`, :mod:`.loops` and :mod:`.models` load on first use.
"""

from __future__ import annotations

import importlib

from .adaptive import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_bins,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    global_avg_pool2d,
    global_max_pool2d,
)
from .backward import avg_pool2d_backward, max_pool2d_backward
from .keras_compat import keras_pool2d
from .pooling import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)
from .shapes import keras_output_size, keras_same_padding, pool_output_size

# Submodules loaded on first use (bridges and models import torch or Keras when called).
_LAZY_SUBMODULES = {"bridges", "loops", "models"}

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_bins", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "avg_pool1d", "avg_pool2d", "avg_pool2d_backward", "avg_pool3d",
    "global_avg_pool2d", "global_max_pool2d", "keras_output_size", "keras_pool2d",
    "keras_same_padding", "max_pool1d", "max_pool2d", "max_pool2d_backward", "max_pool3d",
    "pool_output_size",
]


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'poolgrade.reference' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY_SUBMODULES)
