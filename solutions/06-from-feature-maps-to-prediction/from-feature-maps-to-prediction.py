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
# # From feature maps to a prediction
#
# The convolution and pooling blocks of a CNN end with feature maps, `(C, h, w)` per image.
# A classifier turns them into `K` class scores, one per class, called **logits**: any real
# numbers, the larger the more the network favours that class (section 4 turns them into
# probabilities and a predicted class). There are two classic heads, and the choice decides
# the parameter count, how well the network generalizes, and whether it accepts images of
# another size:
#
# * **flatten + dense** (LeNet, AlexNet, VGG): unroll all `C * h * w` values into one vector
#   and feed it to a dense layer, so every position has its own weights;
# * **global average pooling** (GAP, lesson 01, section 5) + dense: average each
#   channel over all positions, so the head no longer cares *where* a feature was seen
#   (GoogLeNet, ResNet). Network in Network (Lin et al., 2014) has **no dense layer at
#   all**: its last layer is a **1x1 convolution** (a kernel of a single position: at every
#   position, the same dense layer from the `C` channels to its outputs) with one output map
#   per class, a ReLU follows, and the global average of each map *is* that class's logit.
#
# We count both heads, train both on the shapes data set, make a network accept any input
# size with **adaptive pooling**, and go from the logits to a predicted class. The lecture
# trains four small networks on the CPU: about a minute on a laptop (the cell prints how
# long it took).

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch.nn import functional as F

import poolkit
import poolkit.checks as ck   # ck.hint("<exercise>") works from here on
from poolkit import models
from poolkit.data import make_shapes

torch.set_num_threads(1)            # tiny models: one thread is fastest on a shared CPU
np.set_printoptions(precision=3, suppress=True)

train_images, train_labels = make_shapes(400, seed=0)     # (400, 1, 28, 28), 4 classes
val_images, val_labels = make_shapes(400, seed=1)


# %% [markdown]
# ## 1. Two heads, counted
#
# A dense layer with `n` inputs and `K` outputs has `n * K` weights and `K` biases; pooling
# has no parameters. So, for a `(C, h, w)` map and `K` classes:
#
# * flatten head: the dense layer sees all `C*h*w` values, `C*h*w*K + K` parameters;
# * GAP head: it sees one average per channel, `C*K + K` parameters.
#
# Worked example, ResNet-50's last map (`2048 x 7 x 7`, ImageNet's 1000 classes): the
# flatten head would have `2048*49*1000 + 1000 = 100,353,000` parameters, the GAP head
# `2048*1000 + 1000 = 2,049,000`. The cell checks the formulas against the layers torch
# builds (on its `meta` device, which records shapes without allocating memory):

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
print(f"{'last feature map':<28}{'flatten head':>14}{'GAP head':>12}{'ratio':>8}  formulas agree")
for name, (c, h, w, k) in feature_maps.items():
    flat, gap = (models.count_parameters(build_head(c, h, w, k, head)) for head in ("flatten", "gap"))
    agree = (flat, gap) == (c * h * w * k + k, c * k + k)
    print(f"{name:<28}{flat:>14,}{gap:>12,}{flat / gap:>7.0f}x  {agree}")

# %% [markdown]
# The ratio is close to `h * w` (a little below it with few channels: both heads have the
# same `K` biases). VGG-16 is heavier still: its first dense layer has 4096 outputs, about
# 103 million parameters, most of the network.
#
# ## 2. Two heads, trained
#
# Does the GAP head classify as well? We train the same max-pooling backbone with each head,
# in two depths: **shallow** (2 conv blocks, `16 x 7 x 7` at the end) and **deep** (3 conv
# blocks, `32 x 3 x 3`). By default `models.small_cnn` gives its flatten head a hidden dense
# layer (with a ReLU) before the classes; `hidden=0` leaves it out, so both heads are a
# single dense layer, the heads section 1 counted.

# %%
EPOCHS, LEARNING_RATE = 10, 5e-3
backbones = {"shallow": (8, 16), "deep": (16, 32, 32)}
trained = {}
start = time.perf_counter()
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
print(f"trained in {time.perf_counter() - start:.0f} s")

