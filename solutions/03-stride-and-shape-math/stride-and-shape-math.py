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
# Every layer's output shape is fixed by a few integers: the input length, the window size,
# the stride, the padding, the dilation and a rounding rule. A slip in any of them shows up
# only when the layers meet: a classifier head that expects `7x7` gets `6x6`. This lesson
#
# 1. derives PyTorch's output-size formula, including dilation and `ceil_mode`,
# 2. counts what a pooling layer keeps (2x2 with stride 2: a quarter of the positions), and
#    names overlapping pooling (windows larger than the stride: AlexNet, the ResNet stem),
# 3. compares Keras' `'valid'` and `'same'` padding, where the padding can be asymmetric,
# 4. traces the shapes through two real networks by code,
#
# and ends with exercises: write the formula, run it backwards, and *design* a stack of
# pooling layers that takes a given size to a target size. All of it is integer arithmetic
# in plain Python.

# %%
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

import poolkit
import poolkit.checks as ck   # ck.hint("<exercise>") works from here on


# %% [markdown]
# ## 1. The output-size formula
#
# Take one spatial dimension of length `L`. With padding `p` on both sides the window can
# use positions `-p ... L+p-1`, i.e. `L + 2p` positions. A window of size `k` reads `k`
# input positions, its *taps*. With *dilation* `d` the taps are spread out: they sit `d`
# positions apart, with `d-1` skipped positions between neighbours. A 3-tap window with
# `d=2` starting at position 0 reads positions 0, 2 and 4 and skips 1 and 3: it still takes
# the maximum of 3 values, but from a stretch of 5 positions. In general the window spans
# `d*(k-1) + 1` positions, its *span* (`d=1`, the default, is the ordinary window). Window `i` (counting
# from 0) starts at `i*s - p` in input coordinates: the first at `-p`, each further one `s`
# later, as long as it still fits:
#
# $$L_{out} = \left\lfloor \frac{L + 2p - d(k-1) - 1}{s} \right\rfloor + 1 .$$
#
# With `ceil_mode=True` PyTorch rounds up instead, which allows one extra, partial window at
# the end. But it drops that window again when it would *start* in the right padding (or
# beyond): the last window, number `L_out - 1`, starts at `(L_out - 1) * s - p`, so it is
# dropped when `(L_out - 1) * s - p >= L`, i.e. when `(L_out - 1) * s >= L + p`: such a
# window would see no real input.
# Rather than trusting a formula, we read the sizes off a real pooling: `poolkit.max_pool2d`
# runs PyTorch's max pooling, so we pool a column of zeros and look at the output's length
# (you write the formula in Exercise 1). PyTorch also refuses some configurations instead of
# returning a shape: padding larger than half the window, and an output smaller than 1;
# the last two lines show its messages. The padding limit is `p <= k // 2`, half the number
# of taps rounded down, whatever the dilation: with `k=3, d=2` (a span of 5) torch accepts
# `p=1` and refuses `p=2`. (The message below says "effective kernel size", but the limit
# it applies is `k // 2` taps: dilation does not raise it.)

# %%
def torch_length(L, k, s=None, p=0, d=1, ceil_mode=False):
    """The output length PyTorch's max pooling gives an L x 1 input of zeros."""
    column = np.zeros((1, 1, L, 1))
    stride = None if s is None else (s, 1)
    return poolkit.max_pool2d(column, (k, 1), stride, (p, 0), (d, 1), ceil_mode).shape[2]


configs = [  # (L, k, s, p, d, ceil_mode)
    (24, 2, 2, 0, 1, False), (25, 2, 2, 0, 1, False), (25, 2, 2, 0, 1, True),
    (6, 3, 2, 0, 1, False), (6, 3, 2, 0, 1, True), (5, 2, 2, 1, 1, False),
    (5, 2, 2, 1, 1, True), (10, 3, 1, 1, 2, False), (32, 3, 2, 1, 1, False),
]
print(f"{'L':>3} {'k':>2} {'s':>2} {'p':>2} {'d':>2} {'ceil':>5} | {'out':>3}")
for L, k, s, p, d, ceil in configs:
    out = torch_length(L, k, s, p, d, ceil)
    print(f"{L:>3} {k:>2} {s:>2} {p:>2} {d:>2} {str(ceil):>5} | {out:>3}")
for L, k, s, p in [(5, 2, 2, 2), (2, 3, 1, 0)]:
    try:
        torch_length(L, k, s, p)
    except (ValueError, RuntimeError) as err:
        print(f"L={L}, kernel {k}, stride {s}, padding {p}: {type(err).__name__}: {str(err).splitlines()[0]}")


