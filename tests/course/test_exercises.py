"""The exercise contract every lesson keeps: points stated, nothing leaked, hints staged.

* Every graded cell sits under an ``### Exercise N: title (K points)`` heading whose K is the
  sum of the points of the graded cells below it.
* No release notebook prints the source of a function before the exercise that asks for it:
  a cell that prints source starts with ``# compare with yours: <exercise>`` and comes after
  that exercise's test cells.
* An exercise's rule (the formula) lives only in ``poolkit/hints/<lesson>.toml``: it is
  never written in the release notebook, and ``ck.hint`` and repeated failures reveal it.
* Visible tests never need the instructor's answers (``"solutions:..."`` oracles): the
  release notebook must run where ``solutions/`` does not exist.
"""

from __future__ import annotations

import re
import tomllib

import nbformat
import numpy as np
import pytest

import poolkit.checks as ck
from poolkit.checks import hints as hint_mod
from poolkit.checks import oracle as oracle_mod
from tests.support import COURSE, ROOT, lesson_names, solution_notebook

LESSONS = lesson_names()
HINTS = ROOT / "poolkit" / "hints"
EXERCISE_HEADING = re.compile(r"^###\s+Exercise\s+(\d+)\b(.*)$", re.MULTILINE)
POINTS = re.compile(r"\((\d+(?:\.\d+)?) points?\)\s*$")
SOURCE_PRINTERS = re.compile(r"getsource\(|compare_with_yours\(|%psource|%pfile|\?\?")
COMPARE_MARKER = re.compile(r"^# compare with yours: (\w+)\s*$")


def release_notebook(lesson: str):
    path = COURSE / lesson / solution_notebook(lesson).name
    return nbformat.read(path, as_version=4)


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def exercise_points(nb) -> list[tuple[str, float | None, float]]:
    """(heading, stated points, points of its graded cells) per exercise heading; graded
    cells before the first exercise heading are reported under the heading ``None``."""
    found: list[list] = []
    current = None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for match in EXERCISE_HEADING.finditer(cell.source):
                stated = POINTS.search(match.group(0))
                current = [match.group(0).strip(),
                           float(stated.group(1)) if stated else None, 0.0]
                found.append(current)
            if current is not None and re.search(r"^##\s", cell.source, re.MULTILINE) \
                    and not EXERCISE_HEADING.search(cell.source):
                current = None      # a new section ends the exercise
        meta = _nbgrader(cell)
        if meta.get("grade") and meta.get("points"):
            if current is None:
                found.append(current := ["(graded cell outside an exercise: "
                                         f"{meta.get('grade_id')})", None, 0.0])
            current[2] += float(meta["points"])
    return [tuple(entry) for entry in found]


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_graded_exercise_states_its_points(lesson):
    nb = nbformat.read(solution_notebook(lesson), as_version=4)
    entries = exercise_points(nb)
    graded = [e for e in entries if e[2] > 0]
    assert graded, f"{lesson} has no graded exercise"
    wrong = [f"{heading!r}: states {stated}, its graded cells give {total:g}"
             for heading, stated, total in graded if stated != total]
    assert not wrong, (f"{lesson}: write '### Exercise N: title (K points)' with K the sum of "
                       f"the exercise's graded cells:\n  " + "\n  ".join(wrong))


@pytest.mark.parametrize("lesson", LESSONS)
def test_no_release_notebook_prints_an_answer_before_its_exercise(lesson):
    nb = release_notebook(lesson)
    test_positions: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        grade_id = _nbgrader(cell).get("grade_id", "")
        if _nbgrader(cell).get("grade") and grade_id.startswith("test_"):
            # test_<exercise>_visible / _hidden: the exercise's last test cell counts
            test_positions[grade_id[5:].rsplit("_", 1)[0]] = index
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not SOURCE_PRINTERS.search(cell.source):
            continue
        marker = COMPARE_MARKER.match(cell.source.splitlines()[0])
        if marker is None:
            problems.append(f"cell {index} prints source without "
                            f"'# compare with yours: <exercise>'")
        elif marker.group(1) not in test_positions:
            problems.append(f"cell {index} compares with {marker.group(1)!r}, not an exercise here")
        elif test_positions[marker.group(1)] > index:
            problems.append(f"cell {index} prints source before {marker.group(1)}'s tests")
    assert not problems, f"{lesson}:\n  " + "\n  ".join(problems)


