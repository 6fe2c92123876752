"""Warm kernels: each grading kernel forked from a template that has already imported NumPy,
torch, TensorFlow and ipykernel, instead of a cold Python that imports them again.

A :class:`KernelTemplate` is a long-lived process in a sandbox of the same shape as a cold
kernel's (:func:`poolgrade.sandbox.bwrap.template_command`), running
``template_server.py`` (see its docstring for what happens inside).  It never runs student
code: it only imports modules and forks.  Every kernel is a fork of it with its own user,
mount, PID, network, IPC, UTS and cgroup namespaces, its own scratch tmpfs and its own
socket folder, under the same resource limits, and in its own cgroup, which the grader
puts it in before it runs anything (:meth:`KernelTemplate.spawn`).

One template per kind of kernel (the main kernel, or the NumPy-only kernel, in which
torch and the rest do not exist), whatever the limits (each kernel gets its own).  The
grader starts both before it forks its local workers (:func:`start_templates`), and they
share them for the whole class; a process that finds none (a Dask worker, ``nbgrader
autograde``) starts its own on first use and keeps it.  Warm kernels need root and a
cgroup (the kernel's CPU time and its end are the cgroup's); elsewhere :func:`template_for`
returns None and kernels start cold, as before.  ``POOLGRADE_COLD_KERNELS=1`` forces cold
kernels (to compare, or to rule the templates out).
"""

from __future__ import annotations

import array
import atexit
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from poolgrade.sandbox import cgroups
from poolgrade.sandbox.bwrap import SandboxLimits, template_command

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "template_server.py")
FULL_MODULES = ("numpy", "torch", "tensorflow", "keras", "matplotlib", "matplotlib.pyplot",
                "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel", "poolkit",
                "poolkit.checks")
NUMPY_ONLY_MODULES = ("numpy", "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel")
START_TIMEOUT = 180.0      # seconds for a template's imports, on a busy machine
MAX_MESSAGE = 4096


class TemplateError(RuntimeError):
    """The template could not start a kernel (the caller falls back to a cold kernel)."""


class TemplateRefused(TemplateError):
    """The template works, but this kernel's memory limit is too small for a fork of it."""


# address space a warm kernel must have left above the template's own (ipykernel's threads,
# the student's work); a memory limit that leaves less starts the kernel cold
HEADROOM_BYTES = 1024 * 2**20


def _recv(sock: socket.socket, timeout: float, ancillary: int = 0):
    """One message (and its ancillary data) within ``timeout`` seconds."""
    ready, _, _ = select.select([sock], [], [], timeout)
    if not ready:
        raise TemplateError(f"no answer within {timeout:g} s")
    data, anc, _, _ = sock.recvmsg(MAX_MESSAGE, ancillary)
    if not data:
        raise TemplateError("the template ended")
    return data, anc


