"""The trusted grading path piece by piece: the harness's reading of test cells, the kernel
command and the bubblewrap sandbox itself (real processes).  The data-only channel between
the grader and a kernel has its own tests, in test_channel.py.

The whole path (nbgrader autograde and poolgrade grade on real lessons, with the attack
catalogue) is in test_attacks.py; these tests pin down each part so that a failure there
points here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from poolgrade.execution import test_cells as harness
from poolgrade.sandbox.bwrap import (
    SandboxLimits,
    hidden_packages,
    make_readable,
    sandbox_command,
    unavailable_reason,
)
from poolgrade.sandbox.kernels import SandboxedBlockingKernelManager, isolated_python
from poolkit.checks.policy import CALL_TIME_LIMIT, TIME_LIMIT_ENV

REPO = Path(__file__).resolve().parents[2]
LIMITS = SandboxLimits(memory_bytes=2048 * 2**20, cpu_seconds=60, file_bytes=2**20)
needs_bwrap = pytest.mark.skipif(unavailable_reason() is not None and not os.environ.get("CI"),
                                 reason=f"no sandbox here: {unavailable_reason()}")


# ----------------------------------------------------------------------------- harness
def test_numpy_only_cells_are_recognised_from_the_test_source():
    assert harness.needs_numpy_only("ck.check_against_oracle(f, 'o', c, numpy_only=True)")
    assert harness.needs_numpy_only("ck.assert_numpy_only(depthwise_conv2d)")
    assert not harness.needs_numpy_only("ck.check_against_oracle(f, 'o', c, numpy_only=False)")
    assert not harness.needs_numpy_only("assert f(2) == 3  # numpy_only=True in a comment")


@pytest.mark.parametrize("source", [
    "ck.check_against_oracle(f, 'o', c, numpy_only=flag)",
    "ck.check_against_oracle(f, 'o', c, numpy_only=1)",
    "ck.check_against_oracle(f, 'o', c, numpy_only=not False)",
    "opts = dict(numpy_only=True)\nck.check_against_oracle(f, 'o', c, **opts)",
    "opts = {'numpy_only': True}\nck.check_against_oracle(f, 'o', c, **opts)",
    "from course_settings import OPTS\nck.check_against_oracle(f, 'o', c, **OPTS)",
    "check = ck.check_against_oracle\ncheck(f, 'o', c)",
    "from functools import partial\npartial(ck.check_against_oracle, f)('o', c)",
    "from poolkit.checks import assert_numpy_only as rule\nrule(f)",
    "getattr(ck, 'assert_numpy_only')(f)",
    "ck.check_against_oracle(f, 'o', c, numpy_only=True",      # does not parse
])
def test_a_numpy_only_flag_that_cannot_be_read_as_false_means_the_numpy_only_kernel(source):
    assert harness.needs_numpy_only(source)


@pytest.mark.parametrize("source", [
    "ck.check_against_oracle(f, 'o', c)",
    "ck.check_against_oracle(f, 'o', c, numpy_only=False, hint='pad with -inf')",
    "kw = {'stride': 2}\nassert f(x, **kw).shape == (1, 1, 2, 2)",
    "ck.call(f, 1, case='c')",
])
def test_only_a_cell_that_provably_leaves_the_rule_off_gets_the_main_kernel(source):
    assert not harness.needs_numpy_only(source)


def test_answer_names_come_from_solutions_without_their_imports():
    sources = ["import numpy as np\nfrom math import ceil\n\ndef a(x):\n    return x\n",
               "def b():\n    pass\nLIMIT = 3\nclass C:\n    pass\n"]
    assert harness.answer_names(sources) == {"a", "b", "LIMIT", "C"}


def test_a_test_cell_runs_here_and_calls_remote_functions_only(monkeypatch):
    monkeypatch.delenv(TIME_LIMIT_ENV, raising=False)
    calls = []

    def caller(name, args, kwargs, limit):
        calls.append((name, args, limit))
        if name == "broken":
            raise harness.StudentRaised("ValueError", "bad head")
        return args[0] * 2

    ok = harness.run_test_cell("assert double(21) == 42\nprint('visible tests passed')",
                               {"double"}, caller)
    assert ok.passed and ok.stdout == "visible tests passed\n"
    assert calls == [("double", (21,), CALL_TIME_LIMIT)]
    failed = harness.run_test_cell("assert double(1) == 3, 'one doubled is two'", {"double"},
                                   caller)
    assert (failed.ename, failed.evalue) == ("AssertionError", "one doubled is two")
    raised = harness.run_test_cell("broken()", {"broken"}, caller)
    assert (raised.ename, raised.evalue) == ("ValueError", "bad head")
    # a name the solutions do not define is not taken from the kernel
    unknown = harness.run_test_cell("helper(1)", {"double"}, caller)
    assert unknown.ename == "NameError"


def test_checks_under_the_harness_pass_time_limits_and_report_remote_errors():
    from poolkit import checks

    seen = []

    def caller(name, args, kwargs, limit):
        seen.append(limit)
        if args[0] < 0:
            raise harness.CallTimeout("did not finish")
        raise harness.StudentRaised("NotImplementedError", "")

    outcome = harness.run_test_cell(
        "from poolkit import checks as ck\nck.call(f, -1, time_limit=3, case='c')", {"f"}, caller)
    assert outcome.ename == "AssertionError" and "did not finish within 3 s" in outcome.evalue
    assert seen == [3.0]
    outcome = harness.run_test_cell(
        "from poolkit import checks as ck\n"
        "ck.check_against_oracle(f, 'poolgrade.reference.pool_output_size',"
        " ck.size_cases(seed=1, n=2), numpy_only=True)", {"f"}, caller)
    assert outcome.evalue.startswith("f is not written yet: replace `raise NotImplementedError()`")
    assert checks._grading_harness() is None


def test_speed_checks_under_the_harness_judge_the_kernels_cpu_time():
    """The verdict is the CPU time the caller reports for the kernel, not the wall clock:
    a call that waited passes, a call that worked hard fails, however long each took."""
    def caller_reporting(cpu_seconds, wall_seconds):
        def caller(name, args, kwargs, limit):
            time.sleep(wall_seconds)
            harness.cpu_meter().add(cpu_seconds)
            return args[0]
        return caller

    cell = ("from poolkit import checks as ck\n"
            "ck.check_speed(f, 1.0, loops=(120, 120, 2, 1), tries=1, case='speed')")
    waited = harness.run_test_cell(cell, {"f"}, caller_reporting(0.0, 0.3))
    assert waited.passed, waited.evalue
    worked = harness.run_test_cell(cell, {"f"}, caller_reporting(30.0, 0.0))
    assert not worked.passed and "f is too slow" in worked.evalue, worked.evalue


def test_process_tree_cpu_counts_every_descendant_and_not_waiting():
    from poolgrade.sandbox.kernels import process_tree_cpu_seconds

    busy = "import time\ns = time.process_time()\nwhile time.process_time() - s < 0.5: pass"
    # a child that has a grandchild work for 0.5 s, then waits
    code = (f"import subprocess, sys, time\nsubprocess.run([sys.executable, '-c', {busy!r}])\n"
            "print('done', flush=True)\ntime.sleep(30)")
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "done"
        first = process_tree_cpu_seconds(child.pid)
        time.sleep(0.5)
        second = process_tree_cpu_seconds(child.pid)
    finally:
        child.kill()
        child.wait()
    assert first is not None and first >= 0.45, first      # the grandchild's work counts
    assert second - first < 0.1, (first, second)            # waiting does not
    assert process_tree_cpu_seconds(child.pid) is None      # a finished tree is gone


# ----------------------------------------------------------------------------- sandbox
def test_kernel_command_is_wrapped_isolated_and_limited():
    cmd = isolated_python(["/venv/bin/python", "-Xfrozen_modules=off", "-m",
                           "ipykernel_launcher", "-f", "/s/kernel.json"])
    assert cmd[:2] == ["/venv/bin/python", "-P"]
    wrapped = sandbox_command(cmd, files="/nonexistent-files", workdir="/tmp/g/work",
                              sockets="/tmp/g/sockets", limits=LIMITS)
    assert wrapped[0] == "bwrap" and "--unshare-net" in wrapped and wrapped[-len(cmd):] == cmd
    # the only writable storage: /tmp, one tmpfs of the scratch size that holds the working
    # folder too; the submission's files only read-only; the socket folder bound
    assert wrapped[wrapped.index("/tmp") - 5:wrapped.index("/tmp")] == \
        ["--perms", "01777", "--size", str(LIMITS.scratch_bytes), "--tmpfs"]
    assert ["--perms", "0777", "--dir", "/tmp/g/work"] == \
        wrapped[wrapped.index("/tmp/g/work") - 3:wrapped.index("/tmp/g/work") + 1]
    assert "--bind" not in [wrapped[i - 1] for i, a in enumerate(wrapped)
                            if a == "/nonexistent-files"]
    assert wrapped[wrapped.index("/tmp/g/sockets") - 1] == "--bind"
    assert ["--remount-ro", "/dev"] == wrapped[wrapped.index("--dev") + 2:][:2]
    assert "--disable-userns" in wrapped


def _sandboxed(tmp_path, code, numpy_only=False):
    files = tmp_path / "files"
    files.mkdir(exist_ok=True)
    os.chmod(tmp_path, 0o711)
    cmd = sandbox_command([sys.executable, "-P", "-c", code], files=str(files),
                          workdir=str(tmp_path / "work"), limits=LIMITS, numpy_only=numpy_only)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120), files


PROBE = r'''
import json, os, socket
found = {}
def attempt(name, fn):
    try:
        fn()
        found[name] = "allowed"
    except Exception as err:
        found[name] = type(err).__name__
found["course"] = sorted(os.listdir(COURSE)) if os.path.isdir(COURSE) else []
attempt("read gradebook", lambda: open(os.path.join(COURSE, "nbgrader_config.py")).read())
attempt("write venv", lambda: open(os.path.join(SITE, "evil.pth"), "w"))
attempt("write poolkit", lambda: open(os.path.join(POOLKIT, "checks", "__init__.py"), "a"))
attempt("write scratch", lambda: open("mine.txt", "w").write("ok"))
attempt("network", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=2))
found["root home"] = os.listdir("/root") if os.path.isdir("/root") else []
attempt("big file", lambda: open("big.bin", "wb").write(b"x" * 4_000_000))
found["uid"] = os.getuid()
found["pid"] = os.getpid()
found["processes"] = len([p for p in os.listdir("/proc") if p.isdigit()])
print(json.dumps(found))
'''


@needs_bwrap
def test_sandbox_sees_only_its_scratch_and_read_only_python(tmp_path):
    import site
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    code = (f"PORT = {server.getsockname()[1]}\nCOURSE = {str(REPO)!r}\n"
            f"SITE = {site.getsitepackages()[0]!r}\nPOOLKIT = {str(REPO / 'poolkit')!r}\n" + PROBE)
    proc, files = _sandboxed(tmp_path, code)
    server.close()
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert set(found["course"]) <= {"poolkit", ".venv"}, "only the package and environment"
    assert found["read gradebook"] == "FileNotFoundError"
    assert found["write venv"] in ("OSError", "PermissionError")
    assert found["write poolkit"] in ("OSError", "PermissionError")
    assert found["write scratch"] == "allowed"
    assert not list(files.iterdir()), "its scratch is a tmpfs copy: nothing reaches the host"
    assert found["network"] in ("ConnectionRefusedError", "OSError", "TimeoutError"), \
        "the grader's own listening port is not reachable"
    assert found["big file"] == "OSError", "file size limit"
    assert set(found["root home"]) <= {".pyenv"}, "only the path to the interpreter"
    assert found["pid"] < 10 and found["processes"] < 10, "its own PID namespace"
    assert found["uid"] != 0
    assert not (REPO / "evil.pth").exists()


@needs_bwrap
def test_numpy_only_sandbox_has_no_torch_poolkit_or_tensorflow(tmp_path):
    code = ("import importlib, json, threading, numpy\nres = {}\n"
            "for name in ('torch', 'tensorflow', 'keras', 'poolkit', 'scipy', 'numpy'):\n"
            "    try:\n        importlib.import_module(name)\n        res[name] = 'imported'\n"
            "    except ImportError as err:\n        res[name] = type(err).__name__\n"
            "t = threading.Thread(target=lambda: res.update(thread=str(__import__('tor' + 'ch'))"
            " if False else None))\nt.start(); t.join()\nprint(json.dumps(res))")
    proc, _ = _sandboxed(tmp_path, code, numpy_only=True)
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["numpy"] == "imported"
    for name in ("torch", "tensorflow", "keras", "poolkit", "scipy"):
        assert found[name] == "ModuleNotFoundError", found
    assert any("torch" in p for p in hidden_packages())


# ----------------------------------------------------------------------------- kernels
# Real sandboxed kernels, started the way the grader starts them: one set of folders each
# (setup_folders), the socket folder closed once the kernel is ready.
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="the grader is not root here")


def test_the_pristine_copy_is_made_readable_without_following_links(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("not the grader's to change")
    outside.chmod(0o600)
    files = tmp_path / "files"
    (files / "sub").mkdir(parents=True)
    (files / "sub" / "answer.npy").write_bytes(b"data")
    (files / "sub" / "answer.npy").chmod(0o200)
    (files / "sub").chmod(0o700)
    (files / "link").symlink_to(outside)
    make_readable(str(files))
    assert (files / "sub" / "answer.npy").stat().st_mode & 0o777 == 0o644
    assert (files / "sub").stat().st_mode & 0o777 == 0o755
    assert outside.stat().st_mode & 0o777 == 0o600


def _pristine(tmp_path, files: dict[str, str]) -> Path:
    """A run folder with the submission's pristine files in it, as GradingExecute makes."""
    os.chmod(tmp_path, 0o711)
    root = tmp_path / "files"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    root.mkdir(exist_ok=True)
    make_readable(str(root))
    return root


