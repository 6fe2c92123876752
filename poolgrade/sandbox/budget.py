"""The grader's own budget for one test cell: so much memory and so much CPU time, no more.

A test cell runs in the grader's process (:mod:`.harness`) on data that the student's
function returned, so the student chooses how much work the test's own code does: a kernel
size of 14,001 makes a padding step allocate gigabytes.  The tests check such sizes before
they allocate; this module bounds what any test cell can cost, whatever it was given.

- **Memory.** While test cells run, the soft ``RLIMIT_DATA`` of the process is set to its
  data segment (``VmData``: heap and private writable mappings) as it was when the first of
  them began, plus ``memory_mb`` for each cell running.  An allocation past it fails at once
  (NumPy and Python raise ``MemoryError``, torch a ``RuntimeError``), and the test fails.
  ``RLIMIT_DATA`` and not ``RLIMIT_AS``: importing torch or TensorFlow reserves address space
  it never writes to (measured here: torch +0.5 GB of ``VmSize`` for +0.12 GB of ``VmData``,
  Keras with TensorFlow +0.85 GB for +0.17 GB), so an address-space cap would fail honest
  imports long before it stopped a bomb.
- **CPU.** A watchdog thread raises :class:`BudgetExceeded` in the cell's thread once that
  thread has used ``cpu_seconds`` of CPU time.  It reads the thread's own CPU clock and
  raises with ``PyThreadState_SetAsyncExc``, so it works on any thread: the main thread under
  ``nbgrader autograde`` and the local workers, a worker thread on a Dask cluster (where a
  signal timer could not reach the cell, and where other cells' work must not count).

Calls of the student's functions are shielded (:meth:`CellBudget.shielded`): an exception
that falls due during one waits until the call has returned, so the data channel is never
left half-read.  Expected values that a cell computes for the first time
(``harness.cached_oracle``) run :meth:`CellBudget.exempt`: outside both limits, since they
are the same for every student and must not be starved by one.

What this cannot do: an exception lands between two Python instructions, so one long call
into C (a single huge NumPy or torch operation) finishes first.  The memory cap bounds how
big such a call can be; the tests' own size checks keep it small; and ``poolgrade grade``'s
per-job timeout (:mod:`.engine`) ends a worker that is stuck anyway.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
from dataclasses import dataclass

try:
    import resource
except ImportError:     # Windows: no memory budget
    resource = None

CPU_SECONDS = 30.0   # measured: the lessons' test cells need at most about 4 s of grader CPU
MEMORY_MB = 1024     # measured: at most about 0.2 GB (a first `import keras` in the cell)


class BudgetExceeded(BaseException):
    """A test cell used more of the grader's CPU time than its budget.

    A BaseException, so that a test's own ``except Exception`` cannot swallow it."""


@dataclass(frozen=True)
class Budget:
    """What one test cell may cost the grader: CPU seconds of its thread, MiB of memory."""

    cpu_seconds: float = CPU_SECONDS
    memory_mb: int = MEMORY_MB

    def describe(self) -> str:
        return f"{self.cpu_seconds:g} s of CPU time and {self.memory_mb:,} MB of memory"


def default_budget() -> Budget:
    """:data:`CPU_SECONDS` and :data:`MEMORY_MB`, each lowered (never raised) by
    ``POOLKIT_TEST_CELL_CPU_SECONDS`` / ``POOLKIT_TEST_CELL_MEMORY_MB``."""

    def lowered(name, default, kind):
        try:
            value = kind(os.environ.get(name, ""))
        except ValueError:
            return default
        return value if 0 < value < default else default

    return Budget(lowered("POOLKIT_TEST_CELL_CPU_SECONDS", CPU_SECONDS, float),
                  lowered("POOLKIT_TEST_CELL_MEMORY_MB", MEMORY_MB, int))


# --------------------------------------------------------------------------- memory


def data_segment_bytes() -> int | None:
    """``VmData`` of this process (None where /proc is not there)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class _DataCeiling:
    """The soft ``RLIMIT_DATA`` of the process while test cells run in it (any thread)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._cells = 0
        self._allowance = 0      # bytes, summed over the running cells
        self._lifts = 0          # running exempt() blocks
        self._base = 0
        self._saved: tuple[int, int] | None = None

    def enter(self, allowance: int) -> bool:
        """Start one cell's allowance; False where the limit cannot be set."""
        with self._lock:
            if self._cells == 0:
                base = data_segment_bytes()
                if base is None or resource is None:
                    return False
                try:
                    self._saved = resource.getrlimit(resource.RLIMIT_DATA)
                except (AttributeError, ValueError, OSError):
                    return False
                self._base = base
            self._cells += 1
            self._allowance += allowance
            self._apply()
            return True

    def leave(self, allowance: int) -> None:
        with self._lock:
            self._cells -= 1
            self._allowance -= allowance
            self._apply()

    @contextlib.contextmanager
    def lifted(self):
        with self._lock:
            self._lifts += 1
            self._apply()
        try:
            yield
        finally:
            with self._lock:
                self._lifts -= 1
                self._apply()

    def _apply(self) -> None:
        soft, hard = self._saved
        if self._cells and not self._lifts:
            ceiling = self._base + self._allowance
            if soft != resource.RLIM_INFINITY:
                ceiling = min(ceiling, soft)
            if hard != resource.RLIM_INFINITY:
                ceiling = min(ceiling, hard)
            soft_now = ceiling
        else:
            soft_now = soft
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (soft_now, hard))
        except (ValueError, OSError):
            pass


