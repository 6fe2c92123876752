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
#     test_header: torch
# ---

# %% [markdown]
# # Convolution vs pooling
#
# A convolution and a pooling layer look alike from the outside: both slide a small window over
# a feature map, and both can make it smaller. They differ in *what happens inside the window*
# and in *who decides it*. A convolution computes a weighted sum whose weights are learned; a
# pooling layer applies a rule (take the maximum, take the mean) that you fixed when you wrote
# the network.
#
# Every number in this lesson's comparison table is computed by code, not typed in.
#
# 1. Counting learnable parameters
# 2. The comparison table, built from code
# 3. Average pooling is a depthwise convolution with fixed weights
# 4. Max pooling is not a convolution
# 5. The strided convolution: a learned way to downsample
# 6. Channels and shapes through a conv + pool stack
# 7. Exercises
#
# A summary, an optional "Going further" section and the references close the lesson.

# %%
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

import poolkit
import poolkit.checks as ck   # ck.hint("<exercise>") works from here on
from poolkit import data

torch.manual_seed(0)
rng = np.random.default_rng(0)


# %% [markdown]
# ## 1. Counting learnable parameters
#
# A parameter is *learnable* when the optimizer changes it: torch marks those tensors with
# `requires_grad=True` and returns them from `module.parameters()`. Counting them is one line.

# %%
def count_parameters(layer):
    # Only tensors the optimizer updates count; buffers (e.g. BatchNorm statistics) do not.
    return sum(p.numel() for p in layer.parameters() if p.requires_grad)


conv = nn.Conv2d(16, 32, kernel_size=3)
for name, tensor in conv.named_parameters():
    print(f"{name:>6}: shape {tuple(tensor.shape)} -> {tensor.numel()} numbers")
print("nn.Conv2d(16, 32, 3) in total:", count_parameters(conv))
print("nn.MaxPool2d(2, 2):           ", count_parameters(nn.MaxPool2d(2, 2)))
print("nn.AvgPool2d(2, 2):           ", count_parameters(nn.AvgPool2d(2, 2)))

# %% [markdown]
# The convolution's weight holds one $3\times 3$ filter for every pair (output channel, input
# channel): $32 \cdot 16 \cdot 3 \cdot 3 = 4608$ numbers, plus one bias per output channel,
# $32$, so $4640$ in all. The pooling layers hold nothing: kernel size, stride and padding are
# *hyperparameters* that you choose, and gradient descent never touches them. (Gradient descent
# is how a network trains: it moves each parameter a small step against its *gradient*, the
# derivative of the loss with respect to that parameter, i.e. how fast the loss grows when
# the parameter grows.)
#
# That is today's pooling. LeNet-5 (LeCun et al., 1998) had *trainable* subsampling layers: each
# of its S2 and S4 maps summed a 2×2 window, multiplied the sum by a learned coefficient, added a
# learned bias and passed the result through a squashing function (a scaled tanh), so S2 had
# 2 × 6 = 12 parameters and S4 2 × 16 = 32. Parameter-free max pooling became the default later.
#
# How the count grows: the convolution is proportional to $C_\text{in}\cdot C_\text{out}\cdot k^2$,
# while a pooling layer stays at zero whatever its size. With $k = 1$, a *1×1 convolution*,
# each output pixel is a weighted sum of the $C_\text{in}$ values at the same position: it mixes
# channels only, keeps height and width (stride 1, no padding) and has
# $C_\text{in} C_\text{out} + C_\text{out}$ parameters (fourth row).

# %%
print(f"{'C_in':>5} {'C_out':>6} {'k':>3} {'conv params':>12} {'pool params':>12}")
for c_in, c_out, k in [(3, 16, 3), (16, 32, 3), (32, 64, 3), (32, 64, 1), (64, 128, 3),
                       (64, 128, 5)]:
    n_conv = count_parameters(nn.Conv2d(c_in, c_out, k))
    n_pool = count_parameters(nn.MaxPool2d(k))
    print(f"{c_in:>5} {c_out:>6} {k:>3} {n_conv:>12,} {n_pool:>12}")


# %% [markdown]
# ## 2. The comparison table, built from code
#
# We push one input of shape `(1, 16, 24, 24)` through four layers and let code fill every
# column except the last one:
#
# - **learnable parameters**: `count_parameters` from above;
# - **output shape** and **channels**: from running the layer;
# - **weighted sum?**: whether the layer is *affine*: a fixed weighted sum of its inputs plus a
#   constant, $f(x) = Wx + c$. Such an $f$ satisfies
#   $f(a+b) - f(0) = \big(f(a) - f(0)\big) + \big(f(b) - f(0)\big)$, and the code tests that on
#   random inputs. Every convolution (with or without bias) and average pooling pass; max
#   pooling does not.

# %%
def is_affine(layer, shape, trials=3):
    # An affine map is a weighted sum plus a constant; test additivity after removing f(0).
    with torch.no_grad():
        f0 = layer(torch.zeros(shape))
        for _ in range(trials):
            a, b = torch.randn(shape), torch.randn(shape)
            lhs = layer(a + b) - f0
            rhs = (layer(a) - f0) + (layer(b) - f0)
            if not torch.allclose(lhs, rhs, atol=1e-5):
                return False
    return True


x = torch.randn(1, 16, 24, 24)
layers = {
    "nn.Conv2d(16, 32, 3)": nn.Conv2d(16, 32, 3),
    "nn.Conv2d(16, 16, 2, stride=2)": nn.Conv2d(16, 16, 2, stride=2),
    "nn.MaxPool2d(2, 2)": nn.MaxPool2d(2, 2),
    "nn.AvgPool2d(2, 2)": nn.AvgPool2d(2, 2),
}
purpose = {
    "nn.Conv2d(16, 32, 3)": "detect learned local patterns; mixes channels",
    "nn.Conv2d(16, 16, 2, stride=2)": "learned downsampling",
    "nn.MaxPool2d(2, 2)": "fixed downsampling: keep the strongest response",
    "nn.AvgPool2d(2, 2)": "fixed downsampling: keep the local mean",
}
rows = ["| layer | learnable parameters | output shape | channels | weighted sum? | purpose |",
        "|---|---:|---|---|---|---|"]
table = {}
for name, layer in layers.items():
    with torch.no_grad():
        out = layer(x)
    table[name] = {"params": count_parameters(layer), "shape": tuple(out.shape),
                   "channels": (x.shape[1], out.shape[1]), "affine": is_affine(layer, x.shape)}
    t = table[name]
    rows.append(f"| `{name}` | {t['params']:,} | {t['shape']} | {t['channels'][0]} → "
                f"{t['channels'][1]} | {'yes' if t['affine'] else 'no'} | {purpose[name]} |")
