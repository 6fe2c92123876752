"""nbgrader configuration for the pooling course (the repository root is the course directory).

Instructor notebooks live in ``solutions/<NN-name>/<name>.ipynb``; ``nbgrader
generate_assignment <NN-name>`` (or ``tools/release.py``) writes the student version to
``course/<NN-name>/``.  Grading folders (``submitted/``, ``autograded/``, ``feedback/``,
``gradebook.db``) are created next to this file and are git-ignored.
"""

import os

from nbclient.exceptions import DeadKernelError
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_output
from nbgrader.api import Gradebook
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    Execute,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

# Kernels started by nbgrader inherit this process's environment: TensorFlow must be quiet
# before any lesson imports it, or its start-up messages on stderr fail a test cell.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# --- course layout -------------------------------------------------------------------------
c.CourseDirectory.course_id = "pooling-layers"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store",
]

# --- what students get ---------------------------------------------------------------------
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# --- autograding ---------------------------------------------------------------------------
# A student who deletes a test cell gets it back (with its points at stake).
c.OverwriteCells.add_missing_cells = True
# Per-cell limit in seconds: every lesson runs whole in under 60 s, so one cell taking
# longer is an endless loop.  poolkit.checks stops a student's function after 20 s first,
# with a readable message.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# In-memory history (no sqlite file per kernel) and minimal tracebacks: a failing test cell
# shows the AssertionError message, not the hidden test source around it.
c.Execute.extra_arguments = [
    "--HistoryManager.hist_file=:memory:",
    "--InteractiveShell.xmode=Minimal",
]
# A cell that prints megabytes (a print in a loop) is cut, not stored in the gradebook.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40


class ExecuteSurvivingDeadKernels(Execute):
    """nbgrader's Execute, except that a kernel that dies (``os._exit``, a segfault, out of
    memory) does not throw the whole notebook away: the cell that was running and every
    cell after it get an error output, so their tests score 0 while the tests that already
    passed keep their points, and the grading batch goes on with the next student."""

    _running_index = -1

    def preprocess_cell(self, cell, resources, index):
        self._running_index = index
        return super().preprocess_cell(cell, resources, index)

    def preprocess(self, nb, resources=None, km=None):
        self._running_index = -1
        try:
            return super().preprocess(nb, resources, km)
        except DeadKernelError:
            self.log.warning("The kernel died while running cell %d; the remaining cells "
                             "are graded as failed.", self._running_index)
            start = max(self._running_index, 0)
            for cell in nb.cells[start:]:
                if cell.cell_type != "code":
                    continue
                cell.outputs.append(new_output(
                    "error", ename="DeadKernelError",
                    evalue="the kernel died before this cell finished "
                           "(os._exit, a crash or running out of memory)",
                    traceback=["DeadKernelError: the kernel died before this cell finished"],
                ))
            return nb, resources


class RepairCellMetadata(NbGraderPreprocessor):
    """Put nbgrader's cell metadata back the way the release had it, before OverwriteCells.

    A submission whose metadata was edited (a test cell unlocked, made ungraded, or given
    another grade_id) otherwise fails as a whole in nbgrader 0.9.6 ("Inconsistent
    checksums", a KeyError): the student gets no grade and the batch exits with an error.
    Here a cell whose grade_id the gradebook knows gets its recorded metadata back (so
    OverwriteCells restores its source), and a cell with an unknown grade_id becomes a plain
    cell (so the real test cell counts as deleted and ``add_missing_cells`` brings it back).
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            source_nb = gradebook.find_notebook(info["notebook"], info["assignment"])
            known = {}
            for cell in source_nb.source_cells:
                known[cell.name] = {"cell_type": cell.cell_type, "checksum": cell.checksum,
                                    "locked": cell.locked, "grade": False, "solution": False,
                                    "task": False, "grade_id": cell.name, "schema_version": 3}
            for cell in source_nb.grade_cells:
                known[cell.name].update(grade=True, points=cell.max_score)
            for cell in source_nb.solution_cells:
                known[cell.name]["solution"] = True
            for cell in source_nb.task_cells:
                known[cell.name].update(task=True, points=cell.max_score)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            if meta is None:
                continue
            grade_id = meta.get("grade_id")
            if grade_id in known:
                recorded = dict(known[grade_id])
                if recorded["checksum"] is None:
                    recorded.pop("checksum")
                # (a hidden-test cell's checksum always differs from the release's: the
                # gradebook's covers the hidden tests, so only other changes are reported)
                changed = [k for k in recorded if k != "checksum" and meta.get(k) != recorded[k]]
                if changed:
                    self.log.warning("Restoring nbgrader metadata %s of cell %s", changed, grade_id)
                cell.metadata["nbgrader"] = recorded
            else:
                self.log.warning("Dropping nbgrader metadata of unknown cell %r", grade_id)
                del cell.metadata["nbgrader"]
        return nb, resources


class IgnoreResultValues(NbGraderPreprocessor):
    """Grade test cells by errors and stderr only.

    nbgrader reads the first ``execute_result`` of a test cell as a partial score and gives
    full marks for one it cannot read as a number, before it looks at a later error.  Our
    tests never award partial credit, and a student's code can make a cell emit a result
    (an IPython ``pre_run_cell`` hook, a rebound display hook), so results in test cells are
    dropped before the grades are saved."""

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            cell.outputs = [o for o in cell.outputs if o.output_type != "execute_result"]
        return cell, resources


c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RepairCellMetadata,
    OverwriteCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    ExecuteSurvivingDeadKernels,
    IgnoreResultValues,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# --- feedback ------------------------------------------------------------------------------
# nbgrader's default feedback shows the hidden tests; students see scores, their own code
# and the failure messages, not the hidden test source.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
