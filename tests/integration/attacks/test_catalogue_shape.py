"""The attack catalogue's shape only: nothing here runs a payload (sources are compiled and
parsed, notebooks built, files written into a temporary folder)."""

from __future__ import annotations

import ast
import collections
import os
import re
from pathlib import Path

import nbformat
import pytest

from tests.integration.attacks import catalogue as c

ROOT = Path(__file__).resolve().parents[3]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")


def _read(kind: str, lesson: str):
    folder = "solutions" if kind == "solution" else "course"
    return nbformat.read(ROOT / folder / lesson / c.NOTEBOOKS[lesson], as_version=4)


SOLUTIONS = {lesson: _read("solution", lesson) for lesson in c.LESSONS}
RELEASES = {lesson: _read("release", lesson) for lesson in c.LESSONS}


def _cells(lesson):
    """grade_id -> cell of the instructor notebook."""
    return {c._grade_id(cell): cell for cell in SOLUTIONS[lesson].cells if c._grade_id(cell)}


def _exercises(lesson):
    """Code solution cells that have test cells (the autograded exercises)."""
    cells = _cells(lesson)
    tests = [g for g, cell in cells.items()
             if c._meta(cell).get("grade") and not c._meta(cell).get("solution")]
    return [g for g, cell in cells.items()
            if cell.cell_type == "code" and c._meta(cell).get("solution")
            and any(t.startswith(f"test_{g}_") for t in tests)]


def _tests_of(lesson):
    """Test-cell grade_id -> the exercise it grades."""
    cells = _cells(lesson)
    return {t: g for g in _exercises(lesson) for t, cell in cells.items()
            if t.startswith(f"test_{g}_") and c._meta(cell).get("grade")}


def _code_sources(attack):
    """(label, source) of every piece of Python the attack hands in."""
    cells = _cells(attack.lesson)
    for gid, source in attack.answers.items():
        if cells[gid].cell_type == "code":
            yield f"answer {gid}", source
    for after, source in attack.added_cells:
        yield f"cell after {after}", source
    for rel, content in attack.files.items():
        if rel.endswith(".py") and isinstance(content, (str, bytes)):
            yield f"file {rel}", content


def _top_level_names(source: str) -> set[str]:
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


ids = [a.name for a in c.ATTACKS]


def test_catalogue_size_and_coverage():
    assert len(c.ATTACKS) >= 30
    per_lesson = collections.Counter(a.lesson for a in c.ATTACKS)
    assert set(per_lesson) == set(c.LESSONS)
    assert all(n >= 12 for n in per_lesson.values()), per_lesson
    for lesson in c.LESSONS:
        kinds = {a.kind for a in c.ATTACKS if a.lesson == lesson}
        assert kinds == set(c.KINDS), (lesson, set(c.KINDS) - kinds)


def test_names_are_unique_student_ids():
    assert len(set(ids)) == len(ids), [n for n, k in collections.Counter(ids).items() if k > 1]
    for name in ids:
        assert re.fullmatch(r"attack-[a-z0-9]+(-[a-z0-9]+)*", name) and len(name) <= 64, name


def test_expected_points_cover_every_test_cell():
    for attack in c.ATTACKS:
        tests = _tests_of(attack.lesson)
        by_exercise = {ex: [t for t, e in tests.items() if e == ex]
                       for ex in c.EXERCISES[attack.lesson]}
        expected = c.expected_points(attack, by_exercise)
        assert set(expected) == set(tests)
        zero = {t for t, want in expected.items() if want == "zero"}
        assert zero == {t for t, ex in tests.items() if ex in attack.loses} | set(
            attack.loses_tests), attack.name


def test_race_decoys_carry_the_canary_names():
    """The race payload cannot see the canary: it makes decoys under the same names."""
    from tests.integration.attacks import against_the_grader as g

    names = g.canary_names()
    assert len(names) == len(set(names)) == g.CANARY_FILES
    assert names == [f"c{i:04d}" for i in range(g.CANARY_FILES)]
    assert f'[f"c{{_i:04d}}" for _i in range({g.CANARY_FILES})]' in g.RACE_CANARY
    assert repr(g.CANARY) in g.RACE_CANARY


def test_exercise_table_matches_the_notebooks():
    for lesson in c.LESSONS:
        assert tuple(_exercises(lesson)) == c.EXERCISES[lesson]


@pytest.mark.parametrize("attack", c.ATTACKS, ids=ids)
def test_fields(attack):
    assert attack.lesson in c.LESSONS
    assert attack.kind in c.KINDS
    assert attack.note.strip() and "\n" not in attack.note
    cells = _cells(attack.lesson)
    exercises = _exercises(attack.lesson)
    for gid in attack.answers:
        assert gid in cells and c._meta(cells[gid]).get("solution"), gid
    for after, source in attack.added_cells:
        assert after in cells, after
        assert isinstance(source, str) and source.strip()
    assert isinstance(attack.loses, tuple)
    assert set(attack.loses) <= set(exercises), set(attack.loses) - set(exercises)
    assert len(set(attack.loses)) == len(attack.loses)
    assert isinstance(attack.loses_tests, tuple)
    assert len(set(attack.loses_tests)) == len(attack.loses_tests)
    tests = _tests_of(attack.lesson)
    for test_id in attack.loses_tests:
        # a test cell of an exercise that keeps its other cells' points
        assert test_id in tests and tests[test_id] not in attack.loses, test_id
        assert len([t for t, ex in tests.items() if ex == tests[test_id]]) > 1, test_id
    for rel, content in attack.files.items():
        assert isinstance(content, (str, bytes, c.Symlink)), rel
        assert not os.path.isabs(rel) and ".." not in rel.split("/"), rel
    assert attack.answers or attack.added_cells or attack.files


