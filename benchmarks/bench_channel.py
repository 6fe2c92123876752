"""The grader <-> kernel data channel, side by side with plain copies of the same bytes.

One call of a function that returns its argument, with a (600, 600) float64 array in and
out (2.9 MB each way), measured as:

- plain copy: the array's bytes copied in memory twice (in and out), the floor;
- channel in process: both sides of the channel in this process (request written to a
  file, read by the kernel's code, reply written and read back, files removed), without
  the kernel: what the format and the files cost;
- whole call, array / whole call, scalar: ``KernelCaller`` through a real sandboxed
  NumPy-only kernel, with the array and with the int 1;
- channel part of a call: the difference of the two, i.e. what moving the array in and
  out costs on top of any call (target: at most 10 ms);
- bare execute: a ``pass`` cell in the same kernel, the floor of any call (ZeroMQ and
  IPython).

Interleaved repetitions, so that all cases see the same machine load; the median is the
figure, the fastest run shows what an idle machine would give (on a busy one the kernel
and the grader wait for a core), and CPU is the mean CPU time of the grader and the kernel
together (the kernel's from its cgroup, or /proc's coarser ticks without one).

    .venv/bin/python benchmarks/bench_channel.py [--repeat 50] [--size 600]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

TARGET_MS = 10.0


def side_by_side(cases: dict, repeat: int) -> dict:
    """``cases``: name -> (function, CPU clock).  (median, fastest, mean CPU) seconds of
    each function, all run in turn within every repetition.  The CPU clock counts what
    the call costs wherever it runs (grader and kernel); a busy machine does not inflate it
    as it inflates the wall clock."""
    for fn, _ in cases.values():
        fn()   # warm up (page faults, the kernel's helpers)
    times = {name: [] for name in cases}
    cpu = dict.fromkeys(cases, 0.0)
    for _ in range(repeat):
        for name, (fn, clock) in cases.items():
            cpu_start, start = clock(), time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
            cpu[name] += clock() - cpu_start
    return {name: (statistics.median(record), min(record), cpu[name] / repeat)
            for name, record in times.items()}


def in_process_call(x: np.ndarray, folder: str):
    """Both sides of one call in this process: the grader's request and reply files, the
    kernel's helpers (compiled here, as the kernel compiles them) calling ``echo``."""
    import __main__
    from poolgrade.sandbox import channel

    helpers: dict = {}
    exec(compile(channel.KERNEL_HELPERS, "<poolkit channel>", "exec"), helpers)
    __main__.echo = lambda a: a

    def call():
        pending = channel.prepare_call("echo", (x,), {}, folder)
        try:
            helpers["_poolkit_job"](pending.request_path, pending.reply_path)
            got = pending.read_reply()["result"]
        finally:
            pending.remove()
        return got

    assert np.array_equal(call(), x)
    return call


def start_kernel(run_dir: str):
    from poolgrade.sandbox.bwrap import SandboxLimits
    from poolgrade.sandbox.kernels import NumpyOnlyKernel, kernel_cpu_seconds

    os.chmod(run_dir, 0o711)
    files = os.path.join(run_dir, "submission")     # the submission's files: none
    os.makedirs(files)
    kernel = NumpyOnlyKernel(files=files, run_dir=run_dir, cell_timeout=60,
                             limits=SandboxLimits(memory_bytes=2 * 2**30, cpu_seconds=600,
                                                  file_bytes=256 * 2**20),
                             unsandboxed=False)
    caller = kernel.ready_for([], 0)
    caller.execute("def echo(x):\n    return x\n", 60)

    def grader_and_kernel_cpu() -> float:
        return time.process_time() + (kernel_cpu_seconds(caller.km) or 0.0)

    return kernel, caller, grader_and_kernel_cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--size", type=int, default=600, help="the array is size x size")
    args = parser.parse_args(argv)

    from poolgrade.sandbox.bwrap import unavailable_reason

    x = np.random.default_rng(0).standard_normal((args.size, args.size))
    run_dir = tempfile.mkdtemp(prefix="bench-channel-")
    kernel = None
    try:
        here = time.process_time
        cases = {"plain copy": (lambda: (x.copy(), x.copy()), here),
                 "channel in process": (in_process_call(x, run_dir), here)}
        reason = unavailable_reason()
        if reason is None:
            kernel, caller, both = start_kernel(run_dir)
            assert np.array_equal(caller("echo", (x,), {}, 60), x)
            cases["whole call, array"] = (lambda: caller("echo", (x,), {}, 60), both)
            cases["whole call, scalar"] = (lambda: caller("echo", (1,), {}, 60), both)
            cases["bare execute"] = (lambda: caller.execute("pass", 60), both)
        else:
            print(f"(no sandboxed kernel here: {reason})")
        medians = side_by_side(cases, args.repeat)
    finally:
        if kernel is not None:
            kernel.close()
        shutil.rmtree(run_dir, ignore_errors=True)

    if "whole call, array" in medians:
        medians["channel part of a call"] = tuple(
            array - scalar for array, scalar in zip(medians["whole call, array"],
                                                   medians["whole call, scalar"]))
    floor = medians["plain copy"][0]
    print(f"({args.size}, {args.size}) float64 in and out ({x.nbytes / 2**20:.1f} MiB each "
          f"way), {args.repeat} runs each:")
    print(f"{'case':<26}{'median':>11}{'fastest':>11}{'CPU':>11}{'median / plain copy':>21}")
    for name, (median, fastest, cpu) in medians.items():
        print(f"{name:<26}{median * 1000:>8.2f} ms{fastest * 1000:>8.2f} ms"
              f"{cpu * 1000:>8.2f} ms{median / floor:>20.1f}x")
    part = medians.get("channel part of a call")
    if part is not None:
        verdict = "within" if part[0] * 1000 <= TARGET_MS else "OVER"
        print(f"channel part of a call: {part[0] * 1000:.2f} ms (median), {verdict} the "
              f"target of {TARGET_MS:g} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
