"""``grade()``: one assignment, every submission, from folder or zip to gradebook, CSV, charts
and feedback.

The parent process owns the gradebook (SQLite allows one writer) and does nbgrader's
bookkeeping steps (see :mod:`poolgrade.batch.course`); the workers only run notebooks
(:mod:`poolgrade.batch.grade_one`). Every submission ends as one CSV row with a status and a
reason: a broken submission never stops the batch, and a grader failure is reported as
``error`` for that student (rerun to retry), never as 0 points.

A job that holds its worker longer than :func:`job_timeout` (the wall-clock limit plus
:data:`JOB_MARGIN`) is stopped: its worker is replaced, the student's row says ``error`` with
the reason, and the batch goes on.

Resuming: ``state.json`` in the report folder remembers, per student, a hash of everything
that can change the grade (:mod:`poolgrade.batch.resume_key`: the submitted files, the
assignment's tests, the grader's and the checks' code and data, the lesson's solutions folder,
``nbgrader_config.py``, the limits). A rerun skips students whose hash is unchanged and whose
last result was not ``error``. The state is saved after every submission, so an
interrupted run loses nothing that finished.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from poolgrade import nbmeta
from poolgrade.batch import resume_key
from poolgrade.model import Event, GradeRow, Limits, worst_status
from poolgrade.sandbox import templates

if TYPE_CHECKING:
    from poolgrade.batch.submissions import Submission

STATE_VERSION = 1
JOB_MARGIN = 120    # seconds a job may hold its worker past the submission's wall-clock limit


def job_timeout(limits: Limits, kind: str, job) -> float:
    """Seconds one job (``kind`` "run": a submission's notebooks, "feedback": one feedback
    page) may hold a worker before the engine stops it: the submission's wall-clock limit
    plus :data:`JOB_MARGIN`, which covers what may run past that limit (starting and
    stopping kernels, the one test cell that was running, within its own budget, see
    :mod:`.budget`, and rendering feedback).  Only a grader that hangs gets there."""
    return float(limits.submission_timeout + JOB_MARGIN)


@dataclass
class InProgress:
    """One submission the engine is grading, from the start of its run to its CSV row."""

    sub: Submission
    key: str                                          # its resume key (see resume_key)
    events: list[Event] = field(default_factory=list)  # what happened so far, for the CSV
    feedback_left: int = 0                            # feedback pages still being rendered


@dataclass
class Job:
    """One job in flight on a worker: running a submission (``kind`` "run", ``payload`` a
    :class:`~poolgrade.batch.grade_one.SubmissionTask`) or rendering one feedback page
    ("feedback", a :class:`~poolgrade.batch.feedback.FeedbackJob`)."""

    kind: str
    student: str
    payload: object
    tries: int = 0       # times it was started again after its worker died

    def function(self):
        """What a worker runs on ``payload``."""
        if self.kind == "run":
            from poolgrade.batch.grade_one import run_submission

            return run_submission
        from poolgrade.batch.feedback import render_feedback

        return render_feedback


@dataclass
class GradingResult:
    rows: list[GradeRow]
    graded: list[str]
    skipped: list[str]
    csv_path: str
    charts: list[str]
    summary: str
    seconds: float


def grade(assignment: str, course_dir: str = ".", submissions: str | None = None, *,
          workers: int | None = None, scheduler: str | None = None,
          limits: Limits | None = None, report_dir: str | None = None, force: bool = False,
          progress: bool = True, unsandboxed: bool = False) -> GradingResult:
    """Grade every submission of ``assignment`` in the nbgrader course at ``course_dir``.

    ``submissions``: a folder laid out as ``<student>/<assignment>/`` (default: the course's
    ``submitted/``) or a zip of one. ``workers``: local worker processes (default: cores + 2);
    ``scheduler``: address of a dask.distributed scheduler to use instead. ``report_dir``:
    where the CSV, charts and resume state go (default ``grade-reports/<assignment>``).

    ``unsandboxed``: run kernels without the OS sandbox (refused otherwise where bubblewrap
    is missing); the CSV's ``sandbox`` column records it.

    Off Linux, local workers are started with ``spawn``: a script that calls this must do so
    under ``if __name__ == "__main__":`` (notebooks and the ``poolkit`` command need nothing).
    """
    import warnings

    from poolgrade.batch import report
    from poolgrade.batch.course import Course
    from poolgrade.sandbox.bwrap import require_sandbox

    if not unsandboxed:
        require_sandbox()
    start = time.monotonic()
    limits = limits or Limits()
    _venv_on_path()
    # nbgrader's gradebook code triggers SQLAlchemy autoflush warnings that mean nothing here.
    warnings.filterwarnings("ignore", message=r"Object of type <Submitted")
    unpacked, left_out = None, []
    try:
        if submissions and os.path.isfile(submissions):
            from poolgrade.batch.submissions import unpack_zip

            unpacked = tempfile.mkdtemp(prefix="poolkit-submissions-")
            submissions, left_out = unpack_zip(submissions, assignment, unpacked)
        course = Course(course_dir, assignment, submissions)
        report_dir = os.path.abspath(report_dir or os.path.join(course.root, "grade-reports",
                                                                assignment))
        os.makedirs(report_dir, exist_ok=True)
        run = _Run(course, limits, report_dir, unsandboxed)
        rows, graded, skipped = run.grade_all(workers=workers, scheduler=scheduler, force=force,
                                              progress=progress, left_out=left_out)
        csv_path = os.path.join(report_dir, "grades.csv")
        # near-copies among all submissions (skipped ones too); never raises
        from poolgrade.batch import similarity

        pairs, similarity_note = similarity.check_class(course, run.notebooks, run.exercises)
        report.write_csv(csv_path, run.exercises, rows,
                         sandbox="none (--unsandboxed)" if unsandboxed else "bubblewrap",
                         left_out=run.left_out,
                         similar=similarity.summaries(pairs, [e.name for e in run.exercises]))
        report.write_similarity(report_dir, pairs)
        charts = report.draw_charts(report_dir, run.exercises, rows, assignment)
        _, misconception_chart = report.write_misconceptions(report_dir, run.exercises, rows,
                                                             assignment)
        charts.append(misconception_chart)
        seconds = time.monotonic() - start
        text = report.summary(assignment, run.exercises, rows, graded=len(graded),
                              skipped=len(skipped), seconds=seconds, csv_path=csv_path,
                              charts=charts, feedback_dir=course.path("feedback", "<student>"),
                              left_out=run.left_out, similar_pairs=pairs,
                              similarity_note=similarity_note)
        return GradingResult(rows, graded, skipped, csv_path, charts, text, seconds)
    finally:
        if unpacked:
            shutil.rmtree(unpacked, ignore_errors=True)


class _Run:
    def __init__(self, course, limits: Limits, report_dir: str, unsandboxed: bool):
        self.course = course
        self.unsandboxed = unsandboxed
        self.limits = limits
        self.report_dir = report_dir
        self.state_path = os.path.join(report_dir, "state.json")
        self.notebooks = course.ensure_assignment()
        self.exercises = course.exercises()
        self.max_total = sum(e.max_points for e in self.exercises)
        self._max_points = {e.name: e.max_points for e in self.exercises}
        self._exercise_of = {g: e.name for e in self.exercises for g in e.grade_ids}
        self.fingerprint = course.fingerprint()
        self.setup_digest = resume_key.inputs_digest(resume_key.grading_inputs(
            course.root, course.path("source"), course.assignment))
        self.execute_config = _execute_config(course.config)
        if not limits.cell_timeout:
            self.limits = limits = dataclasses.replace(
                limits, cell_timeout=int(self.execute_config.get("timeout") or 30))
        self.source_cells = {name: course.source_cells(name) for name in self.notebooks}
        self.order = {name: self._cell_order(name) for name in self.notebooks}
        self.answer_names = {name: course.answer_names(name) for name in self.notebooks}
        self.state = self._load_state()
        self.diagnoses: dict[str, dict[str, str]] = {}   # student -> exercise -> mistake

    # ------------------------------------------------------------------ state
    def _load_state(self) -> dict:
        try:
            with open(self.state_path) as f:
                state = json.load(f)
            if state.get("version") == STATE_VERSION:
                return state
        except (OSError, ValueError):
            pass
        return {"version": STATE_VERSION, "students": {}}

    def _save_state(self) -> None:
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f, indent=1, sort_keys=True)
        os.replace(tmp, self.state_path)

    def _key(self, submission) -> str:
        return resume_key.resume_key(submission.digest, self.fingerprint, self.setup_digest,
                                     limits=self.limits, execute_config=self.execute_config,
                                     unsandboxed=self.unsandboxed)

    def _cell_order(self, notebook: str) -> list[str]:
        import nbformat

        path = os.path.join(self.course.path("source"), f"{notebook}.ipynb")
        order = []
        if os.path.exists(path):
            for cell in nbformat.read(path, as_version=4).cells:
                grade_id = nbmeta.grade_id(cell)
                if grade_id:
                    order.append(grade_id)
        return order + sorted(g for g in self.source_cells[notebook] if g not in order)

    # ------------------------------------------------------------------ main loop
    def grade_all(self, *, workers, scheduler, force, progress, left_out=()):
        from tqdm.auto import tqdm

        from poolgrade.batch.backends import DaskBackend, LocalBackend
        from poolgrade.batch.submissions import find_submissions

        # left_out: what was not graded and is no student's (for the CSV and the summary)
        found, self.left_out = find_submissions(self.course.submissions_root,
                                                self.course.assignment, left_out)
        rows: dict[str, GradeRow] = {}
        todo, skipped = [], []
        students = self.state["students"]
        in_gradebook = self.course.graded_students()
        for sub in found:
            key = self._key(sub)
            old = students.get(sub.student)
            # skip only what is unchanged AND still in the gradebook (a gradebook that was
            # replaced or cleared gets its grades back)
            if not force and old and old.get("key") == key and old["row"]["status"] != "error" \
                    and sub.student in in_gradebook:
                row = GradeRow(**old["row"])
                # points as the gradebook has them now (an instructor may have graded the
                # written answers in the formgrader since)
                self._fill_points(row, self.course.scores(sub.student))
                rows[sub.student] = row
                skipped.append(sub.student)
            else:
                todo.append(InProgress(sub, key))
        graded = []
        if not todo:
            return list(rows.values()), graded, skipped

        if not scheduler and not self.unsandboxed:
            # started before the workers are forked: they all share the two templates
            templates.start_templates()
        backend = DaskBackend(scheduler) if scheduler else LocalBackend(workers)
        bar = tqdm(total=len(todo), unit="submission", desc=f"grading {self.course.assignment}",
                   disable=not progress, dynamic_ncols=True)

        def done(sub, row):
            rows[sub.student] = row
            graded.append(sub.student)
            bar.set_postfix_str(f"{sub.student}: {row.status}", refresh=False)
            bar.update()

        try:
            self._loop(backend, todo, done)
        except KeyboardInterrupt:
            # Ctrl-C: stop the jobs in flight now (their kernels die with their workers)
            # instead of waiting for them in close(); what finished is already saved
            backend.abandon(list(getattr(self, "_in_flight", {})))
            raise
        finally:
            bar.close()
            backend.close()
            # nothing the grading started outlives it (a next batch starts them again)
            templates.close_all()
        return list(rows.values()), graded, skipped

    def _loop(self, backend, todo: list[InProgress], done):
        """Prepare submissions as workers free up, store results as they come back.

        Two kinds of jobs go to the workers: running a submission, then rendering its
        feedback once the parent has written its scores into the gradebook. A submission is
        finished (CSV row, saved state) when its feedback is written.
        """
        from poolgrade.batch.course import describe_error

        waiting = iter(todo)
        pending: dict = {}     # future -> Job
        self._in_flight = pending
        open_subs: dict[str, InProgress] = {}   # student -> its state until its row is written
        window = 2 * backend.workers
        running = 0

        def submit(job: Job) -> None:
            pending[backend.submit(job.function(), job.payload)] = job

        def still_out(student: str) -> bool:
            return any(job.student == student for job in pending.values())

        def close(student):
            entry = open_subs.pop(student)
            done(entry.sub, self._finish(entry))

        def fill():
            nonlocal running
            while running < window:
                entry = next(waiting, None)
                if entry is None:
                    return
                try:
                    task = self._prepare(entry)
                except Exception as err:
                    task = None
                    entry.events.append(describe_error(err))
                open_subs[entry.sub.student] = entry
                if task is None:
                    close(entry.sub.student)
                    continue
                submit(Job("run", entry.sub.student, task))
                running += 1

        fill()
        while pending:
            finished = backend.wait(pending, timeout=self._until_overdue(backend, pending))
            lost = []
            for future in finished:
                job = pending.pop(future)
                entry = open_subs[job.student]
                running -= job.kind == "run"
                try:
                    result = future.result()
                except Exception as err:
                    if backend.lost(err):
                        lost.append(job)
                        continue
                    if job.kind == "run":
                        entry.events.append(describe_error(err))
                    else:
                        self._feedback_in_parent(job.payload, entry, err)
                    if entry.feedback_left == 0:
                        close(job.student)
                    continue
                try:
                    if job.kind == "run":
                        feedback_jobs = self._store(result, entry)
                        for fb in feedback_jobs:
                            submit(Job("feedback", job.student, fb))
                        entry.feedback_left = len(feedback_jobs)
                    else:
                        self.course.write_feedback(job.student, job.payload.notebook, result)
                        entry.feedback_left -= 1
                except Exception as err:
                    entry.events.append(describe_error(err))
                    if job.kind == "feedback":
                        entry.feedback_left -= 1
                if entry.feedback_left == 0:
                    close(job.student)
            if lost:
                # A worker process died (not a kernel: the worker itself), and every job in
                # flight died with it. Start new workers; try each job once more.
                lost += list(pending.values())
                pending.clear()
                backend.restart()
                for job in lost:
                    if job.tries < 1:
                        submit(dataclasses.replace(job, tries=job.tries + 1))
                        continue
                    entry = open_subs[job.student]
                    entry.events.append(Event("error", "a grading worker process died twice "
                                                       "during this submission; rerun to retry"))
                    if job.kind == "run":
                        running -= 1
                    else:
                        entry.feedback_left -= 1
                    if entry.feedback_left <= 0 and not still_out(job.student):
                        close(job.student)
            overdue = self._overdue(backend, pending)
            if overdue:
                # A job held its worker past the per-job timeout: the grader's side of it is
                # stuck.  Its student gets an error row (a rerun retries), the worker is
                # replaced, and the batch goes on.
                stuck = set()
                for future in overdue:
                    job = pending.pop(future)
                    stuck.add(job.student)
                    what = "running this submission" if job.kind == "run" else "its feedback"
                    open_subs[job.student].events.append(Event(
                        "error", f"the grader stopped {what} after its per-job timeout of "
                                 f"{job_timeout(self.limits, job.kind, job.payload):g} s (the "
                                 f"wall-clock limit plus {JOB_MARGIN} s); rerun to retry"))
                    if job.kind == "run":
                        running -= 1
                    else:
                        open_subs[job.student].feedback_left -= 1
                if backend.abandon(overdue):
                    # the other jobs in flight went down with the old workers: through no
                    # fault of theirs, so they start again without using up their retry
                    again = list(pending.values())
                    pending.clear()
                    for job in again:
                        submit(job)
                for student in stuck:
                    if open_subs[student].feedback_left <= 0 and not still_out(student):
                        close(student)
            fill()

    def _until_overdue(self, backend, pending) -> float:
        """Seconds until the first job in flight runs past its :func:`job_timeout` (a job not
        seen starting yet starts now at the earliest)."""
        now = time.monotonic()
        soonest = min((now if start is None else start)
                      + job_timeout(self.limits, pending[future].kind, pending[future].payload)
                      for future, start in backend.starts(pending).items())
        return max(0.0, soonest - now)

    def _overdue(self, backend, pending) -> list:
        """The jobs in flight that have run longer than their :func:`job_timeout`."""
        now = time.monotonic()
        return [future for future, start in backend.starts(pending).items()
                if start is not None and not future.done()
                and now - start >= job_timeout(self.limits, pending[future].kind,
                                               pending[future].payload)]

    # ------------------------------------------------------------------ per submission
    def _prepare(self, entry: InProgress):
        """Read, repair and sanitize the notebooks (parent side, uses the gradebook); the
        worker's task, or None when no notebook can run.  Adds to ``entry.events``."""

        from poolgrade.batch.grade_one import SubmissionTask
        from poolgrade.batch.repair import repair
        from poolgrade.batch.submissions import read_notebooks

        course = self.course
        sub = entry.sub
        notebooks, found_reading = read_notebooks(sub.folder, self.notebooks)
        events = entry.events
        events += [*sub.events, *found_reading]
        course.init_submission(sub.student, self.notebooks)
        ready = []
        for name, nb in notebooks.items():
            if nb is None:
                if any(e.kind == "invalid_notebook" and e.notebook == name for e in events):
                    course.mark_unreadable(sub.student, name)
                continue
            try:
                found = repair(nb, self.source_cells[name], self.order[name], name)
                nb = course.sanitize(nb, sub.student, name)
            except Exception as err:  # nbgrader refuses the notebook's grading metadata
                message = str(err).strip().splitlines()[-1][:200] if str(err).strip() else ""
                events.append(Event("invalid_notebook", f"'{name}.ipynb' has grading metadata "
                                    f"nbgrader cannot use ({type(err).__name__}: {message})",
                                    notebook=name))
                course.mark_unreadable(sub.student, name)
                continue
            events += found
            ready.append((name, json.dumps(nb)))
        if not ready:
            return None
        files, shadowing = _without_shadowing(course.copied_files(sub.student))
        events += [Event("blocked", f"the submitted file '{f}' would hide the installed module "
                                    "of the same name from the tests; it was left out")
                   for f in shadowing]
        task = SubmissionTask(student=sub.student, assignment=course.assignment, notebooks=ready,
                              files=files, limits=self.limits,
                              answer_names=self.answer_names,
                              execute_config=self.execute_config, unsandboxed=self.unsandboxed)
        return task

    def _store(self, run, entry: InProgress) -> list:
        """The worker's executed notebooks through nbgrader's steps after Execute (scores into
        the gradebook) and GetGrades; returns the feedback jobs for the workers."""
        import nbformat

        student = entry.sub.student
        entry.events.extend(run.events)
        jobs = []
        self.diagnoses[student] = {}
        for name, text in run.notebooks:
            nb = nbformat.from_dict(json.loads(text))
            self.diagnoses[student].update(self._diagnoses_in(nb))
            nb = self.course.after_execute(nb, student, name)
            jobs.append(self.course.feedback_job(nb, student, name))
        return jobs

    def _diagnoses_in(self, nb) -> dict[str, str]:
        """Exercise -> the known mistake its failing test cells named (the test harness
        wrote it into the cell's metadata); an exercise whose cells disagree gets none."""
        found: dict[str, set] = {}
        for cell in nb.cells:
            mistake = cell.metadata.get("poolkit", {}).get("diagnosis")
            grade_id = nbmeta.grade_id(cell)
            if mistake and grade_id in self._exercise_of:
                found.setdefault(self._exercise_of[grade_id], set()).add(mistake)
        return {ex: next(iter(ids)) for ex, ids in found.items() if len(ids) == 1}

    def _feedback_in_parent(self, job, entry: InProgress, err) -> None:
        """A worker failed to render feedback: try here before reporting it."""
        from poolgrade.batch.course import describe_error
        from poolgrade.batch.feedback import render_feedback

        try:
            self.course.write_feedback(job.student, job.notebook, render_feedback(job))
        except Exception:
            entry.events.append(describe_error(err))
        entry.feedback_left -= 1

    def _finish(self, entry: InProgress) -> GradeRow:
        """Feedback notes for unreadable notebooks, the CSV row, the saved state."""
        from poolgrade.batch.course import describe_error

        sub, key = entry.sub, entry.key
        events = list(entry.events)
        try:
            for name in self.notebooks:
                problem = next((e for e in events if e.notebook == name and e.kind in
                                ("missing_notebook", "invalid_notebook")), None)
                if problem is not None:
                    self.course.feedback_note(sub.student, name, problem.detail)
        except Exception as err:
            events.append(describe_error(err))
        row = self._row(sub.student, events)
        if row.status != "error":
            self.state["students"][sub.student] = {"key": key, "row": dataclasses.asdict(row)}
        else:
            self.state["students"].pop(sub.student, None)
        self._save_state()
        return row

    def _row(self, student: str, events: list[Event]) -> GradeRow:
        status = worst_status(events)
        reason = "; ".join(dict.fromkeys(e.describe() for e in events))
        row = GradeRow(student=student, max_total=self.max_total, status=status, reason=reason)
        if status == "error":
            return row
        try:
            scores = self.course.scores(student)
        except Exception as err:  # the gradebook has no submission: nothing was graded
            from poolgrade.batch.course import describe_error

            return self._row(student, [*events, describe_error(err)])
        self._fill_points(row, scores)
        # only exercises that lost points keep a diagnosis (a manual regrade may have
        # given the points back)
        row.diagnoses = {ex: mistake for ex, mistake in
                         self.diagnoses.get(student, {}).items()
                         if row.points.get(ex) is not None
                         and row.points[ex] < self._max_points[ex]}
        return row

    def _fill_points(self, row: GradeRow, scores: dict) -> None:
        """Points per exercise and total from the gradebook's scores (grade_id -> points)."""
        total = 0.0
        row.points = {}
        for ex in self.exercises:
            values = [scores.get(g) for g in ex.grade_ids]
            row.points[ex.name] = None if any(v is None for v in values) else sum(values)
            total += sum(v for v in values if v is not None)
        row.total = total