val = {key: history["val_acc"][-1] for key, (_, history) in trained.items()}
for depth in backbones:
    print(f"{depth}: GAP head's validation accuracy minus the flatten head's: "
          f"{val[depth, 'gap'] - val[depth, 'flatten']:+.3f}")

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
# Expect the two differences to be about -0.4 (shallow) and about +0.03 (deep); the digits
# can change a little with the torch version and the CPU.
#
# Each value of the last map depends only on a patch of the image, its **receptive field**
# (lesson 02, section 2, "The same shrinking widens the view", counts its side layer by
# layer).
#
# * On the **shallow** backbone the GAP head is far behind. Each position of its last map
#   has a 10x10 receptive field, a piece of an edge or a corner. Averaging such
#   local evidence cannot tell a square from a cross as well as the flatten head, whose
#   weights combine *which feature where*.
# * On the **deep** backbone the receptive field is 22x22, most of a shape, and the GAP
#   head matches or beats the flatten head with far fewer parameters: "how much square is
#   there" is all a classifier needs, and fewer weights can overfit less.
#
# So GAP assumes the backbone has done the spatial reasoning already, which is why it ends
# deep backbones (GoogLeNet, ResNet), not shallow ones.
#
# ## 3. Any input size
#
# A flatten head fixes the input size: its dense layer expects exactly `C*h*w` inputs, so
# torch refuses a 36x36 image. The GAP head does not care: whatever `h x w` the backbone
# gives, the average has `C` values. **Adaptive pooling** generalizes this: you fix the
# output size `O`, and the layer chooses the windows for whatever input length `L` it
# receives (`nn.AdaptiveAvgPool2d` does it for the rows and for the columns separately).
# What it promises: `O` windows of consecutive positions that together cover all `L`
# positions, in order (window `i + 1` never starts before window `i`), and output `i` is the
# average of window `i`. Global average pooling is adaptive pooling with `O = 1`. When `O`
# does not divide `L`, `O` equal windows side by side cannot cover the input exactly: the
# windows overlap, and may differ in size. Which windows torch picks is its own rule, and
# Exercise 1 asks you to find it.
#
# You cannot read a layer's windows, but you can probe them. Give
# `F.adaptive_avg_pool1d` an input that is 1 at one position `j` and 0 elsewhere (a
# **one-hot** input): output `i` is then nonzero exactly when window `i` contains
# position `j`. The figure does this for every `j` at once (the rows of `torch.eye(L)` are
# the `L` one-hot inputs, one batch): a blue cell in row `i`, column `j` means that window
# `i` contains position `j`.

# %%
flatten_model = trained["deep", "flatten"][0]
gap_model = trained["deep", "gap"][0]
big_images, big_labels = make_shapes(200, size=36, seed=5)
try:
    models.predict(flatten_model, big_images)
except RuntimeError as error:
    print("flatten head on 36x36 images -> RuntimeError:", str(error).splitlines()[0])
print("GAP head on 36x36 images -> predictions", models.predict(gap_model, big_images)[:10], "...")

fig, axes = plt.subplots(1, 3, figsize=(12, 2.4))
for ax, (length, out) in zip(axes, [(10, 4), (7, 3), (5, 7)]):
    ones = torch.eye(length, dtype=torch.float64)[:, None, :]       # (L, 1, L): a one at j
    reach = F.adaptive_avg_pool1d(ones, out)[:, 0, :].T.numpy()     # (O, L): output i, input j
    ax.imshow(reach > 0, cmap="Blues", aspect="auto", extent=(0, length, out - 0.5, -0.5))
    ax.set_xticks(range(length + 1))
    ax.set_yticks(range(out))
    ax.set_title(f"L={length} -> O={out}")
    ax.set_xlabel("input position")
axes[0].set_ylabel("output i")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. From logits to a prediction
#
# The **predicted class** is the index of the largest logit, its **argmax** (on a tie,
# `np.argmax` and `torch.argmax` return the first). For probabilities, the **softmax** turns
# a row of logits `z` into `K` positive numbers that sum to 1:
#
# $$p_k = \frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}}$$
#
# The exponential only grows, so the argmax of the probabilities is the argmax of the
# logits. That is why a network outputs logits and leaves the softmax out: `models.train`
# uses torch's `nn.CrossEntropyLoss`, which takes logits and applies the softmax (in log
# form) itself. Here are both for the deep GAP network and five validation images:

# %%
gap_model.eval()
with torch.no_grad():
    logits = gap_model(torch.as_tensor(val_images[:5]))       # (5, 4)
print("logits:\n", logits.numpy())
print("torch.softmax(logits, dim=1), each row sums to 1:\n", torch.softmax(logits, dim=1).numpy())
print("predicted classes (argmax):", logits.argmax(dim=1).numpy(), " labels:", val_labels[:5])

