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
# # Max pooling vs average pooling
#
# An image network (a CNN) is built mostly from *convolution* layers. A convolution slides
# small learned filters over its input and, at every position, outputs a weighted sum of the
# values under the filter; each filter gives one channel of the output, a **feature map**
# that is large where the filter's pattern (an edge, a spot) appears.
#
# A pooling layer slides a small window over each channel of a feature map and replaces the
# values inside by **one** number. The two classic choices differ only in *which* number:
#
# * **max pooling** keeps the largest value in the window,
# * **average pooling** keeps the mean.
#
# This lesson opens the course: a NumPy primer, then pooling by hand (Section 1), what each
# pooling keeps on images drawn by code (2), the *forward pass* (the computation from a
# layer's input to its output) with loops (3) and *vectorized*, with whole-array NumPy
# operations instead of loops (4), and *global* average pooling in a network's *head*, the
# last layers that turn features into a prediction (5). Exercises close it; lesson 02 asks
# *why* networks pool at all.
#
# Arrays are channels first, as in PyTorch: `x: (N, C, H, W)` = batch (the number of
# samples), channels, height, width.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import poolkit
import poolkit.checks as ck   # ck.hint("<exercise>") works from here on
from poolkit import data

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## NumPy mechanics (a primer, not graded)
#
# Five NumPy tools that many wrong answers trip over. Run each cell and check its output
# against the text; later lessons link here.
#
# **Axes and `...`.** In an `(N, C, H, W)` array, axes 0 and 1 are samples and channels and
# axes -2 and -1 (counted from the end) are height and width, so "over each plane" means
# `axis=(-2, -1)`; `...` stands for all the axes before the ones you name.
#
# **`np.pad` takes one `(before, after)` width per axis.** To pad only height and width, give
# `(0, 0)` for N and C: a single number, as in `np.pad(x, 1)`, pads *every* axis.

# %%
x = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)     # (N, C, H, W)
print(x.max(axis=(-2, -1)).shape, "one value per sample and channel: a plane reduced")
print(x.max(axis=(0, 1)).shape, "one value per pixel, samples and channels mixed")
print(x[..., 0].shape, "column 0 of every plane")
print(np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))).shape, "only H and W padded")
print(np.pad(x, 1).shape, "N and C padded too")
print(np.pad(np.array([1., 2.]), (1, 1), constant_values=-np.inf), "the fill value is yours to choose")

# %% [markdown]
# **`np.roll`'s direction.** A positive shift moves the content to *higher* indices, and what
# falls off the end comes back at the start.
#
# **Sizes use `//`, not `/`.** `/` always gives a float, which NumPy refuses as a size
# (`np.zeros(3.0)` raises a `TypeError`), while `//` rounds down, as the floor in an
# output-size formula does.
#
# **Transposing a weight.** A dense (fully connected) layer, which Section 5 meets again,
# turns `C` inputs into `K` outputs, each a weighted sum of all the inputs. If it stores its
# weight one row per output, `W: (K, C)` (as PyTorch's `nn.Linear` does; Keras' `Dense`
# stores the transpose), it maps a batch `xb: (N, C)` with `xb @ W.T`. `xb @ W` raises an error, or, when
# `K == C`, silently computes something else.