display(Markdown("\n".join(rows)))
# The prose below reads these facts off the table; the asserts keep the two in step.
assert table["nn.MaxPool2d(2, 2)"]["params"] == table["nn.AvgPool2d(2, 2)"]["params"] == 0
assert table["nn.Conv2d(16, 32, 3)"]["params"] == 16 * 32 * 3 * 3 + 32 == 4640
assert table["nn.Conv2d(16, 16, 2, stride=2)"]["params"] == 16 * 16 * 2 * 2 + 16 == 1040
assert table["nn.MaxPool2d(2, 2)"]["channels"] == (16, 16)
assert table["nn.Conv2d(16, 32, 3)"]["channels"] == (16, 32)
assert table["nn.Conv2d(16, 16, 2, stride=2)"]["shape"] == table["nn.MaxPool2d(2, 2)"]["shape"]

# %% [markdown]
# What the table says, in numbers:
#
# - Both pooling layers have **0** parameters; the two convolutions have 4,640 and 1,040.
# - Pooling **keeps the channel count** (16 → 16): it works on each channel separately. A
#   convolution **sets** it: `out_channels` is whatever you ask for, because each output channel
#   is a weighted sum over *all* input channels.
# - A 2×2 window with stride 2 halves height and width whether it is a convolution or a pooling
#   layer: the shape depends on kernel, stride and padding only, never on what the window computes.

# %% [markdown]
# ## 3. Average pooling is a depthwise convolution with fixed weights
#
# Average pooling with a $k\times k$ window computes, for every channel and window,
# $\frac{1}{k^2}\sum_{i,j} x_{c,\,i,\,j}$: a weighted sum whose weights nobody learns. So it is a
# convolution with a *fixed* filter, every weight $1/k^2$, under three conditions:
#
# - it must be **depthwise**: output channel $c$ only sees input channel $c$. In torch that is
#   `groups=C`, and the weight has shape `(C, 1, k, k)`;
# - its stride must be the pooling stride, and it must have no bias;
# - it pads with zeros, and zeros count like any other value.
#
# What deep-learning libraries call a convolution is, strictly, a
# *cross-correlation*: the filter slides over the input as it is, weight $w[a, b]$ meeting the
# pixel $a$ rows and $b$ columns into the window. The textbook convolution first flips the filter
# (turns it by 180°). For a learned filter the difference does not matter, since the network
# just learns the flipped filter; for a fixed filter, and for your code in Exercise 2, it does.
# For average pooling's filter, which is the same in every position, it makes no difference.
#
# The cell checks it for 3×3 windows with stride 2 and padding 1, and shows another fixed
# filter: a 2×2 filter that is $1$ at the top-left and $0$ elsewhere, applied depthwise with
# stride 2, copies each window's top-left pixel: plain subsampling (every second row and
# column) written as a convolution. The cell compares it with `x[:, :, :-1:2, :-1:2]`, not
# `x[:, :, ::2, ::2]`: with 13 rows a 2×2 window fits 6 times, so the last row starts no window,
# while `::2` would keep 7 rows. Each printed number is the largest absolute difference over the
# whole output.

# %%
x64 = torch.randn(2, 16, 13, 11, dtype=torch.float64)
mean_filters = torch.full((16, 1, 3, 3), 1 / 9, dtype=torch.float64)  # (C, 1, k, k)
print("depthwise conv with weights 1/9 vs F.avg_pool2d(x, 3, 2, 1):",
      (F.conv2d(x64, mean_filters, stride=2, padding=1, groups=16)
       - F.avg_pool2d(x64, 3, 2, 1)).abs().max().item())
top_left = torch.zeros(16, 1, 2, 2, dtype=torch.float64)
top_left[:, 0, 0, 0] = 1.0
subsampled = F.conv2d(x64, top_left, stride=2, groups=16)
print("depthwise conv with a top-left filter vs x[:, :, :-1:2, :-1:2]:",
      (subsampled - x64[:, :, :-1:2, :-1:2]).abs().max().item())

# %% [markdown]
# Two fine points decide whether a fixed-weight convolution can stand in for average pooling:
#
# - A convolution pads with zeros and always applies the same filter, so it can only match
#   average pooling that counts the padded zeros in its divisor: `count_include_pad=True`
#   (torch's default). With `count_include_pad=False`, a border window is divided by the number
#   of *real* pixels it covers, a divisor that changes from window to window, and no fixed filter
#   gives that. The cell compares the two settings of `F.avg_pool2d`.
# - Without `groups=C`, a convolution sums over the input channels: every output channel then
#   depends on all 16 input channels. Depthwise is what keeps the channels apart; the cell changes
#   input channel 1 only and looks at output channel 0.

# %%
include_pad = F.avg_pool2d(x64, 3, 1, 1)
exclude_pad = F.avg_pool2d(x64, 3, 1, 1, count_include_pad=False)
differs = ~torch.isclose(include_pad, exclude_pad)
h, w = x64.shape[-2:]
print("count_include_pad=True vs False:", f"{differs[0, 0].sum().item()} of "
      f"{differs[0, 0].numel()} positions differ; the border of a {h}x{w} map has "
      f"{2 * (h + w) - 4} positions")

bumped = x64.clone()
bumped[:, 1] += 1.0                                   # change input channel 1 only
full_weight = torch.randn(16, 16, 2, 2, dtype=torch.float64)   # no groups: mixes channels
depthwise_weight = torch.randn(16, 1, 2, 2, dtype=torch.float64)
for name, weight, groups in [("full", full_weight, 1), ("depthwise", depthwise_weight, 16)]:
    change = (F.conv2d(bumped, weight, stride=2, groups=groups)
              - F.conv2d(x64, weight, stride=2, groups=groups))[:, 0].abs().max().item()
    print(f"{name:>9} conv: output channel 0 moves by up to {change:.3f}")

# %% [markdown]
# ## 4. Max pooling is not a convolution
#
# Every convolution is affine, so it can never compute a maximum. One counterexample is enough:
# take a 1×2 window, $a = (1, 0)$ and $b = (0, 1)$. Then $\max(a+b) = 1$ while
# $\max(a) + \max(b) = 2$, and $\max(0) = 0$. An affine map $f$ would have to give
# $f(a+b) - f(0) = \big(f(a) - f(0)\big) + \big(f(b) - f(0)\big)$, but max pooling gives
# $1 - 0$ on the left and $(1 - 0) + (1 - 0) = 2$ on the right: no affine map computes it.
#
# How close can a learned 2×2 stride-2 convolution get to max pooling? The answer depends on the
# inputs; here each window holds 4 independent values from the standard normal distribution
# N(0, 1) (mean 0, standard deviation 1). We fit the best affine map (4 weights and a bias) by
# *least squares*, i.e. we choose the weights that make the mean of the squared errors over
# 100 000 such windows as small as possible (`np.linalg.lstsq` does it). With var the
# *variance* (the mean squared distance from the mean), the share of the variance *explained* is
# $1 - \text{var(errors)}/\text{var(max)}$: 100% for a perfect fit, 0% for the best constant.