# %% [markdown]
# Written as the formula, the softmax breaks on large logits: `np.exp(1000.0)` is `inf` in
# float64 (the largest float is about `e**709.8`), and `inf / inf` is `nan`; very negative
# logits give `0 / 0`. Torch copes, thanks to one fact: adding the same number `c` to every
# logit of a row changes no probability (the factor `e**c` cancels above and below). So
# before the exponential, subtract from every logit of a row **that row's own largest
# logit** (each image has its own): the largest becomes 0, every exponential is at most 1
# and one is exactly 1, so nothing overflows and the sum is never 0.
#
# To apply one value per row without a loop, keep the axis you reduced:
# `z.max(axis=1)` has shape `(N,)`, and `z - z.max(axis=1)` fails (or, when `N == K`,
# quietly subtracts row `k`'s largest from column `k`), because NumPy lines up the *last*
# axes when it broadcasts. `z.max(axis=1, keepdims=True)` has shape `(N, 1)` and is repeated
# along each row; `z.max(axis=1)[:, None]` is the same. The cell shows it with row sums.
#
# With **two classes**, dividing above and below by `e**z_0` gives
# `p_1 = 1 / (1 + e**-(z_1 - z_0))`, the **sigmoid** `σ` of `z_1 - z_0`. So a two-class
# classifier often has a single logit and applies the sigmoid to it (torch's
# `nn.BCEWithLogitsLoss` trains such a logit):

# %%
big = np.array([1000.0, 999.0, 998.0])
with np.errstate(over="ignore", invalid="ignore"):
    print("np.exp(big) / np.exp(big).sum():", np.exp(big) / np.exp(big).sum())
print("torch.softmax of big:           ", torch.softmax(torch.from_numpy(big), dim=0).numpy())
print("torch.softmax of big - 1000:    ", torch.softmax(torch.from_numpy(big - 1000), dim=0).numpy())

rows = np.array([[1.0, 3.0], [10.0, 30.0], [0.5, 0.5]])                     # (3, 2)
try:
    rows / rows.sum(axis=1)                                                   # (3, 2) / (3,)
except ValueError as error:
    print("rows / rows.sum(axis=1) -> ValueError:", error)
print("rows / rows.sum(axis=1, keepdims=True), each row sums to 1:\n",
      rows / rows.sum(axis=1, keepdims=True))
print("rows / rows.sum(axis=1)[:, None], the same:\n", rows / rows.sum(axis=1)[:, None])

two_logits = torch.tensor([[0.5, 2.0], [3.0, -1.0], [40.0, 40.0]], dtype=torch.float64)
print("two classes, softmax of class 1:", torch.softmax(two_logits, dim=1)[:, 1].numpy())
print("sigmoid(z_1 - z_0):             ", torch.sigmoid(two_logits[:, 1] - two_logits[:, 0]).numpy())


# %% [markdown]
# ## Exercises
#
# Graded (run the test cells after each exercise). A failing check names the case and what
# differs, and a mistake the course knows by name ("your output equals ..."); if you are
# stuck, `ck.hint("design_head")` (or the name of any other exercise) prints the rule, and it
# is also shown after three failed tries (three versions of your function that differ in
# more than their numbers: running the same cell again does not count).
#
# 1. `adaptive_avg_pool2d_np`: find torch's adaptive pooling windows by experiment, then
#    write adaptive average pooling in NumPy.
# 2. `design_head`: design the smallest head that works at any input size, checked by
#    building it in torch.
# 3. Written: why Network in Network needs no dense layer.
# 4. `predict_from_maps`: from feature maps to logits, probabilities and a predicted class.
#
# ### Exercise 1: adaptive average pooling in NumPy (4 points)
#
# Write `adaptive_avg_pool2d_np(x, output_size)` for `x` of shape `(N, C, H, W)` and
# `output_size` an int (square output) or a pair `(OH, OW)`, returning the `(N, C, OH, OW)`
# floats `nn.AdaptiveAvgPool2d(output_size)` computes. Output `(i, j)` is the mean of `x`
# over row window `i` (from `L = H` positions to `O = OH` outputs) times column window `j`
# (`L = W`, `O = OW`). Your function uses NumPy only.
#
# Section 3 says what the windows promise, not where they start and stop: find that first.
# Probe torch in a scratch cell, as the figure of section 3 does: one-hot inputs, or
# `torch.arange(L, dtype=torch.float64).reshape(1, 1, L)` (whose averages tell you the middle
# of each window), through `F.adaptive_avg_pool1d(..., O)`. Try sizes where `O` divides `L`,
# where it does not, and `O > L`. Write down where window `i` starts and where it stops as a
# formula in `i`, `L` and `O`, and check it on sizes you have not tried yet.
#
# The tests compare with torch on many sizes, some of them a few dozen positions long: a
# formula that is right on paper can still move a window edge by one position when it is
# computed in floating point.

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
ck.assert_close(ck.call(adaptive_avg_pool2d_np, ramp, (1, 3), case="1x5 ramp"),
                np.array([[[[1.5, 3.0, 4.5]]]]),
                case="1x5 ramp to 1x3", hint="probe F.adaptive_avg_pool1d with L=5, O=3 "
                "(one-hot inputs): which positions does each output average?")
ck.check_against_oracle(adaptive_avg_pool2d_np, "poolkit.adaptive_avg_pool2d",
                        ck.array_cases(seed=61, n=3, rank=4, max_size=7, extra_args=(2,)),
                        numpy_only=True, hint="an int output_size means a square output")
