"""How many tries the exercises took in a pilot, read from the students' tries logs.

The logs are opt-in (:mod:`poolkit.checks.tries_log`): for a pilot, the instructor sets
``POOLKIT_TRIES_LOG`` in the environment of the students who agreed to take part, then
collects the files.  Each file is one student's log.  For every exercise the report gives
how many students checked it, how many of them had their **first version right** (the first
version of each of the exercise's functions passed every check it met), how many got there
at all, and the median number of versions that took.  Its last line is the rate for the
hard third (``solutions/hard-third.toml``), which issue 18 wants well under half for strong
students.

The logs come from students' kernels, so they are read as untrusted input: a file larger
than :data:`MAX_LOG_BYTES`, a symbolic link or anything but a regular file is skipped, and a
line that is not exactly the logged record (see the module above) is counted and ignored;
one report reads at most :data:`MAX_TOTAL_BYTES` of logs.
A student can edit their own log: that moves a pilot's statistics, never a grade.

    poolgrade tries LOG_OR_FOLDER [...]     folders: every *.jsonl file below them
    poolgrade tries --csv tries.csv ...     also write the table as CSV
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import stat
import statistics
import tomllib
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]   # the course repository
HARD_THIRD = ROOT / "solutions" / "hard-third.toml"

MAX_LOG_BYTES = 4 * 1024 * 1024     # about 30,000 checks: far more than a course takes
MAX_LINE_BYTES = 400
MAX_LOGS = 10_000
MAX_TOTAL_BYTES = 256 * 1024 * 1024     # all logs of one report together
_RECORD_KEYS = {"format", "exercise", "version", "outcome", "time"}
_VERSION = re.compile(r"[0-9a-f]{12}")


@dataclass(frozen=True)
class Check:
    """One logged check: the function checked, its version and the outcome."""

    function: str
    version: str
    passed: bool


@dataclass(frozen=True)
class StudentLog:
    """One student's log as read: its checks in order, and what was refused."""

    path: str
    checks: tuple[Check, ...]
    rejected_lines: int = 0
    skipped: str | None = None      # why the whole file was not read
    bytes_read: int = 0


@dataclass(frozen=True)
class ExerciseTries:
    """What the logs say of one exercise."""

    lesson: str
    exercise: str
    hard: bool
    students: int                   # logs with a check of the exercise
    first_version_right: int
    passed: int                     # students with a right version of every function
    median_versions: float | None   # versions tried up to the right one, for those

    @property
    def first_version_rate(self) -> float | None:
        return self.first_version_right / self.students if self.students else None


def _parse_line(raw: bytes) -> Check | None:
    """The check one log line records, or None when the line is not a record."""
    from poolkit.checks.hints import exercise_of
    from poolkit.checks.tries_log import FORMAT, OUTCOMES

    if len(raw) > MAX_LINE_BYTES:
        return None
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not (isinstance(record, dict) and set(record) == _RECORD_KEYS
            and record["format"] == FORMAT and record["outcome"] in OUTCOMES
            and isinstance(record["exercise"], str) and isinstance(record["version"], str)
            and _VERSION.fullmatch(record["version"]) and isinstance(record["time"], str)
            and exercise_of(record["exercise"]) is not None):
        return None
    return Check(record["exercise"], record["version"], record["outcome"] == "pass")