# %%
windows = rng.standard_normal((100_000, 4))          # each row: one flattened 2x2 window
target = windows.max(axis=1)
design = np.hstack([windows, np.ones((len(windows), 1))])
coef, *_ = np.linalg.lstsq(design, target, rcond=None)
residual = target - design @ coef
explained = 1 - residual.var() / target.var()
print("best weights:", np.round(coef[:4], 3), " bias:", round(coef[4], 3))
print(f"RMS error {np.sqrt((residual**2).mean()):.3f} for a target with std {target.std():.3f}:"
      f" the best affine fit explains {explained:.0%} of the variance")
# The prose below reads these numbers; the assert keeps it honest.
assert np.allclose(coef[:4], 0.25, atol=0.01) and 0.45 < explained < 0.55

# %% [markdown]
# For such windows, the best affine imitation of the maximum is (almost exactly) *average
# pooling plus a constant*, and it still misses about half of the maximum's variance. Other
# inputs give other numbers: when the 4 pixels of a window are strongly correlated, as in
# smooth images, the maximum is closer to the mean and the fit does better. A single
# convolution can learn average pooling exactly but never max pooling: the nonlinearity is the
# point of max pooling.
#
# ## 5. The strided convolution: a learned way to downsample
#
# Instead of pooling, a network can shrink its feature maps with a convolution whose stride is
# larger than 1. The *All Convolutional Net* (Springenberg et al., 2015) replaced each max
# pooling layer inside the network this way, but kept a global average pool at the end (lesson
# 01, Section 5); ResNets downsample mostly with stride-2 convolutions. The output shape is
# the same as for pooling with the same window and stride; the price is parameters and
# multiply-adds (one multiplication and one addition per weight and output value, lesson 02's
# measure of compute).

# %%
x = torch.randn(1, 16, 24, 24)
candidates = {
    "nn.MaxPool2d(2, 2)": nn.MaxPool2d(2, 2),
    "nn.Conv2d(16, 16, 2, stride=2)": nn.Conv2d(16, 16, 2, stride=2),
    "nn.Conv2d(16, 16, 2, stride=2, groups=16)": nn.Conv2d(16, 16, 2, stride=2, groups=16),
}
print(f"{'layer':<44} {'output shape':<18} {'params':>7} {'multiply-adds':>14}")
for name, layer in candidates.items():
    with torch.no_grad():
        out = layer(x)
    if isinstance(layer, nn.Conv2d):
        # Each output value is a dot product with one filter (C_in/groups * k * k numbers).
        per_output = layer.weight[0].numel()
        macs = out.numel() * per_output
    else:
        macs = 0  # no multiply-adds: a 2x2 max costs 3 comparisons per window, counted apart
    print(f"{name:<44} {str(tuple(out.shape)):<18} {count_parameters(layer):>7,} {macs:>14,}")

# %% [markdown]
# Same output shape `(1, 16, 12, 12)` in all three rows. The full strided convolution costs
# $16\cdot16\cdot2\cdot2 + 16 = 1040$ parameters and mixes channels; its depthwise version costs
# $16\cdot 4 + 16 = 80$; max pooling costs nothing. What the parameters buy is freedom: the strided
# convolution can *learn* to average (section 3), to detect edges while it downsamples, or anything
# else that is affine, while pooling applies the same rule in every network.
#
# ## 6. Channels and shapes through a conv + pool stack
#
# A typical small CNN alternates convolutions (which set the channel count) and pooling layers
# (which keep it and shrink height and width). To see every layer's output shape we register a
# *forward hook* on each layer: a function torch calls with `(module, input, output)` whenever
# that module runs.

# %%
net = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3), nn.ReLU(), nn.AvgPool2d(2, stride=1),
)
images, _ = data.make_shapes(4, size=28, seed=0)
shapes = []
hooks = [m.register_forward_hook(lambda m, i, o: shapes.append((m, tuple(o.shape)))) for m in net]
with torch.no_grad():
    net(torch.from_numpy(images))
for h in hooks:
    h.remove()


def short_name(module):
    if isinstance(module, nn.Conv2d):
        return (f"Conv2d({module.in_channels} -> {module.out_channels}, "
                f"k={module.kernel_size[0]}, p={module.padding[0]})")
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        return f"{type(module).__name__}(k={module.kernel_size}, s={module.stride})"
    return type(module).__name__


print(f"{'layer':<30} {'output shape':<16} {'params':>6}")
print(f"{'input':<30} {str(images.shape):<16}")
for module, shape in shapes:
    print(f"{short_name(module):<30} {str(shape):<16} {count_parameters(module):>6}")


# %% [markdown]
# Reading the trace: each `Conv2d` sets the channel count (1 → 8 → 16 → 32). With a 3×3
# kernel and `padding=1` it keeps height and width (so would a 1×1 kernel, Section 1); without
# padding it removes $k-1 = 2$ pixels ($7 \to 5$). Each `MaxPool2d(2)` keeps the channels and
# halves height and width
# ($28 \to 14 \to 7$; an odd size would round down). The `AvgPool2d(2, stride=1)` removes one
# pixel ($5 \to 4$). Only the convolutions carry parameters.
#
# The size rule for one spatial dimension is lesson 03's (its Section 1): a size $n$ becomes
# $\lfloor (n + 2p - k)/s \rfloor + 1$ for window $k$, stride $s$ and padding $p$. It is the
# same for both kinds of layer: what the window computes never enters it.
#
# ## 7. Exercises
#
# 1. **`design_stack`**: design a conv/pool stack to a target shape within a parameter budget,
#    with small downsampling windows (or show with a `ValueError` that none exists); torch
#    builds and counts it.
# 2. **`depthwise_conv2d`**: a depthwise convolution in NumPy, with stride and zero padding.
# 3. **`avg_pool2d_exclude_pad`**: average pooling that leaves the padding out of the divisor,
#    built from two of your depthwise convolutions.
# 4. **`avg_pool2d_backward`**: the gradient that average pooling passes back, derived by you.
#
# Write every exercise in NumPy (or plain Python): the tests reject answers that call torch,
# TensorFlow or poolkit. They compare your answers with torch and poolkit on random inputs
# (negative values, ties, odd sizes); a failing test names the failed case and gives a hint, or
# names the known mistake your result matches ("your output equals ..."). Stuck after that?
# `ck.hint("depthwise_conv2d")` (any exercise's function name) prints where to reread and a
# rule (for Exercises 1, 3 and 4, questions that nudge); it also appears by itself after three
# failed tries (three versions of your function that differ in more than their numbers;
# rerunning a cell does not count).

