"""Procedural images and a tiny shapes data set: nothing is downloaded.

Every image is a float array in [0, 1] of shape ``(size, size)`` unless stated otherwise,
so it can be pooled after adding batch and channel axes: ``img[None, None]``.
"""

from __future__ import annotations

import numpy as np

SHAPE_CLASSES = ("square", "circle", "triangle", "cross")


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    coords = np.arange(size, dtype=np.float64)
    return np.meshgrid(coords, coords, indexing="ij")


def checkerboard(size: int = 32, square: int = 4) -> np.ndarray:
    """Black and white squares of side ``square`` pixels: ``(size, size)``."""
    if square < 1:
        raise ValueError(f"square must be at least 1 pixel, got {square}")
    rows, cols = _grid(size)
    return ((rows // square + cols // square) % 2).astype(np.float64)


def stripes(size: int = 32, period: float = 4, angle: float = 0.0) -> np.ndarray:
    """Hard-edged stripes, ``period`` pixels apart, at ``angle`` degrees: ``(size, size)``."""
    if period <= 0:
        raise ValueError(f"period must be positive, got {period}")
    rows, cols = _grid(size)
    theta = np.deg2rad(angle)
    phase = (cols * np.cos(theta) + rows * np.sin(theta)) / period
    return (np.floor(phase * 2) % 2).astype(np.float64)


def disk(size: int = 32, radius: float | None = None) -> np.ndarray:
    """A filled disk in the centre (1 inside, 0 outside): ``(size, size)``."""
    rows, cols = _grid(size)
    radius = size / 4 if radius is None else radius
    centre = (size - 1) / 2
    return (((rows - centre) ** 2 + (cols - centre) ** 2) <= radius**2).astype(np.float64)


def ramp(size: int = 32) -> np.ndarray:
    """A smooth diagonal gradient from 0 (top left) to 1 (bottom right): ``(size, size)``."""
    rows, cols = _grid(size)
    return (rows + cols) / max(2 * (size - 1), 1)


def sample_image(size: int = 64) -> np.ndarray:
    """A scene with smooth regions and sharp edges, for comparing max and average pooling.

    Left half: a smooth shaded background with a soft blob; right half: a checkerboard
    patch, thin lines and a bright disk.  Returns ``(size, size)`` floats in [0, 1].
    """
    rows, cols = _grid(size)
    u, v = rows / max(size - 1, 1), cols / max(size - 1, 1)
    image = 0.25 + 0.35 * u + 0.1 * np.sin(3 * np.pi * v)
    image += 0.3 * np.exp(-(((u - 0.3) ** 2 + (v - 0.25) ** 2) / 0.02))
    right = cols >= size // 2
    image[right] = 0.1
    board = checkerboard(size, max(size // 16, 1))
    top_right = right & (rows < size // 2)
    image[top_right] = 0.1 + 0.8 * board[top_right]
    thin_lines = right & (rows >= size // 2) & (cols % max(size // 8, 2) == 0)
    image[thin_lines] = 1.0
    spot = ((u - 0.75) ** 2 + (v - 0.75) ** 2) <= 0.006
    image[spot] = 1.0
    return np.clip(image, 0.0, 1.0)


def shift_image(image: np.ndarray, dy: int, dx: int, mode: str = "zero") -> np.ndarray:
    """Shift the last two axes of ``image`` by ``(dy, dx)`` pixels (positive: down/right).

    ``mode="circular"`` wraps pixels around the border; ``mode="zero"`` fills with zeros.
    Works on ``(H, W)`` or any ``(..., H, W)`` array and returns the same shape.
    """
    image = np.asarray(image)
    if image.ndim < 2:
        raise ValueError(
            f"image must have at least 2 dimensions (..., H, W), got shape {image.shape}"
        )
    shifted = np.roll(image, (dy, dx), axis=(-2, -1))
    if mode == "circular":
        return shifted
    if mode != "zero":
        raise ValueError(f"mode must be 'zero' or 'circular', got {mode!r}")
    if dy > 0:
        shifted[..., :dy, :] = 0
    elif dy < 0:
        shifted[..., dy:, :] = 0
    if dx > 0:
        shifted[..., :, :dx] = 0
    elif dx < 0:
        shifted[..., :, dx:] = 0
    return shifted


def _draw_shape(kind: str, size: int, rng: np.random.Generator) -> np.ndarray:
    rows, cols = _grid(size)
    half = rng.uniform(0.18, 0.3) * size
    cy, cx = rng.uniform(half + 1, size - half - 1, size=2)
    dy, dx = rows - cy, cols - cx
    if kind == "square":
        mask = (np.abs(dy) <= half) & (np.abs(dx) <= half)
    elif kind == "circle":
        mask = dy**2 + dx**2 <= half**2
    elif kind == "triangle":
        # apex at the top: the allowed half-width grows linearly towards the base
        mask = (dy >= -half) & (dy <= half) & (np.abs(dx) <= (dy + half) / 2)
    elif kind == "cross":
        bar = max(half / 3, 1.0)
        mask = ((np.abs(dy) <= bar) & (np.abs(dx) <= half)) | (
            (np.abs(dx) <= bar) & (np.abs(dy) <= half)
        )
    else:  # pragma: no cover - guarded by SHAPE_CLASSES
        raise ValueError(kind)
    return mask.astype(np.float64)


def make_shapes(
    n: int, size: int = 28, seed: int = 0, noise: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """A small, seeded data set of white shapes on a dark, noisy background.

    Each image holds one shape from ``SHAPE_CLASSES`` at a random position and scale,
    so a classifier must be somewhat translation invariant.

    Returns ``images: (n, 1, size, size)`` float32 in [0, 1] and ``labels: (n,)`` int64
    indexing ``SHAPE_CLASSES``.  The same ``seed`` always gives the same data.
    """
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels to draw a shape, got {size}")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(SHAPE_CLASSES), size=n)
    images = np.empty((n, 1, size, size), dtype=np.float32)
    for i, label in enumerate(labels):
        shape = _draw_shape(SHAPE_CLASSES[label], size, rng)
        image = 0.8 * shape + noise * rng.standard_normal((size, size))
        images[i, 0] = np.clip(image, 0.0, 1.0)
    return images, labels.astype(np.int64)
