# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: kernelspec,language_info,poolkit,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   language_info:
#     name: python
#   poolkit:
#     test_header: numpy
# ---

# %% [markdown]
# # Pooling in Keras and PyTorch
#
# The two frameworks you will meet most compute the same pooling, but they name the arguments
# differently, store images in a different axis order, and pad differently. This lesson puts
# them side by side, checks every claim numerically, and ends with one small model built in
# both and trained in Keras.
#
# 1. The same layers, two APIs
# 2. Channels first vs channels last
# 3. Module or function: `nn.MaxPool2d` and `F.max_pool2d`
# 4. Reproducing Keras `padding='same'` in PyTorch (and why zeros are the wrong padding)
# 5. Exercises (Keras 'same' pooling in NumPy, translating a torch layer into Keras, and one
#    small model built in both frameworks)
# 6. Going further (optional): the backward pass through pooling, checked against autograd
# 7. References

# %%
import os

# TensorFlow prints start-up messages to stderr unless both are set before it is imported.
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import inspect

import keras
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import Markdown, display

import poolkit
import poolkit.checks as ck   # ck.hint("<exercise>") works from here on
from poolkit import data

torch.manual_seed(0)
rng = np.random.default_rng(0)
print("torch", torch.__version__, "| keras", keras.__version__, "on", keras.backend.backend())

# %% [markdown]
# ## 1. The same layers, two APIs
#
# Tutorials import the Keras layers from `tensorflow.keras.layers` or from `keras.layers`: here
# both give the same classes, as the cell checks, before it reads both frameworks' constructor
# arguments into two tables:

# %%
from tensorflow.keras.layers import AveragePooling2D, MaxPooling2D

print("tensorflow.keras.layers.MaxPooling2D is keras.layers.MaxPooling2D:",
      MaxPooling2D is keras.layers.MaxPooling2D,
      "| AveragePooling2D too:", AveragePooling2D is keras.layers.AveragePooling2D)


# read from the constructors' signatures: what the installed versions really accept
def arguments(cls):
    params = inspect.signature(cls).parameters.values()
    return [(p.name, "required" if p.default is p.empty else repr(p.default))
            for p in params if p.kind is not p.VAR_KEYWORD and p.name != "name"]


pairs = [(keras.layers.MaxPooling2D, nn.MaxPool2d), (keras.layers.AveragePooling2D, nn.AvgPool2d)]
for keras_cls, torch_cls in pairs:
    left, right = arguments(keras_cls), arguments(torch_cls)
    header = (f"| `keras.layers.{keras_cls.__name__}` | default "
              f"| `nn.{torch_cls.__name__}` | default |")
    rows = [header, "|---|---|---|---|"]
    for i in range(max(len(left), len(right))):
        kn, kd = left[i] if i < len(left) else ("", "")
        tn, td = right[i] if i < len(right) else ("", "")
        rows.append(f"| `{kn}` | {kd} | `{tn}` | {td} |".replace("``", ""))
    display(Markdown("\n".join(rows)))
print("data_format=None means keras.config.image_data_format():",
      repr(keras.config.image_data_format()))
# The remark below reads these defaults; the assert keeps it true for the installed Keras.
max_default = inspect.signature(keras.layers.MaxPooling2D).parameters["pool_size"].default
avg_default = inspect.signature(keras.layers.AveragePooling2D).parameters["pool_size"].default
assert max_default == (2, 2) and avg_default is inspect.Parameter.empty

# %% [markdown]
# One asymmetry to notice: in Keras 3, `MaxPooling2D()` with no arguments is a 2×2 pooling
# (`pool_size=(2, 2)`), while `AveragePooling2D` has no default and must be given a `pool_size`.
# Torch requires `kernel_size` for both. Write the window out anyway: code that states it is
# easier to port.
#
# Side by side:
#
# | idea | Keras | PyTorch |
# |---|---|---|
# | window | `pool_size` | `kernel_size` |
# | step | `strides` (default: `pool_size`) | `stride` (default: `kernel_size`) |
# | padding | `'valid'` (none) or `'same'` (output $\lceil L/s \rceil$) | an int $p$ added on *both* sides |
# | layout | `data_format='channels_last'` by default | always channels first |
# | extras | — | `dilation`, `ceil_mode`, `return_indices`, `count_include_pad`, `divisor_override` |
#
# ## 2. Channels first vs channels last
#
# PyTorch stores a batch of feature maps as `(N, C, H, W)`; Keras (by default) as
# `(N, H, W, C)`. The numbers are the same, the axis order differs. The classic example: 16
# feature maps of $24\times24$ through a $2\times2$, stride-2 max pooling.

# %%
x_torch = torch.randn(1, 16, 24, 24)                  # (N, C, H, W)
y_torch = nn.MaxPool2d(kernel_size=2, stride=2)(x_torch)
print("torch:", tuple(x_torch.shape), "->", tuple(y_torch.shape))

x_keras = rng.standard_normal((1, 24, 24, 16)).astype(np.float32)   # (N, H, W, C)
y_keras = keras.layers.MaxPooling2D(pool_size=(2, 2), strides=2)(x_keras)
print("keras:", tuple(x_keras.shape), "->", tuple(y_keras.shape))

# Keras can also read torch's layout as it is: data_format="channels_first".
y_keras_nchw = keras.layers.MaxPooling2D(pool_size=(2, 2), strides=2,
                                         data_format="channels_first")(x_torch.numpy())
print("Keras on the torch input, channels_first:", tuple(y_keras_nchw.shape),
      "| largest difference to torch:",
      np.abs(keras.ops.convert_to_numpy(y_keras_nchw) - y_torch.numpy()).max())

# %% [markdown]
# Both keep the 16 channels and halve height and width. Told that the channels come first,
# Keras gives exactly torch's numbers (difference 0: max pooling only copies numbers).
#
# To move an array from one layout to the other, use a *transpose*: `np.transpose(x, axes)`
# builds the array whose new axis `i` is the old axis `axes[i]`. Channels first to channels
# last is `axes = (0, 2, 3, 1)` (N, H, W from their old places, then C from axis 1); the way
# back is `(0, 3, 1, 2)`. A `reshape` to the other shape is wrong: it keeps the memory order
# and re-cuts it, so the shape is right and the values are scrambled. Channel 0 of a small
# array, three ways:

# %%
small = np.arange(2 * 3 * 2).reshape(1, 2, 3, 2)            # (N, C, H, W) = (1, 2, 3, 2)
to_last = np.transpose(small, (0, 2, 3, 1))                 # (N, H, W, C) = (1, 3, 2, 2)
wrong = small.reshape(1, 3, 2, 2)                           # the same shape, re-cut
print("channel 0:", small[0, 0].ravel(), "| after the transpose:", to_last[0, :, :, 0].ravel(),
      "| after a reshape:", wrong[0, :, :, 0].ravel())
print("and back:", np.array_equal(np.transpose(to_last, (0, 3, 1, 2)), small))

# %% [markdown]
# (Torch also has a `memory_format=torch.channels_last`: that changes how a tensor is laid out in
# memory for speed, while its shape and indexing stay `(N, C, H, W)`. It is not the same thing as
# Keras's layout.)
#
# ## 3. Module or function: `nn.MaxPool2d` and `F.max_pool2d`
#
# `nn.MaxPool2d` is a module: it stores its settings and can sit inside `nn.Sequential`.
# `F.max_pool2d` is the plain function the module calls. Neither has parameters, so they are
# interchangeable; poolkit follows the function style on NumPy arrays.

