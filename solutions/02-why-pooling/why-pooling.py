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
# # Why pooling?
#
# In lesson 01 you computed max and average pooling. This lesson asks **why** networks use
# them. Almost every classic convolutional network (LeNet, AlexNet, VGG, ResNet's stem)
# downsamples with pooling layers. (LeNet-5's "subsampling" layers were a little different:
# a 2x2 sum times a trainable coefficient, plus a trainable bias, then a squashing function
# (LeCun et al., 1998); the pooling of lesson 01 learns nothing.) Textbooks give three
# reasons to pool:
#
# 1. **Fewer numbers, and a wider view.** Smaller feature maps mean fewer parameters,
#    multiply-adds (the multiplications a layer does, each added to a sum; section 2 counts
#    them) and memory in later layers, and each later value depends on a larger
#    patch of the input image.
# 2. **Invariance to small shifts.** If the input moves by a pixel, the pooled features (and
#    so the prediction) should stay the same.
# 3. **Less overfitting.** Fewer parameters and built-in invariance should make the network
#    generalize better from few examples.
#
# We take a small CNN, train it on the CPU on generated data, and **put a number on each
# claim**, including where the story breaks. Counts and measurements on fixed images are
# exact, and the cells check them. Training accuracies move by a few points with the torch
# version and the machine, so those cells print their numbers and the text says what to
# expect.
#
# Run the cells from top to bottom. Training five small networks takes about a minute on a
# laptop CPU (each run prints its time). The graded exercises are at the end, followed by an
# optional *Going further* section.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import poolkit
import poolkit.checks as ck   # ck.hint("<exercise>") works from here on
from poolkit import models
from poolkit.data import SHAPE_CLASSES, make_shapes, stripes
from poolkit.explore import shift_invariance

torch.set_num_threads(1)            # tiny models: one thread is fastest on a shared CPU
np.set_printoptions(precision=3, suppress=True)
lesson_start = time.perf_counter()

# %% [markdown]
# ## 1. The data and two networks
#
# `poolkit.data.make_shapes` draws a small data set on the fly (nothing is downloaded): each
# 28x28 grey image holds one white shape, a square, circle, triangle or cross, at a random
# position and size, on a slightly noisy background. We train on 400 images and keep a
# separate 400 (another seed) for **validation**: images the network never trains on, which
# show how well it does on data it has not seen.

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
# (padding 1, so the size is kept) and a ReLU (`max(x, 0)` of every value), each followed by
# the 2x2 max pooling with stride 2 of lesson 01, then a dense layer of 32 units and a dense
# layer with one output per class. `pool=None` gives an **ablation** (the same network with
# one part taken out, to see what that part does): the two pooling layers are removed.
#
# ## 2. Claim 1: pooling means fewer numbers
#
# `models.layer_summary` pushes one image through a network and records, with forward hooks
# (functions torch calls after each layer has computed its output), each layer's output
# shape, its parameters, its multiply-adds (a 3x3 convolution from 8 to 16 channels costs
# `8 * 3 * 3` per output value) and its **activations**, the number of values it outputs.
#
# Activations matter for memory during training. Training adjusts every weight along its
# **gradient** (how much the loss, the training error, changes when that weight changes a
# little); the **backward pass** computes the gradients layer by layer from the output back
# to the input, and most layers need their forward values for it, so these stay in memory.
# The activation count is a close upper bound on that memory: it also counts the output of
# `Flatten`, a reshaped view that takes no memory of its own.

# %%
with_pooling = models.small_cnn(pool="max")
without_pooling = models.small_cnn(pool=None)
print(with_pooling)


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


def cost(model):
    dense = models.first_dense(model)
    return {
        "first dense layer parameters": dense.weight.numel() + dense.bias.numel(),
        "all parameters": models.count_parameters(model),
        "multiply-adds per image": models.multiply_adds(model, (1, 28, 28)),
        "activations x 4 bytes per image (KiB)": models.activation_memory(model, (1, 28, 28)) / 1024,
    }


cost_with, cost_without = cost(with_pooling), cost(without_pooling)
print(f"\n{'totals':36}{'with pooling':>14}{'without':>14}{'ratio':>8}")
for key in cost_with:
    print(f"{key:36}{cost_with[key]:>14,.0f}{cost_without[key]:>14,.0f}"
          f"{cost_without[key] / cost_with[key]:>8.1f}x")

# the numbers the text quotes
conv_params = [row["parameters"] for row in models.layer_summary(with_pooling, (1, 28, 28))
               if row["layer"] == "Conv2d"]
assert conv_params == [80, 1168]
dense_ratio = cost_without["first dense layer parameters"] / cost_with["first dense layer parameters"]
assert 15.9 < dense_ratio < 16.0      # (12,544 * 32 + 32) / (784 * 32 + 32)