_ceiling = _DataCeiling()


# --------------------------------------------------------------------------- CPU


def _raise_in_thread(thread_id: int, exc_type) -> None:
    """Make ``exc_type`` be raised in thread ``thread_id`` at its next Python instruction.

    Never called with NULL to withdraw one: CPython 3.11 then leaves its eval breaker set
    for good, and every later instruction of the thread crawls (a NumPy-only check that
    took 0.2 s ran for minutes)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exc_type))


def _take_pending() -> None:
    """Let an exception raised into this thread land here, and drop it: a few backward jumps
    are enough for the interpreter to deliver it."""
    try:
        for _ in range(100):
            pass
    except BudgetExceeded:
        pass


class CellBudget:
    """The budget of one test cell, made in the thread that runs it.  Use it as::

        cell = CellBudget(budget)
        try:
            cell.start()
            try:
                ...               # the test cell
            finally:
                cell.stop()
        except BudgetExceeded:
            cell.stop()           # in case it arrived during the first stop()
    """

    def __init__(self, budget: Budget):
        self.budget = budget
        self.over: str | None = None       # what was exceeded, once it was
        self._thread_id = threading.get_ident()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._shields = 0                  # calls and exempt blocks running
        self._pending = False              # exceeded inside a shield: raise when it ends
        self._sent = False                 # the watchdog raised into the cell's thread
        self._excluded = 0.0               # CPU seconds spent in exempt blocks
        self._paused_at: float | None = None
        self._memory = False
        self._watch: threading.Thread | None = None
        try:
            self._clock = time.pthread_getcpuclockid(self._thread_id)
            self._start = time.clock_gettime(self._clock)
        except (AttributeError, OSError):   # no per-thread CPU clock here: no CPU budget
            self._clock = None

    # ------------------------------------------------------------------ running
    def start(self) -> None:
        self._memory = _ceiling.enter(self.budget.memory_mb * 2**20)
        if self._clock is not None:
            self._watch = threading.Thread(target=self._watch_cpu, daemon=True,
                                           name="poolkit-test-cell-budget")
            self._watch.start()

    def stop(self) -> None:
        """End the budget: once this returns, nothing is raised in the cell's thread.

        The watchdog raises at most once per cell, so this holds even when that one
        exception arrives while stopping: the caller catches it and calls this again."""
        with self._lock:
            self._stopped.set()
        if self._watch is not None:
            self._watch.join()
        if self._sent:      # raised too late to matter: taken here, not later
            self._sent = False
            _take_pending()
        if self._memory:
            self._memory = False
            _ceiling.leave(self.budget.memory_mb * 2**20)

    def cpu_used(self) -> float:
        """CPU seconds the cell's thread has used outside exempt blocks."""
        if self._clock is None:
            return 0.0
        now = time.clock_gettime(self._clock)
        paused = now - self._paused_at if self._paused_at is not None else 0.0
        return now - self._start - self._excluded - paused

    def _watch_cpu(self) -> None:
        limit = self.budget.cpu_seconds
        while True:
            with self._lock:
                remaining = limit - self.cpu_used()
                if remaining <= 0 and not self._stopped.is_set():
                    self.over = f"more than {limit:g} s of the grader's CPU time"
                    if self._shields:
                        self._pending = True
                    else:
                        self._sent = True
                        _raise_in_thread(self._thread_id, BudgetExceeded)
                    return
            # A thread gains at most one CPU second per second: nothing to check before.
            if self._stopped.wait(max(remaining, 0.01)):
                return

    # ------------------------------------------------------------------ shields
    @contextlib.contextmanager
    def shielded(self):
        """A call of the student's function: an exceeded budget is raised after it."""
        with self._lock:
            self._shields += 1
        try:
            yield
        finally:
            with self._lock:
                self._shields -= 1
                raise_now = self._pending and not self._shields
                if raise_now:
                    self._pending = False
            if raise_now:   # also when the call raised: the budget is what ends the cell
                raise BudgetExceeded()

    @contextlib.contextmanager
    def exempt(self):
        """Work the grader does for every student alike (expected values): outside both
        limits, and never interrupted."""
        with self.shielded(), _ceiling.lifted() if self._memory else contextlib.nullcontext():
            outer = self._paused_at is None and self._clock is not None
            if outer:
                with self._lock:
                    self._paused_at = time.clock_gettime(self._clock)
            try:
                yield
            finally:
                if outer:
                    with self._lock:
                        self._excluded += time.clock_gettime(self._clock) - self._paused_at
                        self._paused_at = None


_running = threading.local()


def current() -> CellBudget | None:
    """The budget of the test cell running in this thread, if any."""
    return getattr(_running, "budget", None)


def set_current(cell: CellBudget | None) -> None:
    _running.budget = cell


def shielded():
    """:meth:`CellBudget.shielded` of this thread's cell (nothing outside a cell)."""
    cell = current()
    return cell.shielded() if cell is not None else contextlib.nullcontext()


def exempt():
    """:meth:`CellBudget.exempt` of this thread's cell (nothing outside a cell)."""
    cell = current()
    return cell.exempt() if cell is not None else contextlib.nullcontext()