@pytest.mark.parametrize("attack", c.ATTACKS, ids=ids)
def test_sources_compile(attack):
    for label, source in _code_sources(attack):
        compile(source, f"<{attack.name}: {label}>", "exec")


@pytest.mark.parametrize("attack", c.ATTACKS, ids=ids)
def test_answers_define_what_the_tests_call(attack):
    """A replaced solution cell defines every name the instructor's cell defines (one cell
    may define several functions, e.g. keras_same_max_pool)."""
    cells = _cells(attack.lesson)
    for gid, source in attack.answers.items():
        if cells[gid].cell_type != "code":
            continue
        wanted = _top_level_names(c.strip_solution_markers(cells[gid].source))
        missing = wanted - _top_level_names(source)
        assert not missing, f"{gid} does not define {sorted(missing)}"


@pytest.mark.parametrize("attack", c.ATTACKS, ids=ids)
def test_marker_lines_only_where_meant(attack):
    """Only feedback-crash attacks carry nbgrader's marker words; elsewhere they would mix
    two effects into one expectation."""
    texts = list(attack.answers.values()) + [s for _, s in attack.added_cells] + [
        v if isinstance(v, str) else "" for v in attack.files.values()]
    found = [m for m in MARKERS for t in texts if m in t]
    if attack.kind == "feedback-crash":
        assert any("HIDDEN TESTS" in m for m in found)
        assert attack.loses == ()
    else:
        assert not found, found


def test_keras_cell_completes_only_what_is_missing():
    """keras_cell adds a correct same_padding or keras_same_max_pool2d only when the attack's
    part leaves it out, so that the attacked function is the one the tests call."""
    forged = c._zeros("same_padding")
    cell = c.keras_cell(forged)
    assert cell.startswith(forged) and cell.count("def same_padding(") == 1
    assert "def keras_same_max_pool2d(" in cell and "same_padding(height" not in cell
    both = c.keras_cell(c._zeros("keras_same_max_pool2d"))
    assert both.count("def keras_same_max_pool2d(") == 1 and c.SAME_PADDING_OK in both
    assert c.keras_cell(c.DODGE_PARTIAL).count("keras_same_max_pool2d = ") == 1
    assert "def keras_same_max_pool2d(" not in c.keras_cell(c.DODGE_PARTIAL)


@pytest.mark.parametrize("attack", c.ATTACKS, ids=ids)
def test_apply_builds_the_submission(attack):
    solution, release = SOLUTIONS[attack.lesson], RELEASES[attack.lesson]
    before = (nbformat.writes(solution), nbformat.writes(release))
    nb = c.apply(attack, solution, release)
    assert (nbformat.writes(solution), nbformat.writes(release)) == before   # pure
    nbformat.validate(nb)
    assert len(nb.cells) == len(release.cells) + len(attack.added_cells)
    derived = c.apply(attack, solution)
    assert [x.source for x in derived.cells] == [x.source for x in nb.cells]
    by_id = {c._grade_id(x): x for x in nb.cells if c._grade_id(x)}
    for cell in release.cells:
        gid = c._grade_id(cell)
        if gid is None:
            continue
        got = by_id[gid]
        meta = c._meta(cell)
        if gid in attack.answers:
            assert got.source == attack.answers[gid]
        elif cell.cell_type == "code" and meta.get("solution"):
            assert got.source == c.strip_solution_markers(_cells(attack.lesson)[gid].source)
        else:
            assert got.source == cell.source           # tests and the rest untouched
        assert got.metadata == cell.metadata
    added = [x for x in nb.cells if "nbgrader" not in x.metadata and x.id.startswith("added-")]
    assert [x.source for x in added] == [s for _, s in attack.added_cells]
    for after, source in attack.added_cells:
        index = next(i for i, x in enumerate(nb.cells) if x.source == source)
        previous = nb.cells[index - 1]
        assert c._grade_id(previous) == after or previous.id.startswith("added-")


def test_derived_release_matches_the_real_one():
    for lesson in c.LESSONS:
        derived = c.release_from_solution(SOLUTIONS[lesson])
        real = RELEASES[lesson]
        assert len(derived.cells) == len(real.cells)
        for a, b in zip(derived.cells, real.cells):
            assert a.source == b.source and a.metadata == b.metadata, c._grade_id(b)


@pytest.mark.parametrize("attack", [a for a in c.ATTACKS if a.files],
                         ids=[a.name for a in c.ATTACKS if a.files])
def test_write_files(attack, tmp_path):
    written = c.write_files(attack, tmp_path)
    assert sorted(written) == sorted(attack.files)
    for rel, content in attack.files.items():
        path = tmp_path / rel
        assert os.path.realpath(path.parent).startswith(os.path.realpath(tmp_path))
        if isinstance(content, c.Symlink):
            assert path.is_symlink() and os.readlink(path) == content.target
        elif isinstance(content, bytes):
            assert path.read_bytes() == content
        else:
            assert path.read_text(encoding="utf-8") == content


def test_write_files_refuses_paths_outside(tmp_path):
    bad = c.Attack("attack-bad", c.LESSONS[0], "other", "x", files={"../escape.py": "x"})
    with pytest.raises(ValueError):
        c.write_files(bad, tmp_path)
