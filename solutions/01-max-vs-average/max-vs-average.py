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
# A pooling layer slides a small window over each channel and replaces the values inside
# by **one** number. The two classic choices differ only in *which* number:
#
# * **max pooling** keeps the largest value in the window,
# * **average pooling** keeps the mean.
#
# That one choice decides what survives: a thin bright edge, or the overall brightness of a
# region. In this lesson we
#
# 1. measure what each pooling keeps on small procedural images,
# 2. read a forward pass written as plain loops, then see why a vectorized version is much faster,
# 3. look at *global* average pooling, the head used by GoogLeNet/Inception instead of a big dense layer,
# 4. write the forward passes ourselves (exercises at the end).
#
# Arrays are channels first, as in PyTorch: `x: (N, C, H, W)` = batch, channels, height, width.

# %%
import inspect
import time

import matplotlib.pyplot as plt
import numpy as np

import poolkit
from poolkit import data, reference

np.set_printoptions(precision=3, suppress=True)

# %% [markdown]
# ## 1. What each pooling keeps
#
# `poolkit.data.sample_image` draws a scene with sharp edges (a bright square, a thin line)
# and smooth regions (a gradient). We pool it with 4x4 windows and stride 4, so every
# output pixel summarizes 16 input pixels.

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
# bright, so thin structures get thicker and the picture as a whole gets lighter. The
# average-pooled image looks *blurred*: edges are spread over a transition, but the overall
# brightness is right. Let us put numbers on both impressions.
#
# **A thin line.** A one-pixel-wide line of brightness 1 on a black background:

# %%
line = np.zeros((1, 1, 16, 16))
line[..., 5] = 1.0                       # a vertical line in column 5
for k in (2, 4, 8):
    peak_max = poolkit.max_pool2d(line, k).max()
    peak_avg = poolkit.avg_pool2d(line, k).max()
    print(f"{k}x{k} windows: line brightness after max = {peak_max:.3f}, after average = {peak_avg:.3f}")

# %% [markdown]
# Max pooling keeps the line at full strength whatever the window size; average pooling
# dilutes it by the window width (`1/k`), because the line fills `k` of the `k*k` positions.
# A detector that fired on this line keeps firing after max pooling: this is why max pooling
# is the default after convolutions that detect edges and other local features.
#
# **Brightness of a region.** Average pooling preserves the mean exactly (when the windows
# tile the image); max pooling is biased upward:

# %%
print(f"mean brightness: input {image.mean():.4f}, "
      f"max-pooled {pooled['max 4x4/4 -> 16x16'].mean():.4f}, "
      f"average-pooled {pooled['average 4x4/4 -> 16x16'].mean():.4f}")

# %% [markdown]
# **Noise in a smooth region.** Take a flat gray patch with a little noise (standard
# deviation 0.05). Averaging 16 values divides the noise's standard deviation by
# `sqrt(16) = 4`; the maximum of 16 noisy values instead lands on the *upper tail* of the
# noise, so max pooling turns noise into a brightness offset.

# %%
rng = np.random.default_rng(0)
flat = 0.5 + 0.05 * rng.standard_normal((1, 1, 256, 256))
for name, fn in [("max", poolkit.max_pool2d), ("average", poolkit.avg_pool2d)]:
    out = fn(flat, 4)
    print(f"{name:>7} 4x4: mean {out.mean():.4f} (true 0.5000), noise std {out.std():.4f} (input 0.0500)")

# %%
ramp = data.ramp(32)[None, None]         # a smooth left-to-right gradient
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
# each window's brightest corner instead of its average. On the
# 1-pixel checkerboard the difference is total: max pooling sees a white pixel in every
# window and returns all ones, average pooling returns a flat 0.5. Neither keeps the
# checkerboard pattern itself: a texture finer than the window cannot survive pooling.
#
# | | keeps | loses |
# |---|---|---|
# | max | the strongest response in each window (edges, thin lines, "is the feature present?") | where exactly it was, the mean level; amplifies noise upward |
# | average | the mean level, smooth variation; reduces noise | thin and isolated features (diluted by the window size) |
#
# ## 2. The forward pass, one window at a time
#
# For one spatial dimension of length `L`, a window of size `k`, stride `s` and padding `p`
# on both sides gives
#
# $$L_{out} = \left\lfloor \frac{L + 2p - k}{s} \right\rfloor + 1 .$$
#
# (The next lesson derives this and adds dilation and ceil mode.) Here is the loop version
# that poolkit ships for reading. It pads with `-inf`, not 0: a padded position must never
# win the maximum, otherwise an all-negative input would come out with zeros on its border.

