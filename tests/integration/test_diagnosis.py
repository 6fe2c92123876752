"""Known mistakes: each is named when (and only when) a student's answer reproduces it.

For every known mistake in ``solutions/<lesson>/mistakes.py``, its implementation, run as
the student's answer, fails the exercise's visible test in a kernel-like namespace with a
message that names it, and the hidden test under the grader's harness with the same
diagnosis recorded for the class report.  The solution and mutations of it that behave like
no known mistake are never given a diagnosis.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import signal
import sys

import numpy as np
import pytest

from poolgrade.authoring import mistake_catalogue as mistakes_tool
from poolgrade.execution import confirm
from poolgrade.execution import test_cells as harness
from poolkit.checks import diagnosis
from tests.integration.attacks import diagnosis_spoof
from tests.support import ROOT, solution_notebook
from tests.support.grading_cells import grading_cells, remote_caller, solution_sources, with_source

LESSONS = mistakes_tool.lessons_with_specs()


@pytest.fixture(scope="module")
def namespaces():
    cache = {}

    def get(lesson):
        if lesson not in cache:
            cache[lesson] = mistakes_tool.solution_namespace(lesson)
        return cache[lesson]
    return get


def all_mistakes():
    for lesson in LESSONS:
        for exercise, entry in mistakes_tool.load_spec(lesson).items():
            for mistake in entry["mistakes"]:
                yield pytest.param(lesson, exercise, mistake,
                                   id=f"{lesson[:2]}-{exercise}-{mistake['id']}")


def all_exercises():
    for lesson in LESSONS:
        for exercise in mistakes_tool.load_spec(lesson):
            yield pytest.param(lesson, exercise, id=f"{lesson[:2]}-{exercise}")


def function_name(lesson, exercise):
    return mistakes_tool.load_spec(lesson)[exercise].get("function", exercise)


def solution_source(lesson, exercise) -> str:
    import nbformat

    nb = nbformat.read(solution_notebook(lesson), as_version=4)
    cell = next(c for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == exercise)
    return "\n".join(line for line in cell.source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def kernel_namespace(base):
    namespace = dict(base)
    exec("import importlib\nimport poolkit.checks\nck = importlib.reload(poolkit.checks)\n",
         namespace)
    return namespace


@pytest.mark.parametrize("lesson", LESSONS)
def test_shipped_json_matches_the_specs(lesson):
    """poolkit/mistakes/<lesson>.json is what poolgrade mistakes builds from the spec."""
    path = ROOT / "poolkit" / "mistakes" / f"{lesson}.json"
    assert path.exists(), "run poolgrade mistakes"
    assert mistakes_tool.same_content(mistakes_tool.build_lesson(lesson),
                                      json.loads(path.read_text())), \
        f"{path.name} is out of date: run poolgrade mistakes"


@pytest.mark.parametrize("lesson", LESSONS)
def test_shipped_json_holds_no_code(lesson):
    """Students can read poolkit: the mistakes' code (near-answers) stays in solutions/."""
    text = (ROOT / "poolkit" / "mistakes" / f"{lesson}.json").read_text()
    assert '"source"' not in text
    for entry in mistakes_tool.load_spec(lesson).values():
        for mistake in entry["mistakes"]:
            for line in mistake["source"].splitlines():
                line = line.strip()
                if len(line) > 12 and not line.startswith("#"):
                    assert line not in text, f"{mistake['id']}: {line!r} is in the JSON"


def test_the_readme_counts_the_known_mistakes():
    """The README's count of known mistakes and of the exercises that have them is the
    catalogue's (it drifted once: 83 in the text, 90 in the JSON)."""
    import re

    text = " ".join((ROOT / "README.md").read_text().split())
    found = re.search(r"There are (\d+) known mistakes in the other (\d+) autograded exercises",
                      text)
    assert found, "the README no longer states the count: update this test with it"
    specs = [mistakes_tool.load_spec(lesson) for lesson in LESSONS]
    mistakes = sum(len(entry["mistakes"]) for spec in specs for entry in spec.values())
    exercises = sum(1 for spec in specs for entry in spec.values() if entry["mistakes"])
    assert (int(found[1]), int(found[2])) == (mistakes, exercises)


