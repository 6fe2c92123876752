"""The OS sandbox every grading kernel runs in: bubblewrap namespaces, an unprivileged user,
resource limits and a size-limited scratch.  This module builds command lines and prepares
the few host folders a kernel touches; nothing here runs student code.

A kernel started through :func:`sandbox_command` sees a filesystem made of

- the system's ``/usr`` (with ``/bin``, ``/lib``, ``/lib64``), a few files of ``/etc``, the
  Python installation and the course's environment, all read-only;
- the ``poolkit`` package, read-only (the lessons import it), except in a NumPy-only kernel;
- the submission's files (``files``: the grader's pristine copy, never a notebook),
  read-only at their host path;
- ``/tmp``: an empty tmpfs of at most ``limits.scratch_bytes``, its only writable storage.
  Its working folder (``workdir``, below ``/tmp``; else a tmpfs of the same size of its
  own) is filled from ``files`` by the sandbox user itself before the kernel is exec'd,
  so nothing the kernel writes lands on the host disk and every kernel starts from the
  same pristine files, whatever another kernel of the same submission did to its own;
- its socket folder (connection file and ZMQ sockets), the one host folder it may write
  until :func:`close_to_sandbox` is called once the kernel is ready;
- a private ``/proc`` and a read-only minimal ``/dev`` (no writable ``/dev/shm``); the
  root of the tree is read-only too.

Nothing else exists for it: not the course folder (``.git``, ``gradebook.db``,
``solutions/``, ``submitted/``), not ``/root`` or ``/home``, not another submission, not
another kernel's scratch.  It runs in its own mount, PID, network (no interfaces but a down
loopback), IPC, UTS, cgroup and user namespaces (and cannot make more user namespaces), as
an unprivileged user with no capabilities and ``no_new_privs``, under ``prlimit`` limits on
address space, CPU time, file size and processes; it dies with the grader
(``--die-with-parent``).  A NumPy-only kernel also has torch, TensorFlow, Keras, JAX, SciPy,
scikit-image and poolkit hidden behind empty folders, so no import, ``exec`` or thread can
reach them.

The launch is two nested bubblewraps: the outer one (run by the grader, as root or not)
builds the mounts; when the grader is root, ``setpriv`` then drops to ``nobody`` and the
inner one adds the user namespace, so that the kernel is a real unprivileged user outside
too (the process limit then counts, and files it writes belong to nobody).

Grading never changes what it did not create, and never follows a path a kernel could have
changed: the pristine copy is made readable (:func:`make_readable`, through directory file
descriptors) before any kernel exists and is only ever bound read-only; no chown is needed
for the scratch, which the sandbox user fills itself; the socket folder and connection file
the grader just made are opened to the sandbox user's group through file descriptors
(:func:`open_to_sandbox`, :func:`share_with_sandbox`).  Without root the kernel is the
grader's own user mapped into a user namespace: the same sandbox, except that the socket
folder cannot be closed to it (it owns it).
"""

from __future__ import annotations

import glob
import os
import shutil
import stat
import sys
from dataclasses import dataclass

# Packages a NumPy-only kernel must not be able to import: the same rule as the visible
# check's, from the one place it is written.
from poolkit.checks.policy import BANNED_IN_NUMPY_ONLY

SANDBOX_UID = 65534      # nobody: the grader's kernels run as this user when it is root
SANDBOX_GID = 65534      # and this group (nogroup)
DEFAULT_SCRATCH_BYTES = 256 * 2**20
ETC_FILES = ("/etc/ld.so.cache", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf",
             "/etc/localtime", "/etc/hosts", "/etc/fonts")


class SandboxUnavailable(RuntimeError):
    """bubblewrap (or a namespace it needs) is missing on this machine."""


@dataclass(frozen=True)
class SandboxLimits:
    memory_bytes: int
    cpu_seconds: int
    file_bytes: int
    processes: int = 512   # threads count too: torch and TensorFlow start dozens
    scratch_bytes: int = DEFAULT_SCRATCH_BYTES   # /tmp and the working folder, together


