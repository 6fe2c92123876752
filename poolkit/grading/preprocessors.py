"""nbgrader preprocessors of the course, one job each; ``nbgrader_config.py`` imports them.

- :class:`RepairCellMetadata`: puts edited grading metadata back before ``OverwriteCells``;
- :class:`ClearHiddenTestsInTests`: nbgrader's ``ClearHiddenTests`` for the feedback, applied
  to test cells only, so an answer that merely contains the marker text cannot break it;
- :class:`~poolkit.grading.executor.GradingExecute` (re-exported): the grading executor.
"""

from __future__ import annotations

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.api import Gradebook
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from .executor import GradingExecute, is_test_cell

__all__ = ["AUTOGRADE_STEPS", "FEEDBACK_STEPS", "SANITIZE_STEPS", "ClearHiddenTestsInTests",
           "GradingExecute", "RepairCellMetadata", "copy_no_links"]


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


class ClearHiddenTestsInTests(ClearHiddenTests):
    """Remove hidden test regions from test cells, and only from them: the marker text in a
    student's answer (a comment, a string) is the student's text, not a hidden test."""

    def preprocess_cell(self, cell, resources, cell_index):
        if not is_test_cell(cell):
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)


def copy_no_links() -> None:
    """Make nbgrader skip symbolic links when it copies a folder's other files.

    nbgrader copies a handed-in link's *target* (``notes.txt -> /etc/shadow`` or
    ``-> ../../gradebook.db`` would become a readable file next to the student's notebook),
    and a link loop stops it with an error.  Its copies go through ``find_all_files``; this
    wraps it (in ``nbgrader.utils`` and the converters that imported it) to leave out links
    and whatever lies below a linked folder.  Called by the course's nbgrader_config.py.
    """
    import nbgrader.converters.base as base
    import nbgrader.utils as utils

    original = utils.find_all_files
    if getattr(original, "skips_links", False):
        return

    def find_all_files(path, exclude=None):
        root = os.path.realpath(path)
        kept = []
        for name in original(path, exclude):
            if os.path.islink(name):
                continue
            real = os.path.realpath(name)
            if real != os.path.join(root, os.path.relpath(name, path)):
                continue   # below a linked folder
            kept.append(name)
        return kept

    find_all_files.skips_links = True
    utils.find_all_files = find_all_files
    base.find_all_files = find_all_files


# The course's nbgrader steps (nbgrader_config.py sets them; so do test courses).
SANITIZE_STEPS = [ClearOutput, DeduplicateIds, OverwriteKernelspec, RepairCellMetadata,
                  OverwriteCells, CheckCellMetadata]
AUTOGRADE_STEPS = [GradingExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                   SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
# nbgrader's default feedback shows the hidden tests; students see scores, their own code
# and the failure messages, not the hidden test source.
FEEDBACK_STEPS = [GetGrades, ClearHiddenTestsInTests, CSSHTMLHeaderPreprocessor]
