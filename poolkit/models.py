"""Small CNNs for the course, the numbers that describe them, and a seeded CPU trainer.

torch is imported inside the functions, never at module import, so ``import poolkit``
stays light.  Every model here takes ``x: (N, C, H, W)`` float32 tensors and returns
logits ``(N, n_classes)``.

- :func:`small_cnn` builds conv-ReLU(-pool) blocks and a classifier head.
- :func:`layer_summary` runs one input through a model with forward hooks and lists, per
  layer, the output shape, parameters, multiply-adds and activations;
  :func:`count_parameters`, :func:`multiply_adds` and :func:`activation_memory` are its totals.
- :func:`train` fits a model on NumPy arrays in seconds, deterministically for a given seed.
- :func:`predict`, :func:`accuracy` and :func:`prediction_consistency` evaluate a model.

Exercise answers live in ``solutions/<lesson>/answers.py``, the instructor's exact oracles in
``poolgrade.reference``.
"""

from __future__ import annotations

import functools

import numpy as np

POOLS = ("max", "avg", "blur", None)
HEADS = ("flatten", "gap")


@functools.cache
def _blur_pool_class():
    import torch
    from torch import nn

    class BlurPool2d(nn.Module):
        """Anti-aliased downsampling: a fixed 3x3 binomial blur applied with a stride.

        ``(N, C, H, W) -> (N, C, floor((H - 1) / stride) + 1, ...)``; zero padding of 1.
        The filter is a buffer, not a parameter: like every pooling layer, it learns nothing.
        """

        def __init__(self, channels: int, stride: int = 2):
            super().__init__()
            taps = torch.tensor([1.0, 2.0, 1.0])
            kernel = torch.outer(taps, taps) / 16.0
            self.register_buffer("kernel", kernel.expand(channels, 1, 3, 3).clone())
            self.channels = channels
            self.stride = stride

        def forward(self, x):
            return nn.functional.conv2d(
                x, self.kernel, stride=self.stride, padding=1, groups=self.channels
            )

        def extra_repr(self) -> str:
            return f"channels={self.channels}, stride={self.stride}"

    return BlurPool2d


def blur_pool(channels: int, stride: int = 2):
    """A parameter-free module that blurs with ``[1, 2, 1]^T [1, 2, 1] / 16`` and subsamples."""
    return _blur_pool_class()(channels, stride)


def _pool_layers(pool, channels: int) -> list:
    from torch import nn

    if pool == "max":
        return [nn.MaxPool2d(2)]
    if pool == "avg":
        return [nn.AvgPool2d(2)]
    if pool == "blur":
        # Zhang (2019), "Making convolutional networks shift-invariant again": take the max
        # densely (stride 1), then blur before subsampling so that high frequencies do not alias.
        return [nn.MaxPool2d(2, stride=1), blur_pool(channels, stride=2)]
    return []


def _feature_size(size: int, pool, n_blocks: int) -> int:
    for _ in range(n_blocks):
        if pool in ("max", "avg"):
            size = size // 2
        elif pool == "blur":
            size = (size - 2) // 2 + 1  # max 2x2 stride 1, then blur 3x3 stride 2 padding 1
    return size


