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
# # 01 · Why pooling?
#
# Almost every classic convolutional network (LeNet, AlexNet, VGG, ResNet's stem) has
# **pooling layers**: a small window (often 2x2) slides over each channel with a stride
# and replaces what it sees by one number, the maximum or the average. Textbooks give three
# reasons to pool:
#
# 1. **Fewer numbers.** Pooling shrinks the feature maps, so later layers need fewer
#    parameters, fewer multiply-adds and less memory.
# 2. **Invariance to small shifts.** If the input moves by a pixel, the pooled features (and
#    so the prediction) should stay the same.
# 3. **Less overfitting.** Fewer parameters and built-in invariance should make the network
#    generalize better from few examples.
#
# A claim is only as good as its measurement. In this lesson we take a small real CNN, train
# it in seconds on a generated data set, and **put a number on each claim**, including the
# places where the textbook story breaks (aliasing) and the classic fix (blurring before
# subsampling).
#
# Run the cells from top to bottom; the whole notebook takes well under a minute on a laptop
# CPU. The graded exercises are at the end.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import poolkit
from poolkit import models
from poolkit.data import SHAPE_CLASSES, make_shapes, stripes
from poolkit.explore import blur, shift_invariance

torch.set_num_threads(1)            # tiny models: one thread is fastest on a shared CPU
np.set_printoptions(precision=3, suppress=True)
lesson_start = time.perf_counter()

# %% [markdown]
# ## 1. The data and two networks
#
# `poolkit.data.make_shapes` draws a small data set on the fly (nothing is downloaded): each
# 28x28 grey image holds one white shape, a square, circle, triangle or cross, at a random
# position and size, on a slightly noisy background. We use 400 images for training and a
# separate 400 (another seed) for validation.

# %%
train_images, train_labels = make_shapes(400, seed=0)     # (400, 1, 28, 28), (400,)
val_images, val_labels = make_shapes(400, seed=1)
print("images:", train_images.shape, train_images.dtype, " labels:", train_labels.shape)
print("classes:", SHAPE_CLASSES, " counts:", np.bincount(train_labels))

