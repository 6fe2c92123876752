"""Run one submission's notebooks: a fresh sandboxed kernel each, in a scratch folder.

This is the part of grading that runs in worker processes (local or on a Dask cluster). It gets
notebooks that nbgrader has already sanitized (tests restored from the gradebook) and returns
them executed, with what went wrong listed as ``events``. Execution is nbgrader's own ``Execute``
preprocessor (so ``c.Execute.*`` settings in ``nbgrader_config.py`` apply) with these additions:

- the kernel starts through :mod:`poolkit.grading.sandbox` (memory, CPU, files, network);
- the kernel's working folder is a fresh scratch copy holding the submission's own files and
  the assignment's data files, never a notebook;
- a cell that kills the kernel (``os._exit``, a segfault, running out of memory) or ignores the
  interrupt after its timeout is marked failed, and the notebook is run again in a new kernel
  without it, so the other exercises keep their points;
- a wall-clock limit for the whole submission: cells that would start after it are not run;
- outputs are capped per cell (an endless ``print`` cannot fill the worker's memory); error
  and stderr outputs are shortened but never dropped, because nbgrader grades by them.

Everything heavy is imported inside functions so that importing the grading package is cheap.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from .model import Event, Limits

_SANDBOX_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox.py")
# Processes a kernel may start: exact argv lists, "{python}" standing for the kernel's
# interpreter. poolkit.checks runs its reference implementation in a fresh process so that
# a student's monkeypatching cannot reach it.
TRUSTED_COMMANDS = [
    ["{python}", "-I", "-c", "import poolkit.checks as c; c._oracle_main()"],
]
TRUNCATION_NOTE = "\n[... the grader removed {dropped:,} more bytes of output from this cell ...]\n"


@dataclass
class SubmissionTask:
    """Everything a worker needs to run one submission (picklable, no paths into the course
    except ``deny``, which only tells the sandbox what to refuse)."""

    student: str
    assignment: str
    notebooks: list[tuple[str, str]]          # (notebook name, sanitized notebook JSON)
    files: dict[str, bytes]                   # relative path -> content for the scratch folder
    limits: Limits
    execute_config: dict = field(default_factory=dict)  # c.Execute.* from the course config
    deny: list[str] = field(default_factory=list)


@dataclass
class SubmissionRun:
    student: str
    notebooks: list[tuple[str, str]]          # (notebook name, executed notebook JSON)
    events: list[Event]
    seconds: float
    worker: str


def run_submission(task: SubmissionTask) -> SubmissionRun:
    """Execute every notebook of ``task``; never raises for anything the student's code does."""
    start = time.monotonic()
    deadline = start + task.limits.submission_timeout
    events: list[Event] = []
    results = []
    # Every submission's folders live under one base folder, which the sandbox denies as a
    # whole (except the submission's own scratch): no peeking at a neighbour's files.
    base = os.path.join(tempfile.gettempdir(), "poolkit-grade")
    os.makedirs(base, mode=0o700, exist_ok=True)
    run_root = tempfile.mkdtemp(dir=base)
    try:
        scratch = os.path.join(run_root, "scratch")
        private = os.path.join(run_root, "private")
        os.makedirs(private, mode=0o700)
        _write_files(scratch, task.files)
        for name, source in task.notebooks:
            executed = _execute_notebook(name, source, task, scratch, private, deadline, events)
            results.append((name, executed))
    finally:
        shutil.rmtree(run_root, ignore_errors=True)
    return SubmissionRun(task.student, results, events, time.monotonic() - start,
                         f"{os.uname().nodename}:{os.getpid()}")


def _write_files(scratch: str, files: dict[str, bytes]) -> None:
    os.makedirs(scratch, exist_ok=True)
    for rel, content in files.items():
        path = os.path.normpath(os.path.join(scratch, rel))
        if not path.startswith(scratch + os.sep):
            continue  # a path that climbs out of the scratch folder is ignored
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)


