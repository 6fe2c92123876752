"""Confirming a diagnosis in the grader, on inputs that no student can read in advance.

The probes of ``poolkit/mistakes/<lesson>.json`` ship with poolkit, and so do every known
mistake's outputs on them: a student's function can recognise the probes and return any
mistake's recorded outputs.  Probes alone therefore decide only what a student reads in
their own kernel.  Under the grader's harness, :func:`~poolkit.checks.diagnosis.diagnose`
asks :func:`confirmed` before it names its candidate:

1. the mistake's own implementation (its ``source`` in the instructor's
   ``solutions/<lesson>/mistakes.py``, run as ``poolgrade mistakes`` runs it, in the
   instructor notebook's solution cells) and the instructor's solution are run here, in
   the grader, on *fresh* inputs;
2. the student's function is called (through the sandboxed kernel, like every call) on at
   most :data:`CONFIRM_CALLS` of those inputs: up to :data:`SEPARATING` on which the
   mistake and the solution disagree, and one on which they agree;
3. the mistake is named only if there is at least one input that separates it from the
   solution and the student's function gives the mistake's result (same kinds of values,
   or the same exception) on every input it was called on.

Fresh inputs are drawn from a secret drawn once per grader process (every diagnosis in a
run sees the same inputs; no submission can know them):

* a probe recipe with a seed (``pool_cases(seed=...)`` and the other generators) is drawn
  again with a secret seed and at least :data:`GENERATED_CASES` cases: new shapes,
  parameters and values;
* a hand-written probe case that holds arrays keeps its shapes, dtypes and other arguments
  and gets new values: a float array keeps every value's sign and order (ties stay ties, an
  all-negative input stays negative), an integer array gets about a third of its entries
  redrawn from the values it holds;
* a hand-written probe case of plain numbers only (an output size, a layer stack, ...) gets
  :data:`NUMBER_COPIES` sets of new numbers per draw: each int near its own value (0 may
  become 1, 1 may become 2), kept only when the solution treats it as it treats the probe
  (returns, or raises the same exception): a pool of valid configurations beyond the
  shipped ones.

Fresh inputs equal to a probe are dropped; when a draw holds no input that separates the
mistake from the solution, the next draw is tried, up to :data:`DRAWS` draws.  Where the
instructor's files are missing (``POOLKIT_COURSE_ROOT``, or the checkout poolkit runs from,
has no ``solutions/<lesson>/mistakes.py`` or notebook), nothing is confirmed.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib.util
import logging
import secrets
import threading
import warnings
from functools import cache
from pathlib import Path

import numpy as np

from poolgrade import nbmeta

SEPARATING = 3              # fresh inputs where the mistake and the solution differ, at most
CONFIRM_CALLS = SEPARATING + 1  # calls of the student's function per confirmation, at most
DRAWS = 6                   # fresh draws tried before a mistake counts as unconfirmable
# fresh copies of a probe case of plain numbers per draw: some mistakes show on few
# configurations (a float quotient that misses an integer by a hair: 1 in 20 near one of
# lesson 06's probes, none near the others), and a copy costs only microseconds of the
# instructor's code here, never a call of the student's
NUMBER_COPIES = 64
# cases per draw of a probe recipe with a seed, at least: the generators of sizes start with
# the same few classic cases every time (probes, so skipped), and the rest must be many
# enough to hold configurations that show a rare mistake
GENERATED_CASES = 16

_secret: int | None = None  # drawn on first use; tests pin it
_drawing = threading.Lock()  # a Dask worker grades in several threads: one secret for all


def run_secret() -> int:
    """The secret behind every fresh input of this grader process."""
    global _secret
    with _drawing:
        if _secret is None:
            _secret = secrets.randbits(64)
        return _secret


def _rng(*parts) -> np.random.Generator:
    text = ":".join(str(p) for p in parts)
    return np.random.default_rng(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8],
                                                "big"))


# --------------------------------------------------------------------------- fresh inputs


def _holds_array(value) -> bool:
    if isinstance(value, np.ndarray):
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds_array(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_array(v) for v in value.values())
    return False


def _new_floats(x: np.ndarray, rng) -> np.ndarray:
    """New values for a float array: each distinct finite value is replaced by a fresh one
    of the same sign, in the same order (zeros, infinities and NaN stay)."""
    out = x.astype(np.float64)
    for sign in (1.0, -1.0):
        mask = np.isfinite(out) & (np.sign(out) == sign)
        if not mask.any():
            continue
        magnitudes, where = np.unique(np.abs(out[mask]), return_inverse=True)
        fresh = np.sort(rng.uniform(0.5 * magnitudes[0], 1.5 * magnitudes[-1] + 1e-3,
                                    size=magnitudes.size))
        out[mask] = sign * fresh[where]
    return out.astype(x.dtype)


def _new_ints(x: np.ndarray, rng) -> np.ndarray:
    """About a third of the entries redrawn from the values the array holds (labels stay
    labels)."""
    held = np.unique(x)
    redraw = rng.random(x.shape) < 1 / 3
    return np.where(redraw, rng.choice(held, size=x.shape), x).astype(x.dtype)


def _near(value: int, rng) -> int:
    """A fresh int near ``value``: within half of it either way (0 -> 0 or 1, 1 -> 1 or 2);
    negative ints are kept."""
    if value < 0:
        return value
    if value < 2:
        return int(rng.integers(value, value + 2))
    return int(rng.integers(value - value // 2, value + value // 2 + 1))


def _perturbed(value, rng, numbers: bool):
    """A fresh copy of ``value`` (see the module docstring); ``numbers``: the case holds no
    array, so its plain ints and floats change too."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return _new_floats(value, rng)
        if value.dtype.kind in "iub" and value.size:
            return _new_ints(value, rng)
        return value.copy()
    if isinstance(value, (tuple, list)):
        return type(value)(_perturbed(v, rng, numbers) for v in value)
    if isinstance(value, dict):
        return {k: _perturbed(v, rng, numbers) for k, v in value.items()}
    if numbers and type(value) is int:
        return _near(value, rng)
    if numbers and type(value) is float:
        return value * float(rng.uniform(0.5, 1.5))
    return value


