"""poolkit.checks: right answers pass, wrong answers fail with a readable message, and none
of the tricks a student can play inside the kernel turns a wrong answer into a pass."""

from __future__ import annotations

import builtins
import importlib

import numpy as np
import pytest

import poolgrade.reference
import poolkit
import poolkit.checks as ck
from poolgrade.reference import loops as reference

POOL = ck.pool_cases(seed=5, n=6, max_size=7, min_kernel=2)


def max_pool_right(x, kernel_size, stride=None, padding=0):
    return reference.max_pool2d(x, kernel_size, stride, padding)


def max_pool_zero_padding(x, kernel_size, stride=None, padding=0):
    """The classic bug: zero padding lets 0 win over negative inputs."""
    stride = kernel_size if stride is None else stride
    padded = np.pad(np.asarray(x, float), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    return reference.max_pool2d(padded, kernel_size, stride, 0)


def fails(fn, *args, match=None, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    if match:
        assert match in message, message
    return message


# --------------------------------------------------------------------------- plain behaviour


def test_right_answer_passes_and_returns_none():
    assert ck.check_against_oracle(max_pool_right, "poolkit.max_pool2d", POOL) is None


def test_wrong_answer_names_the_case_and_hint():
    message = fails(ck.check_against_oracle, max_pool_zero_padding, "poolkit.max_pool2d",
                    ck.pool_cases(seed=5, n=6, max_size=7, min_kernel=2),
                    hint="pad with -inf")
    assert "case: x: shape (" in message
    assert "kernel_size=" in message and "stride=" in message and "padding=" in message
    assert "[values: " in message
    assert "hint: pad with -inf" in message
    assert "values differ" in message and "first at index" in message


def test_shape_mismatch_is_reported():
    message = fails(ck.assert_close, np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)),
                    case="c", hint="h")
    assert "wrong shape: got (1, 1, 2, 2), expected (1, 1, 3, 3)" in message


def test_exceptions_in_student_code_become_readable_failures():
    def broken(x, kernel_size, stride=None, padding=0):
        return x[99]

    message = fails(ck.check_against_oracle, broken, "poolkit.max_pool2d", POOL)
    assert "broken raised IndexError" in message and "case:" in message


def test_call_reports_exceptions_and_time_limit():
    fails(ck.call, lambda: 1 / 0, case="tiny", match="raised ZeroDivisionError")

    def endless():
        while True:
            pass

    fails(ck.call, endless, time_limit=0.3, match="did not finish within 0.3 s")


def test_endless_loop_in_check_is_stopped():
    def endless(x, kernel_size, stride=None, padding=0):
        while True:
            pass

    fails(ck.check_against_oracle, endless, "poolkit.max_pool2d", POOL, time_limit=0.3,
          match="did not finish")


def test_time_limit_env_can_only_lower(monkeypatch):
    monkeypatch.setenv("POOLKIT_CHECK_TIME_LIMIT", "0.5")
    assert ck.effective_limit(20) == 0.5
    monkeypatch.setenv("POOLKIT_CHECK_TIME_LIMIT", "1000")
    assert ck.effective_limit(20) == 20
    monkeypatch.setenv("POOLKIT_CHECK_TIME_LIMIT", "nonsense")
    assert ck.effective_limit(20) == 20


def test_warnings_in_a_correct_answer_do_not_reach_stderr(recwarn):
    def noisy(x, kernel_size, stride=None, padding=0):
        np.log(np.zeros(1))                      # RuntimeWarning: divide by zero
        return max_pool_right(x, kernel_size, stride, padding)

    ck.check_against_oracle(noisy, "poolkit.max_pool2d", POOL)
    assert ck.call(noisy, np.ones((1, 1, 2, 2)), 2).shape == (1, 1, 1, 1)
    assert len(recwarn) == 0


