"""nbgrader configuration for the pooling course (the repository root is the course directory).

Instructor notebooks live in ``solutions/<NN-name>/<name>.ipynb``; ``nbgrader
generate_assignment <NN-name>`` (or ``poolgrade release``) writes the student version to
``course/<NN-name>/``.  Grading folders (``submitted/``, ``autograded/``, ``feedback/``,
``gradebook.db``) are created next to this file and are git-ignored.
"""

import os

from poolgrade.execution.preprocessors import (
    AUTOGRADE_STEPS,
    FEEDBACK_STEPS,
    SANITIZE_STEPS,
    copy_no_links,
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
# "*.py": the lessons' jupytext sources hold the solutions and hidden tests, and a handed-in
# module has no business next to a graded notebook.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints", "*.pyc", "*.py", "__pycache__", "feedback", ".DS_Store",
]
# Handed-in symbolic links are never followed (nbgrader would copy their targets).
copy_no_links()

# --- what students get ---------------------------------------------------------------------
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# --- autograding ---------------------------------------------------------------------------
# A student who deletes a test cell gets it back (with its points at stake).
c.OverwriteCells.add_missing_cells = True
# Per-cell limit in seconds: every lesson runs whole in under 60 s, so one cell taking
# longer is an endless loop.  A call of a student's function from a test gets 20 s.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# A cell that prints megabytes (a print in a loop) is cut, not stored in the gradebook.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40

# Autograding runs the student's cells in a bubblewrap sandbox and the test cells in the
# grader's own process (poolgrade.execution.notebook); `poolgrade grade` uses the same executor.
# Without bubblewrap, nbgrader autograde refuses unless --GradingExecute.unsandboxed=True.
c.Autograde.sanitize_preprocessors = SANITIZE_STEPS
c.Autograde.autograde_preprocessors = AUTOGRADE_STEPS

# --- feedback ------------------------------------------------------------------------------
# Feedback without the hidden tests (poolgrade.execution.preprocessors).
c.GenerateFeedback.preprocessors = FEEDBACK_STEPS
