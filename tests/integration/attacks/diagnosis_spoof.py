"""A probe-aware diagnosis spoof: answer cells that steer the class report.

poolkit ships ``poolkit/mistakes/<lesson>.json``: each exercise's diagnosis probes (case-set
recipes) and every known mistake's outputs on them.  A spoof reads that file the way any
student can (``importlib.resources``), rebuilds the probes with poolkit's own case
generators, and answers a probe with the chosen mistake's recorded output.  Any other input
goes to the function the cell defined before the spoof (correct, or wrong in some other
way).  A diagnosis that trusts the probes alone then names a mistake the code does not make.

Without poolkit (the NumPy-only kernel) the spoof finds no catalogue and is plain
``_otherwise``.

Nothing here runs on import: these are sources of answer cells.
"""

from __future__ import annotations


def spoof_tail(lesson: str, exercise: str, function: str, mistake_id: str) -> str:
    """Cell code that wraps ``function`` (already defined above it in the cell or the
    namespace): on a diagnosis probe of ``exercise`` it returns mistake ``mistake_id``'s
    recorded output (or raises its recorded exception), elsewhere it calls the function as
    it was."""
    return f'''
import ast as _ast
import builtins as _builtins
import json as _json
from importlib import resources as _resources

import numpy as _np


def _spoof_key(value):
    if isinstance(value, _np.ndarray):
        return ("array", value.shape, tuple(float(v) for v in value.ravel().tolist()))
    if isinstance(value, (tuple, list)):
        return ("seq", tuple(_spoof_key(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _spoof_key(v)) for k, v in value.items())))
    return (type(value).__name__, repr(value))


def _spoof_decode(tokens, pos):
    """One value of the catalogue's text encoding, and the position after it."""
    tag = tokens[pos]
    if tag == "A":
        ndim = int(tokens[pos + 1])
        shape = tuple(int(t) for t in tokens[pos + 2:pos + 2 + ndim])
        pos += 2 + ndim
        count = int(tokens[pos])
        values = [float.fromhex(t) for t in tokens[pos + 1:pos + 1 + count]]
        return _np.array(values, dtype=_np.float64).reshape(shape), pos + 1 + count
    if tag == "I":
        return int(tokens[pos + 1]), pos + 2
    if tag == "F":
        return float.fromhex(tokens[pos + 1]), pos + 2
    if tag == "B":
        return tokens[pos + 1] == "1", pos + 2
    if tag == "N":
        return None, pos + 1
    if tag == "T":
        count, pos, items = int(tokens[pos + 1]), pos + 2, []
        while len(items) < count:
            item, pos = _spoof_decode(tokens, pos)
            items.append(item)
        return tuple(items), pos
    if tag == "E":
        # "TypeError:words_of_the_message" (numbers blanked as #): raise one like it
        name, _, text = tokens[pos + 1].partition(":")
        error = getattr(_builtins, name, None)
        if not (isinstance(error, type) and issubclass(error, Exception)):
            error = type(name, (Exception,), {{}})
        return (error, text.replace("_", " ").replace("#", "0")), pos + 2
    raise ValueError(tag)


def _spoof_table():
    try:
        from poolkit.checks.cases import _GENERATORS
        text = _resources.files("poolkit.mistakes").joinpath({lesson + ".json"!r}).read_text()
    except Exception:       # no poolkit here: nothing to spoof
        return {{}}
    entry = _json.loads(text)["exercises"][{exercise!r}]
    mistake = next(m for m in entry["mistakes"] if m["id"] == {mistake_id!r})
    probes = []
    for recipe in entry["probes"]:
        generator, params = _ast.literal_eval(recipe)
        probes += _GENERATORS[generator](**params)
    return {{_spoof_key((args, kwargs)): line
            for (args, kwargs, _), line in zip(probes, mistake["outputs"])}}


_SPOOFED = _spoof_table()
_otherwise = {function}


def {function}(*args, **kwargs):
    line = _SPOOFED.get(_spoof_key((args, kwargs)))
    if line is None:
        return _otherwise(*args, **kwargs)
    value, _ = _spoof_decode(line.split(), 0)
    if line.startswith("E "):
        error, message = value
        raise error(message)
    return value
'''


# A correct max_pool2d_loops (written here, not the instructor's): -inf padding, (h, w) pairs,
# stride None meaning the kernel size.
_MAX_POOL2D_LOOPS_CORRECT = '''import numpy as np


def max_pool2d_loops(x, kernel_size, stride=None, padding=0):
    def rows_cols(v):
        return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))

    kh, kw = rows_cols(kernel_size)
    sh, sw = rows_cols(kernel_size if stride is None else stride)
    ph, pw = rows_cols(padding)
    x = np.asarray(x, dtype=np.float64)
    grid = np.full(x.shape[:2] + (x.shape[2] + 2 * ph, x.shape[3] + 2 * pw), -np.inf)
    grid[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] = x
    rows = (grid.shape[2] - kh) // sh + 1
    cols = (grid.shape[3] - kw) // sw + 1
    out = np.empty(x.shape[:2] + (rows, cols))
    for r in range(rows):
        for c in range(cols):
            out[:, :, r, c] = grid[:, :, r * sh:r * sh + kh, c * sw:c * sw + kw].max(axis=(2, 3))
    return out
'''

# Lesson 01, exercise 1: correct everywhere except on the diagnosis probes, where it returns
# what max pooling with zero padding returns.  Before the grader confirmed diagnoses, a
# failing check of this function would be diagnosed as zero_padding (in the student's own
# kernel it still is: diagnosis there only informs the student).
SPOOF_MAX_POOL2D_LOOPS = _MAX_POOL2D_LOOPS_CORRECT + spoof_tail(
    "01-max-vs-average", "max_pool2d_loops", "max_pool2d_loops", "zero_padding")

# Lesson 01, input_from_max_pool, in the attack catalogue's style: a forging function that
# falls back to a wrong value (so its checks fail and the diagnosis runs) and answers the
# probes as a solution that never checks its input pools back (never raises) would.  Its test
# cells run in the main kernel, where poolkit (and so the catalogue) can be read; honest
# grade: the exercise loses its points and no mistake is named.
SPOOF_INPUT_FROM_MAX_POOL = '''import numpy as np


def input_from_max_pool(pooled):
    return np.zeros((1, 1, 1, 1))
''' + spoof_tail("01-max-vs-average", "input_from_max_pool", "input_from_max_pool", "no_check")
