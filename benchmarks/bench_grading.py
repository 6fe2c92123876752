"""Time ``poolgrade grade`` (trusted harness, sandboxed kernels, in parallel) against plain
sequential ``nbgrader autograde`` with nbgrader's stock executor (tests in the kernel, no
sandbox), side by side.

For each lesson (default: 01-max-vs-average, NumPy, and 05-keras-and-pytorch, torch and
Keras) both grade the same 40 honest submissions (correct answers, untouched releases and
the wrong answers from tests/wrong_answers/) in two copies of a course folder, one after the
other in this one run.  The baseline's copy gets nbgrader's default autograde steps, so it is
what a course without poolkit's grader would run.  The script prints the wall-clock times and
their ratio, and checks that both gradebooks hold identical scores for every test cell of
every student (exit code 1 if not).

    .venv/bin/python benchmarks/bench_grading.py [--lessons 01-max-vs-average ...]
        [--students 40] [--workers N] [--rounds 2]

The target on the 2-core course machine is a ratio of at least 2 for each lesson.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))   # the test suite's course fixtures: tests.support

from tests.support import fixture_course as fc  # noqa: E402


def build_course(root: Path, lesson: str, students: int) -> None:
    """A course folder with the lesson generated and ``students`` submissions: one in eight
    hands in the untouched release, half of the rest get one exercise wrong."""
    fc.copy_real_lesson(root, lesson)
    fc.generate(root, lesson)
    answers = fc.solution_answers(root, lesson)
    wrong = fc.load_wrong(lesson)
    exercises = [e for e in fc.exercises(root, lesson) if e in wrong]
    for i in range(students):
        merged = dict(answers)
        if i % 8 == 0:
            merged = {}
        elif i % 2 == 1:
            exercise = exercises[(i // 2) % len(exercises)]
            options = wrong[exercise]
            merged[exercise] = options[(i // 2) % len(options)][1]
        fc.submit(root, lesson, f"student{i:02d}", fc.student_notebook(root, lesson, merged))


STOCK_EXECUTOR = """
# Benchmark baseline: nbgrader's stock autograde steps (tests run in the kernel, no sandbox).
from nbgrader.preprocessors import Execute as _StockExecute
c.Autograde.autograde_preprocessors = [_StockExecute, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata]
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
"""


def use_stock_executor(root: Path) -> None:
    config = root / "nbgrader_config.py"
    config.write_text(config.read_text() + STOCK_EXECUTOR)


def gradebook_scores(root: Path, lesson: str) -> dict:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "pooling-layers") as gb:
        for submission in gb.find_assignment(lesson).submissions:
            for nb in submission.notebooks:
                for grade in nb.grades:
                    scores[(submission.student.id, grade.name)] = grade.auto_score
    return scores


def timed(cmd: list[str], cwd: Path, log: Path) -> tuple[float, float]:
    """Wall-clock seconds, and CPU seconds of the command and everything it started."""
    env = fc.nbgrader_env()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log, "w") as out:
        result = subprocess.run(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {result.returncode}); see {log}")
    return seconds, cpu


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def bench_lesson(lesson: str, args, work: Path) -> tuple[float, list[str]]:
    """Grade ``lesson`` both ways; returns (speed-up, test cells whose scores differ)."""
    pristine = work / f"pristine-{lesson}"
    pristine.mkdir()
    print(f"building {args.students} submissions of {lesson} in {work} ...", flush=True)
    build_course(pristine, lesson, args.students)
    bin_dir = Path(sys.executable).parent
    ours_cmd = [str(bin_dir / "poolgrade"), "grade", lesson, "--no-progress"]
    if args.workers:
        ours_cmd += ["--workers", str(args.workers)]
    plain_cmd = [str(bin_dir / "nbgrader"), "autograde", lesson]

    times = {"nbgrader": [], "poolkit": []}
    cpu = {"nbgrader": [], "poolkit": []}
    differ = []
    for r in range(args.rounds):
        # alternate who goes first, so that a change in the machine's load during the run
        # does not favour one side
        order = ["nbgrader", "poolkit"] if r % 2 == 0 else ["poolkit", "nbgrader"]
        folders = {}
        for name in order:
            folder = work / f"{lesson}-{name}-{r}"
            shutil.copytree(pristine, folder)
            if name == "nbgrader":
                use_stock_executor(folder)
            folders[name] = folder
            print(f"round {r + 1}: {name}, load average {load_average()} ...", flush=True)
            seconds, used = timed(plain_cmd if name == "nbgrader" else ours_cmd, folder,
                                  work / f"{lesson}-{name}-{r}.log")
            times[name].append(seconds)
            cpu[name].append(used)
            print(f"  {seconds:.1f} s ({used:.1f} CPU s)", flush=True)
        a = gradebook_scores(folders["nbgrader"], lesson)
        b = gradebook_scores(folders["poolkit"], lesson)
        differ += sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))

    t_plain, t_ours = sum(times["nbgrader"]), sum(times["poolkit"])
    students = len({s for s, _ in a})
    print(f"\n{args.students} submissions of {lesson} on {os.cpu_count()} cores, "
          f"{args.rounds} round(s), poolkit with {args.workers or 'default'} workers")
    for r in range(args.rounds):
        plain_s, ours_s = times["nbgrader"][r], times["poolkit"][r]
        print(f"round {r + 1}: nbgrader autograde {plain_s:6.1f} s "
              f"({cpu['nbgrader'][r]:.0f} CPU s), poolgrade grade {ours_s:6.1f} s "
              f"({cpu['poolkit'][r]:.0f} CPU s): {plain_s / ours_s:.2f}x")
    print(f"nbgrader autograde, stock, sequential: {t_plain / args.rounds:7.1f} s per round")
    print(f"poolgrade grade, sandboxed, parallel:    {t_ours / args.rounds:7.1f} s per round "
          "(also writes feedback, CSV and charts)")
    print(f"speed-up: {t_plain / t_ours:.2f}x (target 2x)")
    if not differ:
        print(f"grades identical: {len(a)} test-cell scores of {students} students per round")
    return t_plain / t_ours, differ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="+",
                        default=["01-max-vs-average", "05-keras-and-pytorch"])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None,
                        help="poolgrade grade --workers (default: its own, CPU cores + 2)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat, alternating which side goes first (2 = A B B A)")
    parser.add_argument("--keep", action="store_true", help="keep the course folders")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    failed = False
    try:
        summary = []
        for lesson in args.lessons:
            ratio, differ = bench_lesson(lesson, args, work)
            summary.append(f"{lesson}: {ratio:.2f}x")
            if differ:
                failed = True
                print(f"GRADES DIFFER in {len(differ)} test cells of {lesson}, e.g.:")
                for key in differ[:10]:
                    print(f"  {key}")
        print("\nspeed-up per lesson: " + ", ".join(summary))
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