# %% [markdown]
# Note the pair `L=5, k=2, s=2, p=1`: floor gives `floor(5/2) + 1 = 3`; rounding up gives
# `ceil(5/2) + 1 = 4`, but the fourth window would start at `3*2 - 1 = 5`, the right padding,
# so it is dropped: 3 in both modes. With `L=6, k=3, s=2` ceil mode adds a third
# window that covers positions 4, 5 and one position past the end (for average pooling, see
# "Going further" at the end). The drawing shows where each window lands (white: input, gray: padding or past the end, dashed: a window that
# rounding up would add but PyTorch drops):

# %%
def draw_windows(ax, L, k, s, p, ceil_mode, dropped=()):
    # torch says how many windows there are; `dropped` lists the starts of windows that
    # rounding up would add but torch drops (worked out by hand from the rule above)
    n_out = torch_length(L, k, s, p, 1, ceil_mode)
    starts = [i * s - p for i in range(n_out)] + list(dropped)
    first, last = -p, max([L + p] + [start + k for start in starts])
    for pos in range(first, last):
        real = 0 <= pos < L
        ax.add_patch(Rectangle((pos, 0), 1, 1, facecolor="white" if real else "0.8", edgecolor="black"))
    for i, start in enumerate(starts):
        y = 1.2 + 0.35 * i
        if i < n_out:
            ax.add_patch(Rectangle((start + 0.05, y), k - 0.1, 0.25, color=f"C{i}"))
        else:   # rounded up, then dropped: it would start in the padding
            ax.add_patch(Rectangle((start + 0.05, y), k - 0.1, 0.25, fill=False, linestyle="--"))
            ax.text(start + k + 0.1, y, "dropped", va="bottom")
    ax.set_xlim(first - 0.5, last + 2)
    ax.set_ylim(-0.2, 1.4 + 0.35 * len(starts))
    ax.set_title(f"L={L}, k={k}, s={s}, p={p}, ceil_mode={ceil_mode}: {n_out} windows")
    ax.axis("off")

fig, axes = plt.subplots(3, 1, figsize=(7, 6))
draw_windows(axes[0], 6, 3, 2, 0, False)
draw_windows(axes[1], 6, 3, 2, 0, True)
draw_windows(axes[2], 7, 2, 2, 1, True, dropped=[7])
plt.tight_layout()
plt.show()

# %% [markdown]
# In the last row (`L=7, k=2, s=2, p=1`, ceil mode) rounding up would give
# `ceil(7/2) + 1 = 5` windows, but the fifth would start at position 7, which is padding:
# it is dropped and the output has 4.
#
# **Step through it.** Each output position of a 2-D pool is one window; the stepper below draws the padded input, the window of the chosen output and how its value comes about. Turn on ceil mode with an input that does not divide evenly to see the window that hangs past the padding.

# %%
from poolkit import widgets

widgets.window_stepper(preset="ramp", size=5, kernel_size=3, stride=2, padding=1)


# %% [markdown]
# ## 2. What a pooling layer keeps
#
# With `k = s = 2` and no padding, `L_out = floor(L / 2)`: height and width are halved
# (rounded down), so a `24x24` map becomes `12x12`: `144 / 576 = 25%` of the positions are
# kept. What happens to the other 75% depends on the pooling: max pooling passes on one value
# of every four and drops the other three (their values do not reach the next layer at all),
# average pooling uses all four but keeps only their mean. In general the fraction of
# positions kept is
#
# $$\frac{H_{out} \, W_{out}}{H \, W} \approx \frac{1}{s_h s_w}$$
#
# for large inputs: the stride, not the window size, sets the reduction. Windows larger than
# the stride (`k > s`, *overlapping pooling*, named below) keep about as much as windows
# equal to it. By the formula, a `25x25` map and 2x2/2 give `12x12`: `144 / 625 = 23%`,
# less than a quarter, because the last row and column reach no window. The cell below
# measures the fraction by running a pooling on an empty plane and counting its outputs.