# %%
x = torch.randn(2, 3, 9, 9)
by_module = nn.MaxPool2d(3, stride=2, padding=1)(x)
by_function = F.max_pool2d(x, 3, stride=2, padding=1)
by_poolkit = poolkit.max_pool2d(x.numpy(), 3, stride=2, padding=1)
print("module == function:", torch.equal(by_module, by_function),
      "| poolkit difference:", np.abs(by_poolkit - by_function.numpy()).max())
print("parameters in nn.MaxPool2d:", sum(p.numel() for p in nn.MaxPool2d(3).parameters()))

out, idx = F.max_pool2d(torch.arange(16.0).reshape(1, 1, 4, 4), 2, return_indices=True)
print("return_indices on a 4x4 ramp (flat positions of the winners):", idx[0, 0].tolist())

# %% [markdown]
# ## 4. Reproducing Keras `padding='same'` in PyTorch
#
# Keras `'same'` promises an output length of $\lceil L/s \rceil$ and pads just enough for the
# last of those windows to fit, half before and half after; when the total is odd, the extra
# pixel goes to the end (bottom, right), and when the windows already fit, it pads nothing.
# The padding is never negative: with a window smaller than the stride, some pixels are
# simply never read (`pool_size=1, strides=3` on 6 pixels reads pixels 0 and 3).
# (Exercise 1 turns this sentence into code.)
#
# What torch does with its `padding=p` argument:
#
# - it pads **both** sides by the same $p$, so it cannot express an odd total;
# - `nn.MaxPool2d` pads with $-\infty$, not with zeros, so a padded position never wins a
#   maximum (you can check: on an all-negative input, `nn.MaxPool2d(2, 2, padding=1)` returns
#   only values from the input);
# - `nn.AvgPool2d` pads with zeros and, by default (`count_include_pad=True`), **counts** the
#   padded positions in the divisor: a corner window of a $3\times3$ pooling with `padding=1`
#   covers 4 real pixels and is still divided by 9. With `count_include_pad=False` it divides
#   by the number of real pixels, as Keras 'same' does.
#
# To rebuild Keras 'same' max pooling in torch, the recipe is:
#
# 1. work out the padding (before, after) per axis (Exercise 1);
# 2. pad explicitly with `F.pad(x, (left, right, top, bottom), value=-inf)` (F.pad lists the
#    last axis first; NumPy's `np.pad` takes one `(before, after)` pair per axis, first axis
#    first);
# 3. max-pool with no padding.
#
# A $-\infty$ never wins a maximum, so padded positions are ignored, which is what Keras does.

# %%
corner = torch.ones(1, 1, 3, 3)
print("nn.AvgPool2d(3, 1, padding=1) on ones, corner output:",
      round(nn.AvgPool2d(3, 1, padding=1)(corner)[0, 0, 0, 0].item(), 4), "(4/9);",
      "with count_include_pad=False:",
      nn.AvgPool2d(3, 1, padding=1, count_include_pad=False)(corner)[0, 0, 0, 0].item())
all_negative = -1.0 - torch.rand(1, 1, 4, 4)
print("nn.MaxPool2d(2, 2, padding=1) on an all-negative input, largest output:",
      round(nn.MaxPool2d(2, 2, padding=1)(all_negative).max().item(), 3), "(not 0)")
assert nn.MaxPool2d(2, 2, padding=1)(all_negative).max() < 0


def torch_same_max_pool2d(x, pool_size, strides, pads, pad_value=-float("inf")):
    # x: (N, C, H, W) tensor; pads = (left, right, top, bottom), F.pad's order (last axis
    # first). Keras 'same' max pooling rebuilt from F.pad + F.max_pool2d.
    padded = F.pad(x, pads, value=pad_value)
    return F.max_pool2d(padded, pool_size, strides)


def keras_channels_first(layer_cls, x, pool_size, strides, padding):
    # A Keras pooling layer run on a torch-layout (N, C, H, W) array: NumPy out.
    layer = layer_cls(pool_size, strides, padding=padding, data_format="channels_first")
    return keras.ops.convert_to_numpy(layer(x))


# %% [markdown]
# ### Why zero padding is wrong for max pooling
#
# Take a 7×7 feature map, a 2×2 window and stride 2. Keras 'same' promises $\lceil 7/2 \rceil = 4$
# outputs per axis; the four windows reach 8 pixels, so the total padding is 1, and it goes at
# the end (bottom and right): `pads = (0, 1, 0, 1)`.
#
# Padding with zeros is harmless as long as the feature map is non-negative (right after a
# ReLU). On a feature map that is *all negative*, every border window that touches the padding
# returns the padding's $0$ instead of the largest real value. That is why the recipe pads with
# $-\infty$, as torch itself does:

# %%
negative = -1.0 - rng.random((1, 1, 7, 7))                     # every value in [-2, -1)
keras_out = keras_channels_first(keras.layers.MaxPooling2D, negative, 2, 2, "same")[0, 0]
inf_pad = torch_same_max_pool2d(torch.from_numpy(negative), 2, 2, (0, 1, 0, 1))[0, 0].numpy()
zero_pad = torch_same_max_pool2d(torch.from_numpy(negative), 2, 2, (0, 1, 0, 1),
                                 pad_value=0.0)[0, 0].numpy()
np.set_printoptions(precision=2, suppress=True)
print("Keras 'same':\n", keras_out)
print("F.pad with -inf:\n", inf_pad)
print("F.pad with 0:\n", zero_pad)
wrong = ~np.isclose(zero_pad, keras_out)
print(f"-inf padding matches Keras: {np.allclose(inf_pad, keras_out)}; zero padding gets "
      f"{wrong.sum()} of {wrong.size} outputs wrong (the last row and column)")

# %% [markdown]
# The last row and column of windows hang over the border, and with zeros all 7 of them report
# $0$, a value that is not in the input at all. With $-\infty$ the recipe gives Keras's numbers.
#

# %% [markdown]
# **Step through it.** The window stepper shows the padded grid of an all-negative input; max pooling's padding is drawn as `-inf`, so a border window still returns a real value. Switch to average pooling and `count_include_pad` to see the other treatment. The widget also prints the torch call. It uses torch's symmetric `padding=1` on 5 pixels, where Keras 'same' would pad (0, 1): Exercise 2 asks when a single Keras layer computes the same as a torch one.

# %%
from poolkit import widgets

widgets.window_stepper(preset="all-negative", size=5, kernel_size=2, stride=2, padding=1)


# %% [markdown]
# For **average** pooling, Keras 'same' divides by the number of *real* pixels in each window.
# Pad with zeros (they add nothing to the sum) and divide by the pooled count of real pixels:

# %%
def torch_same_avg_pool2d(x, pool_size, strides, pads):
    # pads = (left, right, top, bottom) as for F.pad
    summed = F.avg_pool2d(F.pad(x, pads), pool_size, strides)
    real = F.avg_pool2d(F.pad(torch.ones_like(x[:, :1]), pads), pool_size, strides)
    return summed / real  # both divided by k*k, so the ratio is sum / number of real pixels


ours = torch_same_avg_pool2d(torch.from_numpy(negative), 2, 2, (0, 1, 0, 1)).numpy()
theirs = keras_channels_first(keras.layers.AveragePooling2D, negative, 2, 2, "same")
print("'same' average on the 7x7 map, largest difference to Keras:", np.abs(ours - theirs).max())