# %% [markdown]
# ### Exercise 1: design a stack to a target shape, within a parameter budget (4 points)
#
# Write `design_stack(in_shape, out_shape, max_params)`: a stack of layers that takes a batch of
# shape `in_shape = (N, C, H, W)` to `out_shape = (N, C2, H2, W2)` (the tests always give the
# same `N`, and `H2 <= H`, `W2 <= W`) with **at most `max_params` learnable parameters**, as
# torch counts them.
# Describe the stack as data, a list of layer tuples:
#
# - `("conv", out_channels, kernel_size, stride, padding)`: `nn.Conv2d` (with its bias);
# - `("pool", kernel_size, stride, padding)`: `nn.MaxPool2d`.
#
# `kernel_size`, `stride` and `padding` may be ints or `(h, w)` pairs, as torch accepts. Every
# number in a layer tuple must be an int from 0 to 32 (`out_channels` from 1), and the rules
# below narrow that further. The tests' shapes have at most 32 channels, rows
# and columns. The stack must be one a network could use; these
# rules forbid tricks such as one huge stride-1 window:
#
# - at most 8 layers in all (the convolution counts), and at most **one convolution**, which
#   only changes the channel count: its output has the same height and width as its input;
# - every pooling layer **downsamples with a small window**. In each axis (height, width) its
#   (window, stride, padding) is either `(1, 1, 0)`, which leaves the axis alone, or one of six
#   small steps: `(2, 2, 0)`, `(2, 2, 1)`, `(3, 2, 0)`, `(3, 2, 1)`, `(3, 3, 0)`, `(3, 3, 1)`
#   (window 2 or 3, a stride from 2 up to the window so that windows leave no gap, padding 0
#   or 1). At least one of the two axes must take one of the six steps; a step counts even
#   where it keeps a tiny size (`(2, 2, 1)` turns 2 into 2).
#
# When `in_shape` already equals `out_shape`, return the empty list `[]`. When no stack obeys
# the rules within the budget, raise `ValueError`: changing the channels costs too much, no
# sequence of allowed poolings reaches `H2 x W2`, or it would take more than 8 layers.
#
# The tests build and run your stack in torch, then check the rules, the output shape and the
# parameter count; any stack that obeys the rules passes. Section 1 (parameter counts) and
# Section 6 (the size rule) hold what you need. Stuck? `ck.hint("design_stack")`.

# %% nbgrader={"grade": false, "grade_id": "design_stack", "locked": false, "schema_version": 3, "solution": true, "task": false}
def design_stack(in_shape, out_shape, max_params):
    """Layers [("conv", ...) / ("pool", ...)] from in_shape to out_shape within max_params."""
    ### BEGIN SOLUTION
    (_, c, h, w), (_, c2, h2, w2) = in_shape, out_shape
    layers = []
    if c2 != c:
        # Parameters do not depend on H and W; the cheapest channel change is a 1x1 conv.
        cheapest = c * c2 + c2
        if cheapest > max_params:
            raise ValueError(f"changing {c} to {c2} channels costs at least {cheapest} "
                             f"parameters (a 1x1 convolution), over the budget {max_params}")
        layers.append(("conv", c2, 1, 1, 0))
    steps_h, steps_w = fewest_pools(h, h2), fewest_pools(w, w2)
    if steps_h is None or steps_w is None:
        raise ValueError(f"no sequence of allowed poolings takes {h} x {w} to {h2} x {w2}")
    # One pooling layer per step; the axis with fewer steps is left alone in the others.
    n_pools = max(len(steps_h), len(steps_w))
    if len(layers) + n_pools > 8:
        raise ValueError(f"{h} x {w} to {h2} x {w2} needs {n_pools} poolings: too many layers")
    alone = (1, 1, 0)
    steps_h += [alone] * (n_pools - len(steps_h))
    steps_w += [alone] * (n_pools - len(steps_w))
    for (kh, sh, ph), (kw, sw, pw) in zip(steps_h, steps_w):
        layers.append(("pool", (kh, kw), (sh, sw), (ph, pw)))
    return layers


