"""What the instructor reads: the CSV, two charts and a summary.

- ``grades.csv``: one row per student: points per exercise, total, status, reason and the
  known mistakes diagnosed in failed exercises (``exercise: mistake; ...``) and the answers
  that are near-copies of another's or of the course's or package's code
  (``similar_answers``, see :mod:`poolgrade.batch.similarity`);
- ``similarity.csv``: each such pair, with its similarity, for the instructor to judge;
- ``misconceptions.csv`` and ``misconceptions.png``: per autograded exercise, how many
  students got it right, held each known mistake, or failed it in a way no known mistake
  explains (``undiagnosed``), as counts and as a stacked bar per exercise;
- ``score_histogram.png``: how the class's totals are spread;
- ``pass_rates.png``: the share of students with full points on each exercise, so the
  exercise the class struggled with stands out.

Both CSVs hold text that comes from students (ids from folder or zip entry names, file names
in the reasons), and a spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@``
as a formula. Every such cell is written with a single quote in front (the usual defence, the
one OWASP describes); :func:`read_csv` takes it off again. Numbers are written as they are.
"""

from __future__ import annotations

import csv
import os
import re
import statistics
from collections import Counter

from poolgrade.model import STATUSES, GradeRow

# Statuses whose points are not the student's work being graded: left out of averages/charts.
NOT_GRADED = {"missing_notebook", "invalid_notebook", "error"}


# A cell whose text starts with one of these is a formula (or becomes one) in Excel,
# LibreOffice or Google Sheets, also after leading blanks (tab, carriage return, space) that
# some of them drop first, and in their full-width forms that some locales accept.
_FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def spreadsheet_safe(value) -> str:
    """``value`` as a CSV cell no spreadsheet runs: text that starts like a formula gets a
    single quote in front; a plain number (``-1.5`` included) is left as it is.  Text that
    already starts with a quote gets one more, so :func:`from_spreadsheet_safe` is exact."""
    text = "" if value is None else str(value)
    if _NUMBER.fullmatch(text):
        return text
    if text.startswith("'") or text.lstrip().startswith(_FORMULA_STARTS) \
            or text[:1] in ("\t", "\r"):
        return "'" + text
    return text


def from_spreadsheet_safe(cell: str) -> str:
    """The value :func:`spreadsheet_safe` was given."""
    return cell[1:] if cell.startswith("'") else cell


def _safe(cells) -> list[str]:
    return [spreadsheet_safe(cell) for cell in cells]


def write_csv(path: str, exercises, rows: list[GradeRow], sandbox: str = "bubblewrap",
              left_out=(), similar: dict[str, str] | None = None) -> None:
    """One row per student; ``sandbox`` says how the kernels were isolated.  Each of
    ``left_out`` (:class:`~poolgrade.batch.submissions.LeftOut`: zip entries, files, folders
    that were in no student's folder) gets a row of its own first, with an empty ``student``,
    status ``left_out`` and the reason.  ``similar``: student -> their ``similar_answers``
    cell (:func:`poolgrade.batch.similarity.summaries`)."""
    similar = similar or {}
    names = [e.name for e in exercises]
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(_safe(["student", *names, "total", "max_total", "status", "reason",
                               "diagnosis", "similar_answers", "sandbox"]))
        for item in left_out:
            writer.writerow(_safe(["", *([""] * len(names)), "", "", "left_out",
                                   item.describe(), "", "", sandbox]))
        for row in sorted(rows, key=lambda r: r.student):
            diagnosis = "; ".join(f"{ex}: {row.diagnoses[ex]}" for ex in names
                                  if ex in row.diagnoses)
            writer.writerow(_safe([row.student, *(_fmt(row.points.get(n)) for n in names),
                                   _fmt(row.total), _fmt(row.max_total), row.status,
                                   row.reason, diagnosis, similar.get(row.student, ""),
                                   sandbox]))
    os.replace(tmp, path)


def write_similarity(folder: str, pairs) -> str:
    """``similarity.csv``: one row per near-copy
    (:class:`~poolgrade.batch.similarity.SimilarPair`), most similar first within each
    exercise: ``exercise, student, other, other_is, similarity`` where ``other_is`` is
    ``student`` or ``source`` (a course notebook or a package file).  Returns its path."""
    path = os.path.join(folder, "similarity.csv")
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(_safe(["exercise", "student", "other", "other_is", "similarity"]))
        for pair in pairs:
            writer.writerow(_safe([pair.exercise, pair.student, pair.other,
                                   "source" if pair.source else "student",
                                   f"{pair.similarity:.3f}"]))
    os.replace(tmp, path)
    return path