def names_mistake(message: str, mistake: dict) -> bool:
    """The failure message names the mistake (after either opening)."""
    return any(f"{opening} {mistake['matches']}" in message for opening in diagnosis.OPENINGS)


@pytest.mark.parametrize("lesson, exercise, mistake", list(all_mistakes()))
def test_mistake_is_diagnosed_in_the_kernel(lesson, exercise, mistake, namespaces,
                                            monkeypatch):
    """The visible test fails and names the mistake, as the student sees it in the lesson."""
    name = function_name(lesson, exercise)
    namespace = kernel_namespace(with_source(namespaces(lesson), mistake["source"]))
    # the diagnosis finds the student's function in the kernel's namespace, __main__
    monkeypatch.setattr(sys.modules["__main__"], name, namespace[name], raising=False)
    assert diagnosis.diagnose(exercise)["id"] == mistake["id"]
    # A mistake the visible tests do not catch (``"visible": False`` in the spec) is
    # checked with the hidden tests run in the same kernel-like namespace.
    wanted = "_visible" if mistake.get("visible", True) else "_hidden"
    cells = [(src, prelude) for gid, src, prelude in grading_cells(lesson, exercise)
             if gid.endswith(wanted)]
    assert cells, f"{exercise} has no {wanted[1:]} test cell"
    with pytest.raises(AssertionError) as failed:
        for source, prelude in cells:
            exec(prelude, namespace)
            exec(source, namespace)
    message = str(failed.value)
    assert names_mistake(message, mistake), message
    assert f"reread: {mistake['section']}" in message, message
    assert len(message.splitlines()) <= 5, message


def test_a_mistake_that_raises_is_not_called_an_output(namespaces, monkeypatch):
    """Lesson 06's untransposed weight makes NumPy raise: there is no output to compare, so
    the diagnosis says the function behaves like the mistake."""
    lesson, exercise = "06-from-feature-maps-to-prediction", "predict_from_maps"
    mistake = next(m for (ex, _), m in mistakes_tool.known_mistakes(lesson).items()
                   if ex == exercise and m["id"] == "weight_not_transposed")
    namespace = kernel_namespace(with_source(namespaces(lesson), mistake["source"]))
    monkeypatch.setattr(sys.modules["__main__"], exercise, namespace[exercise], raising=False)
    cells = [src for gid, src, _ in grading_cells(lesson, exercise) if gid.endswith("_visible")]
    with pytest.raises(AssertionError) as failed:
        for source in cells:
            exec(source, namespace)
    message = str(failed.value)
    assert "predict_from_maps raised ValueError" in message, message
    assert f"your function behaves exactly like {mistake['matches']}" in message, message
    assert "your output equals" not in message, message


@pytest.mark.parametrize("message, named", [
    ("'float' object cannot be interpreted as an integer", True),
    ("max_pool2d_loops() takes 2 positional arguments but 4 were given", False),
    ("unsupported operand type(s) for +: 'int' and 'str'", False),
])
def test_a_mistake_that_raises_is_named_only_for_its_own_error(message, named, monkeypatch):
    """Lesson 01's float sizes raise a TypeError; another TypeError (a wrong signature, a
    string added to a number) is a different bug and must not be called a float size."""
    exercise = "max_pool2d_loops"

    def max_pool2d_loops(x, kernel_size, stride=None, padding=0):
        raise TypeError(message)

    monkeypatch.setattr(sys.modules["__main__"], exercise, max_pool2d_loops, raising=False)
    found = diagnosis.diagnose(exercise)
    assert (found is not None and found["id"] == "float_sizes") == named, found