def read_log(path: str | Path) -> StudentLog:
    """Read one student's log, refusing what is not a small regular file (see module)."""
    path = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        return StudentLog(path, (), skipped=f"cannot open it ({err.strerror})")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return StudentLog(path, (), skipped="not a regular file")
        if info.st_size > MAX_LOG_BYTES:
            return StudentLog(path, (), skipped=f"larger than {MAX_LOG_BYTES:,} bytes")
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read(MAX_LOG_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_LOG_BYTES:       # it grew while we read it
        return StudentLog(path, (), skipped=f"larger than {MAX_LOG_BYTES:,} bytes")
    checks, rejected = [], 0
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        check = _parse_line(raw)
        if check is None:
            rejected += 1
        else:
            checks.append(check)
    return StudentLog(path, tuple(checks), rejected, bytes_read=len(data))


def find_logs(paths: Iterable[str | Path]) -> list[Path]:
    """The log files named, and every ``*.jsonl`` file below the folders named (symbolic
    links are not followed), at most :data:`MAX_LOGS`."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir() and not path.is_symlink():
            for folder, subfolders, files in os.walk(path):
                subfolders.sort()
                found += [Path(folder, name) for name in sorted(files) if name.endswith(".jsonl")]
        else:
            found.append(path)
    if len(found) > MAX_LOGS:
        raise ValueError(f"{len(found):,} log files found, more than the {MAX_LOGS:,} read at "
                         f"once: name fewer folders")
    return found


def read_logs(paths: Iterable[str | Path], total_limit: int = MAX_TOTAL_BYTES
              ) -> list[StudentLog]:
    """Read each log, until :data:`MAX_TOTAL_BYTES` have been read: the logs after that are
    skipped, so a folder stuffed with large files cannot keep the report reading."""
    logs, total = [], 0
    for path in paths:
        if total > total_limit:
            logs.append(StudentLog(str(path), (), skipped=f"not read: the logs before it "
                                   f"already hold over {total_limit:,} bytes"))
            continue
        log = read_log(path)
        total += log.bytes_read
        logs.append(log)
    return logs


def hard_third(path: Path = HARD_THIRD) -> dict[str, list[str]]:
    """lesson -> the exercises of its hard third."""
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _one_student(checks: list[Check]) -> tuple[bool, int | None]:
    """For one student's checks of one exercise (its functions together, in order): whether
    the first version of each function was right, and how many versions were tried until
    every function had a right one (None: never), an exercise's first version being one
    version of each of its functions (so right at once counts 1 whatever their number)."""
    outcomes: dict[tuple[str, str], set[bool]] = {}
    for check in checks:
        outcomes.setdefault((check.function, check.version), set()).add(check.passed)
    right = {key for key, seen in outcomes.items() if seen == {True}}
    first: dict[str, tuple[str, str]] = {}
    for key in outcomes:                 # dicts keep the order of first appearance
        first.setdefault(key[0], key)
    first_right = all(key in right for key in first.values())
    done: set[str] = set()
    for count, key in enumerate(outcomes, start=1):
        if key in right:
            done.add(key[0])
        if done == set(first):
            return first_right, count - (len(first) - 1)
    return first_right, None


def tally(logs: Iterable[StudentLog], hard: dict[str, list[str]] | None = None
          ) -> list[ExerciseTries]:
    """One row per exercise that any log checked, in lesson order."""
    from poolkit.checks.hints import course_exercises, exercise_of

    hard = hard_third() if hard is None else hard
    per_exercise: dict[tuple[str, str], list[tuple[bool, int | None]]] = {}
    for log in logs:
        by_exercise: dict[tuple[str, str], list[Check]] = {}
        for check in log.checks:
            by_exercise.setdefault(exercise_of(check.function), []).append(check)
        for key, checks in by_exercise.items():
            per_exercise.setdefault(key, []).append(_one_student(checks))
    rows = []
    order = {key: index for index, key in enumerate(course_exercises())}
    for (lesson, exercise), results in sorted(per_exercise.items(), key=lambda i: order[i[0]]):
        counts = [count for _, count in results if count is not None]
        rows.append(ExerciseTries(
            lesson, exercise, exercise in hard.get(lesson, ()), len(results),
            sum(first_right for first_right, _ in results), len(counts),
            statistics.median(counts) if counts else None))
    return rows


def hard_third_rate(rows: Iterable[ExerciseTries]) -> tuple[int, int]:
    """First versions right, and student-exercises checked, over the hard third."""
    hard_rows = [row for row in rows if row.hard]
    return (sum(row.first_version_right for row in hard_rows),
            sum(row.students for row in hard_rows))


def format_report(rows: list[ExerciseTries], logs: list[StudentLog]) -> str:
    lines = [f"{'lesson':<36} {'exercise':<24} {'hard':>4} {'students':>8} "
             f"{'1st right':>9} {'passed':>6} {'median versions':>15}"]
    for row in rows:
        rate = "" if row.first_version_rate is None else f"{row.first_version_rate:.0%}"
        median = "-" if row.median_versions is None else f"{row.median_versions:g}"
        lines.append(f"{row.lesson:<36} {row.exercise:<24} {'yes' if row.hard else '':>4} "
                     f"{row.students:>8} {row.first_version_right:>4} {rate:>4} "
                     f"{row.passed:>6} {median:>15}")
    right, total = hard_third_rate(rows)
    if total:
        lines.append(f"hard third: first version right in {right} of {total} "
                     f"({right / total:.0%}); the aim is well under half")
    else:
        lines.append("hard third: no checks of its exercises in these logs")
    read = [log for log in logs if log.skipped is None]
    lines.append(f"{len(read)} log(s) read")
    for log in logs:
        if log.skipped is not None:
            lines.append(f"skipped {log.path}: {log.skipped}")
        elif log.rejected_lines:
            lines.append(f"{log.path}: {log.rejected_lines} line(s) that are not check "
                         f"records were ignored")
    return "\n".join(lines)


def write_csv(rows: list[ExerciseTries], path: str | Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow([field.name for field in fields(ExerciseTries)])
        writer.writerows(astuple(row) for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="poolgrade tries",
        description="How many tries each exercise took, from the opt-in tries logs of a "
                    "pilot (students' kernels with POOLKIT_TRIES_LOG set).")
    parser.add_argument("paths", nargs="+", metavar="LOG_OR_FOLDER",
                        help="log files, or folders holding them (*.jsonl below)")
    parser.add_argument("--csv", metavar="FILE", help="also write the table as CSV")
    args = parser.parse_args(argv)
    try:
        paths = find_logs(args.paths)
    except ValueError as err:
        parser.error(str(err))
    logs = read_logs(paths)
    if not any(log.checks for log in logs):
        print(format_report([], logs))
        print(f"poolgrade tries: no check records in {', '.join(args.paths)}; "
              f"was POOLKIT_TRIES_LOG set in the students' kernels?")
        return 1
    rows = tally(logs)
    print(format_report(rows, logs))
    if args.csv:
        write_csv(rows, args.csv)
    return 0
