"""Forged submissions (tests/attacks/catalogue.py) graded by both grading paths, for real.

One course folder holds lessons 01 (NumPy) and 05 (torch and Keras).  Every attack of the
catalogue is handed in, plus two controls per lesson (the instructor's solution, and the
release as handed out, graded after every attack so that a poisoned grader would show).
Every submission is graded by ``poolgrade grade``; a copy of the course with a sample of the
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
  set by anyone;
- the attacks on the grader itself (``attacks/against_the_grader.py``) changed nothing they
  aimed at: a canary folder of root-owned files outside every sandbox is untouched, no
  hidden input reached the feedback, no student markdown is active in a rendered page, the
  grader's peak memory stayed within its budget, the disk filler was held to the quota, the
  diagnosis named no mistake on probes alone, and no process of the grading is left;
- a zip of submissions with formula-like student names and a ``../`` entry grades every
  honest student, names the bad entry and escapes every CSV cell a spreadsheet would run;
  a stray top-level folder next to ``submitted/`` is never passed over in silence.

``POOLKIT_ATTACKS`` grades part of the catalogue only (see ``tests/attacks/README.md``).
"""

from __future__ import annotations

import collections
import contextlib
import csv
import hashlib
import html
import html.parser
import json
import os
import re
import secrets
import shutil
import site
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]

from poolgrade import Limits, grade  # noqa: E402
from poolgrade.batch.report import read_csv  # noqa: E402
from poolgrade.sandbox.bwrap import SANDBOX_UID, unavailable_reason  # noqa: E402
from tests.integration.attacks import against_the_grader as on_grader  # noqa: E402
from tests.integration.attacks import catalogue  # noqa: E402
from tests.support import fixture_course as fc  # noqa: E402

LESSONS = ("01-max-vs-average", "05-keras-and-pytorch")
L01 = LESSONS[0]
# Endless loops and bombs are cut quickly; the lessons need well under this.  scratch_mb:
# all one kernel may write (its working folder and /tmp); the grader this issue fixed let
# the disk filler write 2 GiB onto the host's disk (1 GiB, the filler's own cap, in each of
# two folders), measured by this test.
LIMITS = Limits(cell_timeout=30, submission_timeout=240, memory_mb=4096, scratch_mb=256)
# Graded by nbgrader autograde too, beyond the sample of kinds: what only a one-process
# grader shows (its memory), the feedback it renders itself, and the canary.
ALSO_ON_BOTH_PATHS = ("attack-reply-bomb", "attack-huge-counterexample",
                      "attack-hidden-inputs-and-script", "attack-chown-race-canary")
# Graded one by one (nbgrader autograde --student) so that each run's peak memory is its own;
# the instructor's solution, graded the same way, is the baseline.
MEMORY_BASELINE = "control-01-solution"
MEMORY_ATTACKS = ("attack-reply-bomb", "attack-huge-counterexample")
# What one submission may add to the grader's peak memory: the grader's stated budget for
# a test cell (README, "A submission can cost the grader a stated budget") is 1,024 MB above
# what it held when the cell began.  Before issue 16 the grader peaked 1.44 GiB above the
# solution for the huge counterexample (padding it to 14,001 x 14,001) and 2.66 GiB above
# it for the reply bomb (ast.literal_eval of 5 MB), both measured by this test.
GRADER_MEMORY_BUDGET_KIB = 1024 * 1024
# The hidden cases of lesson 01's test_max_pool2d_loops_hidden, which
# attack-hidden-inputs-and-script tries to carry into its feedback.
HIDDEN_CASES = {"seed": 2021, "n": 12, "square": False, "stride_none": True}
# Set in the environment of everything the suite starts to grade, so that what is left of
# it afterwards can be found: bubblewrap keeps the grader's environment (the sandboxed side
# starts from an empty one), and a kernel's command line names its connection file, in the
# grading's own temporary folder.
RUN_MARK = "POOLKIT_ATTACK_RUN"
# To grade a few attacks only (the controls always): their names, comma-separated, or
# "against-the-grader" for those of attacks/against_the_grader.py.  Tests about an attack
# left out are skipped.
ONLY = os.environ.get("POOLKIT_ATTACKS", "")

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