# %%
def kept(H, W, k, s):
    """Measured: output positions of a real 2-D max pooling / input positions."""
    return poolkit.max_pool2d(np.zeros((1, 1, H, W)), k, s).size / (H * W)

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
# because `k > s` loses a border. Stacking `n` such layers keeps `(1/4)^n` of the positions:
# after VGG's five 2x2/2 poolings, `1/1024` of them are left.
#
# ### Overlapping pooling
#
# A pooling whose window is larger than its stride (`k > s`) is called **overlapping
# pooling**: neighbouring windows share input positions, so one input value can reach more
# than one output. Two well-known networks use it:
#
# * **AlexNet** (Krizhevsky et al., 2012) max-pools with 3x3 windows and stride 2 after its
#   first, second and fifth convolutions. Its authors compared this with 2x2 windows and
#   stride 2 and report a slightly lower error and a network slightly harder to overfit.
# * The **ResNet stem** (He et al., 2016): a 7x7 convolution with stride 2, then a 3x3 max
#   pooling with stride 2 and padding 1.
#
# The formula of Section 1 gives their sizes. AlexNet's first pooling gets a `55x55` map:
# `floor((55 - 3) / 2) + 1 = 27`; ResNet's stem pooling gets a `112x112` map (a `224x224`
# image after the stride-2 convolution): `floor((112 + 2*1 - 3) / 2) + 1 = 56`. The stride
# still sets the reduction: about a quarter of the positions is kept, as with 2x2/2. The
# cell checks the formula against PyTorch:

# %%
overlapping = [("AlexNet pool1", 55, 3, 2, 0), ("AlexNet pool2", 27, 3, 2, 0),
               ("AlexNet pool5", 13, 3, 2, 0), ("ResNet stem pool", 112, 3, 2, 1)]
for name, L, k, s, p in overlapping:
    by_formula = (L + 2 * p - (k - 1) - 1) // s + 1
    print(f"{name:<17} L={L:>3}, k={k}, s={s}, p={p}: formula {by_formula:>3}, "
          f"PyTorch {torch_length(L, k, s, p):>3}")
    assert by_formula == torch_length(L, k, s, p)

# %% [markdown]
# ## 3. Keras: 'valid' and 'same'
#
# Keras does not take a padding amount; it takes a *policy*:
#
# * `'valid'`: no padding, `L_out = floor((L - k) / s) + 1`.
# * `'same'`: `L_out = ceil(L / s)`, whatever the window. Keras pads just enough for these
#   `L_out` windows to fit, splitting the padding as evenly as it can; when the total is odd the
#   extra position goes at the **end** (bottom/right), something PyTorch's symmetric
#   `padding=` argument cannot express. (Lesson 05 has you compute the amounts.)
#
# In both policies a missing stride (`strides=None`) means `strides = pool_size`, as in
# PyTorch. Note that `'valid'` rounds down: `L=25, k=2, s=2` gives 12, and the last input row never reaches a window.
#
# For example `L=5, k=2, s=2` gives `floor(3/2) + 1 = 2` in `'valid'` and `ceil(5/2) = 3` in
# `'same'`, and `L=6, k=3, s=1` gives 4 and 6. For `L=5, k=2, s=2` Keras 'same' pads
# `(0, 1)`: one position at the end. For max pooling the padded positions never win the
# maximum, as if they held a value below every input (lesson 01 shows why zero padding
# would be wrong there); for average pooling Keras divides by the real elements only.
# Lesson 05 reproduces this in PyTorch.
#
# **Try it.** The calculator below applies all of these rules at once: change the input size, kernel, stride and padding and compare torch's size with Keras' 'valid' and 'same', the padding Keras adds before and after, and the fraction of activations kept. Settings a framework refuses show its reason.

# %%
widgets.shape_calculator(height=5, width=7, kernel_size=2, stride=2, padding=0)


# %% [markdown]
# ## 4. Shapes through real networks
#
# The shape of every layer follows from the formula; frameworks only apply it. A convolution
# uses the same rule (with `k`, `s`, `p`) and sets the channel count; pooling keeps it. Here
# are LeNet-5 (on `32x32` images) and the feature extractor of VGG-16 (on `224x224`), traced
# by code, with the number of activations per image:

# %%
def next_shape(shape, kind, *args):
    """(C, H, W) after one layer, read off a real pooling of zeros: a convolution with
    window k, stride s and padding p gives the same H and W as max pooling with them."""
    c, h, w = shape
    if kind == "conv":
        c, k, s, p = args
    else:
        k, s, p = args
    _, _, h, w = poolkit.max_pool2d(np.zeros((1, 1, h, w)), k, s, p).shape
    return c, h, w


lenet = [("conv1 5x5", "conv", 6, 5, 1, 0), ("pool1 2x2/2", "pool", 2, 2, 0),
         ("conv2 5x5", "conv", 16, 5, 1, 0), ("pool2 2x2/2", "pool", 2, 2, 0)]
vgg16 = []
for block, (n_convs, channels) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], 1):
    vgg16 += [(f"conv{block}_{i} 3x3", "conv", channels, 3, 1, 1) for i in range(1, n_convs + 1)]
    vgg16.append((f"pool{block} 2x2/2", "pool", 2, 2, 0))