# %%
a = np.array([10, 20, 30, 40])
print(np.roll(a, 1), "a[i] moved to index i + 1;", np.roll(a, -1), "a[i] moved to index i - 1")
L, k, s = 7, 2, 2                          # a length, a window size, a step
print((L - k) / s + 1, "with /: a float, and 3.5 windows do not exist")
print((L - k) // s + 1, "with //: windows start at 0, 2 and 4; one at 6 would not fit")
rng = np.random.default_rng(0)
W = rng.standard_normal((4, 3))            # K=4 outputs, one row each, from C=3 inputs
xb = rng.standard_normal((2, 3))           # N=2 samples
print((xb @ W.T).shape, "(N, K); xb @ W would fail: (2, 3) @ (4, 3)")

# %% [markdown]
# ## 1. Pooling by hand
#
# Take a single-channel 4x4 feature map and cut it into 2x2 windows that do not overlap
# (window size 2, **stride** 2: each window starts 2 positions after the previous one):
#
# ```
#  1  3 | 2  0
#  4  6 | 1  1
# ------+------
#  0  2 | 5  7
#  1  1 | 8  3
# ```
#
# Max pooling replaces each window by its largest value, average pooling by its mean. The
# output is 2x2. **Predict both outputs on paper first**, then run the cell. (Frameworks
# call the window the *kernel*: `poolkit.max_pool2d(x, 2, 2)` means `kernel_size=2`,
# `stride=2`.)

# %%
fmap = np.array([[1., 3., 2., 0.],
                 [4., 6., 1., 1.],
                 [0., 2., 5., 7.],
                 [1., 1., 8., 3.]])
x = fmap[None, None]                     # each None adds an axis of length 1: (N=1, C=1, H=4, W=4)
print("max pooling, 2x2 windows, stride 2:\n", poolkit.max_pool2d(x, 2, 2)[0, 0])
print("average pooling, 2x2 windows, stride 2:\n", poolkit.avg_pool2d(x, 2, 2)[0, 0])

# %% [markdown]
# The top-left window holds 1, 3, 4, 6: its max is 6 and its mean `14 / 4 = 3.5`. Max
# pooling passes on one of the four values and drops three; average pooling uses all four
# but keeps only their mean.
#
# **Several channels.** A real feature map has many channels (one per feature a convolution
# detects). Pooling works on each channel *separately*: it never mixes channels, and the
# number of channels stays the same. A second channel next to the first:
#
# ```
#  0  0 |  1  1
#  0  0 |  1  1
# ------+------
# -1 -2 |  0  0
# -3 -4 |  0  0
# ```

# %%
second = np.array([[0., 0., 1., 1.],
                   [0., 0., 1., 1.],
                   [-1., -2., 0., 0.],
                   [-3., -4., 0., 0.]])
x2 = np.stack([fmap, second])[None]      # (N=1, C=2, H=4, W=4)
out_max = poolkit.max_pool2d(x2, 2, 2)
out_avg = poolkit.avg_pool2d(x2, 2, 2)
print("input shape", x2.shape, "-> output shape", out_max.shape)
for c in range(2):
    print(f"channel {c}: max\n{out_max[0, c]}\n           average\n{out_avg[0, c]}")
print("channel 0 is unchanged by the presence of channel 1:",
      np.array_equal(out_max[0, 0], poolkit.max_pool2d(x, 2, 2)[0, 0]))

# %% [markdown]
# Channel 1's bottom-left window holds only negative values: its max is `-1` (not 0) and its
# mean `-2.5`. The shape goes `(1, 2, 4, 4) -> (1, 2, 2, 2)`: batch and channels unchanged,
# height and width halved.
#
# In general a window of size `k`, stride `s` and padding `p` (extra positions added on both
# sides) over a length `L` gives
#
# $$L_{out} = \left\lfloor \frac{L + 2p - k}{s} \right\rfloor + 1$$
#
# output positions (lesson 03 derives this and adds dilation and ceil mode). With `k = s = 2`
# and `p = 0` that is `floor(L / 2)`.
#
# ## 2. What each pooling keeps
#
# `poolkit.data.sample_image` draws smooth regions on the left and sharp structure on the
# right (a checkerboard, thin lines, a disk). We pool it with 4x4 windows and stride 4, so
# every output pixel summarizes 16 input pixels.

# %%
image = data.sample_image(64)            # (64, 64), values in [0, 1]
x = image[None, None]                    # (N=1, C=1, 64, 64)
pooled = {
    "input 64x64": image,
    "max 4x4/4 -> 16x16": poolkit.max_pool2d(x, 4)[0, 0],
    "average 4x4/4 -> 16x16": poolkit.avg_pool2d(x, 4)[0, 0],
}
fig, axes = plt.subplots(1, 3, figsize=(10, 3.5))
for ax, (title, img) in zip(axes, pooled.items()):
    ax.imshow(img, cmap="gray", vmin=0, vmax=1)
    ax.set_title(title)
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# The max-pooled image looks *bolder*: every window that touches something bright becomes
# bright, so thin structures get thicker. The average-pooled image looks *blurred*, but its
# overall brightness is right. The next cell puts numbers on three cases:
#
# * **a thin line**, one pixel wide, of brightness 1 on black, pooled with `k x k` windows;
# * **the brightness of a region**: the mean of the image above and of its two poolings;
# * **noise in a smooth region**: a flat gray patch (0.5) with noise of standard deviation
#   0.05, pooled 4x4. Averaging 16 values divides the noise's standard deviation by
#   `sqrt(16) = 4`; the maximum of 16 noisy values lands among the largest values the noise
#   takes.

# %%
line = np.zeros((1, 1, 16, 16))
line[..., 5] = 1.0                       # a vertical line in column 5
for k in (2, 4, 8):
    peak_max = poolkit.max_pool2d(line, k).max()
    peak_avg = poolkit.avg_pool2d(line, k).max()
    print(f"{k}x{k} windows: line brightness after max = {peak_max:.3f}, after average = {peak_avg:.3f}")
print(f"mean brightness: input {image.mean():.4f}, "
      f"max-pooled {pooled['max 4x4/4 -> 16x16'].mean():.4f}, "
      f"average-pooled {pooled['average 4x4/4 -> 16x16'].mean():.4f}")
rng = np.random.default_rng(0)
flat = 0.5 + 0.05 * rng.standard_normal((1, 1, 256, 256))
for name, fn in [("max", poolkit.max_pool2d), ("average", poolkit.avg_pool2d)]:
    out = fn(flat, 4)
    print(f"{name:>7} 4x4: mean {out.mean():.4f} (true 0.5000), noise std {out.std():.4f} (input 0.0500)")

# %% [markdown]
# Max pooling keeps the line at full strength; average pooling dilutes it by `1/k` (the
# line fills `k` of the `k*k` positions). This is why max pooling is the usual choice after
# convolutions that detect edges and other local features. Average pooling keeps the mean
# brightness exactly (when the windows tile the image); max pooling is biased upward, and on
# the noisy patch it turns noise into a brightness offset while averaging shrinks the noise.
#
# | | keeps | loses |
# |---|---|---|
# | max | the strongest response in each window (edges, thin lines, "is the feature present?") | where exactly it was, the mean level; amplifies noise upward |
# | average | the mean level, smooth variation; reduces noise | thin and isolated features (diluted by the window size) |
#
# ## 3. The forward pass, one window at a time
#
# The direct way to compute pooling visits every output position `(i, j)`, cuts out its
# window, which starts at row `i * s` and column `j * s` of the padded input, and reduces it
# with `max` or `mean`. Two details decide whether the result matches PyTorch:
#
# * **Padding for max pooling** must never win the maximum. Padding with 0 is the classic
#   bug: an all-negative window at the border would come out as 0.
# * **Padding for average pooling** is zeros, and with PyTorch's default
#   `count_include_pad=True` every window is divided by `kernel_h * kernel_w`, padded zeros
#   included.
#
# A worked example on a 4x4 input with negative values, a 3x3 window, stride 2 and padding 1.
# The output is `floor((4 + 2 - 3) / 2) + 1 = 2` by 2. (You write the max loops in
# Exercise 1; here poolkit, which runs PyTorch's pooling, gives the numbers to check by hand.
# An average-pooling loop is the same loop with zero padding and the sum divided by `k * k`.)

# %%
small = np.array([[-1., -2., -3., -4.],
                  [-5., -6., -7., -8.],
                  [-9., 10., -1., -2.],
                  [-3., -4., -5., -6.]])[None, None]
print("max, padding never wins:\n", poolkit.max_pool2d(small, 3, 2, 1)[0, 0])
wrong = np.pad(small, ((0, 0), (0, 0), (1, 1), (1, 1)))     # zeros: the classic bug
print("max, padding with 0 (wrong):\n", poolkit.max_pool2d(wrong, 3, 2, 0)[0, 0])
print("average (padding counted):\n", poolkit.avg_pool2d(small, 3, 2, 1)[0, 0])

# %% [markdown]
# ## 4. Vectorized: loop over the window, not over the output
#
# The loop version makes `H_out * W_out` Python iterations, but a window has only `k * k`
# positions. Turn the loops around: fix one offset `(di, dj)` inside the window and ask where
# it lands in *every* window at once. Those positions form a regular grid of the padded
# input, one row every `stride` rows, so one strided slice (`start:stop:step`) reaches all of
# them. Choose `stop` so that the slice takes exactly `H_out` rows (and `W_out` columns): a
# slice with no stop (`di::stride`) runs to the end of the padded input, which can give one
# row too many. Combining the `k * k` slices elementwise gives the
# output: for a 64x64 input and 2x2 windows with stride 2, 4 array operations instead of
# `32 * 32 = 1024` loop iterations. You work out the slice in Exercise 3.
#
# ## 5. Global average pooling in the final layers
#
# Classic CNNs (AlexNet, VGG) end with *flatten + dense*: the last feature map `(C, H, W)`
# is flattened into `C*H*W` numbers and fed to a dense layer (fully connected: each output
# is a weighted sum of *all* inputs plus a bias, the primer's `xb @ W.T` plus `b`).
# GoogLeNet, following Network in Network, uses **global average pooling** instead: one
# window as large as the whole plane, `(N, C, H, W) -> (N, C, 1, 1)`, so the dense layer
# that gives the class scores (one per category) sees one number per channel, and the head
# no longer depends on `H` and `W`. In NumPy it is one mean over the last two axes, kept
# with length 1 (`keepdims=True`). The parameter counts show what this saves:

# %%
feature_maps = np.arange(24, dtype=float).reshape(1, 2, 3, 4)       # (N, C, H, W)
gap = feature_maps.mean(axis=(-2, -1), keepdims=True)
print("global average pooling:", feature_maps.shape, "->", gap.shape, gap.ravel())


def dense_params(n_in, n_out):
    return n_in * n_out + n_out

# (head, last feature map C, H, W, units of the first dense layer)
heads = [("GoogLeNet, 1000 classes", 1024, 7, 7, 1000), ("VGG-16, first dense layer", 512, 7, 7, 4096),
         ("small CNN, 10 classes", 64, 4, 4, 10)]
print(f"{'head':>26} {'feature map':>12} {'flatten+dense':>14} {'GAP+dense':>10} {'saved':>6}")
for name, c, h, w, units in heads:
    flat, gap = dense_params(c * h * w, units), dense_params(c, units)
    print(f"{name:>26} {f'{c}x{h}x{w}':>12} {flat:>14,d} {gap:>10,d} {1 - gap / flat:>6.1%}")


# %% [markdown]
# Global pooling has no parameters, and the same network accepts other input sizes: a `7x7`
# and a `9x12` feature map both give `(N, C, 1, 1)`.
#
# ## Exercises
#
# | | exercise | kind | points |
# |---|---|---|---|
# | 1 | `max_pool2d_loops`: max pooling with loops | implement | 3 |
# | 2 | `bug_counterexample`: find the bug in a classmate's max pooling | find the bug | 3 |
# | 3 | `pool2d_vectorized`: pooling by window offsets, fast | implement | 2 |
# | 4 | `input_from_max_pool`: an input from overlapping max pooling | derive a rule | 3 |
# | 5 | *(written)* which pooling for an exposure estimate? | reasoning | 2 |
#
# Write NumPy only: no poolkit, torch or Keras inside your functions (the tests check).
# A failing test names the case and gives a pointer, and names a mistake the course knows
# ("your output equals ...") with the section to reread. `ck.hint("max_pool2d_loops")` (with
# the exercise's function name) prints the rule; after three failed tries (versions that work
# differently) it is shown anyway.
#
# ### Exercise 1: max pooling with loops (3 points)
#
# Write `max_pool2d_loops(x, kernel_size, stride=None, padding=0)` for `x: (N, C, H, W)`,
# with two Python loops over the output positions (Section 3). The tests read your code: the
# two loops must be nested in the function itself (loops over samples or channels are
# allowed but not needed: `.max(axis=(-2, -1))` handles them all), and NumPy's
# window views such as `sliding_window_view` are not allowed. It must match PyTorch's
# `nn.MaxPool2d`:
#
# * `kernel_size`, `stride` and `padding` are each an int (the same for height and width) or
#   an `(h, w)` pair; `stride=None` means `stride = kernel_size`;
# * padded positions never win the maximum, also when every real value is negative;
# * the output shape follows Section 1's formula per dimension; `x` holds floats, and the
#   result is a float `numpy.ndarray`.

# %% nbgrader={"grade": false, "grade_id": "max_pool2d_loops", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):
    """Max pooling of x: (N, C, H, W) -> (N, C, H_out, W_out), with loops.

    kernel_size, stride, padding: int or (h, w) pair; stride=None means kernel_size.
    Padded positions never win the maximum.
    """
    ### BEGIN SOLUTION
    def pair(v):
        return (v, v) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))

    kh, kw = pair(kernel_size)
    sh, sw = pair(kernel_size if stride is None else stride)
    ph, pw = pair(padding)
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    h_out = (h + 2 * ph - kh) // sh + 1
    w_out = (w + 2 * pw - kw) // sw + 1
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_max_pool2d_loops_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
from poolkit.checks.loops import assert_loops

