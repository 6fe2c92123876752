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
# # 06 · From feature maps to a prediction
#
# The convolution and pooling blocks of a CNN end with a stack of feature maps,
# `(C, h, w)` per image. A classifier has to turn that into `K` class scores. There are two
# classic ways to do it, and the choice decides how many parameters the head has, how well
# it generalizes, and whether the network accepts images of another size:
#
# * **flatten + dense** (LeNet, AlexNet, VGG): unroll all `C * h * w` values into one vector
#   and feed it to a dense layer, so every position has its own weights;
# * **global average pooling + dense** (Network in Network, GoogLeNet, ResNet): average each
#   channel over all positions into `C` numbers, then a dense layer, so the head no longer
#   cares *where* a feature was seen.
#
# In this lesson we count both heads, train both on the shapes data set, make one network
# accept any input size with **adaptive pooling**, and end with the bridge to networks
# that learn how to pool (attention).
#
# The notebook runs in well under a minute on a CPU; graded exercises are at the end.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.nn import functional as F

import poolkit
from poolkit import models
from poolkit.adaptive import adaptive_bins
from poolkit.data import make_shapes

torch.set_num_threads(1)            # tiny models: one thread is fastest on a shared CPU
np.set_printoptions(precision=3, suppress=True)
lesson_start = time.perf_counter()

train_images, train_labels = make_shapes(400, seed=0)     # (400, 1, 28, 28), 4 classes
val_images, val_labels = make_shapes(400, seed=1)


# %% [markdown]
# ## 1. Two heads, counted
#
# Take a feature map of shape `(C, h, w)` and `K` classes. The flatten head is one dense
# layer with `C*h*w` inputs; the global-average-pooling (GAP) head averages first and has
# only `C` inputs:
#
# $$\text{flatten: } C h w K + K \qquad\qquad \text{GAP: } C K + K$$
#
# The pooling itself has no parameters. Rather than trusting the formula, we build both heads
# in torch and count the parameters torch creates (on torch's `meta` device, which records
# shapes without allocating memory: ResNet-50's flatten head alone would need 400 MB). Here
# are the numbers for the last feature maps of a few well-known networks (ImageNet's 1000
# classes) and for the networks we train below:

# %%
def build_head(channels, height, width, n_classes, head):
    # (N, channels, height, width) -> (N, n_classes); shapes only, no memory (meta device)
    if head == "flatten":
        return torch.nn.Sequential(torch.nn.Flatten(),
                                   torch.nn.Linear(channels * height * width, n_classes, device="meta"))
    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                               torch.nn.Linear(channels, n_classes, device="meta"))


feature_maps = {
    "VGG-16 (512 x 7 x 7)": (512, 7, 7, 1000),
    "ResNet-50 (2048 x 7 x 7)": (2048, 7, 7, 1000),
    "ours, deep (32 x 3 x 3)": (32, 3, 3, 4),
    "ours, shallow (16 x 7 x 7)": (16, 7, 7, 4),
}
print(f"{'last feature map':<28}{'flatten head':>14}{'GAP head':>12}{'ratio':>8}")
for name, (c, h, w, k) in feature_maps.items():
    flat, gap = (models.count_parameters(build_head(c, h, w, k, head)) for head in ("flatten", "gap"))
    print(f"{name:<28}{flat:>14,}{gap:>12,}{flat / gap:>7.0f}x")

# %% [markdown]
# The ratio is almost exactly `h * w`: the flatten head keeps one copy of the dense weights
# for every position. (VGG-16 is even heavier than the table shows: its first dense layer
# has 4096 outputs, about 103 million parameters, most of the network.)
#
# ## 2. Two heads, trained
#
# Parameters are only half of the story: does the GAP head classify as well? We train the
# same max-pooling backbone with each head (`hidden=0`: the head is a single dense layer).
# The backbone comes in two depths: **shallow** (2 conv blocks, `16 x 7 x 7` at the end) and
# **deep** (3 conv blocks, `32 x 3 x 3`).

