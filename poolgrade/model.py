"""Small records shared by the parent and the workers: limits, events, statuses."""

from __future__ import annotations

from dataclasses import dataclass, field

# Status of one submission in the CSV, from least to most serious.  A submission gets the
# most serious status among its events; ``reason`` lists all of them.
STATUSES = (
    "ok",                 # graded, nothing unusual
    "output_truncated",   # graded; some cell printed more than the limit
    "notebook_renamed",   # graded the only notebook found under another name
    "grade_id_restored",  # graded after giving a renamed test/solution cell its id back
    "cell_type_restored",  # graded after turning cells retyped as markdown back into code
    "tests_restored",     # graded after restoring edited or deleted test cells
    "blocked",            # graded; a handed-in file that would shadow a module was left out
    "memory_limit",       # graded; a cell hit the memory limit
    "timeout",            # graded; a cell hit its timeout
    "kernel_died",        # graded; a cell killed the kernel and was marked failed
    "wall_clock",         # graded in part; the submission hit its wall-clock limit
    "missing_notebook",   # 0 points: the notebook is not in the submission
    "invalid_notebook",   # 0 points, needs manual grading: the file is not a readable notebook
    "error",              # not graded: the grader itself failed (see reason), regrade
)

EVENT_STATUS = {
    "output_truncated": "output_truncated",
    "notebook_renamed": "notebook_renamed",
    "grade_id_restored": "grade_id_restored",
    "grade_id_unknown": "grade_id_restored",
    "cell_type_restored": "cell_type_restored",
    "test_edited": "tests_restored",
    "test_deleted": "tests_restored",
    "blocked": "blocked",
    "memory": "memory_limit",
    "timeout": "timeout",
    "kernel_died": "kernel_died",
    "wall_clock": "wall_clock",
    "missing_notebook": "missing_notebook",
    "invalid_notebook": "invalid_notebook",
    "error": "error",
}


@dataclass
class Limits:
    """Per-submission limits.  Times in seconds, sizes in MiB or bytes as named."""

    cell_timeout: int | None = None   # per cell; None: the course's Execute.timeout (or 30)
    submission_timeout: int = 300     # wall clock for all notebooks of one submission
    memory_mb: int = 4096             # address space of the kernel process
    max_file_mb: int = 256            # largest file the kernel may write
    scratch_mb: int = 256             # all a kernel may write: its scratch and /tmp, in RAM
    max_output_bytes: int = 100_000   # output kept per cell (the rest is dropped)
    max_restarts: int = 2             # new kernels after cells that kill the kernel


@dataclass
class Event:
    """Something that happened to a submission, shown in the CSV ``reason`` column."""

    kind: str
    detail: str
    notebook: str | None = None
    cell: int | None = None
    grade_id: str | None = None

    @property
    def status(self) -> str:
        return EVENT_STATUS.get(self.kind, "error")

    def describe(self) -> str:
        where = f"{self.notebook}: " if self.notebook else ""
        if self.grade_id and self.grade_id not in self.detail:
            return f"{where}{self.detail} ({self.grade_id})"
        return f"{where}{self.detail}"


def worst_status(events: list[Event]) -> str:
    if not events:
        return "ok"
    return max((e.status for e in events), key=STATUSES.index)


@dataclass
class GradeRow:
    """One line of the CSV."""

    student: str
    points: dict[str, float | None] = field(default_factory=dict)   # exercise -> points
    total: float | None = None
    max_total: float = 0.0
    status: str = "ok"
    reason: str = ""
    digest: str = ""
    diagnoses: dict[str, str] = field(default_factory=dict)   # exercise -> known mistake