def selected_attacks() -> list:
    """The catalogue, or the part of it that ``$POOLKIT_ATTACKS`` names."""
    if not ONLY:
        return list(catalogue.ATTACKS)
    if ONLY == "against-the-grader":
        wanted = {attack.name for attack in on_grader.ATTACKS}
    else:
        wanted = {name.strip() for name in ONLY.split(",") if name.strip()}
    unknown = wanted - {attack.name for attack in catalogue.ATTACKS}
    assert not unknown, f"POOLKIT_ATTACKS names no attack {sorted(unknown)}"
    return [attack for attack in catalogue.ATTACKS if attack.name in wanted]


def _submit_all(root: Path) -> dict[str, tuple[str, dict]]:
    """Every attack and the controls; returns student -> (lesson, test-cell grade_id ->
    "zero" or "full" under honest grading)."""
    expected = {}
    for lesson in LESSONS:
        solution = nbformat.read(fc.source_notebook_path(root, lesson), as_version=4)
        release = nbformat.read(fc.release_notebook_path(root, lesson), as_version=4)
        tests = fc.exercises(root, lesson)
        tag = lesson[:2]
        fc.submit(root, lesson, f"control-{tag}-solution",
                  fc.student_notebook(root, lesson, fc.solution_answers(root, lesson)))
        fc.submit(root, lesson, f"zz-control-{tag}-blank", release)
        expected[f"control-{tag}-solution"] = (lesson, {t: "full" for ts in tests.values()
                                                         for t in ts})
        expected[f"zz-control-{tag}-blank"] = (lesson, {t: "zero" for ts in tests.values()
                                                         for t in ts})
        for attack in selected_attacks():
            if attack.lesson != lesson:
                continue
            folder = fc.submit(root, lesson, attack.name,
                               catalogue.apply(attack, solution, release))
            catalogue.write_files(attack, folder)
            expected[attack.name] = (lesson, catalogue.expected_points(attack, tests))
    return expected


def both_paths_sample(attacks=None) -> set[str]:
    """Attacks graded by nbgrader autograde as well: of ``attacks`` (default: the whole
    catalogue), two of each kind on lesson 01, one of each kind on lesson 05 (at least 25 in
    all), and ALSO_ON_BOTH_PATHS."""
    attacks = catalogue.ATTACKS if attacks is None else attacks
    picked = {attack.name for attack in attacks if attack.name in ALSO_ON_BOTH_PATHS}
    count = {}
    for attack in attacks:
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
    sample = both_paths_sample(selected_attacks())
    for folder in (twin / "submitted").iterdir():
        if folder.name.startswith("attack-") and folder.name not in sample:
            shutil.rmtree(folder)
    # a short path: the kernels' sockets live below it
    private_tmp = Path(tempfile.mkdtemp(prefix="pk-attacks-"))
    mark = secrets.token_hex(8)
    try:
        canary_before = _make_canary()
        before = {"git": _git_status(), "env": _environment_listing(),
                  "course": _tree_digest(root, skip=("submitted", "autograded", "feedback",
                                                     "gradebook.db", "grade-reports")),
                  "twin": _tree_digest(twin / "solutions")}
        results = {}
        with _marked_grading(private_tmp, mark):
            for lesson in LESSONS:
                results[lesson] = grade(lesson, root, workers=2, limits=LIMITS,
                                        progress=False)
        env = fc.nbgrader_env()   # (POOLKIT_CHECK_TIME_LIMIT included)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
        env["TMPDIR"], env[RUN_MARK] = str(private_tmp), mark
        autograde = [str(Path(sys.executable).parent / "nbgrader"), "autograde",
                     f"--Execute.timeout={LIMITS.cell_timeout}",
                     f"--GradingExecute.wall_limit={LIMITS.submission_timeout}",
                     "--GradingExecute.memory_mb=4096",
                     f"--GradingExecute.scratch_mb={LIMITS.scratch_mb}"]
        # first the submissions whose peak memory is measured, alone; the runs below skip
        # what is graded already
        peaks = {student: _peak_memory([*autograde, L01, "--student", student], twin, env,
                                       base / f"peak-{student}.json")
                 for student in (MEMORY_BASELINE, *MEMORY_ATTACKS) if student in expected}
        logs = {}
        for lesson in LESSONS:
            proc = subprocess.run([*autograde, lesson], cwd=twin, env=env,
                                  capture_output=True, text=True)
            feedback = subprocess.run([str(Path(sys.executable).parent / "nbgrader"),
                                       "generate_feedback", lesson], cwd=twin, env=env,
                                      capture_output=True, text=True)
            logs[lesson] = (proc, feedback)
        leftover = _processes_of_the_run(mark, private_tmp)
        after = {"git": _git_status(), "env": _environment_listing(),
                 "course": _tree_digest(root, skip=("submitted", "autograded", "feedback",
                                                    "gradebook.db", "grade-reports")),
                 "twin": _tree_digest(twin / "solutions")}
        canary_after = _canary_state()
    finally:
        shutil.rmtree(on_grader.CANARY, ignore_errors=True)
        shutil.rmtree(private_tmp, ignore_errors=True)
    return {"root": root, "twin": twin, "expected": expected, "results": results,
            "logs": logs, "before": before, "after": after, "peaks": peaks,
            "leftover": leftover, "canary": (canary_before, canary_after),
            "twin_students": {s for s in expected if not s.startswith("attack-") or s in sample}}


