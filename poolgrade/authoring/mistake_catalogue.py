"""Build ``poolkit/mistakes/<NN-name>.json`` from the instructor's known-mistake specs.

Each lesson may have ``solutions/<NN-name>/mistakes.py`` with a dict ``MISTAKES``::

    MISTAKES = {
        "max_pool2d_loops": {                 # the exercise (its solution cell's grade_id)
            "function": "max_pool2d_loops",   # optional, default: the exercise's name
            "functions": ["helper"],          # optional: other functions the exercise asks
                                              # for, whose failing checks also diagnose
            "probes": [ck.pool_cases(seed=9101, n=6)],
            "mistakes": [
                {"id": "zero_padding",        # short, the class report's column value
                 "matches": "max pooling with zero padding",   # "your output equals ..."
                 "explain": "padded positions must never win a max, so pad with -inf",
                 "section": "Section 2, padding",
                 "source": '''def max_pool2d_loops(...): ...'''},   # the mistake, as code
            ],
        },
    }

The ``source`` of a mistake is what a student holding it would write in the exercise cell;
the nbgrader round trip grades it as a submission (it must lose points and be diagnosed as
itself).  This tool runs every mistake and the instructor's solution on the probes and
writes what they return (never their code) into the JSON that ships with poolkit.  It
refuses a spec whose probes cannot tell a mistake from the solution or from another mistake.

    poolgrade mistakes            # rebuild every lesson's JSON
    poolgrade mistakes --check    # exit 1 when a JSON is missing or out of date
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path

from poolgrade import nbmeta

ROOT = Path(__file__).resolve().parents[2]   # the course repository
# lesson 05's solution cells import Keras: TensorFlow is quiet only if these come first
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
OUT = ROOT / "poolkit" / "mistakes"


def lessons_with_specs() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "solutions").glob("*/mistakes.py"))


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_spec(lesson: str) -> dict:
    """``MISTAKES`` of ``solutions/<lesson>/mistakes.py``."""
    return _module(ROOT / "solutions" / lesson / "mistakes.py",
                   f"mistakes_{lesson.replace('-', '_')}").MISTAKES


def wrong_answers(lesson: str) -> dict[str, list[tuple[str, str]]]:
    """Every wrong answer of ``lesson`` the round trips grade, exercise -> [(label, source)]:
    the known mistakes of the spec (label: what the output equals), then the other wrong
    answers of ``tests/wrong_answers/<lesson>.py`` (rule breaks, answers no probe pins down).
    """
    merged: dict[str, list[tuple[str, str]]] = {}
    if (ROOT / "solutions" / lesson / "mistakes.py").exists():
        for exercise, entry in load_spec(lesson).items():
            merged[exercise] = [(m["matches"], m["source"]) for m in entry["mistakes"]]
    path = ROOT / "tests" / "wrong_answers" / f"{lesson}.py"
    if path.exists():
        for exercise, entries in _module(path, f"wrong_{lesson.replace('-', '_')}").WRONG.items():
            merged.setdefault(exercise, []).extend(entries)
    return merged


def known_mistakes(lesson: str) -> dict[tuple[str, str], dict]:
    """(exercise, label) -> the spec's mistake, for the wrong answers that are known ones."""
    if not (ROOT / "solutions" / lesson / "mistakes.py").exists():
        return {}
    return {(exercise, m["matches"]): m for exercise, entry in load_spec(lesson).items()
            for m in entry["mistakes"]}


def solution_namespace(lesson: str) -> dict:
    """The instructor notebook's imports and solution cells, run in one namespace: the
    context a mistake's source replaces its exercise's cell in."""
    import nbformat

    notebook = next((ROOT / "solutions" / lesson).glob("*.ipynb"))
    nb = nbformat.read(notebook, as_version=4)
    namespace: dict = {"__name__": f"mistakes_{lesson}"}
    exec("import math\nimport numpy as np\n", namespace)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.splitlines()
        imports = "\n".join(line for line in lines if line.startswith(("import ", "from "))
                            and "poolkit.checks" not in line)
        if nbmeta.is_answer_only(cell):
            exec(cell.source, namespace)
        elif imports:
            try:
                exec(imports, namespace)
            except ImportError:
                pass
    return namespace


