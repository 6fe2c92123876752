"""The trusted grading path piece by piece: the data-only channel, the harness's reading of
test cells, the kernel command and the bubblewrap sandbox itself (real processes).

The whole path (nbgrader autograde and poolkit grade on real lessons, with the attack
catalogue) is in test_attacks.py; these tests pin down each part so that a failure there
points here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from poolkit.grading import channel, harness
from poolkit.grading.kernel import isolated_python
from poolkit.grading.sandbox import (
    SandboxLimits,
    hidden_packages,
    sandbox_command,
    unavailable_reason,
)

REPO = Path(__file__).resolve().parents[1]
LIMITS = SandboxLimits(memory_bytes=2048 * 2**20, cpu_seconds=60, file_bytes=2**20)
needs_bwrap = pytest.mark.skipif(unavailable_reason() is not None and not os.environ.get("CI"),
                                 reason=f"no sandbox here: {unavailable_reason()}")


# ----------------------------------------------------------------------------- channel
def test_channel_round_trip_keeps_types_and_exact_values():
    value = (np.arange(6.0).reshape(2, 3) - 2.5, np.array([1, -2], dtype=np.int32),
             [1, (2, None)], {"mode": "max", "p": 0.1}, float("nan"), -float("inf"),
             True, 10**30, np.int64(7), np.float32(0.5))
    back = channel.decode(json.loads(json.dumps(channel.encode(value))))
    assert type(back) is tuple and type(back[2]) is list and type(back[2][1]) is tuple
    assert back[0].dtype == np.float64 and np.array_equal(back[0], value[0])
    assert back[1].dtype == np.int32 and back[1].tolist() == [1, -2]
    assert back[3] == {"mode": "max", "p": 0.1}
    assert back[4] != back[4] and back[5] == -float("inf") and back[6] is True
    assert back[7] == 10**30 and type(back[8]) is np.int64 and type(back[9]) is np.float32


@pytest.mark.parametrize("reply", [
    {"array": "not base64!"},
    {"array": channel.encode(np.zeros(2))["array"], "extra": 1, "more": 2},
    {"pickle": "gASVAAAAAAAAAAA="},
    {"tuple": "not a list"},
    {"scalar": "<U4", "value": {"str": "abcd"}},
    {"dict": [[1, {"int": "1"}]]},
    [],
])
def test_channel_refuses_replies_that_are_not_plain_data(reply):
    with pytest.raises(channel.ChannelError):
        channel.decode(reply)


def test_channel_never_unpickles_an_object_array():
    import base64
    import io

    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(channel.ChannelError, match="unreadable array"):
        channel.decode({"array": base64.b64encode(buf.getvalue()).decode()})


def test_values_the_kernel_cannot_send_arrive_as_named_placeholders():
    got = channel.decode({"object": "torch.Tensor"})
    assert isinstance(got, channel.Unreadable) and type(got).__name__ == "Tensor"
    from poolkit import checks

    with pytest.raises(AssertionError, match="is a Tensor; expected a plain numpy.ndarray"):
        checks.strict_value(got)


def test_kernel_side_of_the_channel_runs_with_numpy_alone(tmp_path):
    """The kernel code of a call, run in a bare interpreter: it reads its request file,
    calls the function and leaves a reply the grader can decode."""
    code = channel.call_request("f", (np.arange(4.0), 2), {"scale": 0.5}, str(tmp_path))
    script = ("import numpy as np\n"
              "def f(x, k, scale=1.0):\n    return (x * k * scale, x.shape)\n"
              + code + "\nprint(_poolkit_reply)")
    out = subprocess.run([sys.executable, "-I", "-c", script], capture_output=True, text=True,
                         check=True).stdout
    reply = channel.read_reply(out.strip())
    array, shape = channel.decode(reply["result"])
    assert array.tolist() == [0.0, 1.0, 2.0, 3.0] and shape == (4,)
    assert not list(tmp_path.iterdir()), "the request file is removed by the kernel"


# ----------------------------------------------------------------------------- harness
def test_numpy_only_cells_are_recognised_from_the_test_source():
    assert harness.needs_numpy_only("ck.check_against_oracle(f, 'o', c, numpy_only=True)")
    assert harness.needs_numpy_only("ck.assert_numpy_only(depthwise_conv2d)")
    assert not harness.needs_numpy_only("ck.check_against_oracle(f, 'o', c, numpy_only=False)")
    assert not harness.needs_numpy_only("assert f(2) == 3  # numpy_only=True in a comment")


def test_answer_names_come_from_solutions_without_their_imports():
    sources = ["import numpy as np\nfrom math import ceil\n\ndef a(x):\n    return x\n",
               "def b():\n    pass\nLIMIT = 3\nclass C:\n    pass\n"]
    assert harness.answer_names(sources) == {"a", "b", "LIMIT", "C"}


def test_a_test_cell_runs_here_and_calls_remote_functions_only():
    calls = []

    def caller(name, args, kwargs, limit):
        calls.append((name, args, limit))
        if name == "broken":
            raise harness.StudentRaised("ValueError", "bad head")
        return args[0] * 2

    ok = harness.run_test_cell("assert double(21) == 42\nprint('visible tests passed')",
                               {"double"}, caller)
    assert ok.passed and ok.stdout == "visible tests passed\n"
    assert calls == [("double", (21,), harness.DEFAULT_CALL_LIMIT)]
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
        "ck.check_against_oracle(f, 'poolkit.pool_output_size', ck.size_cases(seed=1, n=2),"
        " numpy_only=True)", {"f"}, caller)
    assert outcome.evalue.startswith("f is not written yet: replace `raise NotImplementedError()`")
    assert not harness.ACTIVE and checks._grading_harness() is None


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
    from poolkit.grading.kernel import process_tree_cpu_seconds

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
    wrapped = sandbox_command(cmd, writable=["/nonexistent-scratch"], limits=LIMITS) \
        if os.geteuid() != 0 else None
    if wrapped is None:   # as root the folders are handed to nobody: use real ones
        return
    assert wrapped[0] == "bwrap" and "--unshare-net" in wrapped and wrapped[-len(cmd):] == cmd


def _sandboxed(tmp_path, code, numpy_only=False):
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    os.chmod(tmp_path, 0o711)
    cmd = sandbox_command([sys.executable, "-P", "-c", code], writable=[str(scratch)],
                          limits=LIMITS, numpy_only=numpy_only)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120), scratch


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
    proc, scratch = _sandboxed(tmp_path, code)
    server.close()
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert set(found["course"]) <= {"poolkit", ".venv"}, "only the package and environment"
    assert found["read gradebook"] == "FileNotFoundError"
    assert found["write venv"] in ("OSError", "PermissionError")
    assert found["write poolkit"] in ("OSError", "PermissionError")
    assert found["write scratch"] == "allowed" and (scratch / "mine.txt").read_text() == "ok"
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