def _hint_table(lesson: str) -> dict:
    path = HINTS / f"{lesson}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_autograded_exercise_has_a_staged_rule_that_the_notebook_never_shows(lesson):
    nb = release_notebook(lesson)
    test_ids = [_nbgrader(t).get("grade_id", "") for t in nb.cells]
    exercises = [_nbgrader(c)["grade_id"] for c in nb.cells
                 if c.cell_type == "code" and _nbgrader(c).get("solution")
                 and not _nbgrader(c).get("grade")
                 and any(t.startswith(f"test_{_nbgrader(c)['grade_id']}_") for t in test_ids)]
    table = _hint_table(lesson)
    missing = [e for e in exercises if e not in table or not table[e].get("rule")]
    assert not missing, f"poolkit/hints/{lesson}.toml has no rule for {missing}"
    stray = sorted(set(table) - set(exercises))
    assert not stray, f"poolkit/hints/{lesson}.toml names no exercise of {lesson}: {stray}"
    text = "\n".join(c.source for c in nb.cells)
    shown = [e for e in exercises if table[e]["rule"] in text]
    assert not shown, f"{lesson}'s release notebook writes out the rule of {shown}"
    assert "ck.hint(" in text, f"{lesson} never tells students about ck.hint(...)"


@pytest.mark.parametrize("lesson", LESSONS)
def test_visible_tests_do_not_need_the_instructors_answers(lesson):
    nb = release_notebook(lesson)
    needing = [_nbgrader(c).get("grade_id") for c in nb.cells
               if c.cell_type == "code" and "poolgrade" in c.source]
    assert not needing, f"{lesson}: these release cells use instructor answers: {needing}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_release_cell_that_lost_hidden_tests_says_so(lesson):
    """A student meets helper code, or nothing, where the hidden tests were: the cell says
    that its tests run at grading."""
    source = nbformat.read(solution_notebook(lesson), as_version=4)
    hidden = {_nbgrader(c).get("grade_id") for c in source.cells
              if "### BEGIN HIDDEN TESTS" in c.source}
    silent = [_nbgrader(c).get("grade_id") for c in release_notebook(lesson).cells
              if _nbgrader(c).get("grade_id") in hidden
              and "# Hidden tests: more cases of the same rules" not in c.source]
    assert hidden and not silent, f"{lesson}: release cells without the hidden-tests note: {silent}"


def test_exercise_names_are_unique_across_the_course():
    seen: dict[str, str] = {}
    clashes = []
    for lesson in LESSONS:
        for name in _hint_table(lesson):
            if name in seen:
                clashes.append(f"{name} in {seen[name]} and {lesson}")
            seen[name] = lesson
    assert not clashes, clashes


# --------------------------------------------------------------------------- staged hints


@pytest.fixture
def a_hint(monkeypatch):
    """A made-up exercise with a rule, registered beside the course's own."""
    table = dict(hint_mod._table())
    table["triple"] = {"section": "Section 9, tripling", "rule": "return 3 * x",
                       "lesson": "99-test"}
    monkeypatch.setattr(hint_mod, "_table", lambda: table)
    hint_mod.reset()
    yield "triple"
    hint_mod.reset()


def _failure(fn, x=2):
    with pytest.raises(AssertionError) as info:
        ck.assert_equal(ck.call(fn, x), 6, case=f"x={x}", hint="how many copies of x?")
    return str(info.value)


def test_a_first_failure_teaches_and_the_rule_waits_until_asked(a_hint, capsys):
    def triple(x):
        return 2 * x

    first = _failure(triple)
    assert first.splitlines()[1:] == ["  case: x=2", "  hint: how many copies of x?",
                                      "  stuck? ck.hint('triple') shows the rule"], first
    assert "3 * x" not in first
    ck.hint("triple")
    printed = capsys.readouterr().out
    assert "Section 9, tripling" in printed and "rule: return 3 * x" in printed


def test_the_rule_comes_with_the_third_failed_try(a_hint):
    def triple(x):
        return x + 1

    same = [_failure(triple) for _ in range(hint_mod.RULE_AFTER + 1)]
    assert all("3 * x" not in m for m in same), "running an unchanged cell again is no try"

    def triple(x):  # noqa: F811 (only a number changed: the same try)
        return x + 2

    assert "3 * x" not in _failure(triple)

    def triple(x):  # noqa: F811 (the student's second and third versions)
        return x * x - 1

    assert "3 * x" not in _failure(triple)

    def triple(x):  # noqa: F811
        return abs(x) * x

    third = _failure(triple)
    assert third.endswith("  rule: return 3 * x")
    assert len(third.splitlines()) <= 5