def test_an_error_the_exercise_asks_for_is_matched_by_type(namespaces, monkeypatch):
    """Lesson 01's input_from_max_pool must raise ValueError for impossible targets, in the
    student's own words: a mistake in *when* it raises is named whatever the wording."""
    lesson, exercise = "01-max-vs-average", "input_from_max_pool"
    entry = diagnosis._catalogue()[exercise]
    assert entry.get("contract_errors") == ["ValueError"]
    mistake = next(m for (ex, _), m in mistakes_tool.known_mistakes(lesson).items()
                   if ex == exercise and m["id"] == "raises_at_local_max")
    source = mistake["source"].replace(
        '"a window\'s max above all its neighbours cannot be reached"',
        '"impossible targets, sorry (window 3)"')
    assert source != mistake["source"]
    namespace = kernel_namespace(with_source(namespaces(lesson), source))
    monkeypatch.setattr(sys.modules["__main__"], exercise, namespace[exercise], raising=False)
    assert diagnosis.diagnose(exercise)["id"] == "raises_at_local_max"


def test_the_error_key_blanks_numbers_and_keeps_words():
    key = diagnosis.error_key
    assert key("ValueError", "shapes (2,3) and (4,5) not aligned") == \
        key("ValueError", "shapes (7,1) and (1,9) not aligned")
    assert key("ValueError", "shapes (2,3)") != key("TypeError", "shapes (2,3)")
    assert key("TypeError", "'float' object") != key("TypeError", "'str' object")
    assert " " not in key("TypeError", "many  words\nand lines " * 40)   # one oracle token
    assert key("KeyError", "") == "KeyError"


@pytest.mark.parametrize("lesson, exercise, mistake", list(all_mistakes()))
def test_mistake_is_diagnosed_by_the_grader(lesson, exercise, mistake, namespaces):
    """Under the trusted harness, the hidden test's failure names the mistake and the
    outcome carries it for grades.csv and the misconception report."""
    namespace = with_source(namespaces(lesson), mistake["source"])
    # as the grader does: every name the solution cells define comes from the student
    names = harness.answer_names(solution_sources(lesson))
    # the submitted cells the grader reads (the loops rule): the solution's, then the mistake
    sources = harness.defining_cells(solution_sources(lesson) + [mistake["source"]], names)
    outcomes = [harness.run_test_cell(src, names, remote_caller(namespace), prelude=prelude,
                                      sources=sources)
                for gid, src, prelude in grading_cells(lesson, exercise)]
    failed = [o for o in outcomes if not o.passed]
    assert failed, "the mistake passed every test cell"
    for outcome in failed:
        assert outcome.diagnoses == [(exercise, mistake["id"])], outcome.evalue
        assert names_mistake(outcome.evalue, mistake), outcome.evalue


@pytest.mark.parametrize("lesson, exercise", list(all_exercises()))
def test_the_solution_gets_no_diagnosis(lesson, exercise, namespaces):
    namespace = namespaces(lesson)
    assert diagnosis.diagnose(exercise, namespace[function_name(lesson, exercise)]) is None


# --------------------------------------------------------------------------- mutations

_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
          ast.Div: ast.Mult, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE,
          ast.GtE: ast.Gt}
_NAMES = {"max": "min", "min": "max", "maximum": "minimum", "minimum": "maximum",
          "mean": "sum", "sum": "mean", "ceil": "floor", "floor": "ceil"}


def _sites(tree):
    return [node for node in ast.walk(tree)
            if (isinstance(node, (ast.BinOp, ast.Compare)) or
                (isinstance(node, ast.Constant) and type(node.value) is int) or
                (isinstance(node, ast.Attribute) and node.attr in _NAMES))]


def mutants(source: str, limit: int = 40):
    """Single-site mutations of ``source``: an operator swapped, an int constant +1, a
    reduction swapped (max/min, mean/sum, ceil/floor)."""
    count = len(_sites(ast.parse(source)))
    for index in range(count):
        tree = ast.parse(source)
        node = _sites(tree)[index]
        if isinstance(node, ast.BinOp) and type(node.op) in _SWAPS:
            node.op = _SWAPS[type(node.op)]()
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in _SWAPS:
            node.ops[0] = _SWAPS[type(node.ops[0])]()
        elif isinstance(node, ast.Constant):
            node.value += 1
        elif isinstance(node, ast.Attribute):
            node.attr = _NAMES[node.attr]
        else:
            continue
        yield ast.unparse(tree)
        limit -= 1
        if limit == 0:
            return