for title, shape, layers in [("LeNet-5", (1, 32, 32), lenet), ("VGG-16 features", (3, 224, 224), vgg16)]:
    print(title)
    for name, kind, *args in [("input", None)] + layers:
        if kind is not None:
            shape = next_shape(shape, kind, *args)
        c, h, w = shape
        print(f"  {name:>14}: {c:4d} x {h:3d} x {w:3d} = {c * h * w:>9,d} activations")


# %% [markdown]
# LeNet-5 ends with `16x5x5 = 400` features for its dense layers; VGG-16 with `512x7x7 =
# 25,088`. Each pooling layer quarters the activations (and the following convolutions pay
# a quarter of the multiply-adds), while the convolutions double the channels: a common
# design rhythm. `224 = 7 * 2^5` is no accident: with five 2x2/2 poolings every size
# divides evenly.
#
# ## Exercises
#
# | | exercise | kind | points |
# |---|---|---|---|
# | 1 | `output_size`: PyTorch's output length for one dimension | formula, every rule of Section 1 | 2 |
# | 2 | `input_sizes`: every input length that gives a wanted output | derive a rule | 4 |
# | 3 | `stack_to_target`: design a stack of pooling layers that reaches a target size | design | 4 |
# | 4 | *(written)* a `225x225` input through VGG-16 | reasoning | 3 |
#
# Plain Python or NumPy only: do not call poolkit, torch or Keras inside your functions. A
# failing test names the case and gives a pointer, or the known mistake your result matches
# ("your output equals ...") and what to reread; if you are stuck on an exercise,
# `ck.hint("output_size")` (with that exercise's function name) prints the rule, and after
# three failed tries of the same exercise it is shown anyway (a try is a version that
# works differently: running the same cell again, or changing only a number, does not
# count). For Exercises 2 and 3, which ask you to derive and to design, the hint is a nudge
# rather than the answer. Try without it first.
#
# ### Exercise 1: PyTorch's output size (2 points)
#
# Write `output_size(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)`:
# the output length of one dimension, exactly as PyTorch computes it (Section 1). The tests
# check:
#
# * `stride=None` means `stride = kernel_size`;
# * dilation widens the window;
# * `ceil_mode=True` rounds up, but keeps a last window only if it starts inside the input
#   or the left padding;
# * the result is a plain Python `int` (not a `float`, not a `numpy.int64`).
#
# The tests use only configurations that PyTorch accepts, so you need not raise errors.

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
import poolkit

ck.assert_numpy_only(output_size, hint="integer arithmetic in plain Python; no pooling inside")