def test_a_wrappers_try_is_an_edit_of_the_function_it_wraps(a_hint):
    space = {}
    versions = ["def triple(x):\n    return x + 1\n", "def triple(x):\n    return x * x - 1\n",
                "def triple(x):\n    return abs(x) * x\n"]
    messages = []
    for version in versions:
        exec(version + "def run(x):\n    return triple(x)\n", space)
        with pytest.raises(AssertionError) as info:
            ck.check_against_oracle(space["run"], "builtins.abs", ck.literal_cases([((-6,), {})]),
                                    name="triple(wrapped)")
        messages.append(str(info.value))
    assert "rule:" not in messages[1] and messages[2].endswith("  rule: return 3 * x")


def test_an_expected_error_is_not_counted_as_a_try(a_hint):
    def triple(x):
        raise ValueError("no")

    with hint_mod.expected_failure():
        for _ in range(5):
            with pytest.raises(AssertionError):
                ck.call(triple, 1)
    assert hint_mod._failures.get("triple", 0) == 0


def test_an_unwritten_exercise_says_so():
    def output_size(size):
        raise NotImplementedError()

    with pytest.raises(AssertionError) as info:
        ck.call(output_size, 3, case="L=3")
    assert str(info.value).startswith("output_size is not written yet: replace "
                                      "`raise NotImplementedError()`")


def test_a_display_name_and_a_tests_own_check_count_for_the_exercise(a_hint):
    def run(x):
        return 2 * x

    with pytest.raises(AssertionError) as info:
        ck.check_against_oracle(run, "builtins.abs", ck.literal_cases([((-3,), {})]),
                                name="triple(mode='fast')")
    assert "stuck? ck.hint('triple')" in str(info.value)
    with pytest.raises(AssertionError) as info:
        ck.require(1 + 1 == 3, "your case does not show the bug", case="triple()",
                   hint="which argument never varies?", exercise="triple")
    lines = str(info.value).splitlines()
    assert lines == ["your case does not show the bug", "  case: triple()",
                     "  hint: which argument never varies?",
                     "  stuck? ck.hint('triple') shows the rule"], lines
    ck.require(1 + 1 == 2, "never shown", exercise="triple")
    assert hint_mod._last_outcome["triple"] == "pass"
    with pytest.raises(TypeError, match="bool"):
        ck.require(np.bool_(True), "x", exercise="triple")


def test_compare_with_yours_waits_for_a_passing_version(a_hint, capsys):
    def triple(x):
        return 2 * x

    _failure(triple)
    ck.compare_with_yours("triple", _failure)
    assert "Pass the visible tests of triple first" in capsys.readouterr().out
    ck.assert_equal(ck.call(lambda x: 3 * x, 2, exercise="triple"), 6)
    ck.compare_with_yours("triple", _failure)
    assert "def _failure(fn, x=2):" in capsys.readouterr().out


def test_asking_for_an_unknown_hint_lists_the_known_ones(a_hint):
    with pytest.raises(ValueError, match="no hint for 'nope'.*triple"):
        ck.hint("nope")


# --------------------------------------------------------------------------- instructor answers


def test_instructor_oracles_load_from_the_lesson_folder(tmp_path, monkeypatch):
    """Hidden tests name instructor answers as poolgrade.answers:<lesson>.<fn>: poolkit
    resolves the name by import, knowing nothing of solutions/."""
    lesson = tmp_path / "solutions" / "07-demo"
    lesson.mkdir(parents=True)
    (lesson / "answers.py").write_text("def double(x):\n    return 2 * x\n")
    monkeypatch.setenv("POOLKIT_COURSE_ROOT", str(tmp_path))
    assert oracle_mod._resolve("poolgrade.answers:07-demo.double")(4) == 8
    cases = ck.literal_cases([((3,), {}), ((5,), {})], names=("x",))
    assert [v for v in oracle_mod.oracle_results("poolgrade.answers:07-demo.double", cases)] == [
        ("int", 6), ("int", 10)]
    with pytest.raises(FileNotFoundError, match="POOLKIT_COURSE_ROOT"):
        oracle_mod._resolve("poolgrade.answers:08-missing.double")