def fewest_pools(size, target):
    """The shortest list of allowed (window, stride, padding) steps that takes one axis from
    `size` to `target`, or None when no sequence does (a breadth-first search)."""
    steps = [(k, s, p) for k in (2, 3) for s in range(2, k + 1) for p in range(k // 2 + 1)]
    paths, frontier = {size: []}, [size]
    while frontier and target not in paths:
        reached = []
        for n in frontier:
            for k, s, p in steps:
                m = (n + 2 * p - k) // s + 1   # lesson 03's size rule
                if m >= 1 and m not in paths:
                    paths[m] = paths[n] + [(k, s, p)]
                    reached.append(m)
        frontier = reached
    return paths.get(target)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_design_stack_visible", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
import contextlib

from poolkit.checks.hints import expected_failure


def check_sizes(layers, in_channels, max_params, case, hint):
    # torch allocates from these sizes: checked before anything is built
    ck.require(type(layers) in (list, tuple) and len(layers) <= 8,
               f"expected a list of at most 8 layers, got {layers!r}", case=case, hint=hint,
               exercise="design_stack")
    params, channels = 0, in_channels
    for layer in layers:
        args = list(layer[1:]) if type(layer) in (list, tuple) else []
        for size in [v for a in args for v in (a if type(a) in (list, tuple) else [a])]:
            if size is not None:
                ck.require_int(size, 0, 32, f"each size in the layer {layer!r}", case=case,
                               hint=hint, exercise="design_stack")
        if args and layer[0] == "conv" and len(args) == 4:
            ck.require_int(args[0], 1, 32, f"out_channels in the layer {layer!r}", case=case,
                           hint=hint, exercise="design_stack")
            kernel = list(args[1]) if type(args[1]) in (list, tuple) else [args[1]] * 2
            if None not in [args[0], *kernel] and kernel:   # else torch says what is wrong
                params += channels * args[0] * kernel[0] * kernel[-1] + args[0]
                channels = args[0]
    ck.require(params <= max_params,
               f"your stack {layers} has {params} learnable parameters, over the budget "
               f"of {max_params}", case=case, hint=hint, exercise="design_stack")


def pool_rule_broken(module):
    """Why the nn.MaxPool2d `module` breaks the rules of Exercise 1, or "" when it keeps them."""
    def pair(v):
        return tuple(v) if isinstance(v, (tuple, list)) else (v, v)

    windows, strides, pads = pair(module.kernel_size), pair(module.stride), pair(module.padding)
    downsampled = 0
    for axis, k, s, p in zip(("height", "width"), windows, strides, pads):
        if (k, s, p) == (1, 1, 0):
            continue
        if not (k in (2, 3) and 2 <= s <= k and p <= k // 2):
            return (f"in {axis} it has window {k}, stride {s}, padding {p}; allowed are "
                    f"window 1, stride 1, padding 0 (the axis left alone), or a window of 2 "
                    f"or 3 with a stride from 2 up to the window and padding at most half the "
                    f"window")
        downsampled += 1
    return "" if downsampled else "it leaves both axes alone: every pooling must downsample"


def check_design(in_shape, out_shape, max_params, hint, possible=True):
    case = f"in_shape={in_shape}, out_shape={out_shape}, max_params={max_params}"
    try:
        # raising is the right answer when no stack exists: no diagnosis, no failed try
        with expected_failure() if not possible else contextlib.nullcontext():
            layers = ck.call(design_stack, in_shape, out_shape, max_params, case=case, hint=hint)
    except AssertionError as exc:
        if not possible and " raised ValueError" in str(exc).partition("\n")[0]:
            return
        raise
    ck.require(possible, f"design_stack returned {layers!r}, but no stack obeys the rules "
               f"within the budget: it should raise ValueError", case=case, hint=hint,
               exercise="design_stack")
    check_sizes(layers, in_shape[1], max_params, case, hint)
    modules, channels, trace = [], in_shape[1], []
    try:
        for layer in layers:
            args = [tuple(a) if isinstance(a, list) else a for a in layer[1:]]
            if layer[0] == "conv":
                out_channels, k, s, p = args
                modules.append(nn.Conv2d(channels, out_channels, k, stride=s, padding=p))
                channels = out_channels
            elif layer[0] == "pool":
                k, s, p = args
                modules.append(nn.MaxPool2d(k, stride=s, padding=p))
            else:
                raise ValueError(f"unknown layer kind {layer[0]!r}")
        out = torch.randn(in_shape)
        with torch.no_grad():
            for layer, module in zip(layers, modules):
                before, out = tuple(out.shape), module(out)
                trace.append((layer, module, before, tuple(out.shape)))
    except Exception as err:
        problem = f"{type(err).__name__}: {err}"
    else:
        problem = ""
    ck.require(not problem, f"torch cannot build or run your stack {layers!r}: {problem}",
               case=case, hint=hint, exercise="design_stack")
    convs = [(layer, before, after) for layer, module, before, after in trace
             if isinstance(module, nn.Conv2d)]
    ck.require(len(convs) <= 1, f"your stack {layers} has {len(convs)} convolutions; at most "
               f"one is allowed", case=case,
               hint="one convolution is enough to set the channel count", exercise="design_stack")
    for layer, before, after in convs:
        ck.require(before[2:] == after[2:], f"your convolution {layer!r} turns height x width "
                   f"{before[2:]} into {after[2:]}; it may change the channel count only",
                   case=case, hint="which kernel, stride and padding keep the size?",
                   exercise="design_stack")
    for layer, module, _, _ in trace:
        if isinstance(module, nn.MaxPool2d):
            broken = pool_rule_broken(module)
            ck.require(not broken, f"your pooling layer {layer!r} breaks the rules: {broken}",
                       case=case, hint=hint, exercise="design_stack")
    params = sum(p.numel() for p in nn.Sequential(*modules).parameters())
    ck.require(tuple(out.shape) == tuple(out_shape),
               f"your stack {layers} turns {tuple(in_shape)} into {tuple(out.shape)}, not "
               f"{tuple(out_shape)}", case=case, hint=hint, exercise="design_stack")
    ck.require(params <= max_params,
               f"your stack {layers} has {params} learnable parameters, over the budget "
               f"of {max_params}", case=case, hint=hint, exercise="design_stack")


ck.assert_numpy_only(design_stack, hint="plain Python decides the layers; the tests build them")
check_design((1, 16, 24, 24), (1, 16, 12, 12), 0,
             "same channels, smaller maps: which layers cost nothing?")
check_design((2, 8, 10, 7), (2, 8, 4, 3), 0, "a window does not have to be square, "
             "and the stride does not have to be the window size")
check_design((1, 16, 24, 24), (1, 16, 12, 3), 0,
             "height needs fewer poolings than width: an axis may be left alone")
check_design((1, 3, 32, 32), (1, 32, 8, 8), 128,
             "a stack exists here. For the channels: does a convolution's parameter count "
             "depend on H and W? on its kernel size? For the sizes: which sizes can one "
             "allowed pooling make from 32, and the next from those?")
check_design((1, 8, 24, 24), (1, 8, 10, 12), 0,
             "list the sizes one allowed pooling can turn 24 into, then those two can reach",
             possible=False)
check_design((1, 16, 24, 24), (1, 32, 12, 12), 540,
             "count every parameter of the cheapest convolution that changes 16 channels "
             "into 32", possible=False)
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_design_stack_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# check_sizes, pool_rule_broken and check_design: the visible test's, above (the grader shares
# a lesson's test helpers; only definitions carry over, so the imports come again)
### BEGIN HIDDEN TESTS
import contextlib

from poolkit.checks.hints import expected_failure

ck.assert_numpy_only(design_stack)
allowed = [(k, s, p) for k in (2, 3) for s in range(2, k + 1) for p in range(k // 2 + 1)]
case_rng = np.random.default_rng(4040)
for i in range(12):
    n, c = int(case_rng.integers(1, 3)), int(case_rng.integers(1, 17))
    h, w = (int(v) for v in case_rng.integers(6, 30, size=2))
    h2, w2 = h, w          # targets reached by random allowed poolings: always possible
    for _ in range(int(case_rng.integers(1, 4))):
        k, s, p = allowed[int(case_rng.integers(len(allowed)))]
        h2 = (h2 + 2 * p - k) // s + 1 if h2 >= k else h2
    for _ in range(int(case_rng.integers(0, 4))):
        k, s, p = allowed[int(case_rng.integers(len(allowed)))]
        w2 = (w2 + 2 * p - k) // s + 1 if w2 >= k else w2
    if i % 2:
        h, w, h2, w2 = w, h, w2, h2
    c2 = c if i % 3 == 0 else int(case_rng.integers(1, 33))
    need = 0 if c2 == c else c * c2 + c2
    budget = need + int(case_rng.integers(0, 3)) if i % 4 else max(need - 1, 0)
    check_design((n, c, h, w), (n, c2, h2, w2), budget,
                 "parameters depend on channels and kernel size only; each pooling rule "
                 "applies per axis", possible=need <= budget)
# Sizes reached only when a step does not shrink as much as it can (20 -> 10 -> 5, 32 -> 16 ->
# 8; the smallest size each time, 20 -> 6 and 32 -> 10, gets stuck).
for in_shape, out_shape in [((1, 4, 20, 32), (1, 4, 5, 8)), ((2, 2, 32, 9), (2, 2, 8, 9))]:
    check_design(in_shape, out_shape, 0, "which sizes can one allowed pooling give? and which "
                 "of those can reach the target?")
# Sizes no allowed pooling sequence reaches (24 -> 9, 10 or 14..23; 32 -> 12; 17 -> 10; 29 ->
# 11), with and without a channel change that fits the budget.
for in_shape, out_shape, budget in [((1, 8, 24, 24), (1, 8, 12, 9), 0),
                                    ((2, 3, 32, 16), (2, 3, 12, 8), 0),
                                    ((1, 4, 24, 17), (1, 6, 20, 10), 100),
                                    ((1, 5, 29, 8), (1, 2, 11, 4), 50)]:
    check_design(in_shape, out_shape, budget,
                 "which sizes can one allowed pooling give? and several in a row?",
                 possible=False)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 2: `depthwise_conv2d` in NumPy (2 points)
#
# Write a depthwise convolution: channel `c` of the output is channel `c` of the input
# correlated with filter `weight[c, 0]`. Like every deep-learning framework, compute a
# *cross-correlation* (the filter is not flipped): for one channel,
# $\text{out}[i, j] = \sum_{a,b} x_\text{padded}[i s + a,\; j s + b]\; w[a, b]$.
# `padding` adds that many zeros before and after height and width only: N and C are never
# padded (with `np.pad`, give one width per axis). There is no bias. The result must match
# `F.conv2d(x, weight, stride=stride, padding=padding, groups=C)`.
#
# Use NumPy only. Loops over output positions are fine. For a faster version, ask which input
# pixels a single filter weight $w[a, b]$ meets as the window slides over the whole map: they
# form a regular grid.

# %% nbgrader={"grade": false, "grade_id": "depthwise_conv2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def depthwise_conv2d(x, weight, stride=1, padding=0):
    """Depthwise 2-D convolution (cross-correlation), no bias.

    x:      (N, C, H, W)
    weight: (C, 1, kh, kw), one filter per channel (the layout of a conv with groups=C)
    stride, padding: ints; padding adds `padding` zeros on each side of H and W.
    Returns (N, C, H_out, W_out), H_out = (H + 2*padding - kh) // stride + 1 (W alike), float64.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    filters = np.asarray(weight, dtype=np.float64)[:, 0]  # (C, kh, kw)
    kh, kw = filters.shape[-2:]
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, height, width = padded.shape
    h_out = (height - kh) // stride + 1
    w_out = (width - kw) // stride + 1
    out = np.zeros((n, c, h_out, w_out))
    for a in range(kh):
        for b in range(kw):
            # Input pixels that meet filter tap (a, b), one per output position.
            taps = padded[:, :, a : a + stride * (h_out - 1) + 1 : stride,
                                b : b + stride * (w_out - 1) + 1 : stride]
            out += taps * filters[:, a, b][None, :, None, None]
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_depthwise_conv2d_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}

def check_depthwise(x, weight, stride, padding, hint):
    want = F.conv2d(torch.from_numpy(x), torch.from_numpy(weight), stride=stride,
                    padding=padding, groups=x.shape[1]).numpy()
    case = ck.describe((x, weight, stride, padding), names=("x", "weight", "stride", "padding"))
    got = ck.call(depthwise_conv2d, x.copy(), weight.copy(), stride, padding, case=case, hint=hint)
    ck.assert_close(got, want, case=case, hint=hint)


ck.assert_numpy_only(depthwise_conv2d)
case_rng = np.random.default_rng(7)
ramp = np.arange(16.0).reshape(1, 1, 4, 4)
check_depthwise(ramp, np.array([[[[1.0, 0.0], [0.0, 0.0]]]]), 1, 0,
                "a filter with a single 1 at the top-left copies each window's top-left pixel")
check_depthwise(ramp, np.array([[[[0.0, 1.0], [2.0, 3.0]]]]), 2, 0,
                "no flipping: out[i, j] = sum over (a, b) of x[i*s + a, j*s + b] * w[a, b]")
check_depthwise(case_rng.standard_normal((2, 3, 7, 6)), case_rng.standard_normal((3, 1, 3, 2)),
                2, 1, "channel c uses weight[c, 0] only; pad only H and W (the last two axes), "
                "N and C get no padding")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_depthwise_conv2d_hidden", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
case_rng = np.random.default_rng(2024)
for i in range(10):
    n, c = int(case_rng.integers(1, 3)), int(case_rng.integers(1, 5))
    kh, kw = (int(v) for v in case_rng.integers(1, 4, size=2))
    stride, padding = int(case_rng.integers(1, 4)), int(case_rng.integers(0, 3))
    h = int(case_rng.integers(max(kh - 2 * padding, 1), 10))
    w = int(case_rng.integers(max(kw - 2 * padding, 1), 10))
    if i % 2:  # small integers: many ties and exact zeros
        x = case_rng.integers(-3, 4, size=(n, c, h, w)).astype(np.float64)
    else:
        x = -case_rng.uniform(0.5, 4.0, size=(n, c, h, w))
    weight = case_rng.standard_normal((c, 1, kh, kw))
    want = F.conv2d(torch.from_numpy(x), torch.from_numpy(weight), stride=stride,
                    padding=padding, groups=c).numpy()
    case = ck.describe((x, weight, stride, padding), names=("x", "weight", "stride", "padding"))
    hint = ("channel c sees only weight[c, 0]; is the filter flipped? is the padding on H "
            "and W only?")
    got = ck.call(depthwise_conv2d, x.copy(), weight.copy(), stride, padding, case=case, hint=hint)
    ck.assert_close(got, want, case=case, hint=hint)


# Out of process: with constant filters 1/k^2 the answer must equal poolkit's average pooling.
def with_average_filters(x, kernel_size, stride, padding):
    filters = np.full((x.shape[1], 1, kernel_size, kernel_size), 1.0 / kernel_size**2)
    return depthwise_conv2d(x, filters, stride, padding)


ck.check_against_oracle(with_average_filters, "poolkit.avg_pool2d",
                        ck.pool_cases(seed=41, n=9, max_kernel=4), numpy_only=True,
                        name="depthwise_conv2d with filters 1/k^2",
                        hint="zero padding on both sides of H and W (not N or C), "
                             "cross-correlation, stride in both axes")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3: average pooling that ignores the padding (3 points)
#
# Section 3 showed two things. `F.avg_pool2d(x, k, s, p)` (padding counted,
# `count_include_pad=True`) is one depthwise convolution with fixed weights $1/k^2$, the same
# stride and the same zero padding. With `count_include_pad=False` it is not: a window that
# covers padding is divided by the number of *real* pixels it covers, and that number changes
# from window to window.
#
# Two depthwise convolutions are enough, though. Write
# `avg_pool2d_exclude_pad(x, kernel_size, stride=None, padding=0)`, equal to
# `F.avg_pool2d(x, kernel_size, stride, padding, count_include_pad=False)` for a square window
# (`stride=None` means `stride = kernel_size`; `padding` is at most `kernel_size // 2`, as
# torch requires). Build it from calls to **your** `depthwise_conv2d`, with no loop over
# windows. Stuck? `ck.hint("avg_pool2d_exclude_pad")`.
#
# NumPy only. The tests run your `depthwise_conv2d`, so finish Exercise 2 first. They use
# inputs that contain zeros and negative values, with and without padding.

# %% nbgrader={"grade": false, "grade_id": "avg_pool2d_exclude_pad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def avg_pool2d_exclude_pad(x, kernel_size, stride=None, padding=0):
    """F.avg_pool2d(x, kernel_size, stride, padding, count_include_pad=False), x: (N, C, H, W).

    Built from depthwise_conv2d. stride=None means stride = kernel_size.
    Returns (N, C, H_out, W_out), float64.
    """
    ### BEGIN SOLUTION
    x = np.asarray(x, dtype=np.float64)
    stride = kernel_size if stride is None else stride
    ones = np.ones((x.shape[1], 1, kernel_size, kernel_size))
    sums = depthwise_conv2d(x, ones, stride, padding)
    # The same windows over a map of ones count the real pixels (the padding adds zeros). The
    # counts are the same for every image and channel: one (1, 1, H, W) map broadcasts.
    counts = depthwise_conv2d(np.ones((1, 1) + x.shape[2:]), ones[:1], stride, padding)
    return sums / counts
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_avg_pool2d_exclude_pad_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}

def check_exclude_pad(x, k, s, p, hint):
    want = F.avg_pool2d(torch.from_numpy(x), k, s, p, count_include_pad=False).numpy()
    case = ck.describe((x, k, s, p), names=("x", "kernel_size", "stride", "padding"))
    got = ck.call(avg_pool2d_exclude_pad, x.copy(), k, s, p, case=case, hint=hint)
    ck.assert_close(got, want, case=case, hint=hint)


ck.assert_numpy_only(avg_pool2d_exclude_pad)
check_exclude_pad(np.ones((1, 1, 4, 4)), 3, 1, 1,
                  "the mean of real pixels that are all 1 is 1, also in a corner window")
check_exclude_pad(np.arange(20.0).reshape(1, 1, 4, 5) - 10, 2, None, 0,
                  "without padding every window holds k*k real pixels; stride None means k")
check_exclude_pad(np.random.default_rng(3).integers(-2, 3, size=(2, 3, 5, 6)).astype(float),
                  3, 2, 1, "a real pixel counts in the divisor even when its value is 0")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_avg_pool2d_exclude_pad_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# check_exclude_pad: the visible test's, above (the grader shares a lesson's test helpers)
### BEGIN HIDDEN TESTS
ck.assert_numpy_only(avg_pool2d_exclude_pad)
# Fixed cases: zeros inside the map, padding, stride None with k > 1, odd sizes.
zeros_inside = np.array([[[[0.0, 2.0, -1.0, 0.0, 3.0], [1.0, 0.0, 0.0, -2.0, 1.0],
                           [-3.0, 1.0, 0.0, 2.0, 0.0], [2.0, -1.0, 1.0, 0.0, -1.0]]]])
for k, s, p in [(3, None, 1), (2, 1, 1), (3, 2, 0), (2, None, 1)]:
    check_exclude_pad(zeros_inside, k, s, p,
                      "the divisor is the number of real pixels in the window, whatever "
                      "their values; stride None means k")
ck.check_against_oracle(avg_pool2d_exclude_pad, "poolkit.avg_pool2d",
                        ck.pool_cases(seed=43, n=12, stride_none=True, max_kernel=4,
                                      max_size=11),
                        numpy_only=True, oracle_kwargs={"count_include_pad": False},
                        hint="which windows cover padding, and how many real pixels do they "
                             "hold? what does stride=None mean for a pooling layer?")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4: the backward pass of average pooling in NumPy (3 points)
#
# Average pooling has no parameters, but the layers before it learn only through the gradient
# it passes back: the gradient of Section 1, here taken with respect to the layer's input (how
# fast the loss grows when one input value grows). Training computes these gradients layer by
# layer, from the loss back to the input; that is the *backward pass*, and torch's autograd
# does it for you. Write `avg_pool2d_backward(grad_output, x_shape, kernel_size, stride=None,
# padding=0)` for square windows: `grad_output: (N, C, H_out, W_out)` is the gradient of the
# loss with respect to the output of `F.avg_pool2d(x, kernel_size, stride, padding)` (torch's
# defaults: padding counted in the divisor, `ceil_mode=False`), and `x_shape = (N, C, H, W)`.
# Return the gradient with respect to `x`, an array of shape `x_shape`, as torch's autograd
# computes it. `stride=None` means `stride = kernel_size`.
#
# No formula is given: derive it. Section 3 showed that this layer is a depthwise convolution
# with fixed weights; ask, for one output, how much it changes when one input in its window
# changes, then what happens to an input that sits in several windows, and to a window that
# covers padding. The function gets the shape of `x`, not its values: the gradient does not
# depend on them. NumPy only.

# %% nbgrader={"grade": false, "grade_id": "avg_pool2d_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def avg_pool2d_backward(grad_output, x_shape, kernel_size, stride=None, padding=0):
    """Gradient of F.avg_pool2d(x, kernel_size, stride, padding) w.r.t. x of shape x_shape."""
    ### BEGIN SOLUTION
    g = np.asarray(grad_output, dtype=np.float64)
    k = kernel_size
    s = k if stride is None else stride
    n, c, height, width = x_shape
    h_out, w_out = g.shape[-2:]
    # Work on the padded grid, then cut the padding off: its gradient goes nowhere.
    padded = np.zeros((n, c, height + 2 * padding, width + 2 * padding))
    share = g / (k * k)  # each output is the mean of k*k numbers (padding counted)
    for a in range(k):
        for b in range(k):
            padded[:, :, a : a + s * (h_out - 1) + 1 : s,
                         b : b + s * (w_out - 1) + 1 : s] += share
    return padded[:, :, padding : padding + height, padding : padding + width]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_avg_pool2d_backward_visible", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}

def autograd_avg_dx(grad_output, x_shape, kernel_size, stride, padding):
    x = torch.zeros(x_shape, dtype=torch.float64, requires_grad=True)
    F.avg_pool2d(x, kernel_size, stride, padding).backward(torch.from_numpy(grad_output))
    return x.grad.numpy()


def shape_hint(got, x_shape, padding, hint):
    """`hint`, or a pointer at the shape when `got` is an array of another shape than x."""
    try:
        value = ck.strict_value(got)   # plain data: none of the student's code runs
    except AssertionError:
        return hint                    # not an array: assert_close says what it is
    if value[0] != "array" or tuple(value[1]) == tuple(x_shape):
        return hint
    return (f"the gradient has the shape of x, {tuple(x_shape)}: how many rows and columns "
            f"does your result keep when padding is {padding}?")


def check_avg_backward(x_shape, k, s, p, seed, hint):
    out_h = (x_shape[2] + 2 * p - k) // (s or k) + 1
    out_w = (x_shape[3] + 2 * p - k) // (s or k) + 1
    g = np.random.default_rng(seed).standard_normal((*x_shape[:2], out_h, out_w))
    case = f"grad_output: shape {g.shape}, x_shape={x_shape}, kernel_size={k}, stride={s}, padding={p}"
    got = ck.call(avg_pool2d_backward, g.copy(), x_shape, k, s, p, case=case, hint=hint)
    ck.assert_close(got, autograd_avg_dx(g, x_shape, k, s, p), case=case,
                    hint=shape_hint(got, x_shape, p, hint))


ck.assert_numpy_only(avg_pool2d_backward)
ones = np.ones((1, 1, 2, 2))
ones_dx = ck.call(avg_pool2d_backward, ones.copy(), (1, 1, 4, 4), 2, None, 0,
                  case="ones through a 2x2 pool of a 4x4 input")
ck.assert_close(ones_dx, autograd_avg_dx(ones, (1, 1, 4, 4), 2, None, 0),
                case="ones through a 2x2 pool of a 4x4 input, stride None",
                hint=shape_hint(ones_dx, (1, 1, 4, 4), 0, "how much does one output move when "
                                "one of its 4 inputs moves by 1?"))
check_avg_backward((1, 1, 5, 5), 3, 1, 0, 1,
                   "windows overlap at stride 1: an input in several windows hears from each")
check_avg_backward((2, 3, 6, 7), 3, 2, 1, 2,
                   "a window over the border still divides by k*k; the padding's share is lost")
check_avg_backward((1, 2, 7, 5), 2, 2, 0, 3,
                   "rows and columns no window reaches get no gradient")
print("visible tests passed")

# %% nbgrader={"grade": true, "grade_id": "test_avg_pool2d_backward_hidden", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# autograd_avg_dx and shape_hint: the visible test's, above (the grader shares a lesson's test
# helpers)
### BEGIN HIDDEN TESTS
case_rng = np.random.default_rng(4050)
for i in range(12):
    k = int(case_rng.integers(1, 5))
    s = None if i % 4 == 3 else int(case_rng.integers(1, 4))
    p = int(case_rng.integers(0, k // 2 + 1))
    n, c = int(case_rng.integers(1, 3)), int(case_rng.integers(1, 4))
    h, w = (int(v) for v in case_rng.integers(max(k - 2 * p, 1), 10, size=2))
    step = k if s is None else s
    g = case_rng.standard_normal((n, c, (h + 2 * p - k) // step + 1, (w + 2 * p - k) // step + 1))
    case = f"grad_output: shape {g.shape}, x_shape={(n, c, h, w)}, kernel_size={k}, stride={s}, padding={p}"
    hint = "divide by k*k, spread over the window, add overlaps, drop the padding"
    got = ck.call(avg_pool2d_backward, g.copy(), (n, c, h, w), k, s, p, case=case, hint=hint)
    ck.assert_close(got, autograd_avg_dx(g, (n, c, h, w), k, s, p), case=case,
                    hint=shape_hint(got, (n, c, h, w), p, hint))
ck.assert_numpy_only(avg_pool2d_backward)
### END HIDDEN TESTS

# %% [markdown]
# ## Summary
#
# - A pooling layer has **0** learnable parameters; `nn.Conv2d(16, 32, 3)` has **4640**
#   ($C_\text{out} C_\text{in} k^2 + C_\text{out}$).
# - Pooling keeps the channel count; a convolution sets it.
# - Average pooling *is* a depthwise convolution with fixed weights (zero padding matches
#   `count_include_pad=True`). Max pooling is not affine, so no convolution computes it.
# - A strided convolution downsamples to the same shape as pooling, at the cost of parameters
#   and multiply-adds, and can learn what to keep.
# - A parameter count depends on channels and kernel size, never on the feature map's height
#   and width.
# - Even a layer without parameters passes gradients back to the layers before it; Exercise 4
#   derived how average pooling does it.
#
# Next lesson: the same layers in Keras and PyTorch, channels-last vs channels-first, and the
# backward pass of max pooling.

# %% [markdown]
# ## Going further (optional, not graded)
#
# **Fixed filters on an image.** `poolkit.data.sample_image` has a smooth shaded left half and,
# on the right, a checkerboard of 4×4 squares, thin vertical lines and a bright disk. Average
# pooling, max pooling and Section 3's top-left filter (subsampling) each keep something
# different. The last panel
# uses other fixed weights on the same 2×2, stride-2 windows,
# $\begin{bmatrix}1&-1\\1&-1\end{bmatrix}$: left column minus right column.

# %%
image = torch.from_numpy(data.sample_image(64)).to(torch.float64)[None, None]  # (1, 1, 64, 64)
edge_filter = torch.tensor([[[[1.0, -1.0], [1.0, -1.0]]]], dtype=torch.float64)
panels = {
    "input": image,
    "F.avg_pool2d(2)": F.avg_pool2d(image, 2),
    "depthwise conv,\nweights [[1,0],[0,0]]": F.conv2d(image, top_left[:1], stride=2),
    "F.max_pool2d(2)": F.max_pool2d(image, 2),
    "strided conv,\nweights [[1,-1],[1,-1]]": F.conv2d(image, edge_filter, stride=2),
}
fig, axes = plt.subplots(1, len(panels), figsize=(13, 3))
for ax, (title, img) in zip(axes, panels.items()):
    ax.imshow(img[0, 0].numpy(), cmap="gray")
    ax.set_title(f"{title}\n{tuple(img.shape[-2:])}", fontsize=9)
    ax.axis("off")
plt.tight_layout()
plt.show()
# The prose below reads these facts off the last panel; the asserts keep it honest.
edges = panels["strided conv,\nweights [[1,-1],[1,-1]]"][0, 0].numpy()
assert np.abs(edges[:16, 16:]).max() < 1e-12        # the checkerboard: flat grey
assert np.abs(edges[16:, 16:]).max() > 0.5          # the thin lines: bright stripes

# %% [markdown]
# The thin lines light up, but the checkerboard turns flat grey: its 4-pixel squares start at
# even columns, so each of its edges falls *between* two windows. With a 2×2 window and stride 2
# the windows do not overlap, so whatever the weights, no single output sees both sides of a
# window boundary, and none can measure a difference across it. (The outputs on either side
# still differ, and a later layer can compare them.) Overlapping windows, such as a 3×3 kernel
# with stride 2, put both sides of every edge in some window.

# %% [markdown]
# ## References
#
# - PyTorch documentation: [`torch.nn.Conv2d`](https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html),
#   [`torch.nn.MaxPool2d`](https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html),
#   [`torch.nn.AvgPool2d`](https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html),
#   [`torch.nn.functional.conv2d`](https://pytorch.org/docs/stable/generated/torch.nn.functional.conv2d.html).
# - Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, *Gradient-based learning applied to document
#   recognition*, Proceedings of the IEEE 86(11):2278-2324, 1998 (LeNet-5 and its trainable
#   subsampling layers).
# - J. T. Springenberg, A. Dosovitskiy, T. Brox and M. Riedmiller, *Striving for Simplicity: The
#   All Convolutional Net*, ICLR 2015 workshop track, arXiv:1412.6806 (strided convolutions
#   instead of max pooling; a global average pool at the end).
# - K. He, X. Zhang, S. Ren and J. Sun, *Deep Residual Learning for Image Recognition*, CVPR
#   2016, arXiv:1512.03385 (stride-2 convolutions for downsampling).
# - V. Dumoulin and F. Visin, *A guide to convolution arithmetic for deep learning*,
#   arXiv:1603.07285, 2016 (output sizes of convolutions and pooling).
