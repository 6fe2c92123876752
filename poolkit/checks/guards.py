"""Calling a student's function: at most a time limit, and an exception inside it becomes an
AssertionError that names the case.  Under the grader's harness the call goes through its
data-only channel instead (:func:`_call_remote`).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
import warnings

from ._literals import _type
from .environment import _grading_harness, assert_builtins_intact, assert_kernel_reports_errors
from .hints import set_current
from .oracle import loop_time
from .policy import CALL_TIME_LIMIT, effective_limit
from .results import _fail


class _TimeLimit(BaseException):
    """Raised inside a student's function that runs too long (BaseException, so that a
    plain ``except Exception`` in their code does not swallow it)."""


class _TooSlow(Exception):
    """A call ran past its time limit, for a caller that handles that itself (a speed test
    tries again) instead of failing at once."""


# numpy_only._Watch lets the frames of _call_with_limit (and of on_alarm) through: they are
# the only code of poolkit.checks that runs while a student's call is watched.
def _call_with_limit(fn, args, kwargs, seconds):
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    use_alarm = (threading.current_thread() is threading.main_thread()
                 and hasattr(signal, "setitimer"))
    if not use_alarm:
        return fn(*args, **kwargs)

    def on_alarm(signum, frame):
        raise _TimeLimit()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _ready_to_call(fn, name, exercise, case) -> str:
    """What every call of a student's function checks first; returns its display name."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    name = name or getattr(fn, "__name__", "your function")
    set_current(exercise or name, fn)
    assert_builtins_intact()
    assert_kernel_reports_errors()
    if not callable(fn):
        _fail(f"{name} is not a function (got {_type(fn).__name__})", case,
              "define it with def in the exercise cell and run that cell",
              kind="not_a_function")
    return name


def call(fn, *args, case: str = "", hint: str = "", name: str | None = None,
         time_limit: float = CALL_TIME_LIMIT, exercise: str | None = None, **kwargs):
    """Call a student's function for a visible test: at most ``time_limit`` seconds, and an
    exception inside it becomes an AssertionError that names the case.  Returns its result
    (read it with :func:`assert_close`/:func:`assert_equal`).  ``exercise`` names the
    exercise for staged hints (default: the function's name); the checks that follow
    count for it."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    name = _ready_to_call(fn, name, exercise, case)
    return _call_student(fn, args, kwargs, name=name, case=case, hint=hint,
                         time_limit=effective_limit(time_limit), watch=None)


def check_speed(fn, *args, loops: tuple, fraction: float = 0.5, tries: int = 3,
                case: str = "", hint: str = "", name: str | None = None,
                exercise: str | None = None, **kwargs):
    """Pass when ``fn(*args, **kwargs)`` needs at most ``fraction`` of the CPU time of the
    loop version, where ``loops = (height, width, kernel_size, stride)`` is the loop version's
    input (:func:`~poolkit.checks.oracle.loop_time`).  CPU time, not wall-clock time: a busy
    machine slows both but does not change the work each does.  Under the grader's harness
    the student's side is the CPU time of every process of their kernel, read from the OS;
    a measurement that is impossible (negative, or missing where one was made) fails.
    Each try measures both anew; the first try within its limit passes."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    name = _ready_to_call(fn, name, exercise, case)
    tries = max(1, tries)
    used = limit = 0.0
    for _ in range(tries):
        yardstick = loop_time(*loops)
        limit = fraction * yardstick
        # the wall-clock limit only stops an endless loop; the verdict is the CPU time
        used = _cpu_seconds_of_call(fn, args, kwargs, name=name, case=case, hint=hint,
                                    wall_limit=effective_limit(10 * yardstick + 5))
        if used is not None and not used >= 0:   # (NaN too)
            _fail(f"{name}'s speed could not be checked: its CPU time was measured as "
                  f"{used:.3f} s, which is impossible", case, hint, diagnose_it=False,
                  kind="unmeasurable")
        if used is not None and used <= limit:
            return
    spent = "more than the wall-clock limit" if used is None else f"{used:.2f} s"
    _fail(f"{name} is too slow: it needed {spent} of CPU time, more than {fraction:g} of the "
          f"loop version's ({limit:.2f} s), in each of {tries} tries",
          case, hint, diagnose_it=False, kind="too_slow")