fig, axes = plt.subplots(1, 8, figsize=(12, 2))
for ax, image, label in zip(axes, train_images, train_labels):
    ax.imshow(image[0], cmap="gray", vmin=0, vmax=1)
    ax.set_title(SHAPE_CLASSES[label], fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# `poolkit.models.small_cnn` builds the network we study: two blocks of a 3x3 convolution
# (padding 1, so the size is kept) and a ReLU, each followed by a 2x2 max pooling with stride
# 2, then a dense layer of 32 units and a dense layer with one output per class. The
# ablation `pool=None` is the same network with the two pooling layers removed.

# %%
with_pooling = models.small_cnn(pool="max")
without_pooling = models.small_cnn(pool=None)
print(with_pooling)


# %% [markdown]
# ## 2. Claim 1: pooling means fewer numbers
#
# `models.layer_summary` pushes one image through a network and records, with forward hooks,
# what each layer produces: its output shape, its parameters, its multiply-adds (a 3x3
# convolution from 8 to 16 channels costs `8 * 3 * 3` multiply-adds per output value) and
# the number of activations it stores for the backward pass.

# %%
def print_summary(model, title):
    rows = models.layer_summary(model, (1, 28, 28))
    print(title)
    print(f"  {'layer':<12}{'output':>14}{'parameters':>12}{'mult-adds':>12}{'activations':>13}")
    for row in rows:
        shape = "x".join(map(str, row["output_shape"]))
        print(f"  {row['layer']:<12}{shape:>14}{row['parameters']:>12,}"
              f"{row['multiply_adds']:>12,}{row['activations']:>13,}")


print_summary(with_pooling, "with 2x2 max pooling")
print()
print_summary(without_pooling, "without pooling")


# %% [markdown]
# The convolutions have the same parameters in both networks: a convolution's weights do
# not depend on the size of the image. The difference is in the **first dense layer**, which
# sees every value of the last feature map. With pooling that map is `16 x 7 x 7 = 784`
# values; without pooling it is `16 x 28 x 28 = 12,544`, sixteen times more, and every one of
# them gets its own 32 weights. The table below collects the totals.

# %%
def cost(model):
    dense = models.first_dense(model)
    return {
        "first dense layer parameters": dense.weight.numel() + dense.bias.numel(),
        "all parameters": models.count_parameters(model),
        "multiply-adds per image": models.multiply_adds(model, (1, 28, 28)),
        "activation memory per image (KiB)": models.activation_memory(model, (1, 28, 28)) / 1024,
    }


cost_with, cost_without = cost(with_pooling), cost(without_pooling)
print(f"{'':36}{'with pooling':>14}{'without':>14}{'ratio':>8}")
for key in cost_with:
    print(f"{key:36}{cost_with[key]:>14,.0f}{cost_without[key]:>14,.0f}"
          f"{cost_without[key] / cost_with[key]:>8.1f}x")

# %%
fig, ax = plt.subplots(figsize=(8, 3))
keys = list(cost_with)
positions = np.arange(len(keys))
ax.barh(positions + 0.2, [cost_with[k] for k in keys], height=0.4, label="with pooling")
ax.barh(positions - 0.2, [cost_without[k] for k in keys], height=0.4, label="without pooling")
ax.set_yticks(positions, keys)
ax.set_xscale("log")
ax.set_xlabel("count (log scale)")
ax.legend()
ax.set_title("What two 2x2 pooling layers save in a small CNN")
plt.tight_layout()
plt.show()

# %% [markdown]
# Two 2x2 pooling layers divide the area of the feature map by `4 * 4 = 16`, and the first
# dense layer shrinks by the same factor. The multiply-adds fall by less than that, because
# the first convolution runs at full resolution in both networks, and the memory for
# activations falls by less still, because the full-resolution output of the first block is
# stored in both. **Pooling saves most where the network is widest: right before the dense
# layers.**
#
# ## 3. Claim 2: invariance to small shifts, measured on features
#
# Shift an image right by a pixel. Does the pooled feature map stay the same? Two numbers
# answer it, and they can disagree:
#
# * **unchanged**: the fraction of pooled values that are exactly the same as before;
# * **relative change**: `||pool(shifted) - pool(original)|| / ||pool(original)||`, how much
#   the pooled map moved as a whole.
#
# `poolkit.explore.shift_invariance` computes both for circular shifts of `0 .. k-1` pixels
# (a shift by a whole stride just moves the pooled map by one cell, so it is not
# interesting). We pool 100 clean shape images (no noise) with 4x4 windows and stride 4, the
# combined window of two 2x2 pooling layers.

# %%
clean_images, _ = make_shapes(100, seed=3, noise=0.0)
noisy_images, _ = make_shapes(100, seed=3, noise=0.05)

print("shift (px):                  0     1     2     3")
feature_results = {}
for name, batch in [("clean", clean_images[:, 0]), ("noisy", noisy_images[:, 0])]:
    for mode in ("max", "avg"):
        result = shift_invariance(batch, shifts=range(4), kernel_size=4, mode=mode)
        feature_results[name, mode] = result
        unchanged = "".join(f"{u:>6.0%}" for u in result.unchanged)
        change = "".join(f"{c:>6.2f}" for c in result.change)
        print(f"{name} images, {mode} 4x4/4")
        print(f"    unchanged values       {unchanged}")
        print(f"    relative change        {change}")

# %% [markdown]
# Read the clean rows first. After a one-pixel shift, max pooling gives **exactly the same
# value in almost every window**: the brightest pixel of a window usually stays inside it.
# Average pooling changes every window that contains an edge. That is the local invariance
# the textbooks promise.
#
# But the *relative change* tells a less rosy story: where max pooling does change, it jumps
# from background to shape, so by the relative change the max-pooled map moves *more* than
# the averaged one. And the noisy rows show that "exactly the same" is fragile: with a little
# noise, the maximum of a window is often a noise pixel that moves out with the shift. The
# invariance is partial, it grows with the shift, and it is never guaranteed.
#
# ### Where it breaks: aliasing
#
# Pooling with stride `s` keeps one value per `s` pixels, a subsampling. Patterns that repeat
# faster than the subsampling can follow are **aliased**: they turn into a different pattern
# after pooling, and which one depends on the exact position of the input. The cleanest
# example is a stripe pattern with a period of 4 pixels (2 white, 2 black) pooled with 2x2
# windows and stride 2.

# %%
pattern = stripes(16, period=4)                       # (16, 16): columns 0,1 black, 2,3 white, ...
fig, axes = plt.subplots(2, 3, figsize=(8, 5.5))
for row, blurred in enumerate([False, True]):
    result = shift_invariance(pattern, shifts=[0, 1], kernel_size=2, mode="max", blur_first=blurred)
    label = "blur, then max 2x2/2" if blurred else "max 2x2/2"
    axes[row, 0].imshow(result.inputs[0], cmap="gray", vmin=0, vmax=1)
    axes[row, 0].set_title("input" + (" (blurred)" if blurred else ""))
    for col, shift in enumerate([0, 1], start=1):
        axes[row, col].imshow(result.outputs[col - 1], cmap="gray", vmin=0, vmax=1)
        axes[row, col].set_title(f"{label}\ninput shifted {shift} px")
    print(f"{label:<22} relative change after a 1 px shift: {result.change[1]:.2f}")
for ax in axes.ravel():
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# Without blurring, a one-pixel shift turns the pooled output from stripes into a uniform
# white image: the relative change is 1, the feature map is unrecognizable. Max pooling did
# not make this pattern invariant; it made it *worse* than the input, which merely moved.
#
# The fix (Zhang, *Making Convolutional Networks Shift-Invariant Again*, 2019) is the one
# signal processing has always used before subsampling: **low-pass filter first**. A
# `[1, 2, 1] / 4` binomial blur along both axes (`poolkit.explore.blur`, exercise 3 below)
# weakens the fastest oscillations. One pass does not remove the aliasing (the bottom row
# still flips from stripes to uniform), but the jump is smaller; every further pass of the
# blur, i.e. a wider low-pass filter, shrinks it more, at the price of a blurrier map:

# %%
for passes in range(4):
    result = shift_invariance(pattern, shifts=[0, 1], kernel_size=2, mode="max",
                              blur_first=passes > 0, blur_passes=passes)
    print(f"{passes} blur passes before max 2x2/2: relative change after a 1 px shift "
          f"{result.change[1]:.2f}")

# %% [markdown]
# On the shapes, one blur pass has the same effect on the relative change, at the price of
# fewer exactly-equal values (a blurred image rarely has exact ties):

# %%
print(f"{'pooling (clean shapes)':<28}" + "".join(f"{'shift ' + str(s):>10}" for s in range(4)))
for mode in ("max", "avg"):
    for blurred in (False, True):
        result = shift_invariance(clean_images[:, 0], shifts=range(4), kernel_size=4,
                                  mode=mode, blur_first=blurred)
        name = ("blur + " if blurred else "") + f"{mode} 4x4/4"
        print(f"{name:<28}" + "".join(f"{c:>10.2f}" for c in result.change))
print("(relative change of the pooled map; 0 = identical)")

# %% [markdown]
# **Try it.** The explorer below repeats this measurement on any of the procedural images: move the shift slider and watch which pooled values change, then switch the blur on. The chart shows the relative change for every shift of up to one window, with and without blurring first.

# %%
from poolkit import widgets

widgets.shift_explorer(image="stripes", size=32, kernel_size=2, mode="max")

# %% [markdown]
# ## 4. Training the networks
#
# Features are one thing; what we care about is the prediction. We train three versions of
# the same network on the 400 training images with `models.train` (Adam, cross-entropy,
# seeded, one CPU thread, a few seconds each):
#
# * `max`: 2x2 max pooling with stride 2, as above;
# * `none`: no pooling at all;
# * `blur`: anti-aliased max pooling, i.e. a 2x2 max with stride **1** followed by the
#   binomial blur with stride 2 (Zhang's *MaxBlurPool*). Like any pooling layer it has no
#   parameters.
#
# For the overfitting question we also train `max` and `none` with a second seed, so that we
# can see how much of a difference is noise.

# %%
EPOCHS, LEARNING_RATE = 10, 5e-3
runs = {}
for pool, seeds in [("max", (0, 1)), (None, (0, 1)), ("blur", (0,))]:
    for seed in seeds:
        model = models.small_cnn(pool=pool, seed=seed)
        history = models.train(model, train_images, train_labels, epochs=EPOCHS, seed=seed,
                               val_images=val_images, val_labels=val_labels, lr=LEARNING_RATE)
        runs[pool or "none", seed] = (model, history)
        print(f"pool={str(pool):<5} seed={seed}: train accuracy {history['train_acc'][-1]:.3f}, "
              f"validation accuracy {history['val_acc'][-1]:.3f} ({history['seconds']:.1f} s)")

# %% [markdown]
# ## 5. Claim 2 again: do the *predictions* survive a shift?
#
# `models.prediction_consistency(model, images, max_shift)` shifts every validation image by
# `(dy, dx)` pixels for `dy, dx` in `0 .. max_shift-1` (circularly, as in section 3;
# exercise 6 asks what zero-filling changes) and returns, per shift, the fraction of
# images whose predicted class did not change. Its mean over all shifts is a
# **shift-consistency score**; you will write the scoring part yourself in exercise 2.

# %%
MAX_SHIFT = 4
tables = {name: models.prediction_consistency(runs[name, 0][0], val_images[:200], MAX_SHIFT)
          for name in ("max", "blur", "none")}

fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), layout="constrained")
for ax, (name, table) in zip(axes, tables.items()):
    shown = ax.imshow(table, vmin=0.5, vmax=1, cmap="viridis")
    ax.set_title(f"{name}: consistency {table.mean():.3f}")
    ax.set_xlabel("shift right (px)")
    ax.set_ylabel("shift down (px)")
    for (dy, dx), value in np.ndenumerate(table):
        ax.text(dx, dy, f"{value:.2f}", ha="center", va="center", fontsize=8, color="w")