# %% [markdown]
# The convolutions have the same parameters in both networks (80 and 1,168): a
# convolution's weights do not depend on the size of the image. The difference is the
# **first dense layer**, which sees every value of the last feature map: `16 x 7 x 7 = 784`
# values with pooling, `16 x 28 x 28 = 12,544` without, each with its own 32 weights. Two
# 2x2 poolings divide the map's area by `4 * 4 = 16`, and that layer shrinks by the same
# factor. Multiply-adds and activations fall by less, because the first block runs at full
# resolution in both networks. **Pooling saves most where the network is widest: right
# before the dense layers.**
#
# ### The same shrinking widens the view
#
# The **receptive field** of a value in a feature map is the patch of the input image that
# can change it. A 3x3 convolution at full resolution widens it by 2 pixels; after a 2x2
# pooling with stride 2, one step on the feature map is 2 input pixels, so the next 3x3
# convolution widens it by `2 * 2 = 4`, and every further pooling doubles the step again.
# This is one of the reasons textbooks give for pooling (*Dive into Deep Learning*, Section
# 7.5): the values just before the dense layers should see most of the object. The
# arithmetic, layer by layer (side of the receptive field, and the step in input pixels
# between neighbouring values):

# %%
def receptive_fields(layers):
    """[(name, side, step)] after each (name, kernel, stride) layer, from one input pixel."""
    side, step, rows = 1, 1, []
    for name, kernel, stride in layers:
        side += (kernel - 1) * step      # the window reaches kernel - 1 steps further
        step *= stride                   # a stride-s layer makes one step s times longer
        rows.append((name, side, step))
    return rows


conv, pool = ("conv 3x3", 3, 1), ("max 2x2/2", 2, 2)
for title, layers in [("with pooling", [conv, pool, conv, pool]), ("without pooling", [conv, conv])]:
    print(title)
    for name, side, step in receptive_fields(layers):
        print(f"  after {name:<10} receptive field {side:>2}x{side:<2}  step {step} px")

# %% [markdown]
# Before the dense layers, each value of the pooled network sees a 10x10 patch of the 28x28
# image; without pooling each sees only 5x5, and the dense layer has to put a shape
# together from many small views. (ReLUs act on one value at a time and do not change the
# receptive field.)
#
# ## 3. Claim 2: invariance to small shifts, measured on features
#
# Shift an image right by a pixel. Does the pooled feature map stay the same? Two numbers
# answer it, and they can disagree:
#
# * **unchanged**: the fraction of pooled values that are exactly the same as before;
# * **relative change**: `||pool(shifted) - pool(original)|| / ||pool(original)||`, how much
#   the pooled map moved as a whole. `||v||` is the (Euclidean) norm of `v`: the square
#   root of the sum of its squared values, `np.linalg.norm(v)`.
#
# `poolkit.explore.shift_invariance` computes both for **circular** shifts (the pixels that
# leave one edge come back in at the other, as `np.roll` does). We pool 100 shape images
# with 4x4 windows and stride 4, the combined window of two 2x2 poolings, and count only the
# windows that hold part of a shape (an empty window stays empty whatever the pooling).

# %%
clean_images, _ = make_shapes(100, seed=3, noise=0.0)
noisy_images, _ = make_shapes(100, seed=3, noise=0.05)
occupied = shift_invariance(clean_images[:, 0], shifts=[0], kernel_size=4).reference > 0

print(f"{'4x4/4 pooling, 1 px shift':<30}{'unchanged':>10}{'relative change':>17}")
unchanged = {}
for name, batch in [("clean", clean_images[:, 0]), ("noisy", noisy_images[:, 0])]:
    for mode in ("max", "avg"):
        result = shift_invariance(batch, shifts=[0, 1], kernel_size=4, mode=mode)
        moved_values = np.abs(result.outputs[1] - result.reference)[occupied]
        unchanged[name, mode] = float(np.mean(moved_values <= 1e-9))
        print(f"{name + ' images, ' + mode:<30}{unchanged[name, mode]:>10.0%}{result.change[1]:>17.2f}")
print(f"({occupied.mean():.0%} of the windows hold part of a shape)")

# the numbers the text quotes
assert 0.91 < unchanged["clean", "max"] < 0.94 and 0.34 < unchanged["clean", "avg"] < 0.39

