"""Server-side update time of the pooling widgets: one control change to a redrawn Output area.

Run: ``.venv/bin/python benchmarks/bench_widgets.py [--runs N]``.  Each widget is built with its
default sizes; a control is flipped between two values and every assignment is timed (the
observer runs synchronously, so the time covers the pure function, the HTML and any PNG
rendering).  Prints the median and the worst run per control; the target is <= 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import matplotlib

matplotlib.use("Agg")

from poolkit import widgets  # noqa: E402

TARGET_MS = 50.0

# (widget, control, two values to alternate between)
CASES = [
    ("window_stepper", "position", (0, 4)),
    ("window_stepper", "kernel", (3, 2)),
    ("window_stepper", "mode", ("max", "avg")),
    ("window_stepper", "preset", ("ramp", "random")),
    ("shape_calculator", "kernel", (2, 3)),
    ("shape_calculator", "height", (24, 25)),
    ("max_vs_average", "steps", (3, 2)),
    ("max_vs_average", "image", ("scene", "checkerboard")),
    ("shift_explorer", "shift", (1, 2)),
    ("shift_explorer", "blur", (False, True)),
    ("shift_explorer", "kernel", (4, 3)),
]


def time_updates(app, control: str, values, runs: int) -> list[float]:
    """Milliseconds per change of ``app.controls[control]``, alternating between ``values``."""
    widget = app.controls[control]
    times = []
    for run in range(runs + 1):
        value = values[(run + 1) % 2]
        before = app.html
        start = time.perf_counter()
        widget.value = value
        elapsed = (time.perf_counter() - start) * 1000
        if app.error:
            raise RuntimeError(f"{control}={value!r} showed an error: {app.error}")
        if app.html == before:  # a fast no-op would make the figure meaningless
            raise RuntimeError(f"{control}={value!r} did not change the output")
        if run:  # the first change warms caches and imports
            times.append(elapsed)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed changes per control")
    args = parser.parse_args(argv)
    print(f"widget update time, {args.runs} changes per control (target <= {TARGET_MS:.0f} ms)")
    print(f"{'widget':<18} {'control':<10} {'median ms':>10} {'max ms':>8}")
    worst_median = 0.0
    apps = {}
    for name, control, values in CASES:
        app = apps.setdefault(name, getattr(widgets, name)())
        times = time_updates(app, control, values, args.runs)
        median = statistics.median(times)
        worst_median = max(worst_median, median)
        print(f"{name:<18} {control:<10} {median:>10.1f} {max(times):>8.1f}")
    verdict = "within" if worst_median <= TARGET_MS else "OVER"
    print(f"slowest median {worst_median:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")
    return 0 if worst_median <= TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
