"""``GradingExecute``: the one executor both ``nbgrader autograde`` and ``poolgrade grade`` use.

It is nbgrader's ``Execute`` preprocessor (so ``c.Execute.*`` settings apply and nbgrader's
later steps read its output as usual), changed in what decides a grade:

- the student's code cells run in a kernel inside the OS sandbox (:mod:`.sandbox`); its
  working folder is a scratch of its own, a size-limited copy of the submission's files
  (made once, before any kernel starts, and never written by a kernel): the NumPy-only
  kernel and every restarted kernel start from those files again, never from what another
  kernel wrote;
- autograded test cells never run in that kernel: :mod:`.harness` runs each one in this
  process and calls the student's functions through the data-only channel; its result
  becomes the cell's output (an error output when a test failed, which nbgrader scores 0);
- a cell that kills the kernel, runs out of memory or ignores the interrupt after its
  timeout is marked failed and the notebook runs again in a fresh kernel without it, so the
  other exercises keep their points (the dead-kernel rule lives here and only here);
- a wall-clock limit for the whole submission, and output capped per cell.

Without bubblewrap it refuses to run unless ``unsandboxed`` is set (``--unsandboxed``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import tempfile
import threading
import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, List, Unicode

from poolgrade.execution import cell_deps, nbgrader_adapter
from poolgrade.execution import test_cells as harness
from poolgrade.model import Event, Limits
from poolgrade.nbmeta import grade_id, is_test_cell
from poolgrade.sandbox.bwrap import SandboxLimits, make_readable, require_sandbox
from poolgrade.sandbox.kernels import (
    KernelCaller,
    NumpyOnlyKernel,
    SandboxedKernelManager,
    is_alive,
)
from poolkit.checks.policy import effective_limit

TRUNCATION_NOTE = "\n[... the grader removed {dropped:,} more bytes of output from this cell ...]\n"
# Output kinds kept in graded notebooks: the instructor opens them in the formgrader, where
# a student's HTML or JavaScript output would run in the instructor's browser.
INERT_MIME_TYPES = ("text/plain", "image/png", "image/jpeg")


class KernelLostAt(Exception):
    """The kernel is gone while running cell ``index`` (None: it could not start)."""

    def __init__(self, index, reason):
        super().__init__(reason)
        self.index, self.reason = index, reason



def answer_names_from_gradebook(db_url: str, notebook: str, assignment: str) -> list[str]:
    """What the instructor's solution cells define, from the gradebook (trusted)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        nb = gradebook.find_notebook(notebook, assignment)
        solution_ids = {c.name for c in nb.solution_cells}
        sources = [c.source for c in nb.source_cells
                   if c.name in solution_ids and c.cell_type == "code"]
    return sorted(harness.answer_names(sources))


