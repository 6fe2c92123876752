"""What one submission can cost the grader: each bound, met by an attack-like input, next to
an honest control.

- Test cells check the sizes a student chose before they build anything from them (lesson
  01's counterexample of kernel size 14,001 once padded 1.6 GB in the grader).
- Every test cell runs inside a budget of the grader's own memory and CPU time
  (:mod:`poolgrade.sandbox.budget`): past it the cell fails, the grader keeps going and gets
  its memory back, and expected values computed for the first time are not charged to it.
- Under ``nbgrader autograde`` (one process for the class) a bomb costs its author the
  bombed cells and nothing else: the next student is graded in full.
- ``poolgrade grade`` stops a job that holds its worker past the per-job timeout.

Memory is measured as the grader's peak (``VmHWM``) in a fresh process, never by timing;
each such process has safety nets (address space, CPU seconds) so that a regression fails
here instead of filling the machine or hanging.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parents[2]

from poolgrade import Limits, grade  # noqa: E402
from poolgrade.batch import engine  # noqa: E402
from poolgrade.batch import grade_one as execute  # noqa: E402
from poolgrade.batch.report import read_csv  # noqa: E402
from poolgrade.execution import test_cells as harness  # noqa: E402
from poolgrade.sandbox import budget  # noqa: E402
from tests.support import fixture_course as fc  # noqa: E402

LESSON_01 = REPO / "solutions" / "01-max-vs-average" / "max-vs-average.ipynb"


SAFETY_NET = {resource.RLIMIT_AS: 8 * 2**30, resource.RLIMIT_CPU: 300}


def _safety_nets():
    """In the child: a regression must fail the test, not fill or hang the machine.  Soft
    limits only, so that the sandbox can still set its own for the kernels it starts."""
    for kind, soft in SAFETY_NET.items():
        resource.setrlimit(kind, (soft, resource.getrlimit(kind)[1]))


def in_fresh_grader(body: str, **env) -> dict:
    """Run ``body`` in a fresh Python process (the grader's stand-in) and return what it
    ``report()``s.  ``peak_mb()`` is the process's peak resident memory so far (VmHWM)."""
    prelude = textwrap.dedent('''
        import json, sys
        def status_mb(key):
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1]) / 1024
        def peak_mb():
            return status_mb("VmHWM")
        def report(**values):
            print("REPORT " + json.dumps(values))
    ''')
    proc = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(body)],
                          capture_output=True, text=True, preexec_fn=_safety_nets,
                          env={**os.environ, **env}, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in reversed(proc.stdout.splitlines()) if x.startswith("REPORT "))
    return json.loads(line.removeprefix("REPORT "))


# ----------------------------------------------------------------------------- sizes first
def test_a_huge_counterexample_fails_before_the_grader_builds_anything():
    """Lesson 01's ``bug_counterexample`` tests, run by the harness as the grader runs them,
    on answers whose sizes would make the test pad gigabytes: each fails naming the
    allowed range, and the grader's peak memory does not move.  The instructor's answer
    passes both cells."""
    result = in_fresh_grader(f'''
        import copy
        import nbformat
        import numpy as np
        from poolgrade.execution import test_cells as harness

        nb = nbformat.read({str(LESSON_01)!r}, as_version=4)
        meta = lambda c: c.metadata.get("nbgrader", {{}})
        cells = [c.source for c in nb.cells
                 if meta(c).get("grade_id", "").startswith("test_bug_counterexample_")]
        names = harness.answer_names([c.source for c in nb.cells if c.cell_type == "code"
                                      and meta(c).get("solution") and not meta(c).get("grade")])
        x = np.zeros((1, 1, 16, 16))
        x[0, 0, 2, 2] = 1.0
        honest = np.zeros((1, 1, 3, 3))
        honest[0, 0, 2, 2] = 1.0
        answers = {{"honest": (honest, 3, 1, 0),
                    "kernel 14001": (x, 14001, 1, 7000),
                    "stride 10**9": (x, 3, 10**9, 1),
                    "padding 7000": (x, 16, 1, 7000),
                    "batch of 64": (np.zeros((64, 1, 16, 16)), 3, 1, 1)}}
        found = {{}}
        peaks = []
        for label, answer in answers.items():
            caller = lambda name, args, kwargs, limit: copy.deepcopy(answer)
            outcomes = [harness.run_test_cell(src, names, caller) for src in cells]
            found[label] = [[o.passed, o.evalue.splitlines()[0] if o.evalue else ""]
                            for o in outcomes]
            peaks.append(peak_mb())
        report(found=found, peaks=peaks)
    ''')
    found = result["found"]
    assert found["honest"] == [[True, ""], [True, ""]], found["honest"]
    assert all(why == "kernel_size must be an int from 1 to 16, got 14001"
               for _, why in found["kernel 14001"]), found["kernel 14001"]
    assert all(not passed for passed, _ in found["kernel 14001"])
    assert all("stride must be an int from 1 to 16" in why for _, why in found["stride 10**9"])
    assert [passed for passed, _ in found["padding 7000"]] == [False, False]
    assert "PyTorch refuses" in found["padding 7000"][0][1]
    assert all("1 <= N, C <= 8" in why or "rules of Exercise 2" in why
               for _, why in found["batch of 64"]), found["batch of 64"]
    # the honest run set the peak; no bomb raised it by more than noise
    assert max(result["peaks"]) - result["peaks"][0] < 50, result["peaks"]