def _without_shadowing(files: dict[str, bytes]):
    """Leave out submitted files that would be imported instead of an installed module (the
    kernel's folder comes first on ``sys.path``): a ``numpy.py`` or a ``poolkit/`` folder
    handed in next to the notebook must not replace what the tests import."""
    import importlib.util

    kept, dropped = {}, []
    paths = {rel.replace(os.sep, "/") for rel in files}
    for rel, content in files.items():
        top = rel.replace(os.sep, "/").split("/")[0]
        name = top[:-3] if top.endswith(".py") else top
        # a .py file, or a folder with __init__.py (a folder without one would not win over
        # an installed package)
        is_module = top.endswith(".py") and "/" not in rel.replace(os.sep, "/") \
            or f"{top}/__init__.py" in paths
        try:
            installed = is_module and name.isidentifier() and \
                importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            installed = False
        if installed:
            dropped.append(rel)
        else:
            kept[rel] = content
    return kept, dropped


def _venv_on_path() -> None:
    """nbgrader shells out to ``alembic``: the interpreter's bin/ must be on PATH."""
    import sys

    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _execute_config(config) -> dict:
    """The course's ``c.Execute.*`` settings that the workers' Execute should also use."""
    keep = ("timeout", "startup_timeout", "extra_arguments", "interrupt_on_timeout",
            "iopub_timeout", "raise_on_iopub_timeout", "kernel_name")
    section = config.get("Execute", {}) if hasattr(config, "get") else {}
    return {k: section[k] for k in keep if k in section}