@contextlib.contextmanager
def _marked_grading(private_tmp: Path, mark: str):
    """While grading in this process: temporary folders in ``private_tmp`` and ``mark`` in
    the environment (the workers are forked from here and inherit both)."""
    saved = {name: os.environ.get(name) for name in ("TMPDIR", RUN_MARK)}
    saved_tempdir = tempfile.tempdir
    os.environ["TMPDIR"], os.environ[RUN_MARK] = str(private_tmp), mark
    tempfile.tempdir = str(private_tmp)
    try:
        yield
    finally:
        tempfile.tempdir = saved_tempdir
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _make_canary() -> dict:
    """The canary the chown race aims at: a fresh folder of files owned by this user (root
    in CI) at the fixed path the attack knows; returns its state."""
    canary = Path(on_grader.CANARY)
    if canary.is_symlink():
        canary.unlink()
    elif canary.exists():
        shutil.rmtree(canary)
    canary.mkdir(mode=0o755, parents=True)
    for name in on_grader.canary_names():
        (canary / name).write_text(f"canary {name}\n")
        (canary / name).chmod(0o644)
    return _canary_state()


def _canary_state() -> dict:
    """name -> (uid, gid, mode, sha256 of the content) of the canary folder and its files,
    read without following links."""
    canary = Path(on_grader.CANARY)
    state = {}
    for path in [canary, *sorted(canary.iterdir())]:
        st = os.lstat(path)
        content = path.read_bytes() if stat.S_ISREG(st.st_mode) else b""
        state[path.name] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode),
                            stat.S_IFMT(st.st_mode), hashlib.sha256(content).hexdigest())
    return state


# Runs a command and reports the largest resident set of any process of its tree
# (RUSAGE_CHILDREN: the kernel keeps the maximum as every descendant is reaped, so nothing
# is sampled and nothing can be missed).
_PEAK_WRAPPER = """import json, resource, subprocess, sys
done = subprocess.run(sys.argv[2:], capture_output=True, text=True)
with open(sys.argv[1], "w") as f:
    json.dump({"returncode": done.returncode, "stderr": done.stderr[-3000:],
               "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}, f)
"""


def _peak_memory(cmd: list[str], cwd: Path, env: dict, report: Path) -> dict:
    """``cmd`` run in a wrapper process of its own; its return code, the end of its stderr
    and the peak resident set (KiB) of its largest process, grader or kernel."""
    subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, str(report), *cmd], cwd=cwd,
                   env=env, check=True)
    return json.loads(report.read_text())