# A bomb per exercise whose test builds framework layers or arrays from the answer's sizes
# (as source, built in the grader's stand-in), and how its message must start in the visible
# test cell, which must stop it before anything is built.
FRAMEWORK_BOMBS = {
    "04-conv-vs-pooling": ("design_stack", [
        ('[("conv", 10**5, 1000, 1, 0)]',
         "each size in the layer ('conv', 100000, 1000, 1, 0) must be an int from 0 to 32"),
        ('[("pool", 2, 1, 0)] * 10**5', "expected a list of at most 8 layers"),
        ('[("conv", 32, 32, 1, 16)]',
         "your stack [('conv', 32, 32, 1, 16)] has 524320 learnable parameters, over the budget"),
    ]),
    "05-keras-and-pytorch": ("torch_to_keras", [
        ('[("ZeroPadding2D", {"padding": ((5000, 5000), (5000, 5000))}), ("MaxPooling2D", '
         '{"pool_size": (2, 2), "strides": (2, 2), "padding": "valid"})]',
         "each ZeroPadding2D padding must be an int from 0 to 2, got 5000"),
        ('[("ZeroPadding2D", {"padding": 1})] * 1000', "expected at most one ZeroPadding2D"),
    ]),
    "06-from-feature-maps-to-prediction": ("design_head", [
        ('[("adaptive", 100_000), ("flatten",), ("linear", 100, 4)]',
         "the head [('adaptive', 100000), ('flatten',), ('linear', 100, 4)] cannot be built: "
         "('adaptive', 100000): an adaptive pooling's output size must be an int from 0 to 64"),
        ('[("linear", 1000, 10_000)] * 50', "the head [('linear', 1000, 10000), "),
    ]),
}


