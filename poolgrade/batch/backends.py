"""Where the work runs: local worker processes, or a Dask cluster.

Both run the same two functions from :mod:`poolgrade.batch.grade_one` on the same picklable
jobs: ``run_submission`` (a submission's notebooks in sandboxed kernels) and
``render_feedback`` (feedback HTML), so grades cannot depend on the backend. The interface is
the smallest the engine needs: ``submit(fn, job)`` returns a future, ``wait(futures, timeout)``
returns the finished ones, ``lost(error)`` tells whether an error means the worker itself died,
``starts(futures)`` tells since when each job has been running, and ``abandon(futures)`` stops
jobs that ran past the engine's per-job timeout and replaces the workers that held them.
"""

from __future__ import annotations

import itertools
import os
import signal
import time


def default_workers() -> int:
    """One worker per core plus two: a kernel spends part of its time waiting (start-up
    handshakes, the trusted harness's turns), and the extra workers keep the
    cores busy."""
    return (os.cpu_count() or 1) + 2


def _warm_up() -> None:
    """Import what every job needs once per worker process, not once per submission."""
    from poolgrade.batch import feedback
    from poolgrade.execution import notebook  # noqa: F401 (imported for its import time)

    feedback.feedback_exporter()


def _die_with_parent() -> None:
    """In a worker: be killed when the grader dies, even by SIGKILL or the OOM killer (the
    kernels die with their worker in turn: bubblewrap's ``--die-with-parent``)."""
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:   # the grader died before the line above took effect
        os._exit(1)


_started = None     # in a local worker: where it says which job it starts


def _start_worker(warm: bool, started=None) -> None:
    global _started
    _started = started
    _die_with_parent()
    if warm:
        _warm_up()


def _announced(fn, job, token):
    """In a local worker: tell the parent that job ``token`` starts here, now, then run it.
    (``time.monotonic`` is the same clock in every process of a Linux machine.)"""
    if _started is not None:
        _started.put((token, os.getpid(), time.monotonic()))
    return fn(job)


class LocalBackend:
    """Long-lived worker processes.

    On Linux they are forked from the parent once it has imported nbgrader, nbclient and
    nbconvert, so no worker pays for those imports again (about 2 CPU seconds each); the
    parent holds no kernels, threads or open gradebook connections at that point. Elsewhere
    they are spawned (and import everything themselves).
    """

    def __init__(self, workers: int | None = None):
        import multiprocessing
        import sys

        self.workers = workers or default_workers()
        self._pool = None
        self._tokens = itertools.count()
        self._token_of: dict = {}      # future -> token
        self._running: dict = {}       # token -> (worker pid, start time)
        fork = sys.platform.startswith("linux")
        if fork:
            _warm_up()
        self._context = multiprocessing.get_context("fork" if fork else "spawn")
        self._warm_in_worker = not fork
        self._start()

    def _start(self):
        from concurrent.futures import ProcessPoolExecutor

        self._started = self._context.Queue()
        self._pool = ProcessPoolExecutor(self.workers, mp_context=self._context,
                                         initializer=_start_worker,
                                         initargs=(self._warm_in_worker, self._started))

    def submit(self, fn, job):
        token = next(self._tokens)
        future = self._pool.submit(_announced, fn, job, token)
        self._token_of[future] = token
        return future

    def wait(self, futures, timeout: float | None = None):
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(list(futures), timeout=timeout, return_when=FIRST_COMPLETED)
        return done

    def starts(self, futures) -> dict:
        """future -> when its job started in a worker (``time.monotonic``), None if not yet."""
        import queue

        for future in [f for f in self._token_of if f.done()]:
            self._running.pop(self._token_of.pop(future), None)
        current = set(self._token_of.values())
        while True:
            try:
                token, pid, start = self._started.get_nowait()
            except (queue.Empty, OSError, ValueError):
                break
            if token in current:
                self._running[token] = (pid, start)
        found = {}
        for future in futures:
            running = self._running.get(self._token_of.get(future))
            found[future] = running[1] if running else None
        return found

    def abandon(self, futures) -> bool:
        """Kill the workers running ``futures`` and start new ones.  Returns True: every
        other job in flight was lost with the pool, and must be submitted again."""
        self.starts(futures)
        workers = getattr(self._pool, "_processes", None) or {}
        for future in futures:
            running = self._running.get(self._token_of.get(future))
            if running and running[0] in workers:
                try:
                    os.kill(running[0], signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.restart()
        return True

    @staticmethod
    def lost(error: BaseException) -> bool:
        from concurrent.futures.process import BrokenProcessPool

        return isinstance(error, BrokenProcessPool)

    def restart(self) -> None:
        """After a worker process died every job in flight failed with it: new workers."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._token_of.clear()
        self._running.clear()
        self._start()

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskBackend:
    """The same jobs on a ``dask.distributed`` cluster (``--scheduler tcp://host:8786``).
    The workers need this package installed, like the course's kernels do."""

    def __init__(self, scheduler: str):
        from distributed import Client

        self.client = Client(scheduler)
        self._first_seen: dict = {}    # future key -> when the scheduler first had it running
        self._where: dict = {}         # future key -> the worker running it

    @property
    def workers(self) -> int:
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def submit(self, fn, job):
        # retries: Dask reruns a job whose worker died (a crash of the worker, not of the
        # student's kernel, which the job itself handles).
        return self.client.submit(fn, job, pure=False, retries=1)

    def wait(self, futures, timeout: float | None = None):
        from distributed import wait

        try:
            done, _ = wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set()
        return done

    def starts(self, futures) -> dict:
        """future -> when the scheduler was first seen running its job (this process's clock:
        late by at most the time between two calls), None if not yet."""
        now = time.monotonic()
        try:
            processing = self.client.processing()
        except Exception:   # the scheduler did not answer: nothing new learned
            processing = {}
        for worker, keys in processing.items():
            for key in keys:
                self._first_seen.setdefault(key, now)
                self._where[key] = worker
        return {f: self._first_seen.get(f.key) for f in futures}

    def abandon(self, futures) -> bool:
        """Cancel ``futures`` and restart the workers that ran them (Dask moves those
        workers' other jobs elsewhere).  Returns False: no other job was lost."""
        workers = {self._where[f.key] for f in futures if f.key in self._where}
        self.client.cancel(list(futures), force=True)
        if workers:
            try:
                self.client.restart_workers(list(workers))
            except Exception:   # e.g. workers without a nanny: they stay, the job is dropped
                pass
        return False

    @staticmethod
    def lost(error: BaseException) -> bool:
        return False  # Dask already retried; a KilledWorker is final

    def restart(self) -> None:
        pass

    def close(self):
        self.client.close()