fig.colorbar(shown, ax=axes, shrink=0.8, label="same prediction as unshifted")
plt.show()

for name, table in tables.items():
    one_pixel = (table[0, 1] + table[1, 0]) / 2
    print(f"{name:<5} mean consistency {table.mean():.3f}; after a 1 px shift {one_pixel:.3f}; "
          f"worst shift {table.min():.3f}")

# %% [markdown]
# The network **without pooling** changes its mind most often: with a dense layer that sees
# every position of a 28x28 map, a shape that moves has to be recognised by other weights.
# The pooled networks are clearly more consistent, yet neither is invariant: even a
# one-pixel shift flips some predictions, and consistency falls as the shift grows.
#
# Anti-aliasing is not a free win on this small problem: compare the `blur` and `max`
# numbers above. The blur reduces the aliasing we saw on stripes, but our shapes have few
# fast-repeating patterns, and in the same ten epochs the blurred network reached a lower
# validation accuracy (section 4), which by itself makes predictions less stable. With one
# seed per network, a difference this small cannot be told apart from seed noise. Zhang
# reports clear gains for ImageNet-sized networks; here the honest answer is "no measurable
# gain".
#
# ## 6. Claim 3: does pooling reduce overfitting?
#
# The train/validation gap (training accuracy minus validation accuracy) measures how much a
# network memorizes instead of generalizing. We have two seeds of each network:

