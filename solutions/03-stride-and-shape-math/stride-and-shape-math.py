# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: kernelspec,language_info,poolkit,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   language_info:
#     name: python
#   poolkit:
#     test_header: default
# ---

# %% [markdown]
# # Stride and shape math
#
# Before a network runs, every layer's output shape is fixed by a few integers: the input
# length, the window size, the stride, the padding, the dilation and a rounding rule. Getting
# them wrong is the most common pooling bug: a classifier head that expects `7x7` gets `6x6`,
# or a framework port differs by one row. This lesson
#
# 1. derives PyTorch's output-size formula, including dilation and `ceil_mode`,
# 2. counts what a pooling layer keeps (2x2 with stride 2: a quarter),
# 3. compares Keras' `'valid'` and `'same'` padding, where the padding can be asymmetric,
# 4. traces the shapes through two real networks by code.
#
# All of it is integer arithmetic in plain Python and NumPy.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

import poolkit
from poolkit import reference

# %% [markdown]
# ## 1. The output-size formula
#
# Take one spatial dimension of length `L`. With padding `p` on both sides the window can
# use positions `-p ... L+p-1`, i.e. `L + 2p` positions. A window of `k` taps with dilation
# `d` (a gap of `d-1` between taps) spans `d*(k-1) + 1` positions. The first window starts
# at `-p`; each further window starts `s` later, as long as it still fits:
#
# $$L_{out} = \left\lfloor \frac{L + 2p - d(k-1) - 1}{s} \right\rfloor + 1 .$$
#
# With `ceil_mode=True` PyTorch rounds up instead, which allows one extra, partial window at
# the end. But it drops that window again when it would *start* in the right padding (or
# beyond), i.e. when `(L_out - 1) * s >= L + p`: such a window would see no real input.
# poolkit's reading version spells this out:

# %%
print(inspect.getsource(reference.output_size))

# %%
configs = [  # (L, k, s, p, d, ceil_mode)
    (24, 2, 2, 0, 1, False), (25, 2, 2, 0, 1, False), (25, 2, 2, 0, 1, True),
    (6, 3, 2, 0, 1, False), (6, 3, 2, 0, 1, True), (5, 2, 2, 1, 1, False),
    (5, 2, 2, 1, 1, True), (10, 3, 1, 1, 2, False), (32, 3, 2, 1, 1, False),
]
print(f"{'L':>3} {'k':>2} {'s':>2} {'p':>2} {'d':>2} {'ceil':>5} | {'out':>3}")
for L, k, s, p, d, ceil in configs:
    out = poolkit.pool_output_size(L, k, s, p, d, ceil)
    print(f"{L:>3} {k:>2} {s:>2} {p:>2} {d:>2} {str(ceil):>5} | {out:>3}")


# %% [markdown]
# Note the pair `L=5, k=2, s=2, p=1`: floor gives `floor(5/2) + 1 = 3`; rounding up gives
# `ceil(5/2) + 1 = 4`, but the fourth window would start at `3*2 - 1 = 5`, the right padding,
# so it is dropped: 3 in both modes. With `L=6, k=3, s=2` ceil mode adds a third
# window that covers positions 4, 5 and one position past the end. The drawing shows where
# each window lands (white: input, gray: padding or past the end, dashed: a window that
# rounding up would add but PyTorch drops):