def _execute_notebook(name, source, task, scratch, private, deadline, events):
    import nbformat

    # Plain JSON both ways: the parent has validated the notebook, and nbformat's schema
    # check costs more than a small notebook's own cells.
    nb = nbformat.from_dict(json.loads(source))
    report = os.path.join(private, f"{name}.violations.jsonl")
    policy = {
        "memory_bytes": task.limits.memory_mb * 2**20,
        "cpu_seconds": task.limits.submission_timeout + 30,
        "file_bytes": task.limits.max_file_mb * 2**20,
        "allow": [scratch],
        "deny": [os.path.dirname(os.path.dirname(scratch)), *task.deny,
                 _jupyter_runtime_dir()],
        "report": report,
        "trusted_commands": TRUSTED_COMMANDS,
    }
    policy_path = os.path.join(private, f"{name}.policy.json")
    with open(policy_path, "w") as f:
        json.dump(policy, f)

    executor = _make_executor(task, policy_path, private, deadline)
    resources = {"metadata": {"path": scratch},
                 "nbgrader": {"notebook": name, "assignment": task.assignment,
                              "student": task.student}}
    nb, _ = executor.run(nb, resources)
    for event in executor.events:
        event.notebook = name
        events.append(event)
    events.extend(_read_violations(report, name))
    return json.dumps(nb)


def _jupyter_runtime_dir() -> str:
    from jupyter_core.paths import jupyter_runtime_dir

    return jupyter_runtime_dir()


def _read_violations(path: str, notebook: str) -> list[Event]:
    events: list[Event] = []
    seen = set()
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return events
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        key = (item.get("kind"), item.get("detail"))
        if key in seen:
            continue
        seen.add(key)
        events.append(Event("blocked", f"blocked {item.get('kind')}: {item.get('detail')}",
                            notebook=notebook))
    return events


_EXECUTOR_CLASS = None