hand = np.array([[[[1., 3., 2., 0.], [4., 6., 1., 1.], [0., 2., 5., 7.], [1., 1., 8., 3.]]]])
ck.assert_close(ck.call(max_pool2d_loops, hand, 2, case="Section 1's 4x4 map, kernel_size=2"), np.array([[[[6., 2.], [2., 8.]]]]),
                case="Section 1's 4x4 map, kernel_size=2", hint="stride=None: the windows do not overlap; check the top-left one by hand")
negative = -np.arange(1., 17.).reshape(1, 1, 4, 4)
ck.assert_close(ck.call(max_pool2d_loops, negative, 3, 2, 1, case="all negative 4x4, kernel_size=3, stride=2, padding=1"),
                np.array([[[[-1., -2.], [-5., -6.]]]]), case="all negative 4x4, kernel_size=3, stride=2, padding=1",
                hint="a padded position won the max: which value can never be the largest?")
ck.check_against_oracle(max_pool2d_loops, "poolkit.max_pool2d",
                        ck.pool_cases(seed=21, n=6, max_size=6, min_kernel=2, square=False, stride_none=True),
                        numpy_only=True, hint="with an (h, w) pair, the first entry is for the rows and the second for the columns: does every row count, slice and output size use the row values?")
assert_loops(max_pool2d_loops, exercise="max_pool2d_loops")   # the values are right: now the rule, loops
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_max_pool2d_loops_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
from poolkit.checks.loops import assert_loops