# %%
def draw_windows(ax, L, k, s, p, ceil_mode):
    n_out = poolkit.pool_output_size(L, k, s, p, 1, ceil_mode)
    room = L + 2 * p - k
    n_rounded = (-(-room // s) if ceil_mode else room // s) + 1    # before the drop rule
    first, last = -p, max(L + p, (n_rounded - 1) * s - p + k)
    for pos in range(first, last):
        real = 0 <= pos < L
        ax.add_patch(Rectangle((pos, 0), 1, 1, facecolor="white" if real else "0.8", edgecolor="black"))
    for i in range(n_rounded):
        start, y = i * s - p, 1.2 + 0.35 * i
        if i < n_out:
            ax.add_patch(Rectangle((start + 0.05, y), k - 0.1, 0.25, color=f"C{i}"))
        else:   # rounded up, then dropped: it would start in the padding
            ax.add_patch(Rectangle((start + 0.05, y), k - 0.1, 0.25, fill=False, linestyle="--"))
            ax.text(start + k + 0.1, y, "dropped", va="bottom")
    ax.set_xlim(first - 0.5, last + 2)
    ax.set_ylim(-0.2, 1.4 + 0.35 * n_rounded)
    ax.set_title(f"L={L}, k={k}, s={s}, p={p}, ceil_mode={ceil_mode}: {n_out} windows")
    ax.axis("off")

fig, axes = plt.subplots(3, 1, figsize=(7, 6))
draw_windows(axes[0], 6, 3, 2, 0, False)
draw_windows(axes[1], 6, 3, 2, 0, True)
draw_windows(axes[2], 7, 2, 2, 1, True)
plt.tight_layout()
plt.show()

# %% [markdown]
# In the last row (`L=7, k=2, s=2, p=1`, ceil mode) rounding up would give
# `ceil(7/2) + 1 = 5` windows, but the fifth would start at position 7, which is padding:
# it is dropped and the output has 4.
#
# PyTorch also refuses some configurations instead of returning a shape: padding larger than
# half the window (`p > k/2`) and an output smaller than 1:

# %%
for args in [(5, 2, 2, 2), (2, 3, 1, 0)]:
    try:
        poolkit.pool_output_size(*args)
    except ValueError as err:
        print(f"pool_output_size{args}: ValueError: {err}")

# %% [markdown]
# **Step through it.** Each output position of a 2-D pool is one window; the stepper below draws the padded input, the window of the chosen output and how its value comes about. Turn on ceil mode with an input that does not divide evenly to see the window that hangs past the padding.

# %%
from poolkit import widgets

widgets.window_stepper(preset="ramp", size=5, kernel_size=3, stride=2, padding=1)


# %% [markdown]
# ## 2. What a pooling layer keeps
#
# With `k = s = 2` and no padding, `L_out = floor(L / 2)`: height and width are halved
# (rounded down), so a `24x24` map becomes `12x12` and only `144 / 576 = 25%` of the
# activations survive; 75% are dropped. In general the fraction kept is
#
# $$\frac{H_{out} \, W_{out}}{H \, W} \approx \frac{1}{s_h s_w}$$
#
# for large inputs: the stride, not the window size, sets the reduction. Overlapping windows
# (`k > s`) keep about as much as non-overlapping ones with the same stride.

# %%
def kept(H, W, k, s, p=0):
    return poolkit.pool_output_size(H, k, s, p) * poolkit.pool_output_size(W, k, s, p) / (H * W)

sizes = np.arange(4, 65)
fig, ax = plt.subplots(figsize=(7, 3.5))
for k, s in [(2, 2), (3, 2), (3, 3), (2, 1)]:
    ax.plot(sizes, [kept(n, n, k, s) for n in sizes], label=f"k={k}, s={s} (1/s^2 = {1 / s**2:.3f})")
ax.set_xlabel("input height = width")
ax.set_ylabel("fraction of activations kept")
ax.legend()
ax.grid(alpha=0.3)
plt.show()
print(f"24x24, 2x2/2: {kept(24, 24, 2, 2):.2%} kept;  25x25, 2x2/2: {kept(25, 25, 2, 2):.2%} kept")

# %% [markdown]
# Small inputs deviate from `1/s^2` because the last, incomplete window is dropped (floor) and
# because `k > s` loses a border. Stacking `n` such layers keeps `(1/4)^n`: after VGG's five
# 2x2/2 poolings, `1/1024` of the positions are left.
#
# ## 3. Keras: 'valid' and 'same'
#
# Keras does not take a padding amount; it takes a *policy*:
#
# * `'valid'`: no padding, `L_out = floor((L - k) / s) + 1`.
# * `'same'`: `L_out = ceil(L / s)`, whatever the window. Keras pads just enough:
#   `P = max((L_out - 1) s + k - L, 0)` in total, `floor(P/2)` before and the rest **after**.
#   An odd `P` puts the extra position at the end (bottom/right), something PyTorch's
#   symmetric `padding=` argument cannot express.

# %%
print(f"{'L':>3} {'k':>2} {'s':>2} | {'valid':>5} {'same':>4} {'(before, after)':>16}")
for L, k, s in [(24, 2, 2), (5, 2, 2), (7, 3, 2), (6, 3, 1), (5, 4, 1), (4, 1, 2)]:
    valid = poolkit.keras_output_size(L, k, s, "valid")
    same = poolkit.keras_output_size(L, k, s, "same")
    print(f"{L:>3} {k:>2} {s:>2} | {valid:>5} {same:>4} {str(poolkit.keras_same_padding(L, k, s)):>16}")

# %% [markdown]
# For `L=5, k=2, s=2` Keras 'same' pads `(0, 1)`: one position at the end. For max pooling the
# padding never wins (as with `-inf`); for average pooling Keras divides by the real elements
# only. The next lessons reproduce this in PyTorch.
#
# ## 4. Shapes through real networks
#
# The shape of every layer follows from the formula; frameworks only apply it. A convolution
# uses the same rule (with `k`, `s`, `p`) and sets the channel count; pooling keeps it. Here
# are LeNet-5 (on `32x32` images) and the feature extractor of VGG-16 (on `224x224`), traced
# by code, with the number of activations per image:

# %% [markdown]
# **Try it.** The calculator below applies all of these rules at once: change the input size, kernel, stride and padding and compare torch's size with Keras' 'valid' and 'same', the padding Keras adds before and after, and the fraction of activations kept. Settings a framework refuses show its reason.

# %%
widgets.shape_calculator(height=5, width=7, kernel_size=2, stride=2, padding=0)


# %%
def trace(input_shape, layers):
    c, h, w = input_shape
    rows = [("input", (c, h, w))]
    for name, kind, *args in layers:
        if kind == "conv":
            out_channels, k, s, p = args
            c = out_channels
        else:
            k, s, p = args
        h = poolkit.pool_output_size(h, k, s, p)
        w = poolkit.pool_output_size(w, k, s, p)
        rows.append((name, (c, h, w)))
    return rows

lenet = [("conv1 5x5", "conv", 6, 5, 1, 0), ("pool1 2x2/2", "pool", 2, 2, 0),
         ("conv2 5x5", "conv", 16, 5, 1, 0), ("pool2 2x2/2", "pool", 2, 2, 0)]
vgg16 = []
for block, (n_convs, channels) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], 1):
    vgg16 += [(f"conv{block}_{i} 3x3", "conv", channels, 3, 1, 1) for i in range(1, n_convs + 1)]
    vgg16.append((f"pool{block} 2x2/2", "pool", 2, 2, 0))