def _processes_of_the_run(mark: str, private_tmp: Path, patience: float = 120.0) -> list:
    """Processes the grading started that are still running, once they have had
    ``patience`` seconds to go (processes end asynchronously after their kernel is shut
    down; this returns as soon as none is left).  Theirs: a process whose environment holds
    ``mark`` (bubblewrap, its launcher; every sandboxed process lives in a PID namespace
    that ends with bubblewrap), or one of the sandbox user that names ``private_tmp`` in
    its command line or working folder (a kernel, and whatever it forked)."""
    deadline = time.monotonic() + patience
    while True:
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    environ = f.read()
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
                uid = os.stat(f"/proc/{entry.name}").st_uid
                cwd = os.readlink(f"/proc/{entry.name}/cwd") if uid == SANDBOX_UID else ""
            except OSError:   # ended meanwhile, or not ours to read
                continue
            ours = f"{RUN_MARK}={mark}".encode() in environ.split(b"\0") or (
                uid == SANDBOX_UID and (str(private_tmp) in cmdline
                                        or cwd.startswith(str(private_tmp))))
            if ours:
                found.append(f"{entry.name} (uid {uid}): {cmdline[:200]}")
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.5)


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
    for student, run in graded["peaks"].items():
        assert run["returncode"] == 0, f"{student}: {run['stderr']}"


@pytest.mark.parametrize("path", ["poolgrade grade", "nbgrader autograde"])
def test_every_submission_gets_its_honest_grade(graded, path):
    root = graded["root"] if path == "poolgrade grade" else graded["twin"]
    scores = _scores(root)
    problems = []
    for student, (lesson, honest) in graded["expected"].items():
        if path == "nbgrader autograde" and student not in graded["twin_students"]:
            continue
        for test_id, points in honest.items():
            got = scores.get((student, lesson, test_id))
            if got is None:
                problems.append(f"{student}: {test_id} has no grade")
                continue
            auto, maximum, _ = got
            want = 0.0 if points == "zero" else maximum
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


# --------------------------------------------------------------------------- the grader itself


def _selected(graded, student: str) -> str:
    if student not in graded["expected"]:
        pytest.skip(f"{student} was not graded (POOLKIT_ATTACKS={ONLY})")
    return student


def _autograded(root: Path, student: str) -> list:
    notebooks = [nbformat.read(path, as_version=4)
                 for path in sorted((root / "autograded" / student).rglob("*.ipynb"))]
    assert notebooks, f"{student} has no autograded notebook in {root}"
    return notebooks