# %%
print(f"{'network':<10}{'seed':>5}{'train acc':>11}{'val acc':>9}{'gap':>7}{'parameters':>12}")
gaps = {}
for (name, seed), (model, history) in runs.items():
    if name == "blur":
        continue
    gap = history["train_acc"][-1] - history["val_acc"][-1]
    gaps.setdefault(name, []).append(gap)
    print(f"{name:<10}{seed:>5}{history['train_acc'][-1]:>11.3f}{history['val_acc'][-1]:>9.3f}"
          f"{gap:>7.3f}{models.count_parameters(model):>12,}")
for name, values in gaps.items():
    print(f"mean gap {name:<5}: {np.mean(values):.3f}")
print(f"the gap without pooling is {np.mean(gaps['none']) / np.mean(gaps['max']):.1f}x the gap with it")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
for ax, name in zip(axes, ("max", "none")):
    for seed in (0, 1):
        history = runs[name, seed][1]
        epochs = np.arange(1, EPOCHS + 1)
        ax.plot(epochs, history["train_acc"], "-", color=f"C{seed}", label=f"train, seed {seed}")
        ax.plot(epochs, history["val_acc"], "--", color=f"C{seed}", label=f"validation, seed {seed}")
    ax.set_title(f"pool={name}")
    ax.set_xlabel("epoch")