# %%
EPOCHS, LEARNING_RATE = 10, 5e-3
backbones = {"shallow": (8, 16), "deep": (16, 32, 32)}
trained = {}
print(f"{'backbone':<9}{'head':<9}{'parameters':>11}{'head params':>12}{'train acc':>10}{'val acc':>9}")
for depth, channels in backbones.items():
    for head in ("flatten", "gap"):
        model = models.small_cnn(pool="max", head=head, channels=channels, hidden=0, seed=0)
        history = models.train(model, train_images, train_labels, epochs=EPOCHS, seed=0,
                               val_images=val_images, val_labels=val_labels, lr=LEARNING_RATE)
        trained[depth, head] = (model, history)
        dense = models.first_dense(model)
        print(f"{depth:<9}{head:<9}{models.count_parameters(model):>11,}"
              f"{dense.weight.numel() + dense.bias.numel():>12,}"
              f"{history['train_acc'][-1]:>10.3f}{history['val_acc'][-1]:>9.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), sharey=True)
for ax, depth in zip(axes, backbones):
    for color, head in zip(("C0", "C1"), ("flatten", "gap")):
        history = trained[depth, head][1]
        epochs = np.arange(1, EPOCHS + 1)
        ax.plot(epochs, history["train_acc"], "-", color=color, label=f"{head}: train")
        ax.plot(epochs, history["val_acc"], "--", color=color, label=f"{head}: validation")
    ax.set_title(f"{depth} backbone {backbones[depth]}")
    ax.set_xlabel("epoch")
axes[0].set_ylabel("accuracy")
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The two depths tell different stories, and both are worth remembering:
#
# * On the **shallow** backbone, the GAP head is far behind. After two 3x3 convolutions and
#   two poolings, each position of the last feature map has seen only a 10x10 patch of the
#   image: a piece of an edge or a corner, not a whole shape. Averaging such local evidence
#   over the image cannot tell a square from a cross as well as the flatten head, whose
#   weights can combine *which feature where*.
# * On the **deep** backbone each position sees a 22x22 patch, most of a shape, the channels
#   can act as class detectors, and the GAP head matches or beats the flatten head with far fewer head
#   parameters: averaging "how much square is there" over the image is all a classifier
#   needs, and there are fewer weights to overfit.
#
# So GAP is not a free replacement for a dense head: it assumes the backbone has done the
# spatial reasoning already, which is why it is found at the end of deep backbones
# (GoogLeNet, ResNet) rather than shallow ones.
#
# ## 3. Any input size
#
# A flatten head fixes the input size: its dense layer expects exactly `C*h*w` inputs. Feed
# the deep flatten network a 36x36 image and torch refuses:

# %%
flatten_model = trained["deep", "flatten"][0]
gap_model = trained["deep", "gap"][0]
big_images, big_labels = make_shapes(200, size=36, seed=5)
try:
    models.predict(flatten_model, big_images)
except RuntimeError as error:
    print("flatten head on 36x36 images -> RuntimeError:", str(error).splitlines()[0])
print("GAP head on 36x36 images -> predictions", models.predict(gap_model, big_images)[:10], "...")

# %% [markdown]
# The GAP head does not care: whatever `h x w` the backbone produces, the average over it
# has `C` values. **Adaptive pooling** generalizes this to any fixed output size `O`: instead
# of fixing the window and stride, it fixes the output, and chooses windows so that output
# `i` (of `O`) covers the input positions
#
# $$\left[\left\lfloor \frac{iL}{O} \right\rfloor,\ \left\lceil \frac{(i+1)L}{O} \right\rceil\right)$$
#
# for an input of length `L`. Global average pooling is adaptive pooling with `O = 1`.
# Windows may differ in size and may overlap, as this figure of `poolkit.adaptive.adaptive_bins`
# shows:

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 2.2))
for ax, (length, out) in zip(axes, [(10, 4), (7, 3), (5, 7)]):
    for i, (start, stop) in enumerate(adaptive_bins(length, out)):
        ax.barh(i, stop - start, left=start, color=f"C{i % 10}", edgecolor="k")
        ax.text((start + stop) / 2, i, f"[{start}, {stop})", ha="center", va="center", fontsize=8)
    ax.set_xlim(0, length)
    ax.set_xticks(range(length + 1))
    ax.set_yticks(range(out))
    ax.invert_yaxis()
    ax.set_title(f"L={length} -> O={out}")
    ax.set_xlabel("input position")
