"""``poolgrade grade``: real nbgrader, real kernels, the course's first NumPy lesson.

The slow tests build a course folder from ``solutions/01-max-vs-average`` with nbgrader's own
``generate_assignment``, hand in submissions made from the student release (correct answers,
the wrong answers of ``tests/wrong_answers/``, and one submission per fault the grader must
survive) and grade them. They check

- every fault's status and reason in the CSV, and that it costs exactly the broken exercise
  its points (never a silent 0, never a lost grade, the batch never stops);
- that scores are identical to plain sequential ``nbgrader autograde`` on the same
  submissions, and identical on a Dask cluster (``LocalCluster``);
- feedback without hidden tests, charts, the gradebook, resuming, zips, the command line;
- that nothing a student names or writes becomes active: CSV cells that would start a
  formula, zip entries outside their folder or stray folders (named, never silent), and
  markdown with HTML in the formgrader and the feedback.

The fast tests check the reading of broken notebooks and the cell repairs
on their own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

from poolgrade import Limits, grade  # noqa: E402
from poolgrade.batch.report import read_csv  # noqa: E402
from tests.support import fixture_course as fc  # noqa: E402

LESSON = "01-max-vs-average"
# Small limits keep the endless loops short; the lesson itself needs a few seconds.
LIMITS = Limits(cell_timeout=10, submission_timeout=120, memory_mb=2048)

needs_lesson = pytest.mark.skipif(not (REPO / "solutions" / LESSON).is_dir(),
                                  reason=f"solutions/{LESSON} is not in the repository")


def gradebook_scores(root: Path, assignment: str) -> dict:
    """(student, grade_id) -> auto score, straight from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    config = (root / "nbgrader_config.py").read_text()
    course_id = "pooling-layers" if "pooling-layers" in config else "default_course"
    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id) as gb:
        for submission in gb.find_assignment(assignment).submissions:
            for nb in submission.notebooks:
                for g in nb.grades:
                    scores[(submission.student.id, g.name)] = (g.auto_score, g.needs_manual_grade)
    return scores


def csv_rows(result) -> dict:
    return {row["student"]: row for row in read_csv(result.csv_path)}


def new_course(root: Path, lesson: str = LESSON) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if lesson == fc.FIXTURE_ASSIGNMENT:
        fc.write_fixture_source(root)
    else:
        fc.copy_real_lesson(root, lesson)
    fc.generate(root, lesson)
    return root


def normal_submissions(root: Path, lesson: str, wrong: dict) -> dict:
    """Correct, untouched, one wrong answer per exercise and, where the lesson has known
    mistakes, a small class: ``class-k`` holds the k-th known mistake of every exercise that
    has one (``class-0b`` too, so a count of 2 is tested).  Returns what each student holds
    per exercise: ``correct``, a mistake id, or ``undiagnosed``."""
    answers = fc.solution_answers(root, lesson)
    known = fc.known_mistakes(lesson) if lesson != fc.FIXTURE_ASSIGNMENT else {}
    everything_right = {ex: "correct" for ex in wrong}
    held = {"correct": dict(everything_right),
            "untouched": {ex: "undiagnosed" for ex in wrong}}
    fc.submit(root, lesson, "correct", fc.student_notebook(root, lesson, answers))
    untouched = fc.student_notebook(root, lesson, {})
    # a forged diagnosis in a test cell's metadata must not reach the report
    for cell in untouched.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_"):
            cell.metadata["poolkit"] = {"diagnosis": "forged_by_the_student"}
    fc.submit(root, lesson, "untouched", untouched)
    for i, (exercise, options) in enumerate(sorted(wrong.items())):
        label, source = options[i % len(options)]
        fc.submit(root, lesson, f"wrong-{exercise}", fc.student_notebook(
            root, lesson, {**answers, exercise: source}))
        mistake = known.get((exercise, label))
        held[f"wrong-{exercise}"] = {**everything_right,
                                     exercise: mistake["id"] if mistake else "undiagnosed"}
    by_exercise: dict[str, list] = {}
    for (exercise, _label), mistake in known.items():
        by_exercise.setdefault(exercise, []).append(mistake)
    for student, k in (("class-0", 0), ("class-0b", 0), ("class-1", 1), ("class-2", 2)):
        if not by_exercise:
            break
        chosen = {ex: ms[k] for ex, ms in by_exercise.items() if k < len(ms)}
        fc.submit(root, lesson, student, fc.student_notebook(
            root, lesson, {**answers, **{ex: m["source"] for ex, m in chosen.items()}}))
        held[student] = {**everything_right, **{ex: m["id"] for ex, m in chosen.items()}}
    return held


# ----------------------------------------------------------------------------- fault catalogue
@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    root = new_course(tmp_path_factory.mktemp("faults") / "course")
    expected = fc.write_fault_submissions(root, LESSON, fc.load_wrong(LESSON))
    result = grade(LESSON, root, workers=2, limits=LIMITS, progress=False)
    return root, expected, result


@pytest.mark.slow
@needs_lesson
def test_every_fault_gets_its_status_and_a_reason(faults):
    root, expected, result = faults
    rows = csv_rows(result)
    assert sorted(rows) == sorted(expected), "one CSV row per submission, none lost"
    wrong = {s: (rows[s]["status"], want) for s, (want, _) in expected.items()
             if rows[s]["status"] != want}
    assert not wrong, f"status (got, expected): {wrong}\n" + "\n".join(
        f"{s}: {rows[s]['reason']}" for s in wrong)
    for student, (status, _) in expected.items():
        if status != "ok":
            assert rows[student]["reason"].strip(), f"{student}: a status needs a reason"
    assert result.graded and not result.skipped
    assert "error" not in {r["status"] for r in rows.values()}


@pytest.mark.slow
@needs_lesson
def test_faults_cost_exactly_the_broken_exercise(faults):
    root, expected, result = faults
    rows = csv_rows(result)
    exercises = [e for e in fc.exercises(root, LESSON)]
    from poolgrade.batch.course import Course

    full = {e.name: e.max_points for e in Course(str(root), LESSON).exercises()}
    for student, (status, broken) in expected.items():
        row = rows[student]
        for exercise in exercises:
            points = float(row[exercise] or 0)
            if broken == "all" or broken == exercise:
                assert points < full[exercise], f"{student}: {exercise} should lose points"
            else:
                assert points == full[exercise], (
                    f"{student} ({status}): {exercise} has {points} of {full[exercise]}; "
                    f"reason: {row['reason']}")
        if broken == "all":
            assert float(row["total"]) == 0.0, f"{student}: {row}"


@pytest.mark.slow
@needs_lesson
def test_gradebook_holds_the_csv_scores(faults):
    root, expected, result = faults
    rows = csv_rows(result)
    scores = gradebook_scores(root, LESSON)
    for student, row in rows.items():
        mine = [v for (s, _), (v, _) in scores.items() if s == student]
        assert mine, f"{student} is not in the gradebook"
        assert sum(v or 0 for v in mine) == pytest.approx(float(row["total"]))
    # an unreadable notebook is a 0 that nbgrader's formgrader flags for manual grading
    flags = [manual for (s, _), (_, manual) in scores.items() if s == "d-invalid-json"]
    assert flags and all(flags)


def hidden_test_lines(root: Path) -> list[str]:
    """Lines that exist only inside ``### BEGIN/END HIDDEN TESTS`` of the source notebook."""
    import nbformat

    source = nbformat.read(fc.source_notebook_path(root, LESSON), as_version=4)
    release = nbformat.read(fc.release_notebook_path(root, LESSON), as_version=4)
    visible = "\n".join(c.source for c in release.cells)
    lines = []
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and len(line.strip()) > 25 and line.strip() not in visible:
                lines.append(line.strip())
    assert lines, "the lesson should have hidden tests"
    return lines