# %%
print(inspect.getsource(reference.max_pool2d))

# %% [markdown]
# The average version pads with zeros, and with PyTorch's default `count_include_pad=True`
# every window is divided by `kernel_size**2`, padded zeros included:

# %%
print(inspect.getsource(reference.avg_pool2d))

# %% [markdown]
# A worked example on a 4x4 input with negative values, a 3x3 window, stride 2 and
# padding 1. The output is `floor((4 + 2 - 3) / 2) + 1 = 2` by 2.

# %%
small = np.array([[-1., -2., -3., -4.],
                  [-5., -6., -7., -8.],
                  [-9., 10., -1., -2.],
                  [-3., -4., -5., -6.]])[None, None]
print("max, padding with -inf:\n", reference.max_pool2d(small, 3, 2, 1)[0, 0])
wrong = np.pad(small, ((0, 0), (0, 0), (1, 1), (1, 1)))     # zeros: the classic bug
print("max, padding with 0 (wrong):\n", reference.max_pool2d(wrong, 3, 2, 0)[0, 0])
print("average (padding counted):\n", reference.avg_pool2d(small, 3, 2, 1)[0, 0])
print("loops agree with poolkit:", np.array_equal(reference.max_pool2d(small, 3, 2, 1), poolkit.max_pool2d(small, 3, 2, 1)))


# %% [markdown]
# ## 3. Vectorized: loop over the window, not over the output
#
# The loop version visits every output position: `H_out * W_out` Python iterations, each
# cutting out a tiny window. A window has only `k * k` positions, and for a fixed offset
# `(di, dj)` inside the window, the values at that offset in *all* windows form a strided
# slice of the padded input:
#
# ```
# padded[:, :, di : di + stride * H_out : stride,  dj : dj + stride * W_out : stride]   # (N, C, H_out, W_out)
# ```
#
# Taking the elementwise maximum (or sum) of those `k * k` slices gives the whole output at
# once. For a 64x64 input and a 2x2 window that is 4 array operations instead of 1024 loop
# iterations. (`numpy.lib.stride_tricks.sliding_window_view` is another route to the same
# result.) Let us time the loop version against poolkit's vectorized one. The absolute
# numbers depend on the machine; the *ratio* is the point.

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
    t_loop = best_time(reference.max_pool2d, batch, k, s)
    t_vec = best_time(poolkit.max_pool2d, batch, k, s)
    n_out = poolkit.pool_output_size(64, k, s) ** 2
    print(f"{k}x{k} stride {s}: {n_out:5d} output positions, loops/vectorized time ratio = {t_loop / t_vec:5.1f}")


# %% [markdown]
# The loop version pays a fixed Python cost for every output position; the vectorized
# version's cost grows with the work per window (`k*k` slices), so the ratio depends on the
# configuration, but in both cases the loops lose by an order of magnitude or more. In
# Exercise 3 you write the offset-slicing version yourself.
#
# ## 4. Global average pooling in the final layers
#
# Classic CNNs (AlexNet, VGG) end with *flatten + dense*: the last feature map
# `(C, H, W)` is flattened into `C*H*W` numbers and fed to a dense layer. GoogLeNet
# (the Inception network), following the Network-in-Network paper, replaced this by
# **global average pooling**: average each
# channel over the whole plane, `(N, C, H, W) -> (N, C, 1, 1)`, so the classifier sees one
# number per channel. Each channel then has to become a "how much of class-relevant
# feature is present" map, and the head no longer depends on `H` and `W`.
#
# The dense layer's parameter count shows what this saves (weights plus biases):