def torch_length(size, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    # The reference: PyTorch (through poolkit) pools a column of zeros; the test reads its length.
    stride = None if stride is None else (stride, 1)
    column = np.zeros((1, 1, size, 1))
    return poolkit.max_pool2d(column, (kernel_size, 1), stride, (padding, 0), (dilation, 1),
                              ceil_mode).shape[2]


type_hint = ("return a Python int: use floor division // (a ceiling is minus the floor of "
             "minus), or int(...) of a value that is already exact")
for args, note in [((24, 2, 2), "floor mode"), ((6, 3, 2, 0, 1, True), "ceil mode")]:
    case = f"output_size{args} [{note}]"
    result = ck.call(output_size, *args, case=case)
    ck.require(type(result) is int, f"output_size returned a {type(result).__name__} ({result!r}), "
               f"expected a plain int", case=case, hint=type_hint, exercise="output_size")
named = [((24, 2, 2, 0, 1, False), "24 -> 12, as in Section 2"),
         ((25, 2, 2, 0, 1, False), "floor: the last row is dropped"),
         ((25, 3, None, 0, 1, False), "stride=None"),
         ((10, 3, 1, 1, 2, False), "padding 1 and dilation 2"),
         ((6, 3, 2, 0, 1, True), "ceil mode adds a window"),
         ((5, 2, 2, 1, 1, True), "ceil mode: the extra window would start in the padding"),
         ((7, 2, 2, 1, 1, True), "ceil mode: the extra window would start in the padding")]
named_hint = "reread Section 1 and the drawing: where does each window start, and how far does it reach?"
random_hint = "count the windows that fit, one window per stride; compare with the table in Section 1"
cases = [(args, note, named_hint) for args, note in named]
cases += [(args, note, random_hint) for args, _, note in ck.size_cases(seed=31, n=12).build()]
for args, note, hint in cases:
    case = f"output_size{args} [{note}]"
    result = ck.call(output_size, *args, case=case)
    ck.require(type(result) is int, f"output_size returned a {type(result).__name__} ({result!r}), "
               f"expected a plain int", case=case, hint=type_hint, exercise="output_size")
    ck.assert_equal(result, torch_length(*args), case=case, hint=hint, exercise="output_size")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_output_size_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
for args in [(24, 2, 2), (9, 3, None, 1, 2, True), (10, 3, 2, 1, 2, True)]:
    result = ck.call(output_size, *args, case=f"output_size{args}")
    ck.require(type(result) is int, f"output_size returned a {type(result).__name__}, expected a plain int",
               case=f"output_size{args}", hint="return a Python int: use floor division // (a ceiling "
               "is minus the floor of minus), or int(...) of a value that is already exact",
               exercise="output_size")
ck.check_against_oracle(output_size, "poolgrade.answers:03-stride-and-shape-math.output_size",
                        ck.size_cases(seed=3031, n=60, stride_none=True), numpy_only=True,
                        hint="dilation spreads the taps apart; in ceil mode a window must start inside input or left padding")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: run the formula backwards (4 points)
#
# A classifier head expects a `7x7` map from a pooling layer: which input sizes give that?
# Write `input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)`:
# every input length `L >= 1` that PyTorch's pooling with these settings takes to an output
# of length `out`, as a list of ints in increasing order, and `[]` if there is none. For
# example `input_sizes(12, 2, 2)` is `[24, 25]`: 2x2/2 pooling takes both 24 and 25 to 12
# (Section 2).
#
# No rule for this is given: derive it from Section 1 and your `output_size`, and settle for
# yourself whether an output can have no input at all, where exactly the list starts and
# ends, and what ceil mode's last-window rule does to both ends. Section 1's formula, with
# its rounding and the last-window rule, holds even when `L + 2p` is shorter than the
# window's span (then `L + 2p - span`, the number of positions left after the first window,
# is negative); PyTorch refuses a length only when the result is below 1, and such a length
# is simply not in the list. The tests use only
# kernel, stride, padding and dilation settings that PyTorch accepts (`p <= k // 2`). They
# compare with PyTorch itself on many settings, including ceil mode and dilation, and on outputs up to
# `10**9`, so a loop over every length from 1 up is too slow (a few candidates near the
# answer are fine). `list(range(a, b))` is the list `a, a+1, ..., b-1`.

# %% nbgrader={"grade": false, "grade_id": "input_sizes", "locked": false, "schema_version": 3, "solution": true, "task": false}
def input_sizes(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Every input length L >= 1 that PyTorch pooling takes to `out`, ascending ([] if none)."""
    ### BEGIN SOLUTION
    stride = kernel_size if stride is None else stride
    span = dilation * (kernel_size - 1) + 1
    # the shortest L whose room L + 2p - span is (out - 1) * stride: window number `out` just fits
    first = (out - 1) * stride + span - 2 * padding
    if ceil_mode:
        # rounding up counts `out` windows while the room is in ((out-2)s, (out-1)s], kept
        # only if the last one starts before L + p ...
        low = max(first - stride + 1, (out - 1) * stride - padding + 1)
        # ... and out + 1 windows for a room in ((out-1)s, out*s], where the last is dropped
        # while it starts at or beyond L + p, i.e. while out * s >= L + p
        high = max(first, min(first + stride, out * stride - padding))
    else:
        # floor: the room may exceed (out - 1) * stride by up to stride - 1
        low, high = first, first + stride - 1
    return list(range(max(low, 1), high + 1))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_input_sizes_visible", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import poolkit

ck.assert_numpy_only(input_sizes, hint="integer arithmetic in plain Python; no pooling inside")


def torch_inputs(out, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    # The reference: PyTorch (through poolkit) pools columns of zeros of every length from 1
    # to well past the answer; the test keeps the lengths whose output has `out` rows.
    step = kernel_size if stride is None else stride
    found = []
    for length in range(1, (out + 2) * step + dilation * kernel_size + 1):
        try:
            got = poolkit.max_pool2d(np.zeros((1, 1, length, 1)), (kernel_size, 1), (step, 1),
                                     (padding, 0), (dilation, 1), ceil_mode).shape[2]
        except (ValueError, RuntimeError):    # torch refuses a length with no window at all
            continue
        if got == out:
            found.append(length)
    return found


named = [((12, 2, 2, 0, 1, False), "24 and 25 both give 12"),
         ((5, 3, None, 0, 1, False), "stride=None"),
         ((3, 3, 1, 1, 2, False), "padding 1 and dilation 2"),
         ((1, 2, 1, 1, 1, False), "can any length give 1 here?"),
         ((7, 2, 2, 0, 1, True), "ceil mode"),
         ((4, 2, 2, 1, 1, True), "ceil mode: the drawing's L=7 gives 4, by the last-window rule")]
named_hint = "reread Section 1 and the drawing: which lengths put the last window where it must be?"
random_hint = "list output_size for the lengths around your answer and compare"
cases = [(args, note, named_hint) for args, note in named]
for (size, k, s, p, d, c), _, _ in ck.size_cases(seed=32, n=12).build():
    out = poolkit.max_pool2d(np.zeros((1, 1, size, 1)), (k, 1), (s, 1), (p, 0), (d, 1), c).shape[2]
    cases.append(((out, k, s, p, d, c), f"the output of L={size}", random_hint))
for args, note, hint in cases:
    case = f"input_sizes{args} [{note}]"
    ck.assert_equal(ck.call(input_sizes, *args, case=case), torch_inputs(*args), case=case,
                    hint=hint, exercise="input_sizes")
case = "input_sizes(10**9, 3, 2, 1) [a large output: no loop over every length]"
ck.assert_equal(ck.call(input_sizes, 10**9, 3, 2, 1, case=case, time_limit=5),
                [1999999999, 2000000000], case=case,   # worked out from Section 1's formula
                hint="derive where the list starts and ends instead of trying every length",
                exercise="input_sizes")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_input_sizes_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(3035)
cases = []
# settings where no length gives out = 1, and where the stride is longer than the window,
# so that ceil mode's last-window rule moves both ends of the list
for k, s, p, d, c in [(2, 1, 1, 1, False), (2, 1, 1, 1, True), (4, 1, 2, 1, False), (2, 3, 1, 1, True),
                      (1, 2, 0, 1, True), (3, 4, 1, 1, True), (3, 5, 0, 2, True), (3, 2, 0, 1, True)]:
    for out in (1, 2, 3, 7):
        cases.append(((out, k, s, p, d, c), {}, "adversarial"))
while len(cases) < 100:
    k = int(rng.integers(1, 6))
    s = None if len(cases) % 5 == 0 else int(rng.integers(1, 6))
    cases.append(((int(rng.integers(1, 30)), k, s, int(rng.integers(0, k // 2 + 1)),
                   int(rng.integers(1, 4)), bool(rng.integers(0, 2))), {}, "random"))
cases += [((10**9, 3, 2, 1, 1, False), {}, "a large output"),
          ((10**9 + 7, 2, 3, 1, 2, True), {}, "a large output, ceil mode")]
ck.check_against_oracle(input_sizes, "poolgrade.answers:03-stride-and-shape-math.input_sizes",
                        ck.literal_cases(cases, names=("out", "kernel_size", "stride", "padding",
                                                       "dilation", "ceil_mode")),
                        numpy_only=True, time_limit=5,
                        hint="floor makes several lengths give one output; ceil mode keeps a last "
                             "window only if it starts inside the input or the left padding")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: design a stack to a target size (4 points)
#
# A model needs its feature map to go from `size x size` to exactly `target x target`
# (`target <= size`; a layer may keep or even grow the size on the way)
# using only max pooling layers `nn.MaxPool2d(kernel_size, stride, padding)` (floor mode, no
# dilation), each with
#
# * `kernel_size` 2 or 3,
# * `stride` 1 or 2,
# * a `padding` PyTorch accepts for that kernel,
#
# and at most **6** layers. Write `stack_to_target(size, target)` that returns such a stack
# as a list of `(kernel_size, stride, padding)` triples (an empty list if nothing needs to
# change). For example `stack_to_target(24, 12)` could return `[(2, 2, 0)]`, which takes a
# `(1, 16, 24, 24)` feature map to `(1, 16, 12, 12)`.
#
# The tests push a `(1, 1, size, size)` array through your layers with
# `poolkit.max_pool2d`, which gives the same shapes as `nn.MaxPool2d` (poolkit's own test
# suite checks it against PyTorch), for several `(size, target)` pairs; every pair they use
# can be reached in at most 6 layers. Think before you code: what sizes can one layer produce from `L`? Which layer
# shrinks a lot, which fine-tunes? (A search over layers is a fine answer too.)

# %% nbgrader={"grade": false, "grade_id": "stack_to_target", "locked": false, "schema_version": 3, "solution": true, "task": false}
def stack_to_target(size, target):
    """A list of at most 6 (kernel_size, stride, padding) max-pooling layers (kernel 2 or 3,
    stride 1 or 2) that takes a size x size map to target x target."""
    ### BEGIN SOLUTION
    layers = [(k, s, p) for k in (2, 3) for s in (2, 1) for p in range(k // 2 + 1)]
    previous = {size: None}          # breadth-first search over the sizes one layer reaches
    frontier = [size]
    for _ in range(6):
        if target in previous:
            break
        reached = []
        for length in frontier:
            for k, s, p in layers:
                out = (length + 2 * p - k) // s + 1
                if out >= 1 and out not in previous:
                    previous[out] = (length, (k, s, p))
                    reached.append(out)
        frontier = reached
    stack = []
    length = target
    while previous[length] is not None:
        length, layer = previous[length]
        stack.append(layer)
    return stack[::-1]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_stack_to_target_visible", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import poolkit


def check_stack(size, target):
    """Push a (1, 1, size, size) array through the student's layers and check the size."""
    case = f"stack_to_target({size}, {target})"
    stack = ck.call(stack_to_target, size, target, case=case)
    ck.require(type(stack) in (list, tuple),
               f"expected a list of (kernel_size, stride, padding) triples, got {stack!r}",
               case=case, hint="return a list of triples, [] when nothing needs to change", exercise="stack_to_target")
    too_long = len(stack) > 6        # then the length is what to report, with the sizes reached
    x = np.zeros((1, 1, size, size))
    sides = [size]                          # the side of the map before and after each layer
    for number, layer in enumerate(stack[:30]):
        position = ("first", "second", "third", "fourth", "fifth", "sixth")[number] if number < 6 \
            else f"number {number + 1}"
        problem = None
        if not (type(layer) in (list, tuple) and len(layer) == 3 and all(type(v) is int for v in layer)):
            problem = (f"your {position} layer must be a triple of ints (kernel_size, stride, padding), "
                       f"got {layer!r}", "plain Python ints, in the order (kernel_size, stride, padding)")
        elif not (layer[0] in (2, 3) and layer[1] in (1, 2) and 0 <= layer[2] <= layer[0] // 2):
            problem = (f"your {position} layer, {layer}, is not allowed: kernel 2 or 3, stride 1 or 2, "
                       f"padding at most kernel // 2", "only the layers listed in the exercise")
        elif x.shape[-1] + 2 * layer[2] < layer[0]:
            problem = (f"your {position} layer, {layer}, gets a {x.shape[-1]}x{x.shape[-1]} map: too "
                       f"small for its {layer[0]}x{layer[0]} window (sides so far: {' -> '.join(map(str, sides))})",
                       "follow the size after each layer: a window must fit the padded map")
        if problem is not None and too_long:
            break
        if problem is not None:
            ck.require(False, problem[0], case=case, hint=problem[1], exercise="stack_to_target")
        k, s, p = layer
        x = poolkit.max_pool2d(x, k, s, p)   # the same sizes as nn.MaxPool2d(k, s, p)
        sides.append(x.shape[-1])
    ck.require(not too_long,
               f"your stack has {len(stack)} layers, more than 6; the side before and after each "
               f"layer: {' -> '.join(map(str, sides))}{' -> ...' if len(sides) <= len(stack) else ''}",
               case=case, hint="a stack of at most 6 layers exists for this pair: which allowed layer "
                               "changes the size most, and can one of them land nearer the target, "
                               "perhaps after a layer that keeps or grows the size?",
               exercise="stack_to_target")
    ck.require(tuple(x.shape) == (1, 1, target, target),
               f"your stack ends at {x.shape[-2]}x{x.shape[-1]}, not at the target {target}x{target} "
               f"(the side before and after each layer: {' -> '.join(map(str, sides))})"
               if stack else f"your stack has no layers, so the map stays {size}x{size}, not "
                             f"{target}x{target}",
               case=f"{case} returned {list(stack)}",
               hint="compute the size after each of your layers (Exercise 1) and compare with the target",
               exercise="stack_to_target")


for size, target in [(24, 12), (37, 9), (224, 7), (64, 60), (50, 13), (32, 17), (29, 16),
                     (13, 13)]:
    check_stack(size, target)
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_stack_to_target_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# check_stack: the visible test's, above (the grader shares a lesson's test helpers)
### BEGIN HIDDEN TESTS
# (30, 17), (37, 24) and (62, 33): shrinking greedily, even with the padded stride-2 layers
# that round up, never gets there in 6 layers; a layer that grows the size first does
for size, target in [(225, 7), (99, 5), (31, 29), (17, 1), (80, 37), (120, 4), (33, 15), (61, 28),
                     (45, 11), (28, 15), (30, 17), (37, 24), (62, 33)]:
    check_stack(size, target)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: written, a `225x225` input through VGG-16 (3 points)
#
# Feed a `3x225x225` image to the VGG-16 feature extractor of Section 4 (floor mode). What is
# the final shape? How many rows, and how many columns, of `pool1`'s input (the `225x225` map that
# `conv1_2` passes on) never reach a window of `pool1`, and do the later poolings drop any?
# Would `ceil_mode=True` in every pooling layer change the final shape? Show the sizes after each
# pooling layer.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_vgg_225", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 1 point: final shape 512 x 7 x 7 (the same as for 224), with the sizes 225 -> 112 -> 56 -> 28
#   -> 14 -> 7 (half a point if the shape is right but no sizes are shown).
# 1 point: the first pooling drops the last row and the last column (225 is odd); nothing is lost
#   at the later poolings (112, 56, 28, 14 are even). Give the point for "one row and one column".
# 1 point: ceil mode gives 225 -> 113 -> 57 -> 29 -> 15 -> 8, so 512 x 8 x 8: yes, it changes, and a
#   classifier built for 7 x 7 would no longer fit (half a point for "8x8" without the consequence).
# === END MARK SCHEME ===
#
# The sizes go 225 -> 112 -> 56 -> 28 -> 14 -> 7, so the output is 512 x 7 x 7, the same as for 224.
# The first 2x2/2 pooling ignores the last row and the last column (225 is odd); the later ones see
# even sizes and lose nothing. With ceil mode the sizes become 113, 57, 29, 15, 8: a 512 x 8 x 8
# output that no longer fits a head built for 7 x 7.

# %% [markdown]
# ## Going further (optional, not graded)
#
# **Average pooling and the extra ceil-mode window.** With `L=6, k=3, s=2` ceil mode adds a
# window over positions 4, 5 and one position past the end. Average pooling divides it by
# the number of its positions inside the padded input (here 2, both real), not by `k = 3`.
# With padding two divisors are possible: `count_include_pad=True` (the default) counts the
# padded positions inside a window, `count_include_pad=False` only the real ones; neither
# counts what lies past the padded input. On the row `[1, 2, 3, 4, 5, 6]`:

# %%
row = np.arange(1.0, 7.0)[None, None, None]      # (N=1, C=1, 1, 6): one row of six


def avg_row(kernel, stride, padding=0, **options):
    """Average pooling along the row only (a 1 x kernel window), by poolkit (PyTorch)."""
    return poolkit.avg_pool2d(row, (1, kernel), (1, stride), (0, padding), **options)[0, 0, 0]


print("p=0, floor mode:", avg_row(3, 2))
print("p=0, ceil mode: ", avg_row(3, 2, ceil_mode=True), " (last window: (5 + 6) / 2, not / 3)")
print("p=1, ceil mode, count_include_pad=True: ", avg_row(3, 2, 1, ceil_mode=True),
      " (first: (0 + 1 + 2) / 3; last: (6 + 0) / 2)")
print("p=1, ceil mode, count_include_pad=False:",
      avg_row(3, 2, 1, ceil_mode=True, count_include_pad=False), " (first: (1 + 2) / 2; last: 6 / 1)")

# %% [markdown]
# **Questions.** Which input sizes survive VGG's five 2x2/2 poolings with nothing dropped?
# Which sizes give a 7x7 output after all five, in floor mode and in ceil mode (your
# `input_sizes`, applied five times)? Build the stack your `stack_to_target(37, 9)` returns
# as an `nn.Sequential` of `nn.MaxPool2d` layers and check the shape of a `(1, 16, 37, 37)`
# tensor.
#
# ## References
#
# * V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep learning",
#   arXiv:1603.07285, 2016. The output-size relations for strides, padding and pooling.
# * A. Zhang, Z. C. Lipton, M. Li and A. J. Smola, *Dive into Deep Learning*, Section 7.3
#   "Padding and Stride" and Section 7.5 "Pooling", https://d2l.ai.
# * PyTorch documentation: `torch.nn.MaxPool2d` and `torch.nn.AvgPool2d` (output shape,
#   `ceil_mode`, `count_include_pad`), https://pytorch.org/docs/stable/nn.html#pooling-layers.
# * Keras documentation: `MaxPooling2D` and `AveragePooling2D` (`'valid'` and `'same'`
#   output shapes), https://keras.io/api/layers/pooling_layers/.
# * K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
#   Recognition", ICLR 2015 (arXiv:1409.1556). VGG-16.
# * A. Krizhevsky, I. Sutskever and G. E. Hinton, "ImageNet Classification with Deep
#   Convolutional Neural Networks", NeurIPS 2012. AlexNet; overlapping pooling (Section 3.4).
# * K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for Image Recognition",
#   CVPR 2016 (arXiv:1512.03385). The ResNet stem (Table 1).
# * Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
#   document recognition", Proceedings of the IEEE 86(11), 1998. LeNet-5.