def test_int_results_must_be_ints():
    cases = ck.size_cases(seed=1, n=5, ceil_mode=False, dilation=False)
    ck.check_against_oracle(reference.output_size, "poolgrade.reference.pool_output_size", cases)

    def as_float(*args):
        return float(reference.output_size(*args))

    fails(ck.check_against_oracle, as_float, "poolgrade.reference.pool_output_size", cases,
          match="expected an int")

    class SneakyInt(int):
        def __eq__(self, other):
            return True

        __hash__ = int.__hash__

    fails(ck.check_against_oracle, lambda *a: SneakyInt(0),
          "poolgrade.reference.pool_output_size", cases, match="SneakyInt")
    fails(ck.check_against_oracle, lambda *a: True, "poolgrade.reference.pool_output_size",
          cases, match="expected an int")


def test_numpy_integer_scalars_are_accepted():
    cases = ck.size_cases(seed=2, n=5)
    ck.check_against_oracle(lambda *a: np.int64(poolgrade.reference.pool_output_size(*a)),
                            "poolgrade.reference.pool_output_size", cases)


def test_tuple_results_are_compared_elementwise():
    cases = ck.keras_size_cases(seed=3, n=8)
    ck.check_against_oracle(poolgrade.reference.keras_same_padding,
                            "poolgrade.reference.keras_same_padding", cases)

    def swapped(size, k, s=None):
        before, after = poolgrade.reference.keras_same_padding(size, k, s)
        return (after, before)

    fails(ck.check_against_oracle, swapped, "poolgrade.reference.keras_same_padding", cases,
          match="at [0]")


def test_oracle_errors_require_the_same_error():
    cases = ck.literal_cases([((5, 2, 2, 2), {}, "padding above k/2")],
                             names=("size", "kernel_size", "stride", "padding"))
    ck.check_against_oracle(poolgrade.reference.pool_output_size,
                            "poolgrade.reference.pool_output_size", cases)
    fails(ck.check_against_oracle, lambda *a: 4, "poolgrade.reference.pool_output_size", cases,
          match="expected ValueError")


def test_literal_cases_carry_infinities_and_nan():
    x = ck.arr([[[[1.0, float("-inf")], [float("nan"), 4.0]]]])
    cases = ck.literal_cases([((x, 2), {})])
    ck.check_against_oracle(lambda a, k: np.array([[[[np.nan]]]]), "poolkit.max_pool2d", cases)
    fails(ck.check_against_oracle, lambda a, k: np.array([[[[4.0]]]]), "poolkit.max_pool2d",
          cases, match="values differ")


# --------------------------------------------------------------------------- case recipes


def test_cases_are_deterministic_and_cover_hard_values():
    a, b = POOL.build(), ck.pool_cases(seed=5, n=6, max_size=7, min_kernel=2).build()
    for (args_a, _, note_a), (args_b, _, note_b) in zip(a, b, strict=True):
        assert np.array_equal(args_a[0], args_b[0]) and args_a[1:] == args_b[1:]
        assert note_a == note_b
    notes = {note for _, _, note in a}
    assert notes == {"values: negative", "values: ties", "values: normal"}
    negative = [args[0] for args, _, note in a if note == "values: negative"]
    assert all((x < 0).all() for x in negative)
    ties = [args[0] for args, _, note in a if note == "values: ties"]
    assert all(len(np.unique(x)) < x.size for x in ties)
    assert ck.pool_cases(seed=6).build()[0][0][0].tolist() != a[0][0][0].tolist()


@pytest.mark.parametrize("recipe", [
    ck.pool_cases(seed=7, n=30, square=False, stride_none=True, max_kernel=4),
    ck.pool_cases(seed=8, n=30, dilation=True, ceil_mode=True),
    ck.pool_cases(seed=9, n=10, ndim=1, batch=False),
], ids=["pairs", "dilation-ceil", "1d-unbatched"])
def test_pool_cases_are_configurations_torch_accepts(recipe):
    fn = {2: poolkit.max_pool2d, 1: poolkit.max_pool1d}[recipe.params["ndim"]]
    for args, kwargs, _ in recipe.build():
        out = fn(*args, **kwargs)
        assert out.size > 0


