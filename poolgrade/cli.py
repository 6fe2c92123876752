"""The ``poolgrade`` command, the instructor's one entry point:

    poolgrade grade <assignment>     grade a class's submissions
    poolgrade release [...]          build the lesson notebooks and the student versions
    poolgrade mistakes [...]         rebuild the known-mistake catalogue from solutions/
    poolgrade bundle [...]           build the student bundle
    poolgrade study-time [...]       minutes of each lesson's core path
    poolgrade tries <logs>           tries per exercise, from a pilot's opt-in logs
    poolgrade hub <action>           the demo JupyterHub class (as root)

``poolgrade <command> --help`` describes each.  Heavy imports happen inside the commands.
"""

from __future__ import annotations

import argparse
import sys


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="poolgrade",
                                     description="The pooling course's instructor tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser(
        "grade", help="autograde every submission of an assignment (over nbgrader)",
        description=(
            "Autograde all submissions of ASSIGNMENT with nbgrader, in parallel, each in a "
            "fresh kernel in a bubblewrap sandbox, with the tests in the grader's own "
            "process. Writes the scores into nbgrader's gradebook, the "
            "autograded notebooks and feedback HTML (no hidden tests) into autograded/ and "
            "feedback/, and grades.csv, score_histogram.png and pass_rates.png into "
            "grade-reports/ASSIGNMENT/. Run it again to grade only new or changed submissions."))
    grade.add_argument("assignment", help="assignment (lesson folder) name, e.g. 01-max-vs-average")
    grade.add_argument("--submissions", metavar="DIR",
                       help="folder laid out as <student>/<assignment>/*.ipynb, or a zip of one "
                            "(default: the course's submitted/ folder)")
    grade.add_argument("--workers", type=_positive_int, metavar="N",
                       help="parallel local workers (default: CPU cores + 2)")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a dask.distributed cluster, e.g. tcp://10.0.0.5:8786")
    grade.add_argument("--course-dir", default=".", metavar="DIR",
                       help="nbgrader course folder, the one with nbgrader_config.py (default: .)")
    grade.add_argument("--report-dir", metavar="DIR",
                       help="where the CSV and charts go (default: grade-reports/ASSIGNMENT)")
    grade.add_argument("--cell-timeout", type=_positive_int, metavar="SECONDS",
                       help="per-cell limit (default: c.Execute.timeout in nbgrader_config.py, "
                            "else 30)")
    grade.add_argument("--submission-timeout", type=_positive_int, default=300,
                       metavar="SECONDS", help="wall-clock limit per submission (default: 300)")
    grade.add_argument("--memory-limit", type=_positive_int, default=4096, metavar="MB",
                       help="address-space limit of each kernel (default: 4096)")
    grade.add_argument("--scratch-limit", type=_positive_int, default=256, metavar="MB",
                       help="what each kernel may write in total, its working folder and "
                            "/tmp together; kept in memory (default: 256)")
    grade.add_argument("--unsandboxed", action="store_true",
                       help="run the kernels without the bubblewrap sandbox (only for code you "
                            "trust; refused without this flag where bubblewrap is missing)")
    grade.add_argument("--force", action="store_true",
                       help="regrade every submission, even unchanged ones")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    for name, _module, summary in AUTHORING:
        tool = commands.add_parser(name, help=summary, add_help=False)
        tool.add_argument("args", nargs=argparse.REMAINDER)
    return parser


# name, module with a main(argv), what it does
AUTHORING = (
    ("release", "poolgrade.authoring.release",
     "build solutions/*/*.ipynb from their .py sources and the student versions in course/"),
    ("mistakes", "poolgrade.authoring.mistake_catalogue",
     "rebuild poolkit/mistakes/*.json from solutions/*/mistakes.py"),
    ("bundle", "poolgrade.authoring.bundle", "build the student bundle"),
    ("study-time", "poolgrade.authoring.study_time",
     "minutes of each lesson's core path, by the measure the README states"),
    ("tries", "poolgrade.authoring.tries",
     "how many tries each exercise took, from a pilot's opt-in tries logs"),
    ("hub", "poolgrade.authoring.hub", "run the demo class on a local JupyterHub (root)"),
)


def grade_command(args) -> int:
    from poolgrade import Limits, grade
    from poolgrade.batch.course import GradingSetupError
    from poolgrade.sandbox.bwrap import SandboxUnavailable

    limits = Limits(cell_timeout=args.cell_timeout, submission_timeout=args.submission_timeout,
                    memory_mb=args.memory_limit, scratch_mb=args.scratch_limit)
    try:
        result = grade(args.assignment, args.course_dir, args.submissions, workers=args.workers,
                       scheduler=args.scheduler, limits=limits, report_dir=args.report_dir,
                       force=args.force, progress=not args.no_progress,
                       unsandboxed=args.unsandboxed)
    except (GradingSetupError, SandboxUnavailable, FileNotFoundError, ValueError) as err:
        print(f"poolgrade grade: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\npoolgrade grade: stopped. Submissions graded so far are kept; run the same "
              "command again to grade the rest.", file=sys.stderr)
        return 130
    print(result.summary)
    return 3 if any(row.status == "error" for row in result.rows) else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    for name, module, _ in AUTHORING:
        if argv[:1] == [name]:      # the tool parses its own arguments
            import importlib

            return importlib.import_module(module).main(argv[1:]) or 0
    args = build_parser().parse_args(argv)
    if args.command == "grade":
        return grade_command(args)
    return 2  # argparse has already refused anything else


if __name__ == "__main__":
    sys.exit(main())
