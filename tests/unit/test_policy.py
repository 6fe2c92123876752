"""poolkit.checks.policy and failures: the rules written once, and failures as data.

The visible checks read the banned packages and the time limits from
:mod:`poolkit.checks.policy`; every failure carries a
:class:`~poolkit.checks.failures.CheckFailure` saying what kind it is, never to be parsed
back from its message (which may quote the student's own exception).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import poolkit.checks as ck
from poolkit.checks import policy
from poolkit.checks.failures import CheckFailed

POOL = ck.pool_cases(seed=5, n=3, max_size=6, min_kernel=2)


def failure_of(fn, *args, **kwargs):
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    return info.value


# --------------------------------------------------------------------------- one rule


def test_the_visible_numpy_only_rule_uses_the_one_banned_list():
    for check in (ck.assert_numpy_only, ck.check_against_oracle):
        default = inspect.signature(check).parameters["banned"].default
        assert default is policy.BANNED_IN_NUMPY_ONLY, check.__name__


@pytest.mark.parametrize("package", ["sklearn", "jaxlib", "functorch", "tf_keras"])
def test_packages_the_grader_bans_are_banned_in_the_visible_check_too(package):
    # (these were banned by the grader's NumPy-only kernel but not by the visible check)
    namespace = {}
    exec(f"def pool(x):\n    return {package}.max_pool(x)\n", namespace)  # noqa: S102
    message = str(failure_of(ck.assert_numpy_only, namespace["pool"]))
    assert f"it uses the name '{package}'" in message, message


@pytest.mark.parametrize("env,expected", [
    ("0.5", 0.5), ("19.9", 19.9),
    ("1000", 20.0), ("20", 20.0), ("0", 20.0), ("-3", 20.0), ("nan", 20.0), ("inf", 20.0),
    ("nonsense", 20.0), ("", 20.0),
])
def test_the_environment_can_only_lower_the_call_limit(monkeypatch, env, expected):
    monkeypatch.setenv(policy.TIME_LIMIT_ENV, env)
    assert policy.effective_limit() == expected
    assert policy.effective_limit(20) == expected
    assert policy.effective_limit(0.25) == min(0.25, expected)


def test_the_call_limit_env_lowers_the_checks_own_calls(monkeypatch):
    def endless():
        while True:
            pass

    monkeypatch.setenv(policy.TIME_LIMIT_ENV, "0.2")
    exc = failure_of(ck.call, endless, time_limit=60)
    assert str(exc).startswith("endless did not finish within 0.2 s"), str(exc)


# --------------------------------------------------------------------------- failures as data


def test_a_student_exception_that_reads_like_a_timeout_is_a_raised_failure():
    def liar():
        raise ValueError("did not finish within 20 s")

    exc = failure_of(ck.call, liar, case="tiny")
    assert (exc.failure.kind, exc.failure.raised_type) == ("raised", "ValueError")
    assert str(exc).startswith("liar raised ValueError: did not finish within 20 s")
    assert exc.failure.case == "tiny"


def test_each_kind_of_failure_says_so():
    def endless(x, kernel_size, stride=None, padding=0):
        while True:
            pass

    def template(x, kernel_size, stride=None, padding=0):
        raise NotImplementedError()

    def wrong(x, kernel_size, stride=None, padding=0):
        return np.zeros((1, 1, 1, 1))

    def delegates(x, kernel_size, stride=None, padding=0):
        return ck.np_pool(x)     # (never called: the code scan refuses it first)

    timeout = failure_of(ck.check_against_oracle, endless, "poolkit.max_pool2d", POOL,
                         time_limit=0.2)
    assert timeout.failure.kind == "timeout" and timeout.failure.raised_type is None
    unwritten = failure_of(ck.check_against_oracle, template, "poolkit.max_pool2d", POOL)
    assert unwritten.failure.kind == "not_written"
    assert unwritten.failure.raised_type == "NotImplementedError"
    assert failure_of(ck.check_against_oracle, wrong, "poolkit.max_pool2d",
                      POOL).failure.kind == "wrong"
    assert failure_of(ck.assert_numpy_only, delegates).failure.kind == "numpy_only"
    assert failure_of(ck.call, 3).failure.kind == "not_a_function"


def test_an_expected_error_is_matched_by_its_type_not_its_message():
    """An invalid configuration (the oracle raises ValueError) passes only when the
    student's function raises the same type; a message that names that type does not."""
    cases = ck.literal_cases([((5, 2, 2, 2), {}, "padding above k/2")],
                             names=("size", "kernel_size", "stride", "padding"))

    def names_the_type(*args):
        raise TypeError("ValueError: padding should be at most half of kernel size")

    def raises_it(*args):
        raise ValueError("padding too large")

    exc = failure_of(ck.check_against_oracle, names_the_type,
                     "poolgrade.reference.pool_output_size", cases)
    assert (exc.failure.kind, exc.failure.raised_type) == ("raised", "TypeError")
    ck.check_against_oracle(raises_it, "poolgrade.reference.pool_output_size", cases)