ck.check_against_oracle(adaptive_avg_pool2d_np, "poolkit.adaptive_avg_pool2d",
                        ck.array_cases(seed=62, n=3, rank=4, max_size=5, extra_args=((3, 7),)),
                        numpy_only=True,
                        hint="rows and columns have their own output sizes; more outputs than inputs")
trap = np.random.default_rng(63).standard_normal((1, 2, 36, 30))
ck.check_against_oracle(adaptive_avg_pool2d_np, "poolkit.adaptive_avg_pool2d",
                        ck.literal_cases([((ck.arr(trap.tolist()), (28, 22)), {},
                                           "36 rows to 28 outputs, 30 columns to 22")],
                                         names=("x", "output_size")),
                        numpy_only=True, hint="36 rows to 28 outputs, 30 columns to 22: compute "
                        "the window edges from exact integers, not from a rounded H / OH")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_adaptive_avg_pool2d_np_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
for seed, out in [(604, 1), (605, 3), (606, (2, 5)), (607, (4, 1)), (608, (9, 7))]:
    ck.check_against_oracle(adaptive_avg_pool2d_np, "poolkit.adaptive_avg_pool2d",
                            ck.array_cases(seed=seed, n=4, rank=4, max_size=9, extra_args=(out,)),
                            numpy_only=True,
                            hint="rows use (H, OH), columns use (W, OW); windows may overlap or repeat")
rng = np.random.default_rng(609)
trap = [((ck.arr(rng.standard_normal((2, 2, 36, 30)).tolist()), (28, 22)), {},
         "36 rows to 28, 30 columns to 22: 21 * (36 / 28) and 11 * (30 / 22) miss an integer"),
        ((ck.arr((rng.standard_normal((1, 2, 30, 36)) - 3.0).tolist()), (26, 28)), {},
         "30 rows to 26, 36 columns to 28, all-negative input")]
ck.check_against_oracle(adaptive_avg_pool2d_np, "poolkit.adaptive_avg_pool2d",
                        ck.literal_cases(trap, names=("x", "output_size")), numpy_only=True,
                        hint="compute the windows from exact integers, never from a rounded L / O")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: design the head (4 points)
#
# A **trunk** is given as a list of layers on a one-channel image, in lesson 04's notation:
#
# * `("conv", out_channels, kernel_size, stride, padding)`: a square `nn.Conv2d` followed by a
#   ReLU;
# * `("pool", kernel_size, stride, padding)`: a square `nn.MaxPool2d` (`stride=None` means
#   `stride = kernel_size`).
#
# Design the head that turns the trunk's output into `n_classes` logits. Return it as a list
# of layers from this menu:
#
# * `("gap",)`: `nn.AdaptiveAvgPool2d(1)` and `nn.Flatten()`;
# * `("flatten",)`: `nn.Flatten()`;
# * `("adaptive", size)`: `nn.AdaptiveAvgPool2d(size)`;
# * `("linear", in_features, out_features)`: `nn.Linear`;
# * `("relu",)`: `nn.ReLU()`;
# * `("conv1x1", in_channels, out_channels)`: `nn.Conv2d(in_channels, out_channels, 1)`.
#
# A trunk may end with a pooling layer, and may have no convolution at all (then it passes
# the one-channel image on). The network `trunk + head` must map a batch `(N, 1, H, W)` to
# logits `(N, n_classes)` for **every** input size the trunk accepts (the tests try several,
# square or not), and the head must have **as few parameters as possible**, with **exactly
# one** layer that has parameters (one `linear` or one `conv1x1`). Degenerate heads do not
# count:
#
# * every size in the head is at least 1 (an `("adaptive", 0)` leaves nothing for the
#   dense layer to read: its logits would be its biases, whatever the image);
# * no `relu` after the layer with parameters (it would clip the logits at 0).
#
# The tests build your head in torch behind the trunk, run several input sizes through it
# and count its parameters (at most 8 layers, sizes up to 100,000, 64 for `adaptive`, at
# most 10**7 weights in a layer). Think first: which layers of the trunk decide what the
# head receives, and what is the cheapest way to make that independent of `H` and `W`?

# %% nbgrader={"grade": false, "grade_id": "design_head", "locked": false, "schema_version": 3, "solution": true, "task": false}
def design_head(trunk, n_classes):
    """The smallest head, as a list of menu layers, that gives (N, n_classes) at any input size."""
    ### BEGIN SOLUTION
    channels = 1
    for layer in trunk:
        if layer[0] == "conv":
            channels = layer[1]              # pooling keeps the channel count
    return [("gap",), ("linear", channels, n_classes)]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_design_head_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import torch
from torch import nn