assert_loops(max_pool2d_loops, exercise="max_pool2d_loops",
             hint="two loops, over the output rows and columns, each cutting out one window")
ck.check_against_oracle(max_pool2d_loops, "poolkit.max_pool2d",
                        ck.pool_cases(seed=2021, n=12, square=False, stride_none=True),
                        numpy_only=True,
                        hint="(h, w) pairs, stride=None and padding that never wins: see the exercise text")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: find the bug (3 points)
#
# A classmate wrote max pooling with loops (square windows, ints only). It gives the right
# answer on the hand example of Section 1, and on every other example they tried:

# %%
def buggy_max_pool2d(x, kernel_size, stride=None, padding=0):
    k = kernel_size
    s = k if stride is None else stride
    p = padding
    n, c, h, w = x.shape
    h_out = (h + 2 * p - k) // s + 1
    w_out = (w + 2 * p - k) // s + 1
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = padded[:, :, i * s:(i + 1) * s, j * s:(j + 1) * s]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out


print(buggy_max_pool2d(fmap[None, None], 2, 2)[0, 0])      # Section 1's 4x4 map: right


# %% [markdown]
# Read it line by line and find the bug. Then
#
# **(a)** (2 points) write `bug_counterexample()` that returns a tuple `(x, kernel_size, stride, padding)`
# on which `buggy_max_pool2d` gives a different result from real max pooling: `x` a float
# array of shape `(N, C, H, W)` with `N, C <= 8` and `H, W <= 16`, ints `kernel_size` and
# `stride` from 1 to 16, and an int `padding` that PyTorch accepts
# (`padding <= kernel_size // 2`). Choose the values in `x` on purpose: with a lucky input
# the bug stays hidden.
#
# **(b)** (1 point) in the cell after the test, say which line is wrong, why the classmate's tests did
# not catch it, and how to fix it.

# %% nbgrader={"grade": false, "grade_id": "bug_counterexample", "locked": false, "schema_version": 3, "solution": true, "task": false}
def bug_counterexample():
    """(x, kernel_size, stride, padding) on which buggy_max_pool2d is wrong."""
    ### BEGIN SOLUTION
    # The window is stride wide instead of kernel_size wide: wrong whenever stride != kernel.
    # With k=3, s=1 the buggy window is 1x1, so a bigger value one step away is missed.
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 2, 2] = 1.0
    return x, 3, 1, 0
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_bug_counterexample_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import poolkit


def buggy_max_pool2d(x, kernel_size, stride=None, padding=0):
    k = kernel_size
    s = k if stride is None else stride
    p = padding
    n, c, h, w = x.shape
    h_out = (h + 2 * p - k) // s + 1
    w_out = (w + 2 * p - k) // s + 1
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = padded[:, :, i * s:(i + 1) * s, j * s:(j + 1) * s]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out


case = "bug_counterexample()"
answer = ck.call(bug_counterexample, case=case)
ck.require(type(answer) is tuple and len(answer) == 4,
           f"expected a tuple (x, kernel_size, stride, padding), got {type(answer).__name__}",
           case=case, hint="return the four values as one tuple", exercise="bug_counterexample")
x_case, k_case, s_case, p_case = answer
ck.require(bool(type(x_case) is np.ndarray and x_case.ndim == 4 and x_case.dtype.kind == "f"
                and max(x_case.shape[:2]) <= 8 and max(x_case.shape[2:]) <= 16 and min(x_case.shape) >= 1
                and np.isfinite(x_case).all()),
           "x must be a float array of shape (N, C, H, W) with 1 <= N, C <= 8, 1 <= H, W <= 16 and finite values",
           case=case, hint="build x with np.zeros((N, C, H, W)) and set a few values", exercise="bug_counterexample")