def unavailable_reason() -> str | None:
    """None when kernels can be sandboxed here, else why not (for the error message)."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux namespaces; this is {sys.platform}"
    for tool in ("bwrap", "prlimit") + (("setpriv",) if os.geteuid() == 0 else ()):
        if shutil.which(tool) is None:
            package = {"bwrap": "bubblewrap"}.get(tool, "util-linux")
            return (f"'{tool}' is not installed (Debian/Ubuntu: apt-get install {package})")
    return None


def require_sandbox() -> None:
    reason = unavailable_reason()
    if reason is not None:
        raise SandboxUnavailable(
            f"cannot sandbox the students' kernels: {reason}. Install it, or pass "
            f"--unsandboxed to grade without a sandbox (only for code you trust: a "
            f"submission could then read the solutions and change grades).")


def _poolkit_dir() -> str:
    """The students' package, the only part of the course a kernel sees (never poolgrade)."""
    import importlib.util

    return os.path.dirname(os.path.abspath(importlib.util.find_spec("poolkit").origin))


def _python_roots() -> list[str]:
    """The folders the interpreter and the course's packages live in."""
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
             os.path.abspath(sys.prefix)}
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(r + os.sep) for r in roots):
        roots.add(os.path.dirname(os.path.dirname(exe)))
    return sorted(roots)


def _package_folders() -> list[str]:
    """The folders packages are installed in (not whatever a library put on sys.path)."""
    import site

    folders = set(site.getsitepackages())
    for root in _python_roots():
        folders.update(glob.glob(os.path.join(root, "lib", "python3*", "site-packages")))
    return sorted(os.path.realpath(f) for f in folders if os.path.isdir(f))


def hidden_packages() -> list[str]:
    """Folders (and single-file modules) of the packages a NumPy-only kernel must not see,
    in every folder packages are installed in."""
    found = []
    for folder in _package_folders():
        for entry in sorted(os.listdir(folder)):
            if _belongs_to(entry, BANNED_IN_NUMPY_ONLY):
                found.append(os.path.join(folder, entry))
    return found


def _belongs_to(entry: str, names) -> bool:
    """``torch-2.13.0.dist-info``, ``scipy.libs``, ``__editable___poolkit_finder.py`` ..."""
    stem = entry.lower().replace("-", "_")
    return any(stem == n or stem.startswith((n + ".", n + "_", f"__editable___{n}_",
                                             f"__editable__.{n}_")) for n in names)


def _dir_chain(path: str, made: set) -> list[str]:
    """``--dir`` arguments (mode 0755) for the ancestors of ``path`` not yet in ``made``:
    bubblewrap would make them 0700, which the unprivileged kernel could not enter."""
    args, parts = [], []
    for part in os.path.dirname(path).strip("/").split("/"):
        if not part:
            continue
        parts.append(part)
        folder = "/" + "/".join(parts)
        if folder not in made:
            made.add(folder)
            args += ["--perms", "0755", "--dir", folder]
    return args


def make_readable(folder: str) -> None:
    """Give everyone read access to ``folder``'s files and folders (the pristine copy, so
    that the sandbox user can copy it), through directory file descriptors: no symbolic
    link is followed and no path is looked up twice.  Call it on a folder the grader made
    and no kernel has seen; ownership is never changed."""
    for _, _, filenames, dir_fd in os.fwalk(folder, follow_symlinks=False):
        os.fchmod(dir_fd, stat.S_IMODE(os.fstat(dir_fd).st_mode) | 0o555)
        for name in filenames:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
            except OSError:   # a symbolic link (ELOOP), or a file that is gone
                continue
            try:
                mode = os.fstat(fd).st_mode
                if stat.S_ISREG(mode):
                    os.fchmod(fd, stat.S_IMODE(mode) | 0o444)
            finally:
                os.close(fd)


def _as_root() -> bool:
    return os.geteuid() == 0