def build(layers, in_channels=1):
    # trunk layers and head (menu) layers -> torch modules
    modules = []
    if len(layers) > 8:     # each layer's sizes are checked before it is built, and so is this
        raise AssertionError(f"{len(layers)} layers: at most 8 are allowed")
    for layer in layers:
        kind, args = layer[0], tuple(layer[1:])
        if any(type(a) is not int or not 0 <= a <= 100_000 for a in args if a is not None) \
                or (kind in ("linear", "conv1x1") and args[0] * args[-1] > 10 ** 7):
            raise AssertionError(f"{layer!r}: sizes must be ints from 0 to 100000, "
                                 "and a layer at most 10**7 weights")
        if kind == "adaptive" and any(a is not None and a > 64 for a in args):
            raise AssertionError(f"{layer!r}: an adaptive pooling's output size must be an "
                                 "int from 0 to 64")
        if kind == "conv":
            out, k, s, p = args
            modules += [nn.Conv2d(in_channels, out, k, stride=s, padding=p), nn.ReLU()]
            in_channels = out
        elif kind == "pool":
            modules.append(nn.MaxPool2d(*args))
        elif kind == "gap":
            modules += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        elif kind == "flatten":
            modules.append(nn.Flatten())
        elif kind == "adaptive":
            modules.append(nn.AdaptiveAvgPool2d(*args))
        elif kind == "linear":
            modules.append(nn.Linear(*args))
        elif kind == "relu":
            modules.append(nn.ReLU())
        elif kind == "conv1x1":
            modules.append(nn.Conv2d(*args, 1))
        else:
            raise AssertionError(f"{layer!r} is not on the menu")
    return nn.Sequential(*modules)


def refusal(head, features):
    # (what went wrong, a hint) at the first head layer torch refuses, fed the trunk's output
    x = features
    for layer in head:
        try:
            x = build([layer], in_channels=None)(x)
            continue
        except RuntimeError:
            pass
        shape = tuple(x.shape)
        if layer[0] == "linear" and len(shape) == 2 and shape[1] == features.shape[1]:
            return (f"{layer!r} expects {layer[1]} inputs, but receives shape {shape}: "
                    f"the {shape[1]} channels of the trunk's output"), \
                "count the channels the trunk gives: a convolution sets them, pooling keeps them"
        if layer[0] == "linear" and len(shape) == 2:
            return (f"{layer!r} expects {layer[1]} inputs, but receives shape {shape}: "
                    f"a number that depends on the input size"), \
                "what reaches this layer must not depend on H and W"
        if layer[0] == "linear":
            return (f"{layer!r} receives shape {shape}, and nn.Linear reads its last axis: "
                    f"the width, {shape[-1]} positions"), \
                "the positions must be pooled away before a dense layer"
        if layer[0] == "conv1x1":
            return (f"{layer!r} expects {layer[1]} channels, but receives shape {shape}"), \
                "count the channels the trunk gives: a convolution sets them, pooling keeps them"
        return f"{layer!r} cannot take shape {shape}", None
    return "", None


def check_head(trunk, n_classes, sizes, fewest, hint):
    # fewest: the smallest parameter count of a head that works at every size, or None to
    # leave that check to the hidden test (a visible number would give the design away)
    case = f"trunk {trunk}, {n_classes} classes"
    head = ck.call(design_head, trunk, n_classes, case=case, hint=hint)
    # a size 0 is refused before torch builds it (torch warns about empty weights)
    zero = [layer for layer in (head if type(head) in (list, tuple) else ())
            if type(layer) in (list, tuple) and any(type(v) is int and v == 0 for v in layer[1:])]
    ck.require(not zero, f"the head {head!r} has a size 0 in {zero[0] if zero else ''!r}: "
               "degenerate, its logits could not depend on the image", case=case,
               hint="every size in the head is at least 1", exercise="design_head")
    try:
        trunk_net, head_net, problem = build(trunk), build(head, in_channels=None), ""
    except (AssertionError, TypeError, ValueError) as error:
        problem = str(error)
    ck.require(not problem, f"the head {head!r} cannot be built: {problem}", case=case, hint=hint,
               exercise="design_head")
    learnable = [i for i, layer in enumerate(head) if layer[0] in ("linear", "conv1x1")]
    ck.require(len(learnable) == 1, f"the head {head!r} has {len(learnable)} layers with "
               "parameters; exactly one is required", case=case,
               hint="one layer from what the trunk gives to the classes", exercise="design_head")
    relu_after = any(layer[0] == "relu" for layer in head[learnable[0]:])
    ck.require(not relu_after, f"the head {head!r} has a relu after its layer with "
               "parameters: it would clip the logits at 0", case=case,
               hint="logits are any real numbers", exercise="design_head")
    with torch.no_grad():
        for height, width in sizes:
            features = trunk_net(torch.zeros(2, 1, height, width))
            try:
                shape, problem, where = tuple(head_net(features).shape), "", None
            except RuntimeError:
                shape, (problem, where) = None, refusal(head, features)
            ck.require(not problem, f"torch refused the head {head!r}: {problem}",
                       case=f"{case}, input 2x1x{height}x{width}", hint=where or hint,
                       exercise="design_head")
            ck.assert_equal(shape, (2, n_classes), case=f"{case}, input 2x1x{height}x{width}",
                            hint=hint, exercise="design_head")
    params = sum(p.numel() for p in head_net.parameters())
    ck.require(fewest is None or params <= fewest,
               f"the head {head!r} works at every input size tried, but its {params:,} "
               "parameters are not the fewest: a smaller head also works at every input size",
               case=case, hint=hint, exercise="design_head")
    return params