# %% [markdown]
# On clean images, max pooling keeps **93% of the values exactly**: the brightest pixel of a
# window usually stays inside it. Average pooling keeps only 36%, since every window that
# contains an edge changes. That is the local invariance the textbooks promise. But where
# max pooling does change, it jumps from background to shape, so by the relative change it
# moves *more* than the average. And with a little noise the maximum of a window is often a
# noise pixel that the shift moves out: "exactly the same" is fragile, and never guaranteed.
#
# ### Where it breaks: aliasing
#
# Pooling with stride `s` keeps one value per `s` pixels, a subsampling. Patterns that
# repeat faster than the subsampling can follow are **aliased**: they turn into a different
# pattern after pooling, and which one depends on the exact position of the input. The
# cleanest example is a stripe pattern with a period of 4 pixels (2 white, 2 black) pooled
# with 2x2 windows and stride 2.
#
# The classic fix before subsampling is a **low-pass filter**. A *filter* here is a small,
# fixed set of weights slid over the image: each output is the weighted sum of the pixels
# around its position. A low-pass filter smooths away the patterns that repeat too fast (it
# keeps slow changes across the image and removes fast ones), here with
# the binomial blur `[1, 2, 1] / 4` along both axes. The simple order is *blur, then max
# 2x2/2*. Zhang's **MaxBlurPool** (2019) splits max pooling into its two steps and puts the
# blur between them: a **dense max** (2x2 windows, stride 1, nothing subsampled yet), **then
# the blur, then the subsampling** (keep every second row and column). You will write it in
# exercise 3. Below: no blur against the simple order.

# %%
pattern = stripes(16, period=4)                       # (16, 16): columns 0,1 black, 2,3 white, ...
moved = np.roll(pattern, 1, axis=-1)                  # shifted 1 px to the right
rows = {"max 2x2/2": shift_invariance(pattern, shifts=[0, 1], kernel_size=2, mode="max"),
        "blur, then max 2x2/2": shift_invariance(pattern, shifts=[0, 1], kernel_size=2, mode="max",
                                                 blur_first=True)}
stripe_change = {name: result.change[1] for name, result in rows.items()}

fig, axes = plt.subplots(2, 3, figsize=(8, 5.5))
outputs = {name: result.outputs for name, result in rows.items()}
for row, (name, pooled) in enumerate(outputs.items()):
    axes[row, 0].imshow(pattern, cmap="gray", vmin=0, vmax=1)
    axes[row, 0].set_title("input")
    for col, shift in enumerate([0, 1], start=1):
        axes[row, col].imshow(pooled[col - 1], cmap="gray", vmin=0, vmax=1)
        axes[row, col].set_title(f"{name}\ninput shifted {shift} px", fontsize=9)
    print(f"{name:<22} relative change after a 1 px shift: {stripe_change[name]:.2f}")
for ax in axes.ravel():
    ax.axis("off")
plt.tight_layout()
plt.show()

# the numbers the text quotes
assert abs(stripe_change["max 2x2/2"] - 1.0) < 1e-9
assert 0.62 < stripe_change["blur, then max 2x2/2"] < 0.64

# %% [markdown]
# Without blurring, a one-pixel shift turns the pooled stripes into a uniform white image:
# the relative change is 1. Max pooling did not make this pattern invariant; it made it
# *worse* than the input, which merely moved. Blurring first lowers the change to 0.63, but
# does not remove the aliasing. (Is 1 the worst a shift can do? Exercise 2 asks.)
#
# ## 4. Training the networks
#
# What we care about is the prediction. We train three versions of the network on the 400
# training images with `models.train` for ten **epochs** (passes through the training set),
# minimizing the cross-entropy loss (the usual training error of a classifier) with the Adam
# optimizer (a gradient-based update rule), seeded:
#
# * `max`: 2x2 max pooling with stride 2, as above;
# * `none`: no pooling at all;
# * `blur`: Zhang's MaxBlurPool, in two layers: a dense 2x2 max (`nn.MaxPool2d(2,
#   stride=1)`), then one layer that does the blur and the subsampling together: it computes
#   the blurred value only at every second row and column (a 3x3 binomial blur applied with
#   stride 2, zero padding 1), which gives the same numbers as blurring everywhere and then
#   keeping every second row and column. Like any pooling layer it has no parameters.
#   (Exercise 3's MaxBlurPool differs at the borders: it wraps around circularly everywhere,
#   where this one drops the last row and column in the max and pads the blur with zeros.)
#
# `max` and `none` get a second seed, to see how much of a difference is noise.

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

final = {key: (history["train_acc"][-1], history["val_acc"][-1]) for key, (_, history) in runs.items()}
print(f"validation accuracy, blur minus max (seed 0): {final['blur', 0][1] - final['max', 0][1]:+.3f}")

# %% [markdown]
# What to expect: `max` and `none` fit the training images almost perfectly (training
# accuracy around 0.97 or higher), and `blur` usually ends with a somewhat lower validation
# accuracy than `max` in the same ten epochs.
#
# ## 5. Claim 2 again: do the *predictions* survive a shift?
#
# `models.prediction_consistency(model, images, max_shift)` shifts every validation image
# circularly by `(dy, dx)` pixels for `dy, dx` in `0 .. max_shift-1` and returns, per shift,
# the fraction of images whose predicted class did not change. Its mean over all shifts is
# a **shift-consistency score**.

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

one_pixel = {}
for name, table in tables.items():
    one_pixel[name] = (table[0, 1] + table[1, 0]) / 2
    print(f"{name:<5} mean consistency {table.mean():.3f}; after a 1 px shift {one_pixel[name]:.3f}; "
          f"worst shift {table.min():.3f}")