def wider_cases(entry) -> list:
    """Cases beyond the probes: each seeded probe recipe again with other seeds."""
    from poolkit.checks.cases import _GENERATORS

    cases = []
    for probe in entry["probes"]:
        cases += _GENERATORS[probe.generator](**probe.params)
        if "seed" in probe.params:
            for shift in (1, 2):
                params = {**probe.params, "seed": probe.params["seed"] + 1000 * shift}
                cases += _GENERATORS[probe.generator](**params)
    return cases


def _results(fn, cases, contract=()):
    """Encoded outcomes, an error the exercise asks for reduced to its type (as recorded)."""
    return [mistakes_tool._contract_error(mistakes_tool._encode_call(fn, args, kwargs), contract)
            for args, kwargs, _ in cases]


class _Slow(Exception):
    pass


def _alarm(signum, frame):
    raise _Slow()


@pytest.mark.parametrize("lesson, exercise", list(all_exercises()))
def test_mutants_are_diagnosed_only_as_what_they_are(lesson, exercise, namespaces):
    """A mutation of the solution is named only if it behaves like that mistake on many
    more cases than the probes; one that behaves like no known mistake is never named."""
    spec = mistakes_tool.load_spec(lesson)[exercise]
    name = spec.get("function", exercise)
    base = namespaces(lesson)
    source = solution_source(lesson, exercise)
    cases = wider_cases(spec)
    contract = diagnosis._catalogue()[exercise].get("contract_errors", [])
    truth = _results(base[name], cases, contract)
    known = {m["id"]: _results(with_source(base, m["source"])[name], cases, contract)
             for m in spec["mistakes"]}
    checked = named = 0
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for text in mutants(source):
            namespace = dict(base)
            try:
                signal.alarm(10)
                exec(text, namespace)
                got = _results(namespace[name], cases, contract)
                found = diagnosis.diagnose(exercise, namespace[name])
            except _Slow:
                continue
            finally:
                signal.alarm(0)
            if got == truth:
                continue            # an equivalent mutant: not a wrong answer
            checked += 1
            if found is not None:
                named += 1
                same = all(diagnosis.same_result(diagnosis._decode_line(a),
                                                 diagnosis._decode_line(b))
                           for a, b in zip(got, known[found["id"]]))
                assert same, f"mutant named {found['id']!r} but behaves otherwise:\n{text}"
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert checked >= 3, f"only {checked} wrong mutants of {name}: mutate more"


def test_probe_cases_come_from_the_recipes():
    spec = next(iter(diagnosis._catalogue().values()))
    assert diagnosis.probe_cases(spec), "an entry without probe cases cannot diagnose"


def test_an_int_is_not_a_float():
    assert not diagnosis.same_result(("int", 2), ("float", 2.0))
    assert diagnosis.same_result(("float", 2.0), ("float", 2.0 + 1e-12))
    assert not diagnosis.same_result(("error", "ValueError"), ("error", "TypeError"))


def test_tools_refuses_probes_that_cannot_tell_mistakes_apart(tmp_path, monkeypatch):
    lesson = LESSONS[0]
    spec = copy.deepcopy(mistakes_tool.load_spec(lesson))
    exercise = next(iter(spec))
    first = spec[exercise]["mistakes"][0]
    spec[exercise]["mistakes"].append({**first, "id": "copy"})
    monkeypatch.setattr(mistakes_tool, "load_spec", lambda _lesson: spec)
    with pytest.raises(ValueError, match="cannot tell 'copy'"):
        mistakes_tool.build_lesson(lesson)


