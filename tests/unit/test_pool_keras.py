"""keras_pool2d and the Keras shape helpers against Keras 3 itself."""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from poolgrade import reference as ref  # noqa: E402

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.frameworks

SETTINGS = settings(max_examples=60, deadline=None, derandomize=bool(os.environ.get("CI")),
                    suppress_health_check=[HealthCheck.too_slow])


def keras_pool(x, pool, strides, padding, mode):
    fn = keras.ops.max_pool if mode == "max" else keras.ops.average_pool
    return keras.ops.convert_to_numpy(fn(x, pool, strides, padding, "channels_last"))


@SETTINGS
@given(h=st.integers(1, 9), w=st.integers(1, 9), ph=st.integers(1, 4), pw=st.integers(1, 4),
       sh=st.integers(1, 4), sw=st.integers(1, 4), padding=st.sampled_from(["valid", "same"]),
       mode=st.sampled_from(["max", "avg"]), negative=st.booleans(), seed=st.integers(0, 999))
def test_keras_pool2d_matches_keras_ops(h, w, ph, pw, sh, sw, padding, mode, negative, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, size=(2, h, w, 3)).astype(np.float32)
    if negative:
        x = -np.abs(x) - 1  # all negative: zero padding would show up as a wrong maximum
    try:
        expected = keras_pool(x, (ph, pw), (sh, sw), padding, mode)
    except Exception:  # TensorFlow refuses a negative 'valid' size
        with pytest.raises(ValueError):
            ref.keras_pool2d(x, (ph, pw), (sh, sw), padding, mode)
        return
    out = ref.keras_pool2d(x, (ph, pw), (sh, sw), padding, mode)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    for axis, (size, k, s) in enumerate([(h, ph, sh), (w, pw, sw)], start=1):
        assert ref.keras_output_size(size, k, s, padding) == expected.shape[axis]


@pytest.mark.parametrize("layer_name, mode", [("MaxPooling2D", "max"),
                                              ("AveragePooling2D", "avg")])
@pytest.mark.parametrize("pool, strides, padding", [
    (2, None, "valid"), (2, None, "same"), (3, 2, "same"), ((2, 3), (1, 2), "same"),
    (4, 3, "same"), (3, 1, "valid"),
])
def test_keras_pool2d_matches_the_layers(layer_name, mode, pool, strides, padding):
    x = -np.random.default_rng(1).random((2, 7, 6, 4)).astype(np.float32)
    layer = getattr(keras.layers, layer_name)(pool_size=pool, strides=strides, padding=padding)
    expected = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(ref.keras_pool2d(x, pool, strides, padding, mode), expected,
                               rtol=1e-6, atol=1e-6)
    # the same numbers in channels-first layout
    nchw = ref.bridges.to_channels_first(x)
    out = ref.keras_pool2d(nchw, pool, strides, padding, mode, data_format="channels_first")
    np.testing.assert_allclose(ref.bridges.to_channels_last(out), expected, rtol=1e-6,
                               atol=1e-6)


@pytest.mark.parametrize("size, pool, strides", [(5, 2, 2), (6, 3, 2), (7, 4, 3), (4, 4, 1),
                                                 (1, 3, 1), (9, 2, 3)])
def test_same_padding_split_matches_keras(size, pool, strides):
    """Keras puts the odd extra position at the end: check it through the values."""
    before, after = ref.keras_same_padding(size, pool, strides)
    x = np.arange(1, size + 1, dtype=np.float32).reshape(1, size, 1)
    layer = keras.layers.AveragePooling1D(pool, strides, padding="same")
    expected = keras.ops.convert_to_numpy(layer(x))[0, :, 0]
    # rebuild Keras' result from the claimed split: windows over the padded line,
    # averaging only the real elements
    padded = np.concatenate([np.full(before, np.nan), x.ravel(), np.full(after, np.nan)])
    rebuilt = [np.nanmean(padded[i * strides:i * strides + pool]) for i in range(len(expected))]
    np.testing.assert_allclose(rebuilt, expected, rtol=1e-6)
    assert ref.keras_output_size(size, pool, strides, "same") == len(expected)


def test_worked_examples_from_the_semantics_notes():
    x = np.arange(1, 6, dtype=np.float32).reshape(1, 5, 1)
    expected = keras.ops.convert_to_numpy(keras.layers.AveragePooling1D(4, 1, "same")(x))
    np.testing.assert_allclose(expected.ravel(), [2, 2.5, 3.5, 4, 4.5])
    as_2d = ref.keras_pool2d(x[:, None], (1, 4), (1, 1), "same", "avg")
    np.testing.assert_allclose(as_2d.ravel(), expected.ravel())
    empty = np.ones((1, 1, 1, 16), dtype=np.float32)
    assert ref.keras_pool2d(empty, 2).shape == keras.layers.MaxPooling2D(2)(empty).shape
    assert ref.keras_pool2d(empty, 2).shape == (1, 0, 0, 16)
    seed_example = np.zeros((1, 24, 24, 16), dtype=np.float32)
    assert ref.keras_pool2d(seed_example, 2, 2).shape == (1, 12, 12, 16)


def test_bridges_round_trip_through_keras_and_torch():
    import torch

    x = np.random.default_rng(2).standard_normal((2, 3, 5, 4)).astype(np.float32)
    nhwc = ref.bridges.to_channels_last(x)
    assert nhwc.shape == (2, 5, 4, 3) and nhwc[1, 2, 3, 0] == x[1, 0, 2, 3]
    np.testing.assert_array_equal(ref.bridges.to_channels_first(nhwc), x)
    tensor = ref.bridges.to_keras(nhwc)
    pooled = keras.layers.MaxPooling2D(2)(tensor)
    np.testing.assert_array_equal(
        ref.bridges.to_channels_first(ref.bridges.to_numpy(pooled)),
        ref.max_pool2d(x, 2),
    )
    assert isinstance(ref.bridges.to_torch(x), torch.Tensor)
    with pytest.raises(ValueError, match=r"\(N, C, \*spatial\)"):
        ref.bridges.to_channels_last(np.zeros((3, 4)))
