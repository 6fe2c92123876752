"""Staged hints count only real tries, and the loops rule reads a function's source."""

from __future__ import annotations

import pytest

import poolkit.checks as ck
from poolkit.checks import hints as hint_mod
from poolkit.checks import loops


@pytest.fixture
def a_hint(monkeypatch):
    """A made-up exercise with a rule, registered beside the course's own."""
    table = dict(hint_mod._table())
    table["size_of"] = {"section": "Section 9", "rule": "size // 2", "lesson": "99-test"}
    monkeypatch.setattr(hint_mod, "_table", lambda: table)
    hint_mod.reset()
    yield "size_of"
    hint_mod.reset()


def _fails(source: str) -> str:
    space: dict = {}
    exec(source, space)
    with pytest.raises(AssertionError) as info:
        ck.assert_equal(ck.call(space["size_of"], 24), 12, case="size=24", hint="halve it")
    return str(info.value)


def _rule_after(versions: list[str]) -> bool:
    return any("rule: size // 2" in _fails(v) for v in versions)


def test_constant_retries_never_unlock_the_rule(a_hint):
    versions = [f"def size_of(size):\n    return {n}\n" for n in range(1, 8)]
    assert not _rule_after(versions)
    assert hint_mod._failures.get("size_of", 0) == 0


def test_changing_only_numbers_or_operators_is_one_try(a_hint):
    versions = ["def size_of(size):\n    return size + 1\n",
                "def size_of(size):\n    return size - 2\n",
                "def size_of(size):\n    return size * 3\n",
                "def size_of(size):\n    return 5 + size\n"]
    assert not _rule_after(versions)
    assert hint_mod._failures["size_of"] == 1


def test_three_versions_of_different_shape_unlock_the_rule(a_hint):
    versions = ["def size_of(size):\n    return size + 1\n",
                "def size_of(size):\n    return size * size - 1\n",
                "def size_of(size):\n    half = size / 3\n    return int(half)\n"]
    messages = [_fails(v) for v in versions]
    assert all("rule:" not in m for m in messages[:2])
    assert messages[2].endswith("  rule: size // 2")


def test_a_wrapper_around_a_constant_is_no_try(a_hint):
    space: dict = {}
    for n in range(5):
        exec(f"def size_of(size):\n    return {n}\ndef run(size):\n    return size_of(size)\n",
             space)
        with pytest.raises(AssertionError):
            ck.assert_equal(ck.call(space["run"], 24, exercise="size_of"), 12)
    assert hint_mod._failures.get("size_of", 0) == 0


def test_a_function_without_parameters_is_judged_by_its_shape():
    one, two, other = ({}, {}, {})
    exec("def f():\n    return 1, 2\n", one)
    exec("def f():\n    return 3, 4\n", two)
    exec("def f():\n    x = [1] * 3\n    return x, 2\n", other)
    assert not hint_mod._is_trivial(one["f"])
    assert hint_mod._fingerprint(one["f"]) == hint_mod._fingerprint(two["f"])
    assert hint_mod._fingerprint(one["f"]) != hint_mod._fingerprint(other["f"])


LOOPS = '''
def pool(x, k):
    out = []
    for i in range(len(x) - k + 1):
        for j in range(k):
            out.append(x[i + j])
    return out
'''
VECTORIZED = '''
def pool(x, k):
    from numpy.lib.stride_tricks import sliding_window_view
    return sliding_window_view(x, k).max(axis=-1)
'''
ONE_LOOP = '''
def pool(x, k):
    return [max(x[i:i + k]) for i in range(len(x) - k + 1)]
'''
COMPREHENSION_IN_LOOP = '''
def pool(x, k):
    rows = []
    for row in x:
        rows.append([max(row[j:j + k]) for j in range(len(row) - k + 1)])
    return rows
'''


@pytest.mark.parametrize("source, problems", [
    (LOOPS, []),
    (COMPREHENSION_IN_LOOP, []),
    (VECTORIZED, ["sliding_window_view", "no loop nested"]),
    (ONE_LOOP, ["no loop nested"]),
    ("def other(x, k):\n    return x\n", ["no `def pool`"]),
    ("def pool(x, k:\n", ["could not be read"]),
])
def test_loop_problems_read_the_source(source, problems):
    found = " ".join(loops.loop_problems(source, "pool"))
    assert all(p in found for p in problems), found
    assert bool(found) == bool(problems), found


def test_a_nested_function_does_not_lend_its_loops():
    source = ("def pool(x, k):\n    def helper():\n        for i in x:\n            for j in x:\n"
              "                pass\n    return x\n")
    assert "no loop nested" in " ".join(loops.loop_problems(source, "pool"))


def test_assert_loops_reads_a_real_functions_source(tmp_path, monkeypatch):
    path = tmp_path / "student.py"
    path.write_text(LOOPS + VECTORIZED.replace("def pool", "def fast"))
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    student = importlib.import_module("student")
    ck_loops = loops.assert_loops
    ck_loops(student.pool)
    with pytest.raises(AssertionError, match="must be written with loops"):
        ck_loops(student.fast)


def test_assert_loops_fails_when_no_source_can_be_read():
    space: dict = {}
    exec(LOOPS, space)       # no file behind it: inspect cannot find its source
    with pytest.raises(AssertionError, match="source could not be read"):
        loops.assert_loops(space["pool"])


def test_under_a_grader_the_source_comes_from_the_runtime(monkeypatch):
    class Runtime:
        numpy_only_kernel = True

        def __init__(self, source):
            self.source = source
            self.asked = []

        def function_source(self, name):
            self.asked.append(name)
            return self.source

    def remote():           # the grader's stand-in: its own source is no answer
        raise AssertionError("not called")

    remote.__name__ = "pool"
    from poolkit.checks import runtime

    good = Runtime(LOOPS)
    with runtime.installed(good):
        loops.assert_loops(remote)
    assert good.asked == ["pool"]
    with runtime.installed(Runtime(VECTORIZED)), pytest.raises(AssertionError, match="loops"):
        loops.assert_loops(remote)