def test_spec_module_loads_standalone():
    for lesson in LESSONS:
        path = ROOT / "solutions" / lesson / "mistakes.py"
        spec = importlib.util.spec_from_file_location("m", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.MISTAKES


# --------------------------------------------------------------------------- the class report


def _class():
    from poolgrade.batch.course import Exercise
    from poolgrade.model import GradeRow

    exercises = [Exercise("pool", ["test_pool_a"], 4.0),
                 Exercise("size", ["test_size_a"], 2.0),
                 Exercise("essay", ["essay"], 3.0, manual=True)]
    rows = [GradeRow("a", {"pool": 4.0, "size": 2.0, "essay": None}, status="ok"),
            GradeRow("b", {"pool": 1.0, "size": 2.0}, diagnoses={"pool": "zero_padding"}),
            GradeRow("c", {"pool": 0.0, "size": 0.0},
                     diagnoses={"pool": "zero_padding", "size": "ceil"}),
            GradeRow("d", {"pool": 3.0, "size": 1.0}),
            GradeRow("e", {}, status="missing_notebook"),   # not graded: left out
            GradeRow("f", {"pool": None, "size": 2.0}, status="timeout")]
    return exercises, rows


def test_misconceptions_count_each_diagnosis_per_exercise():
    from poolgrade.batch import report

    exercises, rows = _class()
    table = {(e, d): (n, round(s, 3)) for e, d, n, s in report.misconceptions(exercises, rows)}
    assert table == {("pool", "correct"): (1, 0.2), ("pool", "zero_padding"): (2, 0.4),
                     ("pool", "undiagnosed"): (2, 0.4),
                     ("size", "correct"): (3, 0.6), ("size", "ceil"): (1, 0.2),
                     ("size", "undiagnosed"): (1, 0.2)}


def test_report_files_and_summary_name_the_common_mistake(tmp_path):
    from poolgrade.batch import report

    exercises, rows = _class()
    paths = report.write_misconceptions(str(tmp_path), exercises, rows, "lesson")
    assert [p.rsplit("/", 1)[1] for p in paths] == ["misconceptions.csv", "misconceptions.png"]
    paths = list(paths)
    lines = (tmp_path / "misconceptions.csv").read_text().splitlines()
    assert lines[0] == "exercise,diagnosis,students,share"
    assert "pool,zero_padding,2,0.400" in lines
    assert (tmp_path / "misconceptions.png").read_bytes().startswith(b"\x89PNG")
    report.write_csv(str(tmp_path / "grades.csv"), exercises, rows)
    graded = {r["student"]: r for r in report.read_csv(str(tmp_path / "grades.csv"))}
    assert graded["c"]["diagnosis"] == "pool: zero_padding; size: ceil"
    assert graded["a"]["diagnosis"] == ""
    text = report.summary("lesson", exercises, rows, graded=6, skipped=0, seconds=1.0,
                          csv_path="grades.csv", charts=paths, feedback_dir="feedback")
    assert "Most common known mistake: pool: zero_padding (2 student(s), 40%)" in text


def _zero_padding_max_pool(namespaces):
    lesson = "01-max-vs-average"
    spec = mistakes_tool.load_spec(lesson)["max_pool2d_loops"]
    mistake = next(m for m in spec["mistakes"] if m["id"] == "zero_padding")
    return with_source(namespaces(lesson), mistake["source"])["max_pool2d_loops"]


def test_probing_prints_nothing_and_a_lost_kernel_gives_no_diagnosis(namespaces, capsys):
    wrong = _zero_padding_max_pool(namespaces)

    def chatty(*args, **kwargs):
        print("debugging output")
        return wrong(*args, **kwargs)

    assert diagnosis.diagnose("max_pool2d_loops", chatty)["id"] == "zero_padding"
    assert "debugging output" not in capsys.readouterr().out

    calls = []

    def dies_while_probed(name, args, kwargs, limit):
        calls.append(name)
        if len(calls) > 1:
            raise harness.KernelLost("the kernel died")
        return wrong(*args, **kwargs)

    outcome = harness.run_test_cell(
        "import poolkit.checks as ck\n"
        "ck.check_against_oracle(max_pool2d_loops, 'poolkit.max_pool2d',\n"
        "                        ck.pool_cases(seed=1, padding=True))",
        {"max_pool2d_loops"}, dies_while_probed)
    assert len(calls) == 2, "the failing check should have been followed by a probe"
    assert outcome.ename == "AssertionError" and outcome.diagnoses == []


def test_a_timeout_is_not_probed(monkeypatch):
    calls = []

    def caller(name, args, kwargs, limit):
        calls.append(name)
        raise harness.CallTimeout()

    outcome = harness.run_test_cell(
        "import poolkit.checks as ck\n"
        "ck.check_against_oracle(max_pool2d_loops, 'poolkit.max_pool2d', ck.pool_cases(seed=1))",
        {"max_pool2d_loops"}, caller)
    assert "did not finish" in outcome.evalue and outcome.diagnoses == []
    assert calls == ["max_pool2d_loops"], "the diagnosis called a function that timed out"


# --------------------------------------------------------------------------- in the grader
# The probes and every mistake's outputs on them ship with poolkit, so a student's function
# can answer the probes as a mistake would.  Under the grader's harness a mistake is named
# only after the student's function also behaves like the mistake's own implementation on
# fresh inputs drawn from a secret (poolgrade.execution.confirm).

SECRETS = (11, 12, 13, 14, 15)


@pytest.fixture(autouse=True)
def pinned_secret(monkeypatch):
    """Every test here sees the same fresh inputs (a grader draws its secret at random)."""
    monkeypatch.setattr(confirm, "_secret", SECRETS[0])


def spec_entry(exercise):
    return diagnosis._catalogue()[exercise]


def grader_diagnosis(exercise: str, name: str, fn):
    """``(id of the mistake diagnose names or None, what it recorded for the report,
    the student's calls)``, with ``fn`` as the student's function reached through the
    harness, as in a hidden test cell."""
    calls = []

    def caller(called, args, kwargs, limit):
        calls.append(confirm.case_key(args, kwargs))
        return remote_caller({name: fn})(called, args, kwargs, limit)

    outcome = harness.run_test_cell(
        "from poolkit.checks import diagnosis as d\n"
        f"found = d.diagnose({exercise!r})\n"
        "raise AssertionError(found['id'] if found else 'nothing')",
        {name}, caller)
    found = None if outcome.evalue == "nothing" else outcome.evalue
    return found, outcome.diagnoses, calls


def _student(lesson, source, namespaces, name):
    return with_source(namespaces(lesson), source)[name]


def spoof(lesson, exercise, mistake_id, namespaces, otherwise=None):
    """A student's function that answers the probes as ``mistake_id`` does (from the shipped
    JSON, tests/attacks/diagnosis_spoof.py) and calls ``otherwise`` (default: the solution)
    on every other input."""
    name = function_name(lesson, exercise)
    namespace = dict(namespaces(lesson))
    if otherwise is not None:
        namespace[name] = otherwise
    exec(diagnosis_spoof.spoof_tail(lesson, exercise, name, mistake_id), namespace)
    return namespace[name]


def _shifted(value):
    """A different value of the same kind (wrong, never the solution's)."""
    if isinstance(value, np.ndarray):
        return value + 1
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, (tuple, list)):
        return type(value)(_shifted(v) for v in value) if value else type(value)([0])
    return 0


