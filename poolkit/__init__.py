"""poolkit: pooling layers in NumPy, exactly as torch and Keras compute them.

Arrays are channels first, ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``, like torch;
:func:`keras_pool2d` speaks Keras' channels-last layout.  Importing poolkit loads NumPy
only: torch, TensorFlow, matplotlib and ipywidgets are imported by the functions and
submodules that use them.
"""

from __future__ import annotations

import importlib

from .adaptive import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
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

__version__ = "0.1.0"

# Submodules loaded on first use, so `import poolkit` stays light.
_LAZY_SUBMODULES = {
    "bridges", "checks", "data", "explore", "models", "reference", "widgets",
}

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "avg_pool2d_backward", "avg_pool3d", "global_avg_pool2d",
    "global_max_pool2d", "keras_output_size", "keras_pool2d", "keras_same_padding",
    "max_pool1d", "max_pool2d", "max_pool2d_backward", "max_pool3d", "pool_output_size",
]


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'poolkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY_SUBMODULES)
