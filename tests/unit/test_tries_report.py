"""``poolgrade tries``: first-version-right rates from pilot logs, read as untrusted input."""

from __future__ import annotations

import json
import os

from poolgrade.authoring import tries
from poolkit.checks import hints

LESSON = "03-stride-and-shape-math"


def _line(exercise: str, version: str, outcome: str, **extra) -> str:
    record = {"format": 1, "exercise": exercise, "version": version, "outcome": outcome,
              "time": "2026-12-08T10:00:00Z", **extra}
    return json.dumps(record)


def _log(path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _rows(tmp_path, students: dict[str, list[str]]) -> dict[str, tries.ExerciseTries]:
    logs = [tries.read_log(_log(tmp_path / f"{name}.jsonl", lines))
            for name, lines in students.items()]
    return {row.exercise: row for row in tries.tally(logs)}


def test_first_version_right_passed_and_median_versions(tmp_path):
    rows = _rows(tmp_path, {
        # right at once (checked twice)
        "ana": [_line("input_sizes", "a" * 12, "pass"), _line("input_sizes", "a" * 12, "pass")],
        # a first version that passed one check and failed the next, then a right one
        "ben": [_line("input_sizes", "b" * 12, "pass"), _line("input_sizes", "b" * 12, "fail"),
                _line("input_sizes", "c" * 12, "pass")],
        # three versions, never right
        "cem": [_line("input_sizes", f"{d}" * 12, "fail") for d in "123"],
    })
    row = rows["input_sizes"]
    assert (row.lesson, row.hard, row.students) == (LESSON, True, 3)
    assert (row.first_version_right, row.passed, row.median_versions) == (1, 2, 1.5)
    assert tries.hard_third_rate(rows.values()) == (1, 3)


def test_an_exercise_of_two_functions_needs_both_first_versions_right(tmp_path):
    rows = _rows(tmp_path, {
        "ana": [_line("same_padding", "a" * 12, "pass"),
                _line("keras_same_max_pool2d", "b" * 12, "fail"),
                _line("keras_same_max_pool2d", "c" * 12, "pass")],
        "ben": [_line("same_padding", "d" * 12, "pass"),
                _line("keras_same_max_pool2d", "e" * 12, "pass")],
    })
    row = rows["keras_same_max_pool"]
    assert (row.students, row.first_version_right, row.passed, row.hard) == (2, 1, 2, False)
    assert row.median_versions == 1.5      # ana: one function right at the second version


def test_rows_follow_the_course_order(tmp_path):
    rows = _rows(tmp_path, {"ana": [_line("design_head", "a" * 12, "pass"),
                                    _line("max_pool2d_loops", "b" * 12, "pass"),
                                    _line("output_size", "c" * 12, "fail")]})
    assert list(rows) == ["max_pool2d_loops", "output_size", "design_head"]


def test_lines_that_are_not_records_are_counted_and_ignored(tmp_path):
    good = _line("output_size", "a" * 12, "pass")
    bad = [
        "not json",
        "[" * 100_000,                                   # too long, and deeply nested
        "[" * 150 + "]" * 150,                           # nested, short enough to parse
        _line("output_size", "a" * 12, "pass", extra=1),
        _line("output_size", "A" * 12, "pass"),          # not a digest
        _line("output_size", "a" * 12, "maybe"),
        _line("no_such_exercise", "a" * 12, "pass"),
        _line("output_size", "a" * 12, "pass").replace('"format": 1', '"format": 2'),
        json.dumps(["output_size", "a" * 12, "pass"]),
    ]
    path = tmp_path / "log.jsonl"
    path.write_bytes(("\n".join([good, *bad, good]) + "\n").encode() + b"\xff\xfe\n")
    log = tries.read_log(path)
    assert log.skipped is None
    assert len(log.checks) == 2
    assert log.rejected_lines == len(bad) + 1


def test_a_symlink_a_fifo_and_an_oversized_file_are_skipped(tmp_path):
    secret = tmp_path / "secret.jsonl"
    secret.write_text(_line("output_size", "a" * 12, "pass") + "\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(secret)
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)                       # opening it to read must not block the report
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as stream:
        stream.truncate(tries.MAX_LOG_BYTES + 1)
    assert "cannot open" in tries.read_log(link).skipped
    assert tries.read_log(fifo).skipped == "not a regular file"
    assert "larger than" in tries.read_log(big).skipped
    assert tries.read_log(secret).checks


def test_folders_are_searched_without_following_links(tmp_path):
    (tmp_path / "class" / "ana").mkdir(parents=True)
    _log(tmp_path / "class" / "ana" / "poolkit-tries.jsonl", [_line("output_size", "a" * 12,
                                                                      "pass")])
    (tmp_path / "elsewhere").mkdir()
    _log(tmp_path / "elsewhere" / "x.jsonl", [_line("output_size", "b" * 12, "pass")])
    (tmp_path / "class" / "ben").symlink_to(tmp_path / "elsewhere")
    found = tries.find_logs([tmp_path / "class"])
    assert found == [tmp_path / "class" / "ana" / "poolkit-tries.jsonl"]


def test_the_command_reports_and_refuses_logs_without_records(tmp_path, capsys):
    _log(tmp_path / "ana.jsonl", [_line("input_sizes", "a" * 12, "fail"),
                                  _line("input_sizes", "b" * 12, "pass")])
    assert tries.main([str(tmp_path), "--csv", str(tmp_path / "t.csv")]) == 0
    out = capsys.readouterr().out
    assert "hard third: first version right in 0 of 1 (0%)" in out
    assert (tmp_path / "t.csv").read_text().splitlines()[1].startswith(f"{LESSON},input_sizes,")
    empty = tmp_path / "empty"
    empty.mkdir()
    _log(empty / "ben.jsonl", ["garbage"])
    assert tries.main([str(empty)]) == 1
    assert "no check records" in capsys.readouterr().out


def test_the_hard_third_names_exercises_of_its_lessons():
    course = hints.course_exercises()
    hard = tries.hard_third()
    assert sorted(hard) == sorted({lesson for lesson, _ in course})
    for lesson, exercises in hard.items():
        assert exercises and all((lesson, name) in course for name in exercises)


def test_one_report_reads_a_bounded_total(tmp_path):
    paths = [_log(tmp_path / f"s{i}.jsonl", [_line("output_size", "a" * 12, "pass")] * 10)
             for i in range(4)]
    one = os.path.getsize(paths[0])
    logs = tries.read_logs(paths, total_limit=2 * one)
    assert [bool(log.checks) for log in logs] == [True, True, True, False]
    assert "not read" in logs[3].skipped
