"""poolkit.explore: the numbers behind the widgets, against torch, Keras and hand reasoning."""

from __future__ import annotations

import os

import numpy as np
import pytest

from poolkit import data, explore

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _torch_pool(x, mode, k, s, p, d=1, ceil_mode=False, count_include_pad=True):
    t = torch.from_numpy(np.asarray(x, dtype=np.float64))[None, None]
    if mode == "max":
        return F.max_pool2d(t, k, s, p, d, ceil_mode)[0, 0].numpy()
    return F.avg_pool2d(t, k, s, p, ceil_mode, count_include_pad)[0, 0].numpy()


def _configs(n, seed=0):
    """Random valid torch configurations on small grids: (x, mode, k, s, p, d, ceil, cip)."""
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        h, w = rng.integers(2, 8, size=2)
        mode = rng.choice(["max", "avg"])
        k = int(rng.integers(1, 5))
        s = int(rng.integers(1, 4))
        p = int(rng.integers(0, k // 2 + 1))
        d = int(rng.integers(1, 3)) if mode == "max" else 1
        ceil_mode, cip = bool(rng.integers(2)), bool(rng.integers(2))
        x = rng.normal(size=(h, w)).round(2)
        try:
            _torch_pool(x, mode, k, s, p, d, ceil_mode, cip)
        except RuntimeError:
            continue  # torch refuses this one; refusals have their own tests
        out.append((x, str(mode), k, s, p, d, ceil_mode, cip))
    return out


CONFIGS = _configs(60)


# --------------------------------------------------------------------------- window stepper


@pytest.mark.frameworks
@pytest.mark.parametrize("case", range(len(CONFIGS)))
def test_window_state_matches_torch_everywhere(case):
    x, mode, k, s, p, d, ceil_mode, cip = CONFIGS[case]
    expected = _torch_pool(x, mode, k, s, p, d, ceil_mode, cip)
    ones = torch.ones((1, 1) + x.shape, dtype=torch.float64)
    for pos in range(expected.size):
        st = explore.window_state(x, pos, k, s, p, d, ceil_mode, mode, cip)
        i, j = divmod(pos, expected.shape[1])
        assert st.position == (i, j)
        np.testing.assert_allclose(st.output, expected, atol=1e-12)
        assert st.value == pytest.approx(expected[i, j])
        # The window alone must explain the value, without the pooled output.
        taps = st.window[st.counted]
        if mode == "max":
            assert np.max(taps) == pytest.approx(st.value)
        else:
            assert np.sum(taps) / st.divisor == pytest.approx(st.value, abs=1e-12)
        # Taps that the divisor does not count are exactly the non-counted ones.
        assert np.all(np.isnan(st.window[~st.counted]))
    if mode == "avg":
        # Divisor from torch alone: (sum of ones over real taps) / (average of ones).
        real = F.avg_pool2d(ones, k, s, p, ceil_mode, cip, divisor_override=1)[0, 0]
        mean = F.avg_pool2d(ones, k, s, p, ceil_mode, cip)[0, 0]
        divisors = (real / mean).round().numpy().astype(int)
        got = [explore.window_state(x, pos, k, s, p, d, ceil_mode, mode, cip).divisor
               for pos in range(expected.size)]
        assert got == divisors.ravel().tolist()
    else:
        _, idx = F.max_pool2d(torch.from_numpy(x)[None, None], k, s, p, d, ceil_mode,
                              return_indices=True)
        got = [explore.window_state(x, pos, k, s, p, d, ceil_mode, mode).argmax
               for pos in range(expected.size)]
        w = x.shape[1]
        assert [r * w + c for r, c in got] == idx[0, 0].numpy().ravel().tolist()


def test_window_coordinates_by_hand():
    x = explore.preset_grid("ramp", 5)
    st = explore.window_state(x, (1, 2), 3, 2, 1)
    # Output (1, 2) starts at row 1*2-1 = 1, column 2*2-1 = 3; column 5 is right padding.
    assert st.rows.tolist() == [1, 2, 3]
    assert st.cols.tolist() == [3, 4, 5]
    assert st.counted.all()  # max pooling: padding takes part as -inf
    assert np.isneginf(st.window[:, 2]).all()
    assert st.value == 20 and st.argmax == (3, 4)
    assert st.grid.shape == (7, 7) and st.grid_origin == (-1, -1)
    assert (st.grid_kind[0] == 1).all() and (st.grid_kind[1:6, 1:6] == 0).all()

    dilated = explore.window_state(x, (0, 0), 2, 1, 0, dilation=2)
    assert dilated.rows.tolist() == [0, 2] and dilated.cols.tolist() == [0, 2]
    assert dilated.value == 13  # max of x[0,0], x[0,2], x[2,0], x[2,2] = 1, 3, 11, 13


def test_worked_example_from_pooling_semantics():
    """x = 1..16 as 4x4, k=3, s=2, p=1, ceil mode: values from the reference page."""
    x = np.arange(1, 17, dtype=float).reshape(4, 4)
    with_pad = [[1.5556, 3.3333, 2.0], [6.3333, 11.0, 6.0], [4.5, 7.5, 4.0]]
    without = [[3.5, 5.0, 6.0], [9.5, 11.0, 12.0], [13.5, 15.0, 16.0]]
    for cip, expected in ((True, with_pad), (False, without)):
        st = explore.window_state(x, 0, 3, 2, 1, ceil_mode=True, mode="avg",
                                  count_include_pad=cip)
        np.testing.assert_allclose(st.output, expected, atol=1e-4)
    avg = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, mode="avg")
    # Corner window (0, 0): 4 real values; with padding counted the divisor is 9.
    assert explore.window_state(x, 0, count_include_pad=True, **avg).divisor == 9
    assert explore.window_state(x, 0, count_include_pad=False, **avg).divisor == 4
    # Window (2, 2) covers rows/cols 3, 4, 5: row 4 is padding, row 5 hangs past it.
    st = explore.window_state(x, (2, 2), count_include_pad=True, **avg)
    assert st.rows.tolist() == [3, 4, 5]
    assert st.divisor == 4 and st.value == pytest.approx(4.0)
    assert (st.grid_kind == 2).any()  # the overhang is drawn as outside


def test_all_negative_padding_never_wins():
    x = explore.preset_grid("all-negative", 4, seed=3)
    assert (x < 0).all()
    for pos in range(4):
        st = explore.window_state(x, pos, 2, 2, 1)
        assert st.value < 0
        assert st.value == x[st.argmax]


def test_ties_pick_first_in_scan_order():
    x = explore.preset_grid("ties", 4)
    st = explore.window_state(x, 0, 2, 1)
    # Top-left 2x2 of the ties preset is all equal, so the winner is the first tap.
    assert len(set(x[:2, :2].ravel())) == 1
    assert st.argmax == (0, 0)


def test_window_state_refusals_name_the_rule():
    x = explore.preset_grid("ramp", 3)
    with pytest.raises(ValueError, match="padding"):
        explore.window_state(x, 0, 2, 2, 2)
    with pytest.raises(ValueError, match="output size"):
        explore.window_state(x, 0, 5, 1, 0)
    with pytest.raises(ValueError, match="dilation"):
        explore.window_state(x, 0, 2, 1, 0, dilation=2, mode="avg")
    with pytest.raises(ValueError, match="outside"):
        explore.window_state(x, 4, 2, 1)  # 2x2 output has positions 0..3
    with pytest.raises(ValueError, match="mode"):
        explore.window_state(x, 0, 2, mode="min")


def test_presets():
    assert explore.preset_grid("ramp", 3).tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    r1, r2 = explore.preset_grid("random", 6, 1), explore.preset_grid("random", 6, 1)
    np.testing.assert_array_equal(r1, r2)
    assert not np.array_equal(r1, explore.preset_grid("random", 6, 2))
    ties = explore.preset_grid("ties", 6)
    assert set(np.unique(ties)) <= {0, 1, 2}
    assert all(len(np.unique(ties[i:i + 2, j:j + 2])) == 1 for i in (0, 2, 4) for j in (0, 2, 4))
    with pytest.raises(ValueError, match="unknown preset"):
        explore.preset_grid("zebra")


def test_parse_grid():
    np.testing.assert_array_equal(explore.parse_grid("1 2\n3, -4.5\n"), [[1, 2], [3, -4.5]])
    with pytest.raises(ValueError, match="different lengths"):
        explore.parse_grid("1 2\n3")
    with pytest.raises(ValueError, match="not a number"):
        explore.parse_grid("1 x")
    with pytest.raises(ValueError, match="empty"):
        explore.parse_grid("  \n")


# --------------------------------------------------------------------------- framework calls


@pytest.mark.frameworks
@pytest.mark.parametrize("case", range(0, len(CONFIGS), 3))
def test_torch_call_string_runs_and_agrees(case):
    x, mode, k, s, p, d, ceil_mode, cip = CONFIGS[case]
    call = explore.torch_call(k, s, p, d, ceil_mode, mode, cip)
    layer = eval(call, {"nn": torch.nn})
    got = layer(torch.from_numpy(x)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(got, explore.window_state(x, 0, k, s, p, d, ceil_mode, mode,
                                                         cip).output)


@pytest.fixture(scope="module")
def keras():
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras")


def _keras_pool(keras, x, mode, k, s, padding):
    layer = (keras.layers.MaxPooling2D if mode == "max" else keras.layers.AveragePooling2D)(
        pool_size=k, strides=s, padding=padding)
    return np.asarray(layer(x[None, :, :, None].astype("float32")))[0, :, :, 0]


# --------------------------------------------------------------------------- shape calculator


def _torch_shape(h, w, k, s, p, d, ceil_mode):
    try:
        return F.max_pool2d(torch.zeros(1, 1, h, w), k, s, p, d, ceil_mode).shape[-2:]
    except RuntimeError:
        return None


@pytest.mark.frameworks
def test_shape_report_against_torch_and_keras(keras):
    rng = np.random.default_rng(11)
    refused = keras_refused = 0
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(1, 12, size=2))
        k, s = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        p, d = int(rng.integers(0, 4)), int(rng.integers(1, 3))
        ceil_mode = bool(rng.integers(2))
        rep = explore.shape_report((h, w), k, s, p, d, ceil_mode)
        expected = _torch_shape(h, w, k, s, p, d, ceil_mode)
        if expected is None:
            refused += 1
            assert rep.torch_size is None and rep.torch_error
        else:
            assert rep.torch_size == tuple(expected) and rep.torch_error is None
            assert rep.torch_kept == pytest.approx(expected[0] * expected[1] / (h * w))
        zeros = np.zeros((h, w))
        try:
            keras_valid = _keras_pool(keras, zeros, "max", k, s, "valid").shape
        except Exception:  # TensorFlow refuses a negative computed size
            keras_valid = None
            keras_refused += 1
        assert rep.keras_valid_size == keras_valid
        assert (rep.keras_valid_error is None) == (keras_valid is not None)
        assert rep.keras_same_size == _keras_pool(keras, zeros, "max", k, s, "same").shape
        for axis, length in enumerate((h, w)):
            out = -(-length // s)
            total = max((out - 1) * s + k - length, 0)
            assert rep.keras_same_padding[axis] == (total // 2, total - total // 2)
    assert refused >= 5 and keras_refused >= 1


@pytest.mark.frameworks
def test_keras_same_padding_side_seen_in_keras(keras):
    """An odd total pads at the end: a ramp's 'same' average reveals which side got padding."""
    x = np.arange(1, 6, dtype=float)[None, :].repeat(2, axis=0)  # rows 1..5
    rep = explore.shape_report((2, 5), 2, 2)
    assert rep.keras_same_padding[1] == (0, 1)
    out = _keras_pool(keras, x, "avg", 2, 2, "same")[0]
    # Windows [1,2], [3,4], [5, pad]: the pad is at the end and is not counted.
    np.testing.assert_allclose(out, [1.5, 3.5, 5.0])


def test_shape_report_messages():
    big = explore.shape_report(3, 5)
    assert big.torch_size is None and "output size" in big.torch_error
    assert big.keras_valid_size == (0, 0)
    assert any("empty axis" in n for n in big.notes)
    tiny = explore.shape_report(1, 5, 1)
    assert tiny.keras_valid_size is None and "negative" in tiny.keras_valid_error
    assert tiny.keras_same_size == (1, 1)
    pad = explore.shape_report(8, 2, 2, 2)
    assert pad.torch_size is None and "padding" in pad.torch_error
    assert any("no padding amount" in n for n in pad.notes)
    seed = explore.shape_report(24, 2, 2)
    assert seed.torch_size == seed.keras_valid_size == (12, 12)
    assert seed.torch_kept == 0.25 and seed.notes == ()


# --------------------------------------------------------------------------- repeated pooling


@pytest.mark.frameworks
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling_pyramid_matches_torch(mode):
    image = data.sample_image(64)
    levels = explore.pooling_pyramid(image, 4, 2, mode=mode)
    assert [lvl.shape for lvl in levels] == [(64, 64), (32, 32), (16, 16), (8, 8), (4, 4)]
    expected = torch.from_numpy(image)[None, None]
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    for lvl in levels[1:]:
        expected = pool(expected, 2)
        np.testing.assert_allclose(lvl, expected[0, 0].numpy())


def test_pyramid_steps_limit():
    assert explore.max_pyramid_steps(64, 2) == 6  # 32, 16, 8, 4, 2, 1
    assert explore.max_pyramid_steps(30, 3) == 3  # 10, 3, 1
    assert explore.max_pyramid_steps(2, 3) == 0
    explore.pooling_pyramid(np.zeros((30, 30)), 3, 3)
    with pytest.raises(ValueError, match="step 4 cannot pool a 1x1 image"):
        explore.pooling_pyramid(np.zeros((30, 30)), 4, 3)


# --------------------------------------------------------------------------- shift invariance


def test_blur_by_hand():
    impulse = np.zeros((7, 7))
    impulse[3, 3] = 16
    out = explore.blur(impulse)
    np.testing.assert_allclose(out[2:5, 2:5], np.outer([1, 2, 1], [1, 2, 1]))
    assert out.sum() == pytest.approx(16)
    img = data.sample_image(16)
    np.testing.assert_allclose(explore.blur(np.roll(img, 3, axis=1)),
                               np.roll(explore.blur(img), 3, axis=1))


@pytest.mark.frameworks
@pytest.mark.parametrize("mode,blur_first", [("max", False), ("max", True), ("avg", False)])
def test_shift_invariance_outputs_match_torch(mode, blur_first):
    img = data.sample_image(32)
    res = explore.shift_invariance(img, kernel_size=4, mode=mode, blur_first=blur_first)
    assert res.shifts.tolist() == [0, 1, 2, 3]
    source = explore.blur(img) if blur_first else img
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    for shift, out, change in zip(res.shifts, res.outputs, res.change, strict=True):
        moved = torch.from_numpy(np.roll(source, shift, axis=1))[None, None]
        expected = pool(moved, 4)[0, 0].numpy()
        np.testing.assert_allclose(out, expected)
        reference = pool(torch.from_numpy(source)[None, None], 4)[0, 0].numpy()
        assert change == pytest.approx(np.linalg.norm(expected - reference)
                                       / np.linalg.norm(reference))
    assert res.change[0] == 0 and res.unchanged[0] == 1


def test_shift_by_whole_stride_moves_output_by_one_cell():
    img = data.sample_image(32)
    res = explore.shift_invariance(img, shifts=[0, 4, 8], kernel_size=4, direction=(1, 0))
    np.testing.assert_allclose(res.outputs[1], np.roll(res.reference, 1, axis=0))
    np.testing.assert_allclose(res.outputs[2], np.roll(res.reference, 2, axis=0))


def test_blur_makes_max_pooling_less_sensitive_on_the_scene():
    img = data.sample_image(32)
    sharp = explore.shift_invariance(img, kernel_size=4)
    soft = explore.shift_invariance(img, kernel_size=4, blur_first=True)
    assert (soft.change[1:] < sharp.change[1:]).all()
    assert (sharp.change[1:] > 0).all()
