"""Real nbgrader, no mocks: generate, submit and autograde every lesson in a scratch course.

Per lesson, one ``nbgrader autograde`` run grades a batch of students:

* ``solution``: the release with the instructor's solutions filled in -> full marks;
* ``untouched``: the release as handed out -> 0 autograded points;
* ``wrong-<n>``: the solution with plausible wrong answers (the known mistakes of
  ``solutions/<lesson>/mistakes.py``, then ``tests/wrong_answers/<lesson>.py``) in
  exercises that do not use each other's answers -> each of those exercises loses points,
  the student's other independent exercises keep theirs, and a known mistake's failure
  names it;
* on lesson 01, attacks: edited and deleted test cells (also their nbgrader metadata),
  swallowed exceptions (in the
  function and through IPython's exception hook), patched NumPy comparisons, patched
  ``np.asarray``/poolkit/poolkit.checks, rebound builtins, objects with a rigged
  ``__eq__``, an endless loop inside a function and at the top of a cell, and a kernel
  that kills itself.  Each is graded as expected and none stops the batch.

To keep the batch short, endless loops are cut after 3 s by ``POOLKIT_CHECK_TIME_LIMIT``
(the checks' own limit, which that variable can only lower) and, for the lesson with
attacks, nbgrader's per-cell timeout is lowered to 15 s on the command line (the course
config's 60 s is checked in test_release_sync.py).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from poolgrade.authoring import mistake_catalogue as mistakes_tool
from poolkit.checks import diagnosis  # noqa: E402
from tests.support import ROOT, course_env, lesson_names, solution_notebook

LESSONS = lesson_names()
WRONG_DIR = ROOT / "tests" / "wrong_answers"
ATTACK_LESSON = "01-max-vs-average"
ATTACK_CELL_TIMEOUT = 15


def load_wrong(lesson: str) -> dict:
    """exercise -> [(label, source)]: the lesson's known mistakes, then its other wrong
    answers (poolgrade mistakes)."""
    return mistakes_tool.wrong_answers(lesson)


def autograded_exercises(nb) -> list[str]:
    """grade_ids of solution cells that have at least one autograded test cell."""
    meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    solutions = [m["grade_id"] for m, c in zip(meta, nb.cells)
                 if c.cell_type == "code" and m.get("solution") and not m.get("grade")]
    tests = [m["grade_id"] for m, c in zip(meta, nb.cells)
             if c.cell_type == "code" and m.get("grade") and not m.get("solution")]
    return [s for s in solutions if any(t.startswith(f"test_{s}_") for t in tests)]


def owning_exercise(test_id: str, exercises: list[str]) -> str | None:
    owners = [e for e in exercises if test_id.startswith(f"test_{e}_")]
    return max(owners, key=len) if owners else None


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_has_three_wrong_answers(lesson):
    nb = nbformat.read(solution_notebook(lesson), as_version=4)
    wrong = load_wrong(lesson)
    exercises = autograded_exercises(nb)
    assert exercises, f"{lesson} has no autograded exercise"
    missing = {e: len(wrong.get(e, [])) for e in exercises if len(wrong.get(e, [])) < 3}
    assert not missing, (f"tests/wrong_answers/{lesson}.py needs at least three wrong answers per "
                         f"exercise; too few for {missing}")
    unknown = set(wrong) - set(exercises)
    assert not unknown, f"wrong answers for exercises that do not exist: {sorted(unknown)}"
    for ex, entries in wrong.items():
        for entry in entries:
            assert len(entry) == 2 and all(isinstance(s, str) for s in entry), (ex, entry)


# --------------------------------------------------------------------------- submissions


def strip_markers(source: str) -> str:
    """The solution as a student would write it (no ### BEGIN/END SOLUTION lines)."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def cell_index(nb, grade_id: str) -> int:
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def solved(release_nb, solution_nb):
    """The release with every solution code cell filled in from the instructor notebook."""
    nb = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution_nb.cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            cell.source = strip_markers(answers[meta["grade_id"]])
    return nb


@dataclass
class Student:
    name: str
    notebook: object
    # expectations on exercise scores: "full", "zero", "loses"; exercises not listed are
    # not checked (a wrong answer may legitimately spill into a later exercise)
    expect: dict = field(default_factory=dict)
    note: str = ""
    # exercise -> what the failure must say the output equals (a known mistake's "matches")
    diagnoses: dict = field(default_factory=dict)


def attack_students(release_nb, solution_nb, exercises) -> list[Student]:
    """Attacks on lesson 01 (array outputs, so every comparison trick applies)."""
    e1, e2, e3, e4 = ("max_pool2d_loops", "pool2d_vectorized", "input_from_max_pool",
                      "bug_counterexample")
    assert {e1, e2, e3, e4} <= set(exercises), exercises
    wrong = load_wrong(ATTACK_LESSON)
    zero_pad = wrong[e1][0][1]          # pads with zeros instead of -inf
    vectorized_wrong = wrong[e2][1][1]    # a wrong answer to the vectorized exercise
    # a wrong answer that fails the visible test as well as the hidden one
    e3_wrong_everywhere = next(source for label, source in wrong[e3]
                               if "(N, C, 2H, 2W)" in label)
    students = []

    def student(name, note, edit, expect):
        nb = solved(release_nb, solution_nb)
        edit(nb)
        students.append(Student(name, nb, expect, note))

    def set_solution(nb, ex, source):
        nb.cells[cell_index(nb, ex)].source = source

    def edit_tests(nb):
        set_solution(nb, e1, zero_pad)
        for suffix in ("visible", "hidden"):
            nb.cells[cell_index(nb, f"test_{e1}_{suffix}")].source = "print('all tests passed')"
    student("attack-edited-tests", "wrong answer + test cells replaced by a print", edit_tests,
            {e1: "zero", e2: "full", e3: "full", e4: "full"})

    def edit_metadata(nb):
        set_solution(nb, e1, zero_pad)
        visible = nb.cells[cell_index(nb, f"test_{e1}_visible")]
        visible.metadata["nbgrader"]["grade_id"] = "test_mine_instead"   # renamed
        visible.source = "pass"
        set_solution(nb, e2, vectorized_wrong)
        hidden = nb.cells[cell_index(nb, f"test_{e2}_hidden")]
        hidden.metadata["nbgrader"].update(grade=False, locked=False)     # made ungraded
        hidden.source = "pass"
        del nb.cells[cell_index(nb, f"test_{e2}_visible")].metadata["nbgrader"]
    student("attack-edited-metadata", "test cells renamed / unlocked / stripped of metadata",
            edit_metadata, {e1: "zero", e2: "zero", e3: "full", e4: "full"})

    def delete_tests(nb):
        set_solution(nb, e2, vectorized_wrong)
        for suffix in ("visible", "hidden"):
            del nb.cells[cell_index(nb, f"test_{e2}_{suffix}")]
    student("attack-deleted-tests", "wrong answer + its test cells deleted", delete_tests,
            {e1: "full", e2: "zero", e3: "full", e4: "full"})

    def swallow_in_function(nb):
        set_solution(nb, e1, '''
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):
    try:
        return undefined_helper(x, kernel_size, stride, padding)
    except Exception:
        return np.zeros((1, 1, 1, 1))
''')
    student("attack-swallowed-in-function", "try/except around a broken body", swallow_in_function,
            {e1: "zero", e2: "full", e3: "full", e4: "full"})

    def swallow_in_kernel(nb):
        set_solution(nb, e3, e3_wrong_everywhere + '''
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
import sys
sys.excepthook = lambda *args: None
''')
    # (the tests run in the grader: the kernel's hooks change nothing for e4's correct answer)
    student("attack-swallowed-in-kernel", "set_custom_exc + excepthook, wrong answer",
            swallow_in_kernel, {e1: "full", e2: "full", e3: "zero", e4: "full"})

    def patch_comparisons(nb):
        set_solution(nb, e1, zero_pad + '''
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
np.array_equal = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
np.testing.assert_array_almost_equal = lambda *a, **k: None
np.testing.assert_equal = lambda *a, **k: None
''')
    student("attack-patched-comparisons", "np.allclose/np.testing patched, wrong answer",
            patch_comparisons, {e1: "zero", e2: "full", e3: "full", e4: "full"})

    def patch_everything_else(nb):
        set_solution(nb, e1, zero_pad + '''
import poolkit, poolkit.checks
poolkit.max_pool2d = max_pool2d_loops            # an in-kernel oracle would now agree
poolkit.checks.check_against_oracle = lambda *a, **k: None
poolkit.checks.assert_close = lambda *a, **k: None
_real_asarray = np.asarray
np.asarray = lambda a, *r, **k: _real_asarray(a, *r, **k) if not isinstance(a, np.ndarray) else a
''')
    student("attack-patched-poolkit-and-checks", "poolkit, poolkit.checks and np.asarray patched",
            patch_everything_else, {e1: "zero", e2: "full", e3: "full", e4: "full"})

    def rebind_builtins(nb):
        set_solution(nb, e1, zero_pad + '''
import builtins
builtins.zip = lambda *a, **k: iter(())
''')
    student("attack-rebound-builtins", "builtins.zip made empty, wrong answer", rebind_builtins,
            {e1: "zero"})

    def rigged_eq(nb):
        set_solution(nb, e1, '''
class AlwaysEqual:
    shape = property(lambda self: self._shape)
    def __init__(self, shape): self._shape = shape
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array__(self, dtype=None, copy=None): return np.zeros(self._shape)
    def tolist(self): return []

def max_pool2d_loops(x, kernel_size, stride=None, padding=0):
    return AlwaysEqual((1, 1, 1, 1))
''')
        set_solution(nb, e2, '''
class Agreeable(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
    def __ne__(self, other): return np.zeros(np.shape(other), dtype=bool)

def pool2d_vectorized(x, kernel_size, stride=None, padding=0, mode="max"):
    return np.zeros((1, 1, 1, 1)).view(Agreeable)
''')
    student("attack-rigged-eq", "object and ndarray subclass whose == is always True", rigged_eq,
            {e1: "zero", e2: "zero", e3: "full", e4: "full"})

    def fake_partial_credit(nb):
        set_solution(nb, e1, zero_pad + '''
def _claim_full_marks(*args, **kwargs):
    get_ipython().displayhook("full marks, please")     # an execute_result before any error
get_ipython().events.register("pre_run_cell", _claim_full_marks)
''')
    student("attack-fake-partial-credit", "a pre_run_cell hook emits a result in every cell",
            fake_partial_credit, {e1: "zero", e2: "full", e3: "full", e4: "full"})

    def endless_in_function(nb):
        set_solution(nb, e1, '''
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):
    while True:
        pass
''')
    student("attack-endless-function", "endless loop inside the function", endless_in_function,
            {e1: "zero", e2: "full", e3: "full", e4: "full"})

    def kernel_exit(nb):
        set_solution(nb, e3, strip_markers(solution_nb.cells[cell_index(solution_nb, e3)].source)
                     + "\nimport os\nos._exit(1)\n")
    # (the notebook runs again without the killing cell, so e4 keeps its points)
    student("attack-kernel-exit", "the exercise cell kills the kernel (os._exit)", kernel_exit,
            {e1: "full", e2: "full", e3: "zero", e4: "full"})

    def endless_cell(nb):
        set_solution(nb, e4, strip_markers(
            solution_nb.cells[cell_index(solution_nb, e4)].source) + "\nwhile True:\n    pass\n")
    student("attack-endless-cell", "endless loop at the top of a cell (nbgrader timeout)",
            endless_cell, {e1: "full", e2: "full", e3: "full", e4: "full"},)
    return students


def exercise_dependencies(solution_nb, exercises) -> dict[str, set[str]]:
    """exercise -> the exercises whose answers its solution or its tests use, directly or
    through another exercise (a wrong answer there may cost it points too)."""
    from poolgrade.execution.test_cells import defined_names

    def used(source):
        try:
            return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
        except SyntaxError:
            return set()

    defines = {ex: defined_names(strip_markers(solution_nb.cells[cell_index(solution_nb, ex)]
                                               .source)) for ex in exercises}
    uses = {ex: set() for ex in exercises}
    for cell in solution_nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        owner = gid if gid in exercises else owning_exercise(gid, exercises)
        if owner is not None and cell.cell_type == "code":
            uses[owner] |= used(cell.source)
    deps = {ex: {o for o in exercises if o != ex and defines[o] & uses[ex]} for ex in exercises}
    changed = True
    while changed:
        changed = False
        for ex in exercises:
            more = set().union(*(deps[d] for d in deps[ex])) - deps[ex] - {ex}
            if more:
                deps[ex] |= more
                changed = True
    return deps


def build_students(lesson, release_nb, solution_nb) -> list[Student]:
    """Solution, untouched, and every wrong answer, packed: a student holds wrong answers
    of several exercises at once when none of them uses another's answer, so each loses
    only its own points (checked: the student's other independent exercises keep full
    marks), and a known mistake's failure must name it in the feedback."""
    exercises = autograded_exercises(solution_nb)
    deps = exercise_dependencies(solution_nb, exercises)
    known = mistakes_tool.known_mistakes(lesson)
    students = [Student("solution", solved(release_nb, solution_nb),
                        {e: "full" for e in exercises}),
                Student("untouched", nbformat.from_dict(json.loads(json.dumps(release_nb))),
                        {e: "zero" for e in exercises})]
    pending = [(i, ex, label, source) for ex, entries in load_wrong(lesson).items()
               for i, (label, source) in enumerate(entries)]
    pending.sort(key=lambda item: item[0])      # first answers of every exercise first
    while pending:
        chosen = {}
        for item in list(pending):
            ex = item[1]
            if ex in chosen or any(ex in deps[o] or o in deps[ex] for o in chosen):
                continue
            chosen[ex] = item
            pending.remove(item)
        nb = solved(release_nb, solution_nb)
        for _, ex, _, source in chosen.values():
            nb.cells[cell_index(nb, ex)].source = source
        expect = {ex: "loses" for ex in chosen}
        expect.update({ex: "full" for ex in exercises
                       if ex not in chosen and not deps[ex] & set(chosen)})
        diagnoses = {ex: label for _, ex, label, _ in chosen.values() if (ex, label) in known}
        note = "; ".join(f"{ex}: {label}" for _, ex, label, _ in chosen.values())
        students.append(Student(f"wrong-{len(students) - 1}", nb, expect, note, diagnoses))
    return students


# --------------------------------------------------------------------------- grading


def run(cmd, cwd, env, log_path):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    log_path.write_text(proc.stdout + proc.stderr)
    return proc


def read_scores(workdir: Path, lesson: str, notebook_id: str, students) -> dict:
    """student -> {test grade_id: (score, max_score)} for autograded code cells."""
    from nbgrader.api import Gradebook
    scores = {}
    with Gradebook(f"sqlite:///{workdir / 'gradebook.db'}") as gb:
        for st in students:
            try:
                sub = gb.find_submission_notebook(notebook_id, lesson, st.name)
            except Exception as exc:  # noqa: BLE001 (reported as a missing grade below)
                scores[st.name] = exc
                continue
            scores[st.name] = {g.name: (g.score, g.max_score) for g in sub.grades
                               if g.cell_type == "code" and g.auto_score is not None}
    return scores


def grade_batch(lesson, tmp_path, make_students, extra_args=()):
    """Generate ``lesson`` in a scratch course, submit ``make_students(release, solution)``
    and autograde them all in ONE nbgrader run; fail with every unmet expectation."""
    work = tmp_path / "course"
    work.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", work)
    shutil.copytree(ROOT / "solutions" / lesson, work / "solutions" / lesson,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    env = course_env(POOLKIT_CHECK_TIME_LIMIT="3")
    nbgrader = str(Path(shutil.which("nbgrader", path=env["PATH"])))

    gen = run([nbgrader, "generate_assignment", lesson, "--force"], work, env,
              tmp_path / "generate.log")
    assert gen.returncode == 0, (tmp_path / "generate.log").read_text()[-3000:]
    sol_path = solution_notebook(lesson)
    release_nb = nbformat.read(work / "course" / lesson / sol_path.name, as_version=4)
    solution_nb = nbformat.read(sol_path, as_version=4)
    students = make_students(release_nb, solution_nb)
    for st in students:
        dest = work / "submitted" / st.name / lesson
        dest.mkdir(parents=True)
        nbformat.write(st.notebook, dest / sol_path.name)

    start = time.perf_counter()
    proc = run([nbgrader, "autograde", lesson, "--force", *extra_args], work, env,
               tmp_path / "autograde.log")
    elapsed = time.perf_counter() - start
    log = (tmp_path / "autograde.log").read_text()
    print(f"{lesson}: autograded {len(students)} students in {elapsed:.0f} s")

    problems = []
    if proc.returncode != 0:
        problems.append(f"nbgrader autograde exited with {proc.returncode}")
    for st in students:
        if not (work / "autograded" / st.name / lesson / sol_path.name).exists():
            problems.append(f"{st.name}: no autograded notebook (the batch lost it)")
    exercises = autograded_exercises(solution_nb)
    scores = read_scores(work, lesson, sol_path.stem, students)
    for st in students:
        got = scores.get(st.name)
        if not isinstance(got, dict):
            problems.append(f"{st.name}: no grades ({got})")
            continue
        per_ex = {}
        for test_id, (score, max_score) in got.items():
            owner = owning_exercise(test_id, exercises)
            if owner is None:
                continue
            s, m = per_ex.get(owner, (0.0, 0.0))
            per_ex[owner] = (s + (score or 0.0), m + max_score)
        for ex, want in st.expect.items():
            s, m = per_ex.get(ex, (None, None))
            if m is None:
                problems.append(f"{st.name}: no test cells graded for {ex}")
                continue
            ok = {"full": s == m, "zero": s == 0, "loses": s < m}[want]
            if not ok:
                problems.append(f"{st.name} ({st.note or want}): {ex} scored {s}/{m}, "
                                f"expected {want}")
    for st in students:
        graded_nb = work / "autograded" / st.name / lesson / sol_path.name
        if not st.diagnoses or not graded_nb.exists():
            continue
        texts = {}
        for cell in nbformat.read(graded_nb, as_version=4).cells:
            owner = owning_exercise(cell.metadata.get("nbgrader", {}).get("grade_id", ""),
                                    exercises)
            if owner is not None and cell.cell_type == "code":
                texts[owner] = texts.get(owner, "") + "\n".join(
                    o.get("evalue", "") for o in cell.get("outputs", []))
        for ex, matches in st.diagnoses.items():
            if not any(f"{opening} {matches}" in texts.get(ex, "")
                       for opening in diagnosis.OPENINGS):
                problems.append(f"{st.name}: {ex}'s feedback does not name the known mistake "
                                f"({matches})")
    if problems:
        tail = "\n".join(log.splitlines()[-40:])
        pytest.fail(f"{lesson}:\n  " + "\n  ".join(problems)
                    + f"\n--- autograde log tail ---\n{tail}")


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_roundtrip(lesson, tmp_path):
    """Solution: full marks; untouched: 0; every wrong answer loses its exercise's points."""
    grade_batch(lesson, tmp_path, lambda rel, sol: build_students(lesson, rel, sol))


@pytest.mark.slow
def test_attacks_are_graded_and_do_not_stop_the_batch(tmp_path):
    if ATTACK_LESSON not in LESSONS:
        pytest.skip(f"{ATTACK_LESSON} not present")

    def make(rel, sol):
        exercises = autograded_exercises(sol)
        attacks = attack_students(rel, sol, exercises)
        # a correct student after the batch-stoppers proves the batch went on
        return attacks + [Student("solution-after-attacks", solved(rel, sol),
                                  {e: "full" for e in exercises})]

    grade_batch(ATTACK_LESSON, tmp_path, make,
                extra_args=[f"--Execute.timeout={ATTACK_CELL_TIMEOUT}"])


@pytest.mark.slow
def test_feedback_hides_hidden_tests(tmp_path):
    """Feedback HTML shows the student's score and failure messages, not the hidden tests."""
    lesson = "03-stride-and-shape-math"
    if lesson not in LESSONS:
        pytest.skip("lesson 03 not present")
    work = tmp_path / "course"
    work.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", work)
    shutil.copytree(ROOT / "solutions" / lesson, work / "solutions" / lesson)
    env = course_env(POOLKIT_CHECK_TIME_LIMIT="3")
    nbgrader = str(Path(shutil.which("nbgrader", path=env["PATH"])))
    assert run([nbgrader, "generate_assignment", lesson, "--force"], work, env,
               tmp_path / "g.log").returncode == 0
    sol_path = solution_notebook(lesson)
    release_nb = nbformat.read(work / "course" / lesson / sol_path.name, as_version=4)
    nb = solved(release_nb, nbformat.read(sol_path, as_version=4))
    nb.cells[cell_index(nb, "output_size")].source = load_wrong(lesson)["output_size"][0][1]
    dest = work / "submitted" / "student" / lesson
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / sol_path.name)
    assert run([nbgrader, "autograde", lesson], work, env, tmp_path / "a.log").returncode == 0
    assert run([nbgrader, "generate_feedback", lesson], work, env,
               tmp_path / "f.log").returncode == 0, (tmp_path / "f.log").read_text()[-2000:]
    html = (work / "feedback" / "student" / lesson / f"{sol_path.stem}.html").read_text()
    solution_text = sol_path.read_text()
    hidden_calls = re.findall(r"seed=30\d\d", solution_text)
    assert hidden_calls, "lesson 03's hidden tests use seeds 30xx"
    for call in hidden_calls:
        assert call not in html, f"feedback reveals a hidden test ({call})"
    assert "BEGIN HIDDEN TESTS" not in html
    # output_size's first wrong answer is a known mistake: the feedback names it
    assert "AssertionError" in html and "your output equals" in html and "reread:" in html, \
        "the failure message, with its diagnosis, must be shown"
