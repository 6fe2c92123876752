"""The instructor's side of grading: the course folder, its nbgrader config and gradebook.

Everything here is nbgrader's own machinery, called step by step instead of through
``nbgrader autograde`` so that execution can happen elsewhere (worker processes, Dask):

1. ``Course.ensure_assignment``: nbgrader's ``GenerateAssignment`` fills the gradebook when the
   assignment is not in it yet (the release goes to a temporary folder: ``course/`` is left
   as it is);
2. ``Course.init_submission`` and ``Course.sanitize``: nbgrader's
   ``Autograde.init_assignment`` (student and submission rows, timestamp, data files copied
   to ``autograded/``) and the ``Autograde.sanitize_preprocessors`` (outputs cleared, test
   cells restored from the gradebook, cell types reset);
3. the workers run the notebooks (:func:`poolgrade.batch.grade_one.run_submission`);
4. ``Course.after_execute`` and ``Course.feedback_job``: the
   ``Autograde.autograde_preprocessors`` after ``Execute`` (``SaveAutoGrades`` writes the
   scores into the gradebook, late penalties, ...), the autograded notebook into
   ``autograded/``, and ``GetGrades`` for nbgrader's feedback HTML, which the workers render
   with ``ClearHiddenTests`` into ``feedback/``.
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
from dataclasses import dataclass

from poolgrade import nbmeta
from poolgrade.model import Event


class GradingSetupError(Exception):
    """The course or assignment cannot be graded at all (message says how to fix it)."""


@dataclass
class Exercise:
    """One column of the CSV: a solution cell and the test cells that grade it (or one
    manually graded answer)."""

    name: str
    grade_ids: list[str]
    max_points: float
    manual: bool = False


def load_config(root: str):
    """The course's ``nbgrader_config.py`` (if any) as a traitlets Config."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    path = os.path.join(root, "nbgrader_config.py")
    if not os.path.exists(path):
        return Config()
    return PyFileConfigLoader("nbgrader_config.py", path=root).load_config()


