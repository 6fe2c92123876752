"""The rules that the visible checks and the grader both enforce, written once.

The checks in a student's kernel (:mod:`~poolkit.checks.guards`,
:mod:`~poolkit.checks.numpy_only`) and the grader (``poolgrade``: its test-cell harness and
the sandbox that builds the NumPy-only kernel) read these names from here, so the two can
never disagree on what is banned or how long a call may take.
"""

from __future__ import annotations

import os

from ._literals import _float

# Packages a NumPy-only answer must not use, by import name: what the visible check looks
# for in a function's code and calls, and what the grader's NumPy-only kernel cannot import.
BANNED_IN_NUMPY_ONLY = ("torch", "torchgen", "functorch", "tensorflow", "tensorboard",
                        "keras", "tf_keras", "jax", "jaxlib", "scipy", "skimage", "sklearn",
                        "poolkit")

CALL_TIME_LIMIT = 20.0    # seconds per call of a student's function (cells time out at 60)
PROBE_TIME_LIMIT = 5.0    # seconds per probe call of a diagnosis: it must not stall a test

# Seconds that lower every limit above (never raise it): a grading batch or a test run can
# fail endless loops faster.
TIME_LIMIT_ENV = "POOLKIT_CHECK_TIME_LIMIT"


def effective_limit(requested=None) -> float:
    """``requested`` seconds (default :data:`CALL_TIME_LIMIT`), lowered to the
    :data:`TIME_LIMIT_ENV` variable's value when that is a smaller positive number.  A value
    that is larger, zero, negative or not a number changes nothing."""
    limit = CALL_TIME_LIMIT if requested is None else _float(requested)
    env = os.environ.get(TIME_LIMIT_ENV, "")
    try:
        lower = _float(env) if env else limit
    except ValueError:
        lower = limit
    return lower if 0 < lower < limit else limit
