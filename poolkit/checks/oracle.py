"""The oracle: expected values computed in a fresh ``python -I`` process, out of the kernel's
reach, and the oracle adapters for exercises whose answer is not a poolkit function.

The process runs ``import poolkit.checks as c; c._oracle_main()``, reads a case set's recipe
on stdin, rebuilds the cases, calls the oracle (a dotted name such as ``"poolkit.max_pool2d"``
or ``"poolkit.checks.reference_loop_seconds"``) and prints one line of tokens per case (floats
in ``float.hex``).
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings

import numpy as np

from ._literals import _float, _int, _tuple
from .cases import _GENERATORS, CaseSet, literal_cases
from .environment import _grading_harness

# --------------------------------------------------------------------------- oracle adapters
# Small compositions of poolkit for exercises whose answer is not a poolkit function.  The
# truth still comes from the pooling itself (run in the fresh process), not from a formula.


def reference_loop_seconds(height, width, kernel_size=2, stride=1) -> float:
    """CPU seconds of Python-loop work the size of a loop-per-window pooling of a
    ``(1, 1, height, width)`` input: the yardstick for speed tests.

    The work is generic, not pooling (the package ships no pooling written as loops): one
    Python step per output position of an unpadded ``kernel_size``/``stride`` pooling, each
    summing the next ``kernel_size**2`` numbers of a flat random vector with the same NumPy
    calls a loop version makes per window (a slice, a reduction, a store).  Matching those
    calls keeps the yardstick within a few per cent of such a loop on any machine and NumPy.
    CPU time of this thread, so neither other threads nor a busy machine inflate it."""
    import time

    rows = range(0, height - kernel_size + 1, stride)
    cols = range(0, width - kernel_size + 1, stride)
    size = kernel_size * kernel_size
    numbers = np.random.default_rng(0).standard_normal(size * len(cols))
    sums = np.empty((1, 1, len(rows), len(cols)))
    start = time.thread_time()
    for i in range(len(rows)):
        for j in range(len(cols)):
            chunk = numbers[j * size:(j + 1) * size].reshape(1, 1, kernel_size, kernel_size)
            sums[:, :, i, j] = chunk.sum(axis=(2, 3))
    return time.thread_time() - start


def loop_time(height: int, width: int, kernel_size: int = 2, stride: int = 1) -> float:
    """The loop version's CPU time on this machine now (:func:`reference_loop_seconds`), out of
    the kernel's reach: in a fresh process, or in the grader's own process under its harness.
    Never cached: a speed test (:func:`~poolkit.checks.guards.check_speed`) compares two
    times taken side by side."""
    if _grading_harness() is not None:   # the grader's own process: nothing to isolate from
        return reference_loop_seconds(height, width, kernel_size, stride)
    cases = literal_cases([((height, width, kernel_size, stride), {})])
    value = oracle_results("poolkit.checks.reference_loop_seconds", cases)[0]
    if value[0] != "float":
        raise RuntimeError(f"timing the reference failed: {value}")
    return value[1]


# --------------------------------------------------------------------------- the oracle


def _encode(value) -> str:
    """Results as space-separated tokens (floats in hex, exact and NaN/inf safe)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"oracle returned dtype {value.dtype}")
        flat = value.ravel().tolist()
        vals = " ".join(float(v).hex() for v in flat)
        return f"A {value.ndim} {' '.join(map(str, value.shape))} {len(flat)} {vals}"
    if isinstance(value, (bool, np.bool_)):
        return f"B {int(value)}"
    if isinstance(value, (int, np.integer)):
        return f"I {int(value)}"
    if isinstance(value, (float, np.floating)):
        return f"F {float(value).hex()}"
    if value is None:
        return "N"
    if isinstance(value, (tuple, list)):
        return f"T {len(value)} " + " ".join(_encode(v) for v in value)
    raise TypeError(f"oracle returned {type(value).__name__}")


def _decode_tokens(tokens, pos):
    tag = tokens[pos]
    if tag == "A":
        ndim = _int(tokens[pos + 1])
        shape = _tuple([_int(t) for t in tokens[pos + 2:pos + 2 + ndim]])
        pos += 2 + ndim
        count = _int(tokens[pos])
        vals = [_float.fromhex(t) for t in tokens[pos + 1:pos + 1 + count]]
        return ("array", shape, vals), pos + 1 + count
    if tag == "B":
        return ("bool", tokens[pos + 1] == "1"), pos + 2
    if tag == "I":
        return ("int", _int(tokens[pos + 1])), pos + 2
    if tag == "F":
        return ("float", _float.fromhex(tokens[pos + 1])), pos + 2
    if tag == "N":
        return ("none",), pos + 1
    if tag == "T":
        count = _int(tokens[pos + 1])
        pos += 2
        items = []
        while items.__len__() < count:
            item, pos = _decode_tokens(tokens, pos)
            items.append(item)
        return ("tuple", items), pos
    if tag == "E":
        return ("error", tokens[pos + 1]), pos + 2
    raise ValueError(f"bad oracle token {tag!r}")


def _resolve(name: str):
    """The oracle function a name denotes: ``"poolkit.max_pool2d"`` (a dotted path), or
    ``"package.module:attribute"``, read from the imported module as it is (the grader's
    hidden tests name instructor answers that way, e.g. ``"poolgrade.answers:<NN>.<fn>"``)."""
    if ":" in name:
        module_name, _, attr = name.partition(":")
    else:
        module_name, _, attr = name.rpartition(".")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def _oracle_lines(oracle, generator, params, oracle_kwargs) -> list[str]:
    """The oracle's result for every case of a recipe, one encoded line each."""
    fn = _resolve(oracle)
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args, kwargs, _note in _GENERATORS[generator](**params):
            try:
                lines.append(_encode(fn(*args, **kwargs, **oracle_kwargs)))
            except Exception as exc:  # the student's function must then raise the same type
                lines.append(f"E {type(exc).__name__}")
    return lines


def _oracle_main() -> None:
    """Entry point of the fresh process: read a recipe on stdin, print one line per case."""
    import ast
    recipe = ast.literal_eval(sys.stdin.read())
    sys.stdout.write("\n".join(_oracle_lines(*recipe)) + "\n")


def oracle_results(oracle: str, cases: CaseSet, oracle_kwargs=None) -> list:
    """Run ``oracle`` (a dotted name such as ``"poolkit.max_pool2d"``) on every case in a
    fresh ``python -I`` process; returns one strict value per case."""
    recipe = f"{(oracle, cases.generator, cases.params, dict(oracle_kwargs or {}))!r}"
    harness = _grading_harness()
    if harness is not None:   # the grader's own process: nothing to isolate from
        lines = harness.cached_oracle(recipe, lambda: _oracle_lines(
            oracle, cases.generator, cases.params, dict(oracle_kwargs or {})))
        return [_decode_tokens(line.split(), 0)[0] for line in lines]
    proc = subprocess.run(
        [sys.executable, "-I", "-c", "import poolkit.checks as c; c._oracle_main()"],
        input=recipe, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "TF_ENABLE_ONEDNN_OPTS": "0",
             **({"POOLKIT_COURSE_ROOT": os.environ["POOLKIT_COURSE_ROOT"]}
                if os.environ.get("POOLKIT_COURSE_ROOT") else {}),
             "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the reference process failed:\n{proc.stderr[-2000:]}")
    results = []
    for line in proc.stdout.splitlines():
        value, _ = _decode_tokens(line.split(), 0)
        results.append(value)
    return results