print(f"mean consistency, none minus the lower of max and blur: "
      f"{tables['none'].mean() - min(tables['max'].mean(), tables['blur'].mean()):+.3f}")
print(f"mean consistency, blur minus max: {tables['blur'].mean() - tables['max'].mean():+.3f}")

# %% [markdown]
# What to expect (and what our runs showed): the network **without pooling** changes its
# mind most often, by a clear margin (a mean score more than 0.05 lower, in absolute terms,
# than the lower of the two pooled networks): its dense layer sees every position of a 28x28
# map, so a shape that moves has to be recognised by other weights. The pooled networks are more
# consistent, yet neither is invariant: even a one-pixel shift flips some predictions, and
# consistency falls as the shift grows (compare the entries `[1, 1]` and `[3, 3]`). Azulay
# and Weiss (2019) found the same for ImageNet networks: subsampling ignores the sampling
# theorem, signal processing's rule for when samples capture a signal (a pattern survives
# subsampling only if it repeats more slowly than once every two kept samples; anything
# faster aliases, as the stripes did).
#
# Anti-aliasing is no free win here: expect `blur` to land within about 0.05 of `max`'s
# consistency, on either side. Our shapes have few fast-repeating patterns, and the blurred
# network's lower validation accuracy by itself makes predictions less stable. With one seed
# per network, such a difference cannot be told from seed noise. Zhang reports gains for
# ImageNet networks; here the honest answer is "no measurable gain".
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

print("gap without pooling larger than with it on every seed:", min(gaps["none"]) > max(gaps["max"]))

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
# What to expect: both networks fit the training set almost perfectly, but the one without
# pooling does worse on images it has not seen. In our runs its gap was larger on both seeds
# and more than twice as large on average; check the factor printed above for yours. The
# claim holds on this data, with two caveats:
#
# * **It is not one cause.** Removing pooling also multiplies the dense layer's parameters
#   by 16 and removes the shift tolerance measured above; the ablation cannot tell which
#   does the work (*Going further* asks you to separate them).
# * **It is a small experiment.** Two seeds, 400 images, ten epochs: the direction is clear
#   because the effect is large; a small difference would need many more seeds.
#
# ## Summary
#
# | claim | what we measured | verdict here |
# |---|---|---|
# | fewer numbers | first dense layer 16x smaller; multiply-adds and activations fewer | true, and exactly countable |
# | wider view | receptive field before the dense layers: 10x10 with pooling, 5x5 without | true, and exactly countable |
# | shift invariance | pooled features and predictions under 0..3 px shifts | partial: better than no pooling, never exact; aliasing breaks it; blurring first helps features |
# | less overfitting | train/validation gap, 2 seeds | true in our runs on this data, confounded with parameter count |
#
# Next lesson: the shape arithmetic of pooling (stride, padding, dilation, ceil mode).

# %% [markdown]
# ## Exercises
#
# Graded (autograded cells follow each exercise; run them to check your work). A failing
# check names the case and what differs, and a mistake the course knows by name ("your
# output equals ..."); if you are stuck, `ck.hint("cnn_costs")` (or the name of any other
# exercise) prints the rule, and it is also shown after three failed tries (a try is a
# version that works differently: running the same cell again, or changing only a number,
# does not count).
#
# 1. `cnn_costs`: predict the parameters, multiply-adds and activations of a small CNN with
#    and without pooling, checked against the network torch builds.
# 2. `worst_shift_input`: derive how much a one-pixel shift can change a max-pooled map, and
#    build the input that does it.
# 3. `max_blur_pool2d`: Zhang's anti-aliased max pooling in NumPy.
#
# ### Exercise 1: predict the costs of a small CNN (4 points)
#
# Section 2 let torch count the lesson's network with forward hooks. Now predict such counts
# yourself, for any input size and any widths. The network is
# `models.small_cnn(pool="max" if pooled else None, in_size=size, channels=channels, hidden=hidden)`:
#
# * for each width `c` in `channels`: a 3x3 convolution with padding 1 from the previous
#   channel count (1 for the grey input) to `c`, a ReLU and, if `pooled`, a 2x2 max pooling
#   with stride 2 (which floors, as in lesson 01: a side of 7 becomes 3);
# * then a Flatten, a dense layer with `hidden` units, a ReLU and a dense layer to 4 classes.
#
# Return `(parameters, multiply_adds, activations)` for one `(1, size, size)` image as a tuple
# of three Python `int`s (in Python `/` always gives a float, even `14 / 2`; a side that a
# pooling halves needs floor division, `//`), counted the way `models.layer_summary` counts:
#
# * **parameters**: every weight and every bias;
# * **multiply-adds**: convolutions and dense layers only; one output value of a convolution
#   costs one multiply-add per weight that computes it, that is `c_in * k * k` for a `k x k`
#   convolution over `c_in` input channels; one output of a dense layer costs one per input
#   (biases, ReLU and pooling cost nothing);
# * **activations**: the number of values each layer outputs, summed over all layers (every
#   ReLU, pooling layer and the Flatten included, the input image not).
#
# **Predict first.** Before you write code, work out on paper the three numbers for
# `cnn_costs(32, (4, 8), 16, True)` (a network no table above shows), and which layer
# dominates each of them. Write your prediction down (on paper, or in a markdown cell you
# add below this one; it is not graded), then write the function and compare.
# The tables of section 2 let you check your per-layer reasoning on the 28x28 networks. The
# tests build networks of other sizes and widths in torch and count what torch creates.

