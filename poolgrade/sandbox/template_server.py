"""The warm kernel template: runs inside the sandbox, never runs student code.

This file is a standalone script (standard library only, besides the modules it is told to
import): the grader binds it read-only into a template sandbox and runs it with ``python -P``.
It imports the heavy modules once (NumPy, torch, TensorFlow, IPython, ipykernel ...) and
then waits for requests on the control socket (a ``SOCK_SEQPACKET`` socket whose descriptor
is its first argument; the grader holds the other end).  Each request asks for one kernel;
the template answers by forking, and only the fork ever becomes a kernel, so the template
itself stays as it was after its imports: no student's code, module change or leftover
state can reach the next kernel, which starts from the same pristine copy-on-write memory.

One kernel is three processes, each made before any student code runs:

- the *launcher* (the template's child) starts a session of its own, reports itself to
  the grader through the
  request's own socket (its pid travels as ``SCM_CREDENTIALS``, which the OS translates
  into the grader's pid namespace and a process cannot forge), then waits for ``go``: in
  the meantime the grader moves it into the kernel's cgroup, so everything it later starts
  is counted there.  It then makes a new user namespace (mapping only its own user) and new
  mount, PID, network, IPC, UTS and cgroup namespaces, forbids further user namespaces in
  it, forks the *init*, and waits for it, reporting its exit status on the socket.
- the *init* (PID 1 of the new PID namespace) mounts the kernel's own ``/proc``, a fresh
  size-limited tmpfs on ``/tmp`` (the scratch) and, over the socket root, a tmpfs that
  holds only this kernel's socket folder (bound back from the grader's folder), then drops
  every capability (bounding set included) and sets ``no_new_privs``, forks the kernel and
  reaps orphans until the kernel ends.
- the *kernel* copies the submission's pristine files (an open folder descriptor the
  grader sent) into its working folder as the unprivileged user, closes every descriptor it
  does not need, and runs ``ipykernel`` in the same interpreter.

The environment is the template's, inherited.  The template runs without resource limits
(it never runs student code); each launcher sets the kernel's limits (address space, CPU
time, file size, processes, no core files), soft and hard, right after it makes its user
namespace, so they hold for everything the kernel starts, and each kernel's process limit
is its own (as for a cold kernel).  A forked process starts with no CPU time used.
"""

from __future__ import annotations

import array
import ctypes
import importlib
import json
import os
import resource
import shutil
import signal
import socket
import struct
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SYS_CAPSET = 126          # x86_64
LINUX_CAPABILITY_VERSION_3 = 0x20080522
MAX_REQUEST = 65536

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(RuntimeError):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")


def _prctl(option: int, arg: int = 0) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl({option})")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    def encoded(text):
        return None if text is None else text.encode()

    _check(_libc.mount(encoded(source), target.encode(), encoded(fstype),
                       ctypes.c_ulong(flags), encoded(data)), f"mount {target}")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _drop_capabilities() -> None:
    """No capability left, now or after any exec, and no way to gain one."""
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    last = int(open("/proc/sys/kernel/cap_last_cap").read())
    for cap in range(last + 1):
        _prctl(PR_CAPBSET_DROP, cap)
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "ambient")
    header = struct.pack("Ii", LINUX_CAPABILITY_VERSION_3, 0)
    data = bytes(24)     # two (effective, permitted, inheritable) triples, all empty
    _check(_libc.syscall(SYS_CAPSET, header, data), "capset")


def _address_space() -> int:
    """This process's address space in bytes (what RLIMIT_AS limits)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _close_all_but(keep: set[int]) -> None:
    for fd in sorted(int(name) for name in os.listdir("/proc/self/fd")):
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _reseed() -> None:
    """Every kernel forked from the template would otherwise share its random states."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.seed()


# ----------------------------------------------------------------------------- the kernel


