"""A local JupyterHub for a demo class of the pooling course (``make hub``).

Run as root from the repository (``poolgrade hub <action>`` is the same), with any python3:

    python3 -m poolgrade.authoring.hub env     # only the environment and the proxy
    python3 -m poolgrade.authoring.hub setup   # environment, proxy, accounts, exchange
    python3 -m poolgrade.authoring.hub start [--port N]   # setup, then run the hub
    python3 -m poolgrade.authoring.hub stop    # stop the hub, its proxy and every server
    python3 -m poolgrade.authoring.hub reset   # stop, then remove accounts, exchange, state

What ``setup`` makes (idempotent; a second run only refreshes what changed):

* ``/opt/pooling-hub/venv``: the user environment every server and kernel runs in, built
  from exactly ``requirements.lock`` (no resolver) plus poolkit and the exchange
  (``hub/exchange``), never poolgrade: students' servers and kernels cannot import the
  grader.  The repository's own
  ``.venv`` cannot serve other users: its interpreter is a link into ``/root/.pyenv`` and
  ``/root`` is mode 700.  So the venv's base is the Python running this script when every
  user can reach it, else a copy of it in ``/opt/pooling-hub/python`` (see
  ``base_python``).
  poolkit is installed as a copy (not editable), so students need no access to the
  repository and its ``solutions/``.
* ``<state>/poolgrade``: poolgrade alone (``pip install --target``), readable by root and
  the instructor's group only, and put on the instructor's ``PYTHONPATH`` and ``PATH`` by
  the hub (``instructor_env``): the formgrader's ``nbgrader autograde`` and
  ``poolgrade grade`` need it; nothing else does.
* ``/opt/pooling-hub/proxy``: configurable-http-proxy from npm (``hub/proxy``, ``npm ci``).
* Accounts (real local users, PAM passwords, homes mode 700): ``<prefix>-instructor``,
  ``<prefix>-student1``, ``<prefix>-student2``, and ``<prefix>-nohome``, an account whose
  home folder is missing (its server cannot start: the hub says why).  Passwords are random
  and kept in ``<state>/passwords.json`` (root only); ``start`` prints them.
* The nbgrader exchange ``/srv/nbgrader/exchange`` (mode 1777, as nbgrader documents) for
  the course id ``pooling-layers``.  Submissions are made private to the student and the
  instructor's group (``pooling_exchange.PrivateSubmit``, ``hub/exchange``).
* The instructor's course folder ``~<prefix>-instructor/pooling-layers``: a copy of
  ``nbgrader_config.py`` and ``solutions/`` (the formgrader's course directory).
* Per-role Jupyter config in ``<state>/etc``: students get the Assignments tab without
  the formgrader and the assignment-creation tools; the instructor gets the formgrader on
  the course folder.

``--instance test`` (used by ``tests/e2e/test_hub.py``) makes a separate class (accounts
``pt-*``, exchange ``/srv/nbgrader/exchange-test``, its own state) so the test never
touches a demo class.  Only the standard library is used: run it with any ``python3``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]   # the course repository
HUB_HOME = Path(os.environ.get("POOLKIT_HUB_HOME", "/opt/pooling-hub"))
VENV = HUB_HOME / "venv"
PROXY_DIR = HUB_HOME / "proxy"
PYTHON_COPY = HUB_HOME / "python"
COURSE_ID = "pooling-layers"
COURSE_FOLDER = "pooling-layers"   # in the instructor's home
TF_QUIET = {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}


@dataclass(frozen=True)
class Instance:
    """One class on this machine: its accounts, exchange and hub state."""

    name: str = "demo"

    @property
    def prefix(self) -> str:
        return "pool" if self.name == "demo" else "pt"

    @property
    def instructor(self) -> str:
        return f"{self.prefix}-instructor"

    @property
    def students(self) -> list[str]:
        return [f"{self.prefix}-student1", f"{self.prefix}-student2"]

    @property
    def broken(self) -> str:
        """An account whose home folder is missing: its server cannot start."""
        return f"{self.prefix}-nohome"

    @property
    def users(self) -> list[str]:
        return [self.instructor, *self.students, self.broken]

    @property
    def exchange(self) -> Path:
        return Path("/srv/nbgrader/exchange" if self.name == "demo"
                    else f"/srv/nbgrader/exchange-{self.name}")

    @property
    def state(self) -> Path:
        return HUB_HOME / self.name

    @property
    def etc(self) -> Path:
        return self.state / "etc"

    @property
    def instructor_lib(self) -> Path:
        """poolgrade for the instructor only (on their PYTHONPATH)."""
        return self.state / "poolgrade"

    @property
    def course_dir(self) -> Path:
        return Path("/home") / self.instructor / COURSE_FOLDER

    def passwords(self) -> dict:
        path = self.state / "passwords.json"
        return json.loads(path.read_text()) if path.exists() else {}


def log(msg: str) -> None:
    print(f"[hub] {msg}", flush=True)


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def _pristine(folder: Path, *parts: str) -> Path:
    """A copy of ``parts`` of ``folder`` in a new temporary folder, without build leftovers.
    pip builds a non-editable install in the source folder, and setuptools puts whatever an
    earlier build left in ``build/lib`` into the wheel: files since removed would come back.
    """
    import tempfile

    copy = Path(tempfile.mkdtemp(prefix="pooling-hub-src-")) / folder.name
    copy.mkdir()
    skip = shutil.ignore_patterns("build", "*.egg-info", "__pycache__", "*.pyc")
    for part in parts:
        if skip(str(folder), [part]):
            continue
        source = folder / part
        if source.is_dir():
            shutil.copytree(source, copy / part, ignore=skip)
        else:
            shutil.copy2(source, copy / part)
    return copy


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for base in paths:
        files = [base] if base.is_file() else sorted(
            p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for p in files:
            h.update(str(p.relative_to(ROOT)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _stamped(stamp: Path, digest: str) -> bool:
    return stamp.exists() and stamp.read_text() == digest


# --------------------------------------------------------------------------- setup steps


def _world_readable(path: Path) -> bool:
    """Every folder from / down to ``path`` can be entered by other users."""
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def _patch_runpath(elf: Path, old: bytes, new: bytes) -> bool:
    """Replace the run-time library path ``old`` by ``new`` in an ELF file's .dynstr
    (what ``patchelf --set-rpath`` does when the new path is not longer)."""
    import struct

    data = bytearray(elf.read_bytes())
    if data[:4] != b"\x7fELF" or data[4] != 2:      # 64-bit ELF only
        return False
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    sections = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_off = sections[shstrndx][4]
    for name, _type, _flags, _addr, offset, size in sections:
        end = data.index(b"\0", names_off + name)
        if data[names_off + name:end] == b".dynstr":
            chunk = bytes(data[offset:offset + size])
            if old + b"\0" not in chunk:
                return False
            chunk = chunk.replace(old + b"\0", new + b"\0" * (len(old) - len(new) + 1))
            data[offset:offset + size] = chunk
            elf.write_bytes(data)
            return True
    return False


def base_python() -> Path:
    """An interpreter every user can run: the one running this script when its folders are
    open to all (or POOLKIT_HUB_PYTHON), else a copy of it in /opt/pooling-hub/python.

    The repository's .venv links to pyenv's Python in /root (mode 700), and that Python's
    binaries find libpython through an absolute run path into /root: the copy gets
    ``$ORIGIN``-relative run paths instead.  Debian's python3.11 (3.11.2) is too old for the
    lock (soupsieve 4 needs 3.11.5 or later)."""
    if os.environ.get("POOLKIT_HUB_PYTHON"):
        return Path(os.environ["POOLKIT_HUB_PYTHON"])
    prefix = Path(sys.base_prefix).resolve()
    exe = prefix / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if _world_readable(exe):
        return exe
    target = PYTHON_COPY / "bin" / exe.name
    stamp = PYTHON_COPY / ".source"
    if target.exists() and _stamped(stamp, f"{prefix} {sys.version}"):
        return target
    log(f"copying the base Python {prefix} to {PYTHON_COPY} (readable by the class)")
    shutil.rmtree(PYTHON_COPY, ignore_errors=True)
    stdlib = prefix / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"

    def skip(folder, names):   # the interpreter and its standard library, not its packages
        return [n for n in names if n == "__pycache__"
                or (Path(folder) == stdlib and n in ("site-packages", "test"))]

    shutil.copytree(prefix, PYTHON_COPY, symlinks=True, ignore=skip)
    (PYTHON_COPY / stdlib.relative_to(prefix) / "site-packages").mkdir(exist_ok=True)
    old = str(prefix / "lib").encode()
    for elf in [target, *PYTHON_COPY.glob("lib/libpython*.so*"),
                *PYTHON_COPY.glob("lib/python3*/lib-dynload/*.so")]:
        if elf.is_file() and not elf.is_symlink():
            rel = os.path.relpath(PYTHON_COPY / "lib", elf.parent)
            _patch_runpath(elf, old, b"$ORIGIN" if rel == "." else f"$ORIGIN/{rel}".encode())
    subprocess.run(["chmod", "-R", "a+rX", PYTHON_COPY], check=True)
    stamp.write_text(f"{prefix} {sys.version}")
    return target


def setup_venv() -> None:
    """The shared user environment, from the same lock as the repository's .venv."""
    HUB_HOME.mkdir(parents=True, exist_ok=True)
    HUB_HOME.chmod(0o755)
    py = VENV / "bin" / "python"
    base = base_python()
    deps = _digest(ROOT / "poolkit" / "pyproject.toml", ROOT / "requirements.lock") + str(base)
    if not _stamped(VENV / ".deps", deps):
        log(f"building {VENV} from requirements.lock (first time: a few minutes)")
        shutil.rmtree(VENV, ignore_errors=True)
        run([base, "-m", "venv", VENV])
        run([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        # Exactly the lock, with no resolver: resolving pyproject's ranges afresh, pip may
        # backtrack to PyPI's torch of the pinned version and its CUDA libraries.  The lock
        # is a freeze of the course's environment, so it is complete.
        run([py, "-m", "pip", "install", "--quiet", "--no-deps", "-r",
             ROOT / "requirements.lock"])
        run([py, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3",
             "--display-name", "Python 3 (pooling course)"], stdout=subprocess.DEVNULL)
        (VENV / ".deps").write_text(deps)
    # Only what students use: poolkit and the exchange's submit step.  The lock (a freeze
    # of the instructor's environment) holds no poolgrade, so none comes with it.
    user_packages = (ROOT / "poolkit", ROOT / "hub" / "exchange")
    code = _digest(*user_packages)
    if not _stamped(VENV / ".poolkit", code):
        log("installing the current poolkit and exchange into the hub environment")
        copies = [_pristine(p, *(c.name for c in p.iterdir())) for p in user_packages]
        try:
            run([py, "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall",
                 *copies])
        finally:
            for copy in copies:
                shutil.rmtree(copy.parent, ignore_errors=True)
        (VENV / ".poolkit").write_text(code)


def setup_instructor_lib(inst: Instance) -> None:
    """poolgrade (the grader) in its own folder that only the instructor's group can read;
    the hub puts it on the instructor's paths (:func:`instructor_env`)."""
    lib = inst.instructor_lib
    code = _digest(ROOT / "pyproject.toml", ROOT / "poolgrade")
    if not _stamped(inst.state / ".poolgrade", code):
        log(f"installing poolgrade for {inst.instructor} into {lib}")
        shutil.rmtree(lib, ignore_errors=True)
        copy = _pristine(ROOT, "pyproject.toml", "README.md", "poolgrade")
        try:
            run([VENV / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-deps",
                 "--target", lib, copy])
        finally:
            shutil.rmtree(copy.parent, ignore_errors=True)
        (inst.state / ".poolgrade").write_text(code)
    group = pwd.getpwnam(inst.instructor).pw_gid
    run(["chown", "-R", f"root:{group}", lib])
    run(["chmod", "-R", "u=rwX,g=rX,o=", lib])


def instructor_env(inst: Instance) -> dict:
    """What the instructor's server, kernels and shell add to reach poolgrade."""
    lib = inst.instructor_lib
    return {"PYTHONPATH": str(lib), "PATH": f"{lib / 'bin'}{os.pathsep}{VENV / 'bin'}"}


def setup_proxy() -> None:
    """configurable-http-proxy from npm, at the version hub/proxy/package-lock.json pins."""
    src = ROOT / "hub" / "proxy"
    digest = _digest(src / "package.json", src / "package-lock.json")
    chp = PROXY_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
    if chp.exists() and _stamped(PROXY_DIR / ".stamp", digest):
        return
    if not shutil.which("npm") or not shutil.which("node"):
        sys.exit("node and npm are needed for the hub's proxy: apt-get install nodejs npm")
    log("installing configurable-http-proxy with npm ci")
    PROXY_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(src / name, PROXY_DIR / name)
    run(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PROXY_DIR)
    (PROXY_DIR / ".stamp").write_text(digest)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def setup_users(inst: Instance) -> None:
    inst.state.mkdir(parents=True, exist_ok=True)
    inst.state.chmod(0o711)
    passwords = inst.passwords()
    for user in inst.users:
        if not _user_exists(user):
            log(f"creating account {user}")
            home = ["-M", "-d", f"/home/{user}"] if user == inst.broken else ["-m"]
            run(["useradd", *home, "-s", "/bin/bash", "-c", f"pooling course {inst.name}", user])
        if user != inst.broken:
            home = Path(pwd.getpwnam(user).pw_dir)
            home.chmod(0o700)   # Debian's useradd makes 0755: classmates could read each other
        passwords.setdefault(user, secrets.token_urlsafe(12))
        subprocess.run(["chpasswd"], input=f"{user}:{passwords[user]}\n", text=True, check=True)
    path = inst.state / "passwords.json"
    path.write_text(json.dumps(passwords, indent=1))
    path.chmod(0o600)


def setup_exchange(inst: Instance) -> None:
    inst.exchange.mkdir(parents=True, exist_ok=True)
    inst.exchange.parent.chmod(0o755)
    inst.exchange.chmod(0o1777)   # nbgrader's documented mode, plus the sticky bit


def setup_course(inst: Instance) -> None:
    """The instructor's course folder: the nbgrader config and the instructor notebooks."""
    user = pwd.getpwnam(inst.instructor)
    course = inst.course_dir
    if not (course / "nbgrader_config.py").exists():
        log(f"copying the course to {course}")
        course.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        shutil.copytree(ROOT / "solutions", course / "solutions", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", course])
    course.chmod(0o700)


def setup_config(inst: Instance) -> None:
    """Jupyter config per role: JUPYTER_CONFIG_PATH=<etc>/<role>:<etc>/common."""
    common, student, instructor = (inst.etc / r for r in ("common", "student", "instructor"))
    for d in (common, student / "labconfig", instructor):
        d.mkdir(parents=True, exist_ok=True)
    (common / "nbgrader_config.py").write_text(f'''# written by poolgrade.authoring.hub setup
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "{COURSE_ID}"
c.Exchange.root = "{inst.exchange}"
# Submissions readable by the student and the instructor's group only (nbgrader's own are
# world-readable under an unlisted, random name).
c.ExchangeFactory.submit = "pooling_exchange.PrivateSubmit"
''')
    (instructor / "nbgrader_config.py").write_text(f'''# written by poolgrade.authoring.hub setup
c = get_config()  # noqa: F821
c.CourseDirectory.root = "{inst.course_dir}"
''')
    disabled = {f"@jupyter/nbgrader:{ext}": True
                for ext in ("formgrader", "create-assignment", "course-list")}
    (student / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": disabled}, indent=1))
    (student / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {
        "jpserver_extensions": {"nbgrader.server_extensions.formgrader": False,
                                "nbgrader.server_extensions.course_list": False}}}, indent=1))
    for d in inst.etc.rglob("*"):
        d.chmod(0o755 if d.is_dir() else 0o644)
    inst.etc.chmod(0o755)
    settings = {"instance": inst.name, "root": str(ROOT), "venv": str(VENV),
                "proxy": str(PROXY_DIR / "node_modules" / ".bin" / "configurable-http-proxy"),
                "state": str(inst.state), "etc": str(inst.etc), "exchange": str(inst.exchange),
                "instructor": inst.instructor, "students": inst.students,
                "broken": inst.broken, "course_dir": str(inst.course_dir),
                "instructor_env": instructor_env(inst)}
    (inst.state / "settings.json").write_text(json.dumps(settings, indent=1))


def setup_env(inst: Instance | None = None) -> None:
    if os.geteuid() != 0:
        sys.exit("the demo hub needs root: it creates local users and runs their servers")
    setup_venv()
    setup_proxy()


def setup(inst: Instance) -> None:
    setup_env()
    setup_users(inst)
    setup_instructor_lib(inst)
    setup_exchange(inst)
    setup_course(inst)
    setup_config(inst)


# --------------------------------------------------------------------------- run and stop


def hub_command(inst: Instance, port: int, hub_port: int, api_port: int) -> list[str]:
    return [str(VENV / "bin" / "jupyterhub"), "-f", str(ROOT / "hub" / "jupyterhub_config.py"),
            f"--JupyterHub.bind_url=http://127.0.0.1:{port}",
            f"--JupyterHub.hub_bind_url=http://127.0.0.1:{hub_port}",
            f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}"]


def hub_env(inst: Instance) -> dict:
    env = dict(os.environ, POOLKIT_HUB_SETTINGS=str(inst.state / "settings.json"), **TF_QUIET)
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _pids_of(uids: set[int]) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    pids.append(int(entry.name))
            except FileNotFoundError:
                pass
    return pids


def _signal(pids, sig) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop(inst: Instance) -> None:
    """The hub (pid file), its proxy (pid file), then every process of the class's accounts."""
    for name in ("jupyterhub.pid", "proxy.pid"):
        path = inst.state / name
        if path.exists():
            try:
                _signal([int(path.read_text().strip())], signal.SIGTERM)
            except ValueError:
                pass
            path.unlink(missing_ok=True)
    uids = {pwd.getpwnam(u).pw_uid for u in inst.users if _user_exists(u)}
    pids = _pids_of(uids)
    _signal(pids, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while (pids := _pids_of(uids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    _signal(pids, signal.SIGKILL)
    log(f"stopped the {inst.name} hub and its users' servers")


def reset(inst: Instance) -> None:
    """Stop, then remove the accounts (with their homes), the exchange and the hub state."""
    if os.geteuid() != 0:
        sys.exit("reset needs root")
    stop(inst)
    for user in inst.users:
        if _user_exists(user):
            subprocess.run(["userdel", "-r", user], stderr=subprocess.DEVNULL)
            shutil.rmtree(f"/home/{user}", ignore_errors=True)
    shutil.rmtree(inst.exchange, ignore_errors=True)
    shutil.rmtree(inst.state, ignore_errors=True)
    log(f"reset the {inst.name} class (the environment in {VENV} is kept)")


def start(inst: Instance, port: int) -> None:
    setup(inst)
    pw = inst.passwords()
    cmd = hub_command(inst, port, port + 1, port + 2)
    print(f"\nThe {inst.name} class: http://127.0.0.1:{port}/  (Ctrl-C stops the hub; "
          "`make hub-stop` also stops the users' servers)\n")
    print(f"  instructor (formgrader): {inst.instructor:<18} password {pw[inst.instructor]}")
    for s in inst.students:
        print(f"  student (Assignments):   {s:<18} password {pw[s]}")
    print(f"  server cannot start:     {inst.broken:<18} password {pw[inst.broken]}")
    print(f"  passwords: {inst.state / 'passwords.json'}\n", flush=True)
    os.execve(cmd[0], cmd, hub_env(inst))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["env", "setup", "start", "stop", "reset"])
    parser.add_argument("--instance", default="demo", choices=["demo", "test"])
    parser.add_argument("--port", type=int, default=8000,
                        help="the hub's address is 127.0.0.1:PORT; it also uses PORT+1, PORT+2")
    args = parser.parse_args(argv)
    inst = Instance(args.instance)
    actions = {"env": setup_env, "setup": setup, "stop": stop, "reset": reset,
               "start": lambda i: start(i, args.port)}
    actions[args.action](inst)


if __name__ == "__main__":
    main()