for title, shape, layers in [("LeNet-5", (1, 32, 32), lenet), ("VGG-16 features", (3, 224, 224), vgg16)]:
    print(title)
    for name, (c, h, w) in trace(shape, layers):
        print(f"  {name:>14}: {c:4d} x {h:3d} x {w:3d} = {c * h * w:>9,d} activations")


# %% [markdown]
# LeNet-5 ends with `16x5x5 = 400` features for its dense layers; VGG-16 with `512x7x7 =
# 25,088`. Each pooling layer quarters the activations (and the following convolutions pay
# a quarter of the multiply-adds), while the convolutions double the channels: a common
# design rhythm. `224 = 7 * 2^5` is no accident: with five 2x2/2 poolings every size
# divides evenly.
#
# (An interactive shape explorer may be embedded here later from `poolkit.widgets`.)
#
# ## Exercises
#
# 1. **`output_size`**: PyTorch's output length for one dimension, with padding, dilation
#    and `ceil_mode` (including the dropped last window).
# 2. **`keras_same_padding`**: the `(before, after)` padding Keras' `'same'` adds.
# 3. **`fraction_kept`**: the fraction of activations a square-window 2-D pooling keeps.
# 4. **`keras_output_size`**: the output length for Keras `'valid'` and `'same'`.
# 5. *(written)* What happens to a `225x225` input in VGG-16's feature extractor?
#
# Plain Python or NumPy only: do not call poolkit, torch or Keras inside your functions.
#
# ### Exercise 1: PyTorch's output size