# %% nbgrader={"grade": false, "grade_id": "cnn_costs", "locked": false, "schema_version": 3, "solution": true, "task": false}
def cnn_costs(size, channels, hidden, pooled):
    """(parameters, multiply_adds, activations) of small_cnn for one (1, size, size) image."""
    ### BEGIN SOLUTION
    params = madds = acts = 0
    c_in, side = 1, size
    for c_out in channels:
        conv_outputs = c_out * side * side
        params += c_in * c_out * 3 * 3 + c_out
        madds += conv_outputs * c_in * 3 * 3
        acts += 2 * conv_outputs                    # the convolution and its ReLU
        if pooled:
            side //= 2
            acts += c_out * side * side             # the pooling layer
        c_in = c_out
    flat = c_in * side * side
    params += flat * hidden + hidden + hidden * 4 + 4
    madds += flat * hidden + hidden * 4
    acts += flat + hidden + hidden + 4              # Flatten, Linear, ReLU, Linear
    return params, madds, acts                      # ints all the way: no / anywhere
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_cnn_costs_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
from poolkit import models

# torch_costs below lets torch count; your cnn_costs must predict with plain Python/NumPy.
ck.assert_numpy_only(cnn_costs, hint="count with integers: no torch or poolkit inside cnn_costs")


def torch_costs(size, channels, hidden, pooled):
    # The reference: torch builds the network, forward hooks count every layer.
    model = models.small_cnn(pool="max" if pooled else None, in_size=size, channels=channels,
                             hidden=hidden)
    rows = models.layer_summary(model, (1, size, size))
    return tuple(int(sum(row[key] for row in rows))
                 for key in ("parameters", "multiply_adds", "activations"))


def check_costs(args, hint):
    case = f"cnn_costs{args}"
    got = ck.call(cnn_costs, *args, case=case, hint=hint)
    ck.require(type(got) is tuple and len(got) == 3,
               "the result is not a tuple (parameters, multiply_adds, activations)",
               case=case, hint=hint, exercise="cnn_costs")
    for quantity, value, expected in zip(("parameters", "multiply-adds", "activations"),
                                         got, torch_costs(*args)):
        kind = type(value).__name__
        # Say where a wrong type comes from; never suggest int(), which would hide the cause.
        if kind.startswith("float"):
            where = ("a float comes from a true division: / always gives a float, and a side "
                     "halved by a 2x2/2 pooling needs floor division, //")
        elif kind.startswith(("int", "uint")):
            where = ("NumPy integers come from NumPy functions or array elements: count with "
                     "plain Python ints (+, *, //) from the arguments")
        else:
            where = "count with plain Python ints (+, *, //) from the arguments"
        ck.require(type(value) is int, f"{quantity} is of type {kind}, not a Python int",
                   case=case, hint=where, exercise="cnn_costs")
        ck.assert_equal(value, expected, case=f"{case}, {quantity}", hint=hint, exercise="cnn_costs")


for args, hint in [
    ((28, (8, 16), 32, True), "the lesson's network: compare with the table of section 2, layer by layer"),
    ((28, (8, 16), 32, False), "without pooling, which sizes change, and which layer grows most?"),
    ((32, (4, 8), 16, True), "your prediction: which layer did you miss or count twice?"),
    ((13, (3, 5), 6, True), "an odd side: what does a 2x2/2 pooling do with the last row?"),
    ((10, (4,), 7, False), "one block only; did you count the Flatten and every ReLU as layers?"),
]:
    check_costs(args, hint)
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_cnn_costs_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from poolkit import models


# torch_costs and check_costs: the visible test's, above (the grader shares a lesson's test helpers)
### BEGIN HIDDEN TESTS
ck.assert_numpy_only(cnn_costs, hint="count with integers: no torch or poolkit inside cnn_costs")
case_rng = np.random.default_rng(102)
cases = [(7, (2, 3), 5, True), (31, (6, 4, 9), 11, True), (5, (1,), 1, False), (16, (3, 3, 3, 3), 2, True)]
for _ in range(8):
    blocks = int(case_rng.integers(1, 4))
    pooled = bool(case_rng.integers(0, 2))
    size = int(case_rng.integers(2 ** blocks if pooled else 3, 33))
    widths = tuple(int(v) for v in case_rng.integers(1, 13, size=blocks))
    cases.append((size, widths, int(case_rng.integers(1, 41)), pooled))