# The test pads and pools with these sizes: they are checked before anything is built.
ck.require_int(k_case, 1, 16, "kernel_size", case=case, exercise="bug_counterexample")
ck.require_int(s_case, 1, 16, "stride", case=case, exercise="bug_counterexample")
ck.require(bool(all(type(v) is int for v in (k_case, s_case, p_case)) and k_case >= 1 and s_case >= 1
                and 0 <= p_case <= k_case // 2 and min(x_case.shape[2:]) + 2 * p_case >= k_case),
           f"PyTorch refuses kernel_size={k_case!r}, stride={s_case!r}, padding={p_case!r} on a "
           f"{x_case.shape[2]}x{x_case.shape[3]} input", case=case,
           hint="ints >= 1, padding at most kernel_size // 2, and the padded input at least one window wide",
           exercise="bug_counterexample")
description = f"{case}: x of shape {x_case.shape}, kernel_size={k_case}, stride={s_case}, padding={p_case}"
differs = not np.array_equal(buggy_max_pool2d(x_case, k_case, s_case, p_case),
                             poolkit.max_pool2d(x_case, k_case, s_case, p_case), equal_nan=True)
ck.require(bool(differs), "the buggy function gives the right answer on your case", case=description,
           hint="the hand example hides the bug too: which arguments does it never vary?",
           exercise="bug_counterexample")
print("test passed: the buggy function is wrong on your case")

# %% nbgrader={"grade": true, "grade_id": "test_bug_counterexample_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
import poolkit


def _stride_wide(a, k, s, p):
    """The classmate's pooling, compactly: windows s wide instead of k."""
    n_h = (a.shape[2] + 2 * p - k) // s + 1
    n_w = (a.shape[3] + 2 * p - k) // s + 1
    big = np.pad(a, [(0, 0), (0, 0), (p, p), (p, p)], constant_values=-np.inf)
    rows = [[big[:, :, i * s:i * s + s, j * s:j * s + s].max(axis=(2, 3)) for j in range(n_w)]
            for i in range(n_h)]
    return np.array(rows).transpose(2, 3, 0, 1)


case_h = "bug_counterexample(), checked again"
answer_h = ck.call(bug_counterexample, case=case_h)
valid_h = type(answer_h) is tuple and len(answer_h) == 4 and type(answer_h[0]) is np.ndarray
ck.require(bool(valid_h and answer_h[0].ndim == 4 and answer_h[0].dtype.kind == "f"),
           "no valid (x, kernel_size, stride, padding)", case=case_h, exercise="bug_counterexample")
xh, kh, sh, ph = answer_h
ck.require(bool(np.isfinite(xh).all() and min(xh.shape) >= 1 and max(xh.shape[:2]) <= 8
                and max(xh.shape[2:]) <= 16),
           "x breaks the rules of Exercise 2", case=case_h, exercise="bug_counterexample")
ck.require_int(kh, 1, 16, "kernel_size", case=case_h, exercise="bug_counterexample")
ck.require_int(sh, 1, 16, "stride", case=case_h, exercise="bug_counterexample")
ck.require(bool(type(ph) is int and 0 <= ph <= kh // 2 and min(xh.shape[2:]) + 2 * ph >= kh),
           "a configuration PyTorch refuses", case=case_h, exercise="bug_counterexample")
ck.require(not np.array_equal(_stride_wide(xh, kh, sh, ph), poolkit.max_pool2d(xh, kh, sh, ph), equal_nan=True),
           "the classmate's code is right on this case", case=case_h, exercise="bug_counterexample")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_bug_fix", "locked": false, "points": 1, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 1 point in all, half a point each:
# * the wrong line is the window slice `padded[:, :, i * s:(i + 1) * s, ...]`: the window is
#   `stride` wide instead of `kernel_size` wide; fix: `i * s:i * s + k` (and the same for j);
# * it goes unnoticed whenever stride == kernel_size (the default stride=None and the hand
#   example), so the classmate's tests never varied the stride.
# === END MARK SCHEME ===
#
# The window slice `padded[:, :, i * s:(i + 1) * s, j * s:(j + 1) * s]` is `stride` positions
# wide, not `kernel_size`: it must be `padded[:, :, i * s:i * s + k, j * s:j * s + k]`. With the
# default `stride=None` (and in the hand example) the stride equals the kernel size, so the two
# coincide and the bug only shows with overlapping (`stride < kernel_size`) or spaced-out
# (`stride > kernel_size`) windows.

# %% [markdown]
# ### Exercise 3: vectorized pooling (2 points)
#
# Write `pool2d_vectorized(x, kernel_size, stride=None, padding=0, mode="max")` with square
# windows only (`kernel_size`, `stride`, `padding` are ints; `stride=None` means
# `kernel_size`). Loop over the `k*k` offsets inside the window (not over output positions)
# and combine the strided slices of Section 4 with `np.maximum` or a running sum. `mode` is
# `"max"` (as Exercise 1) or `"avg"` (as PyTorch's `nn.AvgPool2d`: zero padding, every
# window divided by `k * k`, Section 3).
#
# The hidden test allows it at most a third of the CPU time of a loop over output positions
# (as in Exercise 1) on a `600x600` input with `kernel_size=2, stride=1`.

# %% nbgrader={"grade": false, "grade_id": "pool2d_vectorized", "locked": false, "schema_version": 3, "solution": true, "task": false}
def pool2d_vectorized(x, kernel_size, stride=None, padding=0, mode="max"):
    """Max or average pooling of x: (N, C, H, W) -> (N, C, H_out, W_out) by window offsets."""
    ### BEGIN SOLUTION
    k = kernel_size
    s = k if stride is None else stride
    p = padding
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    h_out = (h + 2 * p - k) // s + 1
    w_out = (w + 2 * p - k) // s + 1
    fill = -np.inf if mode == "max" else 0.0
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    out = np.full((n, c, h_out, w_out), fill)
    for di in range(k):
        for dj in range(k):
            part = padded[:, :, di:di + s * (h_out - 1) + 1:s, dj:dj + s * (w_out - 1) + 1:s]
            out = np.maximum(out, part) if mode == "max" else out + part
    return out if mode == "max" else out / (k * k)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_pool2d_vectorized_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
negative = -np.arange(1., 17.).reshape(1, 1, 4, 4)
ck.assert_close(ck.call(pool2d_vectorized, negative, 2, 2, 0, mode="max", case="all negative 4x4, kernel_size=2, stride=2, mode='max'"),
                np.array([[[[-1., -3.], [-9., -11.]]]]), case="all negative 4x4, kernel_size=2, stride=2, mode='max'",
                hint="every value is negative here: what must a running maximum start from so that it never wins?")
for mode, oracle in [("max", "poolkit.max_pool2d"), ("avg", "poolkit.avg_pool2d")]:
    def student(x, k, s, p, mode=mode):
        return pool2d_vectorized(x, k, s, p, mode=mode)
    ck.check_against_oracle(student, oracle, ck.pool_cases(seed=23, n=5, max_size=8, min_kernel=2, stride_none=True),
                            name=f"pool2d_vectorized(mode={mode!r})",
                            numpy_only=True, hint="for each offset (di, dj), which rows of the padded input start a window? (Section 4)")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_pool2d_vectorized_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
for mode, oracle in [("max", "poolkit.max_pool2d"), ("avg", "poolkit.avg_pool2d")]:
    def student(x, k, s, p, mode=mode):
        return pool2d_vectorized(x, k, s, p, mode=mode)
    ck.check_against_oracle(student, oracle,
                            ck.pool_cases(seed=2023, n=10, max_kernel=4, max_size=14, stride_none=True),
                            name=f"pool2d_vectorized(mode={mode!r})", numpy_only=True,
                            hint="padding as in Exercise 1 (max) or Section 3 (average, divided by k * k); stride=None means kernel_size")
# speed: at most a third of the loop version's CPU time on the same input, both measured now
big = np.random.default_rng(7).standard_normal((1, 1, 600, 600))
ck.check_speed(pool2d_vectorized, big, 2, 1, 0, mode="max", loops=(600, 600, 2, 1), fraction=1 / 3,
               case="speed test, x: (1, 1, 600, 600), kernel_size=2, stride=1",
               hint="loop over the 4 window offsets, not over the 358801 output positions")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: an input from its overlapping max pooling (3 points)
#
# Windows may overlap. With 2x2 windows at stride 1, window `(i, j)` covers rows `i`, `i+1`
# and columns `j`, `j+1` of `x`: each window starts one position after the previous one, so
# an input value sits in up to four windows. Overlapping pooling (a stride smaller than the
# window) is real: AlexNet pools 3x3 windows at stride 2 (lesson 03).
#
# You are given only `pooled: (N, C, H, W)`, finite floats of any sign: the 2x2 stride-1 max
# pooling, without padding, of an unknown `x`. Write `input_from_max_pool(pooled)` that
# returns a finite float array `x: (N, C, H+1, W+1)` whose 2x2 stride-1 max pooling is
# exactly `pooled`, or raises `ValueError` when no input has that pooling (one impossible
# window anywhere is enough).
#
# No rule is given; many inputs can be right (the tests pool yours and compare). First find
# a `pooled` that no input can give.

# %% nbgrader={"grade": false, "grade_id": "input_from_max_pool", "locked": false, "schema_version": 3, "solution": true, "task": false}
def input_from_max_pool(pooled):
    """A finite float x: (N, C, H+1, W+1) whose 2x2 stride-1 max pooling is pooled:
    (N, C, H, W); ValueError when no x has that pooling."""
    ### BEGIN SOLUTION
    p = np.asarray(pooled, dtype=np.float64)
    # A value of x is at most the max of every window it sits in, so the largest x allowed
    # takes, at each position, the min of the (1 to 4) windows covering it. Any x with this
    # pooling lies below it everywhere, so if even this x pools too low somewhere, none
    # reaches pooled. +inf padding leaves out the windows a border position is not in.
    padded = np.pad(p, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=np.inf)
    x = np.minimum(np.minimum(padded[..., :-1, :-1], padded[..., :-1, 1:]),
                   np.minimum(padded[..., 1:, :-1], padded[..., 1:, 1:]))
    back = np.maximum(np.maximum(x[..., :-1, :-1], x[..., :-1, 1:]),
                      np.maximum(x[..., 1:, :-1], x[..., 1:, 1:]))
    if np.any(back != p):                       # max and min pick values: no rounding
        raise ValueError("some window's max is not reached by any input")
    return x
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_input_from_max_pool_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import poolkit
from poolkit.checks.hints import expected_failure


def check_built_input(pooled_t, case):
    """Fail unless input_from_max_pool(pooled_t) is a finite float (N, C, H+1, W+1) array
    whose 2x2 stride-1 max pooling (poolkit's, which the test suite checks against PyTorch)
    is pooled_t."""
    built = ck.call(input_from_max_pool, pooled_t, case=case,
                    hint="some input has this pooling: build one, do not raise")
    n, c, h, w = pooled_t.shape
    ck.require(bool(type(built) is np.ndarray and built.dtype.kind == "f"
                    and built.shape == (n, c, h + 1, w + 1)),
               f"expected a float numpy array of shape {(n, c, h + 1, w + 1)}, got "
               f"{getattr(built, 'shape', type(built).__name__)}", case=case,
               hint="H windows at stride 1 need H + 1 rows of x", exercise="input_from_max_pool")
    ck.require(bool(np.isfinite(built).all()), "your x holds a non-finite value", case=case,
               hint="every value of x must be a finite number", exercise="input_from_max_pool")
    ck.assert_close(poolkit.max_pool2d(built, 2, 1), pooled_t, case=case + ": max pooling of your x",
                    hint="window (i, j) covers rows i, i+1 and columns j, j+1: a value of x "
                         "counts in every window it sits in", exercise="input_from_max_pool")


def check_impossible(pooled_t, case, hint="which windows would the value that makes this map "
                                          "impossible raise, wherever it sat in x?"):
    """Fail unless input_from_max_pool(pooled_t) raises ValueError."""
    try:
        with expected_failure():            # raising is the right answer: no diagnosis here
            ck.call(input_from_max_pool, pooled_t, case=case)
        raised = False
    except AssertionError as exc:
        if " raised ValueError" not in str(exc).partition("\n")[0]:
            raise
        raised = True
    ck.require(raised, "no input has this max pooling, but input_from_max_pool returned one "
               "instead of raising ValueError", case=case, hint=hint,
               exercise="input_from_max_pool")


check_built_input(np.array([[[[-2., -5., -1.], [-3., -4., -1.]]]]),
                  "pooled = [[-2, -5, -1], [-3, -4, -1]]")
check_impossible(np.array([[[[0., 0., 0.], [0., 5., 0.], [0., 0., 0.]]]]),
                 "pooled: a 5 in the centre of a 3x3 map of zeros",
                 hint="where could the 5 go in x, and which windows would it raise?")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_input_from_max_pool_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# check_built_input and check_impossible: the visible test's, above (the grader shares a
# lesson's test helpers; only definitions carry over, so the imports come again)
### BEGIN HIDDEN TESTS
import poolkit
from poolkit.checks.hints import expected_failure


def pooled_of(x):
    """The 2x2 stride-1 max pooling of x: a pooled map some input reaches."""
    return poolkit.max_pool2d(np.asarray(x, dtype=np.float64), 2, 1)


rng = np.random.default_rng(2604)
random_maps = pooled_of(rng.integers(-3, 3, size=(2, 3, 5, 6)))     # small ints: many ties
check_built_input(random_maps,
                  "random inputs of small integers, 2 samples, 3 channels, pooled 4x5")
check_built_input(pooled_of(-rng.integers(1, 4, size=(1, 2, 4, 7)) - 0.5),
                  "random all-negative inputs, pooled 3x6")
check_built_input(np.array([[[[-2.5]]], [[[7.]]]]), "1x1 maps, one per sample")
check_built_input(np.array([[[[1., 3., 3., 2.]]]]), "a 1x4 map")
check_built_input(np.array([[[[0., 1.], [2., 3.]]]]), "a 2x2 map increasing to the bottom right")
check_built_input(np.array([[[[5., 0., 0.], [0., 0., 0.], [0., 0., 4.]]]]),
                  "a 3x3 map of zeros with its largest values in two corners")
check_built_input(np.array([[[[-1., -1., -2.], [-1., -3., -2.], [-4., -3., -3.]]]]),
                  "a 3x3 map of ties")
bad = random_maps.copy()
bad[1, 2, 2, 2] = random_maps.max() + 1.0  # above every window around it
check_impossible(bad, "random inputs' pooling with ONE window, sample 1 channel 2, raised")
check_impossible(np.array([[[[0., 5., 0.]]]]), "a 1x3 map, a 5 between zeros")
check_impossible(np.array([[[[-1.], [-1.], [2.], [-1.]]]]), "a 4x1 map, a 2 between -1s")
check_impossible(np.array([[[[0., 5., 0.], [0., 0., 0.], [0., 0., 0.]]]]),
                 "a 3x3 map of zeros, a 5 in the middle of the top row")
check_impossible(np.array([[[[9., 0., 9.], [0., 5., 0.], [9., 9., 9.]]]]),
                 "a 3x3 map: a 5 beside 9s, each of its four cells also in a window of 0")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5: written, which pooling for an exposure estimate? (2 points)
#
# A network must tell *how bright* a region is on average (for example, estimate the
# exposure of a photo) rather than *whether* a small feature appears somewhere. Which
# pooling would you put between its convolutions, and why? Use numbers from Section 2 in
# your answer.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_max_vs_avg", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Points go to the argument, not to the name of the pooling: a bare choice earns nothing, and
# either choice can earn both points if its reasons are right.
# 1 point: the choice is tied to what the task measures, the mean level of a region rather than
#   whether a feature is present anywhere (e.g. average pooling reports that mean directly; a
#   max-pooling answer must say why the strongest response still tracks it).
# 1 point, half for each, numbers from Section 2 used in the argument:
# * the mean level: the average-pooled image keeps the input's mean brightness while the
#   max-pooled one is brighter (on the noisy flat patch about 0.59 instead of 0.5); a
#   max-pooling answer earns it by facing this bias, e.g. a later layer subtracts a fixed offset;
# * noise: averaging 4x4 windows cuts the noise std from 0.05 to about 0.0125 (divided by
#   sqrt(16) = 4), while max pooling turns noise into an upward offset that grows with the
#   noise level; a max-pooling answer earns it by addressing this, e.g. for images of known,
#   constant noise.
# Numbers need not be exact if clearly read off.
# === END MARK SCHEME ===
#
# Average pooling, because it keeps the mean level: in Section 2 the average-pooled image has
# the same mean brightness as the input while the max-pooled one is brighter, and on the noisy
# flat patch averaging 4x4 windows cut the noise standard deviation from 0.05 to about 0.0125
# while max pooling shifted the level upward by almost 0.09.

# %% [markdown]
# ## Going further (optional, not graded)
#
# **Try it.** Pool an image again and again, max above average, and watch the thin lines and
# the checkerboard: max keeps them bright while average fades them to gray. The caption gives
# the size after every step.

# %%
from poolkit import widgets

widgets.max_vs_average(image="scene", size=64, kernel_size=2, steps=3)

# %% [markdown]
# **A ramp and the finest texture.** A smooth diagonal ramp and a checkerboard of 1-pixel
# squares, each pooled 2x2. Predict both results before you run the cell.

# %%
ramp = data.ramp(32)[None, None]         # a smooth diagonal gradient, dark top left to bright bottom right
checker = data.checkerboard(32, square=1)[None, None]   # the finest possible texture
fig, axes = plt.subplots(2, 3, figsize=(9, 6))
for row, (name, img) in enumerate([("ramp", ramp), ("1-pixel checkerboard", checker)]):
    axes[row, 0].imshow(img[0, 0], cmap="gray", vmin=0, vmax=1)
    axes[row, 0].set_title(name)
    for col, (label, fn) in enumerate([("max 2x2", poolkit.max_pool2d), ("average 2x2", poolkit.avg_pool2d)], 1):
        out = fn(img, 2)[0, 0]
        axes[row, col].imshow(out, cmap="gray", vmin=0, vmax=1)
        axes[row, col].set_title(f"{label}: values {out.min():.2f}..{out.max():.2f}")
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])                    # keep the frame: an all-white panel stays visible
plt.tight_layout()
plt.show()