def read_csv(path: str) -> list[dict]:
    """The rows of a CSV written here, as dicts by header, every cell as it was before
    :func:`spreadsheet_safe` escaped it."""
    def unescape(value):
        return from_spreadsheet_safe(value) if isinstance(value, str) else value

    with open(path, newline="", encoding="utf-8") as f:
        return [{unescape(k): unescape(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _fmt(value) -> str:
    if value is None:
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.2f}"


def pass_rates(exercises, rows: list[GradeRow]) -> dict[str, float]:
    """Exercise -> share of graded students with full points on it (autograded ones only)."""
    graded = [r for r in rows if r.status not in NOT_GRADED]
    rates = {}
    for ex in exercises:
        if ex.manual or not graded:
            continue
        full = sum(1 for r in graded
                   if r.points.get(ex.name) is not None and r.points[ex.name] >= ex.max_points)
        rates[ex.name] = full / len(graded)
    return rates


def draw_charts(folder: str, exercises, rows: list[GradeRow], title: str) -> list[str]:
    """Write the histogram and the pass-rate chart (matplotlib, Agg); returns their paths."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    totals = [r.total for r in rows if r.status not in NOT_GRADED and r.total is not None]
    max_total = max((r.max_total for r in rows), default=0) or 1
    paths = []

    fig = Figure(figsize=(7, 4), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    bins = max(5, min(20, int(max_total) + 1))
    ax.hist(totals, bins=bins, range=(0, max_total), color="#4C72B0", edgecolor="white")
    ax.set_xlabel(f"total points (out of {max_total:g})")
    ax.set_ylabel("students")
    ax.set_title(f"{title}: scores of {len(totals)} graded submissions")
    if totals:
        mean = statistics.fmean(totals)
        ax.axvline(mean, color="#C44E52", linestyle="--", label=f"mean {mean:.1f}")
        ax.legend()
    fig.tight_layout()
    paths.append(os.path.join(folder, "score_histogram.png"))
    fig.savefig(paths[-1])

    rates = pass_rates(exercises, rows)
    fig = Figure(figsize=(7, 0.5 * len(rates) + 1.6), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    names = list(rates)[::-1]
    values = [100 * rates[n] for n in names]
    colors = ["#C44E52" if v < 50 else "#DD8452" if v < 80 else "#55A868" for v in values]
    ax.barh(names, values, color=colors)
    for y, v in enumerate(values):
        ax.text(min(v + 1, 92), y, f"{v:.0f}%", va="center")
    ax.set_xlim(0, 100)
    ax.set_xlabel("students with full points (%)")
    ax.set_title(f"{title}: pass rate per exercise")
    fig.tight_layout()
    paths.append(os.path.join(folder, "pass_rates.png"))
    fig.savefig(paths[-1])
    return paths


def summary(assignment: str, exercises, rows: list[GradeRow], *, graded: int, skipped: int,
            seconds: float, csv_path: str, charts: list[str], feedback_dir: str,
            left_out=(), similar_pairs=None, similarity_note: str = "") -> str:
    """The text printed after grading.  ``similar_pairs``: the near-copies found (None: the
    check was not run); ``similarity_note``: why it could not run, if it failed."""
    counts = Counter(r.status for r in rows)
    totals = [r.total for r in rows if r.status not in NOT_GRADED and r.total is not None]
    max_total = max((r.max_total for r in rows), default=0)
    lines = [f"Graded {graded} submission(s) of {assignment} in {seconds:.1f} s"
             + (f"; {skipped} unchanged since the last run were skipped." if skipped else ".")]
    lines.append("Status: " + ", ".join(f"{s} {counts[s]}" for s in STATUSES if counts[s]))
    if totals:
        lines.append(f"Scores: mean {statistics.fmean(totals):.2f}, median "
                     f"{statistics.median(totals):g}, min {min(totals):g}, max {max(totals):g} "
                     f"(out of {max_total:g}).")
    rates = pass_rates(exercises, rows)
    if rates:
        hardest = min(rates, key=rates.get)
        lines.append(f"Hardest exercise: {hardest} ({100 * rates[hardest]:.0f}% full points); "
                     + ", ".join(f"{k} {100 * v:.0f}%" for k, v in rates.items()))
    common = [row for row in misconceptions(exercises, rows)
              if row[1] not in (CORRECT, UNDIAGNOSED) and row[2]]
    if common:
        exercise, mistake, students, share = max(common, key=lambda row: row[2])
        lines.append(f"Most common known mistake: {exercise}: {mistake} ({students} "
                     f"student(s), {100 * share:.0f}%); see misconceptions.csv")
    attention = [r for r in sorted(rows, key=lambda r: r.student) if r.status != "ok"]
    if attention:
        lines.append("Look at:")
        for r in attention[:30]:
            lines.append(f"  {_printable(r.student)}: {r.status}: {_printable(r.reason)}")
        if len(attention) > 30:
            lines.append(f"  ... and {len(attention) - 30} more (see the CSV)")
    if left_out:
        lines.append(f"Not graded (in no student's folder; expected "
                     f"<student>/{assignment}/<notebook>.ipynb):")
        lines += [f"  {_printable(item.describe())}" for item in left_out[:30]]
        if len(left_out) > 30:
            lines.append(f"  ... and {len(left_out) - 30} more (see the CSV)")
    if similarity_note:
        lines.append(f"Copied answers: not checked: {_printable(similarity_note)}")
    elif similar_pairs is not None:
        students = {p.student for p in similar_pairs} \
            | {p.other for p in similar_pairs if not p.source}
        lines.append(f"Copied answers: {len(similar_pairs)} near-copy pair(s) involving "
                     f"{len(students)} student(s); see the similar_answers column and "
                     + os.path.join(os.path.dirname(csv_path), "similarity.csv"))
    lines.append(f"CSV: {csv_path}")
    lines.append("Misconceptions: "
                 + os.path.join(os.path.dirname(csv_path), "misconceptions.csv"))
    lines.append("Charts: " + ", ".join(charts))
    lines.append(f"Feedback: {feedback_dir}")
    return "\n".join(lines)


def _printable(text: str) -> str:
    """Student ids and file names with control characters (a terminal escape sequence, a
    carriage return) shown escaped, so they cannot rewrite the summary on the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


CORRECT, UNDIAGNOSED = "correct", "undiagnosed"


def misconceptions(exercises, rows: list[GradeRow]) -> list[tuple[str, str, int, float]]:
    """``(exercise, diagnosis, students, share)`` for every autograded exercise: ``correct``
    (full points), each known mistake found, and ``undiagnosed`` (lost points, no known
    mistake reproduces the answer).  Submissions that were not graded are left out."""
    graded = [r for r in rows if r.status not in NOT_GRADED]
    table = []
    for ex in exercises:
        if ex.manual or not graded:
            continue
        counts: Counter = Counter()
        for r in graded:
            points = r.points.get(ex.name)
            if points is not None and points >= ex.max_points:
                counts[CORRECT] += 1
            else:
                counts[r.diagnoses.get(ex.name, UNDIAGNOSED)] += 1
        order = [CORRECT] + sorted(k for k in counts if k not in (CORRECT, UNDIAGNOSED)) \
            + [UNDIAGNOSED]
        for diagnosis in order:
            table.append((ex.name, diagnosis, counts[diagnosis],
                          counts[diagnosis] / len(graded)))
    return table


def write_misconceptions(folder: str, exercises, rows: list[GradeRow],
                         title: str) -> tuple[str, str]:
    """``misconceptions.csv`` and its chart, ``misconceptions.png`` (a stacked bar per
    exercise); returns both paths."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    table = misconceptions(exercises, rows)
    csv_path = os.path.join(folder, "misconceptions.csv")
    tmp = csv_path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(_safe(["exercise", "diagnosis", "students", "share"]))
        for exercise, diagnosis, students, share in table:
            writer.writerow(_safe([exercise, diagnosis, students, f"{share:.3f}"]))
    os.replace(tmp, csv_path)

    names = list(dict.fromkeys(row[0] for row in table))[::-1]
    fig = Figure(figsize=(9, 0.55 * len(names) + 2.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    left = {n: 0.0 for n in names}
    share = {(exercise, diagnosis): s for exercise, diagnosis, _, s in table}
    mistakes = sorted({d for _, d, _, _ in table if d not in (CORRECT, UNDIAGNOSED)})
    palette = ["#DD8452", "#8172B3", "#937860", "#DA8BC3", "#CCB974", "#64B5CD", "#C44E52",
               "#4C72B0", "#8C8C8C", "#B5651D"]
    colors = {CORRECT: "#55A868", UNDIAGNOSED: "#BBBBBB"}
    colors.update({m: palette[i % len(palette)] for i, m in enumerate(mistakes)})
    for diagnosis in [CORRECT, *mistakes, UNDIAGNOSED]:
        widths = [100 * share.get((n, diagnosis), 0.0) for n in names]
        if not any(widths):
            continue
        ax.barh(names, widths, left=[left[n] for n in names], color=colors[diagnosis],
                label=diagnosis, edgecolor="white")
        for n, w in zip(names, widths):
            left[n] += w
    ax.set_xlim(0, 100)
    ax.set_xlabel("students (%)")
    ax.set_title(f"{title}: what each exercise's answers show")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18 - 0.02 * len(names) ** 0.5),
              ncol=3, fontsize="small", frameon=False)
    fig.tight_layout()
    png = os.path.join(folder, "misconceptions.png")
    fig.savefig(png, bbox_inches="tight")
    return csv_path, png