def fresh_cases(spec: dict, draw: int, secret: int) -> list:
    """Draw number ``draw`` of fresh inputs for an exercise's catalogue entry ``spec``, from
    ``secret`` (:func:`run_secret`):
    ``[(args, kwargs, probe), ...]`` where ``probe`` is the ``(args, kwargs)`` a case was
    perturbed from, or None for a case of a recipe drawn again."""
    from poolkit.checks.cases import _GENERATORS

    cases = []
    for index, recipe in enumerate(spec["probes"]):
        generator, params = ast.literal_eval(recipe)
        rng = _rng(secret, spec["exercise"], index, draw)
        if "seed" in params:
            params = {**params, "seed": int(rng.integers(2 ** 32)),
                      "n": max(params.get("n", 0), GENERATED_CASES)}
            cases += [(args, kwargs, None)
                      for args, kwargs, _ in _GENERATORS[generator](**params)]
            continue
        for args, kwargs, _ in _GENERATORS[generator](**params):
            numbers = not _holds_array((args, kwargs))
            for _ in range(NUMBER_COPIES if numbers else 1):
                cases.append((_perturbed(args, rng, numbers),
                              _perturbed(kwargs, rng, numbers), (args, kwargs)))
    return cases


def case_key(args, kwargs):
    """A hashable fingerprint of a call's arguments (arrays by shape, dtype and bytes)."""
    def key(value):
        if isinstance(value, np.ndarray):
            return ("ndarray", value.shape, value.dtype.str, value.tobytes())
        if isinstance(value, (tuple, list)):
            return (type(value).__name__, tuple(key(v) for v in value))
        if isinstance(value, dict):
            return ("dict", tuple(sorted((k, key(v)) for k, v in value.items())))
        return (type(value).__name__, repr(value))
    return key((tuple(args), dict(kwargs)))


# --------------------------------------------------------------------------- the instructor's side


def _course_root() -> Path:
    """Where ``solutions/`` is: as for the hidden tests' answer functions
    (:func:`~poolkit.checks.oracle.instructor_answers`)."""
    from poolgrade.answers import course_root

    return course_root()


def _names_used(sources) -> set[str]:
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name):
                names.add(node.id)
    return names


def _solution_namespace(notebook: Path, mistake_sources: list[str]) -> dict:
    """The instructor notebook's solution cells, run in one namespace after the imports of
    its other cells that they (or the mistakes) use: the context a mistake's source replaces
    its exercise's cell in, as in ``poolgrade mistakes``.  Only the imports that are used:
    Keras or torch are not loaded into the grader for nothing."""
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]

    solutions = [c.source for c in code if nbmeta.is_answer_only(c)]
    used = _names_used(solutions + mistake_sources)
    namespace: dict = {"__name__": f"_poolkit_solutions_{notebook.parent.name}"}
    exec("import math\nimport numpy as np\n", namespace)   # noqa: S102 (instructor's files)
    for cell in code:
        if nbmeta.is_answer_only(cell):
            continue
        for line in cell.source.splitlines():
            if not line.startswith(("import ", "from ")):
                continue
            try:
                statement = ast.parse(line).body[0]
            except SyntaxError:
                continue
            bound = {(a.asname or a.name).partition(".")[0] for a in statement.names}
            if bound & used:
                try:
                    exec(line, namespace)  # noqa: S102
                except ImportError:
                    pass
    for source in solutions:
        exec(source, namespace)  # noqa: S102
    return namespace


