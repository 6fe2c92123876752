"""Start one grading kernel inside limits: memory, CPU time, file size, network and files.

Run as ``python .../poolkit/grading/sandbox.py POLICY.json -m ipykernel_launcher -f CONN.json``
(by path, so that starting a kernel does not import the poolkit package). The limits are set
before the kernel starts and the checks are switched on once it is ready to take cells, so they
hold for every cell the submission runs but not for ipykernel's own start-up:

- ``resource.setrlimit``: address space (a memory bomb gets ``MemoryError``), CPU seconds,
  size of files written, no core dumps (a segfault must not fill the disk);
- an audit hook (``sys.addaudithook``, which Python code cannot remove) that refuses network
  connections and name look-ups, new processes (a child would not carry the hook) other than
  the exact commands the policy trusts (``poolkit.checks`` computes reference answers in a
  fresh ``python -I`` process), and opening or listing files under the denied folders (other
  students' submissions, the source notebooks with hidden tests, the gradebook, the kernels'
  connection files).

Each refusal raises ``PermissionError`` in the student's code and is also appended to the
policy's report file through a descriptor opened here, so the grader learns of attempts even
when the student's code swallows the exception.

This is a guard rail for coursework, not a security boundary: native code (``ctypes``) can get
past an audit hook. Run untrusted code in a container or VM when that matters.

Only the standard library is imported here: this runs in the kernel before ipykernel.
"""

from __future__ import annotations

import json
import os
import resource
import sys

_PROCESS_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "pty.spawn", "os.startfile",
})
_NETWORK_EVENTS = frozenset({
    "socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
    "socket.gethostbyname", "socket.gethostbyaddr", "socket.gethostbyname_ex",
})
_PATH_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "sqlite3.connect", "glob.glob"})
_LOCAL_HOSTS = frozenset({None, "", "localhost", "127.0.0.1", "::1", b"localhost"})