axes[0].set_ylabel("output i")
plt.tight_layout()
plt.show()

x = np.random.default_rng(0).standard_normal((2, 3, 11, 6))
for out in [1, 3, (4, 5), (7, 9)]:
    ours = poolkit.adaptive_avg_pool2d(x, out)
    theirs = F.adaptive_avg_pool2d(torch.from_numpy(x), out).numpy()
    print(f"output_size={out}: shape {ours.shape}, max |poolkit - torch| = {np.abs(ours - theirs).max():.1e}")

# %% [markdown]
# With `L=5, O=7` (more outputs than inputs) windows repeat input positions; with `L=10,
# O=4` neighbouring windows share a position. Torchvision's VGG puts
# `nn.AdaptiveAvgPool2d((7, 7))` before its flatten head for exactly this reason: the dense
# layers keep their size, and the network takes any image of at least 32x32 pixels.
#
# Our deep flatten network ends with a 3x3 map at 28x28, so `AdaptiveAvgPool2d(3)` placed
# before its flatten does nothing at that size (every window is one position). We can
# therefore insert it into the **trained** network without retraining
# (`models.small_cnn(..., adaptive_size=3)` builds the same architecture from scratch), and
# then test both size-agnostic networks on shapes drawn at other sizes:

# %%
backbone_layers, head_layers = list(flatten_model)[:-2], list(flatten_model)[-2:]   # [..., Flatten, Linear]
adaptive_model = torch.nn.Sequential(*backbone_layers, torch.nn.AdaptiveAvgPool2d(3), *head_layers)
same = np.array_equal(models.predict(adaptive_model, val_images), models.predict(flatten_model, val_images))
print("adaptive + flatten gives the flatten network's predictions at 28x28:", same)

sizes = [16, 20, 28, 36, 44, 56]
size_accuracy = {"GAP head": [], "adaptive 3x3 + flatten": []}
for size in sizes:
    images, labels = make_shapes(200, size=size, seed=7)
    size_accuracy["GAP head"].append(models.accuracy(gap_model, images, labels))
    size_accuracy["adaptive 3x3 + flatten"].append(models.accuracy(adaptive_model, images, labels))

print("input size:       " + "".join(f"{s:>7}" for s in sizes))
for name, values in size_accuracy.items():
    print(f"{name:<24}" + "".join(f"{v:>7.2f}" for v in values))

fig, ax = plt.subplots(figsize=(6, 3))
for name, values in size_accuracy.items():
    ax.plot(sizes, values, "o-", label=name)
ax.axvline(28, color="gray", linestyle=":", label="training size")
ax.axhline(0.25, color="gray", linestyle="--", label="chance")
ax.set_xlabel("input size (pixels)")
ax.set_ylabel("accuracy")
ax.set_ylim(0, 1.05)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()


# %% [markdown]
# Both networks *run* at every size, and both are best at the size they were trained on.
# Accepting any size is not the same as working well at any size: at other sizes the shapes
# are drawn larger or smaller than anything the convolutions saw in training, and the
# features change with them. On small images both fall towards chance (at 16 pixels the
# last feature map is only 2x2); on these shapes the adaptive network degrades more slowly
# on large images than the GAP network. Training on a mix of sizes is the usual cure
# (exercise 6 below).
#
# ## 4. The bridge: learning how to pool
#
# Max and average pooling are fixed rules for summarizing a set of values. A weighted
# average with weights from a softmax interpolates between them:
#
# $$\mathrm{pool}_\beta(x) = \sum_j \frac{e^{\beta x_j}}{\sum_l e^{\beta x_l}}\, x_j$$
#
# With `beta = 0` every weight is equal, the average; as `beta` grows, the weight
# concentrates on the largest value, the max. Here it is on one channel of the deep
# network's last feature map:

# %%
def softmax_pool(values, beta):
    # values: (..., P) -> (...,): softmax-weighted average over the last axis
    weights = np.exp(beta * (values - values.max(axis=-1, keepdims=True)))
    weights /= weights.sum(axis=-1, keepdims=True)
    return (weights * values).sum(axis=-1)


backbone = gap_model[:-3]                       # everything before AdaptiveAvgPool2d + Flatten + Linear
with torch.no_grad():
    feature_map = backbone(torch.from_numpy(val_images[:1])).numpy()[0]   # (32, 3, 3)
