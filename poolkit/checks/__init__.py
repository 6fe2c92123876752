"""Checks for the course's test cells: readable failures that a student's code cannot fake.

A test cell in a lesson reloads this package (restoring every name on ``poolkit.checks``
that a student rebound, see "What is not defended" for what a reload does not undo), then
compares a student's function with a poolkit *oracle* that runs in a fresh Python process::

    import importlib, poolkit.checks
    ck = importlib.reload(poolkit.checks)
    ck.check_against_oracle(max_pool2d_loops, "poolkit.max_pool2d",
                            ck.pool_cases(seed=3, n=8), numpy_only=True,
                            hint="pad with -inf, not 0")

How the checks hold up against a student who controls the kernel:

* Expected values never come from the kernel.  A case set is a small recipe (a generator
  name, a seed, options); a fresh ``python -I`` process rebuilds the inputs from the recipe,
  runs the oracle and sends the results back as text (floats in ``float.hex``).  Patching
  numpy, poolkit or the random generator inside the kernel cannot change them.
* Results are read without the student's help: the result's type must be exactly
  ``numpy.ndarray`` (checked through the type's flags, so a subclass, a look-alike class or
  a rebound ``np.ndarray`` name does not pass) or an exact ``int``/``float``/``tuple``.
  Values are pulled out with ``ndarray.tolist`` (a method of a built-in type, which Python
  does not let anyone replace) and compared in plain Python, so ``np.allclose``,
  ``np.array_equal``, ``np.testing`` and ``np.asarray`` are never called on a result, and
  no ``__eq__``/``__array__``/``__float__`` of a student's object ever runs.
* The types used for those checks (``type``, ``int``, ``float``, ...) are taken from
  literals, and loops avoid ``range``/``len``/``zip``/``abs``, so rebinding those builtins
  does not switch a comparison off.
* Every failure raises ``AssertionError`` naming the case (shapes, kernel, stride,
  padding, ...) and a hint.  An exception inside the student's function becomes such a
  failure too, and a function that runs longer than ``time_limit`` seconds is stopped.
  Exceptions that a student swallows inside their own code leave a wrong result, which
  fails on its values; a kernel whose error reporting was switched off
  (``set_custom_exc``, a replaced ``showtraceback``) is refused before anything is checked.
* ``assert_numpy_only`` reads the function's code (recursively through helper functions,
  closures and defaults) for torch, TensorFlow, Keras, JAX, poolkit, scikit-image or SciPy,
  and ``numpy_only=True`` also watches the call itself with ``sys.setprofile``.

What is *not* defended: a student who rewrites interpreter machinery shared by everything
in the kernel (``sys.modules['importlib']`` or ``importlib.reload``, ``subprocess``,
``sys.executable``, IPython's ``run_cell``/``run_cell_async`` so that test cells are
skipped), who patches one of this package's modules (``importlib.reload(poolkit.checks)``
re-executes this ``__init__`` only, not the modules below, so it undoes
``ck.assert_close = ...`` but not ``ck.results._compare = ...``), or who writes over files
on disk (this package, poolkit).  Code running in the kernel can always fake an in-kernel
test.  That is acceptable because grading never runs test cells in the student's kernel:
:mod:`poolgrade.execution.test_cells` runs them in the grader's own process, where these checks
notice the harness and call the student's functions through a data-only channel (the time
limit is enforced by that channel, expected values are computed in the grader's process,
and the NumPy-only rule by a kernel in which only NumPy is installed).  The in-kernel checks
here serve only the student's own visible tests in JupyterLab or ``nbgrader validate``,
where a student who fools them fools only themself; the reload at the top of a test cell is
a convenience there (it undoes an accidental patch), and the grader does not rely on it.

The package, one idea per module (everything public is re-exported here, so test cells
and oracle names such as ``"poolkit.checks.reference_loop_seconds"`` use ``poolkit.checks``):

* :mod:`~poolkit.checks.results`: describing cases, reading results strictly
  (``strict_value``), comparing, ``assert_close``/``assert_equal``, ``require`` and
  ``require_int`` (a size the student chose, checked before a test builds anything from it);
* :mod:`~poolkit.checks.cases`: case sets (``pool_cases``, ``literal_cases``, ``arr``, ...);
* :mod:`~poolkit.checks.oracle`: the oracle process and the oracle adapters
  (``loop_time``, ...);
* :mod:`~poolkit.checks.environment`: the kernel's fitness (``assert_builtins_intact``,
  ``assert_kernel_reports_errors``) and whether the grader's harness is running;
* :mod:`~poolkit.checks.guards`: calling a student's function (``call``, time limits,
  ``check_speed``);
* :mod:`~poolkit.checks.numpy_only`: the NumPy-only rule (``assert_numpy_only``, the call
  monitor);
* :mod:`~poolkit.checks.checking`: ``check_against_oracle``;
* :mod:`~poolkit.checks.policy`: the rules the grader enforces too (the banned packages,
  the time limits and their environment override), written once;
* :mod:`~poolkit.checks.failures`: a failed check as data (``CheckFailure``), carried by
  the AssertionError every check raises (``CheckFailed``);
* :mod:`~poolkit.checks.hints`: staged hints (``hint("output_size")`` prints an
  exercise's rule; failures show it only after repeated tries) and
  ``compare_with_yours`` (a reference's source, once your version passes);
* ``_literals``: types taken from literals, used by all of them.
"""

from __future__ import annotations

# This file only re-exports.  Besides __all__, the names that other code reads from
# poolkit.checks: the oracle process (``c._oracle_main()``), poolgrade's harness,
# dotted oracle names ("poolkit.checks.reference_loop_seconds") and the tests.
# ruff: noqa: F401
from .cases import (
    _GENERATORS,
    CaseSet,
    arr,
    array_cases,
    hw_cases,
    keras_size_cases,
    literal_cases,
    pool_cases,
    size_cases,
)
from .checking import check_against_oracle
from .environment import _grading_harness, assert_builtins_intact, assert_kernel_reports_errors
from .failures import CheckFailed, CheckFailure
from .guards import call, check_speed
from .hints import compare_with_yours, hint
from .numpy_only import assert_numpy_only
from .oracle import (
    _decode_tokens,
    _encode,
    _oracle_lines,
    _oracle_main,
    loop_time,
    oracle_results,
    reference_loop_seconds,
)
from .policy import BANNED_IN_NUMPY_ONLY, CALL_TIME_LIMIT, effective_limit
from .results import (
    _compare,
    assert_close,
    assert_equal,
    describe,
    require,
    require_int,
    strict_value,
)

__all__ = [
    "arr", "call", "compare_with_yours", "hint", "require", "require_int",
    "assert_builtins_intact", "assert_close", "assert_equal",
    "assert_kernel_reports_errors",
    "assert_numpy_only", "check_against_oracle", "check_speed", "describe",
    "keras_size_cases", "literal_cases",
    "pool_cases", "array_cases", "hw_cases",
    "loop_time", "reference_loop_seconds",
    "size_cases", "strict_value",
]