class WarmKernelProcess:
    """The grader's handle on one forked kernel, shaped like the ``subprocess.Popen`` that
    jupyter_client's provisioner expects: ``pid``, ``poll``, ``wait``, ``send_signal``,
    ``kill``, ``terminate``.  It holds a pidfd of the kernel's launcher (whose end ends the
    kernel's PID namespace) and the launcher's socket, on which its exit status arrives."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, pidfd: int, handle: socket.socket):
        self.pid, self._pidfd, self._handle = pid, pidfd, handle
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            self._finish()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            if not select.select([self._pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired("kernel", timeout)
            self._finish()
        return self.returncode

    def _finish(self) -> None:
        code = -signal.SIGKILL
        try:
            if select.select([self._handle], [], [], 0)[0]:
                message = json.loads(self._handle.recv(MAX_MESSAGE) or b"{}")
                if isinstance(message.get("exit"), int):
                    code = message["exit"]
        except (OSError, ValueError):
            pass
        self.returncode = code
        self.close()

    def send_signal(self, signum: int) -> None:
        if self.returncode is None and self._pidfd >= 0:
            try:
                signal.pidfd_send_signal(self._pidfd, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def close(self) -> None:
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1
        self._handle.close()


def _sender_pid(ancillary) -> int | None:
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(payload) >= 12:
            return struct.unpack("3i", payload[:12])[0]
    return None


class KernelTemplate:
    """One running template (see the module docstring).  Starting it returns at once: the
    first request waits for its imports.  Processes forked from the one that started it
    (the grader's local workers) share it: requests are sent on the shared control socket,
    and every answer comes on the request's own socket."""

    def __init__(self, numpy_only: bool):
        self.numpy_only = numpy_only
        self.modules = NUMPY_ONLY_MODULES if numpy_only else FULL_MODULES
        self.owner = os.getpid()
        self._lock = threading.Lock()
        # every kernel's socket folder is made in here; nobody but root can list it, and
        # each kernel sees only its own folder (the kernel's init covers the rest)
        self.socket_root = tempfile.mkdtemp(prefix="poolgrade-sockets-")
        os.chmod(self.socket_root, 0o711)
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.stderr_path = os.path.join(self.socket_root, "template.stderr")
        # a copy the sandbox user can read wherever poolgrade is installed (on a hub, in a
        # folder only the instructors can read); the socket root lets nobody list it
        server = os.path.join(self.socket_root, "template_server.py")
        shutil.copyfile(SERVER, server)
        os.chmod(server, 0o644)
        cmd = template_command([sys.executable, "-P", server, str(theirs.fileno()),
                                *self.modules], server=server, socket_root=self.socket_root,
                               numpy_only=numpy_only)
        with open(self.stderr_path, "ab") as err:
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=err,
                                            pass_fds=[theirs.fileno()])
        theirs.close()
        # (a pidfd, not Popen.poll: it tells a forked worker too whether the template runs)
        self._pidfd = os.pidfd_open(self.process.pid)

    def stderr_tail(self) -> str:
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()[-600:].decode(errors="replace").strip()
        except OSError:
            return ""

    def alive(self) -> bool:
        return self._pidfd >= 0 and not select.select([self._pidfd], [], [], 0)[0]

    def spawn(self, *, connection_file: str, socket_dir: str, files: str, workdir: str,
              stderr_path: str | None, kernel_options: list[str], limits: SandboxLimits,
              cgroup: cgroups.KernelCgroup) -> WarmKernelProcess:
        """Fork one kernel: ``files`` (the pristine copy) filled into ``workdir`` (a path
        below ``/tmp`` in its sandbox), ``socket_dir`` (made by :func:`new_socket_dir` in
        :attr:`socket_root`) its only host folder, under ``limits``, in ``cgroup`` before
        it runs anything.  Raises TemplateError when the template cannot."""
        if os.path.dirname(socket_dir) != self.socket_root:
            raise ValueError(f"{socket_dir} is not in the template's socket root")
        spec = {"connection_file": connection_file, "socket_root": self.socket_root,
                "socket_name": os.path.basename(socket_dir), "workdir": workdir,
                "scratch_bytes": limits.scratch_bytes, "kernel_options": kernel_options,
                "headroom": HEADROOM_BYTES,
                "limits": {"RLIMIT_AS": limits.memory_bytes, "RLIMIT_CPU": limits.cpu_seconds,
                           "RLIMIT_FSIZE": limits.file_bytes,
                           "RLIMIT_NPROC": limits.processes, "RLIMIT_CORE": 0},
                "too_big": (f"ScratchError: the submission's files do not fit in the "
                            f"kernel's scratch of {limits.scratch_bytes / 2**20:g} MB "
                            f"(raise --scratch-limit, or GradingExecute.scratch_mb)")}
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        mine.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        try:
            files_fd = os.open(files, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                stderr_fd = os.open(stderr_path or os.devnull,
                                    os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW,
                                    0o600)
                try:
                    fds = array.array("i", [theirs.fileno(), files_fd, stderr_fd])
                    with self._lock:
                        self.control.sendmsg([json.dumps(spec).encode()],
                                             [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
                finally:
                    os.close(stderr_fd)
            finally:
                os.close(files_fd)
            theirs.close()
            # the first request also waits for the template's imports
            data, ancillary = _recv(mine, START_TIMEOUT, socket.CMSG_SPACE(12))
            if data != b"hello":
                raise TemplateRefused(json.loads(data).get("refused", "refused"))
            pid = _sender_pid(ancillary)
            if pid is None:
                raise TemplateError("the kernel's launcher did not say who it is")
            pidfd = os.pidfd_open(pid)
            try:
                cgroup.add(pid)
                mine.send(b"go")
            except OSError:
                os.close(pidfd)
                raise
        except TemplateRefused:
            theirs.close()
            mine.close()
            raise
        except (OSError, ValueError, TemplateError) as err:
            theirs.close()
            mine.close()
            tail = self.stderr_tail()
            raise TemplateError(f"the kernel template could not start a kernel: {err}"
                                + (f" ({tail})" if tail else "")) from None
        return WarmKernelProcess(pid, pidfd, mine)

    def close(self) -> None:
        """Close this process's end; the process that started the template also ends it."""
        self.control.close()
        if self._pidfd >= 0:
            os.close(self._pidfd)
            self._pidfd = -1
        if os.getpid() != self.owner:
            return
        if self.process.poll() is None:
            self.process.kill()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.socket_root, ignore_errors=True)


_templates: dict[bool, KernelTemplate] = {}     # numpy_only -> this process's template
_templates_lock = threading.Lock()
_broken_at: dict[bool, float] = {}               # numpy_only -> when a template last failed
_retired: list[KernelTemplate] = []              # set aside; ended when this process exits
RETRY_AFTER = 60.0


def warm_possible() -> bool:
    """Whether kernels can be forked from a template here: Linux, root (the template's
    ``/proc`` is mounted by root, see bwrap.template_command), cgroups, not switched off."""
    if os.environ.get("POOLGRADE_COLD_KERNELS", "") not in ("", "0"):
        return False
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    group = cgroups.new_kernel_cgroup()
    if group is None:
        return False
    group.remove()
    return True


def template_for(numpy_only: bool) -> KernelTemplate | None:
    """The template for kernels of this kind (the NumPy-only kind, or the main one), started
    on first use and again if it died; None when kernels must start cold
    (:func:`warm_possible`, or a template that failed in the last minute)."""
    if os.environ.get("POOLGRADE_COLD_KERNELS", "") not in ("", "0"):
        return None
    with _templates_lock:
        template = _templates.get(numpy_only)
        if template is not None and template.alive():
            return template
        if template is not None:
            _templates.pop(numpy_only).close()
        if time.monotonic() - _broken_at.get(numpy_only, -RETRY_AFTER) < RETRY_AFTER \
                or not warm_possible():
            return None
        try:
            template = KernelTemplate(numpy_only)
        except OSError:
            _broken_at[numpy_only] = time.monotonic()
            return None
        _templates[numpy_only] = template
        return template


def failed(template: KernelTemplate) -> None:
    """``template`` could not start a kernel: stop using it for a while (kernels start cold)."""
    with _templates_lock:
        _broken_at[template.numpy_only] = time.monotonic()
        if _templates.get(template.numpy_only) is template:
            # (not ended yet: the kernel that found it broken keeps its socket folder)
            _retired.append(_templates.pop(template.numpy_only))


def start_templates() -> None:
    """Start both templates now (a grader about to fork its workers: they share them)."""
    for numpy_only in (False, True):
        template_for(numpy_only)


def close_all() -> None:
    with _templates_lock:
        for template in [*_templates.values(), *_retired]:
            template.close()
        _templates.clear()
        _retired.clear()


atexit.register(close_all)
