"""Forged submissions (tests/attacks/catalogue.py) graded by both grading paths, for real.

One course folder holds lessons 01 (NumPy) and 05 (torch and Keras).  Every attack of the
catalogue is handed in, plus two controls per lesson (the instructor's solution, and the
release as handed out, graded after every attack so that a poisoned grader would show).
Every submission is graded by ``poolkit grade``; a copy of the course with a sample of the
attacks (every kind on both lessons, see :func:`both_paths_sample`) and the controls is graded
by plain ``nbgrader autograde`` too (sequential, so the whole catalogue there would cost the
suite ten more minutes), both with real bubblewrap.  The tests check that

- every attack gets its honest grade: the exercises it lists lose all their points, every
  other exercise keeps all of them, and the controls get full marks and 0;
- both paths give identical scores for every test cell of every submission;
- every student has a CSV row and a status, no grader error;
- no feedback file holds hidden test source;
- afterwards the repository (``git status``), the environment (site-packages), and the
  course's own files (solutions, config, release) are unchanged, and no manual score was
  set by anyone.
"""

from __future__ import annotations

import hashlib
import html
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "grading"))
sys.path.insert(0, str(REPO / "tests"))

import fixture_course as fc  # noqa: E402
from attacks import catalogue  # noqa: E402

from poolkit.grading import Limits, grade  # noqa: E402
from poolkit.grading.report import read_csv  # noqa: E402
from poolkit.grading.sandbox import unavailable_reason  # noqa: E402

LESSONS = ("01-max-vs-average", "05-keras-and-pytorch")
# Endless loops and bombs are cut quickly; the lessons need well under this.
LIMITS = Limits(cell_timeout=30, submission_timeout=240, memory_mb=4096)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(unavailable_reason() is not None and not os.environ.get("CI"),
                       reason=f"no sandbox here: {unavailable_reason()}"),
]


