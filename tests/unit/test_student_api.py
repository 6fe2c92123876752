"""poolkit's pooling is torch's: the same public names as the instructor's NumPy reference, the
same results, and nothing answer-shaped left in the students' package."""

import subprocess
import sys

import numpy as np
import pytest

import poolkit
from poolgrade import reference as ref

torch = pytest.importorskip("torch")
F = torch.nn.functional

POOLING = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "global_avg_pool2d",
           "global_max_pool2d", "max_pool1d", "max_pool2d", "max_pool3d"]
# Formula-shaped helpers, backward passes, layouts, bins, Keras pooling and loop versions:
# instructor-side only (poolgrade.reference), never in the students' package.
REMOVED_NAMES = ["pool_output_size", "keras_output_size", "keras_same_padding",
                 "max_pool2d_backward", "avg_pool2d_backward", "keras_pool2d", "adaptive_bins"]
REMOVED_MODULES = ["reference", "bridges", "shapes", "backward", "keras_compat", "adaptive",
                   "_engine"]


def test_poolkit_exports_only_the_pooling_layers():
    assert sorted(poolkit.__all__) == POOLING
    for name in REMOVED_NAMES:
        assert not hasattr(poolkit, name), name
    for module in REMOVED_MODULES:
        with pytest.raises(ImportError):
            __import__(f"poolkit.{module}")
    for name in ("torch_head_parameters", "torch_adaptive_windows"):
        assert not hasattr(poolkit.models, name), name
    # explore.keras_call named the Keras twin of a torch layer: lesson 05's torch_to_keras
    from poolkit import explore
    assert not hasattr(explore, "keras_call")


CASES = [
    ("max_pool2d", (2, 3, 7, 9), (3, 2, 1, 2, True), F.max_pool2d),
    ("avg_pool2d", (2, 3, 7, 9), (3, 2, 1, True, False), F.avg_pool2d),
    ("max_pool1d", (2, 3, 11), (4, 3, 2), F.max_pool1d),
    ("avg_pool1d", (3, 11), (2,), F.avg_pool1d),
    ("max_pool3d", (1, 2, 5, 6, 7), (2, 1), F.max_pool3d),
    ("avg_pool3d", (1, 2, 5, 6, 7), (3, 2, 1), F.avg_pool3d),
    ("adaptive_avg_pool2d", (2, 3, 7, 9), ((3, None),), F.adaptive_avg_pool2d),
    ("adaptive_max_pool2d", (3, 7, 9), (4,), F.adaptive_max_pool2d),
    ("adaptive_avg_pool1d", (2, 3, 10), (4,), F.adaptive_avg_pool1d),
    ("adaptive_max_pool1d", (2, 3, 10), (3,), F.adaptive_max_pool1d),
    ("global_avg_pool2d", (2, 3, 7, 9), (), lambda t: F.adaptive_avg_pool2d(t, 1)),
    ("global_max_pool2d", (3, 7, 9), (), lambda t: F.adaptive_max_pool2d(t, 1)),
]


@pytest.mark.frameworks
@pytest.mark.parametrize("name, shape, args, torch_fn", CASES, ids=[c[0] for c in CASES])
def test_same_results_as_torch_and_as_the_reference(name, shape, args, torch_fn):
    x = np.random.default_rng(3).standard_normal(shape)
    got = getattr(poolkit, name)(x, *args)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    np.testing.assert_array_equal(got, torch_fn(torch.from_numpy(x), *args).numpy())
    np.testing.assert_allclose(got, getattr(ref, name)(x, *args), rtol=1e-12)


@pytest.mark.frameworks
def test_dtypes_follow_the_reference():
    ints = np.arange(2 * 3 * 6 * 6).reshape(2, 3, 6, 6) % 7 - 3
    for name, args in [("max_pool2d", (2,)), ("avg_pool2d", (2,)), ("adaptive_max_pool2d", (2,)),
                       ("global_max_pool2d", ()), ("global_avg_pool2d", ())]:
        for x in (ints, ints.astype(np.int8), ints.astype(np.float32)):
            got, want = getattr(poolkit, name)(x, *args), getattr(ref, name)(x, *args)
            assert got.dtype == want.dtype, (name, x.dtype)
            np.testing.assert_allclose(got, want, rtol=1e-6)
    out, indices = poolkit.max_pool2d(ints.astype(float), 2, return_indices=True)
    want_out, want_indices = ref.max_pool2d(ints.astype(float), 2, return_indices=True)
    np.testing.assert_array_equal(out, want_out)
    np.testing.assert_array_equal(indices, want_indices)


@pytest.mark.frameworks
def test_refusals_are_value_errors_that_quote_torch():
    with pytest.raises(ValueError, match="max_pool2d: torch refuses.*pad should be at most half"):
        poolkit.max_pool2d(np.zeros((1, 1, 6, 6)), 2, padding=2)
    with pytest.raises(ValueError, match="Output size is too small"):
        poolkit.avg_pool2d(np.zeros((1, 1, 2, 2)), 3)
    with pytest.raises(TypeError, match="real numbers"):
        poolkit.max_pool2d(np.array([["a"]]), 1)


def test_pooling_needs_torch():
    """Pasted into a NumPy-only test, poolkit's pooling cannot work: it is torch's."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "import numpy as np, poolkit\n"
            "try:\n    poolkit.max_pool2d(np.zeros((1, 1, 4, 4)), 2)\n"
            "except ImportError:\n    print('needs torch')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "needs torch", done.stderr


def test_speed_yardstick_runs_without_any_pooling_code():
    """The speed checks' yardstick is generic loop work: it times, and poolkit ships no loop
    pooling for it to run."""
    seconds = poolkit.checks.reference_loop_seconds(24, 24, 2, 1)
    assert isinstance(seconds, float) and seconds > 0
    assert poolkit.checks.reference_loop_seconds(1, 1, 2, 1) >= 0  # no window fits: no steps
