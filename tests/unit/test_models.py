"""poolkit.models: counts checked against independent formulas and torch's own numbers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from poolgrade.answers import instructor_answers  # noqa: E402
from poolgrade.reference import models as reference_models  # noqa: E402
from poolkit import models  # noqa: E402
from poolkit.data import make_shapes  # noqa: E402

pytestmark = pytest.mark.frameworks


def feature_side(size: int, pool, blocks: int) -> int:
    """Spatial side after the conv blocks, by the output-size rule of each pooling layer."""
    for _ in range(blocks):
        if pool in ("max", "avg"):
            size = (size - 2) // 2 + 1
        elif pool == "blur":
            size = (size - 2) // 1 + 1  # max 2x2 stride 1
            size = (size + 2 - 3) // 2 + 1  # blur 3x3 stride 2 padding 1
    return size


def expected_parameters(pool, head, in_size, channels, hidden, n_classes, in_channels=1):
    total, previous = 0, in_channels
    for width in channels:
        total += previous * width * 9 + width
        previous = width
    if head == "gap":
        return total + previous * n_classes + n_classes
    flat = previous * feature_side(in_size, pool, len(channels)) ** 2
    if hidden:
        return total + flat * hidden + hidden + hidden * n_classes + n_classes
    return total + flat * n_classes + n_classes


CONFIGS = [
    (pool, head, in_size, channels, hidden, n_classes)
    for pool in models.POOLS
    for head in models.HEADS
    for in_size, channels, hidden, n_classes in [(28, (8, 16), 32, 4), (19, (3, 5, 7), 0, 3)]
]


@pytest.mark.parametrize("pool, head, in_size, channels, hidden, n_classes", CONFIGS)
def test_parameter_count_matches_formula_and_torch(
    pool, head, in_size, channels, hidden, n_classes
):
    model = models.small_cnn(
        pool=pool, head=head, in_size=in_size, channels=channels, hidden=hidden, n_classes=n_classes
    )
    expected = expected_parameters(pool, head, in_size, channels, hidden, n_classes)
    assert models.count_parameters(model) == expected
    assert models.count_parameters(model) == sum(p.numel() for p in model.parameters())
    logits = model(torch.zeros(2, 1, in_size, in_size))
    assert tuple(logits.shape) == (2, n_classes)


def test_pooling_shrinks_the_first_dense_layer_by_the_area_factor():
    pooled = models.first_dense(models.small_cnn(pool="max"))
    unpooled = models.first_dense(models.small_cnn(pool=None))
    assert pooled.weight.shape == (32, 16 * 7 * 7)
    assert unpooled.weight.shape == (32, 16 * 28 * 28)
    assert unpooled.weight.numel() == 16 * pooled.weight.numel()  # two 2x2 pools: 4 * 4
    assert models.count_parameters(models.small_cnn(pool="max")) < models.count_parameters(
        models.small_cnn(pool=None)
    )


def test_pooling_layers_have_no_parameters():
    for pool in ("max", "avg", "blur"):
        model = models.small_cnn(pool=pool)
        for module in model:
            if (
                isinstance(module, (nn.MaxPool2d, nn.AvgPool2d))
                or type(module).__name__ == "BlurPool2d"
            ):
                assert models.count_parameters(module) == 0


def manual_multiply_adds(in_size, channels, pool, hidden, n_classes, head="flatten"):
    total, previous, side = 0, 1, in_size
    for width in channels:
        total += side * side * width * previous * 9  # padding 1 keeps the side
        if pool == "blur":
            side = side - 1
            side = (side - 1) // 2 + 1
            total += side * side * width * 9
        elif pool is not None:
            side //= 2
        previous = width
    if head == "gap":
        return total + previous * n_classes
    flat = previous * side * side
    return total + flat * hidden + hidden * n_classes


@pytest.mark.parametrize("pool", models.POOLS)
def test_multiply_adds_match_hand_count(pool):
    model = models.small_cnn(pool=pool)
    assert models.multiply_adds(model, (1, 28, 28)) == manual_multiply_adds(
        28, (8, 16), pool, 32, 4
    )
    gap = models.small_cnn(pool=pool, head="gap", channels=(4, 6), n_classes=5)
    assert models.multiply_adds(gap, (1, 20, 20)) == manual_multiply_adds(
        20, (4, 6), pool, 0, 5, head="gap"
    )


@pytest.mark.parametrize("pool", models.POOLS)
def test_activation_memory_matches_a_step_by_step_forward(pool):
    model = models.small_cnn(pool=pool, channels=(4, 8), in_size=24)
    x = torch.randn(1, 1, 24, 24)
    values = 0
    with torch.no_grad():
        for layer in model:  # Sequential of leaf layers (BlurPool2d is a leaf too)
            x = layer(x)
            values += x.numel()
    assert models.activation_memory(model, (1, 24, 24)) == 4 * values
    assert models.activation_memory(model, (1, 24, 24), bytes_per_value=2) == 2 * values


def test_layer_summary_rows():
    model = models.small_cnn(pool="max")
    rows = models.layer_summary(model, (1, 28, 28))
    assert [row["layer"] for row in rows] == [type(m).__name__ for m in model]
    assert rows[2]["output_shape"] == (8, 14, 14)
    assert rows[-1]["output_shape"] == (4,)
    assert sum(row["parameters"] for row in rows) == sum(p.numel() for p in model.parameters())
    assert model.training, "layer_summary must give the model back in the mode it found it"
    with pytest.raises(ValueError, match="input_shape"):
        models.layer_summary(model, (28, 28))


def test_blur_pool_is_a_binomial_filter_with_stride():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    out = models.blur_pool(3)(torch.from_numpy(x)).numpy()
    taps = np.array([1.0, 2.0, 1.0]) / 4
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.zeros((2, 3, 5, 4))
    for i in range(5):
        for j in range(4):
            window = padded[:, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3]
            expected[:, :, i, j] = np.einsum("ncij,i,j->nc", window, taps, taps)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert models.count_parameters(models.blur_pool(3)) == 0


def test_adaptive_flatten_head_takes_any_input_size():
    model = models.small_cnn(pool="max", adaptive_size=4)
    for size in (16, 28, 41):
        assert tuple(model(torch.zeros(1, 1, size, size)).shape) == (1, 4)
    fixed = models.small_cnn(pool="max")
    with pytest.raises(RuntimeError):
        fixed(torch.zeros(1, 1, 40, 40))
    gap = models.small_cnn(pool="max", head="gap")
    assert tuple(gap(torch.zeros(3, 1, 50, 50)).shape) == (3, 4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"pool": "min"}, "pool"),
        ({"head": "dense"}, "head"),
        ({"channels": ()}, "channels"),
        ({"in_size": 3, "channels": (2, 2, 2)}, "too small"),
        ({"n_classes": 0}, "n_classes"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.small_cnn(**kwargs)


def test_same_seed_same_model():
    a, b, c = models.small_cnn(seed=1), models.small_cnn(seed=1), models.small_cnn(seed=2)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not all(
        torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters(), strict=True)
    )


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(240, seed=0), make_shapes(120, seed=1)


def test_training_is_deterministic_and_learns(shapes):
    (x, y), (vx, vy) = shapes
    runs = []
    for _ in range(2):
        model = models.small_cnn(pool="max", seed=0)
        history = models.train(
            model, x, y, epochs=10, seed=0, val_images=vx, val_labels=vy, lr=1e-2
        )
        runs.append((model, history))
    (m1, h1), (m2, h2) = runs
    assert h1["train_loss"] == h2["train_loss"] and h1["val_acc"] == h2["val_acc"]
    for p1, p2 in zip(m1.parameters(), m2.parameters(), strict=True):
        assert torch.equal(p1, p2)
    assert len(h1["val_acc"]) == 10
    assert h1["train_loss"][-1] < h1["train_loss"][0]
    assert h1["val_acc"][-1] > 0.5, "four balanced classes: chance is 0.25"
    assert h1["val_acc"][-1] == models.accuracy(m1, vx, vy)
    other = models.train(
        models.small_cnn(pool="max", seed=0),
        x,
        y,
        epochs=2,
        seed=5,
        val_images=vx,
        val_labels=vy,
        lr=1e-2,
    )
    assert other["train_loss"] != h1["train_loss"][:2], "another seed shuffles differently"


def test_train_restores_thread_count_and_splits_validation(shapes):
    (x, y), _ = shapes
    before = torch.get_num_threads()
    history = models.train(models.small_cnn(pool="avg"), x[:40], y[:40], epochs=1, threads=2)
    assert torch.get_num_threads() == before
    assert len(history["val_acc"]) == 1
    with pytest.raises(ValueError, match="labels"):
        models.train(models.small_cnn(), x[:10], y[:9], epochs=1)
    with pytest.raises(ValueError, match="images"):
        models.train(models.small_cnn(), x[0], y[:1], epochs=1)


def test_predict_matches_argmax_of_logits(shapes):
    (x, _), _ = shapes
    model = models.small_cnn(pool="max", seed=4)
    with torch.no_grad():
        expected = model(torch.from_numpy(x[:50])).argmax(1).numpy()
    np.testing.assert_array_equal(models.predict(model, x[:50], batch_size=7), expected)


def test_prediction_consistency_against_manual_rolls(shapes):
    (x, _), _ = shapes
    images = x[:30]
    model = models.small_cnn(pool=None, seed=2)
    table = models.prediction_consistency(model, images, 3)
    reference = models.predict(model, images)
    for dy in range(3):
        for dx in range(3):
            moved = models.predict(model, np.roll(images, (dy, dx), axis=(2, 3)))
            assert table[dy, dx] == np.mean(moved == reference)
    assert table[0, 0] == 1.0
    assert table.min() < 1.0, "a flatten head is not shift invariant"


def test_circular_conv_with_global_pooling_is_exactly_shift_invariant(shapes):
    (x, _), _ = shapes
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1, padding_mode="circular"),
        nn.ReLU(),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(6, 4),
    )
    table = models.prediction_consistency(model, x[:40], 4, mode="circular")
    assert np.all(table == 1.0)


def test_import_does_not_load_torch():
    code = "import sys, poolkit.models; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


LESSON_02 = "02-why-pooling"
LESSON_06 = "06-from-feature-maps-to-prediction"


@pytest.mark.parametrize("shape", [(16, 16), (2, 3, 5, 7), (1, 2, 2), (3, 9, 4), (1, 1, 3)])
def test_max_blur_pool_answer_matches_torch(shape):
    x = np.random.default_rng(sum(shape)).standard_normal(shape)
    got = instructor_answers(LESSON_02).max_blur_pool2d(x)
    np.testing.assert_allclose(got, reference_models.max_blur_pool2d(x), rtol=1e-12, atol=1e-12)
    assert got.shape == (*shape[:-2], -(-shape[-2] // 2), -(-shape[-1] // 2))


def test_max_blur_pool_is_dense_max_then_blur_then_subsample():
    # Zhang's order differs from blur-then-max: on 4-pixel stripes it aliases half as much
    from poolkit.data import stripes
    from poolkit.explore import shift_invariance

    pattern = stripes(16, period=4)
    blur = reference_models.max_blur_pool2d
    ref, moved = blur(pattern), blur(np.roll(pattern, 1, -1))
    change = np.linalg.norm(moved - ref) / np.linalg.norm(ref)
    blur_then_max = shift_invariance(pattern, shifts=[0, 1], kernel_size=2, blur_first=True)
    assert change == pytest.approx(0.316, abs=0.01)
    assert blur_then_max.change[1] == pytest.approx(0.632, abs=0.01)


@pytest.mark.parametrize("size, channels, hidden, pooled", [
    (28, (8, 16), 32, True), (28, (8, 16), 32, False), (13, (3,), 5, True),
    (17, (4, 6, 8), 7, True), (9, (2, 3), 4, False)])
def test_cnn_costs_answer_matches_layer_summary(size, channels, hidden, pooled):
    model = models.small_cnn(pool="max" if pooled else None, in_size=size, channels=channels,
                             hidden=hidden)
    rows = models.layer_summary(model, (1, size, size))
    keys = ("parameters", "multiply_adds", "activations")
    expected = tuple(sum(r[k] for r in rows) for k in keys)
    got = instructor_answers(LESSON_02).cnn_costs(size, channels, hidden, pooled)
    assert got == expected and all(type(v) is int for v in got)


def test_design_head_answer_is_smallest_size_agnostic_head():
    answer = instructor_answers(LESSON_06).design_head
    trunk = [("conv", 8, 3, 1, 1), ("pool", 2, None, 0), ("conv", 12, 3, 1, 1)]
    assert answer(trunk, 5) == [("gap",), ("linear", 12, 5)]


def test_lesson_answers_do_not_import_torch():
    code = (
        "import sys, numpy as np; from poolgrade.answers import instructor_answers as ia;"
        f"a = ia({LESSON_06!r}); b = ia({LESSON_02!r});"
        "a.design_head([('conv', 8, 3, 1, 1)], 4);"
        "b.max_blur_pool2d(np.ones((4, 4)));"
        "b.cnn_costs(28, (8, 16), 32, True); print('torch' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