def small_cnn(
    pool: str | None = "max",
    head: str = "flatten",
    in_size: int = 28,
    n_classes: int = 4,
    channels: tuple[int, ...] = (8, 16),
    hidden: int = 32,
    in_channels: int = 1,
    adaptive_size: int | None = None,
    seed: int = 0,
):
    """A small CNN: ``len(channels)`` blocks of conv 3x3 (padding 1), ReLU (and pooling), a head.

    pool: ``"max"`` or ``"avg"`` (2x2, stride 2), ``"blur"`` (max 2x2 stride 1, then a fixed
        binomial blur with stride 2: anti-aliased max pooling), or ``None`` (no downsampling).
    head: ``"flatten"``: flatten ``(C, h, w)`` into a dense layer of ``hidden`` units (ReLU),
        then a dense layer to ``n_classes`` (``hidden=0``: straight to the classes);
        ``"gap"``: global average pooling to ``(C,)``, then one dense layer to ``n_classes``.
    adaptive_size: flatten head only; puts ``AdaptiveAvgPool2d(adaptive_size)`` before the
        flatten so the network takes any input size (the torchvision VGG trick).
    seed: the weights are drawn with ``torch.manual_seed(seed)``: same seed, same model.

    Input ``(N, in_channels, in_size, in_size)`` -> logits ``(N, n_classes)``.
    """
    import torch
    from torch import nn

    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    if not channels:
        raise ValueError("channels must list at least one conv block, got an empty tuple")
    for name, value in (
        ("in_size", in_size),
        ("n_classes", n_classes),
        ("in_channels", in_channels),
    ):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    feature_size = adaptive_size or _feature_size(in_size, pool, len(channels))
    if feature_size < 1:
        raise ValueError(
            f"in_size={in_size} is too small for {len(channels)} pooling blocks: the feature map "
            "would be empty; use a larger input or fewer blocks"
        )

    torch.manual_seed(seed)
    layers: list = []
    previous = in_channels
    for width in channels:
        layers += [nn.Conv2d(previous, width, 3, padding=1), nn.ReLU()]
        layers += _pool_layers(pool, width)
        previous = width
    if head == "gap":
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(previous, n_classes)]
    else:
        if adaptive_size is not None:
            layers.append(nn.AdaptiveAvgPool2d(adaptive_size))
        layers.append(nn.Flatten())
        flat = previous * feature_size * feature_size
        if hidden:
            layers += [nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)]
        else:
            layers.append(nn.Linear(flat, n_classes))
    return nn.Sequential(*layers)


def count_parameters(model, trainable_only: bool = True) -> int:
    """Number of scalar parameters in ``model`` (buffers such as a blur filter excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def first_dense(model):
    """The first ``nn.Linear`` layer of ``model`` (raises ValueError when there is none)."""
    from torch import nn

    for module in model.modules():
        if isinstance(module, nn.Linear):
            return module
    raise ValueError("the model has no nn.Linear layer")


def _layer_multiply_adds(module, output) -> int:
    from torch import nn

    per_output = 0
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        per_output = (module.in_channels // module.groups) * kh * kw
    elif isinstance(module, nn.Linear):
        per_output = module.in_features
    elif type(module).__name__ == "BlurPool2d":
        per_output = module.kernel.shape[-1] * module.kernel.shape[-2]
    return int(output[0].numel()) * per_output  # one input image: batch index 0


def layer_summary(model, input_shape: tuple[int, ...]) -> list[dict]:
    """Run one zero image of ``input_shape = (C, H, W)`` through ``model`` and describe each layer.

    Returns one dict per leaf module, in execution order, with keys ``name``, ``layer``
    (class name), ``output_shape`` (without the batch axis), ``parameters``,
    ``multiply_adds`` (conv, dense and the fixed blur filter; pooling's comparisons and
    additions are not counted) and ``activations`` (number of output values).
    """
    import torch

    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W) for one image, got {tuple(input_shape)}")
    rows: list[dict] = []
    names = {module: name for name, module in model.named_modules()}

    def record(module, _inputs, output):
        rows.append(
            {
                "name": names.get(module, type(module).__name__),
                "layer": type(module).__name__,
                "output_shape": tuple(output.shape[1:]),
                "parameters": sum(p.numel() for p in module.parameters()),
                "multiply_adds": _layer_multiply_adds(module, output),
                "activations": int(output[0].numel()),
            }
        )

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(record) for m in leaves]
    try:
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(torch.zeros((1, *input_shape)))
        model.train(was_training)
    finally:
        for handle in handles:
            handle.remove()
    return rows


def multiply_adds(model, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds for one image of ``input_shape = (C, H, W)`` (see :func:`layer_summary`)."""
    return sum(row["multiply_adds"] for row in layer_summary(model, input_shape))


def activation_memory(model, input_shape: tuple[int, ...], bytes_per_value: int = 4) -> int:
    """Bytes of all layer outputs for one image (float32 by default): what training must keep."""
    return bytes_per_value * sum(row["activations"] for row in layer_summary(model, input_shape))


