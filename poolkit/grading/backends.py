"""Where submissions run: local worker processes, or a Dask cluster.

Both take the same :class:`~poolkit.grading.execute.SubmissionTask` objects and call the same
function, :func:`~poolkit.grading.execute.run_submission`, so grades cannot depend on the
backend. ``map_unordered`` yields ``(task, SubmissionRun or exception)`` as tasks finish and
pulls new tasks from the iterable lazily, so the parent prepares the next submissions while
the workers run the first ones.
"""

from __future__ import annotations

import os

from .execute import run_submission


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def _warm_up() -> None:
    """Import what every task needs once per worker process, not once per submission."""
    from . import execute

    execute._executor_class()
    import nbformat  # noqa: F401


class LocalBackend:
    """Long-lived worker processes (``spawn``: nothing from the parent leaks into them)."""

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()
        self._pool = None

    def _start(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self._pool = ProcessPoolExecutor(self.workers,
                                         mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_warm_up)

    def map_unordered(self, tasks):
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        if self._pool is None:
            self._start()
        source = iter(tasks)
        pending: dict = {}
        window = 2 * self.workers

        def fill():
            while len(pending) < window:
                task = next(source, None)
                if task is None:
                    return
                pending[self._pool.submit(run_submission, task)] = (task, 0)

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = []
            for future in done:
                task, tries = pending.pop(future)
                try:
                    yield task, future.result()
                except BrokenProcessPool as err:
                    broken.append((task, tries, err))
                except Exception as err:  # the task raised: report it for this student
                    yield task, err
            if broken:
                # A worker process died (not just a kernel): every task in flight failed with
                # it. Start fresh workers and try each once more.
                for future, (task, tries) in list(pending.items()):
                    future.cancel()
                    broken.append((task, tries, None))
                pending.clear()
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._start()
                for task, tries, _ in broken:
                    if tries >= 1:
                        yield task, RuntimeError("a grading worker process died twice while "
                                                 "running this submission")
                    else:
                        pending[self._pool.submit(run_submission, task)] = (task, tries + 1)
            fill()

    def close(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskBackend:
    """The same tasks on a ``dask.distributed`` cluster (``--scheduler tcp://host:8786``)."""

    def __init__(self, scheduler: str):
        from distributed import Client

        self.client = Client(scheduler)

    @property
    def workers(self) -> int:
        info = self.client.scheduler_info()
        return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))

    def map_unordered(self, tasks):
        from distributed import as_completed

        source = iter(tasks)
        window = 2 * self.workers
        by_key = {}

        def submit(task):
            future = self.client.submit(run_submission, task, pure=False, retries=1,
                                        key=f"poolkit-grade-{task.student}-{id(task)}")
            by_key[future.key] = task
            return future

        first = []
        for _ in range(window):
            task = next(source, None)
            if task is None:
                break
            first.append(submit(task))
        if not first:
            return
        queue = as_completed(first)
        for future in queue:
            task = by_key.pop(future.key)
            try:
                yield task, future.result()
            except Exception as err:  # includes KilledWorker when a worker keeps dying
                yield task, err
            finally:
                future.release()
            task = next(source, None)
            if task is not None:
                queue.add(submit(task))

    def close(self):
        self.client.close()