# %% [markdown]
# On the ramp both poolings give a coarser ramp; max is slightly brighter because it picks
# each window's brightest corner. On the checkerboard max pooling sees a white pixel in every
# window and returns all ones, average pooling a flat 0.5: a texture finer than the window
# cannot survive pooling.
#
# **Time your two versions.** The cell below runs your Exercise 1 (loops over the output)
# and your Exercise 3 (loops over the window) on a batch of `8 x 16` channels of 64x64 and
# prints how many times slower the loops are. The absolute numbers depend on the machine;
# the *ratio* is the point. Try to predict it for both configurations before you run it.

# %%
def best_time(fn, *args, repeat=3):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


batch = np.random.default_rng(1).standard_normal((8, 16, 64, 64))
for k, s in [(2, 2), (3, 1)]:
    t_loop = best_time(max_pool2d_loops, batch, k, s)
    t_offsets = best_time(pool2d_vectorized, batch, k, s)
    print(f"{k}x{k} stride {s}: loops/offsets time ratio = {t_loop / t_offsets:5.1f}")

# %% [markdown]
# **What to expect.** The loops should be slower in both configurations, and by more for 2x2
# windows with stride 2. Going from `(2, 2)` to `(3, 1)` multiplies the loop iterations by
# about 3.8 (`32 * 32 = 1024` output positions become `62 * 62 = 3844`) but the offset
# version's work by about 8 (4 slices of 32x32 become 9 slices of 62x62), so the second
# ratio comes out smaller than the first, often by half or more. The numbers themselves
# change from machine to machine, and from run to run when the machine is busy. If the loops
# are not slower at all, your Exercise 3 probably still loops over output positions (its
# hidden test checks the speed).