def test_size_and_keras_cases_include_the_classic_traps():
    size_args = [args for args, _, _ in ck.size_cases(seed=0, n=40, stride_none=True).build()]
    assert (5, 2, 2, 1, 1, True) in size_args            # the dropped ceil-mode window
    assert any(a[2] is None for a in size_args)
    for a in size_args:
        poolgrade.reference.pool_output_size(*a)                     # all valid
    keras_args = [a for a, _, _ in ck.keras_size_cases(seed=0, n=20, strides_none=True).build()]
    assert (5, 2, 2) in keras_args and any(a[2] is None for a in keras_args)


# --------------------------------------------------------------------------- attacks


def test_patched_numpy_comparisons_do_not_help(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isclose", lambda a, b, *r, **k: np.ones(np.shape(a), bool))
    monkeypatch.setattr(np, "array_equal", lambda *a, **k: True)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    monkeypatch.setattr(np.testing, "assert_array_equal", lambda *a, **k: None)
    monkeypatch.setattr(np.testing, "assert_equal", lambda *a, **k: None)
    fails(ck.check_against_oracle, max_pool_zero_padding, "poolkit.max_pool2d", POOL)
    fails(ck.assert_close, np.zeros(3), np.ones(3))


def test_patched_asarray_and_rebound_ndarray_do_not_help(monkeypatch):
    real_asarray = np.asarray

    class FakeArray:
        pass

    monkeypatch.setattr(np, "asarray", lambda a, *r, **k: a if hasattr(a, "shape")
                        else real_asarray(a, *r, **k))
    monkeypatch.setattr(np, "ndarray", FakeArray)
    fails(ck.check_against_oracle, max_pool_zero_padding, "poolkit.max_pool2d", POOL)
    ck.check_against_oracle(max_pool_right, "poolkit.max_pool2d", POOL)


def test_patched_poolkit_does_not_change_the_oracle(monkeypatch):
    monkeypatch.setattr(poolkit, "max_pool2d", max_pool_zero_padding)
    fails(ck.check_against_oracle, max_pool_zero_padding, "poolkit.max_pool2d", POOL)


def test_reloading_checks_undoes_patches():
    real = ck.check_against_oracle
    ck.check_against_oracle = lambda *a, **k: None
    ck.assert_close = lambda *a, **k: None
    fresh = importlib.reload(ck)
    assert fresh.check_against_oracle is not None
    assert fresh.check_against_oracle.__code__.co_filename == real.__code__.co_filename
    fails(fresh.assert_close, np.zeros(2), np.ones(2))
    fails(fresh.check_against_oracle, max_pool_zero_padding, "poolkit.max_pool2d", POOL)


def test_rigged_objects_are_refused():
    class AlwaysEqual:
        shape = (1, 1, 1, 1)

        def __eq__(self, other):
            return True

        def __array__(self, dtype=None, copy=None):
            raise AssertionError("__array__ must never be called")

        def tolist(self):
            raise AssertionError("tolist must never be called")

    class Agreeable(np.ndarray):
        def __eq__(self, other):
            return np.ones(np.shape(other), bool)

    fails(ck.check_against_oracle, lambda *a: AlwaysEqual(), "poolkit.max_pool2d", POOL,
          match="expected a plain numpy.ndarray")
    fails(ck.check_against_oracle, lambda x, *a: np.zeros(x.shape).view(Agreeable),
          "poolkit.max_pool2d", POOL, match="subclass of numpy.ndarray")
    holder = np.empty(1, dtype=object)
    holder[0] = AlwaysEqual()
    fails(ck.assert_close, holder, np.zeros(1), match="dtype object")
    fails(ck.assert_close, np.zeros(2, complex), np.zeros(2), match="dtype complex128")


def test_swallowed_exceptions_leave_a_wrong_result():
    def swallowing(x, kernel_size, stride=None, padding=0):
        try:
            return undefined_name(x)  # noqa: F821
        except Exception:
            return np.zeros((1, 1, 1, 1))

    fails(ck.check_against_oracle, swallowing, "poolkit.max_pool2d", POOL, match="wrong shape")


def test_rebound_builtins_are_detected():
    real_zip = builtins.zip
    try:
        builtins.zip = lambda *a, **k: iter(())
        message = fails(ck.assert_builtins_intact)
    finally:
        builtins.zip = real_zip
    assert "zip" in message
    ck.assert_builtins_intact()


def test_ipython_error_hooks_are_detected():
    shell_module = pytest.importorskip("IPython.core.interactiveshell")
    shell = shell_module.InteractiveShell.instance()
    try:
        ck.assert_kernel_reports_errors()
        shell.set_custom_exc((BaseException,), lambda *a, **k: None)
        fails(ck.assert_kernel_reports_errors, match="set_custom_exc")
        shell.set_custom_exc((), None)
        shell.showtraceback = lambda *a, **k: None
        fails(ck.assert_kernel_reports_errors, match="showtraceback was replaced")
        fails(ck.check_against_oracle, max_pool_right, "poolkit.max_pool2d", POOL)
    finally:
        shell_module.InteractiveShell.clear_instance()


# --------------------------------------------------------------------------- numpy only


def numpy_helper(x):
    return np.asarray(x, float)


def numpy_answer(x, kernel_size, stride=None, padding=0):
    return reference_free_pool(numpy_helper(x), kernel_size, stride, padding)


def reference_free_pool(x, k, s, p):
    s = k if s is None else s
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(2, 3))
    return windows[:, :, ::s, ::s].max(axis=(-2, -1))


