"""What a student did to the graded cells, found before nbgrader restores them.

nbgrader's sanitize step (``OverwriteCells`` with ``add_missing_cells``) already puts edited
test cells back, re-adds deleted ones and turns retyped cells back into code, but it does so
silently, and a renamed ``grade_id`` makes the whole submission fail. This module compares the
submission with the gradebook's copy of the source cells so that

- every restoration shows up as an event (and so in the CSV's status and reason);
- a renamed ``grade_id`` is given back when it can be matched to exactly one missing cell of
  the same kind (else the cell is treated as an ordinary cell, and nbgrader re-adds the
  test cell it replaced);
- a deleted solution cell comes back empty, so nbgrader can place the test cells after it.

``source_cells`` is :meth:`poolgrade.batch.course.Course.source_cells`: grade_id ->
``(cell_type, locked, checksum, is_grade, is_solution)``.
"""

from __future__ import annotations

import copy
import difflib

from poolgrade import nbmeta
from poolgrade.model import Event


def repair(nb, source_cells: dict, order: list[str], notebook: str) -> list[Event]:
    """Fix ``nb`` in place where nbgrader cannot, and list what nbgrader will restore."""
    from nbgrader.utils import compute_checksum

    events: list[Event] = []
    present = {}
    unknown = []
    for index, cell in enumerate(nb.cells):
        grade_id = _grade_id(cell)
        if grade_id is None:
            continue
        if grade_id in source_cells and grade_id not in present:
            present[grade_id] = index
        elif grade_id not in source_cells:
            unknown.append(index)

    missing = [g for g in order if g in source_cells and g not in present]
    for index in unknown:
        cell = nb.cells[index]
        old = _grade_id(cell)
        kind = (nbmeta.is_grade_cell(cell), nbmeta.is_solution_cell(cell))
        candidates = [g for g in missing if source_cells[g][3:5] == kind]
        match = candidates[0] if len(candidates) == 1 else _closest(old, candidates)
        if match is not None:
            cell.metadata["nbgrader"]["grade_id"] = match
            missing.remove(match)
            present[match] = index
            events.append(Event("grade_id_restored", f"cell {index} had its grade_id changed "
                                f"from '{match}' to '{old}'; restored", notebook=notebook,
                                cell=index, grade_id=match))
        else:
            del cell.metadata["nbgrader"]
            events.append(Event("grade_id_unknown", f"cell {index} has the unknown grade_id "
                                f"'{old}'; graded as an ordinary cell", notebook=notebook,
                                cell=index))

    for grade_id in missing:
        cell_type, locked, checksum, is_grade, is_solution = source_cells[grade_id]
        if is_grade:
            what = "test cell" if not is_solution else "answer cell"
            events.append(Event("test_deleted", f"{what} '{grade_id}' was deleted; restored",
                                notebook=notebook, grade_id=grade_id))
        elif is_solution:
            _insert_empty_solution(nb, grade_id, cell_type, order, present)
            events.append(Event("test_deleted", f"solution cell '{grade_id}' was deleted; an "
                                "empty one was put back", notebook=notebook, grade_id=grade_id))

    for grade_id, index in present.items():
        cell = nb.cells[index]
        cell_type, locked, checksum, is_grade, is_solution = source_cells[grade_id]
        if cell.cell_type != cell_type:
            events.append(Event("cell_type_restored", f"cell '{grade_id}' was changed to "
                                f"{cell.cell_type}; changed back to {cell_type}",
                                notebook=notebook, cell=index, grade_id=grade_id))
        # The release copy of a test cell lacks its hidden tests, so its checksum is the one
        # the release wrote into the cell's metadata, not the gradebook's.
        released = nbmeta.recorded_checksum(cell)
        if locked and _checksum_as(cell, cell_type, compute_checksum) not in (checksum, released):
            events.append(Event("test_edited", f"locked cell '{grade_id}' was edited; restored "
                                "from the gradebook", notebook=notebook, cell=index,
                                grade_id=grade_id))
    return events


def _grade_id(cell):
    return nbmeta.grade_id(cell)


def _closest(name, candidates):
    close = difflib.get_close_matches(name or "", candidates, n=2, cutoff=0.6)
    if len(close) == 1 or (len(close) == 2 and
                           difflib.SequenceMatcher(None, name, close[0]).ratio() >
                           difflib.SequenceMatcher(None, name, close[1]).ratio() + 0.1):
        return close[0]
    return None


def _checksum_as(cell, cell_type, compute_checksum):
    """nbgrader's checksum of ``cell`` as if it still had its original type."""
    probe = copy.deepcopy(cell)
    if probe.cell_type != cell_type:
        probe.cell_type = cell_type
        if cell_type == "code":
            probe["outputs"], probe["execution_count"] = [], None
        else:
            probe.pop("outputs", None)
            probe.pop("execution_count", None)
    return compute_checksum(probe)


def _insert_empty_solution(nb, grade_id, cell_type, order, present):
    from nbformat.v4 import new_code_cell, new_markdown_cell

    meta = {"nbgrader": {"grade": False, "grade_id": grade_id, "locked": False,
                         "schema_version": 3, "solution": True, "task": False}}
    source = "# This answer cell was missing from the submission."
    cell = new_code_cell(source, metadata=meta) if cell_type == "code" \
        else new_markdown_cell(source, metadata=meta)
    # Put it right after the closest graded cell that comes before it in the source.
    position = 0
    for earlier in reversed(order[:order.index(grade_id)] if grade_id in order else []):
        if earlier in present:
            position = present[earlier] + 1
            break
    nb.cells.insert(position, cell)
    for key, index in present.items():
        if index >= position:
            present[key] = index + 1
    present[grade_id] = position