def _cpu_seconds_of_call(fn, args, kwargs, *, name, case, hint, wall_limit) -> float | None:
    """CPU seconds of one call (None: it ran past ``wall_limit``).  Under the harness a
    measurement the caller could not make, or an impossible one, fails the check; only a
    caller that measures nothing at all (a test's stand-in) gets the wall-clock time."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    harness = _grading_harness()
    try:
        if harness is not None:
            with harness.cpu_accounting() as meter:
                start = time.perf_counter()
                _call_student(fn, args, kwargs, name=name, case=case, hint=hint,
                              time_limit=wall_limit, watch=None, slow_raises=True)
                wall = time.perf_counter() - start
            if meter.problem is not None:
                _fail(f"{name}'s speed could not be checked: {meter.problem}", case, hint,
                      diagnose_it=False, kind="unmeasurable")
            return wall if not meter.calls else meter.seconds
        start = time.thread_time()
        _call_student(fn, args, kwargs, name=name, case=case, hint=hint,
                      time_limit=wall_limit, watch=None, slow_raises=True)
        return time.thread_time() - start
    except _TooSlow:
        return None


def _fail_raised(name, type_name, exc, case, hint):
    """Fail because the student's function raised ``type_name`` (``exc``: its message)."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    message = f"{exc}"
    if type_name == "NotImplementedError" and not message:
        _fail(f"{name} is not written yet: replace `raise NotImplementedError()` in its "
              f"cell with your code, then run that cell", case, hint, kind="not_written",
              raised_type=type_name)
    first = f"{name} raised {type_name}: {message}" if message else f"{name} raised {type_name}"
    _fail(first, case, hint, kind="raised", raised_type=type_name, raised_message=message)


def _call_student(fn, args, kwargs, *, name, case, hint, time_limit, watch, slow_raises=False):
    """``fn(*args, **kwargs)`` within ``time_limit``; a failure names the case.  A call past
    the limit fails, or raises :class:`_TooSlow` with ``slow_raises``."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    harness = _grading_harness()
    if harness is not None:
        return _call_remote(harness, fn, args, kwargs, name=name, case=case, hint=hint,
                            time_limit=time_limit, slow_raises=slow_raises)
    if watch is not None:
        sys.setprofile(watch)
    try:
        # A correct answer must not lose its points because NumPy warned (nbgrader fails a
        # test cell that writes to stderr): warnings inside the student's call stay silent.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = _call_with_limit(fn, args, kwargs, time_limit)
    except _TimeLimit:
        if slow_raises:
            raise _TooSlow() from None
        _fail(f"{name} did not finish within {time_limit:g} s (an endless loop?)", case, hint,
              diagnose_it=False, kind="timeout")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        _fail_raised(name, _type(exc).__name__, exc, case, hint)
    finally:
        if watch is not None:
            profiler_intact = sys.getprofile() is watch
            sys.setprofile(None)
    if watch is not None:
        if not profiler_intact:
            _fail(f"{name} switched off the call monitor (sys.setprofile)", case,
                  "write the answer with NumPy only", kind="numpy_only")
        if watch.hits:
            _fail(f"{name} calls {', '.join(watch.hits[:3])}; this exercise must be "
                  f"written with NumPy only", case,
                  "use np.pad, slicing and reductions such as .max/.mean", kind="numpy_only")
    return result


def _call_remote(harness, fn, args, kwargs, *, name, case, hint, time_limit, slow_raises=False):
    """A call under the grader's harness: ``fn`` reaches the student's kernel through the
    data-only channel, which enforces the time limit (and the NumPy-only kernel the rule)."""
    __tracebackhide__ = True  # noqa: F841 (IPython and pytest hide this frame)
    try:
        with harness.time_limit(time_limit):
            return fn(*args, **kwargs)
    except harness.CallTimeout:
        if slow_raises:
            raise _TooSlow() from None
        _fail(f"{name} did not finish within {time_limit:g} s (an endless loop?)", case, hint,
              diagnose_it=False, kind="timeout")
    except harness.StudentRaised as exc:
        _fail_raised(name, exc.type_name, exc, case, hint)
    except harness.KernelLost:
        raise