def open_to_sandbox(socket_dir: str) -> None:
    """Let the sandbox user create its sockets in ``socket_dir``, a folder the grader just
    made: group ``nobody``, mode 0770, set through a descriptor.  (Without root the kernel
    runs as the grader's own user and needs nothing.)"""
    if not _as_root():
        return
    fd = os.open(socket_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchown(fd, -1, SANDBOX_GID)
        os.fchmod(fd, 0o770)
    finally:
        os.close(fd)


def share_with_sandbox(path: str) -> None:
    """Let the sandbox user read ``path``, a regular file the grader just wrote (the
    connection file): group ``nobody``, mode 0640, set through a descriptor."""
    if not _as_root():
        return
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        os.fchown(fd, -1, SANDBOX_GID)
        os.fchmod(fd, 0o640)
    finally:
        os.close(fd)


def close_to_sandbox(socket_dir: str) -> None:
    """Once the kernel has bound its sockets: it can no longer create, rename or delete
    anything in ``socket_dir`` (mode 0750), so nothing it writes reaches the host disk
    except the files the grader makes for it there.  Only possible as root."""
    if not _as_root():
        return
    fd = os.open(socket_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchmod(fd, 0o750)
    finally:
        os.close(fd)


def _below(path: str, folder: str) -> bool:
    return os.path.abspath(path).startswith(folder.rstrip("/") + "/")


# what every kernel's environment holds (bubblewrap starts from an empty one)
_ENVIRONMENT = [
    "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
    "--setenv", "LANG", "C.UTF-8", "--setenv", "TMPDIR", "/tmp",
    "--setenv", "MPLBACKEND", "Agg", "--setenv", "PYTHONNOUSERSITE", "1",
    "--setenv", "PYDEVD_DISABLE_FILE_VALIDATION", "1",
    "--setenv", "TF_ENABLE_ONEDNN_OPTS", "0", "--setenv", "TF_CPP_MIN_LOG_LEVEL", "3",
    "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "KERAS_BACKEND", "tensorflow"]


# (as root) become the unprivileged sandbox user for good, before the user namespace
_DROP_TO_SANDBOX_USER = ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_GID}",
                         "--clear-groups", "--no-new-privs", "--inh-caps=-all",
                         "--bounding-set=-all"]


def _user_namespace(disable_more: bool) -> list[str]:
    """The inner bubblewrap: a user namespace in which the sandbox user is uid 1000."""
    return ["bwrap", "--unshare-user", *(["--disable-userns"] if disable_more else []),
            "--uid", "1000", "--gid", "1000", "--dev-bind", "/", "/", "--die-with-parent",
            "--"]


def _limits_command(limits: SandboxLimits) -> list[str]:
    return ["prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",
            f"--fsize={limits.file_bytes}", f"--nproc={limits.processes}",
            "--core=0", "--"]


def _system_view(tmp_bytes: int, numpy_only: bool, proc: bool = True
                 ) -> tuple[list[str], set]:
    """The outer bubblewrap's namespaces and the read-only system every kernel sees (see
    the module docstring), and the folders made so far; ``proc=False`` leaves ``/proc``
    an empty folder (a kernel template's root mounts it, see :func:`template_command`)."""
    outer = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
             "--unshare-cgroup-try", "--die-with-parent", "--new-session",
             "--hostname", "grading", "--clearenv"]
    # /proc, a read-only /dev and /tmp first: a course or environment that lives below /tmp
    # is bound on top of it below, not hidden by it
    outer += (["--proc", "/proc"] if proc else ["--perms", "0555", "--dir", "/proc"])
    outer += ["--dev", "/dev", "--remount-ro", "/dev",
              "--perms", "01777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    outer += ["--ro-bind", "/usr", "/usr"]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = os.path.join("/", link)
        if os.path.islink(target):
            outer += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            outer += ["--ro-bind", target, target]
    made = {"/etc", "/tmp"}
    outer += ["--perms", "0755", "--dir", "/etc"]
    for path in ETC_FILES:
        if os.path.exists(path):
            outer += _dir_chain(path, made) + ["--ro-bind", path, path]
    binds = list(_python_roots())
    if not numpy_only:
        binds.append(_poolkit_dir())
    for path in binds:
        outer += _dir_chain(path, made) + ["--ro-bind", path, path]
    if numpy_only:
        # each folder that holds a banned package: an empty copy with everything else bound
        # back, so the package does not exist at all (an empty folder in its place would
        # still import, as a namespace package)
        # (poolkit's own source folder is simply not bound)
        for folder in _package_folders():
            outer += ["--tmpfs", folder]
            for entry in sorted(os.listdir(folder)):
                if not _belongs_to(entry, BANNED_IN_NUMPY_ONLY):
                    path = os.path.join(folder, entry)
                    outer += ["--ro-bind", path, path]
            outer += ["--remount-ro", folder]
    return outer, made


def sandbox_command(cmd: list[str], *, files: str, workdir: str, limits: SandboxLimits,
                    sockets: str | None = None, numpy_only: bool = False) -> list[str]:
    """``cmd`` wrapped so that it runs in the sandbox described in the module docstring.

    ``files``: the submission's files (a host folder, bound read-only); ``workdir``: the
    path of the kernel's working folder inside the sandbox, a fresh copy of ``files`` that
    only this kernel sees; ``sockets``: the kernel's socket folder on the host, bound
    writable at the same path (see :func:`open_to_sandbox`).
    """
    size = str(limits.scratch_bytes)
    outer, made = _system_view(limits.scratch_bytes, numpy_only)
    outer += _dir_chain(files, made) + ["--ro-bind", files, files]
    if sockets is not None:
        outer += _dir_chain(sockets, made) + ["--bind", sockets, sockets]
    # the working folder shares /tmp's size limit; elsewhere it is a tmpfs of that size
    # (0777: in the root case bubblewrap makes it as root, the kernel runs as nobody)
    outer += _dir_chain(workdir, made)
    outer += (["--perms", "0777", "--dir", workdir] if _below(workdir, "/tmp")
              else ["--perms", "0777", "--size", size, "--tmpfs", workdir])
    outer += ["--remount-ro", "/", "--chdir", workdir]
    outer += _ENVIRONMENT
    limits_cmd = _limits_command(limits)
    # the sandbox user copies the pristine files into its own scratch, then becomes the
    # kernel (HOME is the empty /tmp: no handed-in IPython profile runs at start-up)
    too_big = (f"ScratchError: the submission's files do not fit in the kernel's scratch "
               f"of {limits.scratch_bytes / 2**20:g} MB (raise --scratch-limit, or "
               f"GradingExecute.scratch_mb)")
    fill = ["sh", "-c", 'cp -R -- "$0/." "$1" || { echo "$2" >&2; exit 1; }; '
            'cd "$1" && shift 2 && exec "$@"', files, workdir, too_big]
    if _as_root():
        return outer + ["--"] + _DROP_TO_SANDBOX_USER + _user_namespace(disable_more=True) \
            + limits_cmd + fill + cmd
    outer[1:1] = ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
    return outer + ["--"] + limits_cmd + fill + cmd


TEMPLATE_SERVER_PATH = "/run/kernel-template/server.py"   # where a template sees its script
TEMPLATE_TMP_BYTES = 64 * 2**20    # the template's own /tmp (matplotlib's font cache)


def template_command(cmd: list[str], *, server: str, socket_root: str,
                     numpy_only: bool) -> list[str]:
    """``cmd`` (``python -P <server> ...``) wrapped to run as a kernel template
    (:mod:`poolgrade.sandbox.templates`): the system view and environment of a kernel
    (:func:`sandbox_command`), no submission, and ``socket_root`` (a folder only root can
    list) bound writable, where each forked kernel finds its socket folder.  ``server`` is
    bound read-only at :data:`TEMPLATE_SERVER_PATH`; ``cmd`` may name either path.  The
    template has no resource limits: each fork sets its kernel's before anything else.

    Two differences let each fork make namespaces of its own (which needs root: raises
    :class:`SandboxUnavailable` otherwise).  Its user namespace may make one more level
    of user namespaces, which each fork then closes for itself before any student code
    runs.  And ``/proc`` is mounted by root inside the outer sandbox, without the
    read-only covers bubblewrap's ``--proc`` adds: the OS lets a user namespace mount a
    ``/proc`` of its own only where one is fully visible.  The covers guard against
    writes that need privileges no kernel has (``/proc/sys`` is root's; kernels run as
    ``nobody`` with no capabilities)."""
    if not _as_root():
        raise SandboxUnavailable("kernel templates need root")
    outer, made = _system_view(TEMPLATE_TMP_BYTES, numpy_only, proc=False)
    outer += _dir_chain(TEMPLATE_SERVER_PATH, made) + ["--ro-bind", server,
                                                       TEMPLATE_SERVER_PATH]
    outer += _dir_chain(socket_root, made) + ["--bind", socket_root, socket_root]
    outer += ["--remount-ro", "/", "--chdir", "/tmp", "--cap-add", "CAP_SYS_ADMIN"]
    outer += _ENVIRONMENT
    mount_proc = ["sh", "-c", 'mount -t proc -o nosuid,nodev,noexec proc /proc && exec "$@"',
                  "mount-proc"]
    cmd = [TEMPLATE_SERVER_PATH if part == server else part for part in cmd]
    return outer + ["--"] + mount_proc + _DROP_TO_SANDBOX_USER \
        + _user_namespace(disable_more=False) + cmd