channel = feature_map[int(np.argmax(feature_map.max(axis=(1, 2))))].ravel()  # the most active channel
print("values:", channel)
print(f"average {channel.mean():.3f}   max {channel.max():.3f}")
for beta in [0, 0.1, 0.2, 0.5, 1, 5]:
    print(f"beta={beta:>4}: pooled {softmax_pool(channel, beta):.3f}")

# %% [markdown]
# **Attention** makes `beta * x_j` a learned score: the weights come from comparing a
# *query* with a *key* computed from each position, so the network decides what to pool,
# per image. That is how pooling-free architectures summarize:
#
# * the **all-convolutional net** (Springenberg et al., 2015) replaces each pooling layer by a
#   convolution with stride 2, a learned downsampling (lesson 04);
# * a **Vision Transformer** cuts the image into patches (a convolution whose kernel equals
#   its stride), keeps the number of tokens fixed through every layer, mixes them with
#   self-attention, and at the end reads out a class token or simply averages the tokens:
#   global average pooling again, at the very end.
#
# Pooling never quite disappears; it moves to where the network has already decided what
# matters. Attention is the next topic.

# %%
print(f"lecture part ran in {time.perf_counter() - lesson_start:.1f} s")


# %% [markdown]
# ## Exercises
#
# Graded (run the test cells after each exercise):
#
# 1. `head_params`: parameters of a flatten head and of a GAP head.
# 2. `gap_head`: a global-average-pooling classifier head in NumPy.
# 3. `adaptive_windows`: the input window of every output of adaptive pooling.
# 4. `adaptive_avg_pool2d_np`: adaptive average pooling in NumPy.
#
# To think about (not graded):
#
# 5. **Class activation maps.** The GAP head is linear, so the logit of class `k` is the
#    average over positions of `W[k] @ features[:, i, j]`. Compute that `(h, w)` map for the
#    deep GAP network on a few validation images and show it next to the image. Where does
#    the network look?
# 6. Train the GAP network on a mix of 20, 28 and 36 pixel images (pad or batch each size
#    separately) and redo the size table of section 3.
# 7. Replace the average in the GAP head by `softmax_pool` with a fixed `beta` (or a learned
#    one). Does the shallow backbone do better with a max-like head?
#
# ### Exercise 1: counting heads (3 points)
#
# A feature map `(channels, height, width)` feeds a classifier with `n_classes` outputs.
# Return the number of parameters (weights and biases, a Python `int`) of the head:
#
# * `head="flatten"`: flatten, then one dense layer;
# * `head="gap"`: global average pooling, then one dense layer.
#
# Any other `head` raises `ValueError`.

# %% nbgrader={"grade": false, "grade_id": "head_params", "locked": false, "schema_version": 3, "solution": true, "task": false}
def head_params(channels, height, width, n_classes, head):
    """Parameters of a flatten or GAP classifier head on a (channels, height, width) map."""
    ### BEGIN SOLUTION
    if head == "flatten":
        inputs = channels * height * width
    elif head == "gap":
        inputs = channels
    else:
        raise ValueError(f"head must be 'flatten' or 'gap', got {head!r}")
    return int(inputs * n_classes + n_classes)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_head_params_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ck.assert_equal(head_params(512, 7, 7, 1000, "gap"), 513000, case="VGG-16's feature map, GAP head",
                hint="512 averages, each with 1000 weights, plus 1000 biases")
ck.check_against_oracle(
    head_params, "poolkit.models.head_parameters",
    ck.literal_cases([((32, 3, 3, 4, "flatten"), {}, "the deep network"),
                      ((16, 7, 7, 4, "gap"), {}, "the shallow network")],
                     names=("channels", "height", "width", "n_classes", "head")),
    hint="flatten: channels*height*width inputs; GAP: channels inputs; plus one bias per class")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_head_params_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(601)
cases = [((7, 1, 1, 2, "flatten"), {}, "1x1 map: both heads agree"),
         ((2048, 7, 7, 1000, "flatten"), {}, "ResNet-50 map, flatten"),
         ((3, 4, 5, 6, "dense"), {}, "unknown head: ValueError")]
