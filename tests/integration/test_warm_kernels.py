"""Kernels forked from a warm template (poolgrade.sandbox.templates): each is a sandbox of its
own, nothing of one reaches another or the template, and the limits are the cold kernel's.

Two kernels from the same template run at once in these tests: "a" plays the student who
attacks, "b" the classmate (or the next student) it attacks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import resource

import pytest

from poolgrade.sandbox import templates
from poolgrade.sandbox.bwrap import SandboxLimits, make_readable, unavailable_reason
from poolgrade.sandbox.kernels import SandboxedBlockingKernelManager, kernel_cpu_seconds

LIMITS = SandboxLimits(memory_bytes=4096 * 2**20, cpu_seconds=120, file_bytes=2**20,
                       scratch_bytes=64 * 2**20)
pytestmark = pytest.mark.skipif(
    (unavailable_reason() is not None or not templates.warm_possible())
    and not os.environ.get("CI"),
    reason="warm kernels need bubblewrap, root and cgroups")


def _files(tmp_path, name: str) -> str:
    os.chmod(tmp_path, 0o711)
    root = tmp_path / name
    root.mkdir()
    (root / "data.txt").write_text("pristine")
    make_readable(str(root))
    return str(root)


@contextlib.contextmanager
def _warm_kernel(tmp_path, name: str, numpy_only: bool = False, limits=LIMITS):
    run_dir = tmp_path / f"run-{name}"
    run_dir.mkdir()
    os.chmod(run_dir, 0o711)
    km = SandboxedBlockingKernelManager(kernel_name="python3")
    km.limits = limits
    km.numpy_only = numpy_only
    km.use_template()
    assert km.template is not None, "this machine should fork kernels from a template"
    km.setup_folders(_files(tmp_path, f"files-{name}"), str(run_dir))
    km.stderr_path = str(run_dir / "kernel.stderr")
    km.start_kernel(cwd=km.workdir)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        km.lock_socket_dir()
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        km.cleanup_resources()


def _run(kc, code: str):
    """Run ``code``; the JSON it printed last (or the error's text)."""
    printed = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            printed.append(json.dumps({"error": msg["content"]["evalue"]}))

    reply = kc.execute_interactive(code, timeout=120, output_hook=hook)
    assert reply["content"]["status"] in ("ok", "error")
    return json.loads("".join(printed).strip().splitlines()[-1])


NAMESPACES = ("user", "mnt", "pid", "net", "ipc", "uts", "cgroup")
WHO_AM_I = (
    "import json, os\n"
    f"print(json.dumps({{n: os.readlink('/proc/self/ns/' + n) for n in {NAMESPACES!r}}}"
    " | {'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),"
    " 'caps': open('/proc/self/status').read().split('CapEff:')[1].split()[0],"
    " 'cwd': os.getcwd(), 'tmp': sorted(os.listdir('/tmp'))}))")


def test_two_kernels_of_one_template_share_no_namespace_and_see_only_themselves(tmp_path):
    with _warm_kernel(tmp_path, "a") as (km_a, a), _warm_kernel(tmp_path, "b") as (km_b, b):
        assert km_a.template is km_b.template
        seen_a, seen_b = _run(a, WHO_AM_I), _run(b, WHO_AM_I)
        for ns in NAMESPACES:
            assert seen_a[ns] != seen_b[ns], ns
        # PID 1 is the kernel's own init, 2 the kernel: nothing of another kernel or the
        # template is there to read, signal or trace
        assert seen_a["pids"] == [1, 2] and seen_b["pids"] == [1, 2], (seen_a, seen_b)
        assert seen_a["caps"] == "0000000000000000"
        # the template's user namespace is not the kernel's: the kernel cannot make another
        made = _run(a, "import ctypes, json\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                       "print(json.dumps([libc.unshare(0x10000000), ctypes.get_errno()]))")
        assert made[0] == -1, made
        tool = _run(a, "import json, subprocess\nr = subprocess.run(['unshare', '-U', 'true'],"
                       " capture_output=True)\nprint(json.dumps(r.returncode))")
        assert tool != 0


def test_a_kernel_cannot_reach_another_kernels_scratch_sockets_or_processes(tmp_path):
    with _warm_kernel(tmp_path, "a") as (km_a, a), _warm_kernel(tmp_path, "b") as (km_b, b):
        _run(b, "import json\nopen('answers.txt', 'w').write('classmate')\n"
                "open('/tmp/relay.txt', 'w').write('classmate')\nprint(json.dumps(1))")
        found = _run(a, (
            "import json, os\nhits = []\n"
            "for top in ('/tmp', '/run', os.path.dirname(os.getcwd())):\n"
            "    for folder, dirs, files in os.walk(top):\n"
            "        hits += [os.path.join(folder, f) for f in files\n"
            "                 if f in ('answers.txt', 'relay.txt')]\n"
            f"socket_root = {km_a.template.socket_root!r}\n"
            "print(json.dumps({'hits': hits, 'sockets': sorted(os.listdir(socket_root))}))"))
        assert found["hits"] == [], found
        # in its socket root a kernel sees its own folder only
        assert found["sockets"] == [os.path.basename(km_a.socket_dir)], found
        # the classmate's folder is not there even by its exact name
        other = _run(a, f"import json, os\nprint(json.dumps(os.path.exists({km_b.socket_dir!r})))")
        assert other is False
        # signals reach nothing outside the kernel's own PID namespace: every number that
        # answers is a thread of the kernel or its init
        reached = _run(a, "import json, os\nsent = []\n"
                          "for pid in range(1, 5000):\n"
                          "    try:\n        os.kill(pid, 0)\n"
                          "    except OSError:\n        continue\n"
                          "    status = open(f'/proc/{pid}/status').read()\n"
                          "    sent.append(int(status.split('Tgid:')[1].split()[0]))\n"
                          "print(json.dumps(sorted(set(sent))))")
        assert reached == [1, 2]
        assert _run(b, "import json\nprint(json.dumps(open('answers.txt').read()))") \
            == "classmate"


def test_a_kernel_killing_its_process_group_or_everything_leaves_the_rest_running(tmp_path):
    """A process group is not confined to a PID namespace: without a session of its own, a
    forked kernel's ``killpg(0, SIGKILL)`` would reach the template and every sibling."""
    template = templates.template_for(numpy_only=False)
    with _warm_kernel(tmp_path, "a") as (km_a, a), _warm_kernel(tmp_path, "b") as (km_b, b):
        a.execute("import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\n"
                  "except OSError:\n    pass\nos.killpg(0, signal.SIGKILL)")
        km_a.provisioner.process.wait(timeout=60)
        assert _run(b, "import json\nprint(json.dumps('alive'))") == "alive"
        assert template.alive()
    with _warm_kernel(tmp_path, "c") as (km_c, c):
        assert km_c.template is template
        assert _run(c, "import json\nprint(json.dumps('alive'))") == "alive"


def test_each_kernel_has_a_process_budget_of_its_own(tmp_path):
    """One student's processes never count against a classmate's limit (a fork bomb capped
    by the limit must not starve every other kernel of the template)."""
    small = dataclasses.replace(LIMITS, processes=64)
    spawn = ("import json, subprocess\n"
             "kept = []\nfor _ in range(36):\n"
             "    kept.append(subprocess.Popen(['sleep', '120']))\n"
             "print(json.dumps(len(kept)))")
    with _warm_kernel(tmp_path, "a", limits=small) as (_, a), \
            _warm_kernel(tmp_path, "b", limits=small) as (_, b):
        assert _run(a, spawn) == 36
        assert _run(b, spawn) == 36
        # and the limit holds within one kernel
        more = _run(a, "import json, subprocess\ntry:\n    for _ in range(64):\n"
                       "        kept.append(subprocess.Popen(['sleep', '120']))\n"
                       "    print(json.dumps('no limit'))\n"
                       "except OSError as err:\n    print(json.dumps(err.errno))")
        assert more != "no limit"


def test_what_one_kernel_changes_in_a_module_is_pristine_in_the_next(tmp_path):
    change = ("import json, sys, numpy, torch\nnumpy.sum = lambda *a, **k: 42\n"
              "torch.STUDENT_WAS_HERE = True\nsys.modules['collections'].STUDENT = 1\n"
              "sys.path.insert(0, '/tmp/mine')\n"
              "print(json.dumps(True))")
    look = ("import json, sys, numpy, torch\nprint(json.dumps({'sum': int(numpy.sum([1, 2])),"
            " 'marked': hasattr(torch, 'STUDENT_WAS_HERE') or"
            " hasattr(sys.modules['collections'], 'STUDENT'),"
            " 'path': '/tmp/mine' in sys.path}))")
    with _warm_kernel(tmp_path, "a") as (km_a, a):
        assert _run(a, change) is True
        template = km_a.template
    with _warm_kernel(tmp_path, "b") as (km_b, b):
        assert km_b.template is template       # the same template, still warm
        assert _run(b, look) == {"sum": 3, "marked": False, "path": False}


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        here = todo.pop()
        for task in os.listdir(f"/proc/{here}/task"):
            with open(f"/proc/{here}/task/{task}/children") as f:
                kids = [int(p) for p in f.read().split()]
            found += kids
            todo += kids
    return found


def _template_chain(pid: int) -> set[int]:
    """The template's own processes: bubblewrap's chain down to the Python server, not the
    kernels forked from the server (whose launchers come and go)."""
    chain, todo = set(), [pid]
    while todo:
        here = todo.pop()
        chain.add(here)
        if os.path.basename(os.readlink(f"/proc/{here}/exe")).startswith("python"):
            continue
        for task in os.listdir(f"/proc/{here}/task"):
            with open(f"/proc/{here}/task/{task}/children") as f:
                todo += [int(p) for p in f.read().split()]
    return chain


def test_the_template_never_runs_student_code(tmp_path):
    """The student's code runs in a fork in a PID namespace of its own; the template's
    processes are the same before and after, and what the code wrote is not in their /tmp."""
    template = templates.template_for(numpy_only=False)
    with _warm_kernel(tmp_path, "a") as (km_a, a):
        assert km_a.template is template
        own = _template_chain(template.process.pid)   # (complete: the template is serving)
        ran = _run(a, "import json, os\nopen('/tmp/mark', 'w').write('x')\n"
                      "print(json.dumps(os.getpid()))")
        with open(os.path.join(km_a.cgroup.path, "cgroup.procs")) as f:
            kernel = {int(p) for p in f.read().split()}
        assert ran == 2 and not kernel & own
        # the template's script, the one file of it a kernel can see, is read-only
        write = _run(a, "import json\ntry:\n"
                        "    open('/run/kernel-template/server.py', 'a').write('#')\n"
                        "    print(json.dumps('written'))\n"
                        "except OSError as err:\n    print(json.dumps(err.strerror))")
        assert write != "written"
        assert _template_chain(template.process.pid) == own
        assert kernel <= set(_descendants(template.process.pid))
        for pid in own:
            assert not os.path.exists(f"/proc/{pid}/root/tmp/mark")
        assert any(os.path.exists(f"/proc/{pid}/root/tmp/mark") for pid in kernel)
    assert template.alive()


def test_a_warm_kernel_has_the_cold_kernels_limits_and_counts_its_cpu(tmp_path):
    with _warm_kernel(tmp_path, "a") as (km_a, a):
        limits = _run(a, (
            "import json, os, resource\n"
            "r = {n: resource.getrlimit(getattr(resource, n))[0] for n in"
            " ('RLIMIT_AS', 'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_NPROC')}\n"
            "s = os.statvfs('/tmp')\nr['scratch'] = s.f_blocks * s.f_frsize\n"
            "print(json.dumps(r))"))
        assert limits == {"RLIMIT_AS": LIMITS.memory_bytes, "RLIMIT_CPU": LIMITS.cpu_seconds,
                          "RLIMIT_FSIZE": LIMITS.file_bytes,
                          "RLIMIT_NPROC": LIMITS.processes, "scratch": LIMITS.scratch_bytes}
        before = kernel_cpu_seconds(km_a)
        _run(a, "import json, time\nend = time.process_time() + 1.0\n"
                "while time.process_time() < end:\n    pass\nprint(json.dumps(0))")
        assert kernel_cpu_seconds(km_a) - before >= 1.0
        # every process of the kernel is in its own cgroup, the launcher included
        with open(os.path.join(km_a.cgroup.path, "cgroup.procs")) as f:
            members = {int(p) for p in f.read().split()}
        assert km_a.provisioner.process.pid in members and len(members) >= 3
    assert resource.getrlimit(resource.RLIMIT_AS)[0] != LIMITS.memory_bytes


def test_a_numpy_only_kernel_comes_from_its_own_template_without_torch(tmp_path):
    with _warm_kernel(tmp_path, "main") as (km_main, _), \
            _warm_kernel(tmp_path, "n", numpy_only=True) as (km_n, n):
        assert km_n.template is not km_main.template
        seen = _run(n, "import json, sys\nimport numpy\ntry:\n    import torch\n    t = 'torch'\n"
                       "except ImportError:\n    t = None\n"
                       "print(json.dumps([t, 'torch' in sys.modules,"
                       " 'tensorflow' in sys.modules]))")
        assert seen == [None, False, False]


def test_a_memory_limit_too_small_for_a_fork_starts_the_kernel_cold(tmp_path):
    """A fork carries the template's address space: under a limit that leaves too little
    above it the kernel starts cold (and works), and the template stays in use."""
    small = dataclasses.replace(LIMITS, memory_bytes=2048 * 2**20)
    template = templates.template_for(numpy_only=False)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    km = SandboxedBlockingKernelManager(kernel_name="python3")
    km.limits = small
    km.use_template()
    assert km.template is template
    km.setup_folders(_files(tmp_path, "files"), str(run_dir))
    km.start_kernel(cwd=km.workdir)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        km.lock_socket_dir()
        assert km.template is None       # started cold
        assert _run(kc, "import json, resource\n"
                        "print(json.dumps(resource.getrlimit(resource.RLIMIT_AS)[0]))") \
            == small.memory_bytes
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        km.cleanup_resources()
    assert templates.template_for(numpy_only=False) is template


def test_cold_kernels_when_switched_off(monkeypatch):
    monkeypatch.setenv("POOLGRADE_COLD_KERNELS", "1")
    assert templates.template_for(numpy_only=False) is None


def test_a_dead_template_is_replaced(tmp_path):
    first = templates.template_for(numpy_only=True)
    first.process.kill()
    first.process.wait(timeout=30)
    second = templates.template_for(numpy_only=True)
    assert second is not None and second is not first and second.alive()


def test_the_template_shares_no_writable_memory_with_its_kernels(tmp_path):
    """Fork copies memory; only a shared writable mapping would be a channel between kernels
    (or from a kernel to the template).  The template holds none."""
    with _warm_kernel(tmp_path, "a") as (km_a, _):    # (the template is serving by now)
        with open(os.path.join(km_a.cgroup.path, "cgroup.procs")) as f:
            kernel = {int(p) for p in f.read().split()}
        servers = []
        for pid in set(_descendants(km_a.template.process.pid)) - kernel:
            if os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith("python"):
                servers.append(pid)
        assert len(servers) == 1, servers
        with open(f"/proc/{servers[0]}/maps") as f:
            modes = [line.split()[1] for line in f]
    assert modes and not [m for m in modes if m[1] == "w" and m[3] == "s"]
