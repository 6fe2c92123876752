"""Time ``poolgrade grade`` (trusted harness, sandboxed kernels, in parallel) against plain
sequential ``nbgrader autograde`` with nbgrader's stock executor (tests in the kernel, no
sandbox), side by side, and check that both give the same grades.

For each lesson (default: 01-max-vs-average, NumPy, and 05-keras-and-pytorch, torch and
Keras) and each class of submissions both grade the same 40 submissions in two copies of a
course folder, one after the other in this one run.  The classes (``--classes``):

- ``correct``: every submission holds the instructor's answers;
- ``mixed``: one in eight hands in the untouched release, half of the rest get one exercise
  wrong (answers from tests/wrong_answers/), the others are correct.

The baseline's copy gets nbgrader's default autograde steps, so it is what a course without
poolkit's grader would run.  Per lesson and class the script prints:

- the wall-clock times of the whole class and their ratio, against the targets (at least 3x
  on 01-max-vs-average and 4x on 05-keras-and-pytorch, with 2 workers on the 2-core course
  machine);
- the latency a student waits: a handful of students graded one at a time, each by a fresh
  command (``poolgrade grade --submissions <folder holding only that student>``, and
  ``nbgrader autograde --student <id>``), median and max wall-clock seconds;
- the peak memory (proportional set size) of each poolgrade worker with its kernels, and of
  the whole grader, next to the machine's memory.

It ends with a summary table (also written as JSON with ``--json PATH``) and exits with 1 if
any test cell of any student got a different score from the two graders.  The full run
(about an hour on the course machine):

    .venv/bin/python benchmarks/bench_grading.py --workers 2 --json bench-grading.json

A quick one (a few minutes):

    .venv/bin/python benchmarks/bench_grading.py --lessons 01-max-vs-average --students 4 \\
        --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))   # the test suite's course fixtures: tests.support

from tests.support import fixture_course as fc  # noqa: E402

CLASSES = ("correct", "mixed")
TARGETS = {"01-max-vs-average": 3.0, "05-keras-and-pytorch": 4.0}   # stock s / poolgrade s
TARGET_WORKERS = 2
MEMORY_INTERVAL = 0.5   # seconds between memory samples
MB = 1024 * 1024


# ---------------------------------------------------------------- the classes of submissions

def class_answers(root: Path, lesson: str, klass: str, students: int) -> list[dict]:
    """Per student, grade_id -> answer source pasted into the release ({} = untouched)."""
    answers = fc.solution_answers(root, lesson)
    if klass == "correct":
        return [dict(answers) for _ in range(students)]
    wrong = fc.load_wrong(lesson)
    exercises = [e for e in fc.exercises(root, lesson) if e in wrong]
    result = []
    for i in range(students):
        merged = dict(answers)
        if i % 8 == 0:
            merged = {}
        elif i % 2 == 1:
            exercise = exercises[(i // 2) % len(exercises)]
            options = wrong[exercise]
            merged[exercise] = options[(i // 2) % len(options)][1]
        result.append(merged)
    return result


def build_course(root: Path, lesson: str, klass: str, students: int) -> None:
    """A course folder with the lesson generated and ``students`` submissions of ``klass``."""
    fc.copy_real_lesson(root, lesson)
    fc.generate(root, lesson)
    for i, answers in enumerate(class_answers(root, lesson, klass, students)):
        fc.submit(root, lesson, student_id(i), fc.student_notebook(root, lesson, answers))


def student_id(i: int) -> str:
    return f"student{i:02d}"


STOCK_EXECUTOR = """
# Benchmark baseline: nbgrader's stock autograde steps (tests run in the kernel, no sandbox).
from nbgrader.preprocessors import Execute as _StockExecute
c.Autograde.autograde_preprocessors = [_StockExecute, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata]
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
"""


def course_copy(pristine: Path, folder: Path, side: str) -> Path:
    """A copy of the pristine course for ``side`` ("stock" gets nbgrader's own executor)."""
    shutil.copytree(pristine, folder)
    if side == "stock":
        config = folder / "nbgrader_config.py"
        config.write_text(config.read_text() + STOCK_EXECUTOR)
    return folder


def gradebook_scores(root: Path, lesson: str) -> dict:
    """(student, test cell) -> automatic score, from the course's gradebook."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "pooling-layers") as gb:
        for submission in gb.find_assignment(lesson).submissions:
            for nb in submission.notebooks:
                for grade in nb.grades:
                    scores[(submission.student.id, grade.name)] = grade.auto_score
    return scores


def differing(a: dict, b: dict) -> list:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


# ---------------------------------------------------------------- memory

def tree_memory(pid: int) -> int:
    """Bytes of memory of process ``pid`` and all its descendants (kernels run in bubblewrap
    as other users; as root their /proc entries are readable): the proportional set size from
    /proc/<pid>/smaps_rollup, so pages a forked worker shares with the grader are counted
    once across them; the resident set size where PSS cannot be read.  0 if ``pid`` is gone."""
    try:
        processes = [psutil.Process(pid)]
        processes += processes[0].children(recursive=True)
    except psutil.Error:
        return 0
    return sum(process_memory(p) for p in processes)


def process_memory(process: psutil.Process) -> int:
    """PSS of one process in bytes (RSS if smaps_rollup is unreadable, 0 if it is gone)."""
    try:
        with open(f"/proc/{process.pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


def grader_children(grader: psutil.Process) -> tuple[list[int], list[int]]:
    """The pids of the grader's direct children: (its worker processes, the others).  A
    worker is forked from the grader, so it has the grader's command line; the others are
    the kernel templates (kernels forked from a template are in the template's tree, not
    their worker's) and multiprocessing's helpers."""
    workers, others = [], []
    own = grader.cmdline()
    for child in grader.children():
        try:
            (workers if child.cmdline() == own else others).append(child.pid)
        except psutil.Error:
            pass
    return workers, others


class MemorySampler(threading.Thread):
    """Every MEMORY_INTERVAL seconds, until stop(), the memory of: each worker's tree, the
    other children's trees together (kernel templates and the kernels forked from them), and
    the grader's whole tree.  ``worker_peaks`` maps each worker pid ever seen to its peak
    bytes (a worker the engine replaced keeps its own entry); ``shared_peak`` and
    ``total_peak`` are peaks at one instant."""

    def __init__(self, grader_pid: int):
        super().__init__(daemon=True)
        self.grader_pid = grader_pid
        self.worker_peaks: dict[int, int] = {}
        self.shared_peak = 0
        self.total_peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(MEMORY_INTERVAL):
            try:
                workers, others = grader_children(psutil.Process(self.grader_pid))
            except psutil.Error:
                return
            for pid in workers:
                self.worker_peaks[pid] = max(self.worker_peaks.get(pid, 0), tree_memory(pid))
            self.shared_peak = max(self.shared_peak, sum(tree_memory(pid) for pid in others))
            self.total_peak = max(self.total_peak, tree_memory(self.grader_pid))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def machine_memory() -> int:
    """Physical memory of this machine in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


# ---------------------------------------------------------------- running the graders

def timed(cmd: list[str], cwd: Path, log: Path, sample_memory: bool = False):
    """Run ``cmd`` in ``cwd``; returns (wall-clock seconds, CPU seconds of the command and
    everything it started, its MemorySampler or None).  ``poolgrade grade`` exits with 3
    when a submission's row says error: that is reported and the run goes on (the missing
    scores then differ from the baseline's); any other failure stops the benchmark."""
    env = fc.nbgrader_env()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(log, "w") as out:
        process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = MemorySampler(process.pid) if sample_memory else None
        if sampler:
            sampler.start()
        returncode = process.wait()
        if sampler:
            sampler.stop()
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if returncode == 3 and "poolgrade" in Path(cmd[0]).name:
        print(f"  WARNING: some submissions ended in error; see {log}", flush=True)
    elif returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (exit {returncode}); see {log}")
    return seconds, cpu, sampler


def grade_command(side: str, lesson: str, workers: int | None,
                  submissions: Path | None = None, student: str | None = None) -> list[str]:
    """The command line that grades ``lesson`` on ``side``: every submission, or only
    ``student`` (stock: ``--student``; poolgrade: a ``--submissions`` folder holding only
    that student)."""
    bin_dir = Path(sys.executable).parent
    if side == "stock":
        cmd = [str(bin_dir / "nbgrader"), "autograde", lesson]
        return cmd + (["--student", student] if student else [])
    cmd = [str(bin_dir / "poolgrade"), "grade", lesson, "--no-progress"]
    if workers:
        cmd += ["--workers", str(workers)]
    if submissions:
        cmd += ["--submissions", str(submissions)]
    return cmd


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def time_class(pristine: Path, lesson: str, klass: str, args, work: Path) -> dict:
    """Grade the whole class both ways, ``args.rounds`` times; returns the seconds per side
    and round, poolgrade's memory peaks, and the test cells whose scores differ."""
    seconds = {"stock": [], "poolgrade": []}
    memory = {"worker_peaks": [], "shared_peak": 0, "total_peak": 0}
    differ = []
    for r in range(args.rounds):
        # alternate who goes first, so that a change in the machine's load during the run
        # does not favour one side
        order = ["stock", "poolgrade"] if r % 2 == 0 else ["poolgrade", "stock"]
        folders = {}
        for side in order:
            name = f"{lesson}-{klass}-{side}-{r}"
            folders[side] = course_copy(pristine, work / name, side)
            print(f"round {r + 1}: {side}, load average {load_average()} ...", flush=True)
            used_s, cpu, sampler = timed(grade_command(side, lesson, args.workers),
                                         folders[side], work / f"{name}.log",
                                         sample_memory=side == "poolgrade")
            seconds[side].append(used_s)
            print(f"  {used_s:.1f} s ({cpu:.1f} CPU s)", flush=True)
            if sampler:
                memory["worker_peaks"] += sorted(sampler.worker_peaks.values(), reverse=True)
                memory["shared_peak"] = max(memory["shared_peak"], sampler.shared_peak)
                memory["total_peak"] = max(memory["total_peak"], sampler.total_peak)
        differ += differing(gradebook_scores(folders["stock"], lesson),
                            gradebook_scores(folders["poolgrade"], lesson))
    return {"seconds": seconds, "memory": memory, "differ": differ}


def single_submission(pristine: Path, lesson: str, student: str, work: Path) -> Path:
    """A submissions folder holding only ``student``'s submission of ``lesson``."""
    folder = work / f"only-{lesson}-{student}"
    shutil.copytree(pristine / "submitted" / student / lesson, folder / student / lesson)
    return folder


def time_latency(pristine: Path, lesson: str, klass: str, args, work: Path) -> dict:
    """The time from submission to grade for one student: ``args.latency`` students graded
    one at a time, each by a fresh command (start-up included, as for a student who hands in
    alone), alternating which side goes first.  Returns the seconds per side and the test
    cells whose scores differ."""
    students = [student_id(i) for i in range(min(args.latency, args.students))]
    folders = {side: course_copy(pristine, work / f"latency-{lesson}-{klass}-{side}", side)
               for side in ("stock", "poolgrade")}
    seconds = {"stock": [], "poolgrade": []}
    for n, student in enumerate(students):
        only = single_submission(pristine, lesson, student, work / f"latency-{klass}")
        order = ["stock", "poolgrade"] if n % 2 == 0 else ["poolgrade", "stock"]
        for side in order:
            cmd = grade_command(side, lesson, args.workers, submissions=only, student=student)
            used_s, _, _ = timed(cmd, folders[side],
                                 work / f"latency-{lesson}-{klass}-{side}-{student}.log")
            seconds[side].append(used_s)
        print(f"latency {student}: stock {seconds['stock'][-1]:.1f} s, "
              f"poolgrade {seconds['poolgrade'][-1]:.1f} s", flush=True)
    differ = differing(gradebook_scores(folders["stock"], lesson),
                       gradebook_scores(folders["poolgrade"], lesson))
    return {"seconds": seconds, "differ": differ}


# ---------------------------------------------------------------- one row of the summary

def bench(lesson: str, klass: str, args, work: Path) -> dict:
    """Everything measured for one lesson and class, as one row of the summary."""
    pristine = work / f"pristine-{lesson}-{klass}"
    pristine.mkdir()
    print(f"\n== {lesson}, class '{klass}': building {args.students} submissions in {work} ...",
          flush=True)
    build_course(pristine, lesson, klass, args.students)
    whole = time_class(pristine, lesson, klass, args, work)
    latency = time_latency(pristine, lesson, klass, args, work) if args.latency else None

    stock_s = sum(whole["seconds"]["stock"]) / args.rounds
    ours_s = sum(whole["seconds"]["poolgrade"]) / args.rounds
    target = TARGETS.get(lesson)
    row = {
        "lesson": lesson, "class": klass, "students": args.students,
        "workers": args.workers, "rounds": args.rounds,
        "stock_s": round(stock_s, 1), "poolgrade_s": round(ours_s, 1),
        "ratio": round(stock_s / ours_s, 2), "target": target,
        "target_met": None if target is None else stock_s / ours_s >= target,
        "latency": None, "memory": {
            "peak_per_worker_mb": [round(b / MB) for b in whole["memory"]["worker_peaks"]],
            "peak_templates_mb": round(whole["memory"]["shared_peak"] / MB),
            "peak_total_mb": round(whole["memory"]["total_peak"] / MB),
            "machine_mb": round(machine_memory() / MB)},
        "differ": [list(k) for k in whole["differ"]],
    }
    if latency:
        row["latency"] = {side: {"median_s": round(statistics.median(s), 1),
                                 "max_s": round(max(s), 1), "students": len(s)}
                          for side, s in latency["seconds"].items()}
        row["differ"] += [list(k) for k in latency["differ"]]
    print_row(row)
    return row


def print_row(row: dict) -> None:
    """The details of one lesson and class, as soon as they are measured."""
    print(f"\n{row['lesson']}, class '{row['class']}', {row['students']} submissions on "
          f"{os.cpu_count()} cores, {row['rounds']} round(s), poolgrade with "
          f"{row['workers'] or 'its default'} workers")
    print(f"  nbgrader autograde, stock, sequential: {row['stock_s']:7.1f} s per round")
    print(f"  poolgrade grade, sandboxed, parallel:  {row['poolgrade_s']:7.1f} s per round "
          "(also writes feedback, CSV and charts)")
    target = (f"target {row['target']}x with {TARGET_WORKERS} workers: "
              f"{'met' if row['target_met'] else 'NOT met'}" if row["target"] else "no target")
    print(f"  ratio {row['ratio']:.2f}x ({target})")
    if row["latency"]:
        print("  one student graded alone (a fresh command each, start-up included): "
              + ", ".join(f"{side} median {v['median_s']} s, max {v['max_s']} s"
                          for side, v in row["latency"].items())
              + f" over {row['latency']['stock']['students']} students")
    memory = row["memory"]
    print(f"  peak memory (PSS) per poolgrade worker with its kernels: "
          f"{', '.join(f'{m} MB' for m in memory['peak_per_worker_mb']) or 'none seen'}; "
          f"kernel templates with the kernels forked from them {memory['peak_templates_mb']} "
          f"MB; whole grader {memory['peak_total_mb']} MB; machine {memory['machine_mb']} MB")
    if row["differ"]:
        print(f"  GRADES DIFFER in {len(row['differ'])} test cells, e.g.:")
        for key in row["differ"][:10]:
            print(f"    {tuple(key)}")
    else:
        print("  grades identical for every test cell of every student")


def latency_text(row: dict, side: str) -> str:
    """"median/max s" of one side's latency, "-" if it was not measured."""
    if not row["latency"]:
        return "-"
    return f"{row['latency'][side]['median_s']}/{row['latency'][side]['max_s']} s"


def print_summary(rows: list[dict]) -> None:
    """The final table: one line per lesson and class."""
    head = (f"{'lesson':22} {'class':8} {'stock s':>8} {'pool s':>8} {'ratio':>6} "
            f"{'target':>7} {'met':>4} {'latency stock':>14} {'latency pool':>13} "
            f"{'MB/worker':>10} {'MB total':>9} {'grades':>7}")
    print("\n" + head)
    print("-" * len(head))
    for row in rows:
        target = f"{row['target']}x" if row["target"] else "-"
        met = "-" if row["target_met"] is None else ("yes" if row["target_met"] else "no")
        latency = {side: latency_text(row, side) for side in ("stock", "poolgrade")}
        peak = max(row["memory"]["peak_per_worker_mb"], default=0)
        grades = "differ" if row["differ"] else "same"
        print(f"{row['lesson']:22} {row['class']:8} {row['stock_s']:8.1f} "
              f"{row['poolgrade_s']:8.1f} {row['ratio']:5.2f}x {target:>7} {met:>4} "
              f"{latency['stock']:>14} {latency['poolgrade']:>13} {peak:>10} "
              f"{row['memory']['peak_total_mb']:>9} {grades:>7}")
    print(f"latency: median/max seconds for one student graded alone; MB/worker: peak PSS of "
          f"the largest worker with its own processes; MB total: peak PSS of the whole grader "
          f"(workers, kernel templates, kernels); machine {round(machine_memory() / MB)} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="+",
                        default=["01-max-vs-average", "05-keras-and-pytorch"])
    parser.add_argument("--classes", nargs="+", choices=CLASSES, default=list(CLASSES))
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=TARGET_WORKERS,
                        help=f"poolgrade grade --workers (default {TARGET_WORKERS}, the "
                             "setting the targets are for; 0 = poolgrade's own default)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="repeat, alternating which side goes first (2 = A B B A)")
    parser.add_argument("--latency", type=int, default=5, metavar="N",
                        help="students graded one at a time for the latency (0 = skip)")
    parser.add_argument("--json", metavar="PATH", help="also write the summary here")
    parser.add_argument("--keep", action="store_true", help="keep the course folders")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        rows = [bench(lesson, klass, args, work)
                for lesson in args.lessons for klass in args.classes]
        print_summary(rows)
        if args.json:
            Path(args.json).write_text(json.dumps(
                {"cores": os.cpu_count(), "machine_mb": round(machine_memory() / MB),
                 "rows": rows}, indent=1) + "\n")
            print(f"summary written to {args.json}")
        return 1 if any(row["differ"] for row in rows) else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
