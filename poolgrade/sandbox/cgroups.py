"""One control group per grading kernel: its CPU time as the OS counts it, and nothing of it
left running once it is gone.

The kernel's launcher moves itself into a fresh cgroup and only then execs bubblewrap
(:meth:`KernelCgroup.launch`), so every process the kernel ever has is born in that
cgroup: threads, children whose SIGCHLD is ignored (reaped at once, so their time never
reaches any parent's ``cutime``), orphans, and processes killed in the middle of a call.
The cgroup's CPU counter only grows, whatever happens to the processes.

- cgroup v2 is preferred: every cgroup has ``cpu.stat`` (``usage_usec``), with or without
  the cpu controller, and ``cgroup.kill`` ends every straggler at once.  On a pure v2
  machine it is mounted at ``/sys/fs/cgroup``; in hybrid mode at ``/sys/fs/cgroup/unified``.
- otherwise the v1 ``cpuacct`` hierarchy (``cpuacct.usage``, in nanoseconds).

The kernel's cgroup is made below the grader's own cgroup in that hierarchy, which takes
write access there (root, or a delegated subtree); where none can be made,
:func:`new_kernel_cgroup` returns None and the caller falls back to a weaker count.  A
sandboxed kernel cannot leave its cgroup: it sees no ``/sys``, has no capabilities, lives
in its own cgroup namespace and cannot create user namespaces.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import shutil
import signal
import time
import weakref

PREFIX = "poolkit-kernel-"          # + "<grader pid>-<n>"
_numbers = itertools.count()


def _unescape(field: str) -> str:
    """A path field of /proc/self/mountinfo (spaces and such are written as \\040)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(mount point, root inside the hierarchy, file system type, super options) of every
    cgroup file system this process can see."""
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return found
    for line in lines:
        head, _, tail = line.partition(" - ")
        fields, after = head.split(), tail.split()
        if len(fields) < 5 or len(after) < 3 or after[0] not in ("cgroup", "cgroup2"):
            continue
        found.append((_unescape(fields[4]), _unescape(fields[3]), after[0],
                      set(after[2].split(","))))
    return found


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup per hierarchy: ``""`` for v2, ``"cpuacct"`` etc. for v1."""
    own = {}
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return own
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        for name in controllers.split(",") if controllers else [""]:
            own[name] = path
    return own


def _folder(mount_point: str, mount_root: str, path: str) -> str | None:
    """Where cgroup ``path`` is under a mount of its hierarchy (None: not below it)."""
    root = mount_root.rstrip("/")
    if path != root and not path.startswith(root + "/"):
        return None
    return os.path.join(mount_point, path[len(root):].lstrip("/"))


def _candidate_parents() -> list[tuple[int, str]]:
    """(version, folder of this process's own cgroup): v2 first, then v1 cpuacct."""
    own = _own_cgroups()
    v2, v1 = [], []
    for point, root, fstype, options in _mounts():
        if fstype == "cgroup2" and "" in own:
            folder = _folder(point, root, own[""])
            if folder:
                v2.append((2, folder))
        elif fstype == "cgroup" and "cpuacct" in options and "cpuacct" in own:
            folder = _folder(point, root, own["cpuacct"])
            if folder:
                v1.append((1, folder))
    return v2 + v1


class KernelCgroup:
    """The cgroup of one kernel: made by :func:`new_kernel_cgroup`, removed by :meth:`remove`
    (or when the grader exits)."""

    def __init__(self, version: int, path: str):
        self.version, self.path = version, path
        self._finalizer = weakref.finalize(self, _remove, version, path)

    def launch(self, cmd: list[str]) -> list[str]:
        """``cmd`` run by a shell that first moves itself into this cgroup, then execs it
        (same process): what ``cmd`` starts is counted here from its first instruction.
        If the move fails, nothing runs."""
        shell = shutil.which("sh") or "/bin/sh"
        return [shell, "-c", 'echo $$ > "$0" && exec "$@"',
                os.path.join(self.path, "cgroup.procs"), *cmd]

    def add(self, pid: int) -> None:
        """Move process ``pid`` (stopped before it runs anything of its own: a warm
        kernel's launcher, see :mod:`poolgrade.sandbox.templates`) into this cgroup; what
        it starts from then on is born here.  Raises OSError if it cannot."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def cpu_seconds(self) -> float | None:
        """CPU seconds (user and system) every process that was ever in this cgroup has
        used; None when it cannot be read (the cgroup is gone)."""
        try:
            if self.version == 2:
                with open(os.path.join(self.path, "cpu.stat")) as f:
                    for line in f:
                        key, _, value = line.partition(" ")
                        if key == "usage_usec":
                            return int(value) / 1e6
                return None
            with open(os.path.join(self.path, "cpuacct.usage")) as f:
                return int(f.read()) / 1e9
        except (OSError, ValueError):
            return None

    def remove(self) -> None:
        """Kill whatever still runs in the cgroup and remove it (idempotent)."""
        self._finalizer()


def _remove(version: int, path: str, patience: float = 5.0) -> None:
    """Kill the cgroup's processes, wait for them to be gone, remove it.  Gives up quietly
    after ``patience`` seconds (a later :func:`new_kernel_cgroup` removes it when empty)."""
    killed = False
    if version == 2:
        try:
            with open(os.path.join(path, "cgroup.kill"), "w") as f:
                f.write("1")
            killed = True
        except OSError:   # gone already, or a kernel older than 5.14
            pass
    end = time.monotonic() + patience
    while True:
        if not killed:
            _kill_members(path)
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as err:
            if err.errno != errno.EBUSY or time.monotonic() > end:
                return
        time.sleep(0.02)   # the OS is still tearing the killed processes down


def _kill_members(path: str) -> None:
    """SIGKILL each process of the cgroup through a pidfd, after checking that the process
    the pidfd holds is in the cgroup (a pid read from cgroup.procs may have been reused)."""
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            pids = [int(p) for p in f.read().split()]
    except (OSError, ValueError):
        return
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            continue
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                still = str(pid) in f.read().split()
            if still:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
        except OSError:
            pass
        finally:
            os.close(fd)


def _remove_stale(parent: str) -> None:
    """Empty kernel cgroups left by grader processes that died before removing them."""
    with contextlib.suppress(OSError):
        for name in os.listdir(parent):
            match = re.fullmatch(re.escape(PREFIX) + r"(\d+)-\d+", name)
            if not match or int(match.group(1)) == os.getpid():
                continue
            try:
                os.kill(int(match.group(1)), 0)
                continue            # its grader still runs
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(parent, name))   # fails while anything runs in it


def new_kernel_cgroup() -> KernelCgroup | None:
    """A fresh cgroup for one kernel below this process's own, or None where none can be
    made (not root, no cgroup file system, no CPU accounting)."""
    for version, parent in _candidate_parents():
        if not os.access(os.path.join(parent, "cgroup.procs"), os.W_OK):
            continue   # a process could not be moved out of the parent into the child
        _remove_stale(parent)
        path = os.path.join(parent, f"{PREFIX}{os.getpid()}-{next(_numbers)}")
        try:
            os.mkdir(path)
        except OSError:
            continue
        group = KernelCgroup(version, path)
        if group.cpu_seconds() is not None \
                and os.access(os.path.join(path, "cgroup.procs"), os.W_OK):
            return group
        group.remove()
    return None
