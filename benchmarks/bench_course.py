"""How long each lesson takes to run top to bottom, as a student's "Run All" would.

Run: ``.venv/bin/python benchmarks/bench_course.py [--lessons 01 05 ...]``.  Each instructor
notebook (the solutions, so that every exercise runs) is executed in a fresh kernel from its
own folder, one at a time.  Beside each lesson the script times a kernel that only starts and
imports NumPy, torch and TensorFlow, measured in the same run: the course's fixed cost, so
that the ratio still means something on a busy or a faster machine.  The target is a course a
student can work through on a laptop CPU: each lesson within a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 60.0
IMPORTS_ONLY = "import numpy, torch, tensorflow"


def run_seconds(nb, folder: Path) -> float:
    """Wall-clock seconds for a fresh kernel to run ``nb`` (kernel start-up included)."""
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(folder)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def lesson_notebooks(prefixes) -> list[Path]:
    found = sorted(p for p in (ROOT / "solutions").glob("*/*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
    return [p for p in found if not prefixes or p.parent.name[:2] in prefixes]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", default=[],
                        help="two-digit lesson numbers (default: all)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    imports_nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(IMPORTS_ONLY)])
    print(f"{'lesson':40s} {'seconds':>8s} {'imports only':>13s} {'ratio':>6s}")
    total = 0.0
    slow = []
    for path in lesson_notebooks(set(args.lessons)):
        fixed = run_seconds(imports_nb, path.parent)
        seconds = run_seconds(nbformat.read(path, as_version=4), path.parent)
        total += seconds
        if seconds > TARGET_SECONDS:
            slow.append(path.parent.name)
        print(f"{path.parent.name:40s} {seconds:8.1f} {fixed:13.1f} {seconds / fixed:6.1f}")
    print(f"{'whole course':40s} {total:8.1f}")
    if slow:
        print(f"over {TARGET_SECONDS:.0f} s here: {', '.join(slow)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
