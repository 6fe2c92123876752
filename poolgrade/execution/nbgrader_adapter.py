"""Every use of nbgrader's, nbclient's and nbconvert's private parts, in one place.

The grader drives nbgrader step by step (:mod:`poolgrade.batch.course`), re-enters
nbclient's ``NotebookClient`` once per kernel (:mod:`poolgrade.execution.notebook`) and
renders feedback with a leaner HTML exporter (:mod:`poolgrade.batch.feedback`).  Each of
those leans on a name that is not public API; each such name is reached through a function
here and nowhere else, and ``tests/unit/test_nbgrader_adapter.py`` checks that every one
still exists with the shape used here in the pinned versions (``requirements.lock``).  After
upgrading nbgrader, nbclient or nbconvert, run that test first: a failure names the name
that moved.

Private names used (what the test checks):

- ``nbgrader.converters.Autograde._sanitizing``: the flag that points
  ``Autograde.init_assignment`` at ``submitted/`` (sanitize step) rather than
  ``autograded/``; the grader calls ``init_assignment`` without ``convert_notebooks``,
  which is what normally sets it;
- ``nbgrader.utils.find_all_files`` and its copy bound in ``nbgrader.converters.base``:
  what nbgrader copies a folder's other files with (wrapped to leave out symbolic links);
- ``nbconvert``'s ``ExecutePreprocessor._check_assign_resources(resources)``: stores the
  resources on the executor, as ``preprocess`` would (the grader runs its own loop);
- ``nbconvert``'s ``TemplateExporter._init_resources(resources)`` and the exporter's
  ``_nb_metadata`` dict: what ``HTMLExporter.from_notebook_node`` uses before rendering.
"""

from __future__ import annotations


# ------------------------------------------------------------------ nbgrader's Autograde
def begin_sanitizing(converter) -> None:
    """Make ``converter`` (an nbgrader ``Autograde``) read from ``submitted/`` in its next
    ``init_assignment``, as its own ``convert_notebooks`` does before the sanitize step."""
    converter._sanitizing = True


# ------------------------------------------------------------------ nbgrader's file copies
def find_all_files():
    """nbgrader's ``find_all_files(path, exclude=None) -> list[str]`` as nbgrader uses it
    now (possibly already wrapped by :func:`replace_find_all_files`)."""
    import nbgrader.utils as utils

    return utils.find_all_files


def replace_find_all_files(fn) -> None:
    """Make nbgrader copy files with ``fn`` (same signature) everywhere it copies them: in
    ``nbgrader.utils`` and in the converters' base module, which imported it by name."""
    import nbgrader.converters.base as base
    import nbgrader.utils as utils

    utils.find_all_files = fn
    base.find_all_files = fn


# ------------------------------------------------------------------ nbclient / nbconvert
def assign_resources(executor, resources: dict) -> None:
    """Store ``resources`` on an nbconvert ``ExecutePreprocessor`` (nbgrader's ``Execute``)
    as its ``preprocess`` does before running cells."""
    executor._check_assign_resources(resources)


def exporter_resources(exporter, resources: dict | None) -> dict:
    """The resources an nbconvert ``TemplateExporter`` renders with (defaults filled in)."""
    return exporter._init_resources(resources)


def exporter_notebook_metadata(exporter) -> dict:
    """The notebook metadata an nbconvert exporter hands its widget-output filter."""
    return exporter._nb_metadata