axes[0].set_ylabel("accuracy")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Both networks fit the training set almost perfectly, but the one without pooling does
# worse on images it has not seen: its gap is larger on both seeds, by the factor printed
# above. So on this data the claim holds, with two caveats worth keeping:
#
# * **It is not one cause.** Removing pooling also multiplies the dense layer's parameters
#   by 16 and removes the shift tolerance measured above. The ablation cannot tell which of
#   the two does the work (exercise 5 below suggests how to separate them).
# * **It is a small experiment.** Two seeds, 400 images, ten epochs. The direction is clear
#   here because the effect is large; a small difference would need many more seeds before
#   we believed it.
#
# ## Summary
#
# | claim | what we measured | verdict here |
# |---|---|---|
# | fewer numbers | first dense layer 16x smaller; multiply-adds and activation memory smaller | true, and exactly countable |
# | shift invariance | pooled features and predictions under 0..3 px shifts | partial: better than no pooling, never exact; aliasing breaks it, blurring first helps features |
# | less overfitting | train/validation gap, 2 seeds | true on this data, confounded with parameter count |
#
# Next lesson: what exactly max and average pooling keep, and how to write them.

# %%
print(f"lecture part ran in {time.perf_counter() - lesson_start:.1f} s")


# %% [markdown]
# ## Exercises
#
# Graded (autograded cells follow each exercise; run them to check your work):
#
# 1. `first_dense_params`: count the parameters of the first dense layer after pooling.
# 2. `consistency_table`: score how often predictions survive shifts.
# 3. `binomial_blur`: write the anti-aliasing blur in NumPy.
#
# To think about (not graded):
#
# 4. Re-run section 4 with `pool="avg"`. Is average pooling more or less shift consistent
#    than max pooling on these shapes? Relate your answer to the table in section 3.
# 5. Separate the two causes in section 6: build a network without pooling whose dense layer
#    is as small as the pooled one (hint: `models.small_cnn(pool=None, adaptive_size=7)` puts
#    a fixed 7x7 adaptive average pool right before the dense layer). Where does its gap land?
# 6. Use zero-filling shifts (`mode="zero"` in `prediction_consistency`) instead of circular
#    ones. Does anything change, and why is the difference small on this data set?
#
# ### Exercise 1: the first dense layer (3 points)
#
# A feature map of shape `(channels, height, width)` goes through `n_pools` max-pooling
# layers with 2x2 windows and stride 2 (each one **floors**: a side of 7 becomes 3), is
# flattened, and feeds a dense layer with `units` outputs. Return the number of parameters of
# that dense layer (weights **and** biases) as a Python `int`.
#
# Check: the network above has `first_dense_params(16, 28, 28, 32, 2) == 25120`.