def _printed(root: Path, student: str) -> str:
    """Everything the student's own cells printed, as the autograded notebook keeps it."""
    return "".join(out.get("text", "") for nb in _autograded(root, student)
                   for cell in nb.cells for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream")


def _feedback_pages(root: Path, student: str) -> list[str]:
    pages = sorted((root / "feedback" / student).rglob("*.html"))
    assert pages, f"{student} has no feedback in {root}"
    return [page.read_text(errors="replace") for page in pages]


def _paths():
    return [pytest.param("root", id="poolgrade grade"), pytest.param("twin", id="nbgrader")]


@pytest.mark.parametrize("path", _paths())
def test_the_canary_outside_every_sandbox_is_untouched(graded, path):
    """The chown race ran (its watcher started in the main kernel), and every file of the
    canary kept its owner, mode and content."""
    printed = _printed(graded[path], _selected(graded, "attack-chown-race-canary"))
    assert f"watching {on_grader.CANARY_FILES} decoys" in printed, printed[-2000:]
    before, after = graded["canary"]
    assert len(before) == on_grader.CANARY_FILES + 1
    changed = sorted(name for name in before.keys() | after.keys()
                     if before.get(name) != after.get(name))
    assert not changed, f"{len(changed)} canary entries changed, e.g. {changed[:5]}: " \
                        f"{[after.get(n) for n in changed[:5]]}"
    if os.geteuid() == 0:
        assert {uid for uid, *_ in after.values()} == {0}


def test_no_process_of_the_grading_is_left(graded):
    assert not graded["leftover"], "still running after grading:\n" + "\n".join(
        graded["leftover"])


def test_the_grader_memory_stays_within_its_budget(graded):
    """Graded alone by nbgrader autograde (one process: a bomb there would stop the class),
    each of these submissions peaks at most GRADER_MEMORY_BUDGET_KIB above the instructor's
    solution graded the same way (the peak of the largest process of the tree, grader or
    kernel; these attacks' kernels stay small)."""
    peaks = {student: run["peak_kib"] for student, run in graded["peaks"].items()}
    measured = [student for student in MEMORY_ATTACKS if student in graded["expected"]]
    if not measured:
        pytest.skip(f"none of {MEMORY_ATTACKS} was graded (POOLKIT_ATTACKS={ONLY})")
    baseline = peaks[MEMORY_BASELINE]
    assert baseline > 50 * 1024          # a real measurement: a grader with NumPy loaded
    over = {student: f"{(peaks[student] - baseline) / 1024:.0f} MiB above the solution"
            for student in measured if peaks[student] > baseline + GRADER_MEMORY_BUDGET_KIB}
    assert not over, over


def _hidden_input_values(root: Path) -> list[str]:
    """The first value of every hidden case of test_max_pool2d_loops_hidden that has full
    precision (the 'ties' cases are small integers), as Python prints it."""
    from poolkit.checks import pool_cases

    recipe = "ck.pool_cases(" + ", ".join(f"{k}={v}" for k, v in HIDDEN_CASES.items()) + ")"
    source = fc.source_notebook_path(root, L01).read_text()
    assert recipe in source, "the hidden cases of Exercise 1 changed: update HIDDEN_CASES"
    built = pool_cases(**HIDDEN_CASES).build()
    values = [repr(float(args[0].ravel()[0])) for args, _, note in built if "ties" not in note]
    assert len(values) >= 6 and all(len(v) > 12 for v in values), values
    return values


@pytest.mark.parametrize("path", _paths())
def test_hidden_inputs_never_reach_the_feedback(graded, path):
    """The NumPy-only kernel's function wrote down every input it got; a later cell of the
    main kernel printed whatever it found (that cell ran: it printed something)."""
    student = _selected(graded, "attack-hidden-inputs-and-script")
    printed = _printed(graded[path], student)
    assert re.search(r"^\(\d+, \d+, \d+, \d+\) \[", printed, re.MULTILINE) \
        or "no inputs seen" in printed, printed[-2000:]
    values = _hidden_input_values(graded[path])
    for page in _feedback_pages(graded[path], student):
        leaked = [v for v in values if v in page]
        assert not leaked, f"hidden inputs in the feedback: {leaked}"


class _ActiveContent(html.parser.HTMLParser):
    """What of the attack's markdown would run in a browser: a script element or an
    event-handler attribute carrying its markers."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script = False

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on") and on_grader.ONERROR_MARKER in (value or ""):
                self.found.append(f"<{tag} {name}=...>")
        self._script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = False

    def handle_data(self, data):
        if self._script and on_grader.SCRIPT_MARKER in data:
            self.found.append(f"<script>{data.strip()[:80]}</script>")


def _active_content(page: str) -> list[str]:
    parser = _ActiveContent()
    parser.feed(page)
    parser.close()
    return parser.found


# The formgrader's rendering of an autograded notebook, outside the server: its exporter,
# built from the course's configuration the way its extension builds it.
_FORMGRADER_PAGES = """import json, sys
from nbconvert.exporters import HTMLExporter
from nbgrader.apps import NbGrader
from nbgrader.server_extensions.formgrader import handlers
app = NbGrader()
app.load_config_file()
config = app.config
config.HTMLExporter.template_name = "formgrade"
config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
exporter = HTMLExporter(config=config)
pages = []
for path in sys.argv[1:]:
    resources = {"assignment_id": "a", "notebook_id": "n", "submission_id": "s", "index": 0,
                 "total": 1, "base_url": "", "student": "s", "last_name": "",
                 "first_name": "", "notebook_path": path}
    pages.append(exporter.from_filename(path, resources=resources)[0])
json.dump(pages, sys.stdout)
"""


def _formgrader_pages(root: Path, student: str) -> list[str]:
    notebooks = sorted(str(p) for p in (root / "autograded" / student).rglob("*.ipynb"))
    assert notebooks, f"{student} has no autograded notebook in {root}"
    done = subprocess.run([sys.executable, "-c", _FORMGRADER_PAGES, *notebooks], cwd=root,
                          env=fc.nbgrader_env(), capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("path", _paths())
def test_student_markdown_is_inert_in_every_page(graded, path):
    """The written answer's <script> and <img onerror> run neither in the feedback nor in
    the formgrader's page of the autograded notebook (the answer's text is there)."""
    student = _selected(graded, "attack-hidden-inputs-and-script")
    pages = _feedback_pages(graded[path], student) + _formgrader_pages(graded[path], student)
    for page in pages:
        assert "Average pooling, because it keeps the mean level" in page
        active = _active_content(page)
        assert not active, active


def test_the_disk_filler_is_held_to_the_quota(graded):
    """The filler (a last cell of the main kernel) printed how many bytes each folder it
    could write accepted, written in files under the per-file limit: together no more than
    the kernel's scratch limit."""
    printed = _printed(graded["root"], _selected(graded, "attack-disk-filler"))
    line = next((x for x in printed.splitlines() if x.startswith(on_grader.DISK_REPORT)), None)
    assert line is not None, printed[-2000:]
    written = json.loads(line[len(on_grader.DISK_REPORT):])
    assert written, "the filler found no folder to write"
    total = sum(written.values())
    assert total <= LIMITS.scratch_mb * 2**20, f"{total / 2**20:.0f} MiB written: {written}"