@pytest.mark.parametrize("lesson, exercise, mistake", list(all_mistakes()))
def test_a_probe_aware_spoof_is_named_only_in_its_own_kernel(lesson, exercise, mistake,
                                                               namespaces):
    """Correct except on the probes, where it returns the mistake's recorded outputs: the
    probes alone name the mistake (the student's kernel), the grader names nothing, and
    records nothing for the class report."""
    name = function_name(lesson, exercise)
    fake = spoof(lesson, exercise, mistake["id"], namespaces)
    assert diagnosis.diagnose(exercise, fake)["id"] == mistake["id"], "the spoof fools nothing"
    found, recorded, calls = grader_diagnosis(exercise, name, fake)
    assert found is None and recorded == []
    probes = {confirm.case_key(a, k) for a, k, _ in diagnosis.probe_cases(spec_entry(exercise))}
    assert [c for c in calls if c not in probes], "the grader never left the probes"


@pytest.mark.parametrize("lesson, exercise, mistake", list(all_mistakes()))
def test_a_spoof_wrong_elsewhere_is_not_named(lesson, exercise, mistake, namespaces):
    """The mistake's outputs on the probes and other wrong values elsewhere: no diagnosis."""
    solution = namespaces(lesson)[function_name(lesson, exercise)]

    def wrong(*args, **kwargs):
        try:
            return _shifted(solution(*args, **kwargs))
        except Exception:
            raise KeyError("not the solution's error") from None

    fake = spoof(lesson, exercise, mistake["id"], namespaces, otherwise=wrong)
    assert diagnosis.diagnose(exercise, fake)["id"] == mistake["id"]
    found, recorded, _ = grader_diagnosis(exercise, function_name(lesson, exercise), fake)
    assert found is None and recorded == []