def _run_kernel(spec: dict, files_fd: int, stderr_fd: int) -> None:
    """In the kernel process (unprivileged, in its namespaces): fill the scratch, run
    ipykernel.  Never returns."""
    devnull = os.open("/dev/null", os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.dup2(stderr_fd, 2)
    workdir = spec["workdir"]
    try:
        shutil.copytree(f"/proc/self/fd/{files_fd}", workdir, symlinks=True,
                        dirs_exist_ok=True)
    except OSError:
        os.write(2, (spec["too_big"] + "\n").encode())
        os._exit(1)
    _close_all_but({0, 1, 2})
    os.chdir(workdir)
    _reseed()
    sys.argv = ["ipykernel_launcher", "-f", spec["connection_file"],
                *spec["kernel_options"]]
    from ipykernel import kernelapp

    try:
        kernelapp.launch_new_instance()
    finally:
        sys.stderr.flush()
        os._exit(0)


def _init(spec: dict, files_fd: int, stderr_fd: int) -> None:
    """PID 1 of the kernel's PID namespace: its mounts, then no privileges, then the kernel.
    Never returns."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # (opened first: the socket root may be below /tmp, which the scratch covers)
    root, name = spec["socket_root"], spec["socket_name"]
    own = os.open(os.path.join(root, name), os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
           f"size={spec['scratch_bytes']},mode=1777")
    os.makedirs(spec["workdir"], mode=0o700, exist_ok=True)
    # the socket root holds only this kernel's own folder (a mount point: the kernel can
    # neither rename nor remove it)
    os.makedirs(root, mode=0o755, exist_ok=True)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755")
    os.mkdir(os.path.join(root, name))
    _mount(f"/proc/self/fd/{own}", os.path.join(root, name), None, MS_BIND)
    os.close(own)
    _mount(None, root, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
           | MS_NOEXEC)
    _drop_capabilities()
    kernel = os.fork()
    if kernel == 0:
        try:
            _run_kernel(spec, files_fd, stderr_fd)
        finally:
            os._exit(1)
    _close_all_but(set())
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _launcher(spec: dict, handle: socket.socket, files_fd: int, stderr_fd: int) -> None:
    """The template's child for one kernel (see the module docstring).  Never returns."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        # a session and process group of its own: a signal to the kernel's process group
        # (killpg(0, ...)) must not reach the template or a sibling kernel, whatever the
        # PID namespace (a process group is not confined to one)
        os.setsid()
        _close_all_but({handle.fileno(), files_fd, stderr_fd})
        # the fork's address space counts against the kernel's limit: a limit too small
        # to leave the kernel its headroom above the template's imports means a cold kernel
        have = _address_space()
        if have + spec["headroom"] > spec["limits"]["RLIMIT_AS"]:
            handle.send(json.dumps({"refused": f"the memory limit leaves less than "
                                    f"{spec['headroom'] >> 20} MB above the template's "
                                    f"{have >> 20} MB of address space"}).encode())
            os._exit(0)
        creds = struct.pack("3i", os.getpid(), os.getuid(), os.getgid())
        handle.sendmsg([b"hello"], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)])
        if handle.recv(16) != b"go":
            os._exit(1)
        uid, gid = os.getuid(), os.getgid()
        _unshare(CLONE_NEWUSER)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
        # the kernel's limits, for good (soft and hard), set only now: a user namespace
        # remembers its creator's process limit as the cap on all the processes of its
        # parent's user, so set before, it would make every kernel of the template share
        # one budget of processes (one student's fork bomb would starve the others)
        for name, value in spec["limits"].items():
            limit = getattr(resource, name)
            resource.setrlimit(limit, (value, value))
        _unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
                 | CLONE_NEWCGROUP)
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        _write("/proc/sys/user/max_user_namespaces", "0")
        socket.sethostname("grading")
        init = os.fork()
        if init == 0:
            try:
                handle.close()
                _init(spec, files_fd, stderr_fd)
            except BaseException as err:   # noqa: BLE001 (reported, then the init ends)
                os.write(stderr_fd, f"kernel template: {err}\n".encode())
            finally:
                os._exit(70)
        os.close(files_fd)
        os.close(stderr_fd)
        _, status = os.waitpid(init, 0)
        code = os.waitstatus_to_exitcode(status)
        handle.send(json.dumps({"exit": code}).encode())
        os._exit(0)
    except BaseException as err:   # noqa: BLE001
        try:
            handle.send(json.dumps({"error": str(err)[:500]}).encode())
        finally:
            os._exit(70)


# --------------------------------------------------------------------------- the template


def _receive(control: socket.socket):
    """One request: (spec, [handle, files, stderr] descriptors), or None at end of input."""
    fds = array.array("i")
    data, ancillary, _, _ = control.recvmsg(MAX_REQUEST, socket.CMSG_SPACE(3 * fds.itemsize))
    if not data:
        return None
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    return json.loads(data), list(fds)


def _reap(*_) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(control_fd: int, modules: list[str]) -> None:
    """Import ``modules``, then fork one launcher per request until the grader's end of the
    control socket is closed.  Requests are never answered on the control socket (several
    grading processes may share it): the launcher answers on the request's own socket."""
    for name in modules:
        importlib.import_module(name)
    control = socket.socket(fileno=control_fd)
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        # forking a process with other threads is not safe: refuse to serve (every request's
        # socket then reads end-of-file, and the grader starts kernels cold)
        print(f"kernel template: {threads} threads after the imports; not serving",
              file=sys.stderr)
        return
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        try:
            request = _receive(control)
        except InterruptedError:
            continue
        if request is None:
            return
        spec, fds = request
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue
        handle_fd, files_fd, stderr_fd = fds
        if os.fork() == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            control.close()
            _launcher(spec, socket.socket(fileno=handle_fd), files_fd, stderr_fd)
        for fd in fds:
            os.close(fd)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2:])
