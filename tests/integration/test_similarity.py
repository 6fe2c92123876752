"""``poolgrade grade`` flags copied answers: a real class graded on the fixture lesson, with
two students handing in the same answers, one the same answer renamed, one an answer pasted
from poolkit's source, one independent answers, and one hostile student (a formula for a
name, a copy for one answer and junk for another).  grades.csv's ``similar_answers`` column
and ``similarity.csv`` name the copies and nobody else, and nothing the students wrote
becomes a formula."""

from __future__ import annotations

import csv
import re

import pytest

from poolgrade import Limits, grade
from poolgrade.batch.report import read_csv
from tests.support import fixture_course as fc
from tests.unit.test_similarity import package_paste

LIMITS = Limits(cell_timeout=10, submission_timeout=120, memory_mb=2048)
HOSTILE = "=HYPERLINK(\"x\")"

# the fixture's loops answer with every name changed and comments added
RENAMED_MAX_POOL = '''def max_pool(x, k, s):
    """x: (H, W) -> (H_out, W_out), window k, stride s, no padding."""
    # how many windows fit down and across
    n_rows = (x.shape[0] - k) // s + 1
    n_cols = (x.shape[1] - k) // s + 1
    pooled = np.empty((n_rows, n_cols), dtype=x.dtype)  # the result
    for row in range(n_rows):
        for col in range(n_cols):   # each window: its largest value
            pooled[row, col] = x[row * s:row * s + k, col * s:col * s + k].max()
    return pooled'''

INDEPENDENT = {
    "output_size": "def output_size(n, kernel, stride, padding=0):\n"
                   "    return 1 + (n - kernel + padding * 2) // stride",
    "max_pool": '''def max_pool(x, k, s):
    """x: (H, W) -> (H_out, W_out), window k, stride s, no padding."""
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k))
    strided = windows[::s, ::s]
    flat = strided.reshape(strided.shape[0], strided.shape[1], -1)
    return flat.max(axis=-1)''',
    "avg_pool": '''def avg_pool(x, k, s):
    """x: (H, W) -> (H_out, W_out), mean over each k x k window."""
    rows = []
    for top in range(0, x.shape[0] - k + 1, s):
        rows.append([float(np.mean(x[top:top + k, left:left + k]))
                     for left in range(0, x.shape[1] - k + 1, s)])
    return np.array(rows)''',
}


def starts_a_formula(cell: str) -> bool:
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", cell):
        return False
    return cell[:1] in ("\t", "\r") or cell.lstrip()[:1] in ("=", "+", "-", "@")


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("similarity") / "course"
    root.mkdir()
    assignment = fc.write_fixture_source(root)
    fc.generate(root, assignment)
    answers = fc.solution_answers(root, assignment)
    _, pasted = package_paste()
    junk = "\x00\x1b[2J\ufffd" * 50_000 + "def (((:\n" * 10_000
    hand_ins = {
        "alice": answers,
        "bob": answers,
        "carol": {**answers, "max_pool": RENAMED_MAX_POOL},
        "dave": {**answers, "max_pool": pasted},
        "erin": INDEPENDENT,
        HOSTILE: {**answers, "avg_pool": junk},
    }
    for student, chosen in hand_ins.items():
        fc.submit(root, assignment, student, fc.student_notebook(root, assignment, chosen))
    result = grade(assignment, root, workers=2, limits=LIMITS, progress=False)
    return root, result


@pytest.mark.slow
def test_copies_are_named_in_grades_csv_and_similarity_csv(graded_class):
    root, result = graded_class
    source, _ = package_paste()
    rows = {row["student"]: row for row in read_csv(result.csv_path)}
    assert set(rows) == {"alice", "bob", "carol", "dave", "erin", HOSTILE}
    # the batch was graded as usual: the copies score like their originals
    assert rows["alice"]["total"] == rows["bob"]["total"] == "9"
    pairs = read_csv(result.csv_path.replace("grades.csv", "similarity.csv"))
    max_pool = {(p["student"], p["other"], p["other_is"]) for p in pairs
                if p["exercise"] == "max_pool"}
    copies = ("alice", "bob", "carol", HOSTILE)
    assert max_pool == {(a, b, "student") for a in copies for b in copies if a < b} \
        | {("dave", source, "source")}
    assert all(0.8 <= float(p["similarity"]) <= 1.0 for p in pairs)
    # erin wrote her own answers, the junk matches nothing: in no pair, an empty cell
    assert not [p for p in pairs if "erin" in (p["student"], p["other"])
                or p["exercise"] == "avg_pool" and HOSTILE in (p["student"], p["other"])]
    assert rows["erin"]["similar_answers"] == ""
    assert rows["alice"]["similar_answers"].startswith(
        f"max_pool~{HOSTILE}(1.00), bob(1.00), carol(")
    assert rows[HOSTILE]["similar_answers"].startswith("max_pool~alice(1.00), bob(1.00), ")
    assert rows["dave"]["similar_answers"].startswith(f"max_pool~{source}(")
    assert "near-copy pair(s)" in result.summary and "similarity.csv" in result.summary


@pytest.mark.slow
def test_no_student_text_becomes_a_formula(graded_class):
    _, result = graded_class
    for path in (result.csv_path, result.csv_path.replace("grades.csv", "similarity.csv")):
        with open(path, newline="", encoding="utf-8") as f:
            cells = [cell for line in csv.reader(f) for cell in line]
        assert "'" + HOSTILE in cells
        assert not [c for c in cells if starts_a_formula(c)]