def apply_limits(policy: dict) -> None:
    """Set the rlimits named in ``policy`` (bytes and seconds; 0 or missing means unlimited)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, limit in (("memory_bytes", resource.RLIMIT_AS),
                       ("cpu_seconds", resource.RLIMIT_CPU),
                       ("file_bytes", resource.RLIMIT_FSIZE)):
        value = int(policy.get(key) or 0)
        if value > 0:
            _, hard = resource.getrlimit(limit)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(limit, (value, hard if hard != resource.RLIM_INFINITY else value))


def make_audit_hook(policy: dict, report_fd: int, armed: list):
    """An audit hook enforcing ``policy['allow']`` / ``policy['deny']`` (lists of folders),
    active once ``armed`` is non-empty."""
    allow = tuple(os.path.realpath(p) for p in policy.get("allow", []))
    trusted = [[sys.executable if part == "{python}" else part for part in command]
               for command in policy.get("trusted_commands", [])]
    deny = tuple(os.path.realpath(p) for p in policy.get("deny", []))
    realpath, fspath, write = os.path.realpath, os.fsdecode, os.write
    inside = _inside

    def report(kind: str, detail: str) -> None:
        line = json.dumps({"kind": kind, "detail": detail[:300]}) + "\n"
        try:
            write(report_fd, line.encode())
        except OSError:
            pass

    def denied_path(path) -> str | None:
        if isinstance(path, int) or path is None:
            return None
        try:
            full = realpath(fspath(path))
        except (TypeError, ValueError):
            return None
        if inside(full, allow):
            return None
        return full if inside(full, deny) else None

    def hook(event: str, args: tuple) -> None:
        if not armed:
            return
        if event in _PATH_EVENTS:
            full = denied_path(args[0] if args else None)
            if full is not None:
                report("files", f"{event} {full}")
                raise PermissionError(
                    f"The grader blocked access to {full}: a submission may only use the files "
                    "in its own folder.")
        elif event in _NETWORK_EVENTS:
            if event == "socket.connect" or event in ("socket.sendto", "socket.sendmsg"):
                target = args[1] if len(args) > 1 else "?"
            else:
                target = args[0] if args else None
                if target in _LOCAL_HOSTS:
                    return
            report("network", f"{event} {target!r}")
            raise PermissionError(
                f"The grader blocked network access ({event} {target!r}): grading runs offline.")
        elif event in _PROCESS_EVENTS:
            if event == "subprocess.Popen" and len(args) > 1 and _listed(args[1], trusted):
                return
            what = args[0] if args else ""
            report("process", f"{event} {what!r}")
            raise PermissionError(
                f"The grader blocked starting a new process ({event} {what!r}).")

    return hook


def _listed(argv, trusted: list[list[str]]) -> bool:
    """True if ``argv`` is exactly one of the trusted commands."""
    try:
        argv = [os.fsdecode(a) for a in argv]
    except TypeError:
        return False
    return argv in trusted


def _inside(path: str, folders: tuple[str, ...]) -> bool:
    for folder in folders:
        if path == folder or path.startswith(folder + os.sep):
            return True
    return False


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1:3] != ["-m", "ipykernel_launcher"]:
        raise SystemExit("usage: sandbox.py POLICY.json -m ipykernel_launcher ARGS...")
    with open(argv[0]) as f:
        policy = json.load(f)
    report_fd = os.open(policy["report"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    policy.setdefault("deny", []).append(policy["report"])
    policy["deny"].append(argv[0])
    apply_limits(policy)
    # TensorFlow is quiet only with both set before it is imported (lessons may import it).
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    armed: list = []
    sys.addaudithook(make_audit_hook(policy, report_fd, armed))

    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(argv[3:])
    armed.append(True)
    del armed, policy
    app.start()


def serve_zygote() -> None:
    """Fork fresh kernels on request (``sandbox.py --zygote``), one JSON line per request on
    stdin, one JSON line per answer on stdout.

    Every kernel needs ipykernel and IPython, about 0.3 CPU seconds of imports. This process
    pays for them once and forks a new child per kernel: each kernel is still a brand-new
    process that never ran another submission's code, with the policy applied in the child
    (``main``) exactly as when it is started from scratch. Requests:
    ``{"op": "spawn", "argv": [POLICY, "-m", "ipykernel_launcher", ...], "cwd", "env",
    "stderr"}`` -> ``{"pid": N}``; ``{"op": "poll", "pid": N}`` -> ``{"returncode": C}``
    (None while it runs). The process ends when its stdin closes (the worker is gone).
    """
    import ipykernel.ipkernel  # noqa: F401  (the imports every kernel shares)
    import ipykernel.kernelapp  # noqa: F401

    exits: dict[int, int] = {}
    requests = os.fdopen(0, "r")
    answers = os.fdopen(os.dup(1), "w")
    for line in requests:
        request = json.loads(line)
        if request["op"] == "spawn":
            answers.flush()
            pid = os.fork()
            if pid == 0:
                _become_kernel(request)
            answer = {"pid": pid}
        else:
            pid = int(request["pid"])
            if pid not in exits:
                try:
                    done, status = os.waitpid(pid, os.WNOHANG)
                    if done:
                        exits[pid] = os.waitstatus_to_exitcode(status)
                except ChildProcessError:
                    exits[pid] = -1
            answer = {"returncode": exits.get(pid)}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    # the worker is gone: reap what is left, so that the kernels' CPU time is accounted
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            break


def _become_kernel(request: dict) -> None:
    """In the forked child: the kernel's own session, folder, streams and environment."""
    code = 1
    try:
        os.setsid()
        os.chdir(request["cwd"])
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(err, 2)
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["ipykernel_launcher"]
        main(request["argv"])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 (report anything, then leave without cleanup)
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


if __name__ == "__main__":
    # Started by path: drop this folder from sys.path so that its modules cannot shadow
    # anything the kernel imports.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    if sys.argv[1:] == ["--zygote"]:
        serve_zygote()
    else:
        main(sys.argv[1:])