# %% nbgrader={"grade": false, "grade_id": "first_dense_params", "locked": false, "schema_version": 3, "solution": true, "task": false}
def first_dense_params(channels, height, width, units, n_pools):
    """Parameters of the dense layer after n_pools 2x2/2 poolings of a (channels, height, width) map."""
    ### BEGIN SOLUTION
    for _ in range(n_pools):
        height, width = height // 2, width // 2
    inputs = channels * height * width
    return int(inputs * units + units)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_first_dense_params_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ck.assert_equal(first_dense_params(16, 28, 28, 32, 2), 25120,
                case="the lesson's network: 16 x 28 x 28, two pools, 32 units",
                hint="16 * 7 * 7 inputs, each with 32 weights, plus 32 biases")
ck.check_against_oracle(
    first_dense_params, "poolkit.models.first_dense_parameters",
    ck.literal_cases([((16, 28, 28, 32, 0), {}, "no pooling"),
                      ((8, 12, 12, 10, 1), {}, "one pool"),
                      ((4, 8, 8, 3, 3), {}, "three pools")],
                     names=("channels", "height", "width", "units", "n_pools")),
    hint="each pool halves height and width; do not forget the biases")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_first_dense_params_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(101)
cases = [((3, 7, 9, 5, 1), {}, "odd sides: floor"), ((2, 15, 6, 4, 2), {}, "odd sides, two pools"),
         ((1, 2, 3, 1, 1), {}, "tiny")]
for _ in range(8):
    n_pools = int(rng.integers(0, 4))
    height, width = (int(v) for v in rng.integers(2 ** n_pools, 40, size=2))
    cases.append(((int(rng.integers(1, 33)), height, width, int(rng.integers(1, 65)), n_pools),
                  {}, "random"))
ck.check_against_oracle(
    first_dense_params, "poolkit.models.first_dense_parameters",
    ck.literal_cases(cases, names=("channels", "height", "width", "units", "n_pools")),
    hint="floor after every pool (7 -> 3 -> 1), not once at the end; weights + biases")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: a shift-consistency score (4 points)
#
# `labels` is an integer array of shape `(S, S, N)`: `labels[dy, dx, n]` is the class
# predicted for image `n` after shifting it `dy` pixels down and `dx` pixels right, so
# `labels[0, 0]` holds the predictions for the unshifted images. Return an `(S, S)` float
# array whose entry `[dy, dx]` is the fraction of images whose prediction after the shift
# **equals their unshifted prediction**. Entry `[0, 0]` is 1 by definition.
#
# Use NumPy only. The cell after the tests applies your function to the `max` network.

