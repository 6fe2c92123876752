"""``poolkit grade``: real nbgrader, real kernels, the course's first NumPy lesson.

The slow tests build a course folder from ``solutions/01-max-vs-average`` with nbgrader's own
``generate_assignment``, hand in submissions made from the student release (correct answers,
the wrong answers of ``tests/wrong_answers/``, and one submission per fault the grader must
survive) and grade them. They check

- every fault's status and reason in the CSV, and that it costs exactly the broken exercise
  its points (never a silent 0, never a lost grade, the batch never stops);
- that scores are identical to plain sequential ``nbgrader autograde`` on the same
  submissions, and identical on a Dask cluster (``LocalCluster``);
- feedback without hidden tests, charts, the gradebook, resuming, zips, the command line.

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
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "fixtures" / "grading"))

import fixture_course as fc  # noqa: E402

from poolkit.grading import Limits, grade  # noqa: E402
from poolkit.grading.report import read_csv  # noqa: E402

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
    from poolkit.grading.course import Course

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
    from poolkit.grading.report import pass_rates

    course_exercises = __import__("poolkit.grading.course", fromlist=["Course"]).Course(
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

    manual = [e.name for e in __import__("poolkit.grading.course", fromlist=["Course"]).Course(
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
    assert "wall-clock limit of 5 s" in row["reason"]
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

    cmd = [str(fc.VENV_BIN / "poolkit"), "grade", fc.FIXTURE_ASSIGNMENT, "--submissions",
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

    bad = subprocess.run([str(fc.VENV_BIN / "poolkit"), "grade", "no-such-lesson"], cwd=root,
                         env=fc.nbgrader_env(), capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert "no-such-lesson" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_interrupted_run_keeps_what_it_graded(tmp_path):
    root = new_course(tmp_path / "course", fc.FIXTURE_ASSIGNMENT)
    answers = fc.solution_answers(root, fc.FIXTURE_ASSIGNMENT)
    slow = {**answers, "output_size": answers["output_size"] + "\nimport time\ntime.sleep(2)"}
    for i in range(8):
        fc.submit(root, fc.FIXTURE_ASSIGNMENT, f"s{i}",
                  fc.student_notebook(root, fc.FIXTURE_ASSIGNMENT, slow))
    state = root / "grade-reports" / fc.FIXTURE_ASSIGNMENT / "state.json"
    cmd = [str(fc.VENV_BIN / "poolkit"), "grade", fc.FIXTURE_ASSIGNMENT, "--workers", "1",
           "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=root, env=fc.nbgrader_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if state.exists() and len(json.loads(state.read_text())["students"]) >= 2:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err[-2000:])
    assert "run the same command again" in err
    kept = json.loads(state.read_text())["students"]
    assert 2 <= len(kept) < 8

    rerun = grade(fc.FIXTURE_ASSIGNMENT, root, workers=2, progress=False)
    assert sorted(rerun.skipped) == sorted(kept)
    assert sorted(rerun.graded + rerun.skipped) == [f"s{i}" for i in range(8)]
    assert {r.total for r in rerun.rows} == {9.0}


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


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_grader_killed_with_sigkill_leaves_no_process_and_a_rerun_resumes(tmp_path):
    root = new_course(tmp_path / "course", fc.FIXTURE_ASSIGNMENT)
    answers = fc.solution_answers(root, fc.FIXTURE_ASSIGNMENT)
    slow = {**answers, "output_size": answers["output_size"] + "\nimport time\ntime.sleep(3)"}
    for i in range(6):
        fc.submit(root, fc.FIXTURE_ASSIGNMENT, f"s{i}",
                  fc.student_notebook(root, fc.FIXTURE_ASSIGNMENT, slow))
    cmd = [str(fc.VENV_BIN / "poolkit"), "grade", fc.FIXTURE_ASSIGNMENT, "--workers", "2",
           "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=root, env=fc.nbgrader_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen |= _descendants(proc.pid)
        kernels = [p for p in seen if _alive(p) and b"ipykernel" in
                   Path(f"/proc/{p}/cmdline").read_bytes()]
        if len(kernels) >= 2:
            break
        time.sleep(0.2)
    assert kernels, "no kernel started"
    seen |= _descendants(proc.pid)
    proc.kill()
    proc.wait()
    time.sleep(3)
    survivors = [p for p in seen if _alive(p)]
    assert not survivors, [Path(f"/proc/{p}/cmdline").read_bytes()[:100] for p in survivors]

    rerun = grade(fc.FIXTURE_ASSIGNMENT, root, workers=2, progress=False)
    assert sorted(r.student for r in rerun.rows) == [f"s{i}" for i in range(6)]
    assert {r.total for r in rerun.rows} == {9.0}


@pytest.mark.slow
def test_grading_refuses_without_a_sandbox_unless_told(tmp_path):
    root = new_course(tmp_path / "course", fc.FIXTURE_ASSIGNMENT)
    normal_submissions(root, fc.FIXTURE_ASSIGNMENT, fc.WRONG_FIXTURE)
    env = fc.nbgrader_env()
    env["PATH"] = str(fc.VENV_BIN)          # no bwrap, prlimit or setpriv on it
    cmd = [str(fc.VENV_BIN / "poolkit"), "grade", fc.FIXTURE_ASSIGNMENT, "--no-progress"]
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

    from poolkit.grading.submissions import read_notebooks

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

    from poolkit.grading.repair import repair

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
    from poolkit.grading.executor import GradingExecute

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
    code = ("import sys, poolkit.grading, poolkit.cli\n"
            "heavy = ('nbgrader', 'nbclient', 'nbconvert', 'dask', 'distributed', 'matplotlib',"
            " 'jupyter_client', 'torch', 'tensorflow')\n"
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    helptext = subprocess.run([sys.executable, "-m", "poolkit.cli", "grade", "--help"],
                              capture_output=True, text=True, check=True).stdout
    for option in ("--submissions", "--workers", "--scheduler", "--cell-timeout",
                   "--submission-timeout", "--memory-limit", "--force", "--unsandboxed"):
        assert option in helptext
    bad = subprocess.run([sys.executable, "-m", "poolkit.cli", "grade", "x", "--workers", "0"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "positive whole number" in bad.stderr