@pytest.mark.parametrize("lesson, exercise, mistake", list(all_mistakes()))
def test_a_real_mistake_is_confirmed_with_few_calls(lesson, exercise, mistake, namespaces):
    """The mistake's own code is named by the grader, after at most CONFIRM_CALLS calls
    beyond the probes, on fresh inputs."""
    name = function_name(lesson, exercise)
    fn = _student(lesson, mistake["source"], namespaces, name)
    found, recorded, calls = grader_diagnosis(exercise, name, fn)
    assert found == mistake["id"] and recorded == [(exercise, mistake["id"])]
    probes = diagnosis.probe_cases(spec_entry(exercise))
    extra = calls[len(probes):]
    assert 1 <= len(extra) <= confirm.CONFIRM_CALLS
    assert not {confirm.case_key(a, k) for a, k, _ in probes} & set(extra)


@pytest.mark.parametrize("secret", SECRETS)
def test_every_mistake_separates_from_the_solution_on_fresh_inputs(secret, namespaces):
    """Whatever the secret, each known mistake finds fresh inputs that tell it from the
    solution (else an honest mistake would go unnamed), none of them a probe."""
    unconfirmable = []
    for lesson in LESSONS:
        base = namespaces(lesson)
        for exercise, entry in mistakes_tool.load_spec(lesson).items():
            name = entry.get("function", exercise)
            probes = {confirm.case_key(a, k)
                      for a, k, _ in diagnosis.probe_cases(spec_entry(exercise))}
            for mistake in entry["mistakes"]:
                cases = confirm.confirmation_cases(exercise, mistake["id"], secret)
                fn = with_source(base, mistake["source"])[name]
                contract = spec_entry(exercise).get("contract_errors", ())
                separating = 0
                for args, kwargs, wrong in cases:
                    assert confirm.case_key(args, kwargs) not in probes
                    assert diagnosis.same_result(
                        confirm._trusted_outcome(fn, args, kwargs, contract), wrong)
                    right = confirm._trusted_outcome(base[name], args, kwargs, contract)
                    separating += not diagnosis.same_result(wrong, right)
                if not separating:
                    unconfirmable.append(f"{exercise}: {mistake['id']}")
                assert len(cases) <= confirm.CONFIRM_CALLS
                assert len(cases) - separating <= 1
    assert not unconfirmable, unconfirmable


@pytest.mark.parametrize("lesson, exercise", list(all_exercises()))
def test_the_grader_never_names_the_solution(lesson, exercise, namespaces):
    name = function_name(lesson, exercise)
    found, recorded, _ = grader_diagnosis(exercise, name, namespaces(lesson)[name])
    assert found is None and recorded == []