for args in cases:
    check_costs(args, "floor after every pooling layer; biases are parameters but not multiply-adds")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: the input that breaks max pooling (2 points)
#
# The stripes of section 3 changed by 1.0 after a one-pixel shift. Can a shift do worse? Take
# 2x2 max pooling with stride 2 on an `(H, W)` map, `H` and `W` even and `W` at least 4,
# a circular shift of one pixel to the right (`np.roll(x, 1, axis=-1)`), and the relative
# change of section 3. Inputs are **nonnegative**, as after a ReLU. (With negative values
# allowed, the pooled map can be all zeros while the shifted one is not: no bound at all.)
#
# Write `worst_shift_input(height, width)` that returns `(x, bound)`:
#
# * `bound`: the largest relative change that **any** nonnegative `(height, width)` input
#   can give, as a Python float (does it depend on the size?). Derive it, don't measure it:
#   compare each value of the shifted pooled map with the values of the unshifted pooled
#   map it can come from.
# * `x`: a float array of shape `(height, width)`, with no negative values and a pooled map
#   that is not all zero, whose relative change reaches `bound` (to 1e-9).
#
# The visible test checks that your `x` reaches your `bound`, and searches random inputs
# for a larger change. A search only finds counterexamples: passing it does not prove that
# your bound is the largest possible, so derive it; the hidden test checks your bound
# against the derived value. NumPy only.

# %% nbgrader={"grade": false, "grade_id": "worst_shift_input", "locked": false, "schema_version": 3, "solution": true, "task": false}
def worst_shift_input(height, width):
    """(x, bound): x (height, width) >= 0 whose 2x2/2 max pooling changes most after a
    circular 1 px shift right; bound = the largest relative change any such input gives."""
    ### BEGIN SOLUTION
    # Every shifted window holds columns 2j-1 and 2j, which the unshifted windows j-1 and j
    # pool, so each change is at most the larger of those two pooled values, and the squared
    # changes sum to at most 2 * ||pool(x)||^2. A single bright pixel in an odd column
    # reaches it: the shift carries it into the next window, leaving its own window empty.
    x = np.zeros((height, width))
    x[0, 1] = 1.0
    return x, float(np.sqrt(2))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_worst_shift_input_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
def shift_change(x):
    """Relative change of 2x2/2 max pooling after a circular 1 px shift right (torch pools)."""
    import torch    # here, so that the hidden test, which shares this helper, has it too

    def pooled(image):
        return torch.nn.functional.max_pool2d(torch.as_tensor(image)[None, None], 2)[0, 0].numpy()
    reference = pooled(x)
    return float(np.linalg.norm(pooled(np.roll(x, 1, axis=-1)) - reference) / np.linalg.norm(reference))