def _as_tensors(images, labels=None):
    import torch

    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if x.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(x.shape)}")
    if labels is None:
        return x
    y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    if y.shape != (x.shape[0],):
        raise ValueError(f"labels must be (N,) = ({x.shape[0]},), got shape {tuple(y.shape)}")
    return x, y


def predict(model, images, batch_size: int = 256) -> np.ndarray:
    """Predicted class per image: ``images (N, C, H, W)`` -> ``(N,)`` int64 (eval mode, no grad)."""
    import torch

    x = _as_tensors(images)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = [model(x[i : i + batch_size]).argmax(dim=1) for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)


def accuracy(model, images, labels) -> float:
    """Fraction of ``images (N, C, H, W)`` whose predicted class equals ``labels (N,)``."""
    labels = np.asarray(labels)
    return float(np.mean(predict(model, images) == labels)) if len(labels) else float("nan")


def train(
    model,
    images,
    labels,
    epochs: int = 10,
    seed: int = 0,
    val_images=None,
    val_labels=None,
    val_fraction: float = 0.25,
    batch_size: int = 32,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    threads: int = 1,
) -> dict:
    """Fit ``model`` with Adam and cross-entropy on CPU; deterministic for a given ``seed``.

    images: ``(N, C, H, W)``, labels: ``(N,)`` class indices.  Validation data is
    ``(val_images, val_labels)`` when given, else the last ``val_fraction`` of the data.
    Runs with ``threads`` torch threads (restored afterwards).  One thread is the default: these
    models are tiny, and on a shared CPU more threads mostly wait for each other.

    Returns a history dict of per-epoch lists ``train_loss``, ``train_acc``, ``val_acc``
    (accuracies measured in eval mode after each epoch) and ``seconds`` (total wall time).
    """
    import time

    import torch

    x, y = _as_tensors(images, labels)
    if val_images is None:
        if not 0 < val_fraction < 1:
            raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
        n_val = max(1, int(round(len(x) * val_fraction)))
        x, y, vx, vy = x[:-n_val], y[:-n_val], x[-n_val:], y[-n_val:]
    else:
        vx, vy = _as_tensors(val_images, val_labels)
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be at least 1, got {epochs}, {batch_size}")

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    start = time.perf_counter()
    history: dict = {"train_loss": [], "train_acc": [], "val_acc": []}
    try:
        torch.manual_seed(seed)
        order_rng = np.random.default_rng(seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        loss_fn = torch.nn.CrossEntropyLoss()
        for _ in range(epochs):
            model.train()
            order = torch.as_tensor(order_rng.permutation(len(x)))
            total = 0.0
            for i in range(0, len(x), batch_size):
                batch = order[i : i + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(model(x[batch]), y[batch])
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            history["train_loss"].append(total / len(x))
            history["train_acc"].append(accuracy(model, x, y))
            history["val_acc"].append(accuracy(model, vx, vy))
    finally:
        torch.set_num_threads(previous_threads)
    history["seconds"] = time.perf_counter() - start
    return history


def prediction_consistency(model, images, max_shift: int, mode: str = "circular") -> np.ndarray:
    """How often the prediction survives a shift: ``(max_shift, max_shift)`` array of fractions.

    Entry ``[dy, dx]`` is the fraction of ``images (N, C, H, W)`` whose predicted class is
    the same after shifting by ``(dy, dx)`` pixels (``poolkit.data.shift_image``, ``mode``)
    as before.  Entry ``[0, 0]`` is 1 by construction; the mean is a shift-consistency score.
    """
    from poolkit.data import shift_image

    if not isinstance(max_shift, int) or max_shift < 1:
        raise ValueError(f"max_shift must be a positive int, got {max_shift!r}")
    images = np.asarray(images, dtype=np.float32)
    unshifted = predict(model, images)
    table = np.empty((max_shift, max_shift))
    for dy in range(max_shift):
        for dx in range(max_shift):
            kept = predict(model, shift_image(images, dy, dx, mode=mode)) == unshifted
            table[dy, dx] = np.count_nonzero(kept) / len(images)
    return table
