"""Run one submission's notebooks (what the workers do, locally or on a Dask cluster).

A worker gets notebooks the parent has already sanitized (tests restored from the
gradebook) and returns them executed by :class:`~poolgrade.execution.notebook.GradingExecute`,
with what went wrong listed as ``events``.  The kernel's working folder is a fresh scratch
copy of the submission's own files and the assignment's data files, never a notebook.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field

from poolgrade.model import Event, Limits


@dataclass
class SubmissionTask:
    """Everything a worker needs to run one submission (picklable)."""

    student: str
    assignment: str
    notebooks: list[tuple[str, str]]          # (notebook name, sanitized notebook JSON)
    files: dict[str, bytes]                   # relative path -> content for the scratch folder
    limits: Limits
    answer_names: dict[str, list[str]]        # notebook -> names the tests take from it
    execute_config: dict = field(default_factory=dict)  # c.Execute.* from the course config
    unsandboxed: bool = False


@dataclass
class SubmissionRun:
    student: str
    notebooks: list[tuple[str, str]]          # (notebook name, executed notebook JSON)
    events: list[Event]
    seconds: float
    worker: str


def run_submission(task: SubmissionTask) -> SubmissionRun:
    """Execute every notebook of ``task``; never raises for anything the student's code does."""
    import nbformat

    start = time.monotonic()
    deadline = start + task.limits.submission_timeout
    events: list[Event] = []
    results = []
    for name, source in task.notebooks:
        run_root = tempfile.mkdtemp(prefix="poolkit-submission-")
        try:
            scratch = os.path.join(run_root, "scratch")
            write_files(scratch, task.files)
            executor = make_executor(task, name, scratch, deadline)
            nb = nbformat.from_dict(json.loads(source))
            resources = {"metadata": {"path": scratch},
                         "nbgrader": {"notebook": name, "assignment": task.assignment,
                                      "student": task.student}}
            nb, _ = executor.preprocess(nb, resources)
            for event in executor.events:
                event.notebook = name
                events.append(event)
            results.append((name, json.dumps(nb)))
        finally:
            shutil.rmtree(run_root, ignore_errors=True)
    return SubmissionRun(task.student, results, events, time.monotonic() - start,
                         f"{os.uname().nodename}:{os.getpid()}")


def handed_in_links(folder: str) -> set[str]:
    """Relative paths under ``folder`` that are symbolic links or lie below one.  nbgrader
    copies what a link points to, so such a file must never reach the kernel."""
    links = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                rel = os.path.relpath(full, folder)
                links.add(rel)
                if os.path.isdir(full):
                    for sub, _, files in os.walk(full, followlinks=True):
                        links.update(os.path.relpath(os.path.join(sub, f), folder)
                                     for f in files)
                        if len(links) > 10_000:
                            return links
    return links


def write_files(scratch: str, files: dict[str, bytes]) -> None:
    os.makedirs(scratch, exist_ok=True)
    for rel, content in files.items():
        path = os.path.normpath(os.path.join(scratch, rel))
        if not path.startswith(scratch + os.sep):
            continue  # a path that climbs out of the scratch folder is ignored
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)


def make_executor(task: SubmissionTask, notebook: str, scratch: str, deadline: float):
    from traitlets.config import Config

    from poolgrade.execution.notebook import GradingExecute

    config = Config()
    for key, value in task.execute_config.items():
        config.Execute[key] = value
    config.Execute.timeout = task.limits.cell_timeout
    executor = GradingExecute(config=config)
    executor.scratch = scratch
    executor.deadline = deadline
    executor.answer_names = list(task.answer_names.get(notebook, []))
    executor.unsandboxed = task.unsandboxed
    executor.memory_mb = task.limits.memory_mb
    executor.max_file_mb = task.limits.max_file_mb
    executor.scratch_mb = task.limits.scratch_mb
    executor.wall_limit = float(task.limits.submission_timeout)
    executor.max_output_bytes = task.limits.max_output_bytes
    executor.max_restarts = task.limits.max_restarts
    return executor