@contextlib.contextmanager
def _kernel(tmp_path, files, **limits):
    """A sandboxed kernel (main kind) and a client that sees its output; ``limits``
    replace fields of LIMITS."""
    km = SandboxedBlockingKernelManager(kernel_name="python3")
    km.setup_folders(str(files), str(tmp_path))
    km.limits = dataclasses.replace(LIMITS, **limits)
    km.start_kernel(cwd=km.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        km.lock_socket_dir()
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _run(kc, code: str):
    """Run ``code`` in the kernel; the JSON it printed last."""
    printed = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    reply = kc.execute_interactive(code, timeout=60, output_hook=hook)
    assert reply["content"]["status"] == "ok", reply["content"]
    lines = "".join(printed).strip().splitlines()
    return json.loads(lines[-1]) if lines else None


WHAT_IS_HERE = ("import json, os\nprint(json.dumps({'here': sorted(os.listdir('.')), "
                "'tmp': sorted(os.listdir('/tmp')), 'data': open('data.txt').read()}))")


@needs_bwrap
def test_each_kernel_has_its_own_scratch_and_starts_from_the_pristine_files(tmp_path):
    """The main kernel (torch, poolkit) and the NumPy-only kernel never share a folder: what
    one writes (a copy of poolkit, a relay's files, logged hidden inputs) the other cannot
    see, and a restarted kernel starts from the submission's files again."""
    from poolgrade.sandbox.kernels import NumpyOnlyKernel

    files = _pristine(tmp_path, {"data.txt": "pristine", "sub/more.txt": "x"})
    pristine = {"here": ["data.txt", "sub"], "data": "pristine"}
    with _kernel(tmp_path, files) as (_, main):
        seen = _run(main, WHAT_IS_HERE)
        assert {k: seen[k] for k in pristine} == pristine
        _run(main, "import shutil, poolkit\n"
                   "shutil.copytree(poolkit.__path__[0], 'poolkit')\n"
                   "open('data.txt', 'w').write('changed by the main kernel')\n"
                   "open('/tmp/relay.txt', 'w').write('request')")
        numpy_only = NumpyOnlyKernel(files=str(files), run_dir=str(tmp_path), limits=LIMITS,
                                     cell_timeout=30, unsandboxed=False)
        try:
            numpy_only.ready_for([], 0)
            nkc = numpy_only.km.client()
            nkc.start_channels()
            try:
                seen = _run(nkc, WHAT_IS_HERE)
                assert {k: seen[k] for k in pristine} == pristine, seen
                assert not {"relay.txt", "hidden_inputs.txt"} & set(seen["tmp"]), seen
                imported = _run(nkc, "import json, os, sys\nsys.path.insert(0, os.getcwd())\n"
                                     "try:\n    import poolkit\n    print('\"imported\"')\n"
                                     "except ImportError as err:\n"
                                     "    print(json.dumps(type(err).__name__))")
                assert imported == "ModuleNotFoundError"
                _run(nkc, "open('hidden_inputs.txt', 'w').write('secret')\n"
                          "open('/tmp/hidden_inputs.txt', 'w').write('secret')")
                # a crash: the next start is a fresh copy of the pristine files
                nkc.execute("import os\nos._exit(3)")
                numpy_only.km.provisioner.process.wait(timeout=60)
            finally:
                nkc.stop_channels()
            first = numpy_only.km
            numpy_only.ready_for([], 0)
            assert numpy_only.km is not first and numpy_only.starts == 2
            nkc = numpy_only.km.client()
            nkc.start_channels()
            try:
                seen = _run(nkc, WHAT_IS_HERE)
                assert {k: seen[k] for k in pristine} == pristine, seen
                assert not {"relay.txt", "hidden_inputs.txt"} & set(seen["tmp"]), seen
            finally:
                nkc.stop_channels()
        finally:
            numpy_only.close()
        seen = _run(main, WHAT_IS_HERE)
        assert seen["here"] == ["data.txt", "poolkit", "sub"] and "hidden_inputs.txt" \
            not in seen["tmp"] and seen["data"] == "changed by the main kernel", seen
    with _kernel(tmp_path, files) as (_, again):
        seen = _run(again, WHAT_IS_HERE)
        assert {k: seen[k] for k in pristine} == pristine, seen
    assert sorted(p.name for p in files.rglob("*")) == ["data.txt", "more.txt", "sub"]
    assert (files / "data.txt").read_text() == "pristine"


@needs_bwrap
def test_a_students_kernel_gets_poolkit_and_never_the_grader(tmp_path):
    """Only the students' package is mounted into a sandboxed kernel: poolgrade (the grader,
    the reference library, the instructor's answers) and the course's solutions/ are not
    there, by import or by path."""
    import poolgrade

    files = _pristine(tmp_path, {"data.txt": "x"})
    grader_dir = os.path.dirname(poolgrade.__file__)
    solutions = str(REPO / "solutions")
    probe = ("import importlib, json, os\n"
             "found = {}\n"
             "for name in ('poolkit', 'poolkit.checks', 'poolgrade', 'poolgrade.reference',"
             " 'poolgrade.answers'):\n"
             "    try:\n"
             "        importlib.import_module(name)\n"
             "        found[name] = True\n"
             "    except ImportError:\n"
             "        found[name] = False\n"
             f"found['paths'] = [os.path.exists(p) for p in ({grader_dir!r}, {solutions!r})]\n"
             "print(json.dumps(found))")
    with _kernel(tmp_path, files) as (_, main):
        seen = _run(main, probe)
    assert seen == {"poolkit": True, "poolkit.checks": True, "poolgrade": False,
                    "poolgrade.reference": False, "poolgrade.answers": False,
                    "paths": [False, False]}, seen


SWAPPER = r'''
import json, subprocess, sys
# a process of this kernel that keeps exchanging the folder "d" with a symbolic link to the
# canary (renameat2 RENAME_EXCHANGE: "d" always exists, as one or the other), as fast as it
# can, until told to stop
code = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
os.symlink(sys.argv[1], "link")
n = 0
while not os.path.exists("stop"):
    if libc.renameat2(-100, b"d", -100, b"link", 2) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")
    n += 1
    if n == 1000:
        print("swapping", flush=True)
open("swaps", "w").write(str(n))
"""
swapper = subprocess.Popen([sys.executable, "-c", code, CANARY], stdout=subprocess.PIPE,
                           text=True)
print(json.dumps(swapper.stdout.readline().strip()))
'''


@needs_bwrap
@as_root
def test_a_kernel_swapping_folders_for_links_cannot_reach_files_outside(tmp_path):
    """Issue 16: while one kernel of a submission swaps a folder in its scratch for a link
    to files outside every sandbox, another kernel of the same submission starts.  Grading
    changes nothing it did not create: every canary file keeps its owner and mode."""
    canary = tmp_path / "canary"
    canary.mkdir()
    for i in range(2000):   # (with the grader's old os.walk + lchown, ~500 were lost)
        (canary / f"f{i}").write_text("canary")
    (canary / "sub").mkdir()
    (canary / "sub" / "deep").write_text("canary")
    before = {p: (p.lstat().st_uid, p.lstat().st_gid, p.lstat().st_mode)
              for p in [canary, *canary.rglob("*")]}
    assert {owner for owner, _, _ in before.values()} == {0}
    files = _pristine(tmp_path, {f"d/f{i}": "x" for i in range(2000)} | {"data.txt": "p"})
    with _kernel(tmp_path, files) as (_, main):
        assert _run(main, SWAPPER.replace("CANARY", repr(str(canary)))) == "swapping"
        with _kernel(tmp_path, files) as (_, second):
            assert sorted(_run(second, WHAT_IS_HERE)["here"]) == ["d", "data.txt"]
        swaps = _run(main, "open('stop', 'w').close()\nswapper.wait(timeout=60)\n"
                           "print(open('swaps').read())")
        assert swaps >= 1000
    after = {p: (p.lstat().st_uid, p.lstat().st_gid, p.lstat().st_mode)
             for p in [canary, *canary.rglob("*")]}
    assert after == before
    assert {p.lstat().st_uid for p in [files, *files.rglob("*")]} == {0}


@needs_bwrap
def test_what_a_kernel_writes_is_bounded_and_stays_off_the_host_disk(tmp_path):
    """Its scratch and /tmp share one tmpfs of ``scratch_bytes``; /dev/shm and the rest of
    its tree are read-only; after start it cannot create files in its socket folder."""
    files = _pristine(tmp_path, {"data.txt": "p"})
    probe = r'''
import errno, json, os
found = {}
def write(name, path, mb):
    try:
        with open(path, "wb") as f:
            for _ in range(mb):
                f.write(b"x" * 2**20)
        found[name] = "allowed"
    except OSError as err:
        found[name] = errno.errorcode[err.errno]
write("scratch 30 MB", "big.bin", 30)
os.remove("big.bin")
write("tmp 30 MB", "/tmp/big.bin", 30)
os.remove("/tmp/big.bin")
write("scratch 12 MB", "half.bin", 12)
write("then tmp 12 MB", "/tmp/half.bin", 12)
write("dev/shm", "/dev/shm/x", 1)
write("root", "/x", 1)
write("socket folder", os.path.join(SOCKETS, "x"), 1)
print(json.dumps(found))
'''
    with _kernel(tmp_path, files, scratch_bytes=20 * 2**20, file_bytes=2**30) as (km, kc):
        found = _run(kc, probe.replace("SOCKETS", repr(km.socket_dir)))
        socket_files = sorted(os.listdir(km.socket_dir))
    assert found["scratch 30 MB"] == found["tmp 30 MB"] == "ENOSPC", found
    assert found["scratch 12 MB"] == "allowed" and found["then tmp 12 MB"] == "ENOSPC", found
    assert found["dev/shm"] == found["root"] == "EROFS", found
    if os.geteuid() == 0:   # (without root the kernel owns its socket folder)
        assert found["socket folder"] == "EACCES", found
        assert "x" not in socket_files
    assert sorted(p.name for p in files.iterdir()) == ["data.txt"]


BURN = "import time\n_s = time.process_time()\nwhile time.process_time() - _s < {}: pass\n"


@needs_bwrap
def test_a_kernels_cpu_time_counts_every_process_it_ever_had(tmp_path):
    """kernel_cpu_seconds (from the kernel's cgroup): a child reaped with SIGCHLD ignored
    counts, a burner killed at the start of a call cannot make the call's count negative or
    smaller than the work done in it, and a call that only sleeps counts about nothing."""
    from poolgrade.sandbox.kernels import kernel_cpu_seconds, process_tree_cpu_seconds

    files = _pristine(tmp_path, {"data.txt": "p"})
    with _kernel(tmp_path, files) as (km, kc):
        if km.cgroup is None:
            pytest.skip("no cgroup can be made here (not root): the process tree is counted")

        def measured(code):
            before = kernel_cpu_seconds(km), process_tree_cpu_seconds(km.provisioner.pid)
            _run(kc, code)
            after = kernel_cpu_seconds(km), process_tree_cpu_seconds(km.provisioner.pid)
            return after[0] - before[0], after[1] - before[1]

        _run(kc, "import os, signal, time\nsignal.signal(signal.SIGCHLD, signal.SIG_IGN)")
        reaped, reaped_by_tree = measured(
            "r, w = os.pipe()\nif os.fork() == 0:\n"
            + "".join("    " + line + "\n" for line in BURN.format(0.5).splitlines())
            + "    os.write(w, b'x')\n    os._exit(0)\nos.read(r, 1)")
        assert reaped >= 0.45, reaped
        assert reaped_by_tree < 0.25, "the attack is real: the process tree misses the child"

        # a burner started before the call, reaped unseen when it is killed in the call
        _run(kc, "r, w = os.pipe()\nburner = os.fork()\nif burner == 0:\n"
                 + "".join("    " + line + "\n" for line in BURN.format(0.5).splitlines())
                 + "    os.write(w, b'x')\n    while True: pass\nos.read(r, 1)")
        killed, by_tree = measured("os.kill(burner, signal.SIGKILL)\n"
                                   "while True:\n    try:\n        os.kill(burner, 0)\n"
                                   "    except ProcessLookupError:\n        break\n"
                                   + BURN.format(0.2))
        assert killed >= 0.19, killed
        assert by_tree < 0.0, "the attack is real: the process tree loses the burner's time"

        slept, _ = measured("time.sleep(1.0)")
        assert 0 <= slept < 0.3, slept
        folder = km.cgroup.path
    assert km.cgroup is None and not os.path.exists(folder), "the cgroup goes with the kernel"


def test_an_impossible_cpu_measurement_fails_the_speed_check():
    """A negative difference (a killed burner under the process-tree count) or a reading
    that could not be made never passes check_speed, however small."""
    def caller_reporting(cpu_seconds):
        def caller(name, args, kwargs, limit):
            harness.cpu_meter().add(cpu_seconds)
            return args[0]
        return caller

    cell = ("from poolkit import checks as ck\n"
            "ck.check_speed(f, 1.0, loops=(60, 60, 2, 1), tries=3, case='speed')")
    negative = harness.run_test_cell(cell, {"f"}, caller_reporting(-0.4))
    assert not negative.passed and "impossible" in negative.evalue, negative.evalue
    assert "-0.400 s" in negative.evalue
    unread = harness.run_test_cell(cell, {"f"}, caller_reporting(None))
    assert not unread.passed and "could not be read" in unread.evalue, unread.evalue
    assert harness.run_test_cell(cell, {"f"}, caller_reporting(0.0)).passed


@needs_bwrap
def test_files_larger_than_the_scratch_stop_the_kernel_with_a_message(tmp_path):
    """A submission whose own files exceed the scratch limit is the grader's error (status
    error, rerun with a larger limit), and the event says which limit to raise."""
    import nbformat

    from poolgrade.execution.notebook import GradingExecute

    files = _pristine(tmp_path, {"data.txt": "x" * 3 * 2**20})
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    executor = GradingExecute(scratch=str(files), scratch_mb=1, max_file_mb=16,
                              answer_names=["f"], max_restarts=0)
    executor.preprocess(nb, {})
    errors = [e.detail for e in executor.events if e.kind == "error"]
    assert len(errors) == 1 and "could not start" in errors[0], executor.events
    assert "do not fit in the kernel's scratch of 1 MB" in errors[0], errors[0]
    assert "--scratch-limit" in errors[0]


# ------------------------------------------------------------- what the NumPy-only kernel runs


def _numpy_only_notebook():
    """A submission whose NumPy-only test needs an import, a student's helper and two
    answers, with a lecture cell between them that fails there (torch is hidden) after
    leaving a mark in that kernel's scratch."""
    import nbformat

    def cell(source, grade_id=None, points=0, solution=False):
        made = nbformat.v4.new_code_cell(source)
        if grade_id:
            made.metadata["nbgrader"] = {"grade_id": grade_id, "grade": points > 0,
                                         "solution": solution, "locked": not solution,
                                         "points": points, "schema_version": 3}
        return made

    return nbformat.v4.new_notebook(cells=[
        cell("import numpy as np"),
        cell("def _largest(x):\n    return np.max(x)", "helper", solution=True),
        cell("open('lecture_ran.txt', 'w').write('yes')\nimport torch\nprint(torch.zeros(1))"),
        cell("def peak(x):\n    return float(_largest(x))", "peak", solution=True),
        cell("def lecture_ran():\n    import os\n    return os.path.exists('lecture_ran.txt')",
             "probe", solution=True),
        cell("from poolkit import checks as ck\nck.assert_numpy_only(peak)\n"
             "assert peak(np.array([1.0, 3.0])) == 3.0", "test_peak", points=2),
        cell("from poolkit import checks as ck\nck.assert_numpy_only(lecture_ran)\n"
             "assert lecture_ran() is False, 'the lecture cell ran in the NumPy-only kernel'",
             "test_lecture", points=1),
    ])


@pytest.fixture(scope="module")
def numpy_only_graded(tmp_path_factory):
    from poolgrade.execution.notebook import GradingExecute

    files = _pristine(tmp_path_factory.mktemp("numpy-only"), {})
    executor = GradingExecute(scratch=str(files), answer_names=["_largest", "peak", "lecture_ran"],
                              max_restarts=0)
    nb, _ = executor.preprocess(_numpy_only_notebook(), {})
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")}


def _errors(cell):
    return [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]


@needs_bwrap
def test_the_numpy_only_kernel_runs_the_students_helper_cell(numpy_only_graded):
    """``peak`` works only with ``_largest`` from an earlier cell: that cell ran there."""
    assert _errors(numpy_only_graded["test_peak"]) == []


@needs_bwrap
def test_the_numpy_only_kernel_skips_lecture_cells_the_test_does_not_need(numpy_only_graded):
    """The lecture cell between the answers left no mark in the NumPy-only kernel's scratch,
    and the answer defined after it still gets its points."""
    assert _errors(numpy_only_graded["test_lecture"]) == []