def test_probes_alone_name_no_mistake(graded):
    """The spoof is wrong on the tests and returns a known mistake's outputs on the shipped
    probes: no report may name that mistake for it."""
    student = _selected(graded, "attack-diagnosis-spoof")
    results = graded["results"][L01]
    rows = {row["student"]: row for row in read_csv(results.csv_path)}
    assert rows[student]["diagnosis"] == "", rows[student]
    named = collections.Counter(
        (item.partition(": ")[0], item.partition(": ")[2]) for row in rows.values()
        for item in row["diagnosis"].split("; ") if item)
    table = Path(results.csv_path).parent / "misconceptions.csv"
    for row in read_csv(table):
        if row["diagnosis"] not in ("correct", "undiagnosed"):
            assert int(row["students"]) == named[(row["exercise"], row["diagnosis"])], row
    for nb in _autograded(graded["root"], student):
        named_here = [cell.metadata.get("poolkit", {}).get("diagnosis") for cell in nb.cells]
        assert not any(named_here), named_here


# --------------------------------------------------------------------------- a zip of a class

# Student ids a spreadsheet would run as formulas (each hands in the blank release).
FORMULA_NAMES = ("=2+5+cmd|' -C calc'!A0", "+zz", "@zz", "-zz")
STRAY_FOLDER = "instructor-test"


def _runs_as_formula(cell: str) -> bool:
    """Whether Excel, LibreOffice or Google Sheets would read a CSV cell as a formula."""
    if cell.strip().lstrip("-").replace(".", "", 1).isdigit():
        return False      # a number, negative or not
    return cell.lstrip(" \t\r")[:1] in ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d",
                                        "\uff20") or cell[:1] in ("\t", "\r")


def _poolkit_grade(root: Path, archive: Path, report_dir: Path):
    return subprocess.run(
        [str(Path(sys.executable).parent / "poolgrade"), "grade", L01, "--course-dir", str(root),
         "--submissions", str(archive), "--report-dir", str(report_dir), "--workers", "2",
         "--no-progress", "--cell-timeout", str(LIMITS.cell_timeout),
         "--submission-timeout", str(LIMITS.submission_timeout)],
        cwd=archive.parent, env=fc.nbgrader_env(), capture_output=True, text=True)