class Course:
    """An nbgrader course folder (the one with ``nbgrader_config.py``) and one assignment."""

    def __init__(self, root: str, assignment: str, submissions_dir: str | None = None):
        from nbgrader.coursedir import CourseDirectory

        self.root = os.path.abspath(root)
        self.assignment = assignment
        self.config = load_config(self.root)
        # What a real course needs whatever its config says: deleted test cells come back.
        self.config.OverwriteCells.add_missing_cells = True
        self.coursedir = CourseDirectory(config=self.config)
        self.coursedir.root = self.root
        self.coursedir.assignment_id = assignment
        if submissions_dir is not None:
            self.coursedir.submitted_directory = os.path.abspath(submissions_dir)
        self.db_url = self.coursedir.db_url
        self.course_id = self.coursedir.course_id

    # ---------------------------------------------------------------- paths
    def path(self, kind: str, student: str = ".") -> str:
        folder = getattr(self.coursedir, f"{kind}_directory")
        return os.path.normpath(self.coursedir.format_path(folder, student, self.assignment))

    @property
    def submissions_root(self) -> str:
        return os.path.normpath(self.coursedir.format_path(
            self.coursedir.submitted_directory, ".", "."))

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, self.course_id)

    # ---------------------------------------------------------------- assignment
    def ensure_assignment(self) -> list[str]:
        """Make sure the gradebook knows the assignment; returns its notebook names."""
        from nbgrader.api import MissingEntry

        with self.gradebook() as gb:
            try:
                names = [nb.name for nb in gb.find_assignment(self.assignment).notebooks]
            except MissingEntry:
                names = []
        if names:
            return sorted(names)
        source = self.path("source")
        if not os.path.isdir(source):
            raise GradingSetupError(
                f"Assignment '{self.assignment}' is neither in the gradebook ({self.db_url}) nor "
                f"in the source folder ({source}). Check the assignment name, or run "
                f"`nbgrader generate_assignment {self.assignment}` in {self.root}.")
        self._generate_into_gradebook()
        with self.gradebook() as gb:
            names = sorted(nb.name for nb in gb.find_assignment(self.assignment).notebooks)
        if not names:
            raise GradingSetupError(f"Assignment '{self.assignment}' has no notebooks in {source}.")
        return names

    def _generate_into_gradebook(self) -> None:
        """nbgrader generate_assignment, writing the release to a temporary folder."""
        from nbgrader.converters import GenerateAssignment
        from nbgrader.coursedir import CourseDirectory

        with tempfile.TemporaryDirectory(prefix="poolkit-release-") as release:
            coursedir = CourseDirectory(config=self.config)
            coursedir.root = self.root
            coursedir.release_directory = release
            coursedir.assignment_id = self.assignment
            converter = GenerateAssignment(coursedir=coursedir, config=self.config)
            converter.log.setLevel("ERROR")
            try:
                converter.start()
            except Exception as err:  # nbgrader's own message says what is wrong
                raise GradingSetupError(
                    f"nbgrader could not generate '{self.assignment}' from {self.path('source')}"
                    f": {err}") from err

    def fingerprint(self) -> str:
        """Changes when the tests or points of the assignment change (forces a regrade)."""
        import hashlib

        digest = hashlib.sha256()
        with self.gradebook() as gb:
            assignment = gb.find_assignment(self.assignment)
            for nb in sorted(assignment.notebooks, key=lambda n: n.name):
                for cell in sorted(nb.source_cells, key=lambda c: c.name):
                    digest.update(f"{nb.name}/{cell.name}/{cell.checksum}/".encode())
                for cell in sorted(nb.grade_cells, key=lambda c: c.name):
                    digest.update(f"{cell.name}={cell.max_score};".encode())
        return digest.hexdigest()

    def exercises(self) -> list[Exercise]:
        """CSV columns: each solution cell with its test cells, and each manual answer.

        Test cells are matched by the course's naming rule ``test_<exercise>_<suffix>``, else
        to the solution cell before them in the source notebook.
        """
        import nbformat

        with self.gradebook() as gb:
            assignment = gb.find_assignment(self.assignment)
            max_points = {}
            solutions, manual = [], []
            for nb in assignment.notebooks:
                for cell in nb.grade_cells:
                    max_points[cell.name] = float(cell.max_score)
                for cell in nb.solution_cells:
                    solutions.append(cell.name)
                for cell in nb.grade_cells:
                    if cell.name in {c.name for c in nb.solution_cells}:
                        manual.append(cell.name)
            notebook_names = sorted(nb.name for nb in assignment.notebooks)

        order: list[str] = []
        previous: dict[str, str] = {}
        for name in notebook_names:
            path = os.path.join(self.path("source"), f"{name}.ipynb")
            if not os.path.exists(path):
                continue
            last = None
            for cell in nbformat.read(path, as_version=4).cells:
                grade_id = nbmeta.grade_id(cell)
                if grade_id is None:
                    continue
                order.append(grade_id)
                if grade_id in solutions:
                    last = grade_id
                elif last is not None:
                    previous[grade_id] = last
        rank = {gid: i for i, gid in enumerate(order)}

        autograded = [s for s in solutions if s not in manual]
        groups: dict[str, list[str]] = {}
        for grade_id in sorted(max_points, key=lambda g: (rank.get(g, len(rank)), g)):
            if grade_id in manual:
                groups[grade_id] = [grade_id]
                continue
            owner = None
            for sol in sorted(autograded, key=len, reverse=True):
                if grade_id == f"test_{sol}" or grade_id.startswith(f"test_{sol}_"):
                    owner = sol
                    break
            owner = owner or previous.get(grade_id) or grade_id
            groups.setdefault(owner, []).append(grade_id)
        return [Exercise(name, ids, sum(max_points[i] for i in ids), manual=name in manual)
                for name, ids in sorted(groups.items(),
                                        key=lambda kv: min(rank.get(g, len(rank))
                                                           for g in kv[1]))]

    # ---------------------------------------------------------------- per submission
    def autograde_converter(self):
        from nbgrader.converters import Autograde

        if getattr(self, "_autograde", None) is None:
            self._autograde = Autograde(coursedir=self.coursedir, config=self.config)
            self._autograde.log.setLevel("ERROR")
        return self._autograde

    def init_submission(self, student: str, notebook_names: list[str]) -> None:
        """nbgrader's Autograde.init_assignment: gradebook rows, timestamp, data files."""
        from poolgrade.execution.nbgrader_adapter import begin_sanitizing

        converter = self.autograde_converter()
        begin_sanitizing(converter)
        dest = self.path("autograded", student)
        if os.path.isdir(dest):
            _make_writable(dest)
        submitted = self.path("submitted", student)
        converter.notebooks = [os.path.join(submitted, f"{n}.ipynb") for n in notebook_names]
        converter.init_assignment(self.assignment, student)

    def resources(self, student: str, notebook: str) -> dict:
        return {"unique_key": notebook, "output_files_dir": f"{notebook}_files",
                "nbgrader": {"student": student, "assignment": self.assignment,
                             "notebook": notebook, "db_url": self.db_url}}

    def _preprocessors(self, classes):
        return [cls(config=self.config) for cls in classes]

    def sanitize(self, nb, student: str, notebook: str):
        """Autograde's sanitize preprocessors (ClearOutput, OverwriteCells, ...)."""
        converter = self.autograde_converter()
        resources = self.resources(student, notebook)
        for pp in self._preprocessors(converter.sanitize_preprocessors):
            nb, resources = pp(nb, resources)
        _add_missing_ids(nb)
        return nb

    def after_execute(self, nb, student: str, notebook: str):
        """Autograde's preprocessors after Execute: scores into the gradebook (SaveAutoGrades)
        and the autograded notebook into ``autograded/``."""
        import nbformat
        from nbgrader.preprocessors import Execute

        converter = self.autograde_converter()
        classes = list(converter.autograde_preprocessors)
        # Everything after the Execute step (the course may use a subclass of it).
        runs = [i for i, cls in enumerate(classes) if issubclass(cls, Execute)]
        after = classes[runs[-1] + 1:] if runs else classes
        resources = self.resources(student, notebook)
        for pp in self._preprocessors(after):
            nb, resources = pp(nb, resources)
        dest = self.path("autograded", student)
        os.makedirs(dest, exist_ok=True)
        target = os.path.join(dest, f"{notebook}.ipynb")
        if os.path.exists(target):
            os.chmod(target, 0o644)
        nbformat.write(nb, target)
        return nb

    def mark_unreadable(self, student: str, notebook: str) -> None:
        """A notebook nbgrader cannot read: 0 points for now, flagged for manual grading."""
        with self.gradebook() as gb:
            submission = gb.find_submission_notebook(notebook, self.assignment, student)
            for grade in submission.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = True
            gb.db.commit()

    def feedback_job(self, nb, student: str, notebook: str):
        """nbgrader's GetGrades (scores from the gradebook into the notebook) and what a worker
        needs to turn it into feedback HTML (:func:`poolgrade.batch.feedback.render_feedback`)."""
        import json

        from nbgrader.preprocessors import GetGrades

        from poolgrade.batch.feedback import FeedbackJob

        resources = self.resources(student, notebook)
        nb, resources = GetGrades(config=self.config)(nb, resources)
        return FeedbackJob(student, notebook, json.dumps(nb), resources["nbgrader"])

    def write_feedback(self, student: str, notebook: str, body: str) -> str:
        return self._write_feedback(student, notebook, body)

    def feedback_note(self, student: str, notebook: str, message: str) -> str:
        """A short feedback page for a notebook that could not be graded."""
        body = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
                f"{html.escape(notebook)}</title></head><body><h1>{html.escape(notebook)}</h1>"
                f"<p>{html.escape(message)}</p><p>Your instructor has been told; please talk to "
                "them about resubmitting.</p></body></html>")
        return self._write_feedback(student, notebook, body)

    def _write_feedback(self, student, notebook, body):
        dest = self.path("feedback", student)
        os.makedirs(dest, exist_ok=True)
        target = os.path.join(dest, f"{notebook}.html")
        with open(target, "w", encoding="utf-8") as f:
            f.write(body)
        return target

    def graded_students(self) -> set[str]:
        """Students whose submission of this assignment has scores in the gradebook."""
        with self.gradebook() as gb:
            assignment = gb.find_assignment(self.assignment)
            return {sub.student.id for sub in assignment.submissions
                    if any(g.auto_score is not None for nb in sub.notebooks for g in nb.grades)}

    def scores(self, student: str) -> dict[str, float | None]:
        """grade_id -> points in the gradebook (manual score if an instructor set one)."""
        with self.gradebook() as gb:
            submission = gb.find_submission(self.assignment, student)
            result = {}
            for nb in submission.notebooks:
                for grade in nb.grades:
                    score = grade.manual_score if grade.manual_score is not None \
                        else grade.auto_score
                    result[grade.name] = None if score is None else float(score)
            return result

    def source_cells(self, notebook: str) -> dict:
        """grade_id -> (cell_type, locked, checksum, is_grade, is_solution) from the gradebook."""
        with self.gradebook() as gb:
            nb = gb.find_notebook(notebook, self.assignment)
            grade_ids = {c.name for c in nb.grade_cells}
            solution_ids = {c.name for c in nb.solution_cells}
            return {c.name: (c.cell_type, bool(c.locked), c.checksum, c.name in grade_ids,
                             c.name in solution_ids) for c in nb.source_cells}

    def answer_names(self, notebook: str) -> list[str]:
        """Names the test cells take from the student's kernel (what solutions define)."""
        from poolgrade.execution.notebook import answer_names_from_gradebook

        return answer_names_from_gradebook(self.db_url, notebook, self.assignment)

    def copied_files(self, student: str) -> dict[str, bytes]:
        """The non-notebook files nbgrader put in ``autograded/<student>/<assignment>/``:
        the student's own files, overwritten by the assignment's data files, except what
        the student handed in as a symbolic link (nbgrader copies the link's target, which
        could be any file the grader can read)."""
        from poolgrade.batch.grade_one import handed_in_links

        links = handed_in_links(self.path("submitted", student))
        dest = self.path("autograded", student)
        files = {}
        for dirpath, dirnames, filenames in os.walk(dest):
            dirnames[:] = [d for d in dirnames if d != ".ipynb_checkpoints"]
            for name in filenames:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, dest)
                if name.endswith(".ipynb") or os.path.islink(full) or rel in links:
                    continue
                with open(full, "rb") as f:
                    files[os.path.relpath(full, dest)] = f.read()
        return files


def _add_missing_ids(nb) -> None:
    """Cells nbgrader re-adds (deleted test cells) have no id; nbformat 4.5 wants one."""
    from nbformat.corpus.words import generate_corpus_id

    if (nb.nbformat, nb.nbformat_minor) >= (4, 5):
        for cell in nb.cells:
            if "id" not in cell:
                cell["id"] = generate_corpus_id()


def _make_writable(folder: str) -> None:
    """nbgrader leaves autograded files read-only (444); a regrade must replace them."""
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            try:
                os.chmod(os.path.join(dirpath, name), 0o644)
            except OSError:
                pass


def remove_tree(folder: str) -> None:
    if os.path.isdir(folder):
        _make_writable(folder)
        shutil.rmtree(folder, ignore_errors=True)


def describe_error(err: BaseException) -> Event:
    text = str(err).strip().splitlines()
    message = text[-1] if text else ""
    return Event("error", f"grader error {type(err).__name__}: {message[:300]}")