def test_numpy_answer_passes_numpy_only():
    def documented(x):
        """Like torch's max_pool2d, but in NumPy; see poolkit.max_pool2d for the reference."""
        return np.asarray(x).max()

    ck.assert_numpy_only(documented)
    ck.assert_numpy_only(numpy_answer)
    ck.check_against_oracle(numpy_answer, "poolkit.max_pool2d", POOL, numpy_only=True)


def _delegates_global(x, kernel_size, stride=None, padding=0):
    return poolkit.max_pool2d(x, kernel_size, stride, padding)


def _delegates_torch(x, kernel_size, stride=None, padding=0):
    import torch
    return torch.nn.functional.max_pool2d(torch.as_tensor(x), kernel_size, stride, padding)


def _delegates_dynamic(x, kernel_size, stride=None, padding=0):
    return __import__("pool" + "kit").max_pool2d(x, kernel_size, stride, padding)


def _helper_delegates(x, kernel_size, stride=None, padding=0):
    return _delegates_global(x, kernel_size, stride, padding)


def _default_delegates(x, kernel_size, stride=None, padding=0, _pool=poolkit.avg_pool2d):
    return _pool(x, kernel_size, stride, padding)


def _make_closure():
    pool = poolkit.max_pool2d

    def inner(x, kernel_size, stride=None, padding=0):
        return pool(x, kernel_size, stride, padding)
    return inner


@pytest.mark.parametrize("fn,expect", [
    (_delegates_global, "poolkit"),
    (_delegates_torch, "torch"),
    (_delegates_dynamic, "__import__"),
    (_helper_delegates, "poolkit"),
    (_default_delegates, "poolkit"),
    (_make_closure(), "poolkit"),
    (poolkit.max_pool2d, "poolkit"),
    (lambda x, k, s=None, p=0: poolkit.max_pool2d(x, k, s, p), "poolkit"),
])
def test_delegation_is_caught_statically(fn, expect):
    fails(ck.assert_numpy_only, fn, match=expect)


def test_a_banned_module_is_named_once():
    message = fails(ck.assert_numpy_only, _delegates_global)
    first = message.splitlines()[0]
    assert first.endswith("it uses the name 'poolkit'"), first


HIDDEN = {}


def _through_a_container(x, kernel_size, stride=None, padding=0):
    return HIDDEN["pool"](x, kernel_size, stride, padding)


def test_delegation_the_static_scan_misses_is_caught_at_run_time():
    HIDDEN["pool"] = poolkit.max_pool2d
    ck.assert_numpy_only(_through_a_container)             # invisible to the code scan
    fails(ck.check_against_oracle, _through_a_container, "poolkit.max_pool2d", POOL,
          numpy_only=True, match="calls poolkit")