@cache
def _instructor(lesson: str) -> dict | None:
    """exercise -> (the solution's function, {mistake id: the mistake's function}) for
    ``lesson``, from the instructor's files; None where they are missing or do not load."""
    folder = _course_root() / "solutions" / lesson
    notebooks = sorted(folder.glob("*.ipynb"))
    if not (folder / "mistakes.py").is_file() or not notebooks:
        return None
    try:
        spec = importlib.util.spec_from_file_location(
            f"_poolkit_mistakes_{lesson.replace('-', '_')}", folder / "mistakes.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        entries = module.MISTAKES
        sources = [m["source"] for entry in entries.values() for m in entry["mistakes"]]
        base = _solution_namespace(notebooks[0], sources)
        table = {}
        for exercise, entry in entries.items():
            function = entry.get("function", exercise)
            mistakes = {}
            for mistake in entry["mistakes"]:
                namespace = dict(base)
                exec(mistake["source"], namespace)  # noqa: S102
                mistakes[mistake["id"]] = namespace[function]
            table[exercise] = (base[function], mistakes)
        return table
    except Exception as exc:    # a broken instructor file: no diagnosis, grading goes on
        logging.getLogger(__name__).warning(
            "no diagnosis for %s: solutions/%s could not be loaded (%s: %s)",
            lesson, lesson, type(exc).__name__, exc)
        return None


def _trusted_outcome(fn, args, kwargs, contract=()):
    """What the instructor's ``fn`` gives (run here, on copies): a strict value,
    ``("error", key)`` (its type and message, see ``error_key``), or None for a result the
    checks do not read."""
    from poolkit.checks.diagnosis import error_key
    from poolkit.checks.results import strict_value

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            value = fn(*copy.deepcopy(tuple(args)), **copy.deepcopy(dict(kwargs)))
    except Exception as exc:
        return ("error", error_key(type(exc).__name__, str(exc), contract))
    try:
        return strict_value(value)
    except AssertionError:
        return None


def _kind(outcome):
    return tuple(outcome[:2]) if outcome[0] == "error" else outcome[0]


@cache
def confirmation_cases(exercise: str, mistake_id: str, secret: int) -> tuple:
    """The fresh inputs a confirmation calls the student's function on, as
    ``(args, kwargs, the mistake's outcome)``: up to :data:`SEPARATING` on which mistake
    ``mistake_id`` of ``exercise`` and the solution disagree, then one on which they agree
    (where there is one: a function wrong everywhere must not pass for the mistake).  Empty
    when the instructor's files are missing or no draw separates the mistake from the
    solution.  ``secret`` is :func:`run_secret` (a key of the cache: one computation per
    grader process)."""
    from poolkit.checks.diagnosis import _catalogue, probe_cases, same_result

    spec = _catalogue()[exercise]
    instructor = _instructor(spec["lesson"])
    if instructor is None or spec["exercise"] not in instructor:
        return ()
    solution, mistakes = instructor[spec["exercise"]]
    if mistake_id not in mistakes:
        return ()
    seen = {case_key(args, kwargs) for args, kwargs, _ in probe_cases(spec)}
    contract = tuple(spec.get("contract_errors", ()))
    separating, agreeing = [], []
    for draw in range(DRAWS):
        for args, kwargs, probe in fresh_cases(spec, draw, secret):
            key = case_key(args, kwargs)
            if key in seen:
                continue
            seen.add(key)
            right = _trusted_outcome(solution, args, kwargs, contract)
            if right is None:
                continue
            if probe is not None:
                before = _trusted_outcome(solution, *probe, contract)
                if before is None or _kind(before) != _kind(right):
                    continue        # not a configuration the solution treats as the probe
            wrong = _trusted_outcome(mistakes[mistake_id], args, kwargs, contract)
            if wrong is None:
                continue
            found = agreeing if same_result(wrong, right) else separating
            if len(found) < (1 if found is agreeing else SEPARATING):
                found.append((args, kwargs, wrong))
            if len(separating) == SEPARATING and agreeing:
                return tuple(separating + agreeing)
        if len(separating) == SEPARATING:
            break       # many mistakes never agree with the solution: stop looking
    return tuple(separating + agreeing) if separating else ()


def confirmed(spec: dict, mistake: dict, behaviour) -> bool:
    """True when the student's function, called as ``behaviour(args, kwargs)`` (which
    returns what :func:`~poolkit.checks.diagnosis._outcome` returns), gives the mistake's
    result on every one of its :func:`confirmation_cases`, and there are some.  Stops at
    the first difference.  Exceptions of the call (a lost kernel) propagate."""
    from poolkit.checks.diagnosis import same_result
    from poolkit.checks.environment import _grading_harness

    secret = run_secret()

    def compute():
        return list(confirmation_cases(spec["exercise"], mistake["id"], secret))

    harness = _grading_harness()
    # In the grader, the work is the same for every student: its cache keeps it outside the
    # budget of the student's test cell, as it does for expected values.
    cases = compute() if harness is None else harness.cached_oracle(
        f"diagnosis confirmation {spec['exercise']} {mistake['id']} {secret}", compute)
    if not cases:
        return False
    for args, kwargs, wrong in cases:
        got = behaviour(copy.deepcopy(args), copy.deepcopy(kwargs))
        if got is None or not same_result(got, wrong):
            return False
    return True