def check_worst_input(height, width, hint):
    case = f"worst_shift_input({height}, {width})"
    got = ck.call(worst_shift_input, height, width, case=case, hint=hint)
    ck.require(type(got) is tuple and len(got) == 2, "the result is not a tuple (x, bound)",
               case=case, hint=hint, exercise="worst_shift_input")
    x, bound = got
    ck.require(type(bound) is float, f"bound is of type {type(bound).__name__}, not a Python float",
               case=case, hint="return the bound as a Python float: float(...) turns a NumPy "
                               "number into one", exercise="worst_shift_input")
    x = np.array(x, dtype=np.float64)
    ck.require(x.shape == (height, width), f"x has shape {x.shape}, not {(height, width)}",
               case=case, hint=hint, exercise="worst_shift_input")
    ck.require(bool(np.all(np.isfinite(x)) and x.min() >= 0), "x has negative or non-finite values",
               case=case, hint="the question is about nonnegative inputs (after a ReLU)",
               exercise="worst_shift_input")
    ck.require(bool(x.reshape(height // 2, 2, width // 2, 2).max(axis=(1, 3)).any()),
               "the pooled map of x is all zero: its relative change is not defined",
               case=case, hint=hint, exercise="worst_shift_input")
    change = shift_change(x)
    ck.require(abs(change - bound) <= 1e-9,
               f"your x changes by {change:.6f} after the shift, but your bound is {bound:.6f}",
               case=case, hint=hint, exercise="worst_shift_input")
    return bound


ck.assert_numpy_only(worst_shift_input)
for height, width in [(4, 4), (6, 8), (2, 12)]:
    claimed = check_worst_input(height, width, "x must reach the bound you claim; which pixels "
                                               "does a shift carry into another window?")
search = np.random.default_rng(2)
for _ in range(200):
    trial = search.random((8, 8)) * (search.random((8, 8)) < 0.25)
    if trial.reshape(4, 2, 4, 2).max(axis=(1, 3)).any():
        ck.require(shift_change(trial) <= claimed + 1e-9,
                   f"a random 8x8 input changes by {shift_change(trial):.3f}, more than your "
                   f"bound {claimed:.3f}", case="random search", exercise="worst_shift_input",
                   hint="your bound is not the largest change: derive it, then build the input")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_worst_shift_input_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# shift_change and check_worst_input: the visible test's, above (the grader shares a lesson's test helpers)
### BEGIN HIDDEN TESTS
from poolgrade.answers import instructor_answers

true_bound = instructor_answers("02-why-pooling").worst_shift_bound()
ck.assert_numpy_only(worst_shift_input)
for height, width in [(8, 8), (2, 4), (4, 10), (10, 6)]:
    claimed = check_worst_input(height, width, "x must reach the bound you claim")
    ck.assert_close(claimed, true_bound, case=f"worst_shift_input({height}, {width}): the bound",
                    exercise="worst_shift_input",
                    hint="the largest relative change over all nonnegative inputs: bound each "
                         "shifted pooled value by two unshifted pooled values, then sum the squares")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: Zhang's MaxBlurPool in NumPy (4 points)
#
# Write `max_blur_pool2d(x)` for `x` of shape `(..., H, W)` (any number of leading axes), in
# the order of section 3:
#
# 1. a **dense** 2x2 max: output `[i, j]` is the maximum of the 2x2 window whose top-left
#    corner is `[i, j]` (stride 1, so the map keeps its size `H x W`);
# 2. the binomial blur: filter along the height axis with the weights `[1, 2, 1] / 4`, then
#    along the width axis with the same weights;
# 3. the subsampling: keep rows `0, 2, 4, ...` and columns `0, 2, 4, ...`.
#
# Wherever a window reaches past a border, **wrap around** (circular, as `np.roll` does), so
# that the layer commutes with the circular shifts of section 3. Return a float array of
# shape `(..., ceil(H / 2), ceil(W / 2))`. NumPy only.
#
# Example: a single 16 at row 1, column 2 of a 4x4 grid of zeros becomes `[[3, 9], [1, 3]]`.

# %% nbgrader={"grade": false, "grade_id": "max_blur_pool2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_blur_pool2d(x):
    """Dense 2x2 max, [1, 2, 1] / 4 blur, keep every second row and column; wrap-around borders."""
    ### BEGIN SOLUTION
    out = np.asarray(x, dtype=np.float64)
    for axis in (-2, -1):
        out = np.maximum(out, np.roll(out, -1, axis=axis))        # window [i, i + 1]
    for axis in (-2, -1):
        out = (np.roll(out, 1, axis=axis) + 2 * out + np.roll(out, -1, axis=axis)) / 4
    return out[..., ::2, ::2]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_max_blur_pool2d_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
impulse = np.zeros((4, 4))
impulse[1, 2] = 16.0
ck.assert_close(ck.call(max_blur_pool2d, impulse, case="impulse"), np.array([[3.0, 9.0], [1.0, 3.0]]),
                case="a single 16 at row 1, column 2 of a 4x4 grid",
                hint="after the dense max the 16 covers a 2x2 block; which block? Then blur it by hand")
bars = np.zeros((4, 6))
bars[:, 2:4] = 1.0
ck.assert_close(ck.call(max_blur_pool2d, bars, case="bars"),
                np.array([[0.25, 1.0, 0.25], [0.25, 1.0, 0.25]]),
                case="4x6, columns 2 and 3 set to 1",
                hint="the order matters: max first, then blur, then subsample (section 3)")
ck.assert_numpy_only(max_blur_pool2d)
stack = np.zeros((2, 3, 3))
stack[0, 0, 0], stack[1, 1, 1], stack[1, 2, 1] = 8.0, 4.0, -4.0
ck.assert_close(ck.call(max_blur_pool2d, stack, case="two 3x3 maps"),
                np.array([[[4.5, 4.5], [4.5, 4.5]], [[2.25, 1.5], [1.5, 1.0]]]),
                case="a (2, 3, 3) stack: an 8 in a corner of the first map, a 4 above a -4 in the second",
                hint="any leading axes; odd sides keep ceil(H / 2) rows; wrap around at every border")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_max_blur_pool2d_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
for seed, rank in [(303, 2), (304, 3), (305, 4), (306, 4)]:
    ck.check_against_oracle(max_blur_pool2d, "poolgrade.answers:02-why-pooling.max_blur_pool2d",
                            ck.array_cases(seed=seed, n=5, rank=rank, max_size=9),
                            numpy_only=True,
                            hint="dense max (stride 1), then the blur, then every second row "
                                 "and column from 0; wrap around everywhere; any leading axes")
### END HIDDEN TESTS

# %% [markdown]
# Now measure Zhang's order on the stripes of section 3 with your layer: how much does the
# pooled map change after a one-pixel shift, compared with 1.0 (no blur) and 0.63 (blur,
# then max 2x2/2)?

# %%
zhang = [max_blur_pool2d(pattern), max_blur_pool2d(moved)]
zhang_change = np.linalg.norm(zhang[1] - zhang[0]) / np.linalg.norm(zhang[0])
print(f"MaxBlurPool (your layer): relative change after a 1 px shift {zhang_change:.2f}")

# %% [markdown]
# ## Going further (optional, not graded)
#
# Blurring more, on stripes and on shapes. With the simple order (blur, then max 2x2/2),
# every further blur pass (a wider low-pass filter) shrinks the jump on the stripes more, at
# the price of a blurrier map:

# %%
passes_change = []
for passes in range(4):
    result = shift_invariance(pattern, shifts=[0, 1], kernel_size=2, mode="max",
                              blur_first=passes > 0, blur_passes=passes)
    passes_change.append(result.change[1])
    print(f"{passes} blur passes, then max 2x2/2: relative change after a 1 px shift "
          f"{result.change[1]:.2f}")
assert passes_change == sorted(passes_change, reverse=True)

# %% [markdown]
# On the shapes, one blur pass before the pooling lowers the relative change of max pooling
# clearly; average pooling, which already smooths, changes little:

# %%
print(f"{'pooling (clean shapes)':<28}" + "".join(f"{'shift ' + str(s):>10}" for s in range(4)))
shape_change = {}
for mode in ("max", "avg"):
    for blurred in (False, True):
        result = shift_invariance(clean_images[:, 0], shifts=range(4), kernel_size=4,
                                  mode=mode, blur_first=blurred)
        shape_change[mode, blurred] = result.change[1]
        name = ("blur, then " if blurred else "") + f"{mode} 4x4/4"
        print(f"{name:<28}" + "".join(f"{c:>10.2f}" for c in result.change))
print("(relative change of the pooled map; 0 = identical)")

# the claims the text makes (1 px shift)
assert shape_change["max", True] < shape_change["max", False] - 0.1      # clearly lower
assert 0 <= shape_change["avg", False] - shape_change["avg", True] < 0.05  # little change

# %% [markdown]
# **Try it.** The explorer below repeats this measurement on any of the procedural images:
# move the shift slider and watch which pooled values change, then switch the blur on (the
# explorer uses the simple order, blur then pool). The chart shows the relative change for
# every shift of up to one window, with and without blurring first.

# %%
from poolkit import widgets

widgets.shift_explorer(image="stripes", size=32, kernel_size=2, mode="max")

# %% [markdown]
# Three experiments need several seeds and longer training; section 4 printed how long one
# training run takes on your machine, so budget for it.
#
# * **Average or max?** Train `models.small_cnn(pool="avg")` and `pool="max"` with at least
#   **three seeds each** and 20 epochs, and compute each run's shift-consistency score. Is
#   average pooling more or less consistent on these shapes? Call a difference real only if
#   it is larger than the spread over seeds. Section 3's two feature measures disagree
#   (unchanged values favour max, the relative change favours average): which one predicts
#   your result?
# * **Separate the two causes of section 6.** `models.small_cnn(pool=None, adaptive_size=7)`
#   has no pooling in the blocks but a fixed 7x7 adaptive average pool right before the
#   dense layer, so its dense layer is as small as the pooled one. Train it, `max` and
#   `none` with three seeds each and 20 epochs. Where does its train/validation gap land,
#   and is the difference larger than the spread over seeds? If not, the honest conclusion
#   is "this experiment cannot tell".
# * **Zero-filling shifts.** Use `mode="zero"` in `prediction_consistency` instead of
#   circular shifts. Does anything change, and why is the difference small on this data?

# %%
print(f"whole notebook ran in {time.perf_counter() - lesson_start:.1f} s")

# %% [markdown]
# ## References
#
# * Y. LeCun, L. Bottou, Y. Bengio and P. Haffner. Gradient-based learning applied to
#   document recognition. *Proceedings of the IEEE* 86(11), 2278-2324, 1998. (LeNet-5; its
#   subsampling layers with a trainable coefficient and bias; its scaled tanh, Appendix A.)
# * R. Zhang. Making Convolutional Networks Shift-Invariant Again. *Proceedings of the 36th
#   International Conference on Machine Learning (ICML)*, PMLR 97, 7324-7334, 2019.
#   (MaxBlurPool: dense max, blur, subsample.)
# * A. Zhang, Z. C. Lipton, M. Li and A. J. Smola. *Dive into Deep Learning*, Section 7.5
#   "Pooling", https://d2l.ai. (Pooling to widen the receptive field.)
# * A. Azulay and Y. Weiss. Why do deep convolutional networks generalize so poorly to small
#   image transformations? *Journal of Machine Learning Research* 20(184), 1-25, 2019.
# * PyTorch documentation: `torch.nn.MaxPool2d`,
#   https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html
