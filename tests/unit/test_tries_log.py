"""The opt-in tries log: one line per check outcome in a student's kernel, and nothing else."""

from __future__ import annotations

import json

import pytest

import poolkit.checks as ck
from poolkit.checks import hints as hint_mod
from poolkit.checks import runtime, tries_log

WRONG = "def size_of(size):\n    return size // 3\n"
RIGHT = "def size_of(size):\n    return size // 2\n"


@pytest.fixture
def size_of(monkeypatch):
    """A made-up exercise ``size_of`` with a staged hint, beside the course's own."""
    table = dict(hint_mod._table())
    table["size_of"] = {"section": "Section 9", "rule": "size // 2", "lesson": "99-test",
                        "exercise": "size_of"}
    monkeypatch.setattr(hint_mod, "_table", lambda: table)
    hint_mod.reset()
    yield "size_of"
    hint_mod.reset()


@pytest.fixture
def log_file(tmp_path, monkeypatch):
    path = tmp_path / "tries.jsonl"
    monkeypatch.setenv(tries_log.LOG_VARIABLE, str(path))
    monkeypatch.setattr(tries_log, "_broken", [])
    return path


def _define(source: str, blank_lines: int = 0):
    space: dict = {}
    exec(compile("\n" * blank_lines + source, "<cell>", "exec"), space)
    return space["size_of"]


def _check(fn) -> bool:
    """Run the visible check of ``size_of``; whether it passed."""
    try:
        ck.assert_equal(ck.call(fn, 24), 12, case="size=24", hint="halve it")
    except AssertionError:
        return False
    return True


def _records(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_check_appends_its_exercise_version_and_outcome(size_of, log_file):
    assert not _check(_define(WRONG))
    assert not _check(_define(WRONG, blank_lines=5))   # the same cell run again, moved down
    assert _check(_define(RIGHT))
    records = _records(log_file)
    assert [r["outcome"] for r in records] == ["fail", "fail", "pass"]
    assert {r["exercise"] for r in records} == {"size_of"}
    assert records[0]["version"] == records[1]["version"] != records[2]["version"]
    assert all(set(r) == {"format", "exercise", "version", "outcome", "time"} for r in records)


def test_the_log_holds_no_source_or_values(size_of, log_file):
    _check(_define("def size_of(size):\n    secret_name = 'my answer'\n    return size // 3\n"))
    text = log_file.read_text()
    assert text and "secret_name" not in text and "my answer" not in text


def test_a_change_of_a_constant_is_a_new_version(size_of):
    assert tries_log.version_digest(_define(WRONG)) != tries_log.version_digest(_define(RIGHT))


def test_nothing_is_logged_when_the_variable_is_unset(size_of, tmp_path, monkeypatch):
    monkeypatch.delenv(tries_log.LOG_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    _check(_define(WRONG))
    _check(_define(RIGHT))
    assert list(tmp_path.iterdir()) == []


def test_a_version_that_ignores_its_parameters_is_not_logged(size_of, log_file):
    assert _check(_define("def size_of(size):\n    return 12\n"))
    assert not log_file.exists()


def test_an_expected_failure_is_not_logged(size_of, log_file):
    with hint_mod.expected_failure():
        assert not _check(_define(WRONG))
    assert not log_file.exists()


def test_a_check_of_another_exercise_does_not_borrow_this_version(size_of, log_file):
    ck.call(_define(WRONG), 24)
    with pytest.raises(AssertionError):
        ck.assert_equal(1, 2, exercise="output_size")
    assert not log_file.exists()


class _Grader:
    """Just enough of a grading runtime for the checks to see one is installed."""

    CallTimeout = TimeoutError
    StudentRaised = RuntimeError
    KernelLost = EOFError
    numpy_only_kernel = False


def test_nothing_is_logged_under_the_grader(size_of, log_file):
    with runtime.installed(_Grader()):
        hint_mod.set_current("size_of", _define(WRONG))
        hint_mod.staged_lines("size_of", grading=True)
        hint_mod.record_pass("size_of")
    assert not log_file.exists()


def test_an_unwritable_log_is_reported_once_and_the_checks_go_on(size_of, tmp_path,
                                                                 monkeypatch, capsys):
    monkeypatch.setenv(tries_log.LOG_VARIABLE, str(tmp_path))      # a folder: cannot be opened
    monkeypatch.setattr(tries_log, "_broken", [])
    assert not _check(_define(WRONG))
    assert _check(_define(RIGHT))
    errors = capsys.readouterr().err
    assert errors.count("cannot write the tries log") == 1
    assert tries_log.LOG_VARIABLE in errors
