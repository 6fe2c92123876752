"""Sandboxed kernels for grading, and calling a student's function in one.

- :class:`SandboxedKernelManager` (async, for nbclient) and :class:`SandboxedBlockingKernelManager`
  start ``ipykernel`` inside :func:`poolgrade.sandbox.bwrap.sandbox_command`.  One kernel,
  one set of folders (:meth:`~_Sandboxed.setup_folders`): its own scratch, a fresh copy of
  the submission's pristine files that no other kernel sees (a restarted kernel starts from
  the pristine files again), and its own socket folder.  The kernel talks to the grader over
  Unix sockets in that folder (its network namespace has no interfaces); once it is ready
  the grader closes the folder to it (:meth:`~_Sandboxed.lock_socket_dir`).  It is
  interrupted by a control message (a signal would stop at bubblewrap), and starts with
  ``python -P`` and ``ignore_cwd`` so that a handed-in ``numpy.py`` in its working folder
  does not shadow a real module.
- Each kernel gets its own cgroup (:mod:`poolgrade.sandbox.cgroups`) when the grader may make
  one (as root): :func:`kernel_cpu_seconds` reads the CPU time of every process the kernel
  ever had from it, and the cgroup ends whatever is left of the kernel when it is shut
  down.  Elsewhere it falls back to the kernel's process tree read from /proc, which a
  student can dodge (see the README's Security section).
- :class:`KernelCaller` sends one call through :mod:`poolgrade.sandbox.channel` and waits for
  the reply within the call's time limit; a kernel that ignores the interrupt is lost.
- :class:`NumpyOnlyKernel` is the second kernel, in which only NumPy exists, for test cells
  that check the NumPy-only rule; it runs the notebook's code cells up to the test cell
  first, so the student's functions are defined as they would be at that point.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time

from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import AsyncKernelManager, KernelManager
from jupyter_client.utils import run_sync
from traitlets import Any, Bool, HasTraits, Unicode

from poolgrade.execution import test_cells as harness
from poolgrade.execution.test_cells import CallTimeout, KernelLost, StudentRaised
from poolgrade.sandbox import cgroups, channel, templates
from poolgrade.sandbox.bwrap import (
    SandboxLimits,
    close_to_sandbox,
    open_to_sandbox,
    sandbox_command,
    share_with_sandbox,
)

KERNEL_OPTIONS = ["--HistoryManager.hist_file=:memory:", "--InteractiveShell.xmode=Minimal",
                  "--IPKernelApp.ignore_cwd=True"]
INTERRUPT_GRACE = 5.0   # seconds a kernel gets to stop after an interrupt


def isolated_python(cmd: list[str]) -> list[str]:
    """``python -m ipykernel_launcher ...`` with ``-P``: the working folder is not on sys.path."""
    if len(cmd) > 1 and os.path.basename(cmd[0]).startswith("python") and "-P" not in cmd:
        return [cmd[0], "-P", *cmd[1:]]
    return list(cmd)


class _Sandboxed(HasTraits):
    """What both kernel managers add: the sandbox, its folders, its cgroup, Unix sockets,
    message interrupts."""

    files = Unicode("")                   # the submission's pristine files (read-only)
    workdir = Unicode("")                 # this kernel's own scratch (its working folder)
    limits = Any()                        # SandboxLimits
    numpy_only = Bool(False)
    unsandboxed = Bool(False)
    stderr_path = Unicode("")
    cgroup = Any(None)                    # cgroups.KernelCgroup, or None
    template = Any(None)                  # templates.KernelTemplate: a warm kernel, or None

    def setup_folders(self, files: str, run_dir: str) -> None:
        """This kernel's own socket folder and scratch, in ``run_dir``; its scratch starts
        as a copy of ``files``, made when the kernel starts.  Call :meth:`use_template`
        first for a warm kernel (its socket folder is then in the template's root)."""
        socket_dir = new_socket_dir(self.template.socket_root if self.template else run_dir)
        self.transport = "ipc"
        self.connection_file = os.path.join(socket_dir, "kernel.json")
        self.ip = os.path.join(socket_dir, "k")
        self.files = files
        # on the host an empty placeholder (the sandbox puts a tmpfs copy at this path);
        # an unsandboxed kernel gets a real copy here when it starts
        self.workdir = tempfile.mkdtemp(prefix="work-", dir=run_dir)

    @property
    def socket_dir(self) -> str:
        return os.path.dirname(self.connection_file)

    def use_template(self) -> None:
        """Fork this kernel from a warm template when this machine allows it (see
        :mod:`poolgrade.sandbox.templates`); else it starts cold.  Set :attr:`numpy_only`
        and :attr:`unsandboxed` first."""
        if not self.unsandboxed:
            self.template = templates.template_for(self.numpy_only)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = isolated_python(super().format_kernel_cmd(extra_arguments))
        cmd += [opt for opt in KERNEL_OPTIONS if opt not in cmd]
        if self.template is not None:
            # nothing is executed: _launch_warm forks the kernel from the template
            open_to_sandbox(self.socket_dir)
            share_with_sandbox(self.connection_file)
            self.release_cgroup()
            self.cgroup = cgroups.new_kernel_cgroup()
            return cmd
        if self.unsandboxed:
            shutil.copytree(self.files, self.workdir, symlinks=True, dirs_exist_ok=True)
        else:
            open_to_sandbox(self.socket_dir)
            share_with_sandbox(self.connection_file)
            cmd = sandbox_command(cmd, files=self.files, workdir=self.workdir,
                                  sockets=self.socket_dir, limits=self.limits,
                                  numpy_only=self.numpy_only)
        self.release_cgroup()   # (a restart: the old kernel is gone)
        self.cgroup = cgroups.new_kernel_cgroup()
        return cmd if self.cgroup is None else self.cgroup.launch(cmd)

    def _launch_warm(self) -> list[str] | None:
        """Fork the kernel from :attr:`template` and give jupyter_client its handle: None.
        If the template cannot, it is set aside (:func:`templates.failed`) and this kernel
        starts cold: the sandboxed command to run instead."""
        if self.cgroup is None:
            raise RuntimeError("a warm kernel needs a cgroup of its own, and none could be made")
        # its scratch is the tmpfs on its /tmp: the host path when that is below /tmp
        workdir = self.workdir if self.workdir.startswith("/tmp/") else "/tmp/work"
        try:
            process = self.template.spawn(
                connection_file=self.connection_file, socket_dir=self.socket_dir,
                files=self.files, workdir=workdir, stderr_path=self.stderr_path or None,
                kernel_options=KERNEL_OPTIONS, limits=self.limits, cgroup=self.cgroup)
        except templates.TemplateError as err:
            if not isinstance(err, templates.TemplateRefused):
                self.log.warning("starting the kernel cold: %s", err)
                templates.failed(self.template)
            self.template = None
            return self.format_kernel_cmd()
        provisioner = self.provisioner
        provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, None
        self._reconcile_connection_info(provisioner.connection_info)
        return None

    def lock_socket_dir(self) -> None:
        """Call once the kernel is ready (its sockets are bound): from then on it can create
        nothing in its socket folder (see sandbox.close_to_sandbox)."""
        if not self.unsandboxed:
            close_to_sandbox(self.socket_dir)

    def release_cgroup(self) -> None:
        """End whatever is left of the kernel and remove its cgroup (idempotent)."""
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        self.release_cgroup()
        if self.template is not None and not restart:
            shutil.rmtree(self.socket_dir, ignore_errors=True)   # (in the template's root)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self.template is not None:
            kernel_cmd = self._launch_warm()
            if kernel_cmd is None:
                return
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    def _message_interrupts(self):
        spec = self.kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"


class SandboxedKernelManager(_Sandboxed, AsyncKernelManager):
    # (jupyter_client binds cleanup_resources to its own coroutine, not to the override)
    cleanup_resources = _Sandboxed._async_cleanup_resources

    async def _async_pre_start_kernel(self, **kw):
        self._message_interrupts()
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        return cmd, kw

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        # the kernel's own stderr ("Fatal Python error", a killed process) goes to a file
        # the grader reads when the kernel dies
        if self.stderr_path:
            kw["stderr"] = open(self.stderr_path, "ab")  # noqa: SIM115 (the child owns it)
        kw["stdout"] = subprocess.DEVNULL    # ipykernel's start-up banner
        try:
            return await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            if "stderr" in kw:
                kw["stderr"].close()


class SandboxedBlockingKernelManager(_Sandboxed, KernelManager):
    cleanup_resources = run_sync(_Sandboxed._async_cleanup_resources)

    def pre_start_kernel(self, **kw):
        self._message_interrupts()
        return super().pre_start_kernel(**kw)



def process_tree_cpu_seconds(root: int | None) -> float | None:
    """CPU seconds (user and system, threads and reaped children included) used so far by
    process ``root`` and every process below it, read from /proc; None if ``root`` is gone.
    In the sandbox the tree holds all of a kernel's work: bubblewrap's own init adopts and
    reaps any process that leaves its parent."""
    if root is None:
        return None
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                text = f.read()
        except OSError:   # the process ended meanwhile
            continue
        # fields after the command name (which may hold spaces and parentheses)
        fields = text[text.rindex(")") + 2:].split()
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        ticks[pid] = sum(int(v) for v in fields[11:15])   # utime stime cutime cstime
    if root not in ticks:
        return None
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


def kernel_cpu_seconds(km) -> float | None:
    """CPU seconds (user and system) used so far by every process of ``km``'s kernel, for a
    caller to read before and after a call; None when it cannot be read (the kernel is gone).

    With a cgroup (:mod:`.cgroups`) the count covers every process the kernel ever had,
    including children reaped with SIGCHLD ignored and processes killed meanwhile, and it
    never decreases.  Without one it is :func:`process_tree_cpu_seconds`, which misses
    such children and drops a killed process's time (a difference can then be negative)."""
    group = getattr(km, "cgroup", None)
    if group is not None:
        return group.cpu_seconds()
    return process_tree_cpu_seconds(getattr(getattr(km, "provisioner", None), "pid", None))


def is_alive(km) -> bool:
    """Whether the kernel process runs (for the async manager too, without an event loop)."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    return process is not None and process.poll() is None


def new_socket_dir(parent: str) -> str:
    """A fresh folder for one kernel's sockets and connection file."""
    return tempfile.mkdtemp(prefix="sockets-", dir=parent)


class KernelCaller:
    """Calls a student's functions in one running kernel, through the data-only channel."""

    def __init__(self, km):
        self.km = km
        self.kc = BlockingKernelClient()
        self.kc.load_connection_info(km.get_connection_info())
        self.kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=True)

    def close(self) -> None:
        try:
            self.kc.stop_channels()
        except Exception:  # already closed with its kernel
            pass

    def execute(self, code: str, timeout: float) -> dict:
        """Run ``code`` in the kernel; the execute reply's content (its status, never data:
        results come back through the channel's reply file).  A run past ``timeout`` is
        interrupted (CallTimeout); a kernel that does not stop, or dies, is KernelLost."""
        msg_id = self.kc.execute(code, silent=True, store_history=False,
                                 user_expressions={}, allow_stdin=False)
        reply = self._reply(msg_id, timeout)
        if reply is not None:
            return reply["content"]
        self.interrupt()
        if self._reply(msg_id, INTERRUPT_GRACE) is None:
            raise KernelLost("the kernel did not stop after an interrupt")
        raise CallTimeout(f"did not finish within {timeout:g} s")

    def _reply(self, msg_id: str, timeout: float):
        end = time.monotonic() + timeout
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                return None
            if not is_alive(self.km):
                raise KernelLost("the kernel died")
            try:
                msg = self.kc.get_shell_msg(timeout=min(remaining, 0.5))
            except Exception:  # queue.Empty: nothing yet
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg

    def interrupt(self) -> None:
        self.kc.control_channel.send(self.kc.session.msg("interrupt_request", content={}))

    def __call__(self, function: str, args: tuple, kwargs: dict, limit: float):
        """Call ``function`` in the kernel: its result as fresh data, or an exception."""
        call = channel.prepare_call(function, args, kwargs,
                                    os.path.dirname(self.km.connection_file))
        try:
            meter = harness.cpu_meter()
            before = kernel_cpu_seconds(self.km) if meter is not None else None
            try:
                content = self.execute(call.code, limit)
            finally:
                if meter is not None:
                    after = kernel_cpu_seconds(self.km) if before is not None else None
                    meter.add(None if after is None or before is None else after - before)
            if content.get("status") != "ok":
                raise StudentRaised("ChannelError", "the kernel could not run the grader's "
                                    "call (was the notebook's namespace or NumPy replaced?)")
            try:
                reply = call.read_reply()
            except channel.ChannelError as err:
                raise StudentRaised("ChannelError", f"the result of {function} could not be "
                                    f"read as data: {err}") from None
        finally:
            call.remove()
        if "result" in reply:
            return reply["result"]
        if "missing" in reply:
            raise StudentRaised("NameError", f"name '{function}' is not defined (run the "
                                "exercise's cell)")
        type_name, message = reply["raised"]
        raise StudentRaised(type_name[:100], message[:2000])


