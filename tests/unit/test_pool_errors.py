"""Every configuration torch refuses is refused here too, with a message that says why."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from poolgrade import reference as ref

X = np.zeros((1, 2, 6, 6))


@pytest.mark.parametrize("call, torch_call, words", [
    (lambda: ref.max_pool2d(X, 2, padding=2), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 2,
     padding=2), ["padding", "half", "kernel_size"]),
    (lambda: ref.max_pool2d(X, 3, dilation=2, padding=2),
     lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 3, dilation=2, padding=2), ["padding", "half"]),
    (lambda: ref.max_pool1d(np.zeros((1, 1, 2)), 3), lambda: F.max_pool1d(torch.zeros(1, 1, 2),
     3), ["output size", "at least 1"]),
    (lambda: ref.max_pool2d(X, 0), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 0),
     ["kernel_size", "at least 1"]),
    (lambda: ref.max_pool2d(X, 2, stride=0), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 2,
     0), ["stride", "at least 1"]),
    (lambda: ref.max_pool2d(X, 2, dilation=0), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 2,
     dilation=0), ["dilation"]),
    (lambda: ref.max_pool2d(X, 2, padding=-1), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6), 2,
     padding=-1), ["padding", "non-negative"]),
    (lambda: ref.avg_pool2d(X, 2, divisor_override=0),
     lambda: F.avg_pool2d(torch.zeros(1, 2, 6, 6), 2, divisor_override=0), ["divisor_override"]),
    (lambda: ref.max_pool2d(np.zeros((6, 6)), 2), lambda: F.max_pool2d(torch.zeros(6, 6), 2),
     ["(N, C, H, W)", "(6, 6)"]),
    (lambda: ref.max_pool2d(np.zeros((1, 1, 1, 6, 6)), 2),
     lambda: F.max_pool2d(torch.zeros(1, 1, 1, 6, 6), 2), ["5 dimensions"]),
    (lambda: ref.max_pool2d(np.zeros((1, 0, 6, 6)), 2),
     lambda: F.max_pool2d(torch.zeros(1, 0, 6, 6), 2), ["channel"]),
    (lambda: ref.max_pool2d(np.zeros((1, 1, 0, 6)), 2),
     lambda: F.max_pool2d(torch.zeros(1, 1, 0, 6), 2), ["spatial"]),
    (lambda: ref.max_pool2d(X, (2, 2, 2)), lambda: F.max_pool2d(torch.zeros(1, 2, 6, 6),
     (2, 2, 2)), ["kernel_size", "2 ints"]),
    (lambda: ref.avg_pool3d(np.zeros((1, 1, 1, 4, 4)), 2, padding=1),
     lambda: F.avg_pool3d(torch.zeros(1, 1, 1, 4, 4), 2, padding=1), ["smaller than kernel"]),
    (lambda: ref.pool_output_size(2, 3), lambda: F.max_pool1d(torch.zeros(1, 1, 2), 3),
     ["output size"]),
    (lambda: ref.adaptive_avg_pool2d(X, -1), lambda: F.adaptive_avg_pool2d(
     torch.zeros(1, 2, 6, 6), -1), ["output_size", "non-negative", "(-1, -1)"]),
    (lambda: ref.adaptive_max_pool1d(np.zeros((1, 2, 6)), -2), lambda: F.adaptive_max_pool1d(
     torch.zeros(1, 2, 6), -2), ["output_size", "non-negative"]),
    (lambda: ref.adaptive_max_pool2d(X, (2, -1)), lambda: F.adaptive_max_pool2d(
     torch.zeros(1, 2, 6, 6), (2, -1)), ["output_size", "(2, -1)"]),
])
def test_refused_like_torch_with_a_clear_message(call, torch_call, words):
    with pytest.raises(RuntimeError):
        torch_call()
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize("call, words", [
    (lambda: ref.max_pool2d(X, 2.5), ["kernel_size", "2.5"]),
    (lambda: ref.max_pool2d(X, True), ["kernel_size"]),
    (lambda: ref.max_pool2d(X, "2"), ["kernel_size"]),
    (lambda: ref.max_pool2d(np.zeros((1, 1, 4, 4), dtype=bool), 2), ["dtype bool"]),
    (lambda: ref.max_pool2d(np.zeros((1, 1, 4, 4), dtype=complex), 2), ["complex"]),
    (lambda: ref.max_pool2d([["a", "b"]], 2), ["real numbers"]),
    (lambda: ref.avg_pool2d(X, 2, divisor_override=1.5), ["divisor_override"]),
    (lambda: ref.pool_output_size(6.0, 2), ["size must be an int"]),
])
def test_wrong_types_raise_type_error(call, words):
    with pytest.raises(TypeError) as info:
        call()
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("call, words", [
    (lambda: ref.keras_pool2d(np.zeros((4, 4, 3)), 2), ["4 dimensions", "x[None]"]),
    (lambda: ref.keras_pool2d(np.zeros((1, 4, 4, 3)), 2, padding="full"), ["'valid'"]),
    (lambda: ref.keras_pool2d(np.zeros((1, 4, 4, 3)), 2, mode="min"), ["'max' or 'avg'"]),
    (lambda: ref.keras_pool2d(np.zeros((1, 4, 4, 3)), 2, data_format="NHWC"),
     ["channels_last"]),
    (lambda: ref.keras_output_size(1, 3, 1), ["negative"]),
    (lambda: ref.max_pool2d_backward(np.zeros((1, 2, 2, 2)), X, 2), ["grad_output",
                                                                         "(1, 2, 3, 3)"]),
    (lambda: ref.avg_pool2d_backward(np.zeros((1, 2, 3)), X, 2), ["grad_output"]),
    (lambda: ref.adaptive_max_pool2d(X, (2, 2, 2)), ["output_size"]),
])
def test_other_bad_values_raise_value_error(call, words):
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value)


# Outputs that could never fit in memory are refused at once, by one rule
# (poolkit._validation.check_output_fits).  The calls run in a child process whose address
# space is capped at CAP, so a call that started to allocate fails there instead of taking
# the machine's memory, and each call is timed: it must return within a second.
CAP = 2**30
HUGE = 2**62 - 1
CHILD = f"""
import json, resource, sys, time
_, hard = resource.getrlimit(resource.RLIMIT_AS)
cap = {CAP} if hard == resource.RLIM_INFINITY else min({CAP}, hard)
resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
import numpy as np
from poolgrade import reference as ref
from poolkit import explore
explore.output_shape((4, 4), 2)  # explore computes with torch: its start is no part of a refusal
from poolkit._validation import memory_limit_bytes
HUGE = {HUGE}
LIMIT = memory_limit_bytes()
X1, X2 = np.zeros((2, 3, 5)), np.zeros((2, 3, 5, 4))
VIEW = np.broadcast_to(np.float64(0), (2**20, 2**10, 2**10, 2**10))  # 8 PiB, no memory
results = {{}}
for name, expression in json.loads(sys.argv[1]).items():
    start = time.perf_counter()
    try:
        eval(expression)
        outcome = ["returned", ""]
    except Exception as exc:
        outcome = [type(exc).__name__, str(exc)]
    results[name] = outcome + [time.perf_counter() - start]