@pytest.mark.slow
@pytest.mark.parametrize("lesson", sorted(FRAMEWORK_BOMBS))
def test_layers_built_from_an_answer_are_size_checked_first(lesson):
    """Lessons 04 to 06 build torch or Keras layers from a student's answer: each bomb fails
    with a message naming the allowed sizes, without raising the grader's peak memory,
    while the instructor's answer passes every cell."""
    exercise, bombs = FRAMEWORK_BOMBS[lesson]
    result = in_fresh_grader(f'''
        import copy, sys, warnings
        from poolgrade.authoring import mistake_catalogue as mistakes
        import nbformat
        from poolgrade.execution import test_cells as harness

        lesson, exercise = {lesson!r}, {exercise!r}
        bombs = [eval(source) for source in {[source for source, _ in bombs]!r}]
        solution = mistakes.solution_namespace(lesson)
        nb = nbformat.read(next(mistakes.ROOT.joinpath("solutions", lesson).glob("*.ipynb")),
                           as_version=4)
        meta = lambda c: c.metadata.get("nbgrader", {{}})
        names = harness.answer_names([c.source for c in nb.cells if c.cell_type == "code"
                                      and meta(c).get("solution") and not meta(c).get("grade")])
        cells = [(src, prelude) for gid, src, prelude in harness.notebook_test_cells(nb, names)
                 if gid.startswith(f"test_{{exercise}}_")]

        def honest(name, args, kwargs, limit):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    return copy.deepcopy(solution[name](*copy.deepcopy(args), **kwargs))
                except Exception as exc:
                    raise harness.StudentRaised(type(exc).__name__, str(exc)) from None

        passed = [harness.run_test_cell(src, names, honest, prelude=prelude).passed
                  for src, prelude in cells]
        before = peak_mb()
        found = []
        for answer in bombs:
            caller = lambda name, args, kwargs, limit: copy.deepcopy(answer)
            found.append([harness.run_test_cell(src, names, caller, prelude=prelude)
                          .evalue.splitlines()[0] for src, prelude in cells])
        report(passed=passed, found=found, growth=peak_mb() - before)
    ''', TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    assert result["passed"] == [True, True]
    for (_, message), (visible, hidden) in zip(bombs, result["found"]):
        assert visible.startswith(message), (message, visible)
        assert hidden, "the hidden test passed a bomb"
    assert result["growth"] < 50, result


# ----------------------------------------------------------------------------- memory budget
def test_a_test_cell_past_its_memory_budget_fails_and_the_grader_gets_it_back():
    """A test cell that grows a list from the student's number (unchecked, on purpose)
    fails with the budget's message once it holds 200 MB; the grader's peak stays within the
    budget, its memory returns, and the next cell, honest, passes."""
    result = in_fresh_grader('''
        from poolgrade.sandbox import budget
        from poolgrade.execution import test_cells as harness

        numbers = {"bomb": 60_000, "honest": 4}
        caller = lambda name, args, kwargs, limit: numbers[args[0]]
        cell = ("n = grid_side({who!r})\\n"
                "cells = [i for i in range(n * n)]\\n"
                "assert len(cells) == 16, 'a 4 x 4 grid'\\n")
        small = budget.Budget(cpu_seconds=60, memory_mb=200)
        harness.run_test_cell(cell.format(who="honest"), {"grid_side"}, caller, small)
        before = peak_mb()
        bomb = harness.run_test_cell(cell.format(who="bomb"), {"grid_side"}, caller, small)
        peak = peak_mb()
        after = status_mb("VmRSS")
        honest = harness.run_test_cell(cell.format(who="honest"), {"grid_side"}, caller, small)
        report(before=before, peak=peak, after=after, bomb=[bomb.ename, bomb.evalue],
               honest=honest.passed, over=bomb.over_budget)
    ''')
    assert result["bomb"][0] == harness.OVER_BUDGET, result["bomb"]
    assert "more than 200 MB of the grader's memory" in result["bomb"][1], result["bomb"]
    assert result["honest"] is True
    # 60,000**2 ints would need over 100 GB: the cell stopped at its 200 MB (and a little
    # bookkeeping), and gave them back
    assert result["peak"] - result["before"] < 200 + 60, result
    assert result["after"] < result["before"] + 60, result


# ----------------------------------------------------------------------------- CPU budget
def test_a_test_cell_past_its_cpu_budget_fails_on_any_thread():
    """An endless loop in test code (which even swallows ``Exception``) is stopped by the
    CPU budget, on the main thread (nbgrader, local workers) and on another thread (a Dask
    worker); the budget's watchdog is gone afterwards and the next cell passes."""
    result = in_fresh_grader('''
        import threading
        from poolgrade.sandbox import budget
        from poolgrade.execution import test_cells as harness

        caller = lambda name, args, kwargs, limit: 10**15
        bomb = ("n = steps()\\n"
                "try:\\n"
                "    count = 0\\n"
                "    for i in range(n):\\n"
                "        count += 1\\n"
                "except Exception:\\n"
                "    pass\\n")
        small = budget.Budget(cpu_seconds=0.5, memory_mb=1024)
        outcomes = [harness.run_test_cell(bomb, {"steps"}, caller, small)]
        worker = threading.Thread(target=lambda: outcomes.append(
            harness.run_test_cell(bomb, {"steps"}, caller, small)))
        worker.start()
        worker.join()
        honest = harness.run_test_cell("assert 2 + 2 == 4", set(), caller, small)
        report(outcomes=[[o.ename, o.evalue] for o in outcomes], honest=honest.passed,
               threads=[t.name for t in threading.enumerate()])
    ''')
    for ename, evalue in result["outcomes"]:
        assert ename == harness.OVER_BUDGET
        assert "more than 0.5 s of the grader's CPU time" in evalue
    assert len(result["outcomes"]) == 2 and result["honest"] is True
    assert result["threads"] == ["MainThread"]


def test_expected_values_are_computed_outside_the_budget():
    """The first computation of cached expected values (``cached_oracle``) spends more CPU
    and memory than the cell's whole budget, and the cell still passes; the same work in
    the test's own code fails."""
    result = in_fresh_grader('''
        import time
        from poolgrade.sandbox import budget
        from poolgrade.execution import test_cells as harness

        work = ("def heavy():\\n"
                "    start = time.thread_time()\\n"
                "    while time.thread_time() - start < 1.0:\\n"
                "        pass\\n"
                "    block = bytearray(300 * 2**20)\\n"
                "    return [len(block)]\\n")
        cached = ("import time\\n" + work +
                  "from poolgrade.execution import test_cells as harness\\n"
                  "assert harness.cached_oracle('heavy', heavy) == [300 * 2**20]\\n")
        own = "import time\\n" + work + "heavy()\\n"
        small = budget.Budget(cpu_seconds=0.5, memory_mb=100)
        caller = lambda *a: None
        first = harness.run_test_cell(cached, set(), caller, small)
        again = harness.run_test_cell(cached, set(), caller, small)
        charged = harness.run_test_cell(own, set(), caller, small)
        report(first=[first.passed, first.evalue], again=again.passed,
               charged=[charged.ename, charged.evalue])
    ''')
    assert result["first"] == [True, ""], result["first"]
    assert result["again"] is True
    assert result["charged"][0] == harness.OVER_BUDGET, result["charged"]


def test_a_call_of_the_students_function_is_finished_before_the_budget_stops_the_cell():
    """The budget falls due while the grader reads a reply (work in the caller): the call
    completes (the channel stays in step) and the cell fails right after it."""
    result = in_fresh_grader('''
        import time
        from poolgrade.sandbox import budget
        from poolgrade.execution import test_cells as harness
        from poolkit.checks import runtime

        finished = []

        def caller(name, args, kwargs, limit):
            start = time.thread_time()
            while time.thread_time() - start < 0.6:     # the grader decoding a big reply
                pass
            finished.append(name)
            return 1

        def raising(name, args, kwargs, limit):
            caller(name, args, kwargs, limit)
            raise harness.StudentRaised("ValueError", "the student's function raised")

        small = budget.Budget(cpu_seconds=0.2, memory_mb=1024)
        outcome = harness.run_test_cell("x = f()\\nwhile True:\\n    pass\\n", {"f"}, caller,
                                        small)
        # a call that raises, and a test that swallows it and loops: still stopped
        swallowed = harness.run_test_cell(
            "try:\\n    f()\\nexcept Exception:\\n    pass\\nwhile True:\\n    pass\\n",
            {"f"}, raising, small)
        report(finished=finished, enames=[outcome.ename, swallowed.ename],
               left=[budget.current() is None, runtime.current() is not None])
    ''')
    assert result["finished"] == ["f", "f"]
    assert result["enames"] == [harness.OVER_BUDGET, harness.OVER_BUDGET]
    assert result["left"] == [True, False]


def test_the_budget_is_lowered_never_raised_by_the_environment(monkeypatch):
    monkeypatch.setenv("POOLKIT_TEST_CELL_CPU_SECONDS", "5")
    monkeypatch.setenv("POOLKIT_TEST_CELL_MEMORY_MB", "999999")
    assert budget.default_budget() == budget.Budget(cpu_seconds=5.0,
                                                    memory_mb=budget.MEMORY_MB)
    monkeypatch.setenv("POOLKIT_TEST_CELL_CPU_SECONDS", "lots")
    assert budget.default_budget().cpu_seconds == budget.CPU_SECONDS


# ----------------------------------------------------------------------------- a class
ASSIGNMENT = "budget-bombs"
HONEST, BOMB = "def grid_side():\n    return 4\n", "def grid_side():\n    return 60_000\n"


def _bombs_course(root: Path) -> Path:
    """A course whose tests build things from the student's number without checking it
    (what the lessons must never do, and what the budget is for), then an ordinary
    exercise."""
    def meta(grade_id, points=None):
        return {"nbgrader": {"grade": points is not None, "grade_id": grade_id,
                             "locked": points is not None, "schema_version": 3,
                             "solution": points is None, "task": False,
                             **({"points": points} if points is not None else {})}}

    cells = [
        new_code_cell("import numpy as np"),
        new_code_cell("def grid_side():\n    ### BEGIN SOLUTION\n    return 4\n"
                      "    ### END SOLUTION", metadata=meta("grid_side")),
        new_code_cell("n = grid_side()\ncells = [i for i in range(n * n)]\n"
                      "assert len(cells) == 16, 'a 4 x 4 grid'", metadata=meta("test_memory", 1)),
        new_code_cell("n = grid_side()\ncount = 0\nfor i in range(n ** 3):\n    count += 1\n"
                      "assert count == 64, 'a 4 x 4 x 4 cube'", metadata=meta("test_cpu", 1)),
        new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                      "    ### END SOLUTION", metadata=meta("double")),
        new_code_cell("assert double(21) == 42", metadata=meta("test_double", 1)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    folder = root / "source" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")
    (root / "nbgrader_config.py").write_text(fc.CONFIG.format(source="source",
                                                              release="release"))
    fc.generate(root, ASSIGNMENT)
    return root


@pytest.mark.slow
def test_one_bomb_under_nbgrader_autograde_costs_only_its_own_cells(tmp_path):
    """``nbgrader autograde`` grades the class in one process: the bomb (first in line)
    loses the two cells it bombed and keeps the third; the honest student after it gets
    every point; the grader's peak memory is its own plus at most one cell's budget."""
    root = _bombs_course(tmp_path / "course")
    fc.submit(root, ASSIGNMENT, "a-bomb", fc.student_notebook(
        root, ASSIGNMENT, {"grid_side": BOMB, "double": "def double(x):\n    return 2 * x"}))
    fc.submit(root, ASSIGNMENT, "b-honest", fc.student_notebook(
        root, ASSIGNMENT, {"grid_side": HONEST, "double": "def double(x):\n    return 2 * x"}))
    peak_file = tmp_path / "peak.json"
    driver = textwrap.dedent(f'''
        import atexit, json, sys
        def peak():
            with open("/proc/self/status") as f:
                mb = {{l.split(":")[0]: int(l.split()[1]) / 1024 for l in f
                       if l.startswith(("VmHWM", "VmRSS"))}}
            with open({str(peak_file)!r}, "w") as out:
                json.dump(mb, out)
        atexit.register(peak)
        from nbgrader.apps.nbgraderapp import main
        sys.argv = ["nbgrader", "autograde", {ASSIGNMENT!r}, "--log-level=ERROR"]
        main()
    ''')
    env = {**fc.nbgrader_env(), "POOLKIT_TEST_CELL_MEMORY_MB": "256",
           "POOLKIT_TEST_CELL_CPU_SECONDS": "3"}
    proc = subprocess.run([sys.executable, "-c", driver], cwd=root, env=env,
                          capture_output=True, text=True, preexec_fn=_safety_nets)
    assert proc.returncode == 0, proc.stderr[-3000:]
    scores = _gradebook_scores(root)
    assert scores["b-honest"] == {"test_memory": 1, "test_cpu": 1, "test_double": 1}
    assert scores["a-bomb"] == {"test_memory": 0, "test_cpu": 0, "test_double": 1}
    graded = nbformat.read(root / "autograded" / "a-bomb" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                           as_version=4)
    errors = {c.metadata["nbgrader"]["grade_id"]: o for c in graded.cells
              for o in c.get("outputs", []) if o.output_type == "error"}
    assert set(errors) == {"test_memory", "test_cpu"}
    assert "more than 256 MB of the grader's memory" in errors["test_memory"].evalue
    assert "more than 3 s of the grader's CPU time" in errors["test_cpu"].evalue
    # Measured here: grading the honest student alone peaks at 130 MB; the bomb asked for
    # over 100 GB and got its 256 MB budget (a peak of 372 MB), then gave it back.
    peak = json.loads(peak_file.read_text())
    assert peak["VmHWM"] < 130 + 256 + 126, peak
    assert peak["VmRSS"] < 256, peak


def _gradebook_scores(root: Path) -> dict:
    from nbgrader.api import Gradebook

    scores: dict = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for submission in gb.find_assignment(ASSIGNMENT).submissions:
            for nb in submission.notebooks:
                scores[submission.student.id] = {g.name: g.auto_score for g in nb.grades}
    return scores


# ----------------------------------------------------------------------------- per-job timeout
def stuck_or_quick(task):
    """The engine's job function for the test below: the student "stuck" blocks on an event
    that is never set, as a grader whose side hangs would; the others hand their notebooks
    back unexecuted at once (nbgrader then scores their test cells as passed)."""
    if task.student == "stuck":
        threading.Event().wait()
    return execute.SubmissionRun(task.student, task.notebooks, [], 0.0, "test")


def timeout_for_the_stuck_one(limits, kind, job):
    """A tiny per-job timeout for the stuck job only: the others have an hour, so nothing
    here depends on how fast the machine is."""
    return 0.5 if kind == "run" and job.student == "stuck" else 3600.0


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["local", "dask"])
def test_a_stuck_job_is_stopped_after_the_per_job_timeout_and_the_batch_goes_on(
        backend, tmp_path, monkeypatch):
    """Local workers and a Dask cluster alike: the stuck job's row says so, every other
    student is graded in full."""
    root = tmp_path / "course"
    root.mkdir()
    fc.write_fixture_source(root)
    fc.generate(root, fc.FIXTURE_ASSIGNMENT)
    answers = fc.solution_answers(root, fc.FIXTURE_ASSIGNMENT)
    students = ["early", "stuck", "late-1", "late-2", "late-3"]
    for student in students:
        fc.submit(root, fc.FIXTURE_ASSIGNMENT, student,
                  fc.student_notebook(root, fc.FIXTURE_ASSIGNMENT, answers))
    monkeypatch.setattr(execute, "run_submission", stuck_or_quick)
    monkeypatch.setattr(engine, "job_timeout", timeout_for_the_stuck_one)
    options = dict(unsandboxed=True, progress=False, limits=Limits(submission_timeout=60))
    if backend == "local":
        result = grade(fc.FIXTURE_ASSIGNMENT, root, workers=2, **options)
    else:
        import cloudpickle
        from distributed import LocalCluster

        # the workers cannot import this test module: send the job function by value
        cloudpickle.register_pickle_by_value(sys.modules[__name__])
        try:
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster:
                result = grade(fc.FIXTURE_ASSIGNMENT, root,
                               scheduler=cluster.scheduler_address, **options)
        finally:
            cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    rows = {row["student"]: row for row in read_csv(result.csv_path)}
    assert set(rows) == set(students)
    stuck = rows.pop("stuck")
    assert stuck["status"] == "error", stuck
    assert "per-job timeout of 0.5 s" in stuck["reason"] and "rerun" in stuck["reason"]
    for student, row in rows.items():
        assert row["status"] == "ok", (student, row)
        assert float(row["total"]) == 9, (student, row)    # every autograded point
    # a rerun retries the stuck student (error rows are never skipped)
    assert "stuck" not in json.loads((Path(result.csv_path).parent / "state.json")
                                     .read_text())["students"]
    # the stuck worker and the pool it broke are gone (waiting on their exit, at most 60 s;
    # multiprocessing's resource tracker is this process's helper and stays)
    import psutil

    def a_worker(process):
        try:
            return "resource_tracker" not in " ".join(process.cmdline())
        except psutil.Error:     # gone already
            return False

    workers = [p for p in psutil.Process().children(recursive=True) if a_worker(p)]
    _, alive = psutil.wait_procs(workers, timeout=60)
    assert not alive, alive
