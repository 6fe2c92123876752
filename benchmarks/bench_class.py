"""A class of a thousand: grade N synthetic submissions of one lesson on a Dask
``distributed.LocalCluster`` of worker processes (the real distributed scheduler, one thread
per worker), through ``poolgrade.grade(..., scheduler=<address>)``, once per worker count.

The submissions are those of ``benchmarks/bench_grading.py``'s ``build_course``: honest
correct answers, wrong answers from ``tests/wrong_answers/`` and the lesson's known mistakes,
and untouched (blank) releases.  The run with the most workers grades all N; the others
grade the first ``--scaling-subset`` of them, so that the 1-worker run stays short.  For each
run the script prints the wall time, submissions per second and per core-second (a worker is
one core: ``threads_per_worker=1``), then the scaling ratio between the first and the last
worker count, and an estimate of how long a class of 1,000 takes on 1, 2, 4 and 8 machines of
this size, from the measured per-core throughput, capped by the grading process's own serial
work (it alone writes the gradebook).  Exit code 1 if a submission has no row in grades.csv or
a row with status ``error`` (the grader's failure, not the student's).

    .venv/bin/python benchmarks/bench_class.py [--lesson 01-max-vs-average]
        [--submissions 1000] [--scaling-subset 200] [--workers-list 1 2] [--json PATH] [--keep]

Run it on a quiet machine: the figures are wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))   # tests.support and benchmarks.bench_grading

from benchmarks.bench_grading import build_course  # noqa: E402
from tests.support import course_env  # noqa: E402

CLASS_SIZE = 1000              # the class the extrapolation speaks of
MACHINE_COUNTS = (1, 2, 4, 8)


def grade_on_cluster(root: Path, lesson: str, workers: int) -> dict:
    """Grade every submission in ``root`` on a fresh LocalCluster of ``workers`` worker
    processes.  Returns the wall seconds of ``grade()`` alone (not the cluster's start), the
    CPU seconds of the grading thread itself (the parent's serial share: reading, repairing
    and storing each submission), and the path of grades.csv."""
    from distributed import LocalCluster

    from poolgrade import grade

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        cpu_start, start = time.thread_time(), time.perf_counter()
        result = grade(lesson, str(root), scheduler=cluster.scheduler_address, progress=False)
        seconds = time.perf_counter() - start
        parent_cpu = time.thread_time() - cpu_start
    return {"seconds": seconds, "parent_cpu": parent_cpu, "csv": result.csv_path}


def missing_or_failed(root: Path, csv_path: str) -> list[str]:
    """Students without a row in grades.csv, or whose row says ``error``, each with why."""
    from poolgrade.batch.report import read_csv

    handed_in = {p.name for p in (root / "submitted").iterdir() if p.is_dir()}
    rows = {row["student"]: row for row in read_csv(csv_path)}
    problems = [f"{s}: no row in grades.csv" for s in sorted(handed_in - set(rows))]
    problems += [f"{s}: error: {rows[s]['reason']}" for s in sorted(handed_in & set(rows))
                 if rows[s]["status"] == "error"]
    return problems


def run_class(work: Path, lesson: str, submissions: int, workers: int) -> dict:
    """Build a course with ``submissions`` submissions, grade it on ``workers`` workers;
    the run's figures (throughput per core counts one core per worker)."""
    root = work / f"class-{workers}w"
    root.mkdir()
    print(f"{workers} worker(s): building {submissions} submissions of {lesson} ...", flush=True)
    build_course(root, lesson, "mixed", submissions)
    print(f"{workers} worker(s): grading, load average {load_average()} ...", flush=True)
    timing = grade_on_cluster(root, lesson, workers)
    per_second = submissions / timing["seconds"]
    run = {"workers": workers, "submissions": submissions, "seconds": timing["seconds"],
           "per_second": per_second, "per_core_second": per_second / workers,
           "parent_cpu_per_submission": timing["parent_cpu"] / submissions,
           "problems": missing_or_failed(root, timing["csv"])}
    print(f"  {run['seconds']:.1f} s, {per_second:.2f} submissions/s, "
          f"{run['per_core_second']:.3f} per core-second, grading process "
          f"{run['parent_cpu_per_submission']:.3f} CPU s per submission", flush=True)
    return run


def minutes_for_class(per_core_second: float, parent_cpu_per_submission: float,
                      cores: int, machines: int) -> float:
    """Estimated minutes for :data:`CLASS_SIZE` submissions on ``machines`` machines of
    ``cores`` cores each: linear in the cores, but never faster than the grading process
    can store results (one submission per ``parent_cpu_per_submission`` CPU seconds)."""
    cluster_rate = per_core_second * cores * machines
    ceiling = 1 / parent_cpu_per_submission if parent_cpu_per_submission > 0 else cluster_rate
    return CLASS_SIZE / min(cluster_rate, ceiling) / 60


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def report(runs: list[dict], cores: int) -> dict:
    """Print the scaling ratio and the extrapolation; returns them for the JSON."""
    first, last = runs[0], runs[-1]
    scaling = last["per_second"] / first["per_second"]
    print(f"\nscaling {first['workers']} -> {last['workers']} workers: {scaling:.2f}x "
          f"the submissions per second (ideal {last['workers'] / first['workers']:.0f}x)")
    estimates = {}
    for machines in MACHINE_COUNTS:
        minutes = minutes_for_class(last["per_core_second"], last["parent_cpu_per_submission"],
                                    cores, machines)
        estimates[machines] = minutes
        print(f"a class of {CLASS_SIZE:,} on {machines} machine(s) of this size "
              f"({cores} cores) takes about {minutes:.0f} minutes")
    print(f"(estimate: {last['per_core_second']:.3f} submissions per core-second measured "
          f"with {last['workers']} workers, times the cores, capped at "
          f"{1 / last['parent_cpu_per_submission']:.1f} submissions/s, what the one grading "
          "process can store)")
    return {"scaling_ratio": scaling, "minutes_for_class": estimates}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="01-max-vs-average")
    parser.add_argument("--submissions", type=int, default=CLASS_SIZE)
    parser.add_argument("--scaling-subset", type=int, default=200,
                        help="submissions graded by every run but the one with most workers")
    parser.add_argument("--workers-list", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the course folders")
    args = parser.parse_args()

    # the workers are started by this process: they inherit its PATH (nbgrader runs alembic)
    os.environ.update(course_env())
    cores = os.cpu_count() or 1
    counts = sorted(args.workers_list)
    work = Path(tempfile.mkdtemp(prefix="bench-class-"))
    try:
        runs = []
        for workers in counts:
            size = args.submissions if workers == counts[-1] else \
                min(args.scaling_subset, args.submissions)
            runs.append(run_class(work, args.lesson, size, workers))
        figures = {"lesson": args.lesson, "cores": cores, "runs": runs,
                   **report(runs, cores)}
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=1))
        problems = [p for run in runs for p in run["problems"]]
        for problem in problems[:20]:
            print(f"NOT GRADED: {problem}")
        if not problems:
            print(f"every submission graded: {sum(r['submissions'] for r in runs)} rows, "
                  "no errors")
        return 1 if problems else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