def _executor_class():
    """Build the Execute subclass once per process (nbgrader is imported lazily)."""
    global _EXECUTOR_CLASS
    if _EXECUTOR_CLASS is not None:
        return _EXECUTOR_CLASS

    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbformat.v4 import new_output
    from nbgrader.preprocessors import Execute
    from traitlets import Float, Integer, Unicode

    class ForkingProvisioner(LocalProvisioner):
        """LocalProvisioner whose kernel process is forked by this worker's zygote (see
        :func:`poolkit.grading.sandbox.serve_zygote`) instead of started from scratch; falls
        back to a normal start if the zygote is not available."""

        async def launch_kernel(self, cmd, **kwargs):
            km = self.parent
            zygote = _zygote()
            if zygote is None or _SANDBOX_SCRIPT not in cmd:
                return await super().launch_kernel(cmd, **kwargs)
            env = dict(kwargs.get("env") or os.environ)
            argv = cmd[cmd.index(_SANDBOX_SCRIPT) + 1:]
            pid = zygote.spawn(argv, kwargs.get("cwd") or os.getcwd(), env,
                               km.stderr_path or os.devnull)
            if pid is None:
                return await super().launch_kernel(cmd, **kwargs)
            self.process = ForkedKernel(pid, zygote)
            self.pid, self.pgid = pid, pid  # the child starts its own session
            self.cwd = kwargs.get("cwd") or os.getcwd()
            return self.connection_info

    class SandboxedKernelManager(AsyncKernelManager):
        """Starts the kernel through poolkit.grading.sandbox with the policy file."""

        policy_path = Unicode("").tag(config=True)

        stderr_path = Unicode("").tag(config=True)

        async def _async_pre_start_kernel(self, **kw):
            cmd, kw = await super()._async_pre_start_kernel(**kw)
            if type(self.provisioner) is LocalProvisioner:
                self.provisioner.__class__ = ForkingProvisioner
            return cmd, kw

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # The kernel process's own stderr (start-up chatter, "Fatal Python error" on a
            # segfault) goes to a file the grader reads when the kernel dies.
            if self.stderr_path and _zygote() is None:
                kw["stderr"] = open(self.stderr_path, "ab")  # noqa: SIM115 (the child owns it)
            try:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                if "stderr" in kw:
                    kw["stderr"].close()

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            return sandboxed_command(cmd, self.policy_path) if self.policy_path else cmd

    class KernelLost(Exception):
        def __init__(self, index, reason):
            super().__init__(reason)
            self.index, self.reason = index, reason

    class GradingExecute(Execute):
        """nbgrader's Execute, made to survive whatever a submission does."""

        deadline = Float(0.0)
        wall_limit = Float(0.0)
        max_output_bytes = Integer(100_000)
        max_restarts = Integer(2)

        def run(self, nb, resources):
            """Execute ``nb``; returns (nb, resources) and fills ``self.events``."""
            self.events: list[Event] = []
            self.failed_cells: dict[int, str] = {}   # cell index -> why it is not run again
            template = nb
            for attempt in range(self.max_restarts + 1):
                work = _copy_nb(template)
                try:
                    nb, resources = self.preprocess(work, resources)
                    return nb, resources
                except KernelLost as lost:
                    nb = self.nb
                    if lost.index is None:
                        # not the submission's doing (the machine, the limits): the grader
                        # reports an error, so that a rerun tries this submission again
                        self.events.append(Event("error", lost.reason))
                    if lost.index is None or attempt == self.max_restarts \
                            or time.monotonic() >= self.deadline:
                        self._fail_rest(nb, lost.index, lost.reason)
                        return nb, resources
                    self.failed_cells[lost.index] = lost.reason
            return nb, resources

        def preprocess(self, nb, resources, km=None):
            from nbclient import NotebookClient

            NotebookClient.__init__(self, nb, km)
            self.reset_execution_trackers()
            self._check_assign_resources(resources)
            self._out_bytes: dict[int, int] = {}
            self._dropped: dict[int, int] = {}
            self._truncated_streams: set[tuple[int, str]] = set()
            self._running = None
            try:
                with self.setup_kernel():
                    watchdog = self._start_watchdog()
                    try:
                        info = self.wait_for_reply(self.kc.kernel_info())
                        self.nb.metadata["language_info"] = info["content"]["language_info"]
                        for index, cell in enumerate(self.nb.cells):
                            self._run_cell(cell, resources, index)
                    except DeadKernelError:
                        # still inside setup_kernel: the process and its exit code are there
                        raise KernelLost(self._running, self._death_reason()) from None
                    finally:
                        watchdog.cancel()
            except KernelLost:
                raise
            except DeadKernelError:
                raise KernelLost(self._running, self._death_reason()) from None
            except RuntimeError as err:  # kernel did not start, or died while starting
                if self._running is None:
                    raise KernelLost(None, f"the kernel could not start: {err}") from None
                raise KernelLost(self._running, self._death_reason()) from None
            self.set_widgets_metadata()
            return self.nb, self.resources

        def _run_cell(self, cell, resources, index):
            if cell.cell_type != "code" or not cell.source.strip():
                return
            if index in self.failed_cells:
                cell.outputs = [_error_output("CellNotRun", self.failed_cells[index])]
                return
            if time.monotonic() >= self.deadline:
                reason = (f"not run: the submission used up its wall-clock limit of "
                          f"{self.limits_text()}")
                cell.outputs = [_error_output("SubmissionTimeout", reason)]
                if not any(e.kind == "wall_clock" for e in self.events):
                    self.events.append(Event("wall_clock", f"stopped at cell {index}: "
                                             f"wall-clock limit {self.limits_text()}",
                                             cell=index, grade_id=_grade_id(cell)))
                return
            self._running = index
            try:
                self.preprocess_cell(cell, resources, index)
            except CellTimeoutError:
                # the interrupt did not stop the cell: the kernel is stuck in it
                self.events.append(Event("timeout", f"cell {index} ignored the interrupt after "
                                         f"its {self.timeout} s timeout", cell=index,
                                         grade_id=_grade_id(cell)))
                raise KernelLost(index, f"not run: this cell did not stop after its "
                                        f"{self.timeout} s timeout") from None
            self._running = None  # left set when the kernel dies: _death_reason names the cell
            self._after_cell(cell, index)
            if any(o.get("ename") == "MemoryError" for o in cell.outputs):
                # Whatever filled the memory may still hold it and starve every later cell:
                # run the notebook again in a fresh kernel without this cell.
                raise KernelLost(index, "not run: this cell ran out of the memory limit")

        def limits_text(self):
            return f"{self.wall_limit:g} s"

        def _after_cell(self, cell, index):
            dropped = self._dropped.get(index, 0)
            if dropped:
                cell.outputs.append(new_output("stream", name="stdout",
                                               text=TRUNCATION_NOTE.format(dropped=dropped)))
                self.events.append(Event("output_truncated", f"cell {index} printed "
                                         f"{dropped + self.max_output_bytes:,} bytes; kept "
                                         f"{self.max_output_bytes:,}", cell=index,
                                         grade_id=_grade_id(cell)))
            for out in cell.outputs:
                if out.output_type != "error":
                    continue
                if out.ename == "CellTimeoutError" and getattr(self, "_cut_by_deadline", False):
                    self.events.append(Event("wall_clock", f"cell {index} was stopped at the "
                                             "submission's wall-clock limit of "
                                             f"{self.limits_text()}", cell=index,
                                             grade_id=_grade_id(cell)))
                elif out.ename == "CellTimeoutError":
                    self.events.append(Event("timeout", f"cell {index} was stopped after its "
                                             f"{self.timeout} s timeout", cell=index,
                                             grade_id=_grade_id(cell)))
                elif out.ename == "MemoryError":
                    self.events.append(Event("memory", f"cell {index} ran out of memory "
                                             "(limit per submission reached)", cell=index,
                                             grade_id=_grade_id(cell)))

        def output(self, outs, msg, display_id, cell_index):
            size = _message_size(msg)
            used = self._out_bytes.get(cell_index, 0)
            budget = self.max_output_bytes - used
            if size <= budget:
                self._out_bytes[cell_index] = used + size
                return super().output(outs, msg, display_id, cell_index)
            # Over budget: shorten, but never drop what nbgrader grades on (errors, stderr,
            # the cell's result), and stop storing anything else.
            self._out_bytes[cell_index] = self.max_output_bytes
            self._dropped[cell_index] = self._dropped.get(cell_index, 0) + size - max(budget, 0)
            msg_type = msg["msg_type"]
            content = msg["content"]
            if msg_type == "error":
                content["evalue"] = _shorten(content.get("evalue", ""), 2000)
                content["traceback"] = [_shorten(line, 2000)
                                        for line in content.get("traceback", [])[-20:]]
                return super().output(outs, msg, display_id, cell_index)
            if msg_type == "execute_result":
                # nbgrader reads partial credit from it: keep it, with only a short text
                text = content.get("data", {}).get("text/plain", "")
                content["data"] = {"text/plain": _shorten(text, 2000)}
                return super().output(outs, msg, display_id, cell_index)
            if msg_type == "stream":
                key = (cell_index, content.get("name"))
                if key in self._truncated_streams:
                    return None
                self._truncated_streams.add(key)
                content["text"] = content.get("text", "")[:max(budget, 0)]
                return super().output(outs, msg, display_id, cell_index)
            return None

        def _start_watchdog(self):
            """Kill the kernel process once the wall-clock limit is well past (a cell that
            ignores its interrupt would otherwise hold the worker)."""
            pid = None
            try:
                pid = self.km.provisioner.process.pid
            except AttributeError:
                pass
            delay = max(1.0, self.deadline - time.monotonic() + 5.0)

            def kill():
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass

            timer = threading.Timer(delay, kill)
            timer.daemon = True
            timer.start()
            return timer

        def _death_reason(self):
            code = None
            try:
                process = self.km.provisioner.process
                code = process.poll()
                if code is None:  # just died: give the OS a moment to report it
                    code = process.wait(timeout=2)
            except Exception:  # no process object, or it is still running
                pass
            index = self._running
            if time.monotonic() >= self.deadline:
                why = "the submission's wall-clock limit was reached"
            elif code is not None and code < 0:
                try:
                    why = f"the kernel was killed by {signal.Signals(-code).name}"
                except ValueError:
                    why = f"the kernel was killed by signal {-code}"
            elif code is not None:
                why = f"the kernel exited with code {code}"
            else:
                why = "the kernel died"
            last = _last_error_line(self.km.stderr_path if self.km is not None else "")
            if last:
                why += f" ({last})"
            cell = self.nb.cells[index] if index is not None else None
            self.events.append(Event("wall_clock" if "wall-clock" in why else "kernel_died",
                                     f"{why} while running cell {index}", cell=index,
                                     grade_id=_grade_id(cell) if cell is not None else None))
            return f"not run: {why} in this cell"

        def _fail_rest(self, nb, index, reason):
            """After the last try: the failing cell and every cell after it get an error."""
            start = index if index is not None else 0
            for i, cell in enumerate(nb.cells):
                if cell.cell_type == "code" and i >= start and cell.source.strip():
                    if i == start or not cell.get("outputs"):
                        cell.outputs = [_error_output(
                            "CellNotRun", reason if i == start else
                            "not run: the kernel was lost earlier in this notebook")]

        def timeout_func_for(self, cell):
            """The cell's timeout, cut short by the submission's wall-clock limit."""
            remaining = self.deadline - time.monotonic()
            self._cut_by_deadline = bool(self.timeout) and remaining < self.timeout
            return max(1, math.ceil(min(self.timeout or remaining, remaining)))

    def _error_output(ename, evalue):
        return new_output("error", ename=ename, evalue=evalue,
                          traceback=[f"{ename}: {evalue}"])

    _EXECUTOR_CLASS = (GradingExecute, SandboxedKernelManager)
    return _EXECUTOR_CLASS