ck.assert_numpy_only(design_head, hint="plain Python decides the head; the tests build it")
counts = [
    check_head([("conv", 8, 3, 1, 1), ("pool", 2, None, 0), ("conv", 16, 3, 1, 1),
                ("pool", 2, None, 0)], 4, [(28, 28), (36, 36), (20, 44)], None,
               "the head must not depend on H and W: which layer forgets them for free?"),
    check_head([("conv", 6, 3, 2, 1), ("conv", 10, 3, 1, 0), ("pool", 3, 2, 1)],
               7, [(17, 17), (9, 9), (30, 12)], None,
               "what does the head receive? Pooling keeps the channel count, a convolution sets it"),
]
print(f"visible tests passed: your heads work at every size tried, with {counts[0]:,} and "
      f"{counts[1]:,} parameters. The hidden test also checks that no head has fewer.")

# %% nbgrader={"grade": true, "grade_id": "test_design_head_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
import torch
from torch import nn


# build and check_head: the visible test's, above (the grader shares a lesson's test helpers)
### BEGIN HIDDEN TESTS
ck.assert_numpy_only(design_head)
for trunk, n_classes, sizes in [
    ([("conv", 5, 3, 1, 1)], 2, [(8, 8), (13, 5)]),
    ([("conv", 12, 5, 1, 2), ("pool", 2, None, 0), ("conv", 3, 3, 1, 1), ("pool", 2, 2, 0),
      ("conv", 20, 3, 1, 1)], 10, [(32, 32), (16, 24), (11, 11)]),
    ([("conv", 4, 3, 1, 0), ("pool", 3, 3, 0), ("conv", 9, 1, 1, 0), ("pool", 2, None, 1)], 1,
     [(15, 15), (40, 22)]),
    ([("conv", 64, 3, 2, 1), ("conv", 32, 3, 2, 1)], 1000, [(64, 64), (7, 9)]),
    ([("pool", 2, None, 0)], 3, [(8, 8), (9, 5)]),
    ([("conv", 6, 3, 1, 1), ("pool", 2, None, 0)], 6, [(12, 12), (10, 14)]),   # C == K
]:
    convs = [layer[1] for layer in trunk if layer[0] == "conv"]
    channels = convs[-1] if convs else 1
    check_head(trunk, n_classes, sizes, channels * n_classes + n_classes,
               "average away the positions, then one layer to the classes; "
               "the last convolution of the trunk (if any) sets the channel count")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: why Network in Network needs no dense layer (2 points)
#
# Network in Network's head (see the introduction) is a 1x1 convolution to `n_classes`
# maps, a ReLU, then global average pooling. Leave the ReLU out here: a 1x1 convolution,
# then global average pooling. Compare that with the head you designed in Exercise 2. In
# three or four sentences: how many parameters does each have, can the two give **exactly
# the same** logits (for which weights?) and why, and what does the NiN order
# let you look at, position by position, that the other order hides?

# %% [markdown] nbgrader={"grade": true, "grade_id": "written_nin_head", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# === BEGIN MARK SCHEME ===
# 1 point: both are linear and averaging commutes with a linear map applied at every position:
#   mean_ij(W f_ij + b) = W mean_ij(f_ij) + b, so a 1x1 conv with the dense layer's weights and
#   bias, followed by GAP, gives the same logits as GAP followed by the dense layer (same C*K + K
#   parameters). Half a point if only "both are linear" without the commuting average.
# 1 point: the 1x1-conv-first head computes one (h, w) map per class before averaging: a class
#   activation map, showing where in the image the evidence for each class is. Half a point for
#   "per-position class scores" without saying what they show.
# === END MARK SCHEME ===
#
# Averaging and a linear map commute: the mean over positions of `W f_ij + b` is
# `W (mean of f_ij) + b`. So a 1x1 convolution with the dense layer's weights, followed by
# global average pooling, gives exactly the logits of global average pooling followed by the
# dense layer, with the same `C * K + K` parameters. The convolution-first order, however,
# computes a score map per class before it averages: a class activation map that shows
# where in the image the network found the evidence for each class. (Network in Network's
# ReLU before the averaging breaks the equality: the average of a ReLU is not the ReLU of
# the average, and its logits are never negative.)