# %%
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
# Global pooling itself has no parameters, and because it averages over whatever plane it
# gets, the same network accepts other input sizes:

# %%
features = np.random.default_rng(2).standard_normal((2, 1024, 7, 7))
print("7x7 features ->", poolkit.global_avg_pool2d(features).shape)
print("9x12 features ->", poolkit.global_avg_pool2d(np.ones((2, 1024, 9, 12))).shape)
print("same as mean over H and W:", np.allclose(poolkit.global_avg_pool2d(features)[..., 0, 0], features.mean(axis=(2, 3))))

# %% [markdown]
# **Try it.** Pool an image again and again, max above average, and watch the thin lines and the checkerboard: max keeps them bright while average fades them to gray. The caption gives the size after every step. (The exercises below do not depend on this widget.)

# %%
from poolkit import widgets

widgets.max_vs_average(image="scene", size=64, kernel_size=2, steps=3)


# %% nbgrader={"grade": false, "grade_id": "max_pool2d_loops", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool2d_loops(x, kernel_size, stride=None, padding=0):
    """Max pooling of x: (N, C, H, W) -> (N, C, H_out, W_out), with loops.

    kernel_size, stride, padding: int or (h, w) pair; stride=None means kernel_size.
    Padding is filled with -inf so it never wins.
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
tiny = np.array([[[[1., 2., 3., 4.], [5., 6., 7., 8.], [9., 10., 11., 12.], [13., 14., 15., 16.]]]])
ck.assert_close(ck.call(max_pool2d_loops, tiny, 2, case="4x4 input 1..16, kernel_size=2"), np.array([[[[6., 8.], [14., 16.]]]]),
                case="4x4 input 1..16, kernel_size=2", hint="each 2x2 block gives its largest value")
ck.check_against_oracle(max_pool2d_loops, "poolkit.max_pool2d", ck.pool_cases(seed=21, n=4, max_size=6, min_kernel=2),
                        numpy_only=True, hint="output size is (H + 2p - k) // s + 1; pad with -inf")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_max_pool2d_loops_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
ck.check_against_oracle(max_pool2d_loops, "poolkit.max_pool2d",
                        ck.pool_cases(seed=2021, n=12, square=False, stride_none=True),
                        numpy_only=True,
                        hint="int or (h, w) pairs; stride=None means kernel_size; pad with -inf, never 0")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: average pooling with loops

# %% nbgrader={"grade": false, "grade_id": "avg_pool2d_loops", "locked": false, "schema_version": 3, "solution": true, "task": false}
def avg_pool2d_loops(x, kernel_size, stride=None, padding=0):
    """Average pooling of x: (N, C, H, W) -> (N, C, H_out, W_out), with loops.

    kernel_size, stride, padding: int or (h, w) pair; stride=None means kernel_size.
    Zero padding, and every window is divided by kernel_h * kernel_w (padding counted).
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
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.empty((n, c, h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            window = padded[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = window.sum(axis=(2, 3)) / (kh * kw)
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_avg_pool2d_loops_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
tiny = np.array([[[[1., 2., 3., 4.], [5., 6., 7., 8.], [9., 10., 11., 12.], [13., 14., 15., 16.]]]])
ck.assert_close(ck.call(avg_pool2d_loops, tiny, 2, case="4x4 input 1..16, kernel_size=2"), np.array([[[[3.5, 5.5], [11.5, 13.5]]]]),
                case="4x4 input 1..16, kernel_size=2", hint="each 2x2 block gives its mean")
ck.check_against_oracle(avg_pool2d_loops, "poolkit.avg_pool2d", ck.pool_cases(seed=22, n=4, max_size=6, min_kernel=2),
                        numpy_only=True, hint="zero padding, divide by kernel_size**2 (padding counted)")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_avg_pool2d_loops_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
ck.check_against_oracle(avg_pool2d_loops, "poolkit.avg_pool2d",
                        ck.pool_cases(seed=2022, n=12, square=False, stride_none=True),
                        numpy_only=True,
                        hint="pairs (h, w) for kernel/stride/padding; divisor kernel_h*kernel_w, padded zeros included")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: vectorized pooling
#
# Square windows only (`kernel_size`, `stride`, `padding` are ints). Loop over the `k*k`
# offsets inside the window (not over output positions) and combine the strided slices with
# `np.maximum` or a running sum. `mode` is `"max"` or `"avg"` (average as in Exercise 2).

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
for mode, oracle in [("max", "poolkit.max_pool2d"), ("avg", "poolkit.avg_pool2d")]:
    def student(x, k, s, p, mode=mode):
        return pool2d_vectorized(x, k, s, p, mode=mode)
    ck.check_against_oracle(student, oracle, ck.pool_cases(seed=23, n=3, max_size=6, min_kernel=2), name=f"pool2d_vectorized(mode={mode!r})",
                            numpy_only=True, hint="slice padded[:, :, di:di + s*(H_out-1)+1:s, dj:...] for each offset")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_pool2d_vectorized_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
for mode, oracle in [("max", "poolkit.max_pool2d"), ("avg", "poolkit.avg_pool2d")]:
    def student(x, k, s, p, mode=mode):
        return pool2d_vectorized(x, k, s, p, mode=mode)
    ck.check_against_oracle(student, oracle,
                            ck.pool_cases(seed=2023, n=10, max_kernel=4, max_size=14, stride_none=True),
                            name=f"pool2d_vectorized(mode={mode!r})", numpy_only=True,
                            hint="max pads with -inf, avg with 0 and divides by k*k; stride=None means k")
# speed: a quarter of the time the loop version needs on this machine (measured in a fresh process)
big = np.random.default_rng(7).standard_normal((1, 1, 600, 600))
_ = ck.call(pool2d_vectorized, big, 2, 1, 0, mode="max", time_limit=ck.loop_time(600, 600) / 4,
            case="speed test, x: (1, 1, 600, 600), kernel_size=2, stride=1",
            hint="loop over the 4 window offsets, not over the 358801 output positions")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: global average pooling

# %% nbgrader={"grade": false, "grade_id": "global_avg_pool", "locked": false, "schema_version": 3, "solution": true, "task": false}
def global_avg_pool(x):
    """Mean of each channel over the whole plane: x: (N, C, H, W) -> (N, C, 1, 1)."""
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    return x.mean(axis=(2, 3), keepdims=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_global_avg_pool_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
demo = np.arange(24, dtype=float).reshape(1, 2, 3, 4)
ck.assert_close(ck.call(global_avg_pool, demo, case="x = arange(24).reshape(1, 2, 3, 4)"), np.array([[[[5.5]], [[17.5]]]]),
                case="x = arange(24).reshape(1, 2, 3, 4)", hint="average over H and W only, keep the axes: (N, C, 1, 1)")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_global_avg_pool_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
ck.check_against_oracle(global_avg_pool, "poolkit.global_avg_pool2d", ck.array_cases(seed=2024, n=8, max_size=11),
                        numpy_only=True, hint="x.mean over axes (2, 3) with keepdims=True")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 (written)
#
# A network must tell *how bright* a region is on average (for example, estimate the
# exposure of a photo) rather than *whether* a small feature appears somewhere. Which
# pooling would you put between its convolutions, and why? Use one number from Section 1
# in your answer.

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_max_vs_avg", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# Average pooling: it preserves the mean brightness exactly (Section 1: input mean equals the
# average-pooled mean, while max pooling raises it) and divides the noise std by k (0.05 -> ~0.0125
# for 4x4), whereas max is biased upward by noise. Full marks for average + a correct number.
# === END MARK SCHEME ===
#
# Average pooling, because it keeps the mean level: in Section 1 the average-pooled image has
# the same mean brightness as the input while the max-pooled one is brighter, and on the noisy
# flat patch averaging 4x4 windows cut the noise standard deviation from 0.05 to about 0.0125
# while max pooling shifted the level upward by almost 0.09.

# %% [markdown]
# **Going further (not graded).** Change the stride in Section 3's timing cell to 1 with a
# 3x3 window: how does the loops/vectorized ratio move, and why? Rewrite Exercise 3 with
# `numpy.lib.stride_tricks.sliding_window_view` and compare its speed with your offset loop.