# %% [markdown]
# ### NaN: where the two frameworks part ways
#
# A NaN ("not a number", what `0 / 0` or a diverging training run leaves behind) is neither
# larger nor smaller than any number. Torch's max pooling lets a NaN win its window, so the NaN
# travels on and shows up in the loss; Keras (on TensorFlow) returns the largest of the *other*
# values, which hides it. One 2×2 window, measured:

# %%
with_nan = np.array([[1.0, np.nan], [3.0, 2.0]], dtype=np.float32)[None, None]  # (1, 1, 2, 2)
torch_says = nn.MaxPool2d(2)(torch.from_numpy(with_nan)).item()
keras_says = keras.ops.convert_to_numpy(
    keras.layers.MaxPooling2D(2, data_format="channels_first")(with_nan)).item()
print(f"max pooling of [[1, nan], [3, 2]]: torch {torch_says}, Keras {keras_says}, "
      f"np.max {np.max(with_nan)}")
# The text around this cell reads these two results; the assert keeps it true.
assert np.isnan(torch_says) and keras_says == 3.0


# %% [markdown]
# So a torch layer and its Keras translation can only promise the same numbers on **finite**
# inputs; Exercise 2 asks for exactly that.

# %% [markdown]
# ## 5. Exercises
#
# 1. **`keras_same_max_pool2d`** (with its helper `same_padding`): Keras 'same' max pooling
#    on a channels-last array, in NumPy.
# 2. **`torch_to_keras`**: translate an `nn.MaxPool2d`/`nn.AvgPool2d` configuration into Keras
#    layers, or explain (with a `ValueError`) why no translation exists.
# 3. **`pool_nets`**: a convolution then a max pooling, built in torch and in Keras with the
#    same weights (real framework code); the lesson then trains the Keras one briefly.
#
# Exercises 1 and 2 are NumPy or plain Python: their tests reject answers that call torch,
# TensorFlow, Keras or poolkit. Exercise 3 uses both frameworks. The tests compare your answers
# with Keras and torch on inputs with negative values, ties and odd sizes; a failing test names
# the case and gives a hint, or names the known mistake your result matches. Stuck?
# `ck.hint("torch_to_keras")` (any exercise's function name) prints where to reread and the
# rule; a test that keeps failing shows it by itself after three tries that differ in more
# than their numbers.

# %% [markdown]
# ### Exercise 1: Keras 'same' max pooling in NumPy (3 points)
#
# First write `same_padding(size, pool_size, strides=None)`: the `(before, after)` padding, two
# Python ints, that Keras `padding='same'` adds to one spatial axis of length `size`
# (`strides=None` means `pool_size`). Turn the rule of section 4 into arithmetic: how many
# outputs, how far the last window reaches, how much padding that needs (never negative), and
# which side gets an odd pixel.
#
# Then write `keras_same_max_pool2d(x, pool_size, strides=None)` for a **channels-last** input
# `x: (N, H, W, C)` with square windows (ints). It must give what
# `keras.layers.MaxPooling2D(pool_size, strides, padding='same')` gives: pad H and W with your
# `same_padding`, with the right value (section 4), and take window maxima. NumPy only.

