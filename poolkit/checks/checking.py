"""The main check: a student's function against an oracle, case by case."""

from __future__ import annotations

from ._literals import _tuple, _type
from .cases import CaseSet
from .environment import _grading_harness, assert_builtins_intact, assert_kernel_reports_errors
from .failures import CheckFailed
from .guards import _call_student
from .hints import expected_failure, record_pass, set_current
from .numpy_only import _Watch, assert_numpy_only
from .oracle import oracle_results
from .policy import BANNED_IN_NUMPY_ONLY, CALL_TIME_LIMIT, effective_limit
from .results import _compare, _fail, _is_real_ndarray, describe, strict_value


def check_against_oracle(fn, oracle: str, cases: CaseSet, *, hint: str = "",
                         name: str | None = None, rtol: float = 1e-6, atol: float = 1e-9,
                         numpy_only: bool = False, banned=BANNED_IN_NUMPY_ONLY,
                         oracle_kwargs=None, time_limit: float = CALL_TIME_LIMIT,
                         exercise: str | None = None) -> None:
    """Call ``fn`` on every case and compare with ``oracle`` computed in a fresh process.

    ``oracle`` is a dotted name importable in a clean interpreter (``"poolkit.max_pool2d"``,
    ``"poolgrade.reference.pool_output_size"``); ``oracle_kwargs`` go to the oracle only (e.g.
    ``{"count_include_pad": False}``).  A case where the oracle raises (a config torch
    refuses) passes only if ``fn`` raises the same exception type.  With
    ``numpy_only=True`` the function's code is read first (:func:`assert_numpy_only`) and
    each call is watched for calls into banned packages.  Raises AssertionError at the
    first failing case.  ``exercise`` names the exercise for its staged hint (default: the
    display ``name`` up to a parenthesis, else the function's name).  Returns None on
    purpose: a number left as a test cell's last value would be read by nbgrader as a
    partial score.
    """
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    name = name or getattr(fn, "__name__", "your function")
    set_current(exercise or name, fn)
    assert_builtins_intact()
    assert_kernel_reports_errors()
    if not callable(fn):
        _fail(f"{name} is not a function (got {_type(fn).__name__})", "",
              "define it with def in the exercise cell and run that cell",
              kind="not_a_function")
    if numpy_only:
        assert_numpy_only(fn, name=name, banned=banned)   # (under the grader: the kernel's)
    limit = effective_limit(time_limit)
    built = cases.build()
    expected = oracle_results(oracle, cases, oracle_kwargs)
    if expected.__len__() != built.__len__():
        raise RuntimeError("the reference process returned the wrong number of cases")
    checked = 0
    total = expected.__len__()
    while checked < total:
        args, kwargs, note = built[checked]
        want = expected[checked]
        case = describe(args, kwargs, cases.names, note)
        if "(" in name:     # a display name carries arguments the case does not show
            case = f"{name}, {case}"
        watch = _Watch(banned) if numpy_only and _grading_harness() is None else None
        call_args = _tuple([a.copy() if _is_real_ndarray(a) else a for a in args])
        if want[0] == "error":
            try:
                with expected_failure():
                    _call_student(fn, call_args, kwargs, name=name, case=case, hint=hint,
                                  time_limit=limit, watch=watch)
            except CheckFailed as exc:
                if exc.failure.raised_type == want[1]:
                    checked += 1
                    continue
                raise
            _fail(f"{name} returned a result, but this configuration is invalid: "
                  f"expected {want[1]}", case, hint)
        got = _call_student(fn, call_args, kwargs, name=name, case=case, hint=hint,
                            time_limit=limit, watch=watch)
        reason = _compare(strict_value(got, f"the result of {name}"), want, rtol, atol)
        if reason is not None:
            _fail(reason, case, hint)
        checked += 1
    record_pass()