for i in range(8):
    c, h, w = (int(v) for v in rng.integers(1, 20, size=3))
    cases.append(((c, h, w, int(rng.integers(2, 12)), ("flatten", "gap")[i % 2]), {}, "random"))
ck.check_against_oracle(
    head_params, "poolkit.models.head_parameters",
    ck.literal_cases(cases, names=("channels", "height", "width", "n_classes", "head")),
    hint="non-square maps: height * width; GAP ignores height and width; raise ValueError "
         "for an unknown head")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: a GAP head in NumPy (4 points)
#
# Write `gap_head(features, weight, bias)`:
#
# * `features`: `(N, C, H, W)` feature maps,
# * `weight`: `(K, C)` and `bias`: `(K,)`, a dense layer stored like torch's `nn.Linear`,
#
# and return the logits `(N, K)`: average every channel over its `H x W` positions, then
# apply the dense layer (`pooled @ weight.T + bias`). NumPy only; a float array.

# %% nbgrader={"grade": false, "grade_id": "gap_head", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gap_head(features, weight, bias):
    """Global average pooling + dense layer: (N, C, H, W), (K, C), (K,) -> logits (N, K)."""
    ### BEGIN SOLUTION
    features = np.asarray(features, dtype=np.float64)
    pooled = features.mean(axis=(2, 3))                      # (N, C)
    return pooled @ np.asarray(weight, dtype=np.float64).T + np.asarray(bias, dtype=np.float64)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_gap_head_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
two_channels = np.zeros((1, 2, 2, 2))
two_channels[0, 0] = [[1, 2], [3, 4]]        # mean 2.5
two_channels[0, 1] = [[0, 0], [0, 8]]        # mean 2.0
ck.assert_close(gap_head(two_channels, np.array([[1.0, 0.0], [1.0, -1.0], [0.0, 2.0]]), np.array([0.0, 0.5, 1.0])),
                np.array([[2.5, 1.0, 5.0]]), case="one image, channel means 2.5 and 2.0, three classes",
                hint="average over H and W (axes 2 and 3), then pooled @ weight.T + bias")

rng = np.random.default_rng(60)
f, w, b = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((6, 3)), rng.standard_normal(6)
ck.check_against_oracle(gap_head, "poolkit.models.gap_head_logits",
                        ck.literal_cases([((ck.arr(f.tolist()), ck.arr(w.tolist()), ck.arr(b.tolist())), {},
                                           "N=2, C=3, 4x5 maps, K=6")],
                                         names=("features", "weight", "bias")),
                        numpy_only=True, hint="weight is (K, C): use weight.T")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_gap_head_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(602)
cases = []
for n, c, h, w, k in [(1, 1, 1, 1, 1), (3, 5, 2, 7, 4), (2, 4, 6, 3, 4), (4, 2, 5, 5, 3), (1, 6, 1, 9, 2)]:
    feats = rng.standard_normal((n, c, h, w)) - 1.0         # mostly negative: max would differ from mean
    cases.append(((ck.arr(feats.tolist()), ck.arr(rng.standard_normal((k, c)).tolist()),
                   ck.arr(rng.standard_normal(k).tolist())), {}, f"N={n}, C={c}, {h}x{w}, K={k}"))
ck.check_against_oracle(gap_head, "poolkit.models.gap_head_logits",
                        ck.literal_cases(cases, names=("features", "weight", "bias")),
                        numpy_only=True,
                        hint="mean over H and W only (not over channels), non-square maps, weight.T, add the bias")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: adaptive pooling windows (3 points)
#
# Write `adaptive_windows(length, output_size)`: return a list of `output_size` tuples
# `(start, stop)` of Python ints, where output `i` covers the input positions
# `start <= j < stop` with `start = floor(i * length / output_size)` and
# `stop = ceil((i + 1) * length / output_size)`, torch's rule. Use integer arithmetic
# (`//`), not floats: `(i + 1) * length / output_size` in floating point can land a hair
# above an integer.
#
# Example: `adaptive_windows(10, 4) == [(0, 3), (2, 5), (5, 8), (7, 10)]`.