# %% nbgrader={"grade": false, "grade_id": "consistency_table", "locked": false, "schema_version": 3, "solution": true, "task": false}
def consistency_table(labels):
    """labels: (S, S, N) predicted classes per shift -> (S, S) fraction equal to labels[0, 0]."""
    ### BEGIN SOLUTION
    labels = np.asarray(labels)
    return np.mean(labels == labels[0, 0], axis=-1).astype(np.float64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_consistency_table_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
two_shifts = np.array([[[0, 1, 2, 3], [0, 1, 2, 0]],
                       [[1, 1, 2, 3], [3, 2, 1, 0]]])
ck.assert_close(consistency_table(two_shifts), np.array([[1.0, 0.75], [0.75, 0.0]]),
                case="S=2, N=4 hand-made labels",
                hint="compare every shift with labels[0, 0], then average over the images")
ck.check_against_oracle(
    consistency_table, "poolkit.models.consistency_table",
    ck.literal_cases([((ck.arr([[[2, 2, 1]]], dtype="int64"),), {}, "S=1: nothing shifted")],
                     names=("labels",)),
    numpy_only=True, hint="the result has shape (S, S)")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_consistency_table_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(202)
cases = []
for size, n, classes in [(3, 7, 2), (4, 25, 4), (2, 1, 3), (5, 12, 10)]:
    base = rng.integers(0, classes, size=n)
    labels = np.broadcast_to(base, (size, size, n)).copy()    # start from "never changes"
    flips = rng.random((size, size, n)) < 0.3
    labels[flips] = rng.integers(0, classes, size=int(flips.sum()))
    cases.append(((ck.arr(labels.tolist(), dtype="int64"),), {}, f"random S={size}, N={n}"))
ck.check_against_oracle(consistency_table, "poolkit.models.consistency_table",
                        ck.literal_cases(cases, names=("labels",)), numpy_only=True,
                        hint="entry [dy, dx] compares labels[dy, dx] with labels[0, 0] (not a neighbour)")
### END HIDDEN TESTS

# %%
model = runs["max", 0][0]
shifted_predictions = np.stack([
    np.stack([models.predict(model, poolkit.data.shift_image(val_images[:200], dy, dx, mode="circular"))
              for dx in range(MAX_SHIFT)])
    for dy in range(MAX_SHIFT)])                                    # (S, S, N)
print("your table for the max-pooling network:\n", consistency_table(shifted_predictions))
print("shift-consistency score:", consistency_table(shifted_predictions).mean().round(3))


# %% [markdown]
# ### Exercise 3: the anti-aliasing blur (4 points)
#
# Write `binomial_blur(x)` for `x` of shape `(..., H, W)` (any number of leading axes): filter
# along the height axis with the weights `[1, 2, 1] / 4`, then along the width axis with the
# same weights. At the borders, **wrap around** (circular padding), so that blurring and
# circular shifting commute. Return a float array of the same shape. NumPy only (`np.roll`
# is all you need).
#
# Example along one axis: `[0, 0, 4, 0]` becomes `[0, 1, 2, 1]`, and `[4, 0, 0, 0]` becomes
# `[2, 1, 0, 1]`.

# %% nbgrader={"grade": false, "grade_id": "binomial_blur", "locked": false, "schema_version": 3, "solution": true, "task": false}
def binomial_blur(x):
    """[1, 2, 1] / 4 along the last two axes with wrap-around borders: (..., H, W) -> same shape."""
    ### BEGIN SOLUTION
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_binomial_blur_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
impulse = np.zeros((4, 4))
impulse[1, 2] = 16.0
expected = np.array([[0, 1, 2, 1], [0, 2, 4, 2], [0, 1, 2, 1], [0, 0, 0, 0]], dtype=float)
ck.assert_close(binomial_blur(impulse), expected, case="a single 16 at row 1, column 2 of a 4x4 grid",
                hint="the 2-D kernel is the outer product [1,2,1] x [1,2,1] / 16")
ck.check_against_oracle(binomial_blur, "poolkit.explore.blur", ck.array_cases(seed=5, n=4, rank=4, max_size=6),
                        numpy_only=True, hint="blur both of the last two axes; wrap around at the borders")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_binomial_blur_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
for seed, rank in [(303, 2), (304, 3), (305, 4), (306, 4)]:
    ck.check_against_oracle(binomial_blur, "poolkit.explore.blur",
                            ck.array_cases(seed=seed, n=5, rank=rank, max_size=9),
                            numpy_only=True,
                            hint="weights 1/4, 1/2, 1/4; wrap around (np.roll), never pad with zeros; "
                                 "any leading axes")
### END HIDDEN TESTS

# %%
print(f"whole notebook ran in {time.perf_counter() - lesson_start:.1f} s")
