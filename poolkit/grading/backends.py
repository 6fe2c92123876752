"""Where the work runs: local worker processes, or a Dask cluster.

Both run the same two functions from :mod:`poolkit.grading.execute` on the same picklable
jobs: ``run_submission`` (a submission's notebooks in sandboxed kernels) and
``render_feedback`` (feedback HTML), so grades cannot depend on the backend. The interface is
the smallest the engine needs: ``submit(fn, job)`` returns a future, ``wait(futures)`` returns
the finished ones, ``lost(error)`` tells whether an error means the worker itself died.
"""

from __future__ import annotations

import os


def default_workers() -> int:
    """One worker per core plus two: a kernel spends part of its time waiting (start-up
    handshakes, the trusted harness's turns), and the extra workers keep the
    cores busy."""
    return (os.cpu_count() or 1) + 2


def _warm_up() -> None:
    """Import what every job needs once per worker process, not once per submission."""
    from . import executor, feedback  # noqa: F401 (imported for their side effect)

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


def _start_worker(warm: bool) -> None:
    _die_with_parent()
    if warm:
        _warm_up()


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
        fork = sys.platform.startswith("linux")
        if fork:
            _warm_up()
        self._context = multiprocessing.get_context("fork" if fork else "spawn")
        self._warm_in_worker = not fork
        self._start()

    def _start(self):
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(self.workers, mp_context=self._context,
                                         initializer=_start_worker,
                                         initargs=(self._warm_in_worker,))

    def submit(self, fn, job):
        return self._pool.submit(fn, job)

    def wait(self, futures):
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
        return done

    @staticmethod
    def lost(error: BaseException) -> bool:
        from concurrent.futures.process import BrokenProcessPool

        return isinstance(error, BrokenProcessPool)

    def restart(self) -> None:
        """After a worker process died every job in flight failed with it: new workers."""
        self._pool.shutdown(wait=False, cancel_futures=True)
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

    @property
    def workers(self) -> int:
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def submit(self, fn, job):
        # retries: Dask reruns a job whose worker died (a crash of the worker, not of the
        # student's kernel, which the job itself handles).
        return self.client.submit(fn, job, pure=False, retries=1)

    def wait(self, futures):
        from distributed import wait

        done, _ = wait(list(futures), return_when="FIRST_COMPLETED")
        return done

    @staticmethod
    def lost(error: BaseException) -> bool:
        return False  # Dask already retried; a KilledWorker is final

    def restart(self) -> None:
        pass

    def close(self):
        self.client.close()