# %% nbgrader={"grade": false, "grade_id": "adaptive_windows", "locked": false, "schema_version": 3, "solution": true, "task": false}
def adaptive_windows(length, output_size):
    """[(start, stop), ...] input window of each output of adaptive pooling, torch's rule."""
    ### BEGIN SOLUTION
    return [(i * length // output_size, -(-(i + 1) * length // output_size))
            for i in range(output_size)]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_adaptive_windows_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ck.assert_equal(adaptive_windows(10, 4), [(0, 3), (2, 5), (5, 8), (7, 10)], case="length 10, 4 outputs",
                hint="start = i*L//O, stop = ceil((i+1)*L/O)")
ck.check_against_oracle(adaptive_windows, "poolkit.adaptive.adaptive_bins",
                        ck.literal_cases([((7, 3), {}, ""), ((6, 1), {}, "global pooling")],
                                         names=("length", "output_size")),
                        hint="output_size=1 is one window over everything")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_adaptive_windows_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(603)
cases = [((5, 7), {}, "more outputs than inputs"), ((1, 4), {}, "length 1"), ((8, 8), {}, "one per input"),
         ((12, 4), {}, "divides evenly"), ((49, 48), {}, "integer arithmetic")]
for _ in range(10):
    cases.append(((int(rng.integers(1, 60)), int(rng.integers(1, 20))), {}, "random"))
ck.check_against_oracle(adaptive_windows, "poolkit.adaptive.adaptive_bins",
                        ck.literal_cases(cases, names=("length", "output_size")),
                        hint="floor for the start, ceil for the stop (stop is exclusive); windows may overlap")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: adaptive average pooling in NumPy (4 points)
#
# Write `adaptive_avg_pool2d_np(x, output_size)` for `x` of shape `(N, C, H, W)` and
# `output_size` an int (square output) or a pair `(OH, OW)`. Output `(i, j)` is the mean of
# `x[:, :, rows_i, cols_j]` where the row window comes from `adaptive_windows(H, OH)` and the
# column window from `adaptive_windows(W, OW)`. Return `(N, C, OH, OW)` floats. NumPy only
# (calling your `adaptive_windows` is fine once exercise 3 passes).

# %% nbgrader={"grade": false, "grade_id": "adaptive_avg_pool2d_np", "locked": false, "schema_version": 3, "solution": true, "task": false}
def adaptive_avg_pool2d_np(x, output_size):
    """Adaptive average pooling: (N, C, H, W) -> (N, C, OH, OW)."""
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    out_h, out_w = (output_size, output_size) if np.ndim(output_size) == 0 else output_size
    n, c, h, w = x.shape
    out = np.empty((n, c, out_h, out_w))
    for i in range(out_h):
        r0, r1 = i * h // out_h, -(-(i + 1) * h // out_h)
        for j in range(out_w):
            c0, c1 = j * w // out_w, -(-(j + 1) * w // out_w)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_adaptive_avg_pool2d_np_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
ramp = np.arange(1.0, 6.0).reshape(1, 1, 1, 5)          # [1, 2, 3, 4, 5]
ck.assert_close(adaptive_avg_pool2d_np(ramp, (1, 3)), np.array([[[[1.5, 3.0, 4.5]]]]),
                case="1x5 ramp to 1x3", hint="windows [0, 2), [1, 4), [3, 5): they overlap")
ck.check_against_oracle(adaptive_avg_pool2d_np, "poolkit.adaptive_avg_pool2d",
                        ck.array_cases(seed=61, n=3, rank=4, max_size=7, extra_args=(2,)),
                        numpy_only=True, hint="an int output_size means a square output")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_adaptive_avg_pool2d_np_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
for seed, out in [(604, 1), (605, 3), (606, (2, 5)), (607, (4, 1)), (608, (9, 7))]:
    ck.check_against_oracle(adaptive_avg_pool2d_np, "poolkit.adaptive_avg_pool2d",
                            ck.array_cases(seed=seed, n=4, rank=4, max_size=9, extra_args=(out,)),
                            numpy_only=True,
                            hint="rows use (H, OH), columns use (W, OW); floor start, ceil stop; "
                                 "more outputs than inputs repeat positions")
### END HIDDEN TESTS

# %%
print(f"whole notebook ran in {time.perf_counter() - lesson_start:.1f} s")