class NumpyOnlyKernel:
    """The NumPy-only kernel of one notebook: started on first use, it runs ``import numpy as
    np`` and then the code cells each test cell that needs it asks for (those that define
    what it calls, :func:`poolgrade.execution.cell_deps.cells_to_run`), each once, in
    notebook order.  Errors in those cells are ignored (a cell that imports torch fails
    here)."""

    PREAMBLE = "import numpy as np"

    def __init__(self, *, files: str, run_dir: str, limits: SandboxLimits,
                 cell_timeout: float, unsandboxed: bool, kernel_name: str = "python3",
                 max_starts: int = 3):
        # every start gets its own scratch, copied from ``files``: nothing the main kernel
        # (torch, poolkit) or an earlier start of this one wrote is visible here, and the
        # hidden inputs this kernel sees stay in its own scratch
        self.files, self.run_dir, self.limits = files, run_dir, limits
        self.cell_timeout, self.unsandboxed = cell_timeout, unsandboxed
        self.kernel_name, self.max_starts = kernel_name, max_starts
        self.km = None
        self.caller = None
        self.ran: dict[int, str] = {}   # index -> source of the cells this start has run
        self.running: int | None = None
        self.starts = 0
        self.restarts = 0      # starts made to keep notebook order, not after a death
        self.skip: set[int] = set()   # cells that killed or hung this kernel

    def _start(self) -> None:
        self.starts += 1
        km = SandboxedBlockingKernelManager(kernel_name=self.kernel_name)
        km.limits = self.limits
        km.numpy_only = True
        km.unsandboxed = self.unsandboxed
        km.use_template()
        km.setup_folders(self.files, self.run_dir)
        self.km = km
        km.start_kernel(cwd=km.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.caller = KernelCaller(km)
        self.caller.kc.wait_for_ready(timeout=60)
        km.lock_socket_dir()
        self.ran = {}
        try:
            self.caller.execute(self.PREAMBLE, self.cell_timeout)
        except CallTimeout:
            raise KernelLost("the NumPy-only kernel did not import NumPy in time") from None

    def close(self) -> None:
        if self.caller is not None:
            self.caller.close()
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            except Exception:  # already gone
                pass
            self.km.cleanup_resources()
            self.km.release_cgroup()
        self.km = self.caller = None

    def ready_for(self, cells: list[tuple[int, str]], index: int) -> KernelCaller:
        """The caller, after running the code cells ``cells`` ((index, source), in notebook
        order) that come before ``index`` and this kernel has not run yet.  A cell that
        comes before one already run is run late only when that gives the same names
        (:func:`~poolgrade.execution.cell_deps.can_run_late`); else the kernel starts again
        and runs both in order.  Raises KernelLost when the kernel cannot be (re)started."""
        from poolgrade.execution.cell_deps import can_run_late

        wanted = dict((i, source) for i, source in cells if i < index)
        while True:
            if self.caller is None or not is_alive(self.km):
                if self.starts - self.restarts >= self.max_starts:
                    raise KernelLost("the NumPy-only kernel died too often")
                self.close()
                self._start()
            todo = sorted((i, s) for i, s in wanted.items()
                          if i not in self.ran and i not in self.skip)
            if any(not can_run_late(s, [later for j, later in self.ran.items() if j > i])
                   for i, s in todo if any(j > i for j in self.ran)):
                wanted.update(self.ran)
                self.restarts += 1
                self.close()
                continue
            try:
                for i, source in todo:
                    self.ran[i] = source
                    self.running = i
                    try:
                        reply = self.caller.execute(source, self.cell_timeout)
                    except CallTimeout:
                        continue   # interrupted: a cell too slow to matter here
                    if reply.get("ename") == "MemoryError":
                        # whatever filled the memory may still hold it: start again without
                        raise KernelLost("a cell ran out of memory")
                self.running = None
                return self.caller
            except KernelLost:
                self.skip.add(self.running)
                self.running = None
                self.close()