# %% [markdown]
# ### Exercise 4: from feature maps to a predicted class (4 points)
#
# Write `predict_from_maps(feature_maps, weight, bias)` for `(N, C, H, W)` feature maps and
# a dense layer stored like torch's `nn.Linear`: a `(K, C)` weight (one row per class) and a
# `(K,)` bias. Return a tuple `(logits, probabilities, classes)`:
#
# * `logits`: the GAP head's `(N, K)` floats: average every channel over its `H x W`
#   positions, then apply the dense layer as `nn.Linear` would;
# * `probabilities`: the softmax of each image's logits, `(N, K)` floats, as
#   `torch.softmax(logits, dim=1)` gives them, also when logits are in the thousands, far
#   above or below zero (section 4);
# * `classes`: the predicted class of each image, an `(N,)` integer array; when classes tie
#   for the largest logit, the first of them (as `torch.argmax` does).
#
# NumPy only. The tests compare with torch on inputs chosen to break a softmax written
# straight from the formula.

# %% nbgrader={"grade": false, "grade_id": "predict_from_maps", "locked": false, "schema_version": 3, "solution": true, "task": false}
def predict_from_maps(feature_maps, weight, bias):
    """(N, C, H, W) maps, (K, C) weight, (K,) bias -> logits (N, K), softmax (N, K), classes (N,)."""
    ### BEGIN SOLUTION
    pooled = np.asarray(feature_maps, dtype=np.float64).mean(axis=(2, 3))        # (N, C)
    logits = pooled @ np.asarray(weight, dtype=np.float64).T + np.asarray(bias, dtype=np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))     # the largest becomes e**0
    return logits, shifted / shifted.sum(axis=1, keepdims=True), logits.argmax(axis=1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_predict_from_maps_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import torch

ck.assert_numpy_only(predict_from_maps, hint="np.exp, np.max and np.argmax are all you need")


def torch_prediction(arrays):
    # torch's GAP head, softmax and argmax on the same numbers (float64)
    maps, w, b = (torch.from_numpy(np.asarray(a, dtype=np.float64)) for a in arrays)
    logits = maps.mean(dim=(2, 3)) @ w.T + b
    return logits.numpy(), torch.softmax(logits, dim=1).numpy(), logits.argmax(dim=1).numpy()


rng = np.random.default_rng(67)
steps = np.array([0.0, 1.0, 2.0, 3.0]).reshape(1, 1, 2, 2)     # means are exact: ties stay ties
for maps, w, b, case, hint in [
    (rng.standard_normal((3, 4, 2, 5)) - 1.0, rng.standard_normal((5, 4)), rng.standard_normal(5),
     "N=3, C=4, 2x5 maps (mostly negative), K=5, ordinary logits",
     "average over the positions, the dense layer as nn.Linear applies it, softmax, argmax"),
    (rng.standard_normal((2, 3, 3, 3)) + 1000.0, np.eye(3), np.zeros(3),
     "logits near +1000", "np.exp(1000.0) is inf: section 4 says which change leaves the "
     "probabilities as they are"),
    (np.concatenate([1000.0 + np.concatenate([steps, -steps], axis=1),
                     -1000.0 + np.concatenate([steps, -steps], axis=1)]),
     np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]), np.zeros(3),
     "image 0's logits near +1000, image 1's near -1000",
     "each image's probabilities are its own: its logits, its softmax"),
    (steps.repeat(2, axis=1) * np.array([1.0, -1.0]).reshape(1, 2, 1, 1),
     np.array([[1.0, 2.0], [3.0, 0.0], [1.0, 2.0], [3.0, 0.0]]), np.array([0.5, 0.0, 0.5, 0.0]),
     "classes 0 and 2 tie, and so do 1 and 3", "a tie goes to the first of the tied classes"),
]:
    want = torch_prediction((maps, w, b))
    ck.assert_close(ck.call(predict_from_maps, maps.copy(), w.copy(), b.copy(), case=case,
                            hint=hint), want, case=case, hint=hint)
got = ck.call(predict_from_maps, np.ones((2, 1, 1, 1)), np.ones((3, 1)), np.zeros(3),
              case="two images, three tied classes")
ck.require(type(got) in (tuple, list) and len(got) == 3 and type(got[2]) is np.ndarray
           and got[2].dtype.kind in "iu", "classes is not an integer array",
           case="two images, three tied classes",
           hint="a class is an index; np.argmax gives integers", exercise="predict_from_maps")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_predict_from_maps_hidden", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(607)
grid = np.arange(6.0).reshape(1, 1, 2, 3) / 2          # halves: every sum stays exact


def maps_case(maps, w, b, note):
    return (tuple(ck.arr(np.asarray(a, dtype=np.float64).tolist()) for a in (maps, w, b)), {}, note)