def test_switching_off_the_monitor_is_caught():
    import sys as _sys
    monitor_off = getattr(_sys, "set" + "profile")

    def blinder(x, kernel_size, stride=None, padding=0):
        monitor_off(None)
        return reference_free_pool(np.asarray(x, float), kernel_size, stride, padding)

    fails(ck.check_against_oracle, blinder, "poolkit.max_pool2d", POOL, numpy_only=True,
          match="switched off the call monitor")


def test_speed_check_separates_loops_from_vectorized_code():
    def loops(x, k, s, p):
        return reference.max_pool2d(x, k, s, p)

    x = np.random.default_rng(0).standard_normal((1, 1, 300, 300))
    ck.check_speed(reference_free_pool, x, 2, 1, 0, loops=(300, 300, 2, 1))
    message = fails(ck.check_speed, loops, x, 2, 1, 0, loops=(300, 300, 2, 1), tries=2,
                    case="speed test", hint="loop over the window offsets",
                    match="loops is too slow")
    assert "in each of 2 tries" in message
    assert "case: speed test" in message and "loop over the window offsets" in message


def test_speed_check_retries_a_moment_of_load(monkeypatch):
    """One slow try does not fail a fast answer; each try takes a fresh yardstick, so a
    quiet moment's measurement is never reused."""
    import poolkit.checks.guards as guards

    yardsticks = []

    def yardstick(*loops):
        yardsticks.append(loops)
        return 0.5

    monkeypatch.setattr(guards, "loop_time", yardstick)
    calls = []

    def slow_once(x):
        import time
        calls.append(1)
        start = time.thread_time()
        while len(calls) == 1 and time.thread_time() - start < 0.6:
            pass   # work, not sleep: the check counts CPU time
        return x

    ck.check_speed(slow_once, 1.0, loops=(10, 10, 2, 1))
    assert len(calls) == 2 and yardsticks == [(10, 10, 2, 1)] * 2


def test_speed_check_counts_work_not_waiting(monkeypatch):
    """A call that waits (a busy machine, as far as the clock on the wall can tell) but does
    little work passes; a call that works past the limit fails."""
    import time

    import poolkit.checks.guards as guards

    monkeypatch.setattr(guards, "loop_time", lambda *loops: 0.4)

    def waits(x):
        time.sleep(0.5)
        return x

    def works(x):
        start = time.thread_time()
        while time.thread_time() - start < 0.3:
            pass
        return x

    ck.check_speed(waits, 1.0, loops=(10, 10, 2, 1), tries=1)
    fails(ck.check_speed, works, 1.0, loops=(10, 10, 2, 1), tries=1, match="works is too slow")


def test_a_failure_shows_the_students_frames_not_the_checks():
    """In the notebook (IPython's traceback), a failing check shows the cell and the line
    that raised, not the checks' own frames."""
    import re
    import sys

    from IPython.core.ultratb import VerboseTB

    def wrong(x, kernel_size, stride=None, padding=0):
        return x[5]

    try:
        ck.check_against_oracle(wrong, "poolkit.max_pool2d", ck.pool_cases(seed=1))
    except AssertionError:
        etype, value, tb = sys.exc_info()
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(
        VerboseTB(theme_name="nocolor").structured_traceback(etype, value, tb)))
    shown = re.findall(r"poolkit/checks/(\w+)\.py:\d+, in (\w+)", text)
    assert shown == [("results", "_fail")], shown      # the frame that raises stays
    assert "skipping hidden" in text and "return x[5]" in text


def test_a_display_name_with_arguments_appears_in_the_case():
    def student(x, k, s, p, mode="avg"):
        return reference.max_pool2d(x, k, s, p)     # max where the mean was asked for

    with pytest.raises(AssertionError, match=r"case: pool2d_vectorized\(mode='avg'\), x: shape"):
        ck.check_against_oracle(student, "poolkit.avg_pool2d", ck.pool_cases(seed=5, n=3),
                                name="pool2d_vectorized(mode='avg')")
