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
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    Execute,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
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
    ".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store", "*.png.tmp",
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