print(json.dumps({{"limit": LIMIT, "results": results}}))
"""

# name: (call in the child, words in the message, the same call in torch or None)
HUGE_CALLS = {
    "adaptive_max_pool1d": (
        "ref.adaptive_max_pool1d(X1, HUGE)",
        ["adaptive_max_pool1d", f"output_size={HUGE}", "(2, 3, 4611686018427387903) float64",
         f"{2 * 3 * HUGE * 8:,} bytes", "smaller output_size"],
        "F.adaptive_max_pool1d(torch.zeros(2, 3, 5), HUGE)"),
    "adaptive_max_pool1d, indices": (
        "ref.adaptive_max_pool1d(X1, HUGE, return_indices=True)",
        ["float64 and (2, 3, 4611686018427387903) int64", f"{2 * 3 * HUGE * 16:,} bytes"],
        "F.adaptive_max_pool1d(torch.zeros(2, 3, 5), HUGE, return_indices=True)"),
    "adaptive_avg_pool1d": (
        "ref.adaptive_avg_pool1d(X1, HUGE)",
        ["adaptive_avg_pool1d", f"output_size={HUGE}", "bytes"],
        "F.adaptive_avg_pool1d(torch.zeros(2, 3, 5), HUGE)"),
    "adaptive_avg_pool1d, integer input": (
        "ref.adaptive_avg_pool1d(X1.astype(np.int8), HUGE)",
        ["float64", f"{2 * 3 * HUGE * 8:,} bytes"], None),
    "adaptive_max_pool2d": (
        "ref.adaptive_max_pool2d(X2, HUGE)",
        ["adaptive_max_pool2d", f"output_size={HUGE}", "bytes"],
        "F.adaptive_max_pool2d(torch.zeros(2, 3, 5, 4), HUGE)"),
    "adaptive_max_pool2d, one dimension": (
        "ref.adaptive_max_pool2d(X2, (HUGE, None), return_indices=True)",
        ["adaptive_max_pool2d", f"output_size=({HUGE}, None)", "(2, 3, 4611686018427387903, 4)"],
        "F.adaptive_max_pool2d(torch.zeros(2, 3, 5, 4), (HUGE, None), return_indices=True)"),
    "adaptive_avg_pool2d": (
        "ref.adaptive_avg_pool2d(X2, (1, HUGE))",
        ["adaptive_avg_pool2d", f"output_size=(1, {HUGE})", "bytes"],
        "F.adaptive_avg_pool2d(torch.zeros(2, 3, 5, 4), (1, HUGE))"),
    "adaptive_avg_pool2d, unbatched": (
        "ref.adaptive_avg_pool2d(X2[0], (2**31, 2**31))",
        ["x of shape (3, 5, 4)", "(3, 2147483648, 2147483648) float64"],
        "F.adaptive_avg_pool2d(torch.zeros(3, 5, 4), (2**31, 2**31))"),
    # Empty, yet no array can have the shape: NumPy and torch both refuse it.
    "adaptive_max_pool1d, empty batch": (
        "ref.adaptive_max_pool1d(np.zeros((0, 3, 5)), HUGE, return_indices=True)",
        ["(0, 3, 4611686018427387903)", "empty", "NumPy can index"],
        "F.adaptive_max_pool1d(torch.zeros(0, 3, 5), HUGE, return_indices=True)"),
    "adaptive_avg_pool2d, empty output": (
        "ref.adaptive_avg_pool2d(X2, (0, HUGE))",
        [f"output_size=(0, {HUGE})", "empty", "NumPy can index"],
        "F.adaptive_avg_pool2d(torch.zeros(2, 3, 5, 4), (0, HUGE))"),
    # Just over the bound (CAP here, as the child's address space is capped).
    "adaptive_avg_pool1d, one element too many": (
        "ref.adaptive_avg_pool1d(np.zeros((1, 1, 5)), LIMIT // 8 + 1)",
        ["address-space limit", f"{CAP:,} bytes"], None),
    "adaptive_max_pool1d, indices count too": (
        "ref.adaptive_max_pool1d(np.zeros((1, 1, 5)), LIMIT // 16 + 1, return_indices=True)",
        ["int64", f"{CAP:,} bytes"], None),
    # A broadcast view takes no memory, but what is pooled from it would.
    "max_pool2d, broadcast input": (
        "ref.max_pool2d(VIEW, 1, return_indices=True)",
        ["max_pool2d", "x of shape (1048576, 1024, 1024, 1024)", "x[i:j]"], None),
    "avg_pool3d, broadcast input": (
        "ref.avg_pool3d(VIEW[None], 1)", ["avg_pool3d", "x of shape"], None),
    "max_pool1d, broadcast input": (
        "ref.max_pool1d(VIEW[0], 2, 1, 1)", ["max_pool1d", "(1024, 1024, 1025)"], None),
    "global_avg_pool2d, broadcast input": (
        "ref.global_avg_pool2d(np.broadcast_to(np.float64(0), (2**28, 2**28, 1, 1)))",
        ["global_avg_pool2d", "(268435456, 268435456, 1, 1)"], None),
    "keras_pool2d, broadcast input": (
        "ref.keras_pool2d(VIEW, 1, mode='avg')", ["keras_pool2d", "pool_size=(1, 1)"], None),
    "max_pool2d_backward, broadcast input": (
        "ref.max_pool2d_backward(VIEW, VIEW, 1)", ["max_pool2d_backward", "x of shape"],
        None),
    "avg_pool2d_backward, broadcast input": (
        "ref.avg_pool2d_backward(VIEW, VIEW, 1)", ["avg_pool2d_backward", "x of shape"],
        None),
    # The widgets' pure functions, where an argument sets the size of the result.
    "explore.preset_grid": (
        "explore.preset_grid('ramp', 2**32)", ["preset_grid", "size=4294967296"], None),
    "explore.window_state": (
        "explore.window_state(np.zeros((5, 5)), 0, kernel_size=2**40, padding=2**39)",
        ["window_state", "padding=(549755813888, 549755813888)", "smaller kernel_size"], None),
    "explore.pooling_pyramid": (
        "explore.pooling_pyramid(np.zeros((8, 8)), 10**18, kernel_size=1)",
        ["pooling_pyramid", "steps=1000000000000000000", "fewer steps"], None),
    "explore.shift_invariance": (
        "explore.shift_invariance(np.zeros((8, 8)), kernel_size=2, stride=2**40)",
        ["shift_invariance", "1099511627776 shifts", "fewer shifts"], None),
}


@pytest.fixture(scope="module")
def huge_results():
    if not sys.platform.startswith("linux"):
        pytest.skip("needs Linux to cap the child's address space (RLIMIT_AS)")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    calls = {name: call for name, (call, _, _) in HUGE_CALLS.items()}
    done = subprocess.run([sys.executable, "-c", CHILD, json.dumps(calls)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_memory_bound_is_the_smallest_known_limit(huge_results):
    from poolkit._validation import NUMPY_MAX_BYTES, memory_limit_bytes

    assert huge_results["limit"] == CAP  # the child's RLIMIT_AS, below any machine's memory
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < memory_limit_bytes() <= min(physical, NUMPY_MAX_BYTES)


@pytest.mark.parametrize("name", list(HUGE_CALLS))
def test_outputs_too_large_for_memory_are_refused_at_once(huge_results, name):
    _, words, torch_call = HUGE_CALLS[name]
    kind, message, seconds = huge_results["results"][name]
    assert kind == "ValueError", (kind, message)
    assert seconds < 1.0, f"took {seconds:.2f} s: it must be refused before any work"
    for word in words:
        assert word in message, (word, message)
    if torch_call is not None:  # torch refuses it too, and at once (its sizes overflow)
        with pytest.raises(RuntimeError):
            eval(torch_call, {"F": F, "torch": torch, "HUGE": HUGE})
