"""The instructor's NumPy reference (poolgrade.reference) against torch's CPU kernels.

Input (16, 64, 112, 112) float32, 2 threads for both, median of several runs.  Prints each
case's time as a ratio to torch's (the target: at most 1.0x for 2x2/2 and 1.5x for 3x3/2
with padding 1) and to a plain copy of the input (the floor: reading and writing memory
once), and the peak extra memory the reference allocated.

    make bench            # or: .venv/bin/python benchmarks/bench_pooling.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np


def median_seconds(fn, repeat):
    return side_by_side([fn], repeat)[0]


def side_by_side(fns, repeat):
    """Median time of each function, run in turn within every repetition so that all of
    them see the same machine load."""
    for fn in fns:
        fn()  # warm up (thread pool, page faults)
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, record in zip(fns, times):
            start = time.perf_counter()
            fn()
            record.append(time.perf_counter() - start)
    return [statistics.median(record) for record in times]


def peak_extra_bytes(fn):
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--shape", type=int, nargs=4, default=(16, 64, 112, 112))
    args = parser.parse_args()

    import torch
    import torch.nn.functional as F

    from poolgrade import reference

    torch.set_num_threads(2)
    x = np.random.default_rng(0).standard_normal(args.shape).astype(np.float32)
    xt = torch.from_numpy(x)
    copy_time = median_seconds(lambda: x.copy(), args.repeat)
    cases = [
        ("max 2x2/2", lambda: reference.max_pool2d(x, 2, 2), lambda: F.max_pool2d(xt, 2, 2), 1.0),
        ("avg 2x2/2", lambda: reference.avg_pool2d(x, 2, 2), lambda: F.avg_pool2d(xt, 2, 2), 1.0),
        ("max 3x3/2 pad 1", lambda: reference.max_pool2d(x, 3, 2, 1),
         lambda: F.max_pool2d(xt, 3, 2, 1), 1.5),
        ("avg 3x3/2 pad 1", lambda: reference.avg_pool2d(x, 3, 2, 1),
         lambda: F.avg_pool2d(xt, 3, 2, 1), 1.5),
    ]
    print(f"input {tuple(args.shape)} float32 ({x.nbytes / 2**20:.0f} MiB), 2 threads, "
          f"median of {args.repeat}; copy of the input: {copy_time * 1e3:.1f} ms")
    print(f"{'case':18} {'reference':>9} {'torch':>9} {'vs torch':>9} {'target':>7} "
          f"{'vs copy':>8} {'extra mem':>10}")
    failures = 0
    for name, ours, theirs, target in cases:
        t_ours, t_torch = side_by_side([ours, theirs], args.repeat)
        ratio = t_ours / t_torch
        failures += ratio > target
        extra = peak_extra_bytes(ours) / x.nbytes
        print(f"{name:18} {t_ours * 1e3:7.1f}ms {t_torch * 1e3:7.1f}ms {ratio:8.2f}x "
              f"{target:6.1f}x {t_ours / copy_time:7.2f}x {extra:9.2f}x")
    print("extra mem: peak NumPy allocation during the call, as a multiple of the input size")
    print("all within target" if not failures else f"{failures} case(s) over target")


if __name__ == "__main__":
    main()
