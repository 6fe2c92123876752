"""Grade nbgrader submissions in parallel and safely: ``poolgrade grade`` on the command line.

``grade(assignment, course_dir, submissions, workers=..., scheduler=...)`` returns a
:class:`~poolgrade.batch.engine.GradingResult`. Modules:

- ``course``: nbgrader's gradebook, autograde and feedback steps for one course folder;
- ``submissions``: finding and reading submissions (folder or zip), bad input as events;
- ``repair``: what a student did to the graded cells, before nbgrader restores them;
- ``execute``: running one submission in sandboxed kernels (what the workers do);
- ``sandbox``: the kernel launcher that applies memory, time, file and network limits;
- ``backends``: local worker processes or a Dask cluster;
- ``report``: the CSV, the charts and the summary.
"""

from poolgrade.model import STATUSES, Event, GradeRow, Limits


def grade(*args, **kwargs):
    from poolgrade.batch.engine import grade as _grade

    return _grade(*args, **kwargs)


grade.__doc__ = "Grade every submission of an assignment; see poolgrade.batch.engine.grade."

__all__ = ["grade", "Limits", "Event", "GradeRow", "STATUSES"]