def sandboxed_command(cmd: list[str], policy_path: str) -> list[str]:
    """The kernel command ``python [options] -m ipykernel_launcher ARGS`` turned into
    ``python [options] sandbox.py POLICY -m ipykernel_launcher ARGS``.

    Refuses (ValueError) any other kernel command: a kernel the sandbox cannot wrap must not
    run a submission unguarded.
    """
    for i in range(1, len(cmd) - 1):
        if cmd[i] == "-m" and cmd[i + 1] == "ipykernel_launcher":
            return [*cmd[:i], _SANDBOX_SCRIPT, policy_path, *cmd[i:]]
    raise ValueError(f"the kernel command {cmd!r} does not start ipykernel_launcher; poolkit "
                     "grade only runs submissions in an IPython kernel it can sandbox")


class ForkedKernel:
    """What jupyter_client needs of a ``Popen`` for a kernel the zygote forked: the zygote
    is its parent, so the exit code comes from the zygote; signals go straight to it."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, zygote):
        self.pid, self.zygote, self.returncode = pid, zygote, None

    def poll(self):
        if self.returncode is None:
            self.returncode = self.zygote.poll(self.pid)
        return self.returncode

    def wait(self, timeout=None):
        import subprocess

        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class Zygote:
    """This worker's kernel forker (one per worker process, started on first use)."""

    def __init__(self):
        import atexit
        import subprocess
        from multiprocessing import util

        self.process = subprocess.Popen(
            [sys.executable, _SANDBOX_SCRIPT, "--zygote"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.lock = threading.Lock()
        # worker processes of a pool end through multiprocessing's finalizers, others atexit
        util.Finalize(self, self.close, exitpriority=10)
        atexit.register(self.close)

    def close(self):
        """Stop the zygote and wait for it (and so for the kernels it reaped)."""
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except Exception:  # already gone, or stuck: do not hold up the worker's exit
                self.process.kill()

    def _ask(self, request: dict):
        with self.lock:
            if self.process.poll() is not None:
                raise OSError("the kernel zygote has exited")
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        if not line:
            raise OSError("the kernel zygote did not answer")
        return json.loads(line)

    def spawn(self, argv, cwd, env, stderr_path):
        try:
            return self._ask({"op": "spawn", "argv": list(argv), "cwd": cwd, "env": env,
                              "stderr": stderr_path})["pid"]
        except (OSError, ValueError, KeyError):
            return None

    def poll(self, pid):
        try:
            return self._ask({"op": "poll", "pid": pid})["returncode"]
        except (OSError, ValueError, KeyError):
            return -1  # the zygote is gone, and its children with it


_ZYGOTE: Zygote | None = None
USE_ZYGOTE = sys.platform.startswith("linux") and os.environ.get("POOLKIT_GRADE_ZYGOTE") != "0"


def _zygote() -> Zygote | None:
    """The worker's zygote, started on first use (None where fork is not used)."""
    global _ZYGOTE
    if not USE_ZYGOTE:
        return None
    if _ZYGOTE is None or _ZYGOTE.process.poll() is not None:
        try:
            _ZYGOTE = Zygote()
        except OSError:
            return None
    return _ZYGOTE


def _make_executor(task, policy_path, private, deadline):
    from traitlets.config import Config

    GradingExecute, SandboxedKernelManager = _executor_class()
    config = Config()
    for key, value in task.execute_config.items():
        config.Execute[key] = value
    config.Execute.timeout = task.limits.cell_timeout
    extra = list(task.execute_config.get("extra_arguments", []))
    for arg in ("--HistoryManager.hist_file=:memory:", "--InteractiveShell.xmode=Minimal"):
        key = arg.split("=")[0]
        if not any(a.startswith(key) for a in extra):
            extra.append(arg)
    config.Execute.extra_arguments = extra
    config.SandboxedKernelManager.policy_path = policy_path
    config.SandboxedKernelManager.stderr_path = policy_path.replace(".policy.json", ".stderr.log")
    executor = GradingExecute(config=config)
    executor.kernel_manager_class = SandboxedKernelManager
    executor.deadline = deadline
    executor.max_output_bytes = task.limits.max_output_bytes
    executor.max_restarts = task.limits.max_restarts
    executor.shutdown_kernel = "immediate"
    executor.timeout_func = executor.timeout_func_for
    executor.wall_limit = task.limits.submission_timeout
    return executor


def _last_error_line(path: str) -> str:
    """The kernel's last words on stderr, e.g. 'Fatal Python error: Segmentation fault'."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if "Fatal Python error" in line or "Error" in line.split(":")[0]:
            return line.strip()[:200]
    return ""


def _copy_nb(nb):
    import copy

    return copy.deepcopy(nb)


def _grade_id(cell):
    if cell is None:
        return None
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _message_size(msg) -> int:
    content = msg.get("content", {})
    if msg["msg_type"] == "stream":
        return len(content.get("text", ""))
    if msg["msg_type"] == "error":
        return len(content.get("evalue", "")) + sum(len(x) for x in content.get("traceback", []))
    data = content.get("data", {})
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values())


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f" [... {len(text) - limit:,} characters removed by the grader]"


# --------------------------------------------------------------------------- feedback
@dataclass
class FeedbackJob:
    """One notebook's feedback, to be rendered by a worker. The parent has already run
    nbgrader's ``GetGrades`` (scores and comments from the gradebook into the cell metadata,
    totals into ``nbgrader``), which needs the gradebook; the rest does not."""

    student: str
    notebook: str
    notebook_json: str
    nbgrader: dict


_FEEDBACK_EXPORTER = None


def render_feedback(job: FeedbackJob) -> str:
    """nbgrader's feedback HTML (its template) with the hidden tests removed
    (``ClearHiddenTests``); converting to HTML is the slow part of feedback, so workers do it."""
    import nbformat

    nb = nbformat.from_dict(json.loads(job.notebook_json))
    resources = {"unique_key": job.notebook, "output_files_dir": f"{job.notebook}_files",
                 "nbgrader": dict(job.nbgrader)}
    body, _ = feedback_exporter().from_notebook_node(nb, resources=resources)
    return body


def feedback_exporter():
    """An HTMLExporter set up the way nbgrader's GenerateFeedback sets up its own, minus the
    gradebook step (GetGrades) that the parent runs."""
    global _FEEDBACK_EXPORTER
    if _FEEDBACK_EXPORTER is not None:
        return _FEEDBACK_EXPORTER
    import nbgrader
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import ClearHiddenTests
    from traitlets.config import Config

    base = os.path.dirname(nbgrader.__file__)
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [
        os.path.join(base, "server_extensions", "formgrader", "templates")]
    config.HTMLExporter.extra_template_paths = [
        os.path.join(base, "server_extensions", "formgrader", "static", "node_modules",
                     "bootstrap", "dist", "css")]
    config.Exporter.default_preprocessors = []
    exporter = _lean_html_exporter_class(HTMLExporter)(config=config)
    for pp in (ClearHiddenTests, CSSHTMLHeaderPreprocessor):
        exporter.register_preprocessor(pp(config=config), enabled=True)
    _FEEDBACK_EXPORTER = exporter
    return exporter


def _lean_html_exporter_class(HTMLExporter):
    """HTMLExporter without its final pass that re-parses the whole page with BeautifulSoup
    to add ``alt`` texts and ``tabindex`` attributes (about half of the rendering time for a
    lesson with figures). nbgrader's feedback template has none of the JupyterLab cells that
    get a ``tabindex``; the ``alt`` texts are added with a regular expression."""
    import re

    try:
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
    except ImportError:  # another nbconvert layout: use the exporter as it is
        return HTMLExporter

    img_without_alt = re.compile(r"<img(?![^>]*\balt=)")

    class LeanHTMLExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = self._init_resources(resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources)
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            html = img_without_alt.sub(
                '<img alt="No description has been provided for this image"', html)
            return html, resources

    return LeanHTMLExporter