def _encode_call(fn, args, kwargs) -> str:
    from poolkit.checks import _encode
    from poolkit.checks.diagnosis import error_key

    copies = tuple(a.copy() if hasattr(a, "copy") and hasattr(a, "shape") else a
                   for a in args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = fn(*copies, **kwargs)
    except Exception as exc:
        return f"E {error_key(type(exc).__name__, str(exc))}"
    return _encode(value)


def _contract_error(line: str, contract: list[str]) -> str:
    """An encoded outcome, with an error the exercise asks for reduced to its type."""
    if line.startswith("E ") and line.split()[1].partition(":")[0] in contract:
        return "E " + line.split()[1].partition(":")[0]
    return line


def build_lesson(lesson: str) -> dict:
    """The JSON content for ``lesson``; raises ValueError for a spec that cannot work."""
    from poolkit.checks.cases import _GENERATORS

    spec = load_spec(lesson)
    base = solution_namespace(lesson)
    exercises = {}
    for exercise, entry in spec.items():
        function = entry.get("function", exercise)
        recipes = [repr((cs.generator, cs.params)) for cs in entry["probes"]]
        cases = [case for cs in entry["probes"] for case in _GENERATORS[cs.generator](**cs.params)]
        correct = [_encode_call(base[function], a, k) for a, k, _ in cases]
        # errors the exercise asks for are matched by type alone (diagnosis.error_key)
        contract = sorted({line.split()[1].partition(":")[0] for line in correct
                           if line.startswith("E ")})
        correct = [_contract_error(line, contract) for line in correct]
        mistakes, seen = [], {tuple(correct): "the solution"}
        for mistake in entry["mistakes"]:
            namespace = dict(base)
            exec(mistake["source"], namespace)
            outputs = [_contract_error(_encode_call(namespace[function], a, k), contract)
                       for a, k, _ in cases]
            clash = seen.get(tuple(outputs))
            if clash is not None:
                raise ValueError(f"{lesson} {exercise}: the probes cannot tell "
                                 f"{mistake['id']!r} from {clash}; add a probe case")
            seen[tuple(outputs)] = repr(mistake["id"])
            mistakes.append({k: mistake[k] for k in ("id", "matches", "explain", "section")}
                            | {"outputs": outputs})
        exercises[exercise] = {"function": function, "probes": recipes, "mistakes": mistakes}
        if contract:
            exercises[exercise]["contract_errors"] = contract
        if entry.get("functions"):
            exercises[exercise]["functions"] = list(entry["functions"])
    return {"lesson": lesson, "exercises": exercises}


def render(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def same_content(built: dict, stored: dict) -> bool:
    """True when ``stored`` says what ``built`` says; recorded floats may differ in the last
    bits (another CPU's NumPy may sum in another order), as the diagnosis allows."""
    from poolkit.checks.diagnosis import _decode_line, same_result

    def strip(data):
        return {ex: {**e, "mistakes": [{k: v for k, v in m.items() if k != "outputs"}
                                       for m in e["mistakes"]]}
                for ex, e in data["exercises"].items()}

    if built["lesson"] != stored.get("lesson") or strip(built) != strip(stored):
        return False
    for ex, entry in built["exercises"].items():
        for mine, theirs in zip(entry["mistakes"], stored["exercises"][ex]["mistakes"]):
            if len(mine["outputs"]) != len(theirs["outputs"]) or not all(
                    same_result(_decode_line(a), _decode_line(b))
                    for a, b in zip(mine["outputs"], theirs["outputs"])):
                return False
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="NN-name (default: every lesson)")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a JSON file is missing or out of date")
    args = parser.parse_args(argv)
    stale = []
    for lesson in args.lessons or lessons_with_specs():
        built = build_lesson(lesson)
        path = OUT / f"{lesson}.json"
        if args.check:
            if not path.exists() or not same_content(built, json.loads(path.read_text())):
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(render(built))
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date (run poolgrade mistakes): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