@pytest.fixture(scope="module")
def zip_graded(tmp_path_factory):
    """Lesson 01 graded from two zips by the ``poolgrade grade`` command: ``class.zip`` holds
    the formula-named students in submitted/ and an entry ``../<escape>/...``;
    ``stray.zip`` holds one student in submitted/ and, next to submitted/, a folder laid out
    like a student's.  Every notebook is the blank release (quick to grade)."""
    base = tmp_path_factory.mktemp("zip")
    root = base / "course"
    root.mkdir()
    fc.copy_real_lesson(root, L01)
    fc.generate(root, L01)
    release = fc.release_notebook_path(root, L01)
    escape = f"pk-escape-{secrets.token_hex(6)}"
    with zipfile.ZipFile(base / "class.zip", "w") as zf:
        for student in FORMULA_NAMES:
            zf.write(release, f"submitted/{student}/{L01}/{release.name}")
        zf.write(release, f"../{escape}/{L01}/{release.name}")
    with zipfile.ZipFile(base / "stray.zip", "w") as zf:
        zf.write(release, f"submitted/zz-honest/{L01}/{release.name}")
        zf.write(release, f"{STRAY_FOLDER}/{L01}/{release.name}")
    runs = {name: _poolkit_grade(root, base / f"{name}.zip", base / f"reports-{name}")
            for name in ("class", "stray")}
    return {"runs": runs, "escape": escape, "base": base,
            "outside": [Path(tempfile.gettempdir()) / escape, base.parent / escape,
                        base / escape]}


def test_a_zip_grades_every_honest_student(zip_graded):
    done = zip_graded["runs"]["class"]
    table = zip_graded["base"] / "reports-class" / "grades.csv"
    assert table.exists(), done.stderr[-3000:]
    rows = read_csv(table)
    graded = {row["student"]: row for row in rows if row["student"]}
    assert set(graded) == set(FORMULA_NAMES), (sorted(graded), done.stdout[-3000:])
    assert {row["status"] for row in graded.values()} == {"ok"}, graded
    assert not any(path.exists() for path in zip_graded["outside"])


def test_a_zip_names_its_bad_entry(zip_graded):
    """The ``../`` entry: named in the CSV (not as a student, not as graded) and in the
    summary."""
    done, escape = zip_graded["runs"]["class"], zip_graded["escape"]
    assert escape in done.stdout, done.stdout[-3000:]
    rows = read_csv(zip_graded["base"] / "reports-class" / "grades.csv")
    about = [row for row in rows if escape in " ".join(row.values())]
    assert about, rows
    assert all(row["status"] != "ok" and escape not in row["student"] for row in about), about


def test_a_stray_folder_in_a_zip_is_never_silent(zip_graded):
    """A folder next to submitted/ laid out like a student's: the grader either refuses the
    zip, naming the folder, or grades submitted/ and names the folder as not graded; it
    never grades one of the two layouts and says nothing of the other."""
    done = zip_graded["runs"]["stray"]
    table = zip_graded["base"] / "reports-stray" / "grades.csv"
    if done.returncode != 0:
        assert STRAY_FOLDER in done.stderr, done.stderr[-3000:]
        return
    rows = read_csv(table)
    graded = {row["student"] for row in rows if row["student"]}
    assert graded == {"zz-honest"}, (graded, done.stdout[-3000:])
    assert STRAY_FOLDER in done.stdout, done.stdout[-3000:]
    about = [row for row in rows if STRAY_FOLDER in " ".join(row.values())]
    assert about and all(row["status"] != "ok" for row in about), about


def test_no_csv_cell_of_a_zip_runs_as_a_formula(zip_graded):
    for table in ("grades.csv", "misconceptions.csv"):
        path = zip_graded["base"] / "reports-class" / table
        assert path.exists(), zip_graded["runs"]["class"].stderr[-3000:]
        with open(path, newline="", encoding="utf-8") as f:
            cells = [cell for row in csv.reader(f) for cell in row]
        assert any(name in cell for name in FORMULA_NAMES for cell in cells) or \
            table != "grades.csv"
        assert not [cell for cell in cells if _runs_as_formula(cell)], table