# %% nbgrader={"grade": false, "grade_id": "output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Output length of one dimension for PyTorch pooling (all arguments ints, ceil_mode bool)."""
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    span = dilation * (kernel_size - 1) + 1
    room = size + 2 * padding - span
    out = -(-room // stride) + 1 if ceil_mode else room // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_output_size_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ck.assert_equal(ck.call(output_size, 24, 2, 2), 12, case="L=24, k=2, s=2", hint="2x2 with stride 2 halves the size")
ck.assert_equal(ck.call(output_size, 6, 3, 2, 0, 1, True), 3, case="L=6, k=3, s=2, ceil_mode=True",
                hint="round (L + 2p - span) / s up in ceil mode")
ck.check_against_oracle(output_size, "poolkit.pool_output_size",
                        ck.size_cases(seed=31, n=10, dilation=False, ceil_mode=False), numpy_only=True,
                        hint="floor((L + 2p - d*(k-1) - 1) / s) + 1")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_output_size_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
ck.check_against_oracle(output_size, "poolkit.pool_output_size", ck.size_cases(seed=3031, n=60, stride_none=True), numpy_only=True,
                        hint="dilation widens the window to d*(k-1)+1; in ceil mode drop a last window starting at >= L + p")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: Keras 'same' padding

# %% nbgrader={"grade": false, "grade_id": "keras_same_padding", "locked": false, "schema_version": 3, "solution": true, "task": false}
def keras_same_padding(size, pool_size, strides=None):
    """(before, after) padding of Keras 'same' for one dimension (ints)."""
    ### BEGIN SOLUTION
    strides = pool_size if strides is None else strides
    out = -(-size // strides)
    total = max((out - 1) * strides + pool_size - size, 0)
    return (total // 2, total - total // 2)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_keras_same_padding_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ck.assert_equal(ck.call(keras_same_padding, 5, 2, 2), (0, 1), case="L=5, pool_size=2, strides=2",
                hint="total padding 1: the odd one goes after (bottom/right)")
ck.check_against_oracle(keras_same_padding, "poolkit.keras_same_padding", ck.keras_size_cases(seed=32, n=6),
                        numpy_only=True, hint="out = ceil(L/s); total = max((out-1)*s + k - L, 0)")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_keras_same_padding_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
ck.check_against_oracle(keras_same_padding, "poolkit.keras_same_padding", ck.keras_size_cases(seed=3032, n=40, strides_none=True),
                        numpy_only=True, hint="before = total // 2, after = the rest; never negative")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: fraction kept

# %% nbgrader={"grade": false, "grade_id": "fraction_kept", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fraction_kept(height, width, kernel_size, stride=None, padding=0):
    """Fraction of activations kept by PyTorch-style 2-D pooling with square windows (floor mode)."""
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    h_out = (height + 2 * padding - kernel_size) // stride + 1
    w_out = (width + 2 * padding - kernel_size) // stride + 1
    return h_out * w_out / (height * width)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_fraction_kept_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ck.assert_close(ck.call(fraction_kept, 24, 24, 2, 2), 0.25, case="24x24, kernel_size=2, stride=2",
                hint="12*12 outputs of 24*24 inputs")
ck.check_against_oracle(fraction_kept, "poolkit.checks.fraction_kept_oracle", ck.hw_cases(seed=33, n=6, padding=False),
                        numpy_only=True, hint="H_out * W_out / (H * W)")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_fraction_kept_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
ck.check_against_oracle(fraction_kept, "poolkit.checks.fraction_kept_oracle", ck.hw_cases(seed=3033, n=30, stride_none=True),
                        numpy_only=True, hint="padding adds 2p to H and W before the window slides; stride=None means k")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: Keras output size

# %% nbgrader={"grade": false, "grade_id": "keras_output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def keras_output_size(size, pool_size, strides=None, padding="valid"):
    """Output length of one dimension for Keras pooling; padding is 'valid' or 'same'."""
    ### BEGIN SOLUTION
    strides = pool_size if strides is None else strides
    if padding == "same":
        return -(-size // strides)
    return (size - pool_size) // strides + 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_keras_output_size_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ck.assert_equal(ck.call(keras_output_size, 24, 2, 2, "valid"), 12, case="L=24, pool 2, strides 2, 'valid'", hint="floor((L-k)/s)+1")
ck.assert_equal(ck.call(keras_output_size, 5, 2, 2, "same"), 3, case="L=5, pool 2, strides 2, 'same'", hint="ceil(L/s)")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_keras_output_size_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
ck.check_against_oracle(keras_output_size, "poolkit.keras_output_size", ck.keras_size_cases(seed=3034, n=40, with_padding=True, strides_none=True),
                        numpy_only=True, hint="'same' ignores the window: ceil(L/s); 'valid': floor((L-k)/s)+1")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 (written)
#
# Feed a `3x225x225` image to the VGG-16 feature extractor of Section 4 (floor mode). What is
# the final shape, and how many input rows and columns never reach the last pooling window?
# Would `ceil_mode=True` in every pooling layer change the final shape?

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_vgg_225", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 225 -> 112 -> 56 -> 28 -> 14 -> 7: final 512x7x7 (same as 224). The first pooling drops the last
# row and column (225 is odd); nothing else is lost. With ceil_mode: 225 -> 113 -> 57 -> 29 -> 15 -> 8,
# so 512x8x8 (the classifier expecting 7x7 would break).
# === END MARK SCHEME ===
#
# The sizes go 225 -> 112 -> 56 -> 28 -> 14 -> 7, so the output is 512 x 7 x 7, the same as for 224.
# The first 2x2/2 pooling ignores the last row and the last column (225 is odd). With ceil mode the
# sizes become 113, 57, 29, 15, 8: a 512 x 8 x 8 output that no longer fits a head built for 7 x 7.
