"""Pure functions behind the pooling widgets: every number a widget shows comes from here.

Nothing in this module draws or needs ipywidgets; the widgets in ``poolkit.widgets`` only
wire controls to these functions.  Tests (and lessons) call them directly.

Conventions: a 2-D input grid or image is ``x: (H, W)``; images for the shift and pyramid
helpers may carry leading axes ``(..., H, W)``.  The frameworks do the computing: pooling
goes through ``poolkit.max_pool2d``/``avg_pool2d`` (torch), torch's output sizes come from
running the layer on a ``meta`` tensor (shapes only, no data), and Keras' sizes, windows and
'same' padding from running Keras itself.  torch and Keras are imported when first needed.

Contents
- ``preset_grid``: the stepper's small input grids (ramp, random, ties, all-negative).
- ``window_state``: one output position of a pooling layer, its window, how its value comes about.
- ``torch_call``: the torch layer for a configuration, as a string.
- ``shape_report``: torch and Keras output sizes, Keras 'same' padding, fraction kept, refusals.
- ``pooling_pyramid``: an image pooled repeatedly, with the size at each step.
- ``blur`` / ``shift_invariance``: how much a pooled output changes when the input shifts.

Where an argument sets the size of what a function returns (a preset's ``size``, the
stepper's padded grid, the pyramid's ``steps``, the number of shifts), a result that could
never fit in memory raises ``ValueError`` at once (``poolkit._validation.check_output_fits``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ._validation import check_output_fits, int_tuple

PRESETS = ("ramp", "random", "ties", "all-negative")
MODES = ("max", "avg")

__all__ = [
    "PRESETS",
    "MODES",
    "preset_grid",
    "parse_grid",
    "WindowState",
    "window_state",
    "output_shape",
    "torch_call",
    "ShapeReport",
    "shape_report",
    "pool_image",
    "pooling_pyramid",
    "max_pyramid_steps",
    "blur",
    "ShiftResult",
    "shift_invariance",
]


# --------------------------------------------------------------------------- helpers


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be 'max' or 'avg', got {mode!r}")
    return mode


def _grid2d(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"the input grid must be 2-D (H, W), got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"the input grid is empty, shape {x.shape}")
    return x


def pool_image(image, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               mode="max", count_include_pad=True) -> np.ndarray:
    """Pool the last two axes of ``image: (..., H, W)`` with poolkit -> ``(..., OH, OW)``.

    ``mode='max'`` uses ``poolkit.max_pool2d``, ``mode='avg'`` uses ``poolkit.avg_pool2d``
    (which has no dilation, like torch).  Bad configurations raise poolkit's ValueError.
    """
    import poolkit

    _check_mode(mode)
    image = np.asarray(image, dtype=np.float64)
    if image.ndim < 2:
        raise ValueError(f"image must have at least 2 axes (..., H, W), got shape {image.shape}")
    lead = image.shape[:-2]
    batch = image.reshape((-1, 1) + image.shape[-2:])
    if mode == "max":
        out = poolkit.max_pool2d(batch, kernel_size, stride, padding, dilation, ceil_mode)
    else:
        if int_tuple("dilation", dilation, 2) != (1, 1):
            raise ValueError(
                f"dilation={dilation!r} is only available for max pooling: torch's avg_pool2d "
                "(and poolkit's) has no dilation argument; set dilation=1 or use mode='max'"
            )
        out = poolkit.avg_pool2d(batch, kernel_size, stride, padding, ceil_mode,
                                 count_include_pad)
    out = np.asarray(out)
    return out.reshape(lead + out.shape[-2:])


# torch's refusals, each with the rule it states in plain words (torch's message follows).
_TORCH_RULES = (
    ("pad should be at most half", "padding may be at most half the kernel_size"),
    ("output size is too small", "the output size would be below 1: the (dilated) window "
                                 "does not fit in the padded input"),
)


def output_shape(input_shape, kernel_size, stride=None, padding=0, dilation=1,
                 ceil_mode=False) -> tuple[int, int]:
    """Torch's pooled ``(OH, OW)`` for an ``(H, W)`` input, read off ``F.max_pool2d`` run on a
    ``meta`` tensor of that shape.  Raises ValueError (rule, then torch's message) when torch
    refuses the configuration."""
    import torch
    from torch.nn import functional

    h, w = (int(v) for v in input_shape)
    k, s, p, d = _config(kernel_size, stride, padding, dilation)
    try:
        out = functional.max_pool2d(torch.empty(1, 1, h, w, device="meta"), k, s, p, d,
                                    bool(ceil_mode))
    except RuntimeError as err:
        message = str(err)
        rules = [rule for marker, rule in _TORCH_RULES if marker in message.lower()]
        raise ValueError(
            f"torch refuses kernel_size={k}, stride={s}, padding={p}, dilation={d}, "
            f"ceil_mode={bool(ceil_mode)} on a {h}x{w} input: "
            f"{'; '.join(rules) or 'see torch'} (torch says: {message})"
        ) from None
    return int(out.shape[-2]), int(out.shape[-1])


def _config(kernel_size, stride, padding, dilation):
    k = int_tuple("kernel_size", kernel_size, 2)
    s = k if stride is None else int_tuple("stride", stride, 2)
    p = int_tuple("padding", padding, 2)
    d = int_tuple("dilation", dilation, 2)
    return k, s, p, d


# --------------------------------------------------------------------------- presets


def preset_grid(name: str, size: int = 5, seed: int = 0) -> np.ndarray:
    """A small ``(size, size)`` float grid for the window stepper.

    - ``ramp``: 1, 2, 3, ... row by row (each window's max is its bottom-right tap).
    - ``random``: integers in [-9, 9] from ``seed``.
    - ``ties``: only the values 0, 1 and 2 in a repeating pattern, so windows hold equal maxima
      (torch picks the first in row-major order).
    - ``all-negative``: integers in [-9, -1]; zero padding would wrongly win against these.
    """
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    check_output_fits("preset_grid", [((size, size), np.float64)], f"size={size!r}",
                      "Use a small size: the stepper's grids have a few cells per side.")
    rng = np.random.default_rng(seed)
    if name == "ramp":
        return np.arange(1, size * size + 1, dtype=np.float64).reshape(size, size)
    if name == "random":
        return rng.integers(-9, 10, size=(size, size)).astype(np.float64)
    if name == "ties":
        r, c = np.indices((size, size))
        return ((r // 2 + c // 2) % 3).astype(np.float64)
    if name == "all-negative":
        return rng.integers(-9, 0, size=(size, size)).astype(np.float64)
    raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")


def parse_grid(text: str) -> np.ndarray:
    """Parse a typed grid: one row per line, numbers separated by spaces or commas -> ``(H, W)``."""
    rows = []
    for line_no, line in enumerate(text.strip().splitlines(), start=1):
        line = line.replace(",", " ").strip()
        if not line:
            continue
        try:
            rows.append([float(tok) for tok in line.split()])
        except ValueError:
            raise ValueError(
                f"row {line_no} ({line!r}) holds something that is not a number; "
                "type numbers separated by spaces, one row per line"
            ) from None
    if not rows:
        raise ValueError("the grid is empty: type one row of numbers per line")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(
            f"rows have different lengths {sorted(widths)}; every row needs the same count"
        )
    return np.array(rows, dtype=np.float64)


# --------------------------------------------------------------------------- window stepper


@dataclass(frozen=True)
class WindowState:
    """One output position of a 2-D pooling layer and the window that produced it.

    Coordinates are input coordinates: row ``-1`` is the first padding row.
    - ``output: (OH, OW)`` the whole pooled output (from poolkit); ``value = output[position]``.
    - ``rows: (kh,)``, ``cols: (kw,)`` input rows/columns of the window's taps (dilation
      spaces them).
    - ``window: (kh, kw)`` the tap values as the layer sees them: input values, ``-inf`` for
      padding in max pooling, ``0`` for counted padding in average pooling, ``nan`` for taps
      that do not count (excluded padding, or ceil-mode overhang past the padding).
    - ``counted: (kh, kw)`` taps that take part: for max the taps inside the padded input,
      for average the taps that the divisor counts.
    - ``grid: (GH, GW)`` the padded input as the layer sees it, origin ``grid_origin`` (input
      coordinates of ``grid[0, 0]``); ``grid_kind`` 0 = input, 1 = padding, 2 = beyond the
      padding (only ceil-mode windows reach there).
    - ``divisor``: the average's divisor (None for max); ``argmax``: the input (row, col) that
      wins for max (None for average, or when only padding is in the window).
    """

    x: np.ndarray
    mode: str
    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    ceil_mode: bool
    count_include_pad: bool
    output: np.ndarray
    position: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    window: np.ndarray
    counted: np.ndarray
    grid: np.ndarray
    grid_kind: np.ndarray
    grid_origin: tuple[int, int]
    value: float
    divisor: int | None
    argmax: tuple[int, int] | None
    formula: str = field(default="")

    @property
    def out_shape(self) -> tuple[int, int]:
        return tuple(self.output.shape)

    @property
    def n_positions(self) -> int:
        return int(self.output.size)


def _grid_extent(shape, out_shape, k, s, p, d):
    """Input rows ``[r0, r1)`` and columns ``[c0, c1)`` of the stepper's grid: the padded
    input, plus any ceil-mode overhang of the last window."""
    extent = []
    for a in (0, 1):
        last = (out_shape[a] - 1) * s[a] - p[a] + d[a] * (k[a] - 1)
        extent.append((-p[a], max(shape[a] + p[a], last + 1)))
    return tuple(extent)


def _check_window_state_fits(shape, k, s, p, d, ceil_mode):
    """Refuse a stepper whose grid or window could never fit in memory (a huge padding or
    kernel), before pooling; a configuration torch refuses raises :func:`output_shape`'s
    ValueError, which states torch's rule."""
    out_shape = output_shape(shape, k, s, p, d, ceil_mode)
    (r0, r1), (c0, c1) = _grid_extent(shape, out_shape, k, s, p, d)
    grid, window = (r1 - r0, c1 - c0), k
    check_output_fits(
        "window_state",
        [(out_shape, np.float64), ((k[0],), np.int64), ((k[1],), np.int64),
         (window, np.float64), (window, np.bool_), (grid, np.float64), (grid, np.int64)],
        f"kernel_size={k}, padding={p}, dilation={d} on a {shape[0]}x{shape[1]} grid "
        f"(a {grid[0]}x{grid[1]} padded grid to show)",
        "Use a smaller kernel_size and padding: the stepper draws every cell.",
    )


def _fmt(v: float) -> str:
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "-inf" if v < 0 else "inf"
    if float(v).is_integer() and abs(v) < 1e9:
        return str(int(v))
    return f"{v:.4g}"


def window_state(x, position, kernel_size, stride=None, padding=0, dilation=1,
                 ceil_mode=False, mode="max", count_include_pad=True) -> WindowState:
    """The window behind output ``position`` (row, col, or a flat row-major index).

    x: (H, W) input grid.  Arguments follow torch's ``max_pool2d``/``avg_pool2d``; average
    pooling has no dilation.  The value is read from poolkit's pooled output; the window,
    padding and divisor are worked out from the index arithmetic so they can be shown (and
    tested) independently of it.  Raises ValueError for configurations torch refuses, with
    torch's rule in the message.
    """
    x = _grid2d(x)
    _check_mode(mode)
    k, s, p, d = _config(kernel_size, stride, padding, dilation)
    _check_window_state_fits(x.shape, k, s, p, d, bool(ceil_mode))
    output = pool_image(x, k, s, p, d, bool(ceil_mode), mode, bool(count_include_pad))
    oh, ow = output.shape
    if isinstance(position, (int, np.integer)) and not isinstance(position, bool):
        if not 0 <= position < oh * ow:
            raise ValueError(f"position {position} is outside the {oh}x{ow} output "
                             f"(0..{oh * ow - 1})")
        i, j = divmod(int(position), ow)
    else:
        i, j = int_tuple("position", position, 2)
        if not (0 <= i < oh and 0 <= j < ow):
            raise ValueError(f"position {(i, j)} is outside the {oh}x{ow} output")

    h, w = x.shape
    rows = i * s[0] - p[0] + d[0] * np.arange(k[0])
    cols = j * s[1] - p[1] + d[1] * np.arange(k[1])
    (r0, r1), (c0, c1) = _grid_extent(x.shape, (oh, ow), k, s, p, d)
    gr, gc = np.arange(r0, r1), np.arange(c0, c1)
    inside_r, inside_c = (gr >= 0) & (gr < h), (gc >= 0) & (gc < w)
    padded_r, padded_c = gr < h + p[0], gc < w + p[1]
    grid_kind = np.where(np.outer(inside_r, inside_c), 0,
                         np.where(np.outer(padded_r, padded_c), 1, 2))

    if mode == "max":
        pad_fill, pad_counts = -np.inf, True
    else:
        pad_fill, pad_counts = (0.0, True) if count_include_pad else (np.nan, False)
    grid = np.full(grid_kind.shape, np.nan)
    grid[grid_kind == 1] = pad_fill
    grid[np.ix_(inside_r, inside_c)] = x

    kind = grid_kind[np.ix_(rows - r0, cols - c0)]
    window = grid[np.ix_(rows - r0, cols - c0)]
    counted = (kind == 0) | ((kind == 1) & pad_counts)
    value = float(output[i, j])

    divisor = None
    argmax = None
    taps = window[counted]
    if mode == "max":
        real = np.argwhere(kind == 0)
        if len(real):
            # Ties: torch keeps the first maximum in row-major scan order.
            flat = np.where(kind == 0, window, -np.inf).ravel()
            a, b = divmod(int(np.argmax(flat)), k[1])
            argmax = (int(rows[a]), int(cols[b]))
        formula = f"max({', '.join(_fmt(v) for v in taps)}) = {_fmt(value)}"
    else:
        divisor = int(counted.sum())
        total = float(np.sum(taps))
        formula = (f"({' + '.join(_fmt(v) for v in taps)}) / {divisor} = "
                   f"{_fmt(total)} / {divisor} = {_fmt(value)}")
    return WindowState(
        x=x, mode=mode, kernel_size=k, stride=s, padding=p, dilation=d,
        ceil_mode=bool(ceil_mode), count_include_pad=bool(count_include_pad), output=output,
        position=(i, j), rows=rows, cols=cols, window=window, counted=counted, grid=grid,
        grid_kind=grid_kind, grid_origin=(r0, c0), value=value, divisor=divisor,
        argmax=argmax, formula=formula,
    )


# --------------------------------------------------------------------------- framework calls


def _arg(v: tuple[int, int]) -> str:
    return str(v[0]) if v[0] == v[1] else f"({v[0]}, {v[1]})"


def torch_call(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, mode="max",
               count_include_pad=True) -> str:
    """The torch layer for this configuration, e.g. ``nn.MaxPool2d(kernel_size=3, stride=2)``.

    The string is valid Python with ``from torch import nn``; arguments at torch's default
    (padding 0, dilation 1, ceil_mode False, count_include_pad True) are left out.
    """
    _check_mode(mode)
    k, s, p, d = _config(kernel_size, stride, padding, dilation)
    args = [f"kernel_size={_arg(k)}", f"stride={_arg(s)}"]
    if p != (0, 0):
        args.append(f"padding={_arg(p)}")
    if mode == "max" and d != (1, 1):
        args.append(f"dilation={_arg(d)}")
    if mode == "avg" and d != (1, 1):
        raise ValueError("torch's AvgPool2d has no dilation argument; set dilation=1")
    if ceil_mode:
        args.append("ceil_mode=True")
    if mode == "avg" and not count_include_pad:
        args.append("count_include_pad=False")
    layer = "MaxPool2d" if mode == "max" else "AvgPool2d"
    return f"nn.{layer}({', '.join(args)})"


def _keras():
    """Keras, quietly: TensorFlow's start-up chatter is not for the lesson's output (both
    settings are needed, before TensorFlow is first imported; `make lab` sets them too, but
    a kernel started another way would print oneDNN's notice into the lesson)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras

    return keras


def _keras_pool(x, mode, pool_size, strides, padding):
    """Keras' ``MaxPooling{n}D``/``AveragePooling{n}D`` on channels-last ``x`` -> NumPy."""
    keras = _keras()
    kind = {("max", 3): "MaxPooling1D", ("avg", 3): "AveragePooling1D",
            ("max", 4): "MaxPooling2D", ("avg", 4): "AveragePooling2D"}[mode, x.ndim]
    layer = getattr(keras.layers, kind)(pool_size=pool_size, strides=strides, padding=padding)
    return np.asarray(keras.ops.convert_to_numpy(layer(x.astype(np.float32))))


def _keras_same_padding(size, k, s) -> tuple[int, int]:
    """``(before, after)``: the padding Keras' ``padding='same'`` adds along one axis.

    Read off Keras itself with a probe: a 'same' convolution (Keras pads convolution and
    pooling alike) of an all-ones signal with two filters, ones and the tap numbers
    ``0..k-1``, gives per output the number of taps on the input and their sum.  Those taps
    are consecutive, so the first window's first real tap is the number of padding positions
    before the input, and the last window's last real tap tells the padding after it.
    """
    keras = _keras()
    kernel = np.stack([np.ones(k), np.arange(k)], axis=-1)[:, None, :]   # (k, 1, 2)
    out = keras.ops.convert_to_numpy(keras.ops.conv(
        np.ones((1, size, 1), np.float32), kernel.astype(np.float32), strides=s,
        padding="same"))[0]                                              # (O, 2)

    def first_tap(count, tap_sum):
        count = int(round(count))
        return int(round((tap_sum - count * (count - 1) / 2) / count)), count

    before, _ = first_tap(*out[0])
    last_first, last_count = first_tap(*out[-1])
    return before, k - (last_first + last_count)


# --------------------------------------------------------------------------- shape calculator


def _first_line(err: Exception) -> str:
    """A framework's error message without Keras' framing: TensorFlow's own reason (after its
    ``{{function_node ...}}`` call site, without terminal colours) when there is one."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    reason = re.search(r"\{\{function_node [^}]*\}\}\s*([^\n]*?)\s*\[Op:", text)
    if reason:
        return reason.group(1)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


@dataclass(frozen=True)
class ShapeReport:
    """Output sizes of one pooling configuration on an ``(H, W)`` input, torch beside Keras.

    Sizes are ``(OH, OW)`` tuples, or None with the framework's refusal in the matching
    ``*_error`` (torch refuses outputs below 1 and padding over half the kernel; Keras
    'valid' on TensorFlow returns an empty axis when a window just does not fit, and refuses
    when its computed size is negative).
    ``keras_same_padding`` is ``((top, bottom), (left, right))``.  ``*_kept`` is the number of
    outputs per input activation (0.25 for 2x2 with stride 2).  ``notes`` lists what Keras
    cannot express (it takes only pool_size, strides and 'valid'/'same').
    """

    input_size: tuple[int, int]
    torch_size: tuple[int, int] | None
    torch_error: str | None
    torch_kept: float | None
    keras_valid_size: tuple[int, int] | None
    keras_valid_kept: float | None
    keras_valid_error: str | None
    keras_same_size: tuple[int, int] | None
    keras_same_padding: tuple[tuple[int, int], tuple[int, int]] | None
    keras_same_kept: float | None
    keras_same_error: str | None
    notes: tuple[str, ...]


def shape_report(input_size, kernel_size, stride=None, padding=0, dilation=1,
                 ceil_mode=False) -> ShapeReport:
    """Torch's and Keras' output size for ``input_size`` (int for square, or ``(H, W)``).

    Torch uses all arguments; Keras gets ``pool_size=kernel_size, strides=stride`` with
    'valid' and 'same'.  Every size comes from the framework itself: torch's layer runs on a
    ``meta`` tensor, Keras' ``MaxPooling2D`` on a zero image, and the 'same' padding is read
    off Keras (see :func:`_keras_same_padding`).  Refused configurations do not raise: the
    message lands in ``torch_error``/``keras_error`` so a calculator can show it.  Arguments
    of the wrong type still raise TypeError.
    """
    hw = int_tuple("input_size", input_size, 2)
    if min(hw) < 1:
        raise ValueError(f"input_size must be at least 1 in each dimension, got {hw}")
    area = hw[0] * hw[1]
    k, s, p, d = _config(kernel_size, stride, padding, dilation)

    torch_size = torch_error = torch_kept = None
    try:
        torch_size = output_shape(hw, k, s, p, d, ceil_mode)
        torch_kept = torch_size[0] * torch_size[1] / area
    except ValueError as err:
        torch_error = str(err)

    zeros = np.zeros((1, hw[0], hw[1], 1))
    valid = same = pads = valid_kept = same_kept = valid_error = same_error = None
    try:
        valid = tuple(_keras_pool(zeros, "max", k, s, "valid").shape[1:3])
        valid_kept = valid[0] * valid[1] / area
    except Exception as err:  # noqa: BLE001  (Keras and TensorFlow raise many kinds)
        valid_error = _first_line(err)
    try:
        same = tuple(_keras_pool(zeros, "max", k, s, "same").shape[1:3])
        pads = tuple(_keras_same_padding(hw[a], k[a], s[a]) for a in (0, 1))
        same_kept = same[0] * same[1] / area
    except Exception as err:  # noqa: BLE001
        same, pads, same_error = None, None, _first_line(err)

    notes = []
    if valid is not None and 0 in valid:
        notes.append("Keras 'valid' does not refuse a pool larger than the input: it returns "
                     "an empty axis (size 0)")
    if p != (0, 0):
        notes.append(f"Keras has no padding amount: torch's padding={_arg(p)} has no Keras "
                     "argument ('same' chooses its own padding)")
    if d != (1, 1):
        notes.append("Keras pooling has no dilation")
    if ceil_mode:
        notes.append("Keras has no ceil_mode")
    return ShapeReport(hw, torch_size, torch_error, torch_kept, valid, valid_kept, valid_error,
                       same, pads, same_kept, same_error, tuple(notes))


# --------------------------------------------------------------------------- repeated pooling


def max_pyramid_steps(size: int, kernel_size: int = 2, stride: int | None = None) -> int:
    """How many times a ``size``-pixel side can be pooled (no padding) before it is too small
    (torch's sizes, see :func:`output_shape`)."""
    steps = 0
    while True:
        try:
            new_size = output_shape((size, size), kernel_size, stride)[0]
        except ValueError:
            return steps
        if new_size == size:  # a pooling that does not shrink never stops
            raise ValueError(f"kernel_size={kernel_size!r} with stride={stride!r} never shrinks "
                             f"a {size}-pixel side; use a stride of at least 2")
        size = new_size
        steps += 1


def _pyramid_shapes(shape, steps, kernel_size, stride):
    """Shapes of the pyramid's levels after the image, a run of equal levels as one shape
    with a leading count; stops where pooling refuses (the pyramid names that step)."""
    lead, (h, w) = tuple(shape[:-2]), shape[-2:]
    shapes = []
    for step in range(1, steps + 1):
        try:
            oh, ow = output_shape((h, w), kernel_size, stride)
        except (TypeError, ValueError):
            break
        if (oh, ow) == (h, w):  # no padding: a level that does not shrink never will
            shapes.append((steps - step + 1,) + lead + (h, w))
            break
        h, w = oh, ow
        shapes.append(lead + (h, w))
    return shapes


def pooling_pyramid(image, steps: int, kernel_size=2, stride=None, mode="max") -> list[np.ndarray]:
    """``image: (..., H, W)`` pooled ``steps`` times in a row -> ``[image, p1, ..., p_steps]``.

    Each step applies the same pooling (no padding) to the previous result; ``[a.shape for a
    in result]`` is the size at each step.  Too many steps raise ValueError naming the step.
    """
    _check_mode(mode)
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    levels = [np.asarray(image, dtype=np.float64)]
    if levels[0].ndim >= 2:
        check_output_fits(
            "pooling_pyramid", [(levels[0].shape, np.float64)]
            + [(shape, np.float64) for shape in _pyramid_shapes(levels[0].shape, steps,
                                                               kernel_size, stride)],
            f"steps={steps!r} with kernel_size={kernel_size!r}, stride={stride!r}",
            "Use fewer steps: max_pyramid_steps(size, kernel_size, stride) says how often "
            "the image can shrink (kernel_size=1 with stride 1 never shrinks it).",
        )
    for step in range(1, steps + 1):
        try:
            levels.append(pool_image(levels[-1], kernel_size, stride, mode=mode))
        except ValueError as err:
            h, w = levels[-1].shape[-2:]
            raise ValueError(f"step {step} cannot pool a {h}x{w} image any further: {err}"
                             ) from None
    return levels


# --------------------------------------------------------------------------- shift invariance


def blur(image, passes: int = 1) -> np.ndarray:
    """Binomial low-pass filter ``[1, 2, 1] / 4`` along both of the last two axes.

    image: (..., H, W) -> same shape.  Borders wrap around (circular), so blurring commutes
    with the circular shifts used by ``shift_invariance``.  ``passes`` repeats the filter.
    torch does the filtering (a fixed 3x3 convolution): lesson 02's MaxBlurPool exercise
    asks for this step in NumPy.
    """
    import torch
    from torch.nn import functional as F

    x = np.asarray(image, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"image must be (..., H, W), got shape {x.shape}")
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    t = torch.from_numpy(x.reshape(-1, 1, h, w).copy())
    taps = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)
    kernel = (taps[:, None] * taps[None, :] / 16).view(1, 1, 3, 3)
    for _ in range(int(passes)):
        t = F.conv2d(F.pad(t, (1, 1, 1, 1), mode="circular"), kernel)
    return t.numpy().reshape(*lead, h, w)


@dataclass(frozen=True)
class ShiftResult:
    """How pooling responds to shifting its input (see ``shift_invariance``).

    ``shifts: (S,)`` pixels; ``outputs[i]`` is the pooled output for ``shifts[i]``, and
    ``outputs[0]`` is the unshifted reference when shifts start at 0.  ``change: (S,)`` is
    ``||pool(shift(x)) - pool(x)|| / ||pool(x)||``; ``unchanged: (S,)`` is the fraction of
    output entries that did not move (within 1e-9).
    """

    shifts: np.ndarray
    inputs: list
    outputs: list
    reference: np.ndarray
    change: np.ndarray
    unchanged: np.ndarray


def shift_invariance(image, shifts=None, kernel_size=2, stride=None, mode="max",
                     blur_first=False, direction=(0, 1), blur_passes=1) -> ShiftResult:
    """Shift ``image: (..., H, W)`` circularly and measure how much the pooled output changes.

    ``shifts`` defaults to ``0 .. stride-1`` pixels (shifts by a whole stride only move the
    output by one cell); ``direction`` is ``(dy, dx)`` per pixel of shift, ``(0, 1)`` = right.
    ``blur_first`` applies ``blur`` before pooling (anti-aliasing), to both the reference and
    the shifted input.  Every output is compared with the pooled unshifted image.
    """
    from poolkit.data import shift_image

    _check_mode(mode)
    k = int_tuple("kernel_size", kernel_size, 2)
    s = k if stride is None else int_tuple("stride", stride, 2)
    dy, dx = int_tuple("direction", direction, 2)
    if shifts is None:
        shifts = range(max(s))
        given = f"shifts=None, which means range(max(stride)) with stride={s}"
    else:
        shifts = shifts if isinstance(shifts, range) else list(shifts)
        given = f"shifts={shifts!r}" if isinstance(shifts, range) else "the shifts given"
    image = np.asarray(image, dtype=np.float64)
    n = len(shifts)
    pooled_shape = image.shape[:-2] + output_shape(image.shape[-2:], k, s)
    check_output_fits(
        "shift_invariance",
        [((n,) + image.shape, np.float64), ((n,) + pooled_shape, np.float64),
         ((n,), np.int64), ((n,), np.float64), ((n,), np.float64)],
        f"{n} shifts ({given}) of an image of shape {image.shape}",
        "Pass fewer shifts, e.g. shifts=range(4): every shift keeps a shifted and a pooled "
        "copy of the image.",
    )
    prepared = blur(image, blur_passes) if blur_first else image
    reference = pool_image(prepared, k, s, mode=mode)
    shifts = np.asarray(shifts, dtype=int)
    norm = float(np.linalg.norm(reference)) or 1.0
    inputs, outputs, change, unchanged = [], [], [], []
    for shift in shifts:
        moved = shift_image(prepared, int(shift) * dy, int(shift) * dx, mode="circular")
        pooled = pool_image(moved, k, s, mode=mode)
        inputs.append(moved)
        outputs.append(pooled)
        change.append(float(np.linalg.norm(pooled - reference)) / norm)
        unchanged.append(float(np.mean(np.abs(pooled - reference) <= 1e-9)))
    return ShiftResult(shifts, inputs, outputs, reference, np.array(change), np.array(unchanged))