def test_fresh_inputs_come_from_the_secret():
    """Same secret, same inputs (one grading run); another secret, other inputs.  Plain
    numbers (lesson 03's output sizes) get new combinations, arrays new values of the same
    shape, sign and order."""
    spec = spec_entry("stack_to_target")
    keys = [[confirm.case_key(a, k) for a, k, _ in confirm.fresh_cases(spec, 0, secret)]
            for secret in (1, 1, 2)]
    assert keys[0] == keys[1] and keys[0] != keys[2]
    probes = {confirm.case_key(a, k) for a, k, _ in diagnosis.probe_cases(spec)}
    fresh = {key for key in keys[0] if key not in probes}
    assert len(fresh) >= 20, "too few new (size, target) combinations"

    spec = spec_entry("pool2d_vectorized")      # hand-written arrays: new values only
    for args, kwargs, (probe_args, probe_kwargs) in confirm.fresh_cases(spec, 0, 1):
        x, probe = args[0], probe_args[0]
        assert x.shape == probe.shape and args[1:] == probe_args[1:] and kwargs == probe_kwargs
        assert not np.array_equal(x, probe)
        assert np.array_equal(np.sign(x), np.sign(probe))
        assert np.array_equal(np.argsort(x, axis=None, kind="stable"),
                              np.argsort(probe, axis=None, kind="stable"))


def test_without_the_instructors_files_the_grader_names_nothing(tmp_path, monkeypatch,
                                                                   namespaces):
    """A course root without solutions/<lesson>/mistakes.py: the probes still name the
    mistake in the student's kernel, the grader names nothing."""
    fn = _zero_padding_max_pool(namespaces)
    monkeypatch.setenv("POOLKIT_COURSE_ROOT", str(tmp_path))
    monkeypatch.setattr(confirm, "_secret", -1)     # a grader process of its own: no cache
    confirm._instructor.cache_clear()
    try:
        assert diagnosis.diagnose("max_pool2d_loops", fn)["id"] == "zero_padding"
        found, recorded, _ = grader_diagnosis("max_pool2d_loops", "max_pool2d_loops", fn)
        assert found is None and recorded == []
    finally:
        confirm._instructor.cache_clear()


def test_the_catalogue_spoof_fools_only_the_students_own_kernel(namespaces, monkeypatch):
    """tests/attacks/diagnosis_spoof.py's lesson-01 cells: named by the probes in the
    student's kernel, not by the grader."""
    lesson = "01-max-vs-average"
    kernel = kernel_namespace(namespaces(lesson))
    exec(diagnosis_spoof.SPOOF_MAX_POOL2D_LOOPS, kernel)
    spoofed = kernel["max_pool2d_loops"]
    monkeypatch.setattr(sys.modules["__main__"], "max_pool2d_loops", spoofed, raising=False)
    assert diagnosis.diagnose("max_pool2d_loops")["id"] == "zero_padding"
    x = np.random.default_rng(3).standard_normal((2, 3, 7, 6))
    assert np.array_equal(spoofed(x, (3, 2), None, 1), namespaces(lesson)["max_pool2d_loops"](
        x, (3, 2), None, 1)), "the spoof is meant to be correct off the probes"
    assert grader_diagnosis("max_pool2d_loops", "max_pool2d_loops", spoofed)[:2] == (None, [])

    exec(diagnosis_spoof.SPOOF_INPUT_FROM_MAX_POOL, kernel)
    assert diagnosis.diagnose("input_from_max_pool",
                              kernel["input_from_max_pool"])["id"] == "no_check"
    visible = [src for gid, src, _ in grading_cells(lesson, "input_from_max_pool")
               if gid.endswith("_visible")]
    names = harness.answer_names(solution_sources(lesson))
    outcome = harness.run_test_cell(visible[0], names, remote_caller(kernel))
    assert not outcome.passed and outcome.diagnoses == [], outcome.evalue
    assert not any(opening in outcome.evalue for opening in diagnosis.OPENINGS), outcome.evalue