# %% [markdown]
# **More to try.**
#
# * **Max from ReLU.** `max(a, b) = b + relu(a - b)`, with `relu(t) = max(t, 0)`. Write 2x2
#   max pooling with stride 2 using only `relu`, sums, differences and slicing (no `max`):
#   first the max of the two columns of each window, then of the two rows. Check it against
#   `poolkit.max_pool2d`. Why can a network made of ReLU layers compute max pooling, but not
#   a network of linear layers alone?
# * Time the comparison above on a `256x256` input with 5x5 windows and stride 1: how does
#   the loops/vectorized ratio move, and why?
# * Rewrite Exercise 3 with `numpy.lib.stride_tricks.sliding_window_view` and compare its
#   speed with your offset loop.
#
# ## References
#
# * A. Zhang, Z. C. Lipton, M. Li and A. J. Smola, *Dive into Deep Learning*, Section 7.5
#   "Pooling", https://d2l.ai (the hand-checked pooling examples, padding and stride,
#   multiple channels).
# * PyTorch documentation: `torch.nn.MaxPool2d`, `torch.nn.AvgPool2d` and
#   `torch.nn.AdaptiveAvgPool2d`, https://pytorch.org/docs/stable/nn.html#pooling-layers.
# * Keras documentation: `MaxPooling2D` and `AveragePooling2D`,
#   https://keras.io/api/layers/pooling_layers/.
# * M. Lin, Q. Chen and S. Yan, "Network In Network", ICLR 2014 (arXiv:1312.4400). Global
#   average pooling.
# * C. Szegedy et al., "Going Deeper with Convolutions", CVPR 2015 (arXiv:1409.4842).
#   GoogLeNet.
# * K. Simonyan and A. Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
#   Recognition", ICLR 2015 (arXiv:1409.1556). VGG-16.
# * Y.-L. Boureau, J. Ponce and Y. LeCun, "A Theoretical Analysis of Feature Pooling in Visual
#   Recognition", ICML 2010. Max versus average pooling.