@pytest.mark.slow
@needs_lesson
def test_feedback_shows_failures_but_no_hidden_tests(faults):
    import html as html_lib

    root, expected, result = faults
    hidden = hidden_test_lines(root)
    pages = {}
    for student in expected:
        page = root / "feedback" / student / LESSON / "max-vs-average.html"
        assert page.exists(), f"no feedback for {student}"
        text = html_lib.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
        assert "HIDDEN TESTS" not in text
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{student}'s feedback shows hidden test code: {leaked[:3]}"
        pages[student] = (page, text)
    # a wrong answer: the student sees which check failed, as an error in the test cell
    assert "Error" in pages["c-wrong"][1]
    # a cell that printed megabytes: cut in the feedback too
    assert pages["s-huge-output"][0].stat().st_size < 1_500_000
    assert "removed" in pages["s-huge-output"][1]
    # unreadable and missing notebooks get a page that says why
    assert "not valid JSON" in pages["d-invalid-json"][1]
    assert "not in the submission" in pages["e-missing"][1]


@pytest.mark.slow
@needs_lesson
def test_submission_runs_without_the_notebooks_around_it(faults):
    import nbformat

    root, _, _ = faults
    nb = nbformat.read(root / "autograded" / "q-peek" / LESSON / "max-vs-average.ipynb",
                       as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    # ../.. is the sandbox's own /tmp: of the grader's folders it holds this submission's
    # scratch and socket folders, and no other submission's
    assert re.search(r"notebooks here: \[\] found: 0 neighbours: "
                     r"\['poolkit-grade-\w+', 'poolkit-submission-\w+'\]", printed), printed[-500:]


@pytest.mark.slow
@needs_lesson
def test_charts_and_summary(faults):
    root, expected, result = faults
    assert [Path(p).name for p in result.charts] == ["score_histogram.png", "pass_rates.png",
                                                     "misconceptions.png"]
    for path in result.charts:
        data = Path(path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    from poolgrade.batch.report import pass_rates

    course_exercises = __import__("poolgrade.batch.course", fromlist=["Course"]).Course(
        str(root), LESSON).exercises()
    rates = pass_rates(course_exercises, result.rows)
    broken = [b for _, b in expected.values() if b not in (None, "all")]
    most_broken = max(set(broken), key=broken.count)
    assert rates[most_broken] == min(rates.values()) < 1.0
    assert most_broken in result.summary and "Hardest exercise" in result.summary
    for status in {s for s, _ in expected.values()}:
        assert status in result.summary


@pytest.mark.slow
@needs_lesson
def test_rerun_skips_unchanged_and_regrades_changed(faults):
    root, expected, first = faults
    again = grade(LESSON, root, workers=2, limits=LIMITS, progress=False)
    assert again.graded == [] and sorted(again.skipped) == sorted(expected)
    assert csv_rows(again) == csv_rows(first)

    # the student fixes their wrong answer and hands in again: only they are regraded
    answers = fc.solution_answers(root, LESSON)
    fc.submit(root, LESSON, "c-wrong", fc.student_notebook(root, LESSON, answers))
    third = grade(LESSON, root, workers=2, limits=LIMITS, progress=False)
    assert third.graded == ["c-wrong"]
    row = csv_rows(third)["c-wrong"]
    assert row["status"] == "ok"
    good = csv_rows(first)["a-correct"]
    assert row["total"] == good["total"]

    # a gradebook that lost a student's scores gets them back on the next run, and the CSV
    # shows what an instructor graded by hand in the meantime
    from nbgrader.api import Gradebook

    manual = [e.name for e in __import__("poolgrade.batch.course", fromlist=["Course"]).Course(
        str(root), LESSON).exercises() if e.manual]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "pooling-layers") as gb:
        gb.remove_submission(LESSON, "a-correct")
        if manual:
            mark = gb.find_grade(manual[0], "max-vs-average", LESSON, "h-deleted-tests")
            mark.manual_score = 1.5
            gb.db.commit()
    fourth = grade(LESSON, root, workers=2, limits=LIMITS, progress=False)
    assert fourth.graded == ["a-correct"]
    assert gradebook_scores(root, LESSON)[("a-correct", "test_max_pool2d_loops_hidden")][0] > 0
    if manual:
        hand = csv_rows(fourth)["h-deleted-tests"]
        assert hand[manual[0]] == "1.50"
        assert float(hand["total"]) == float(good["total"]) + 1.5


@pytest.mark.slow
@needs_lesson
def test_wall_clock_limit_stops_a_slow_submission(tmp_path):
    root = new_course(tmp_path / "course")
    answers = fc.solution_answers(root, LESSON)
    first = next(iter(fc.exercises(root, LESSON)))
    slow = {**answers, first: answers[first] + "\nimport time\ntime.sleep(6)"}
    fc.submit(root, LESSON, "slow", fc.student_notebook(root, LESSON, slow))
    limits = Limits(cell_timeout=10, submission_timeout=5, memory_mb=2048)
    result = grade(LESSON, root, workers=1, limits=limits, progress=False)
    row = csv_rows(result)["slow"]
    assert row["status"] == "wall_clock", row
    # where the limit falls (inside the sleeping cell, or before a later one) depends on how
    # fast the kernel started: either way the reason names the limit
    assert "wall-clock limit" in row["reason"] and "5 s" in row["reason"], row
    # cells after the limit are not run: the last exercise scores 0 (not blank)
    last = list(fc.exercises(root, LESSON))[-1]
    assert row[last] == "0", row


# ----------------------------------------------------------------------------- same grades
HELD: dict = {}     # student -> exercise -> what the normal class's submission holds
@pytest.fixture(scope="module")
def normal_course(tmp_path_factory):
    """The lesson with normal submissions, before grading, to be copied per test."""
    root = new_course(tmp_path_factory.mktemp("normal") / "course")
    HELD.update(normal_submissions(root, LESSON, fc.load_wrong(LESSON)))
    return root


@pytest.fixture(scope="module")
def graded_locally(normal_course, tmp_path_factory):
    root = tmp_path_factory.mktemp("local") / "course"
    shutil.copytree(normal_course, root)
    return root, grade(LESSON, root, workers=2, progress=False)


@pytest.mark.slow
@needs_lesson
def test_parallel_grades_equal_sequential_nbgrader_autograde(normal_course, graded_locally,
                                                             tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(normal_course, plain)
    subprocess.run([str(fc.VENV_BIN / "nbgrader"), "autograde", LESSON, "--log-level=ERROR"],
                   cwd=plain, env=fc.nbgrader_env(), check=True, capture_output=True)
    ours, result = graded_locally
    expected = gradebook_scores(plain, LESSON)
    assert len(expected) >= 5 * 9
    assert gradebook_scores(ours, LESSON) == expected
    assert {r.status for r in result.rows} == {"ok"}
    # and the grades tell right from wrong
    rows = csv_rows(result)
    assert float(rows["untouched"]["total"]) == 0 < float(rows["correct"]["total"])
    for student in rows:
        if student.startswith("wrong-"):
            assert float(rows[student]["total"]) < float(rows["correct"]["total"])


@pytest.mark.slow
@needs_lesson
def test_misconception_report_counts_the_class(graded_locally):
    """misconceptions.csv counts, per exercise, the students with each known mistake (as
    submitted), the correct ones and the rest; grades.csv names each student's mistakes."""
    root, result = graded_locally
    report = Path(result.csv_path).parent
    expected: dict = {}
    for exercises in HELD.values():
        for exercise, diagnosis in exercises.items():
            expected[(exercise, diagnosis)] = expected.get((exercise, diagnosis), 0) + 1
    assert any(d not in ("correct", "undiagnosed") and n >= 2 for (_, d), n in expected.items())
    table = read_csv(report / "misconceptions.csv")
    got = {(r["exercise"], r["diagnosis"]): int(r["students"]) for r in table
           if int(r["students"])}
    assert got == expected
    for r in table:
        assert abs(float(r["share"]) - int(r["students"]) / len(HELD)) < 1e-3, r
    png = (report / "misconceptions.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    rows = csv_rows(result)
    for student, exercises in HELD.items():
        named = {ex: d for ex, d in exercises.items() if d not in ("correct", "undiagnosed")}
        cell = rows[student]["diagnosis"]
        found = dict(part.split(": ", 1) for part in cell.split("; ") if part)
        assert found == named, (student, cell)
    assert "Most common known mistake" in result.summary


@pytest.mark.slow
@needs_lesson
def test_dask_cluster_gives_the_same_grades(normal_course, graded_locally, tmp_path):
    from distributed import LocalCluster

    remote = tmp_path / "dask"
    shutil.copytree(normal_course, remote)
    local, by_local = graded_locally
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        by_dask = grade(LESSON, remote, scheduler=cluster.scheduler_address, progress=False)
    assert gradebook_scores(remote, LESSON) == gradebook_scores(local, LESSON)
    assert csv_rows(by_dask) == csv_rows(by_local)
    assert sorted(by_dask.graded) == sorted(by_local.graded)
    assert (remote / "feedback" / "correct" / LESSON / "max-vs-average.html").exists()


@pytest.mark.slow
def test_command_line_scheduler_grades_on_a_dask_cluster(tmp_path):
    """``poolgrade grade --scheduler ADDRESS`` against a LocalCluster of worker processes
    started here: the cluster runs every submission (its scheduler sees each job finish) and
    the grades are those of the same command with local workers."""
    from dask.utils import key_split
    from distributed import LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    class FinishedJobs(SchedulerPlugin):
        """Counts, per job function, the jobs whose result reached the scheduler."""

        def __init__(self):
            self.count: dict[str, int] = {}

        def transition(self, key, start, finish, *args, **kwargs):
            if finish == "memory":
                name = key_split(key)     # "run_submission-<uuid>" -> "run_submission"
                self.count[name] = self.count.get(name, 0) + 1

    local = new_course(tmp_path / "local", fc.FIXTURE_ASSIGNMENT)
    answers = fc.solution_answers(local, fc.FIXTURE_ASSIGNMENT)
    (label, wrong_max_pool), = fc.WRONG_FIXTURE["max_pool"]
    for student, held in (("correct", answers), ("untouched", {}),
                          ("wrong-max_pool", {**answers, "max_pool": wrong_max_pool})):
        fc.submit(local, fc.FIXTURE_ASSIGNMENT, student,
                  fc.student_notebook(local, fc.FIXTURE_ASSIGNMENT, held))
    remote = tmp_path / "dask"
    shutil.copytree(local, remote)
    command = [str(fc.VENV_BIN / "poolgrade"), "grade", fc.FIXTURE_ASSIGNMENT, "--no-progress"]

    def run(root: Path, *options: str) -> None:
        done = subprocess.run([*command, *options], cwd=root, env=fc.nbgrader_env(),
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        assert "Graded 3 submission(s)" in done.stdout

    run(local, "--workers", "2")
    finished = FinishedJobs()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        cluster.scheduler.add_plugin(finished)
        run(remote, "--scheduler", cluster.scheduler_address)
    assert finished.count.get("run_submission") == 3, finished.count
    by_dask = {r["student"]: r for r in read_csv(remote / "grade-reports"
                                                 / fc.FIXTURE_ASSIGNMENT / "grades.csv")}
    by_local = {r["student"]: r for r in read_csv(local / "grade-reports"
                                                  / fc.FIXTURE_ASSIGNMENT / "grades.csv")}
    assert by_dask == by_local
    assert gradebook_scores(remote, fc.FIXTURE_ASSIGNMENT) == \
        gradebook_scores(local, fc.FIXTURE_ASSIGNMENT)
    assert float(by_dask["correct"]["total"]) == 9 and float(by_dask["untouched"]["total"]) == 0
    assert float(by_dask["wrong-max_pool"]["max_pool"]) == 0, label
    assert float(by_dask["wrong-max_pool"]["avg_pool"]) == 3
    assert (remote / "feedback" / "correct" / fc.FIXTURE_ASSIGNMENT / "pool-basics.html").exists()


# ----------------------------------------------------------------------------- input, CLI
@pytest.mark.slow
def test_zip_of_submissions_and_the_command_line(tmp_path):
    root = new_course(tmp_path / "course", fc.FIXTURE_ASSIGNMENT)
    normal_submissions(root, fc.FIXTURE_ASSIGNMENT, fc.WRONG_FIXTURE)
    archive = tmp_path / "collected.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in (root / "submitted").rglob("*"):
            zf.write(path, Path("submitted") / path.relative_to(root / "submitted"))
    shutil.rmtree(root / "submitted")

    cmd = [str(fc.VENV_BIN / "poolgrade"), "grade", fc.FIXTURE_ASSIGNMENT, "--submissions",
           str(archive), "--workers", "2"]
    run = subprocess.run(cmd, cwd=root, env=fc.nbgrader_env(), capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Graded 5 submission(s)" in run.stdout
    assert "100%" in run.stderr and "submission" in run.stderr  # the tqdm bar
    rows = {r["student"]: r for r in read_csv(root / "grade-reports" / fc.FIXTURE_ASSIGNMENT
                                              / "grades.csv")}
    assert float(rows["correct"]["total"]) == 9 and float(rows["untouched"]["total"]) == 0
    assert float(rows["wrong-max_pool"]["max_pool"]) == 0
    assert float(rows["wrong-max_pool"]["avg_pool"]) == 3
    assert (root / "feedback" / "correct" / fc.FIXTURE_ASSIGNMENT / "pool-basics.html").exists()

    again = subprocess.run(cmd, cwd=root, env=fc.nbgrader_env(), capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0 and "5 unchanged since the last run were skipped" in again.stdout

    bad = subprocess.run([str(fc.VENV_BIN / "poolgrade"), "grade", "no-such-lesson"], cwd=root,
                         env=fc.nbgrader_env(), capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert "no-such-lesson" in bad.stderr and "Traceback" not in bad.stderr


def zip_submissions(archive: Path, entries: dict) -> Path:
    """A zip whose entries are ``name -> bytes`` (a file), ``name -> ("link", target)`` (a
    symbolic link, as zip tools store one) or ``name -> None`` (a folder)."""
    import stat

    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            if isinstance(content, tuple):
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, content[1])
            elif content is None:
                zf.writestr(zipfile.ZipInfo(name.rstrip("/") + "/"), b"")
            else:
                zf.writestr(name, content)
    return archive


def notebook_bytes(root: Path, answers: dict) -> bytes:
    import nbformat

    return nbformat.writes(fc.student_notebook(root, fc.FIXTURE_ASSIGNMENT, answers)).encode()


def poolkit_grade(root: Path, *args: str, timeout: int = 600):
    return subprocess.run([str(fc.VENV_BIN / "poolgrade"), "grade", fc.FIXTURE_ASSIGNMENT,
                           "--no-progress", "--workers", "2", *args], cwd=root,
                          env=fc.nbgrader_env(), capture_output=True, text=True,
                          timeout=timeout)


FORMULA_NAMES = ["=2+5+cmd|' -C calc'!A0", "+zz", "-zz", "@zz", "\tzz", " =1+1"]


def starts_a_formula(cell: str) -> bool:
    """What Excel, LibreOffice and Google Sheets take for a formula: a cell starting with
    = + - or @ (also after blanks), or with a tab or carriage return; a number is a number."""
    if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", cell):
        return False
    return cell[:1] in ("\t", "\r") or cell.lstrip()[:1] in ("=", "+", "-", "@")


@pytest.mark.slow
def test_student_ids_that_look_like_formulas_cannot_run_in_a_spreadsheet(tmp_path):
    """Student ids come from folder or zip entry names: in grades.csv none may start a
    formula (the cell gets a single quote in front), and read_csv gives the id back."""
    import csv

    root = new_course(tmp_path / "course", fc.FIXTURE_ASSIGNMENT)
    answers = fc.solution_answers(root, fc.FIXTURE_ASSIGNMENT)
    wrong = {**answers, "output_size": fc.WRONG_FIXTURE["output_size"][0][1]}
    entries = {f"submitted/{name}/{fc.FIXTURE_ASSIGNMENT}/{fc.FIXTURE_ASSIGNMENT}.ipynb":
               notebook_bytes(root, wrong if name == "-zz" else answers)
               for name in FORMULA_NAMES}
    archive = zip_submissions(tmp_path / "class.zip", entries)
    run = poolkit_grade(root, "--submissions", str(archive))
    assert run.returncode == 0, run.stderr[-3000:]
    path = root / "grade-reports" / fc.FIXTURE_ASSIGNMENT / "grades.csv"
    with open(path, newline="", encoding="utf-8") as f:
        raw = list(csv.reader(f))
    header = raw[0]
    cells = [cell for line in raw for cell in line]
    assert not [c for c in cells if starts_a_formula(c)], [c for c in cells
                                                           if starts_a_formula(c)]
    students = {line[0] for line in raw[1:]}
    assert students == {"'" + name for name in FORMULA_NAMES}
    rows = {r["student"]: r for r in read_csv(path)}
    assert sorted(rows) == sorted(FORMULA_NAMES)
    assert {name: float(rows[name]["total"]) for name in rows} == {
        name: 6.0 if name == "-zz" else 9.0 for name in FORMULA_NAMES}
    assert header[0] == "student" and "total" in header
    misconceptions = (path.parent / "misconceptions.csv").read_text(encoding="utf-8")
    with open(path.parent / "misconceptions.csv", newline="", encoding="utf-8") as f:
        assert not [c for line in csv.reader(f) for c in line if starts_a_formula(c)], \
            misconceptions


@pytest.mark.slow
def test_zip_with_bad_entries_grades_everyone_else_and_names_them(tmp_path):
    """An entry that would land outside its folder (``..``, an absolute path) or is a link
    is skipped, not the zip: every student is graded, and each skipped entry is named in
    its student's row (or a row of its own) and in the printed summary."""
    root = new_course(tmp_path / "course", fc.FIXTURE_ASSIGNMENT)
    good = notebook_bytes(root, fc.solution_answers(root, fc.FIXTURE_ASSIGNMENT))
    folder = f"submitted/{{}}/{fc.FIXTURE_ASSIGNMENT}"
    nb_name = f"{fc.FIXTURE_ASSIGNMENT}.ipynb"
    escape = f"{folder.format('mallory')}/../../../../../escaped-by-mallory.txt"
    entries = {
        f"{folder.format('alice')}/{nb_name}": good,
        f"{folder.format('bob')}/{nb_name}": good,
        f"{folder.format('bob')}/passwords": ("link", "/etc/passwd"),
        f"{folder.format('mallory')}/{nb_name}": good,
        escape: b"written outside the extraction folder",
        "../escaped-at-the-top.txt": b"x",
        "/absolute-entry.txt": b"x",
        "__MACOSX/": None,
    }
    archive = zip_submissions(tmp_path / "class.zip", entries)
    run = poolkit_grade(root, "--submissions", str(archive))
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {r["student"]: r for r in read_csv(root / "grade-reports" / fc.FIXTURE_ASSIGNMENT
                                              / "grades.csv")}
    assert {s: float(rows[s]["total"]) for s in ("alice", "bob", "mallory")} == {
        "alice": 9.0, "bob": 9.0, "mallory": 9.0}
    assert rows["alice"]["status"] == "ok"
    assert rows["bob"]["status"] == "blocked" and "passwords" in rows["bob"]["reason"] \
        and "link" in rows["bob"]["reason"]
    assert rows["mallory"]["status"] == "blocked" and escape in rows["mallory"]["reason"]
    assert "leaves the submission folder" in rows["mallory"]["reason"]
    others = rows[""]["reason"] if "" in rows else ""
    with open(root / "grade-reports" / fc.FIXTURE_ASSIGNMENT / "grades.csv",
              encoding="utf-8") as f:
        text = f.read()
    for entry in ("../escaped-at-the-top.txt", "/absolute-entry.txt"):
        assert entry in text, entry
    assert others, "entries that are no student's get a row of their own"
    for entry in (escape, "passwords", "../escaped-at-the-top.txt", "/absolute-entry.txt"):
        assert entry in run.stdout, (entry, run.stdout)
    # nothing was written outside the extraction folder
    for name in ("escaped-by-mallory.txt", "escaped-at-the-top.txt", "absolute-entry.txt"):
        assert not list(tmp_path.rglob(name)) and not Path("/tmp", name).exists(), name
        assert not Path("/", name).exists(), name


@pytest.mark.slow
def test_a_stray_top_level_folder_is_an_error_never_silent(tmp_path):
    """The layout is ``<student>/<assignment>/<notebook>.ipynb``: a zip wrapped in folders
    is understood, a folder with notebooks but no assignment folder is named in the report,
    and a layout that hides students (a student folder next to ``submitted/``, a folder
    that wraps the class inside the submissions folder) stops with a message naming the
    folder, never an exit code 0 with students left out."""
    root = new_course(tmp_path / "course", fc.FIXTURE_ASSIGNMENT)
    good = notebook_bytes(root, fc.solution_answers(root, fc.FIXTURE_ASSIGNMENT))
    nb_name = f"{fc.FIXTURE_ASSIGNMENT}.ipynb"
    layout = f"<student>/{fc.FIXTURE_ASSIGNMENT}/<notebook>.ipynb"

    def path(*parts):
        return "/".join(parts)

    def graded(name, entries, report):
        archive = zip_submissions(tmp_path / f"{name}.zip", entries)
        return poolkit_grade(root, "--submissions", str(archive), "--report-dir",
                             str(tmp_path / report))

    # one student's folder next to the class's submitted/ folder
    beside = graded("beside", {path("submitted", "alice", fc.FIXTURE_ASSIGNMENT, nb_name): good,
                               path("submitted", "bob", fc.FIXTURE_ASSIGNMENT, nb_name): good,
                               path("mallory", fc.FIXTURE_ASSIGNMENT, nb_name): good},
                    "beside")
    assert beside.returncode == 1, (beside.stdout, beside.stderr[-2000:])
    assert "'submitted/'" in beside.stderr and layout in beside.stderr, beside.stderr
    assert "Traceback" not in beside.stderr
    assert not (tmp_path / "beside" / "grades.csv").exists()

    # notebooks handed in without the assignment folder: nothing to grade, said so
    flat = graded("flat", {path("alice", nb_name): good, path("bob", nb_name): good}, "flat")
    assert flat.returncode == 1 and "'alice'" in flat.stderr and layout in flat.stderr, \
        flat.stderr[-2000:]

    # wrapped twice (an LMS export folder around submitted/): understood; a folder of
    # notebooks next to the students: graded around, and named
    wrapped = graded("wrapped", {
        path("export", "submitted", "alice", fc.FIXTURE_ASSIGNMENT, nb_name): good,
        path("export", "submitted", "notes", "draft.ipynb"): good,
        path("export", "submitted", "__MACOSX", "._x"): b"x"}, "wrapped")
    assert wrapped.returncode == 0, wrapped.stderr[-3000:]
    assert "Graded 1 submission(s)" in wrapped.stdout
    assert "folder 'notes/'" in wrapped.stdout, wrapped.stdout
    rows = {r["student"]: r for r in read_csv(tmp_path / "wrapped" / "grades.csv")}
    assert float(rows["alice"]["total"]) == 9.0
    assert "folder 'notes/'" in rows[""]["reason"] and rows[""]["status"] == "left_out"

    # a submissions folder whose class sits one folder further down
    inner = tmp_path / "wrapped-folder" / "hw2" / "carol" / fc.FIXTURE_ASSIGNMENT
    inner.mkdir(parents=True)
    (inner / nb_name).write_bytes(good)
    folder = poolkit_grade(root, "--submissions", str(tmp_path / "wrapped-folder"),
                           "--report-dir", str(tmp_path / "folder-report"))
    assert folder.returncode == 1, (folder.stdout, folder.stderr[-2000:])
    assert "'hw2/'" in folder.stderr and layout in folder.stderr, folder.stderr
    assert str(tmp_path / "wrapped-folder" / "hw2") in folder.stderr


class ActiveContent(HTMLParser):
    """What in a page would run or load something: script elements (their source and
    ``src``), frames and embeds, ``on*`` event attributes, and URL attributes with a
    ``javascript:``-like scheme."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "srcdoc"}

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.frames: list[str] = []
        self.handlers: list[str] = []
        self.urls: list[str] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._in_script = True
            self.scripts.append(" ".join(f"{k}={v}" for k, v in attrs))
        if tag in ("iframe", "frame", "object", "embed"):
            self.frames.append(f"{tag} {attrs}")
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}={value}")
            if name in self.URL_ATTRIBUTES and value:
                self.urls.append(value)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def dangerous_urls(self) -> list[str]:
        found = []
        for url in self.urls:
            cleaned = re.sub(r"[\x00-\x20]", "", url).lower()
            if cleaned.startswith(("javascript:", "vbscript:", "data:text/html")):
                found.append(url)
        return found


XSS = "pk-xss-7731"     # in every payload, so the page's own scripts are told apart
XSS_ANSWER = f"""Max pooling keeps the **strongest** response; `a < b` and $x^2$ stay as written.

<script>alert("{XSS}")</script>
<img src=x onerror="alert('{XSS}')">
<iframe src="javascript:alert('{XSS}')"></iframe>
[a link](javascript:alert('{XSS}'))
"""
XSS_ADDED_CELL = f"""## My notes
<SCRIPT SRC="https://example.invalid/{XSS}.js"></SCRIPT><svg onload="alert('{XSS}')"></svg>
"""
ORDINARY_CELL = "## Plain notes\n\n- a *list* item\n- `x < y` in code\n\n> a quote"


def xss_submission(root: Path):
    from nbformat.v4 import new_markdown_cell

    answers = fc.solution_answers(root, fc.FIXTURE_ASSIGNMENT)
    nb = fc.student_notebook(root, fc.FIXTURE_ASSIGNMENT, {**answers, "why_max": XSS_ANSWER})
    nb.cells.insert(1, new_markdown_cell(XSS_ADDED_CELL))
    nb.cells.insert(2, new_markdown_cell(ORDINARY_CELL))
    fc.submit(root, fc.FIXTURE_ASSIGNMENT, "xss", nb)
    fc.submit(root, fc.FIXTURE_ASSIGNMENT, "plain", fc.student_notebook(
        root, fc.FIXTURE_ASSIGNMENT, answers))


def assert_inert(page: str, where: str) -> None:
    import html as html_lib

    found = ActiveContent(page)
    assert not [s for s in found.scripts if XSS in s], (where, found.scripts)
    assert not [h for h in found.handlers if XSS in h], (where, found.handlers)
    assert not found.frames, (where, found.frames)
    assert not found.dangerous_urls(), (where, found.dangerous_urls())
    assert not re.search(r"<script[^>]*>[^<]*" + XSS, page, re.IGNORECASE), where
    text = html_lib.unescape("".join(found.text))
    # the ordinary markdown is rendered as before, and the student's answer is still there
    # to read (as text)
    assert "Plain notes" in text and "strongest" in text and XSS in text, where
    assert "<code>x &lt; y</code>" in page and "<blockquote>" in page, where
    assert "<em>list</em>" in page, where


def formgrader_page(root: Path, student: str) -> str:
    """The page the formgrader shows for a student's autograded notebook (its exporter and
    template, as nbgrader's SubmissionHandler renders it)."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    exporter = HTMLExporter(template_name="formgrade",
                            extra_template_basedirs=[handlers.template_path])
    path = root / "autograded" / student / fc.FIXTURE_ASSIGNMENT / \
        f"{fc.FIXTURE_ASSIGNMENT}.ipynb"
    resources = {"assignment_id": fc.FIXTURE_ASSIGNMENT, "notebook_id": fc.FIXTURE_ASSIGNMENT,
                 "submission_id": "x", "index": 0, "total": 2, "base_url": "",
                 "student": student, "last_name": None, "first_name": None,
                 "notebook_path": str(path)}
    page, _ = exporter.from_filename(str(path), resources=resources)
    return page


@pytest.mark.slow
def test_student_markdown_is_inert_in_the_formgrader_and_the_feedback(tmp_path):
    """A written answer with <script>, <img onerror>, an iframe and a javascript: link, and a
    cell the student added, run nowhere: not in the formgrader's page of the autograded
    notebook, not in the feedback, by `poolgrade grade` or by plain nbgrader autograde +
    generate_feedback; ordinary markdown renders as before and the answer stays readable."""
    ours = new_course(tmp_path / "ours", fc.FIXTURE_ASSIGNMENT)
    xss_submission(ours)
    plain = tmp_path / "plain"
    shutil.copytree(ours, plain)

    result = grade(fc.FIXTURE_ASSIGNMENT, ours, workers=2, progress=False)
    assert {r.student: r.total for r in result.rows} == {"xss": 9.0, "plain": 9.0}

    for step in ("autograde", "generate_feedback"):
        subprocess.run([str(fc.VENV_BIN / "nbgrader"), step, fc.FIXTURE_ASSIGNMENT,
                        "--log-level=ERROR"], cwd=plain, env=fc.nbgrader_env(), check=True,
                       capture_output=True)
    for root in (ours, plain):
        feedback = root / "feedback" / "xss" / fc.FIXTURE_ASSIGNMENT / \
            f"{fc.FIXTURE_ASSIGNMENT}.html"
        assert_inert(feedback.read_text(encoding="utf-8"), f"{root.name} feedback")
        assert_inert(formgrader_page(root, "xss"), f"{root.name} formgrader")
        # an answer without HTML is left exactly as the student wrote it
        import nbformat

        graded = nbformat.read(root / "autograded" / "plain" / fc.FIXTURE_ASSIGNMENT /
                               f"{fc.FIXTURE_ASSIGNMENT}.ipynb", as_version=4)
        submitted = nbformat.read(root / "submitted" / "plain" / fc.FIXTURE_ASSIGNMENT /
                                  f"{fc.FIXTURE_ASSIGNMENT}.ipynb", as_version=4)
        assert [c.source for c in graded.cells if c.cell_type == "markdown"] == \
            [c.source for c in submitted.cells if c.cell_type == "markdown"]


@pytest.mark.slow
def test_interrupted_run_keeps_what_it_graded(tmp_path):
    """Ctrl-C keeps every submission graded so far; running the same command again grades
    only the rest.  The first students are quick and the others block in a cell far longer
    than the test could take (their limits raised for this run), so once state.json lists
    a student no blocked one can finish before the interrupt: the test waits for that
    event (polling, with a generous deadline), never for an amount of time."""
    root = new_course(tmp_path / "course", fc.FIXTURE_ASSIGNMENT)
    answers = fc.solution_answers(root, fc.FIXTURE_ASSIGNMENT)
    blocking = {**answers, "output_size": answers["output_size"]
                + "\nimport time\ntime.sleep(1_000_000)"}
    quick, blocked = ["a0", "a1"], [f"b{i}" for i in range(6)]
    for student in quick:
        fc.submit(root, fc.FIXTURE_ASSIGNMENT, student,
                  fc.student_notebook(root, fc.FIXTURE_ASSIGNMENT, answers))
    for student in blocked:
        fc.submit(root, fc.FIXTURE_ASSIGNMENT, student,
                  fc.student_notebook(root, fc.FIXTURE_ASSIGNMENT, blocking))
    state = root / "grade-reports" / fc.FIXTURE_ASSIGNMENT / "state.json"
    cmd = [str(fc.VENV_BIN / "poolgrade"), "grade", fc.FIXTURE_ASSIGNMENT, "--workers", "1",
           "--no-progress", "--cell-timeout", "1000000", "--submission-timeout", "1000000"]
    proc = subprocess.Popen(cmd, cwd=root, env=fc.nbgrader_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        saved: dict = {}
        while not saved:
            assert proc.poll() is None, "the grader stopped before the interrupt"
            assert time.monotonic() < deadline, "no submission was saved in 300 s"
            if state.exists():
                saved = json.loads(state.read_text())["students"]
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (out, err[-2000:])
    assert "run the same command again" in err
    kept = json.loads(state.read_text())["students"]
    assert kept and set(kept) <= set(quick), sorted(kept)

    # the blocked students hand in a quick notebook: changed files are graded again
    for student in blocked:
        fc.submit(root, fc.FIXTURE_ASSIGNMENT, student,
                  fc.student_notebook(root, fc.FIXTURE_ASSIGNMENT, answers))
    again = subprocess.run(cmd, cwd=root, env=fc.nbgrader_env(), capture_output=True,
                           text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"Graded {8 - len(kept)} submission(s)" in again.stdout, again.stdout
    assert f"{len(kept)} unchanged since the last run were skipped" in again.stdout
    rows = {r["student"]: r for r in read_csv(state.parent / "grades.csv")}
    assert sorted(rows) == sorted(quick + blocked)
    assert {float(r["total"]) for r in rows.values()} == {9.0}


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:     # it ended in the meantime
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_grader_killed_with_sigkill_leaves_no_process_and_a_rerun_resumes(tmp_path):
    """Every submission blocks in a cell (limits raised for this run), so the two kernels
    the test waits for are certainly alive when the grader is killed; then it waits, with a
    generous deadline, for every process the grader started to be gone."""
    root = new_course(tmp_path / "course", fc.FIXTURE_ASSIGNMENT)
    answers = fc.solution_answers(root, fc.FIXTURE_ASSIGNMENT)
    blocking = {**answers, "output_size": answers["output_size"]
                + "\nimport time\ntime.sleep(1_000_000)"}
    for i in range(6):
        fc.submit(root, fc.FIXTURE_ASSIGNMENT, f"s{i}",
                  fc.student_notebook(root, fc.FIXTURE_ASSIGNMENT, blocking))
    cmd = [str(fc.VENV_BIN / "poolgrade"), "grade", fc.FIXTURE_ASSIGNMENT, "--workers", "2",
           "--no-progress", "--cell-timeout", "1000000", "--submission-timeout", "1000000"]
    proc = subprocess.Popen(cmd, cwd=root, env=fc.nbgrader_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 300
        kernels: list[int] = []
        while len(kernels) < 2:
            assert proc.poll() is None, "the grader stopped on its own"
            assert time.monotonic() < deadline, f"{len(kernels)} kernel(s) alive after 300 s"
            seen |= _descendants(proc.pid)
            kernels = [p for p in seen if _alive(p) and b"ipykernel" in _cmdline(p)]
            time.sleep(0.2)
        seen |= _descendants(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 60
    while [p for p in seen if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.2)
    survivors = [p for p in seen if _alive(p)]
    assert not survivors, [_cmdline(p)[:100] for p in survivors]

    for i in range(6):
        fc.submit(root, fc.FIXTURE_ASSIGNMENT, f"s{i}",
                  fc.student_notebook(root, fc.FIXTURE_ASSIGNMENT, answers))
    rerun = grade(fc.FIXTURE_ASSIGNMENT, root, workers=2, progress=False)
    assert sorted(r.student for r in rerun.rows) == [f"s{i}" for i in range(6)]
    assert {r.total for r in rerun.rows} == {9.0}


@pytest.mark.slow
def test_grading_refuses_without_a_sandbox_unless_told(tmp_path):
    root = new_course(tmp_path / "course", fc.FIXTURE_ASSIGNMENT)
    normal_submissions(root, fc.FIXTURE_ASSIGNMENT, fc.WRONG_FIXTURE)
    env = fc.nbgrader_env()
    env["PATH"] = str(fc.VENV_BIN)          # no bwrap, prlimit or setpriv on it
    cmd = [str(fc.VENV_BIN / "poolgrade"), "grade", fc.FIXTURE_ASSIGNMENT, "--no-progress"]
    refused = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode == 1, refused.stderr[-2000:]
    assert "cannot sandbox" in refused.stderr and "--unsandboxed" in refused.stderr
    assert "Traceback" not in refused.stderr
    autograde = subprocess.run([str(fc.VENV_BIN / "nbgrader"), "autograde",
                                fc.FIXTURE_ASSIGNMENT], cwd=root, env=env, capture_output=True,
                               text=True, timeout=300)
    assert "cannot sandbox" in autograde.stdout + autograde.stderr
    allowed = subprocess.run(cmd + ["--unsandboxed"], cwd=root, env=env, capture_output=True,
                             text=True, timeout=600)
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    rows = {r["student"]: r for r in read_csv(root / "grade-reports" / fc.FIXTURE_ASSIGNMENT
                                              / "grades.csv")}
    assert float(rows["correct"]["total"]) == 9 and float(rows["untouched"]["total"]) == 0
    assert {r["sandbox"] for r in rows.values()} == {"none (--unsandboxed)"}


# ----------------------------------------------------------------------------- fast unit tests
def test_reading_broken_notebooks_names_the_problem(tmp_path):
    import nbformat

    from poolgrade.batch.submissions import read_notebooks

    good = nbformat.writes(nbformat.v4.new_notebook())
    cases = {
        "truncated": ("lesson.ipynb", good[:-10], "invalid_notebook", "not valid JSON"),
        "empty": ("lesson.ipynb", "", "invalid_notebook", "empty"),
        "not-a-notebook": ("lesson.ipynb", '{"hello": 1}', "invalid_notebook", "not a notebook"),
        "binary": ("lesson.ipynb", b"\xff\xfe\x00garbage", "invalid_notebook", "UTF-8"),
        "renamed": ("Copy of lesson.ipynb", good, "notebook_renamed", "Copy of lesson.ipynb"),
        "missing": ("notes.txt", "hi", "missing_notebook", "found no notebook"),
    }
    for name, (filename, content, kind, words) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        path = folder / filename
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        notebooks, events = read_notebooks(str(folder), ["lesson"])
        assert [e.kind for e in events] == [kind], (name, events)
        assert words in events[0].detail, (name, events[0].detail)
        assert (notebooks["lesson"] is not None) == (kind == "notebook_renamed")


def test_repair_restores_renamed_ids_and_lists_what_nbgrader_will_restore():
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from poolgrade.batch.repair import repair

    def meta(gid, grade, solution, locked):
        return {"nbgrader": {"grade_id": gid, "grade": grade, "solution": solution,
                             "locked": locked, "schema_version": 3, "points": 1}}

    source_cells = {  # grade_id -> (type, locked, checksum, is_grade, is_solution)
        "pool": ("code", False, "c1", False, True),
        "test_pool_a": ("code", True, "c2", True, False),
        "test_pool_b": ("code", True, "c3", True, False),
        "why": ("markdown", False, "c4", True, True),
    }
    order = ["pool", "test_pool_a", "test_pool_b", "why"]
    nb = new_notebook(cells=[
        new_code_cell("def pool(): ...", metadata=meta("my_pool", False, True, False)),
        new_code_cell("pass", metadata=meta("test_pool_a", True, False, True)),
        new_markdown_cell("because", metadata=meta("why", True, True, False)),
    ])
    nb.cells[2].cell_type = "code"  # retyped: markdown answer turned into code
    events = repair(nb, source_cells, order, "lesson")
    kinds = {e.kind: e for e in events}
    assert nb.cells[0].metadata.nbgrader.grade_id == "pool"
    assert "my_pool" in kinds["grade_id_restored"].detail
    assert "test_pool_b" in kinds["test_deleted"].detail
    assert kinds["test_edited"].grade_id == "test_pool_a"
    assert kinds["cell_type_restored"].grade_id == "why"

    # no missing cell of its kind (a locked cell that is neither test nor answer)
    unknown = new_notebook(cells=[new_code_cell("x = 1", metadata=meta("zzz", False, False,
                                                                        True))])
    events = repair(unknown, source_cells, order, "lesson")
    cell = next(c for c in unknown.cells if c.source == "x = 1")
    assert "nbgrader" not in cell.metadata
    assert any(e.kind == "grade_id_unknown" for e in events)
    # the deleted solution cell comes back empty, ahead of where its tests will be restored
    assert unknown.cells[0].metadata.nbgrader.grade_id == "pool"
    assert any(e.kind == "test_deleted" and e.grade_id == "pool" for e in events)


def test_output_cap_never_drops_what_nbgrader_grades_on():
    """A solution that prints megabytes inside a test cell must not push the test's error,
    its stderr or its partial-credit result out of the notebook (nbgrader grades on them)."""
    from poolgrade.execution.notebook import GradingExecute

    executor = GradingExecute()
    executor.max_output_bytes = 1000
    executor.reset_execution_trackers()
    executor._out_bytes, executor._dropped, executor._truncated_streams = {}, {}, set()
    executor.clear_before_next_output = False  # set per cell by nbclient

    def message(kind, content):
        return {"msg_type": kind, "header": {"msg_type": kind}, "metadata": {},
                "parent_header": {"msg_id": "m"}, "content": content}

    outs = []
    for _ in range(500):
        executor.output(outs, message("stream", {"name": "stdout", "text": "x" * 100}), None, 0)
    executor.output(outs, message("display_data", {"data": {"text/plain": "y" * 5000},
                                                   "metadata": {}}), None, 0)
    executor.output(outs, message("stream", {"name": "stderr", "text": "warning"}), None, 0)
    executor.output(outs, message("execute_result", {"data": {"text/plain": "0.5"},
                                                     "metadata": {}, "execution_count": 1}),
                    None, 0)
    executor.output(outs, message("error", {"ename": "AssertionError", "evalue": "e" * 10**5,
                                            "traceback": ["line"] * 500}), None, 0)
    kinds = [(o.output_type, o.get("name")) for o in outs]
    assert ("stream", "stderr") in kinds and ("execute_result", None) in kinds
    assert ("error", None) in kinds and ("display_data", None) not in kinds
    assert kinds.count(("stream", "stdout")) <= 11
    assert sum(len(json.dumps(o)) for o in outs) < 20_000
    assert executor._dropped[0] > 50_000
    result = next(o for o in outs if o.output_type == "execute_result")
    assert result["data"]["text/plain"] == "0.5"


def test_grader_and_command_import_light_and_document_their_options():
    code = ("import sys, poolgrade, poolgrade.cli\n"
            "heavy = ('nbgrader', 'nbclient', 'nbconvert', 'dask', 'distributed', 'matplotlib',"
            " 'jupyter_client', 'torch', 'tensorflow')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    helptext = subprocess.run([sys.executable, "-m", "poolgrade.cli", "grade", "--help"],
                              capture_output=True, text=True, check=True).stdout
    for option in ("--submissions", "--workers", "--scheduler", "--cell-timeout",
                   "--submission-timeout", "--memory-limit", "--force", "--unsandboxed"):
        assert option in helptext
    bad = subprocess.run([sys.executable, "-m", "poolgrade.cli", "grade", "x", "--workers", "0"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "positive whole number" in bad.stderr


def test_csv_cells_never_start_a_formula_and_read_back_unchanged(tmp_path):
    """Every cell of grades.csv and misconceptions.csv that a spreadsheet would take for a
    formula gets a single quote in front; numbers, negative ones included, stay numbers;
    read_csv gives back exactly what was written."""
    import csv

    from poolgrade.batch import report
    from poolgrade.batch.course import Exercise
    from poolgrade.model import GradeRow

    exercises = [Exercise("pool", ["test_pool"], 2.0), Exercise("@size", ["test_size"], 1.0)]
    names = [*FORMULA_NAMES, "\r=zz", "'quoted", "''=x", "plain"]
    rows = [GradeRow(student=name, points={"pool": -1.5, "@size": 1.0}, total=-0.5,
                     max_total=3.0, status="blocked", reason="=HYPERLINK(\"x\")",
                     diagnoses={"pool": "-mistake"}) for name in names]
    path = tmp_path / "grades.csv"
    report.write_csv(str(path), exercises, rows)
    report.write_misconceptions(str(tmp_path), exercises, rows, "lesson")
    for written in (path, tmp_path / "misconceptions.csv"):
        with open(written, newline="", encoding="utf-8") as f:
            cells = [cell for line in csv.reader(f) for cell in line]
        assert cells and not [c for c in cells if starts_a_formula(c)], written
    with open(path, newline="", encoding="utf-8") as f:
        raw = {line[0]: line for line in csv.reader(f)}
    assert raw["'=2+5+cmd|' -C calc'!A0"][1:4] == ["-1.50", "1", "-0.50"], \
        "numbers are written as numbers"
    back = {r["student"]: r for r in report.read_csv(str(path))}
    assert sorted(back) == sorted(names)
    row = back["+zz"]
    assert (row["pool"], row["@size"], row["total"]) == ("-1.50", "1", "-0.50")
    assert row["reason"] == "=HYPERLINK(\"x\")" and row["diagnosis"] == "pool: -mistake"
    table = report.read_csv(str(tmp_path / "misconceptions.csv"))
    assert {r["exercise"] for r in table} == {"pool", "@size"}


def _zip(path: Path, entries: dict) -> Path:
    return zip_submissions(path, entries)


def test_unpacking_skips_bad_zip_entries_and_names_them(tmp_path):
    from poolgrade.batch.submissions import find_submissions, unpack_zip

    into = tmp_path / "into"
    into.mkdir()
    bad = "submitted/mallory/lesson/../../../../escaped.txt"
    archive = _zip(tmp_path / "class.zip", {
        "submitted/alice/lesson/lesson.ipynb": b"{}",
        "submitted/bob/lesson/lesson.ipynb": b"{}",
        "submitted/bob/lesson/link": ("link", "/etc/passwd"),
        bad: b"x",
        "../top.txt": b"x",
        "/absolute.txt": b"x",
        "C:\\windows.txt": b"x",
        "..\\..\\backslashes.txt": b"x",
    })
    root, left_out = unpack_zip(str(archive), "lesson", str(into))
    assert Path(root) == into / "submitted"
    found, others = find_submissions(root, "lesson", left_out)
    by_student = {s.student: [e.detail for e in s.events] for s in found}
    assert sorted(by_student) == ["alice", "bob", "mallory"]
    assert by_student["alice"] == []
    assert len(by_student["bob"]) == 1 and "link" in by_student["bob"][0]
    assert len(by_student["mallory"]) == 1 and bad in by_student["mallory"][0]
    assert all(e.kind == "blocked" for s in found for e in s.events)
    named = " ".join(item.describe() for item in others)
    for entry in ("../top.txt", "/absolute.txt", "C:\\windows.txt", "..\\..\\backslashes.txt"):
        assert entry in named, (entry, named)
    # nothing outside the extraction folder, no link extracted
    for name in ("escaped.txt", "top.txt", "absolute.txt", "backslashes.txt"):
        assert not list(tmp_path.rglob(name)) or all(
            into in p.parents for p in tmp_path.rglob(name)), name
    assert not (into / "submitted" / "bob" / "lesson" / "link").exists()
    # the skipped entries count in the resume hash: a fixed zip regrades the student
    clean = tmp_path / "clean"
    clean.mkdir()
    root2, left2 = unpack_zip(str(_zip(tmp_path / "clean.zip", {
        "submitted/bob/lesson/lesson.ipynb": b"{}"})), "lesson", str(clean))
    bob_clean = find_submissions(root2, "lesson", left2)[0][0]
    assert bob_clean.digest != next(s for s in found if s.student == "bob").digest


def test_zip_bombs_are_refused_before_anything_is_written(tmp_path, monkeypatch):
    from poolgrade.batch import submissions

    big = b"\0" * (4 << 20)          # 4 MB of zeros, a few kB compressed
    archive = _zip(tmp_path / "bomb.zip", {f"s{i}/lesson/lesson.ipynb": big for i in range(3)})
    assert archive.stat().st_size < 100_000
    monkeypatch.setattr(submissions, "MAX_ZIP_BYTES", 10 << 20)
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(ValueError, match="12 MB"):
        submissions.unpack_zip(str(archive), "lesson", str(into))
    assert list(into.iterdir()) == []
    # one file over the bound for a file: that entry is skipped and named, the rest unpacked
    monkeypatch.setattr(submissions, "MAX_ZIP_BYTES", 100 << 20)
    monkeypatch.setattr(submissions, "MAX_ZIP_FILE_BYTES", 1 << 20)
    archive = _zip(tmp_path / "one.zip", {"s0/lesson/lesson.ipynb": b"{}",
                                          "s1/lesson/lesson.ipynb": b"{}",
                                          "s1/lesson/huge.bin": big})
    root, left_out = submissions.unpack_zip(str(archive), "lesson", str(tmp_path / "one"))
    assert [i.student for i in left_out] == ["s1"] and "4 MB" in left_out[0].why
    assert not (Path(root) / "s1" / "lesson" / "huge.bin").exists()
    monkeypatch.setattr(submissions, "MAX_ZIP_ENTRIES", 2)
    with pytest.raises(ValueError, match="3 entries"):
        submissions.unpack_zip(str(archive), "lesson", str(tmp_path / "two"))


def test_submission_layouts_are_understood_or_refused_by_name(tmp_path):
    from poolgrade.batch.submissions import find_submissions, unpack_zip

    layout = "<student>/lesson/<notebook>.ipynb"

    def unpack(name, entries):
        into = tmp_path / name
        into.mkdir()
        return unpack_zip(str(_zip(tmp_path / f"{name}.zip", entries)), "lesson", str(into))

    with pytest.raises(ValueError) as beside:
        unpack("beside", {"submitted/alice/lesson/l.ipynb": b"{}",
                          "mallory/lesson/l.ipynb": b"{}"})
    assert "'submitted/'" in str(beside.value) and "'mallory'" in str(beside.value)
    assert layout in str(beside.value)
    with pytest.raises(FileNotFoundError) as flat:
        unpack("flat", {"alice/l.ipynb": b"{}", "README.txt": b"hi"})
    assert "'alice'" in str(flat.value) and layout in str(flat.value)
    root, left_out = unpack("wrapped", {"export/submitted/alice/lesson/l.ipynb": b"{}",
                                        "export/readme.txt": b"hi",
                                        "__MACOSX/export/submitted/alice/lesson/._l": b"x",
                                        "export/submitted/notes/draft.ipynb": b"{}",
                                        "export/submitted/bob/02-other/x.ipynb": b"{}"})
    assert Path(root) == tmp_path / "wrapped" / "export" / "submitted"
    found, others = find_submissions(root, "lesson", left_out)
    assert [s.student for s in found] == ["alice"]
    named = [item.describe() for item in others]
    assert any("'export/readme.txt'" in n for n in named), named
    assert any("folder 'notes/'" in n and layout in n for n in named), named
    assert not any("bob" in n for n in named), "another assignment's folder is no stray"

    # a folder: one wrapped a level too deep, an empty one
    deep = tmp_path / "deep" / "hw2" / "carol" / "lesson"
    deep.mkdir(parents=True)
    with pytest.raises(ValueError) as wrapped:
        find_submissions(str(tmp_path / "deep"), "lesson")
    assert "'hw2/'" in str(wrapped.value) and str(tmp_path / "deep" / "hw2") in str(
        wrapped.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no submission"):
        find_submissions(str(tmp_path / "empty"), "lesson")


def test_markdown_that_a_browser_would_act_on_is_shown_as_plain_text():
    """Judged on nbconvert's own rendering (what the formgrader and the feedback show):
    every attack cell renders with nothing active, ordinary cells are not touched at all,
    and cells nbgrader locked (the instructor's) are left alone."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    from nbformat.v4 import new_markdown_cell, new_notebook

    from poolgrade.execution.preprocessors import InertMarkdown

    attacks = [
        f"<script>alert('{XSS}')</script>",
        f"text <img src=x onerror=\"alert('{XSS}')\">",
        f"<iframe src=\"javascript:alert('{XSS}')\"></iframe>",
        f"[click](javascript:alert('{XSS}'))",
        f"[click](jav&#x09;ascript:alert('{XSS}'))",
        f"[click][r]\n\n[r]: JaVaScRiPt:alert('{XSS}')",
        f"<javascript:alert('{XSS}')>",
        f"```mermaid\n<img src=x onerror=\"alert('{XSS}')\">\n```",
        f"$\\href{{javascript:alert('{XSS}')}}{{x}}$",
        f"- a list\n\n  <svg onload=\"alert('{XSS}')\"></svg>",
        f"````\nfence\n```\n<script>{XSS}</script>",
    ]
    ordinary = [
        "# Heading\n\nSome *emphasis*, **strong**, `a < b` and $x^2 < y$.\n\n- one\n- two\n",
        "1. first\n2. second\n\n```python\nif a < b:\n    pass\n```\n\n> quoted\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n",
        "Links: <https://example.org>, [docs](https://numpy.org), [mail](mailto:a@b.c), "
        "[section](#top), ![figure](figures/x.png), ![pasted](attachment:image.png).",
        "The sizes go 225 -> 112 -> 56 and `k > s` loses a border: $(1/4)^n$ & more.",
    ]
    locked = new_markdown_cell("<div class='hint'>instructor's HTML</div>", metadata={
        "nbgrader": {"grade": False, "grade_id": "intro", "locked": True, "solution": False,
                     "schema_version": 3, "task": False}})
    nb = new_notebook(cells=[new_markdown_cell(s) for s in attacks + ordinary] + [locked])
    nb, _ = InertMarkdown()(nb, {})
    for cell, before in zip(nb.cells, attacks):
        page = markdown2html_mistune(cell.source)
        found = ActiveContent(page)
        assert not found.scripts and not found.frames and not found.handlers, (before, page)
        assert not found.dangerous_urls() and not found.urls, (before, page)
        assert XSS in "".join(found.text), "the student's text is still there to read"
    for cell, before in zip(nb.cells[len(attacks):], ordinary):
        assert cell.source == before
    assert nb.cells[-1].source == locked.source