cases = [
    maps_case(rng.standard_normal((4, 3, 3, 2)), rng.standard_normal((6, 3)),
              rng.standard_normal(6), "ordinary logits"),
    maps_case(grid * np.ones((3, 2, 1, 1)) + 2000.0, [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]],
              [0.0, 3.0, -1.0], "logits near +2000"),
    maps_case(grid * np.ones((2, 3, 1, 1)) - 1500.0, np.eye(3), [0.0, 0.5, 1.0],
              "logits near -1500"),
    maps_case(np.concatenate([grid + 800.0, grid - 800.0, grid])[:, [0, 0]],
              [[1.0, 1.0], [2.0, -1.0]], [0.0, 0.0], "rows near +1600, -1600 and 0"),
    maps_case(grid * np.ones((2, 2, 1, 1)), [[0.5, 0.5], [1.0, 0.0], [0.5, 0.5], [1.0, 0.0]],
              [0.25, 0.0, 0.25, 0.0], "classes 0 and 2 tie"),
    maps_case(np.zeros((3, 2, 1, 1)), np.zeros((5, 2)), np.zeros(5), "every class ties"),
    maps_case(-np.abs(rng.standard_normal((2, 4, 3, 3))) - 2.0,
              np.abs(rng.standard_normal((3, 4))), np.zeros(3),
              "all-negative maps, positive weights"),
    maps_case(rng.standard_normal((3, 2, 4, 1)), rng.standard_normal((1, 2)), [0.3], "one class"),
]
ck.check_against_oracle(predict_from_maps,
                        "poolgrade.answers:06-from-feature-maps-to-prediction.predict_from_maps",
                        ck.literal_cases(cases, names=("feature_maps", "weight", "bias")),
                        numpy_only=True,
                        hint="each image's softmax is its own; ties go to the first class")
got = ck.call(predict_from_maps, np.full((3, 2, 2, 2), -1.0), np.ones((4, 2)), np.zeros(4),
              case="three images, four tied classes")
ck.require(type(got) in (tuple, list) and len(got) == 3 and type(got[2]) is np.ndarray
           and got[2].dtype.kind in "iu", "classes is not an integer array",
           case="three images, four tied classes", hint="a class is an index",
           exercise="predict_from_maps")
### END HIDDEN TESTS

# %% [markdown]
# ## Going further (optional, not graded)
#
# * **Class activation maps** (Zhou et al., 2016). The GAP head is linear, so the logit of
#   class `k` is the average over positions of `W[k] @ features[:, i, j]` plus `b[k]`.
#   Compute that `(h, w)` map for the deep GAP network on a few validation images and show
#   it next to the image. Where does the network look? (`gap_model` is an `nn.Sequential`:
#   `gap_model[:-3]` is everything before the pooling, and `gap_model[-1]` the dense layer.)
# * Train the GAP network on a mix of 20, 28 and 36 pixel images (batch each size
#   separately) and compare its accuracy at each size.
# * **Attention pooling.** GAP gives every position the same weight `1 / (h w)`. Attention
#   pooling lets the network choose the weights: a score per position, the dot product of a
#   learned vector `q` (the *query*) with the feature vector at that position (its *key*),
#   and the softmax of the scores over the `h w` positions as weights, so they are positive
#   and sum to 1. Equal scores give GAP back; scaling the scores up puts nearly all the
#   weight on the one best-scoring position. Write it in NumPy with your softmax of
#   Exercise 4 and try a few `q`.

# %% [markdown]
# ## References
#
# * M. Lin, Q. Chen and S. Yan. Network In Network. *International Conference on Learning
#   Representations (ICLR)*, 2014. arXiv:1312.4400. (Global average pooling of one map per
#   class as the classifier, no dense layer.)
# * B. Zhou, A. Khosla, A. Lapedriza, A. Oliva and A. Torralba. Learning Deep Features for
#   Discriminative Localization. *IEEE Conference on Computer Vision and Pattern Recognition
#   (CVPR)*, 2016. arXiv:1512.04150. (Class activation maps from a GAP head.)
# * J. T. Springenberg, A. Dosovitskiy, T. Brox and M. Riedmiller. Striving for Simplicity:
#   The All Convolutional Net. *ICLR 2015, workshop track*. arXiv:1412.6806.
# * Y. LeCun, L. Bottou, Y. Bengio and P. Haffner. Gradient-based learning applied to
#   document recognition. *Proceedings of the IEEE* 86(11), 2278-2324, 1998. (The flatten +
#   dense classifier of LeNet-5.)
# * PyTorch documentation: `torch.nn.AdaptiveAvgPool2d`,
#   https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html
# * Keras documentation: `GlobalAveragePooling2D`,
#   https://keras.io/api/layers/pooling_layers/global_average_pooling2d/
