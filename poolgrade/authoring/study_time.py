"""How long a lesson's core path takes a median student, by a stated measure.

The measure (the README's lessons table quotes it):

- prose: the words of the markdown cells, read at ``WORDS_PER_MINUTE``;
- lecture code: ``MINUTES_PER_CODE_CELL`` for each code cell that is not part of an exercise
  (to run it and read what it prints);
- exercises: ``MINUTES_PER_POINT`` for each point a graded cell gives.

The core path is the lesson without its optional material: a section whose heading starts
with "Going further" (up to the next heading of the same or a higher level) and the references
are not counted.  The figures are a model, not a timing of students: the per-point figure is
an assumption that the student trials' tries per exercise can contradict, not a measurement.

    poolgrade study-time                 every released lesson, and the total
    poolgrade study-time 03-...          one lesson
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from poolgrade.nbmeta import is_grade_cell, nbgrader_meta

WORDS_PER_MINUTE = 200
MINUTES_PER_CODE_CELL = 1.0
MINUTES_PER_POINT = 3.0
CORE_PATH_LIMIT_MINUTES = 360       # issue 18: six hours at most for the six lessons

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_OPTIONAL = re.compile(r"^(going further|references)\b", re.IGNORECASE)


@dataclass(frozen=True)
class StudyTime:
    """One lesson's core path, measured."""

    lesson: str
    words: int
    code_cells: int
    points: float

    @property
    def reading_minutes(self) -> float:
        return self.words / WORDS_PER_MINUTE

    @property
    def code_minutes(self) -> float:
        return self.code_cells * MINUTES_PER_CODE_CELL

    @property
    def exercise_minutes(self) -> float:
        return self.points * MINUTES_PER_POINT

    @property
    def minutes(self) -> float:
        return self.reading_minutes + self.code_minutes + self.exercise_minutes


def _headings(source: str) -> list[tuple[int, str]]:
    found = []
    for line in source.splitlines():
        match = _HEADING.match(line.strip())
        if match:
            found.append((len(match.group(1)), match.group(2).strip()))
    return found


def core_cells(cells: list) -> list:
    """The cells of the core path: ``cells`` without the optional sections (see module)."""
    kept, optional_level = [], None
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            for level, title in _headings(cell.get("source", "")):
                if optional_level is not None and level <= optional_level:
                    optional_level = None
                if optional_level is None and _OPTIONAL.match(title):
                    optional_level = level
        if optional_level is None:
            kept.append(cell)
    return kept


def measure(notebook_path: str | Path, lesson: str | None = None) -> StudyTime:
    """Measure the core path of one (release or solution) notebook."""
    notebook = nbformat.read(str(notebook_path), as_version=4)
    words = code_cells = 0
    points = 0.0
    for cell in core_cells(notebook.cells):
        if cell.cell_type == "markdown":
            words += len(cell.source.split())
        elif cell.cell_type == "code" and not nbgrader_meta(cell):
            code_cells += 1
        if is_grade_cell(cell):
            points += float(nbgrader_meta(cell).get("points") or 0)
    return StudyTime(lesson or Path(notebook_path).parent.name, words, code_cells, points)


def course_study_times(course_dir: str | Path = "course") -> list[StudyTime]:
    """Every released lesson under ``course_dir``, in lesson order."""
    return [measure(path) for path in sorted(Path(course_dir).glob("*/*.ipynb"))]


def format_table(times: list[StudyTime]) -> str:
    lines = [f"{'lesson':<40} {'words':>6} {'read':>5} {'cells':>5} {'points':>6} "
             f"{'exercises':>9} {'total':>6}"]
    for t in times:
        lines.append(f"{t.lesson:<40} {t.words:>6} {t.reading_minutes:>5.0f} {t.code_cells:>5} "
                     f"{t.points:>6g} {t.exercise_minutes:>9.0f} {t.minutes:>6.0f}")
    total = sum(t.minutes for t in times)
    lines.append(f"{'core path, all lessons':<40} {'':>6} {'':>5} {'':>5} {'':>6} {'':>9} "
                 f"{total:>6.0f}  (limit {CORE_PATH_LIMIT_MINUTES} min)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="poolgrade study-time",
        description=f"Minutes of each lesson's core path: words at {WORDS_PER_MINUTE} per "
                    f"minute, {MINUTES_PER_CODE_CELL:g} min per lecture code cell, "
                    f"{MINUTES_PER_POINT:g} min per exercise point; 'Going further' sections "
                    "and references not counted.")
    parser.add_argument("lessons", nargs="*", help="lesson folders (default: all of course/)")
    parser.add_argument("--course-dir", default="course", help="released lessons (default: course)")
    args = parser.parse_args(argv)
    times = course_study_times(args.course_dir)
    if args.lessons:
        times = [t for t in times if t.lesson in args.lessons]
        if not times:
            parser.error(f"no released lesson named {', '.join(args.lessons)} in {args.course_dir}")
    print(format_table(times))
    return 0