class GradingExecute(Execute):
    """nbgrader's Execute, with the tests in this process and the kernel in a sandbox."""

    unsandboxed = Bool(False, help="Run kernels without the OS sandbox (trusted code only).").tag(
        config=True)
    memory_mb = Integer(Limits.memory_mb).tag(config=True)
    max_file_mb = Integer(Limits.max_file_mb).tag(config=True)
    scratch_mb = Integer(Limits.scratch_mb, help="What each kernel may write in total (its "
                         "working folder and /tmp, in memory), in MiB.").tag(config=True)
    wall_limit = Float(float(Limits.submission_timeout)).tag(config=True)
    max_output_bytes = Integer(Limits.max_output_bytes).tag(config=True)
    max_restarts = Integer(Limits.max_restarts).tag(config=True)
    answer_names = List(Unicode(), help="Names the test cells take from the kernel; read from "
                        "the gradebook when empty.").tag(config=True)
    scratch = Unicode("", help="The submission's files, which each kernel gets a copy of "
                      "(never written by a kernel); a copy of the notebook's folder "
                      "(without notebooks) when empty.")
    deadline = Float(0.0)

    # ------------------------------------------------------------------ the whole notebook
    def preprocess(self, nb, resources, km=None):
        """Execute ``nb`` (nbgrader calls this); fills ``self.events``."""
        if not self.unsandboxed:
            require_sandbox()
        self.events: list[Event] = []
        self.failed_cells: dict[int, str] = {}
        if not self.deadline:
            self.deadline = time.monotonic() + self.wall_limit
        names = list(self.answer_names) or self._names_from(resources)
        self._names = set(names)
        self._test_helpers: dict[str, str] = {}     # see harness.helper_definitions
        run_dir = tempfile.mkdtemp(prefix="poolkit-grade-")
        os.chmod(run_dir, 0o711)
        try:
            return self._run_with_restarts(nb, resources, run_dir)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
            for event in self.events:   # (poolgrade grade puts them in the CSV)
                self.log.warning("%s: %s", event.kind, event.describe())

    def _run_with_restarts(self, nb, resources, run_dir):
        scratch = self.scratch or self._scratch_copy(resources, run_dir)
        make_readable(scratch)   # (no kernel has started yet: see sandbox.make_readable)
        template = nb
        for attempt in range(self.max_restarts + 1):
            work = _copy_nb(template)
            try:
                return self._run_once(work, resources, scratch, run_dir)
            except KernelLostAt as lost:
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

    def _names_from(self, resources) -> list[str]:
        info = resources.get("nbgrader", {})
        if not info.get("db_url"):
            return []
        return answer_names_from_gradebook(info["db_url"], info["notebook"], info["assignment"])

    def _scratch_copy(self, resources, run_dir) -> str:
        """The notebook's folder without notebooks: what nbgrader copied for the student,
        less what they handed in as symbolic links (nbgrader copied the links' targets)."""
        from poolgrade.batch.grade_one import handed_in_links

        scratch = os.path.join(run_dir, "scratch")
        source = resources.get("metadata", {}).get("path") or ""
        info = resources.get("nbgrader", {})
        links = set()
        if source and info.get("student") and info.get("assignment"):
            # <course>/autograded/<student>/<assignment> -> <course>/submitted/...
            course = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(source))))
            links = handed_in_links(os.path.join(course, "submitted", info["student"],
                                                 info["assignment"]))

        def ignore(folder, names):
            rel = os.path.relpath(folder, source)
            return [n for n in names if n.endswith(".ipynb") or n == ".ipynb_checkpoints"
                    or os.path.normpath(os.path.join(rel, n)) in links]

        if source and os.path.isdir(source):
            shutil.copytree(source, scratch, ignore=ignore, symlinks=True)
        else:
            os.makedirs(scratch)
        return scratch

    def _limits(self) -> SandboxLimits:
        return SandboxLimits(memory_bytes=self.memory_mb * 2**20,
                             cpu_seconds=int(self.wall_limit) + 30,
                             file_bytes=self.max_file_mb * 2**20,
                             scratch_bytes=self.scratch_mb * 2**20)

    def _run_once(self, nb, resources, scratch, run_dir):
        from nbclient import NotebookClient

        km = SandboxedKernelManager(kernel_name=self.kernel_name or "python3")
        km.limits = self._limits()
        km.unsandboxed = self.unsandboxed
        km.use_template()
        km.setup_folders(scratch, run_dir)
        km.stderr_path = os.path.join(run_dir, "kernel.stderr")
        self.stderr_path = km.stderr_path
        resources.setdefault("metadata", {})["path"] = km.workdir
        NotebookClient.__init__(self, nb, km)
        self.owns_km = True     # so that setup_kernel shuts the kernel down, whatever happens
        self.timeout_func = self.timeout_func_for
        self.shutdown_kernel = "immediate"
        self.reset_execution_trackers()
        nbgrader_adapter.assign_resources(self, resources)
        self._out_bytes: dict[int, int] = {}
        self._dropped: dict[int, int] = {}
        self._truncated_streams: set[tuple[int, str]] = set()
        self._running = None
        self._numpy = NumpyOnlyKernel(files=scratch, run_dir=run_dir, limits=self._limits(),
                                      cell_timeout=float(self.timeout or 60),
                                      unsandboxed=self.unsandboxed,
                                      kernel_name=self.kernel_name or "python3")
        self._caller = None
        try:
            with self.setup_kernel(cwd=km.workdir):
                watchdog = self._start_watchdog()
                try:
                    info = self.wait_for_reply(self.kc.kernel_info())
                    km.lock_socket_dir()
                    self.nb.metadata["language_info"] = info["content"]["language_info"]
                    self._caller = KernelCaller(self.km)
                    for index, cell in enumerate(self.nb.cells):
                        self._run_cell(cell, resources, index)
                except DeadKernelError:
                    raise KernelLostAt(self._running, self._death_reason()) from None
                finally:
                    watchdog.cancel()
                    if self._caller is not None:
                        self._caller.close()
                    self._numpy.close()
        except KernelLostAt:
            raise
        except DeadKernelError:
            raise KernelLostAt(self._running, self._death_reason()) from None
        except RuntimeError as err:  # kernel did not start, or died while starting
            if self._running is None:
                last = _last_error_line(self.stderr_path)
                raise KernelLostAt(None, f"the kernel could not start: {err}"
                                   + (f" ({last})" if last else "")) from None
            raise KernelLostAt(self._running, self._death_reason()) from None
        finally:
            km.release_cgroup()
        self.set_widgets_metadata()
        return self.nb, self.resources

    # ------------------------------------------------------------------ one cell
    def _run_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return
        if index in self.failed_cells:
            cell.outputs = [_error_output("CellNotRun", self.failed_cells[index])]
            return
        if time.monotonic() >= self.deadline:
            reason = (f"not run: the submission used up its wall-clock limit of "
                      f"{self.wall_limit:g} s")
            cell.outputs = [_error_output("SubmissionTimeout", reason)]
            if not any(e.kind == "wall_clock" for e in self.events):
                self.events.append(Event("wall_clock", f"stopped at cell {index}: wall-clock "
                                         f"limit {self.wall_limit:g} s", cell=index,
                                         grade_id=_grade_id(cell)))
            return
        self._running = index
        if is_test_cell(cell):
            self._run_test_cell(cell, index)
        else:
            try:
                self.preprocess_cell(cell, resources, index)
            except CellTimeoutError:
                self.events.append(Event("timeout", f"cell {index} ignored the interrupt after "
                                         f"its {self.timeout} s timeout", cell=index,
                                         grade_id=_grade_id(cell)))
                raise KernelLostAt(index, f"not run: this cell did not stop after its "
                                          f"{self.timeout} s timeout") from None
        self._running = None  # left set when the kernel dies: _death_reason names the cell
        self._after_cell(cell, index)
        if any(o.get("ename") == "MemoryError" for o in cell.outputs):
            # Whatever filled the memory may still hold it and starve every later cell:
            # run the notebook again in a fresh kernel without this cell.
            raise KernelLostAt(index, "not run: this cell ran out of the memory limit")

    def _submitted_definitions(self, index) -> dict[str, str]:
        """The student's cells above test cell ``index`` that define their functions."""
        nb = getattr(self, "nb", None) or {}
        cells = [c.source for i, c in enumerate(nb.get("cells", []))
                 if i < index and c.cell_type == "code" and not is_test_cell(c)]
        return harness.defining_cells(cells, self._names)

    def _run_test_cell(self, cell, index):
        """The test runs here; the student's functions run in a kernel, called as data."""
        # Only this run may say which mistake a cell shows: drop what a submission brought.
        cell.metadata.pop("poolkit", None)
        numpy_only = harness.needs_numpy_only(cell.source)
        names = self._names
        helpers = self.__dict__.setdefault("_test_helpers", {})
        if numpy_only:
            earlier = [(i, c.source) for i, c in enumerate(self.nb.cells)
                       if c.cell_type == "code" and not is_test_cell(c) and i < index]
            # only the cells defining what this test calls: lecture cells cost time there
            called = cell_deps.called_names(cell.source, names, "\n\n".join(helpers.values()))
            self._numpy.skip |= set(self.failed_cells)   # what broke the main kernel
            try:
                caller = self._numpy.ready_for(cell_deps.cells_to_run(earlier, called), index)
            except (harness.KernelLost, RuntimeError) as lost:  # RuntimeError: no start
                self.log.warning("NumPy-only kernel for cell %d: %s", index, lost)
                cell.outputs = [_error_output("KernelLost", f"not graded: {lost}")]
                return
        else:
            caller = self._caller
        remaining = max(1.0, self.deadline - time.monotonic())
        with harness.time_limit(min(effective_limit(), remaining)):
            outcome = harness.run_test_cell(cell.source, names, _bounded(caller, self.deadline),
                                            numpy_only=numpy_only,
                                            prelude="\n\n".join(helpers.values()),
                                            sources=self._submitted_definitions(index))
        harness.add_helpers(helpers, cell.source, names)
        cell.outputs = []
        cell.execution_count = None
        if outcome.stdout:
            cell.outputs.append(new_output("stream", name="stdout",
                                           text=_shorten(outcome.stdout, 4000)))
        if not outcome.passed:
            cell.outputs.append(_error_output(outcome.ename, _shorten(outcome.evalue, 4000)))
        if outcome.diagnoses:
            # read by the parent for grades.csv and the misconception report
            cell.metadata.setdefault("poolkit", {})["diagnosis"] = outcome.diagnoses[0][1]
        if outcome.kernel_lost is not None:
            if numpy_only:
                self._numpy.close()
                return
            if not is_alive(self.km):
                raise DeadKernelError(outcome.kernel_lost)
            self.events.append(Event("timeout", f"cell {index}: the student's function did "
                                     "not stop after an interrupt", cell=index,
                                     grade_id=_grade_id(cell)))
            raise KernelLostAt(index, f"not run: {outcome.kernel_lost} in this test")
        # from the failure's data: the message may quote the student's own exception
        if outcome.failure is not None and outcome.failure.kind == "timeout":
            self.events.append(Event("timeout", f"cell {index}: a call of the student's function "
                                     "hit its time limit", cell=index, grade_id=_grade_id(cell)))

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
                                         f"{self.wall_limit:g} s", cell=index,
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
        _keep_inert_data(msg)
        size = _message_size(msg)
        used = self._out_bytes.get(cell_index, 0)
        budget = self.max_output_bytes - used
        if size <= budget:
            self._out_bytes[cell_index] = used + size
            return super().output(outs, msg, display_id, cell_index)
        # Over budget: shorten, but never drop errors or stderr, and store nothing else.
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

    # ------------------------------------------------------------------ losing the kernel
    def _start_watchdog(self):
        """Kill the kernel once the wall-clock limit is well past (a cell that ignores its
        interrupt would otherwise hold the worker)."""
        km = self.km
        delay = max(1.0, self.deadline - time.monotonic() + 5.0)

        def kill():
            try:
                km.provisioner.process.send_signal(signal.SIGKILL)
            except Exception:  # already gone
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
        elif code is not None and code > 128 and code - 128 in signal.valid_signals():
            # bubblewrap reports a kernel killed by a signal as 128 + the signal
            why = f"the kernel was killed by {signal.Signals(code - 128).name}"
        elif code is not None:
            why = f"the kernel exited with code {code}"
        else:
            why = "the kernel died"
        last = _last_error_line(self.stderr_path)
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


def _bounded(caller, deadline):
    """``caller`` whose time limit never runs past the submission's deadline."""

    def call(name, args, kwargs, limit):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise harness.KernelLost("the submission's wall-clock limit was reached")
        return caller(name, args, kwargs, min(limit, remaining))

    return call


def _keep_inert_data(msg) -> None:
    """Drop rich outputs (HTML, JavaScript, widgets, SVG) from a display message in place."""
    data = msg.get("content", {}).get("data")
    if not isinstance(data, dict):
        return
    dropped = [k for k in data if k not in INERT_MIME_TYPES]
    for key in dropped:
        del data[key]
    if dropped and "text/plain" not in data:
        data["text/plain"] = f"[{', '.join(sorted(dropped))} output removed by the grader]"


def _error_output(ename, evalue):
    return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def _last_error_line(path: str) -> str:
    """The kernel's last words on stderr, e.g. 'Fatal Python error: Segmentation fault'."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except (OSError, TypeError):
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
    return grade_id(cell)


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
