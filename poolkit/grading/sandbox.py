"""The OS sandbox every grading kernel runs in: bubblewrap namespaces, an unprivileged user
and resource limits.  This module only builds command lines; nothing here runs student code.

A kernel started through :func:`sandbox_command` sees a filesystem made of

- the system's ``/usr`` (with ``/bin``, ``/lib``, ``/lib64``), a few files of ``/etc``, the
  Python installation and the course's environment, all read-only;
- the ``poolkit`` package, read-only (the lessons import it), except in a NumPy-only kernel;
- its scratch folder (its working folder: the submission's files, never a notebook) and its
  socket folder, the only places it can write;
- an empty ``/tmp``, a private ``/proc`` and a minimal ``/dev``.

Nothing else exists for it: not the course folder (``.git``, ``gradebook.db``,
``solutions/``, ``submitted/``), not ``/root`` or ``/home``, not another submission.  It runs
in its own mount, PID, network (no interfaces but a down loopback), IPC, UTS and user
namespaces, as an unprivileged user with no capabilities and ``no_new_privs``, under
``prlimit`` limits on address space, CPU time, file size and processes; it dies with the
grader (``--die-with-parent``).  A NumPy-only kernel also has torch, TensorFlow, Keras,
JAX, SciPy, scikit-image and poolkit hidden behind empty folders, so no import, ``exec`` or
thread can reach them.

The launch is two nested bubblewraps: the outer one (run by the grader, as root or not)
builds the mounts; when the grader is root, ``setpriv`` then drops to ``nobody`` and the
inner one adds the user namespace, so that the kernel is a real unprivileged user outside
too (the process limit then counts, and files it writes belong to nobody).
"""

from __future__ import annotations

import glob
import os
import shutil
import sys
from dataclasses import dataclass

# Packages a NumPy-only kernel must not be able to import, by their import names.
BANNED_IN_NUMPY_ONLY = ("torch", "torchgen", "functorch", "tensorflow", "tensorboard",
                        "keras", "tf_keras", "jax", "jaxlib", "scipy", "skimage", "sklearn",
                        "poolkit")
SANDBOX_UID = 65534      # nobody: the grader's kernels run as this user when it is root
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
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def _give_to_sandbox_user(folder: str) -> None:
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            os.lchown(os.path.join(dirpath, name), SANDBOX_UID, SANDBOX_UID)
    os.chown(folder, SANDBOX_UID, SANDBOX_UID)


def sandbox_command(cmd: list[str], *, writable: list[str], limits: SandboxLimits,
                    numpy_only: bool = False, cwd: str | None = None) -> list[str]:
    """``cmd`` wrapped so that it runs in the sandbox described in the module docstring.

    ``writable``: folders the kernel may write (its scratch and socket folders), bound at
    the same paths; the first is its working folder unless ``cwd`` says otherwise.  They
    must already exist; when the grader is root they are handed to ``nobody`` here.
    """
    outer = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
             "--unshare-cgroup-try", "--die-with-parent", "--new-session",
             "--hostname", "grading", "--clearenv"]
    # /proc, /dev and an empty /tmp first: a course or environment that lives below /tmp is
    # bound on top of it below, not hidden by it
    outer += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
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
    for path in writable:
        outer += _dir_chain(path, made) + ["--bind", path, path]
    outer += ["--chdir", cwd or writable[0]]
    outer += ["--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", writable[0],
              "--setenv", "LANG", "C.UTF-8", "--setenv", "TMPDIR", "/tmp",
              "--setenv", "MPLBACKEND", "Agg", "--setenv", "PYTHONNOUSERSITE", "1",
              "--setenv", "PYDEVD_DISABLE_FILE_VALIDATION", "1",
              "--setenv", "TF_ENABLE_ONEDNN_OPTS", "0", "--setenv", "TF_CPP_MIN_LOG_LEVEL", "3",
              "--setenv", "OMP_NUM_THREADS", "1", "--setenv", "KERAS_BACKEND", "tensorflow"]
    limits_cmd = ["prlimit", f"--as={limits.memory_bytes}", f"--cpu={limits.cpu_seconds}",
                  f"--fsize={limits.file_bytes}", f"--nproc={limits.processes}",
                  "--core=0", "--"]
    if os.geteuid() == 0:
        for path in writable:   # (the connection file in it is the grader's, 0600)
            _give_to_sandbox_user(path)
        drop = ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}",
                "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
        inner = ["bwrap", "--unshare-user", "--uid", "1000", "--gid", "1000",
                 "--dev-bind", "/", "/", "--die-with-parent", "--"]
        return outer + ["--"] + drop + inner + limits_cmd + cmd
    outer[1:1] = ["--unshare-user", "--cap-drop", "ALL"]
    return outer + ["--"] + limits_cmd + cmd