# %% nbgrader={"grade": false, "grade_id": "keras_same_max_pool", "locked": false, "schema_version": 3, "solution": true, "task": false}
def same_padding(size, pool_size, strides=None):
    """(before, after) padding of Keras 'same' pooling along one axis of length `size`."""
    ### BEGIN SOLUTION
    strides = pool_size if strides is None else strides
    out = -(-size // strides)  # ceil(size / strides) with integers only
    total = max((out - 1) * strides + pool_size - size, 0)
    return int(total // 2), int(total - total // 2)
    ### END SOLUTION


def keras_same_max_pool2d(x, pool_size, strides=None):
    """Keras MaxPooling2D(pool_size, strides, padding='same') on x: (N, H, W, C).

    Returns (N, H_out, W_out, C) with H_out = ceil(H / strides) (W alike).
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    strides = pool_size if strides is None else strides
    n, height, width, c = x.shape
    (top, bottom), (left, right) = (same_padding(height, pool_size, strides),
                                    same_padding(width, pool_size, strides))
    # -inf never wins a max, so padded positions are ignored, as in Keras.
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf)
    h_out = -(-height // strides)
    w_out = -(-width // strides)
    out = np.full((n, h_out, w_out, c), -np.inf)
    for a in range(pool_size):
        for b in range(pool_size):
            taps = padded[:, a : a + strides * (h_out - 1) + 1 : strides,
                             b : b + strides * (w_out - 1) + 1 : strides, :]
            out = np.maximum(out, taps)
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_keras_same_max_pool_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import keras

# same_padding first: each expected pair was worked out by hand from the rule in section 4.
ck.assert_numpy_only(same_padding, hint="two ints from integer arithmetic; no framework needed")
for args, want, note in [((5, 2, 2), (0, 1), "odd total: the extra pixel goes at the end"),
                         ((24, 2, 2), (0, 0), "the (24, 24) example: no padding needed"),
                         ((7, 3, None), (1, 1), "strides=None means pool_size")]:
    case = f"same_padding(size={args[0]}, pool_size={args[1]}, strides={args[2]}): {note}"
    hint = ("first decide how many outputs 'same' promises, then how much padding they need; "
            "can padding ever be negative?")
    ck.assert_equal(ck.call(same_padding, *args, case=case, hint=hint), want, case=case, hint=hint)

# Keras itself on an all-negative input, where zero padding would win the border windows:
x = -1.0 - np.random.default_rng(8).random((1, 5, 5, 2))
want = keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(2, 2, padding="same")(x))
case = "x: shape (1, 5, 5, 2), all negative, pool_size=2, strides=2"
hint = "pad with -inf, so that padding never wins the maximum"
ck.assert_close(ck.call(keras_same_max_pool2d, x.copy(), 2, 2, case=case, hint=hint),
                want.astype(np.float64), case=case, hint=hint)

# Keras on two more inputs, and the rule that this exercise is NumPy only:
ck.assert_numpy_only(keras_same_max_pool2d)
rng_v = np.random.default_rng(9)
for x, k, s, note, hint in [
        (rng_v.normal(size=(2, 7, 6, 3)), 3, 2,
         "odd total padding: the extra row/column goes at the end",
         "which axes are H and W in channels last? pad both with your same_padding"),
        (rng_v.normal(size=(1, 4, 9, 2)), 2, None, "strides=None",
         "strides=None: what step does Keras take when no strides are given (section 1)? "
         "use it wherever your code needs the stride")]:
    want = keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(k, s, padding="same")(x))
    case = f"x: shape {x.shape}, pool_size={k}, strides={s} ({note})"
    ck.assert_close(ck.call(keras_same_max_pool2d, x.copy(), k, s, case=case, hint=hint),
                    want.astype(np.float64), rtol=1e-6, atol=1e-6, case=case, hint=hint)
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_keras_same_max_pool_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
ck.check_against_oracle(
    same_padding, "poolgrade.answers:05-keras-and-pytorch.same_padding",
    ck.keras_size_cases(seed=505, n=30), numpy_only=True,
    hint="the padding is never negative, and an odd total is not split evenly (section 4)")
ck.check_against_oracle(
    same_padding, "poolgrade.answers:05-keras-and-pytorch.same_padding",
    ck.literal_cases([((size, k, s), {}, note)
                      for size, k, s, note in [(1, 3, None, "strides=None"),
                                               (9, 4, None, "strides=None"),
                                               (6, 1, 3, "window smaller than the stride"),
                                               (6, 4, 1, "stride 1")]],
                     names=("size", "pool_size", "strides")),
    numpy_only=True, hint="strides=None means strides = pool_size; padding is never negative")
case_rng = np.random.default_rng(5005)
cases = []
for i in range(12):
    k = int(case_rng.integers(1, 5))
    s = None if i % 4 == 3 else int(case_rng.integers(1, 4))
    shape = (int(case_rng.integers(1, 3)), int(case_rng.integers(1, 10)),
             int(case_rng.integers(1, 10)), int(case_rng.integers(1, 4)))
    style = ("negative", "ties", "normal")[i % 3]
    if style == "negative":
        x = -case_rng.uniform(0.5, 5.0, size=shape)
    elif style == "ties":
        x = case_rng.integers(-3, 4, size=shape).astype(np.float64)
    else:
        x = case_rng.normal(0.0, 2.0, size=shape)
    cases.append(((ck.arr(x.tolist()), k, s), {}, f"values: {style}"))
# the strides=None cases apart, so that their failure hints at the default stride
for given, hint in [(True, "padded positions must never win a max: what value never wins?"),
                    (False, "strides=None: what step does Keras take when no strides are "
                     "given? use it wherever your code needs the stride")]:
    ck.check_against_oracle(
        keras_same_max_pool2d, "poolgrade.answers:05-keras-and-pytorch.keras_same_max_pool2d",
        ck.literal_cases([c for c in cases if (c[0][2] is not None) == given],
                         names=("x", "pool_size", "strides")), numpy_only=True, hint=hint)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: translating a torch layer into Keras (5 points)
#
# A colleague's PyTorch model uses `nn.MaxPool2d` and `nn.AvgPool2d` layers; you port it to
# Keras. Write `torch_to_keras(layer, input_hw)`:
#
# - `layer` describes the torch layer as a dict: `{"type": "MaxPool2d" or "AvgPool2d",
#   "kernel_size": k, "stride": s, "padding": p}`, plus `"count_include_pad": True/False` for
#   `AvgPool2d` (missing means torch's default, `True`). `k`, `s`, `p` are ints or `(h, w)`
#   pairs; `stride` may be `None` (torch then uses `kernel_size`). `ceil_mode` is always `False`.
# - `input_hw` is the `(H, W)` of the feature maps that reach the layer.
# - Return the Keras layers, as data: a list of `(class_name, kwargs)` pairs applied in order
#   to the channels-last input. At most one `("ZeroPadding2D", {"padding": ((top, bottom),
#   (left, right))})` first, then exactly one `("MaxPooling2D", {...})` or
#   `("AveragePooling2D", {...})` with keys `pool_size`, `strides`, `padding`
#   (`"valid"` or `"same"`). Keep the torch layer's window and step: `pool_size` and
#   `strides` must describe the same `kernel_size` and `stride`, each as an int or an
#   `(h, w)` tuple (both are accepted). Your `ZeroPadding2D`, if any, may pad each side by at
#   most the torch layer's largest `kernel_size` (the tests refuse more).
# - When no such list gives the same numbers as the torch layer on every finite input (NaN
#   is where the frameworks part ways, section 4), raise `ValueError` (with a message saying
#   why).
#
# The tests build the real torch layer and your Keras layers from this data, run both on
# finite inputs (normal values, all negative, small integers full of ties; odd sizes) and
# compare every number. For Section 2's classic example, `nn.MaxPool2d(2, 2)` takes
# `(1, 16, 24, 24)` to `(1, 16, 12, 12)`; your Keras layers must take `(1, 24, 24, 16)` to
# `(1, 12, 12, 16)` with the same values. Section 4 says what each framework does with its
# padded positions. Plain Python (and NumPy) only; you may call your own `same_padding` from
# Exercise 1 (your code is not a banned package).

# %% nbgrader={"grade": false, "grade_id": "torch_to_keras", "locked": false, "schema_version": 3, "solution": true, "task": false}
def torch_to_keras(layer, input_hw):
    """Keras layers [(class_name, kwargs), ...] computing what the torch pooling `layer`
    computes on (H, W) = input_hw feature maps; ValueError when no such layers exist."""
    ### BEGIN SOLUTION
    def pair(v):
        return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))

    keras_name = {"MaxPool2d": "MaxPooling2D", "AvgPool2d": "AveragePooling2D"}[layer["type"]]
    k = pair(layer["kernel_size"])
    s = k if layer.get("stride") is None else pair(layer["stride"])
    p = pair(layer.get("padding", 0))
    pool = {"pool_size": k, "strides": s}
    if p == (0, 0):
        return [(keras_name, {**pool, "padding": "valid"})]
    if layer["type"] == "AvgPool2d" and layer.get("count_include_pad", True):
        # Padding counted in the divisor: it is just zeros around the input.
        return [("ZeroPadding2D", {"padding": ((p[0], p[0]), (p[1], p[1]))}),
                (keras_name, {**pool, "padding": "valid"})]
    # The padding must be ignored (max: -inf; avg: not counted). Only Keras 'same' ignores its
    # padding, so 'same' must put exactly p before and give torch's output size on both axes.
    for axis, size, kk, ss, pp in zip("HW", input_hw, k, s, p):
        out_torch = (size + 2 * pp - kk) // ss + 1
        out_same = -(-size // ss)
        before = max((out_same - 1) * ss + kk - size, 0) // 2
        if out_same != out_torch or before != pp:
            raise ValueError(f"axis {axis}: torch pads {pp} before and gives {out_torch} "
                             f"outputs; Keras 'same' pads {before} before and gives {out_same}")
    return [(keras_name, {**pool, "padding": "same"})]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_torch_to_keras_visible", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import keras
import torch
import torch.nn as nn
from poolkit.checks.hints import expected_failure


def run_torch_pool(layer, x):
    # the torch layer described by the dict, on x: (N, C, H, W)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in layer.items() if k != "type"}
    with torch.no_grad():
        return getattr(nn, layer["type"])(**kwargs)(torch.from_numpy(x)).numpy()


def run_keras_layers(spec, x):
    # the answer's Keras layers, in order, on x: (N, H, W, C); ValueError if one cannot be built
    out = np.ascontiguousarray(x, dtype=np.float32)
    tuples = (lambda v: tuple(tuples(t) for t in v) if isinstance(v, (list, tuple)) else v)
    for name, kwargs in spec:
        try:
            layer = getattr(keras.layers, name)(**{k: tuples(v) for k, v in kwargs.items()})
        except (TypeError, ValueError) as err:
            raise ValueError(f"keras.layers.{name}(**{kwargs!r}) failed: {err}") from None
        out = keras.ops.convert_to_numpy(layer(out))
    return out


def adversarial_input(channels, input_hw, seed):
    # (3, channels, H, W) float32, finite: where the usual wrong translations differ from
    # torch (zero padding wins on negative values, ties) and plain noise would hide it
    rng_x = np.random.default_rng(seed)
    x = rng_x.standard_normal((3, channels, *input_hw)).astype(np.float32)
    x[1] = -np.abs(x[1]) - 0.5
    x[2] = rng_x.integers(-2, 3, size=x[2].shape)
    return x


def require_small_padding(spec, most, case, hint):
    # the test pads real arrays by the answer's ZeroPadding2D: its sizes are checked first
    ck.require(isinstance(spec, (list, tuple)) and len(spec) <= 2,
               f"expected at most one ZeroPadding2D, then one pooling layer; got {spec!r}",
               case=case, hint=hint, exercise="torch_to_keras")
    for item in spec:
        if isinstance(item, (list, tuple)) and len(item) == 2 \
                and item[0] == "ZeroPadding2D" and isinstance(item[1], dict):
            padding = item[1].get("padding", 1)
            for side in padding[:2] if isinstance(padding, (list, tuple)) else [padding]:
                for amount in side[:2] if isinstance(side, (list, tuple)) else [side]:
                    ck.require_int(amount, 0, most, "each ZeroPadding2D padding", case=case,
                                   hint=hint, exercise="torch_to_keras")


def check_translation(layer, input_hw, hint, possible=True, seed=0):
    case = f"layer={layer}, input_hw={input_hw}"
    if not possible:
        try:
            with expected_failure():            # raising is the right answer: no diagnosis here
                spec = ck.call(torch_to_keras, dict(layer), tuple(input_hw), case=case,
                               hint=hint)
        except AssertionError as exc:
            if " raised ValueError" in str(exc).partition("\n")[0]:
                return
            raise
        ck.require(False, f"torch_to_keras returned {spec!r}, but no Keras layers compute this "
                   f"torch layer: it should raise ValueError", case=case, hint=hint,
                   exercise="torch_to_keras")
    spec = ck.call(torch_to_keras, dict(layer), tuple(input_hw), case=case, hint=hint)
    ck.assert_numpy_only(torch_to_keras, hint="plain Python and NumPy decide this; the tests "
                         "build the layers")
    rule = ("a list: at most one ZeroPadding2D, then one MaxPooling2D/AveragePooling2D "
            "with pool_size, strides, padding")
    names = [item[0] if isinstance(item, (tuple, list)) and len(item) == 2 else None
             for item in (spec if isinstance(spec, (list, tuple)) else [None])]
    shape_ok = names in (["MaxPooling2D"], ["AveragePooling2D"], ["ZeroPadding2D", "MaxPooling2D"],
                         ["ZeroPadding2D", "AveragePooling2D"])
    ck.require(shape_ok, f"expected {rule}; got {spec!r}", case=case, hint=hint,
               exercise="torch_to_keras")
    pair = (lambda v: (int(v), int(v)) if isinstance(v, (int, np.integer))
            else tuple(int(t) for t in v))
    kwargs = spec[-1][1]
    k = pair(layer["kernel_size"])
    s = k if layer.get("stride") is None else pair(layer["stride"])
    ck.assert_equal(pair(kwargs.get("pool_size", 0)), k, case=case + " [pool_size]",
                    hint="keep torch's window: pool_size describes kernel_size")
    strides = kwargs.get("strides")
    ck.assert_equal(pair(kwargs["pool_size"] if strides is None else strides), s,
                    case=case + " [strides]", hint="keep torch's step: strides describes stride")
    require_small_padding(spec, max(k), case, hint)
    x = adversarial_input(3, input_hw, seed)
    want = run_torch_pool(layer, x)
    try:
        got = run_keras_layers(spec, x.transpose(0, 2, 3, 1))
    except ValueError as err:
        problem = str(err)
    else:
        problem = ""
    ck.require(not problem, f"your Keras layers cannot be built: {problem}", case=case,
               hint=hint, exercise="torch_to_keras")
    ck.assert_close(got.transpose(0, 3, 1, 2), want, rtol=1e-5, atol=1e-6,
                    case=case + " [torch vs your Keras layers; sample 0 normal, sample 1 all "
                    "negative, sample 2 small integers (ties)]", hint=hint)


# Section 2's example: (1, 16, 24, 24) -> (1, 16, 12, 12) in torch, channels last in Keras.
spec = ck.call(torch_to_keras, {"type": "MaxPool2d", "kernel_size": 2, "stride": 2,
                                "padding": 0}, (24, 24), case="nn.MaxPool2d(2, 2) on 24 x 24")
require_small_padding(spec, 2, "nn.MaxPool2d(2, 2) on 24 x 24", "no padding in torch here")
seed_out = run_keras_layers(spec, np.zeros((1, 24, 24, 16), np.float32))
ck.assert_equal(seed_out.shape, (1, 12, 12, 16), case="nn.MaxPool2d(2, 2) on (1, 24, 24, 16)",
                hint="Keras keeps channels last")
# Each failure's hint says what to compare; the rule is yours to find (section 4).
AXES = "axis by axis: the output size, and where the first and last windows start and end"
check_translation({"type": "MaxPool2d", "kernel_size": 2, "stride": 2, "padding": 0}, (24, 24),
                  "compare how much your Keras layers pad with how much torch pads")
check_translation({"type": "AvgPool2d", "kernel_size": (3, 2), "stride": None, "padding": 0},
                  (7, 9), "check your strides against torch's step, and compare " + AXES)
check_translation({"type": "AvgPool2d", "kernel_size": (3, 2), "stride": 2, "padding": (1, 0)},
                  (8, 9), "on each axis, compare a border window in both: which values it "
                  "sums, and what it divides by")
check_translation({"type": "MaxPool2d", "kernel_size": 3, "stride": 1, "padding": 1}, (6, 5),
                  "compare a border window in both: which values can win it? then " + AXES)
check_translation({"type": "AvgPool2d", "kernel_size": (3, 1), "stride": 1, "padding": (1, 0),
                   "count_include_pad": False}, (6, 5),
                  "compare a border window in both: what it divides by; then " + AXES)
check_translation({"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "padding": 1}, (25, 25),
                  "compare " + AXES)
check_translation({"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "padding": 1}, (24, 24),
                  "compare " + AXES, possible=False)
check_translation({"type": "AvgPool2d", "kernel_size": 3, "stride": 2, "padding": 1,
                   "count_include_pad": False}, (10, 9), "compare " + AXES, possible=False)
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_torch_to_keras_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
# check_translation and its helpers: the visible test's (the grader shares a lesson's test
# helpers; only definitions carry over, so the imports come again)
import keras
import torch
import torch.nn as nn
from poolkit.checks.hints import expected_failure

ck.assert_numpy_only(torch_to_keras)


def padded_pool(kind, k, stride, padding, count_include_pad, hw):
    layer = {"type": kind, "kernel_size": k, "stride": stride, "padding": padding}
    if kind == "AvgPool2d":
        layer["count_include_pad"] = count_include_pad
    return layer, hw


# Random configurations. Whether a translation exists was checked for each one by trying every
# ZeroPadding2D up to 5 pixels per side with both Keras padding modes.
cases = []
for seed in (5120, 5123):
    case_rng = np.random.default_rng(seed)
    found = []
    while len(found) < 16:
        kind = ("MaxPool2d", "AvgPool2d")[len(found) % 2]
        k = [int(v) for v in case_rng.integers(1, 5, size=2)]
        p = [int(case_rng.integers(0, kk // 2 + 1)) if case_rng.random() < 0.6 else 0
             for kk in k]
        hw = tuple(int(v) for v in case_rng.integers(5, 14, size=2))
        kernel = k[0] if case_rng.random() < 0.5 else tuple(k)
        if isinstance(kernel, int):
            k = [k[0], k[0]]
            p = [p[0], p[0]] if case_rng.random() < 0.7 else [p[0], min(p[1], k[0] // 2)]
        r = case_rng.random()
        stride = (None if r < 0.25 else int(case_rng.integers(1, 4)) if r < 0.7
                  else tuple(int(v) for v in case_rng.integers(1, 4, size=2)))
        padding = p[0] if p[0] == p[1] else tuple(p)
        cip = bool(case_rng.random() < 0.5) if kind == "AvgPool2d" else None
        s = k if stride is None else [stride] * 2 if isinstance(stride, int) else list(stride)
        if min((n + 2 * pp - kk) // ss + 1 for n, kk, ss, pp in zip(hw, k, s, p)) < 2:
            continue
        found.append(padded_pool(kind, kernel, stride, padding, cip, hw))
    cases += found
for i, (layer, hw) in enumerate(cases):
    k = layer["kernel_size"]
    k = (k, k) if isinstance(k, int) else k
    s = k if layer["stride"] is None else layer["stride"]
    s = (s, s) if isinstance(s, int) else s
    p = layer["padding"]
    p = (p, p) if isinstance(p, int) else p
    possible = p == (0, 0) or (layer["type"] == "AvgPool2d" and layer["count_include_pad"])
    if not possible:
        possible = all(-(-n // ss) == (n + 2 * pp - kk) // ss + 1
                       and max((-(-n // ss) - 1) * ss + kk - n, 0) // 2 == pp
                       for n, kk, ss, pp in zip(hw, k, s, p))
    check_translation(layer, hw, "compare what each framework does with the padded positions",
                      possible=possible, seed=100 + i)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: one small model in both frameworks (3 points)
#
# Now real framework code. A colleague's torch model, for `(N, 2, 9, 9)` inputs, is
#
# ```python
# nn.Sequential(nn.Conv2d(2, 5, kernel_size=3), nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
# ```
#
# Write `pool_nets(x, conv_weight, conv_bias)` that
#
# - builds this torch model and copies `conv_weight` (torch's layout, `(out_channels,
#   in_channels, kernel_h, kernel_w)` = `(5, 2, 3, 3)`) and `conv_bias` (`(5,)`) into its
#   convolution (with the parameter's in-place `copy_`, inside `torch.no_grad()`; run the
#   model there too, or `.detach()` its output, since `.numpy()` refuses a tensor that
#   carries gradients);
# - builds the Keras model that computes the same numbers: a `keras.Sequential` (a list of
#   layers applied in order, like `nn.Sequential`) that starts with `keras.Input(shape=(9, 9,
#   2))` (the shape of one sample, channels last, without the batch axis), then the `Conv2D`
#   and `MaxPooling2D` layers imported at the top of the function, with the same weights
#   copied in by the convolution layer's `set_weights([kernel, bias])`. To reach that layer,
#   keep it in a variable when you build the model, or use `model.layers[0]` (in Keras 3 the
#   `Input` is not one of `model.layers`, so index 0 is the convolution). Keras stores a
#   `Conv2D` kernel as `(kernel_h, kernel_w, in_channels, out_channels)`. Which `padding` gives
#   torch's `padding=1` here? (Section 4 and Exercise 2.)
# - runs `x` (float32, `(N, 2, 9, 9)`, torch's layout) through both models and returns a dict:
#   `"torch_output"`, the torch model's output as a NumPy array `(N, 5, 4, 4)`;
#   `"keras_output"`, the Keras model's output as a NumPy array, channels last `(N, 4, 4, 5)`;
#   `"torch_parameters"` and `"keras_parameters"`, the numbers of parameters each framework
#   counts for its model (Python ints; in torch add up `p.numel()` over `model.parameters()` as
#   in section 3, in Keras ask `model.count_params()`).
#
# The tests run your function on inputs chosen where slips show (weights that make every
# convolution output negative, small integers full of ties) and compare both outputs with
# torch and Keras.

# %% nbgrader={"grade": false, "grade_id": "pool_nets", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pool_nets(x, conv_weight, conv_bias):
    """The torch model above and its Keras twin, with the given weights, run on x:
    (N, 2, 9, 9). Returns {"torch_output": (N, 5, 4, 4), "keras_output": (N, 4, 4, 5),
    "torch_parameters": int, "keras_parameters": int}."""
    import keras
    import torch
    import torch.nn as nn
    from tensorflow.keras.layers import Conv2D, MaxPooling2D

    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float32)
    torch_model = nn.Sequential(nn.Conv2d(2, 5, kernel_size=3),
                                nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
    with torch.no_grad():
        torch_model[0].weight.copy_(torch.from_numpy(np.asarray(conv_weight, np.float32)))
        torch_model[0].bias.copy_(torch.from_numpy(np.asarray(conv_bias, np.float32)))
        torch_output = torch_model(torch.from_numpy(x)).numpy()
    # On 7 x 7 feature maps 'same' pads (1, 1), torch's padding=1, and ignores the padding
    # as torch's -inf does; 'valid' would give 3 x 3 outputs.
    keras_model = keras.Sequential([keras.Input(shape=(9, 9, 2)), Conv2D(5, 3),
                                    MaxPooling2D(pool_size=3, strides=2, padding="same")])
    kernel = np.transpose(np.asarray(conv_weight, np.float32), (2, 3, 1, 0))
    keras_model.layers[0].set_weights([kernel, np.asarray(conv_bias, np.float32)])
    keras_output = keras.ops.convert_to_numpy(keras_model(np.transpose(x, (0, 2, 3, 1))))
    return {"torch_output": torch_output, "keras_output": keras_output,
            "torch_parameters": sum(p.numel() for p in torch_model.parameters()),
            "keras_parameters": keras_model.count_params()}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_pool_nets_visible", "locked": true, "points": 1.5, "schema_version": 3, "solution": false, "task": false}
import torch
import torch.nn.functional as F

RESULT_KEYS = ("torch_output", "keras_output", "torch_parameters", "keras_parameters")
rng_v = np.random.default_rng(60)
x = rng_v.standard_normal((2, 2, 9, 9)).astype(np.float32)
w = (0.3 * rng_v.standard_normal((5, 2, 3, 3))).astype(np.float32)
b = np.full(5, -8.0, np.float32)   # every convolution output is negative: zeros would win
case = "x: (2, 2, 9, 9), weights that make every convolution output negative"
hint = "build both models from the exercise text; copy the same weights into both"
got = ck.call(pool_nets, x.copy(), w.copy(), b.copy(), case=case, hint=hint)
ck.require(isinstance(got, dict) and all(key in got for key in RESULT_KEYS),
           f"expected a dict with the keys {RESULT_KEYS}; got {got!r:.200}", case=case,
           hint=hint, exercise="pool_nets")
# Counted by hand: 5 filters of 2 x 3 x 3 weights, plus 5 biases; pooling adds none.
for key in ("torch_parameters", "keras_parameters"):
    ck.assert_equal(got[key], 95, case=f"{case} [{key}]",
                    hint="count every weight and bias of the model; pooling has none")
ck.assert_equal(np.shape(got["torch_output"]), (2, 5, 4, 4), case=case + " [torch_output shape]",
                hint="torch keeps channels first")
ck.assert_equal(np.shape(got["keras_output"]), (2, 4, 4, 5), case=case + " [keras_output shape]",
                hint="Keras works channels last; are the layers in torch's order, and which "
                     "padding turns the 7 x 7 convolution output into 4 x 4?")
# torch's functions, one step after the other, as the reference:
want = F.max_pool2d(F.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)),
                    3, 2, 1).numpy()
ck.assert_close(got["torch_output"], want, rtol=1e-5, atol=1e-5,
                case=case + " [torch_output]", hint="copy the given weights into the convolution")
ck.assert_close(np.transpose(got["keras_output"], (0, 3, 1, 2)), want, rtol=1e-4, atol=1e-4,
                case=case + " [keras_output, moved to channels first, vs torch]",
                hint="a Keras kernel is (kernel_h, kernel_w, in, out), a transpose of torch's; "
                     "and padding must never win a max (section 4)")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_pool_nets_hidden", "locked": true, "points": 1.5, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
import poolgrade.answers

bridges = poolgrade.answers.instructor_answers("05-keras-and-pytorch")
case_rng = np.random.default_rng(6006)
cases = []
x = case_rng.standard_normal((3, 2, 9, 9)).astype(np.float32)
w = (0.3 * case_rng.standard_normal((5, 2, 3, 3))).astype(np.float32)
cases.append((x, w, np.full(5, -8.0, np.float32), "every convolution output negative"))
x = case_rng.integers(-2, 3, size=(2, 2, 9, 9)).astype(np.float32)
w = case_rng.integers(-1, 2, size=(5, 2, 3, 3)).astype(np.float32)
cases.append((x, w, np.zeros(5, np.float32), "small integers: ties everywhere"))
x = case_rng.standard_normal((1, 2, 9, 9)).astype(np.float32)
w = case_rng.standard_normal((5, 2, 3, 3)).astype(np.float32)
cases.append((x, w, case_rng.standard_normal(5).astype(np.float32), "normal values"))
for x, w, b, note in cases:
    case = f"x: {x.shape}, {note}"
    hint = "the same weights, the same padding behaviour, and Keras's channels-last layout"
    got = ck.call(pool_nets, x.copy(), w.copy(), b.copy(), case=case, hint=hint)
    want = bridges.pool_nets(x, w, b)
    ck.require(isinstance(got, dict) and all(key in got for key in want),
               f"expected a dict with the keys {tuple(want)}", case=case, hint=hint,
               exercise="pool_nets")
    for key in ("torch_parameters", "keras_parameters"):
        ck.assert_equal(got[key], want[key], case=f"{case} [{key}]", hint=hint)
    for key in ("torch_output", "keras_output"):
        ck.assert_close(got[key], want[key], rtol=1e-4, atol=1e-4, case=f"{case} [{key}]",
                        hint=hint)
### END HIDDEN TESTS

# %% [markdown]
# ### Your model, trained (not graded)
#
# The Keras half of Exercise 3, on the course's shapes data (`poolkit.data.make_shapes`: 28×28
# one-channel images of four shapes at random places), with a small head: `Flatten` lays the
# pooled maps out as one vector and a `Dense` layer turns it into four class probabilities
# (lesson 06 explains how). The cell fits it for a few seconds and measures it on 400 images
# it has not seen.

# %%
from tensorflow.keras.layers import Conv2D, Dense, Flatten, MaxPooling2D

from poolkit.data import SHAPE_CLASSES, make_shapes

train_x, train_y = make_shapes(400, seed=0)      # (400, 1, 28, 28), labels 0..3
val_x, val_y = make_shapes(400, seed=1)
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(28, 28, 1)), Conv2D(5, 3),
                          MaxPooling2D(pool_size=3, strides=2, padding="same"),
                          Flatten(), Dense(len(SHAPE_CLASSES), activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(np.transpose(train_x, (0, 2, 3, 1)), train_y, epochs=15, batch_size=32, verbose=0)
_, val_accuracy = model.evaluate(np.transpose(val_x, (0, 2, 3, 1)), val_y, verbose=0)
print(f"{model.count_params()} parameters; accuracy on 400 new images: {val_accuracy:.2f} "
      f"(guessing: {1 / len(SHAPE_CLASSES):.2f})")

# %% [markdown]
# Expect an accuracy well above guessing but far from perfect, around 0.6 to 0.7 (it moves a
# little between machines): one convolution and one pooling see only small patches, and the
# dense layer must learn each shape at every place it can appear. Lessons 02 and 06 build
# models that do better.

# %% [markdown]
# ## Summary
#
# - Keras `MaxPooling2D(pool_size, strides, padding)` and torch `nn.MaxPool2d(kernel_size, stride,
#   padding)` compute the same thing; Keras works channels last `(N, H, W, C)`, torch channels
#   first `(N, C, H, W)`. `(1, 16, 24, 24)` → `(1, 16, 12, 12)` in torch is
#   `(1, 24, 24, 16)` → `(1, 12, 12, 16)` in Keras. Convert with a transpose, never a reshape.
# - Keras `'same'` pads asymmetrically (extra at the end). In torch: `F.pad` with `-inf`, then
#   pool. Torch's own max pooling pads with $-\infty$; its average pooling counts zero padding in
#   the divisor unless `count_include_pad=False`. Zero padding breaks max pooling on negative
#   inputs; 'same' averages divide by the real pixels only.
# - Translating a torch pooling layer into Keras comes down to what each framework does with
#   the padded positions (do they count? can they win?), and to how much each one pads on each
#   side, which for Keras 'same' depends on the input size. Some torch layers have no
#   single-layer Keras translation.
# - The two agree on finite inputs only: a NaN wins a torch max pooling window, while Keras
#   returns the largest of the other values.
# - Porting a model means the same layers in the same order, the input moved to channels last,
#   and the weights moved too: a torch convolution kernel `(out, in, kh, kw)` is a Keras
#   kernel `(kh, kw, in, out)`, a transpose.

# %% [markdown]
# ## Going further (optional, not graded)
#
# ### Two Keras layers for one torch layer
#
# Some torch layers that no single Keras pooling layer translates can be translated by a stack
# of *two*: a stride-1 `'same'` pooling, then a `MaxPooling2D(1, s)` that only keeps every
# `s`-th row and column. Take a max pooling for which your `torch_to_keras` raises
# `ValueError`, try the stack, and work out when it gives torch's numbers, and why.
#
# ### The backward pass, checked against autograd
#
# Pooling has no parameters, but gradients still have to flow *through* it to the layers before.
# The rules:
#
# - **max pooling**: each output's gradient goes to the input that won the window; all other
#   inputs in the window get 0. Where windows overlap, an input that wins several windows
#   collects the sum of their gradients. On a **tie** the maximum has no derivative, and a
#   framework has to choose: torch sends the whole gradient to the *first* maximum in row-major
#   order (TensorFlow's `max_pool2d` does the same). That is a convention, not a law: below,
#   TensorFlow's `reduce_max` splits a tie's gradient evenly between the tied inputs.
# - **average pooling**: each output's gradient is divided by the window's divisor and spread
#   over the whole window; overlaps add up too.
#
# Two 1-D examples with window 2 and stride 1 (so neighbouring windows overlap), with ones as
# the gradient from above:

# %%
for values in ([3.0, 3.0, 1.0, 3.0], [1.0, 3.0, 2.0]):
    x = torch.tensor([[values]], requires_grad=True)
    out, idx = F.max_pool1d(x, kernel_size=2, stride=1, return_indices=True)
    out.sum().backward()
    print(f"x = {values}: outputs {out.detach()[0, 0].tolist()}, "
          f"winners {idx[0, 0].tolist()}, gradient {x.grad[0, 0].tolist()}")

# %% [markdown]
# In `[3, 3, 1, 3]` the first window `[3, 3]` is a tie: torch sends its gradient to position 0,
# the first maximum, not to both. Position 1 wins the second window, position 3 the third, and
# position 2 never wins, so it gets 0. In `[1, 3, 2]` the 3 wins *both* windows and collects
# both gradients: 2.
#
# At a tie, any split of the gradient among the tied maxima only, with shares that are
# non-negative and add up to 1, is a valid (sub)gradient of the maximum. A share on an input
# that did not tie for the maximum, or a negative share, is not. TensorFlow shows two valid
# choices side by side: its pooling op follows torch's rule, its `reduce_max` splits the
# gradient evenly among the tied values.

# %%
import tensorflow as tf

tied = tf.Variable([[3.0, 3.0, 1.0, 3.0]])
with tf.GradientTape() as tape:
    top = tf.reduce_max(tied)
split = tape.gradient(top, tied).numpy()[0]
window = tf.Variable(tf.fill((1, 2, 2, 1), 3.0))           # one 2x2 window, all tied
with tf.GradientTape() as tape:
    pooled = tf.nn.max_pool2d(window, 2, 2, "VALID")
first = tape.gradient(pooled, window).numpy().ravel()
print("tf.reduce_max over [3, 3, 1, 3]:         gradient",
      [round(float(v), 3) for v in split])
print("tf.nn.max_pool2d on a tied 2x2 window:   gradient", first.tolist())
assert np.allclose(split, [1 / 3, 1 / 3, 0, 1 / 3]) and first.tolist() == [1, 0, 0, 0]


# %% [markdown]
# Now in 2-D: autograd's gradient with respect to the input, for max and average pooling, on
# inputs drawn from a few integers so that ties are everywhere, with overlapping windows. Two
# sums check the rules above without any loop: every output hands on its whole gradient to
# max pooling's input (the shares add up to 1), and with `padding=0` average pooling does too.

# %%
def autograd_backward(pool, x, grad_output, **settings):
    # Let torch differentiate <pool(x), grad_output> with respect to x.
    xt = torch.from_numpy(x).requires_grad_()
    pool(xt, **settings).backward(torch.from_numpy(grad_output))
    return xt.grad.numpy()


print(f"{'pool':>4} {'k':>2} {'s':>2} {'p':>2} {'overlap':>7} {'sum of dy':>10} {'sum of dx':>10}"
      f" {'nonzero dx':>10}")
for k, s, p in [(2, 2, 0), (3, 1, 0), (3, 2, 1), (2, 1, 1)]:
    x = rng.integers(-2, 3, size=(2, 3, 7, 8)).astype(np.float64)  # 336 entries, 5 values
    g = rng.standard_normal(F.max_pool2d(torch.from_numpy(x), k, s, p).shape)
    for name, pool in [("max", F.max_pool2d), ("avg", F.avg_pool2d)]:
        dx = autograd_backward(pool, x, g, kernel_size=k, stride=s, padding=p)
        print(f"{name:>4} {k:>2} {s:>2} {p:>2} {str(s < k):>7} {g.sum():>10.4f} {dx.sum():>10.4f}"
              f" {np.count_nonzero(dx):>10}")

# %% [markdown]
# Max pooling passes every output's gradient on whole (its two sums agree in every row).
# Average pooling does so too without padding; with padding, the share of each border window
# that falls on the padding goes nowhere, so the two sums differ (in either direction: the
# gradients have both signs). Max pooling's gradient reaches few inputs (the winners),
# average pooling's nearly all of them.
#
# Try it: write `max_pool2d_backward(grad_output, x, kernel_size, stride)` in NumPy (loop
# over output positions; `np.argmax` returns the first maximum, torch's tie rule) and compare
# it with `autograd_backward(F.max_pool2d, ...)` from the cell above.
#
# A gradient can also be checked without any framework, CS231n style: nudge each input by $\pm h$
# and compare the change of the loss with the analytic gradient. Max pooling is only
# differentiable where the maximum is unique, so this check uses tie-free random input; the
# printed number is the relative error $\frac{|a-b|}{\max(|a|, |b|)}$.

# %%
x = rng.standard_normal((1, 2, 5, 5))
g = rng.standard_normal(poolkit.max_pool2d(x, 3, 1).shape)
analytic = autograd_backward(F.max_pool2d, x, g, kernel_size=3, stride=1)


def loss(t):
    # A scalar whose gradient with respect to the pooling output is g.
    return float(np.sum(poolkit.max_pool2d(t, 3, 1) * g))


numeric = np.zeros_like(x)
h = 1e-6
for pos in np.ndindex(x.shape):
    bump = np.zeros_like(x)
    bump[pos] = h
    numeric[pos] = (loss(x + bump) - loss(x - bump)) / (2 * h)
rel = np.abs(numeric - analytic).max() / max(np.abs(numeric).max(), np.abs(analytic).max())
print(f"relative error, finite differences vs autograd: {rel:.1e}")

# %% [markdown]
# Where does the gradient land on a real image? Counting how many windows each pixel wins
# (the max-pool backward pass with ones as the upstream gradient) shows the difference between
# non-overlapping and overlapping windows: with $2\times2$/2 every window sends its gradient to
# exactly one of its four pixels (at most 1 per pixel, 75% get 0); with $3\times3$/1 a bright
# pixel can collect the gradient of up to 9 windows.

# %%
image = data.sample_image(48)[None, None]                       # (1, 1, 48, 48)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
axes[0].imshow(image[0, 0], cmap="gray")
axes[0].set_title("input")
for ax, (k, s) in zip(axes[1:], [(2, 2), (3, 1)]):
    ones = np.ones(poolkit.max_pool2d(image, k, s).shape)
    wins = autograd_backward(F.max_pool2d, image.astype(np.float64), ones,
                             kernel_size=k, stride=s)[0, 0]
    shown = ax.imshow(wins, cmap="magma")
    ax.set_title(f"windows won, {k}x{k} stride {s}\n(max {wins.max():.0f}, "
                 f"{np.mean(wins == 0):.0%} of pixels get 0)", fontsize=9)
    fig.colorbar(shown, ax=ax, shrink=0.8)
for ax in axes:
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## References
#
# - PyTorch documentation: [`torch.nn.MaxPool2d`](https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html),
#   [`torch.nn.AvgPool2d`](https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html),
#   [`torch.nn.functional.pad`](https://pytorch.org/docs/stable/generated/torch.nn.functional.pad.html),
#   [`torch.nn.Conv2d`](https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html).
# - Keras 3 documentation: [`MaxPooling2D`](https://keras.io/api/layers/pooling_layers/max_pooling2d/),
#   [`AveragePooling2D`](https://keras.io/api/layers/pooling_layers/average_pooling2d/),
#   [`ZeroPadding2D`](https://keras.io/api/layers/reshaping_layers/zero_padding2d/),
#   [`Conv2D`](https://keras.io/api/layers/convolution_layers/convolution2d/),
#   [`Sequential`](https://keras.io/api/models/sequential/).
# - TensorFlow documentation: [`tf.math.reduce_max`](https://www.tensorflow.org/api_docs/python/tf/math/reduce_max),
#   [`tf.nn.max_pool2d`](https://www.tensorflow.org/api_docs/python/tf/nn/max_pool2d).
# - V. Dumoulin and F. Visin, *A guide to convolution arithmetic for deep learning*,
#   arXiv:1603.07285, 2016 (output sizes, padding and strides).
# - CS231n, *Convolutional Neural Networks for Visual Recognition* (Stanford), notes on
#   backpropagation and gradient checking: <https://cs231n.github.io/optimization-2/>,
#   <https://cs231n.github.io/neural-networks-3/>.