def _tree_digest(folder: Path, skip=()) -> dict[str, str]:
    digests = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if any(rel == s or rel.startswith(s + "/") for s in skip) or path.is_dir():
            continue
        digests[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if not path.is_symlink() \
            else "link:" + os.readlink(path)
    return digests


def _environment_listing() -> dict[str, tuple[int, int]]:
    listing = {}
    for base in {*site.getsitepackages(), sys.base_prefix}:
        for dirpath, _, filenames in os.walk(base):
            for name in filenames:
                full = os.path.join(dirpath, name)
                try:
                    st = os.lstat(full)
                except OSError:
                    continue
                if name.endswith(".pyc"):
                    continue   # caches the grader's own imports may write
                listing[full] = (st.st_size, st.st_mtime_ns)
    return listing


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--ignored=no"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


def _submit_all(root: Path) -> dict[str, tuple[str, tuple]]:
    """Every attack and the controls; returns student -> (lesson, exercises that lose)."""
    expected = {}
    for lesson in LESSONS:
        solution = nbformat.read(fc.source_notebook_path(root, lesson), as_version=4)
        release = nbformat.read(fc.release_notebook_path(root, lesson), as_version=4)
        everything = tuple(fc.exercises(root, lesson))
        tag = lesson[:2]
        fc.submit(root, lesson, f"control-{tag}-solution",
                  fc.student_notebook(root, lesson, fc.solution_answers(root, lesson)))
        fc.submit(root, lesson, f"zz-control-{tag}-blank", release)
        expected[f"control-{tag}-solution"] = (lesson, ())
        expected[f"zz-control-{tag}-blank"] = (lesson, everything)
        for attack in catalogue.ATTACKS:
            if attack.lesson != lesson:
                continue
            folder = fc.submit(root, lesson, attack.name,
                               catalogue.apply(attack, solution, release))
            catalogue.write_files(attack, folder)
            expected[attack.name] = (lesson, tuple(attack.loses))
    return expected


def both_paths_sample() -> set[str]:
    """Attacks graded by nbgrader autograde as well: two of each kind on lesson 01, one of
    each kind on lesson 05 (at least 25 in all)."""
    picked, count = set(), {}
    for attack in catalogue.ATTACKS:
        key = (attack.lesson, attack.kind)
        if count.get(key, 0) < (2 if attack.lesson.startswith("01") else 1):
            picked.add(attack.name)
            count[key] = count.get(key, 0) + 1
    return picked


def _scores(root: Path) -> dict:
    """(student, lesson, grade_id) -> (auto score, max score, manual score)."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "pooling-layers") as gb:
        for lesson in LESSONS:
            for submission in gb.find_assignment(lesson).submissions:
                for nb in submission.notebooks:
                    for g in nb.grades:
                        scores[(submission.student.id, lesson, g.name)] = (
                            g.auto_score, g.max_score, g.manual_score)
    return scores


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    # endless loops fail after 3 s instead of 20 (the limit can only be lowered this way)
    saved_limit = os.environ.get("POOLKIT_CHECK_TIME_LIMIT")
    os.environ["POOLKIT_CHECK_TIME_LIMIT"] = "3"
    try:
        return _grade_everything(tmp_path_factory)
    finally:
        if saved_limit is None:
            os.environ.pop("POOLKIT_CHECK_TIME_LIMIT", None)
        else:
            os.environ["POOLKIT_CHECK_TIME_LIMIT"] = saved_limit


def _grade_everything(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacks")
    root = base / "course"
    root.mkdir()
    for lesson in LESSONS:
        fc.copy_real_lesson(root, lesson)
        fc.generate(root, lesson)
    expected = _submit_all(root)
    twin = base / "twin"
    shutil.copytree(root, twin, symlinks=True)
    sample = both_paths_sample()
    for folder in (twin / "submitted").iterdir():
        if folder.name.startswith("attack-") and folder.name not in sample:
            shutil.rmtree(folder)
    before = {"git": _git_status(), "env": _environment_listing(),
              "course": _tree_digest(root, skip=("submitted", "autograded", "feedback",
                                                 "gradebook.db", "grade-reports")),
              "twin": _tree_digest(twin / "solutions")}
    results = {}
    for lesson in LESSONS:
        results[lesson] = grade(lesson, root, workers=2, limits=LIMITS, progress=False)
    env = fc.nbgrader_env()   # (POOLKIT_CHECK_TIME_LIMIT included)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    logs = {}
    for lesson in LESSONS:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "nbgrader"), "autograde", lesson,
             f"--Execute.timeout={LIMITS.cell_timeout}",
             f"--GradingExecute.wall_limit={LIMITS.submission_timeout}",
             "--GradingExecute.memory_mb=4096"],
            cwd=twin, env=env, capture_output=True, text=True)
        feedback = subprocess.run([str(Path(sys.executable).parent / "nbgrader"),
                                   "generate_feedback", lesson], cwd=twin, env=env,
                                  capture_output=True, text=True)
        logs[lesson] = (proc, feedback)
    after = {"git": _git_status(), "env": _environment_listing(),
             "course": _tree_digest(root, skip=("submitted", "autograded", "feedback",
                                                "gradebook.db", "grade-reports")),
             "twin": _tree_digest(twin / "solutions")}
    return {"root": root, "twin": twin, "expected": expected, "results": results,
            "logs": logs, "before": before, "after": after,
            "twin_students": {s for s in expected if not s.startswith("attack-") or s in sample}}


def test_catalogue_is_large_and_covers_both_lessons():
    by_lesson = {lesson: [a for a in catalogue.ATTACKS if a.lesson == lesson]
                 for lesson in LESSONS}
    assert sum(len(v) for v in by_lesson.values()) >= 25
    assert all(len(v) >= 10 for v in by_lesson.values()), {k: len(v) for k, v in by_lesson.items()}
    assert set(catalogue.KINDS) <= {a.kind for a in catalogue.ATTACKS}
    sample = both_paths_sample()
    assert len(sample) >= 25
    for lesson in LESSONS:
        kinds = {a.kind for a in catalogue.ATTACKS if a.lesson == lesson and a.name in sample}
        assert kinds == set(catalogue.KINDS), (lesson, set(catalogue.KINDS) - kinds)


def test_nbgrader_autograde_ran_through(graded):
    for lesson, (proc, feedback) in graded["logs"].items():
        assert proc.returncode == 0, f"{lesson}: {proc.stderr[-3000:]}"
        assert feedback.returncode == 0, f"{lesson} feedback: {feedback.stderr[-3000:]}"


@pytest.mark.parametrize("path", ["poolkit grade", "nbgrader autograde"])
def test_every_submission_gets_its_honest_grade(graded, path):
    root = graded["root"] if path == "poolkit grade" else graded["twin"]
    scores = _scores(root)
    problems = []
    for student, (lesson, loses) in graded["expected"].items():
        if path == "nbgrader autograde" and student not in graded["twin_students"]:
            continue
        for exercise, test_ids in fc.exercises(root, lesson).items():
            for test_id in test_ids:
                got = scores.get((student, lesson, test_id))
                if got is None:
                    problems.append(f"{student}: {test_id} has no grade")
                    continue
                auto, maximum, _ = got
                want = 0.0 if exercise in loses else maximum
                if auto != want:
                    problems.append(f"{student}: {test_id} scored {auto}, honest grade {want}")
    assert not problems, f"{path}:\n" + "\n".join(problems)


def test_both_paths_give_identical_scores(graded):
    theirs = _scores(graded["twin"])
    ours = {k: v for k, v in _scores(graded["root"]).items() if k[0] in graded["twin_students"]}
    assert ours.keys() == theirs.keys()
    differ = {k: (ours[k][0], theirs[k][0]) for k in ours if ours[k][0] != theirs[k][0]}
    assert not differ, differ


def test_every_student_has_a_row_and_a_status(graded):
    for lesson, result in graded["results"].items():
        rows = {r["student"]: r for r in read_csv(result.csv_path)}
        want = {s for s, (lesson_, _) in graded["expected"].items() if lesson_ == lesson}
        assert set(rows) == want
        errors = {s: r["reason"] for s, r in rows.items() if r["status"] == "error"}
        assert not errors, errors
        assert {r["sandbox"] for r in rows.values()} == {"bubblewrap"}


def test_no_hidden_test_source_in_any_feedback(graded):
    hidden = []
    for lesson in LESSONS:
        source = fc.source_notebook_path(graded["root"], lesson).read_text()
        nb = nbformat.reads(source, as_version=4)
        for cell in nb.cells:
            inside = False
            for line in cell.source.splitlines():
                if "BEGIN HIDDEN TESTS" in line:
                    inside = True
                elif "END HIDDEN TESTS" in line:
                    inside = False
                elif inside and len(line.strip()) > 25:
                    hidden.append(line.strip())
    assert len(hidden) > 10
    pages = list((graded["root"] / "feedback").rglob("*.html")) + \
        list((graded["twin"] / "feedback").rglob("*.html"))
    assert len(pages) >= len(graded["expected"]) + len(graded["twin_students"])
    for page in pages:
        text = page.read_text(errors="replace")
        for line in hidden:
            assert line not in text and html.escape(line) not in text, (page, line)


def test_repository_environment_and_course_are_unchanged(graded):
    before, after = graded["before"], graded["after"]
    assert after["git"] == before["git"], "the repository changed during grading"
    changed = {k for k in before["env"].keys() | after["env"].keys()
               if before["env"].get(k) != after["env"].get(k)}
    assert not changed, f"the environment changed: {sorted(changed)[:10]}"
    assert after["course"] == before["course"], "the course's own files changed"
    assert after["twin"] == before["twin"]
    for root in (graded["root"], graded["twin"]):
        manual = {k: v[2] for k, v in _scores(root).items() if v[2] is not None}
        assert not manual, f"manual scores appeared: {manual}"


def test_no_active_content_reaches_the_formgrader(graded):
    """Graded notebooks keep only text and images: a student's HTML or JavaScript output
    would run in the instructor's browser when the formgrader shows it."""
    for root in (graded["root"], graded["twin"]):
        for path in (root / "autograded").rglob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                for out in cell.get("outputs", []):
                    kinds = set(out.get("data", {}))
                    assert kinds <= {"text/plain", "image/png", "image/jpeg"}, (path, kinds)
