"""Reading nbgrader's cell metadata (``cell.metadata["nbgrader"]``), in one place.

Every function takes a notebook cell (an ``nbformat.NotebookNode`` or a plain dict) and never
raises on what a submission holds: a cell without nbgrader metadata, or with metadata that is
not a mapping (a student may have edited it), reads as an ordinary cell.  nbgrader's own rules
apply: a grade cell gives points, a solution cell holds an answer, a test cell is a graded
code cell that is not a solution, and a grade cell counts as locked unless it is a solution.
"""

from __future__ import annotations

from collections.abc import Mapping


def nbgrader_meta(cell) -> Mapping:
    """The cell's nbgrader metadata, or an empty mapping (none, or not a mapping)."""
    meta = (cell.get("metadata") or {}).get("nbgrader")
    return meta if isinstance(meta, Mapping) else {}


def grade_id(cell) -> str | None:
    """The cell's nbgrader ``grade_id`` (None for an ordinary cell)."""
    return nbgrader_meta(cell).get("grade_id") or None


def is_grade_cell(cell) -> bool:
    """nbgrader gives this cell points (a test cell or a manually graded answer)."""
    return bool(nbgrader_meta(cell).get("grade"))


def is_solution_cell(cell) -> bool:
    """The cell holds a student's answer (autograded or manually graded)."""
    return bool(nbgrader_meta(cell).get("solution"))


def is_test_cell(cell) -> bool:
    """An autograded test cell: code, graded, not a solution."""
    return cell.get("cell_type") == "code" and is_grade_cell(cell) and not is_solution_cell(cell)


def is_answer_only(cell) -> bool:
    """A solution cell that gives no points itself (its test cells do)."""
    return is_solution_cell(cell) and not is_grade_cell(cell)


def points(cell) -> float:
    """The points a grade cell gives (0 for any other cell)."""
    if not is_grade_cell(cell):
        return 0.0
    try:
        return float(nbgrader_meta(cell).get("points") or 0)
    except (TypeError, ValueError):
        return 0.0


def locked(cell) -> bool:
    """nbgrader's rule: a solution cell is never locked, a grade cell always is, any other
    cell when its metadata says so."""
    if is_solution_cell(cell):
        return False
    return is_grade_cell(cell) or bool(nbgrader_meta(cell).get("locked"))


def recorded_checksum(cell) -> str | None:
    """The checksum nbgrader wrote into the cell's metadata (the release's), if any."""
    return nbgrader_meta(cell).get("checksum")
