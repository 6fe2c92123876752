"""Interactive pooling explorers for notebooks (ipywidgets 8 + matplotlib).

Each explorer is one line in a notebook::

    from poolkit import widgets
    widgets.window_stepper()      # step through the windows of a small pooling layer
    widgets.shape_calculator()    # torch and Keras output sizes, padding and refusals
    widgets.max_vs_average()      # an image pooled again and again, max beside average
    widgets.shift_explorer()      # shift the input, see what the pooled output keeps

The widgets are thin: every number they show comes from a function in ``poolkit.explore``;
the code here only wires controls to those functions and draws the result into a single
``Output`` area, which is replaced as a whole on every change.  Refused settings (a kernel
larger than the input, padding over half the kernel) are shown as a message in that area and
the widget keeps working.  ipywidgets and matplotlib are imported when a widget is built,
never by ``import poolkit``.
"""

from __future__ import annotations

import base64
import html
import io
from contextlib import contextmanager

import numpy as np

from . import explore

__all__ = ["Explorer", "window_stepper", "shape_calculator", "max_vs_average", "shift_explorer"]

IMAGES = ("scene", "checkerboard", "stripes", "disk", "ramp")

_CSS = """<style>
.pk-box{font-family:var(--jp-content-font-family,sans-serif);font-size:13px;line-height:1.45}
.pk-error{background:#fdecea;color:#8a1c12;border-left:4px solid #d93025;padding:6px 10px;
  margin:4px 0;white-space:pre-wrap}
.pk-grid{border-collapse:collapse;margin:2px 12px 2px 0}
.pk-box table.pk-grid td{width:34px;height:28px;text-align:center;border:1px solid #bbb;
  font-size:12px;
  font-family:var(--jp-code-font-family,monospace)}
.pk-box table.pk-grid td.pad{background:#e8e8e8;color:#777}
.pk-box table.pk-grid td.out{background:#fafafa;color:#bbb;border-style:dashed}
.pk-box table.pk-grid td.tap{background:#ffe9a8}
.pk-box table.pk-grid td.tap.pad{background:#f0d98c;color:#555}
.pk-box table.pk-grid td.skip{background:#fff8e1;color:#b09a50;outline:2px dashed #e0a800;
  outline-offset:-3px}
.pk-box table.pk-grid td.win{font-weight:bold;outline:2px solid #d93025;outline-offset:-3px}
.pk-box table.pk-grid td.cur{background:#ffd24d;font-weight:bold}
.pk-row{display:flex;flex-wrap:wrap;align-items:flex-start;gap:10px}
.pk-cap{font-size:12px;color:#444;text-align:center}
.pk-code{font-family:var(--jp-code-font-family,monospace);background:#f5f5f5;padding:1px 4px}
.pk-box table.pk-table td,.pk-box table.pk-table th{padding:2px 10px;text-align:left !important;
  border-bottom:1px solid #ddd}
.pk-img{image-rendering:pixelated;border:1px solid #999}
</style>"""


# --------------------------------------------------------------------------- wiring


class Explorer:
    """Controls plus one ``Output`` area, redrawn by ``render(values) -> html`` on every change.

    ``controls`` maps names to ipywidgets controls; ``output`` is the Output area; ``ui`` the
    whole box (what a notebook displays).  ``last`` holds the most recent result object from
    ``poolkit.explore`` (None after an error) and ``error`` the message shown, if any.
    Displaying the Explorer displays ``ui``.
    """

    def __init__(self, controls: dict, layout, render, adjust=None):
        import ipywidgets as w

        self.controls = controls
        self.output = w.Output()
        self.ui = w.VBox([layout, self.output])
        self.last = None
        self.error = None
        self.cache = {}  # per-explorer state a renderer may keep (e.g. a reusable figure)
        self._render = render
        self._adjust = adjust
        self._holding = False
        for name, control in controls.items():
            if hasattr(control, "value"):
                control.observe(lambda change, name=name: self._changed(name), names="value")
        self._changed(None)

    def values(self) -> dict:
        return {name: c.value for name, c in self.controls.items() if hasattr(c, "value")}

    @contextmanager
    def hold(self):
        """Change several controls without a redraw for each; redraw once afterwards."""
        outer = self._holding
        self._holding = True
        try:
            yield
        finally:
            self._holding = outer
        if not outer:
            self._changed(None)

    def _changed(self, name):
        if self._holding:
            return
        if self._adjust is not None:
            self._holding = True
            try:
                self._adjust(self, name)
            except (ValueError, TypeError):
                pass  # a refused setting: refresh() below shows the message
            finally:
                self._holding = False
        self.refresh()

    def refresh(self):
        """Recompute and redraw: one assignment of the Output area's contents."""
        try:
            self.last, body = self._render(self, self.values())
            self.error = None
        except (ValueError, TypeError) as err:
            self.last, self.error = None, str(err)
            body = _error_html(self.error)
        except Exception as err:  # a widget must survive anything; say what happened
            self.last, self.error = None, f"unexpected {type(err).__name__}: {err}"
            body = _error_html(self.error + " (please report this)")
        text = self.error if self.error is not None else _strip_tags(body)
        self.output.outputs = ({
            "output_type": "display_data",
            "data": {"text/html": _CSS + f'<div class="pk-box">{body}</div>', "text/plain": text},
            "metadata": {},
        },)

    @property
    def html(self) -> str:
        """The HTML currently shown in the Output area (for tests and debugging)."""
        return self.output.outputs[0]["data"]["text/html"] if self.output.outputs else ""

    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)


def _error_html(message: str) -> str:
    return f'<div class="pk-error">&#9888; {html.escape(message)}</div>'


def _strip_tags(text: str) -> str:
    import re

    return html.unescape(re.sub(r"<[^>]+>", " ", text)).strip()


def _code(text: str) -> str:
    return f'<span class="pk-code">{html.escape(text)}</span>'


def _png_tag(array, title: str, vmin=0.0, vmax=1.0, cmap="gray", scale_to=128) -> str:
    """``array: (H, W)`` as an inline PNG (matplotlib colour map), drawn pixelated, ~scale_to px."""
    from matplotlib.image import imsave

    array = np.asarray(array, dtype=np.float64)
    buf = io.BytesIO()
    imsave(buf, array, vmin=vmin, vmax=vmax, cmap=cmap, format="png")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    h, w = array.shape
    # Every image is drawn at the same size, so coarser levels show bigger pixels.
    zoom = scale_to / max(h, w)
    return (f'<div><img class="pk-img" src="data:image/png;base64,{data}" '
            f'width="{round(w * zoom)}" height="{round(h * zoom)}" alt="{html.escape(title)}">'
            f'<div class="pk-cap">{html.escape(title)}</div></div>')


def _image(name: str, size: int) -> np.ndarray:
    from . import data

    makers = {"scene": data.sample_image, "checkerboard": data.checkerboard,
              "stripes": data.stripes, "disk": data.disk, "ramp": data.ramp}
    if name not in makers:
        raise ValueError(f"unknown image {name!r}; choose one of {', '.join(makers)}")
    return np.asarray(makers[name](size), dtype=np.float64)


def _slider(description, value, lo, hi, **kw):
    import ipywidgets as w

    return w.IntSlider(value=value, min=lo, max=hi, description=description,
                       continuous_update=False, style={"description_width": "110px"}, **kw)


# --------------------------------------------------------------------------- window stepper


def _grid_text(x: np.ndarray) -> str:
    return "\n".join(" ".join(explore._fmt(v) for v in row) for row in x)


def _stepper_grid_html(st: explore.WindowState) -> str:
    r0, c0 = st.grid_origin
    taps = {(int(r), int(c)): bool(st.counted[a, b])
            for a, r in enumerate(st.rows) for b, c in enumerate(st.cols)}
    cells = []
    for gi in range(st.grid.shape[0]):
        row = []
        for gj in range(st.grid.shape[1]):
            r, c = gi + r0, gj + c0
            kind = st.grid_kind[gi, gj]
            cls = ["", "pad", "out"][kind]
            text = explore._fmt(st.grid[gi, gj]) if kind != 2 else ""
            if kind == 1 and np.isnan(st.grid[gi, gj]):
                text = "&middot;"  # padding that average pooling leaves out
            if (r, c) in taps:
                cls += " tap" if taps[(r, c)] else " skip"
            if st.argmax == (r, c):
                cls += " win"
            row.append(f'<td class="{cls.strip()}">{text}</td>')
        cells.append("<tr>" + "".join(row) + "</tr>")
    return f'<table class="pk-grid">{"".join(cells)}</table>'


def _stepper_output_html(st: explore.WindowState) -> str:
    rows = []
    for i in range(st.output.shape[0]):
        row = "".join(
            f'<td class="{"cur" if (i, j) == st.position else ""}">'
            f"{explore._fmt(st.output[i, j])}</td>"
            for j in range(st.output.shape[1])
        )
        rows.append(f"<tr>{row}</tr>")
    return f'<table class="pk-grid">{"".join(rows)}</table>'


def _stepper_input(v: dict) -> np.ndarray:
    if v["preset"] == "custom":
        return explore.parse_grid(v["grid"])
    return explore.preset_grid(v["preset"], v["size"], v["seed"])


def _stepper_config(v: dict) -> dict:
    avg = v["mode"] == "avg"
    return dict(kernel_size=v["kernel"], stride=v["stride"], padding=v["padding"],
                dilation=1 if avg else v["dilation"], ceil_mode=v["ceil_mode"], mode=v["mode"],
                count_include_pad=v["count_include_pad"])


def _stepper_adjust(app: Explorer, changed):
    c = app.controls
    if changed == "grid":
        c["preset"].value = "custom"
    elif changed in (None, "preset", "size", "seed") and c["preset"].value != "custom":
        c["grid"].value = _grid_text(_stepper_input(app.values()))
    c["dilation"].disabled = c["mode"].value == "avg"
    c["count_include_pad"].disabled = c["mode"].value == "max"
    c["size"].disabled = c["preset"].value == "custom"
    c["seed"].disabled = c["preset"].value not in ("random", "all-negative")
    try:
        shape = explore.output_shape(_stepper_input(app.values()).shape,
                                     **{k: v for k, v in _stepper_config(app.values()).items()
                                        if k in ("kernel_size", "stride", "padding", "dilation",
                                                 "ceil_mode")})
    except (ValueError, TypeError):
        return  # refresh shows the message
    c["position"].max = shape[0] * shape[1] - 1


def _stepper_render(app: Explorer, v: dict):
    x = _stepper_input(v)
    cfg = _stepper_config(v)
    st = explore.window_state(x, v["position"], **cfg)
    oh, ow = st.out_shape
    i, j = st.position
    if st.mode == "max":
        pad_note = "padding counts as -inf, so it never wins"
    elif st.count_include_pad:
        pad_note = "padding counts as 0 and is counted in the divisor"
    else:
        pad_note = "padding (&middot;) is left out of the sum and of the divisor"
    body = (
        f'<div class="pk-row"><div>{_stepper_grid_html(st)}'
        f'<div class="pk-cap">input {x.shape[0]}x{x.shape[1]} (grey: padding; yellow: window; '
        f'dashed: not counted)'
        f'</div></div><div>{_stepper_output_html(st)}'
        f'<div class="pk-cap">output {oh}x{ow}, position ({i}, {j})</div></div></div>'
        f"<div><b>out[{i}, {j}]</b> = {html.escape(st.formula)}</div>"
        f"<div>window rows {list(map(int, st.rows))}, columns {list(map(int, st.cols))}; "
        f"{pad_note}"
        + (f"; divisor {st.divisor}" if st.divisor is not None else "")
        + (f"; winner at input {st.argmax}" if st.argmax is not None else "")
        + "</div>"
        f"<div>torch: {_code(explore.torch_call(**cfg))}</div>"
    )
    return st, body


def window_stepper(preset: str = "ramp", size: int = 5, kernel_size: int = 3, stride: int = 2,
                   padding: int = 1, mode: str = "max") -> Explorer:
    """Step through the output positions of a 2-D pooling layer on a small grid.

    Shows the padded input (padding as -inf for max, 0 or left out for average), the window
    of the chosen output position, how its value comes about (max or sum/divisor), and the
    matching torch layer.  (It names no Keras layer: lesson 05's Exercise 2 asks which one
    matches.)  Edit the grid in the text box to try your own numbers.
    """
    import ipywidgets as w

    controls = {
        "preset": w.Dropdown(options=list(explore.PRESETS) + ["custom"], value=preset,
                             description="input"),
        "size": _slider("size", size, 2, 8),
        "seed": w.BoundedIntText(value=0, min=0, max=9999, description="seed",
                                 layout=w.Layout(width="140px")),
        "grid": w.Textarea(value="", description="grid", continuous_update=False,
                           layout=w.Layout(width="260px", height="130px")),
        "mode": w.ToggleButtons(options=list(explore.MODES), value=mode, description="pooling",
                                style={"button_width": "60px"}),
        "kernel": _slider("kernel", kernel_size, 1, 5),
        "stride": _slider("stride", stride, 1, 4),
        "padding": _slider("padding", padding, 0, 3),
        "dilation": _slider("dilation", 1, 1, 3),
        "ceil_mode": w.Checkbox(value=False, description="ceil_mode", indent=False),
        "count_include_pad": w.Checkbox(value=True, description="count_include_pad",
                                        indent=False),
        "position": _slider("output position", 0, 0, 0),
    }
    prev_btn = w.Button(description="\u25c0 previous", layout=w.Layout(width="110px"))
    next_btn = w.Button(description="next \u25b6", layout=w.Layout(width="110px"))
    layout = w.HBox([
        w.VBox([controls["preset"], controls["size"], controls["seed"], controls["grid"]]),
        w.VBox([controls["mode"], controls["kernel"], controls["stride"], controls["padding"],
                controls["dilation"], w.HBox([controls["ceil_mode"],
                                              controls["count_include_pad"]]),
                controls["position"], w.HBox([prev_btn, next_btn])]),
    ])
    app = Explorer(controls, layout, _stepper_render, _stepper_adjust)
    pos = controls["position"]

    def step(delta):
        pos.value = (pos.value + delta) % (pos.max + 1)

    prev_btn.on_click(lambda _: step(-1))
    next_btn.on_click(lambda _: step(+1))
    app.controls["previous"] = prev_btn
    app.controls["next"] = next_btn
    return app


# --------------------------------------------------------------------------- shape calculator


def _size(t) -> str:
    return "x".join(str(v) for v in t)


def _kept(f) -> str:
    return "" if f is None else f"{100 * f:.1f}% of the activations ({100 * (1 - f):.1f}% dropped)"


def _shape_render(app: Explorer, v: dict):
    rep = explore.shape_report((v["height"], v["width"]), v["kernel"], v["stride"],
                               v["padding"], v["dilation"], v["ceil_mode"])
    rows = []
    if rep.torch_error:
        message = _error_html("torch refuses: " + rep.torch_error)
        rows.append(f"<tr><th>torch</th><td colspan=3>{message}</td></tr>")
    else:
        rows.append(f"<tr><th>torch</th><td><b>{_size(rep.torch_size)}</b></td>"
                    f"<td>{_kept(rep.torch_kept)}</td><td>padding {v['padding']} on every side"
                    "</td></tr>")
    if rep.keras_valid_error:
        message = _error_html("Keras refuses: " + rep.keras_valid_error)
        rows.append(f"<tr><th>Keras 'valid'</th><td colspan=3>{message}</td></tr>")
    else:
        rows.append(f"<tr><th>Keras 'valid'</th><td><b>{_size(rep.keras_valid_size)}</b></td>"
                    f"<td>{_kept(rep.keras_valid_kept)}</td><td>no padding</td></tr>")
    if rep.keras_same_error:
        message = _error_html("Keras refuses: " + rep.keras_same_error)
        rows.append(f"<tr><th>Keras 'same'</th><td colspan=3>{message}</td></tr>")
    else:
        (top, bottom), (left, right) = rep.keras_same_padding
        rows.append(f"<tr><th>Keras 'same'</th><td><b>{_size(rep.keras_same_size)}</b></td>"
                    f"<td>{_kept(rep.keras_same_kept)}</td><td>pads top {top}, bottom {bottom}, "
                    f"left {left}, right {right}</td></tr>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in rep.notes)
    call = explore.torch_call(v["kernel"], v["stride"], v["padding"], v["dilation"],
                              v["ceil_mode"])
    body = (f"<div>input {v['height']}x{v['width']}, {_code(call)}; Keras: "
            + _code(f"pool_size={v['kernel']}, strides={v['stride']}") + "</div>"
            f'<table class="pk-table">{"".join(rows)}</table>'
            + (f"<ul>{notes}</ul>" if notes else ""))
    return rep, body


def shape_calculator(height: int = 24, width: int = 24, kernel_size: int = 2,
                     stride: int = 2, padding: int = 0) -> Explorer:
    """Output size of a pooling layer in torch and Keras ('valid' and 'same').

    Shows the padding Keras adds on each side for 'same', the fraction of activations kept,
    and the frameworks' own message for configurations they refuse.
    """
    import ipywidgets as w

    def box(description, value, lo, hi):
        return w.BoundedIntText(value=value, min=lo, max=hi, description=description,
                                layout=w.Layout(width="170px"))

    controls = {
        "height": box("height", height, 1, 4096),
        "width": box("width", width, 1, 4096),
        "kernel": _slider("kernel_size", kernel_size, 1, 9),
        "stride": _slider("stride", stride, 1, 8),
        "padding": _slider("padding", padding, 0, 5),
        "dilation": _slider("dilation", 1, 1, 4),
        "ceil_mode": w.Checkbox(value=False, description="ceil_mode", indent=False),
    }
    layout = w.HBox([
        w.VBox([controls["height"], controls["width"], controls["ceil_mode"]]),
        w.VBox([controls["kernel"], controls["stride"], controls["padding"],
                controls["dilation"]]),
    ])
    return Explorer(controls, layout, _shape_render)


# --------------------------------------------------------------------------- max vs average


def _pyramid_adjust(app: Explorer, changed):
    c = app.controls
    most = explore.max_pyramid_steps(c["size"].value, c["kernel"].value)
    c["steps"].max = max(most, 1)


def _pyramid_render(app: Explorer, v: dict):
    image = _image(v["image"], v["size"])
    levels = {mode: explore.pooling_pyramid(image, v["steps"], v["kernel"], mode=mode)
              for mode in explore.MODES}
    sizes = [lvl.shape for lvl in levels["max"]]
    rows = []
    for mode, label in (("max", "max pooling"), ("avg", "average pooling")):
        tiles = "".join(
            _png_tag(lvl, f"{'input' if n == 0 else f'step {n}'}: {_size(lvl.shape)}",
                     scale_to=96)
            for n, lvl in enumerate(levels[mode]))
        rows.append(f"<div><b>{label}</b></div><div class='pk-row'>{tiles}</div>")
    means = ", ".join(f"{lvl.mean():.3f}" for lvl in levels["max"])
    means_avg = ", ".join(f"{lvl.mean():.3f}" for lvl in levels["avg"])
    body = ("".join(rows)
            + f"<div>sizes per step: {' &rarr; '.join(_size(s) for s in sizes)}</div>"
            + f"<div>mean brightness, max: {means}; average: {means_avg}</div>")
    return levels, body


def max_vs_average(image: str = "scene", size: int = 64, kernel_size: int = 2,
                   steps: int = 3) -> Explorer:
    """An image pooled ``steps`` times in a row, max pooling above average pooling.

    Images are procedural (``poolkit.data``): max pooling keeps thin bright lines and edges,
    average pooling smooths them away; the caption gives the size after every step.
    """
    import ipywidgets as w

    controls = {
        "image": w.Dropdown(options=list(IMAGES), value=image, description="image"),
        "size": w.Dropdown(options=[16, 32, 64, 128], value=size, description="size"),
        "kernel": _slider("kernel (= stride)", kernel_size, 2, 4),
        "steps": _slider("steps", steps, 0, 6),
    }
    layout = w.HBox([w.VBox([controls["image"], controls["size"]]),
                     w.VBox([controls["kernel"], controls["steps"]])])
    return Explorer(controls, layout, _pyramid_render, _pyramid_adjust)


# --------------------------------------------------------------------------- shift explorer

_DIRECTIONS = {"right": (0, 1), "down": (1, 0), "diagonal": (1, 1)}


def _shift_adjust(app: Explorer, changed):
    c = app.controls
    c["shift"].max = max(c["kernel"].value - 1, 1)


class _ShiftChart:
    """Relative change against shift, one line per curve, drawn as an inline PNG.

    Built once per explorer.  Axes, ticks and legend are drawn only when the axis ranges
    change and kept as a background; a new shift or curve redraws just the lines and the
    marker on top of it (blitting), which keeps an update well inside the 50 ms budget.
    """

    def __init__(self, labels):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = Figure(figsize=(3.4, 2.2), dpi=80)
        self.canvas = FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_axes((0.2, 0.22, 0.75, 0.68))
        self.lines = {label: self.ax.plot([], [], marker="o", label=label, animated=True)[0]
                      for label in labels}
        self.marker = self.ax.axvline(0, color="0.6", lw=1, ls="--", animated=True)
        self.ax.set_xlabel("shift (pixels)")
        self.ax.set_ylabel("relative change")
        self.ax.legend(fontsize=8, frameon=False, loc="lower right")
        self._layout = None
        self._background = None

    def html(self, curves: dict, current: int) -> str:
        from matplotlib.image import imsave

        shifts = [int(v) for v in next(iter(curves.values()))[0]]
        top = max(float(np.max(change)) for _, change in curves.values())
        layout = (tuple(shifts), round(top, 9))
        if layout != self._layout:  # new axis ranges: redraw the static background
            self.ax.set_xticks(shifts)
            self.ax.set_xlim(min(shifts) - 0.3, max(shifts) + 0.3)
            self.ax.set_ylim(0, 1.15 * top if top > 0 else 1.0)
            self.canvas.draw()  # animated artists are left out of this
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
            self._layout = layout
        self.canvas.restore_region(self._background)
        for label, (xs, change) in curves.items():
            self.lines[label].set_data(xs, change)
            self.ax.draw_artist(self.lines[label])
        self.marker.set_xdata([current, current])
        self.ax.draw_artist(self.marker)
        buf = io.BytesIO()
        imsave(buf, np.asarray(self.canvas.buffer_rgba()), format="png")
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        return f'<img src="data:image/png;base64,{data}" alt="change against shift">'


def _numbers(values) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def _shift_render(app: Explorer, v: dict):
    image = _image(v["image"], v["size"])
    common = dict(kernel_size=v["kernel"], mode=v["mode"], direction=_DIRECTIONS[v["direction"]])
    results = {blur: explore.shift_invariance(image, blur_first=blur, **common)
               for blur in (False, True)}
    res = results[v["blur"]]
    n = v["shift"]
    if n >= len(res.shifts):
        raise ValueError(f"shift {n} is outside 0..{len(res.shifts) - 1} for kernel {v['kernel']}")
    diff = np.abs(res.outputs[n] - res.reference)
    label = "blurred, then " if v["blur"] else ""
    tiles = (_png_tag(res.inputs[n], f"input shifted by {n}")
             + _png_tag(res.reference, f"{label}{v['mode']} pooled, no shift")
             + _png_tag(res.outputs[n], f"{label}{v['mode']} pooled, shift {n}")
             + _png_tag(diff, f"|difference| (max {diff.max():.2f})", vmin=0,
                        vmax=max(float(diff.max()), 1e-12), cmap="magma"))
    if "chart" not in app.cache:
        app.cache["chart"] = _ShiftChart(("no blur", "blur first"))
    chart = app.cache["chart"].html(
        {"no blur": (results[False].shifts, results[False].change),
         "blur first": (results[True].shifts, results[True].change)}, n)
    body = (f"<div class='pk-row'>{tiles}</div>"
            f"<div class='pk-row'>{chart}<div>"
            f"<div>shift {n}: relative change <b>{res.change[n]:.3f}</b>, "
            f"{100 * res.unchanged[n]:.1f}% of the outputs unchanged</div>"
            f"<div>no blur, change per shift: {_numbers(results[False].change)}</div>"
            f"<div>blur first, change per shift: {_numbers(results[True].change)}</div>"
            "</div></div>")
    return res, body


def shift_explorer(image: str = "scene", size: int = 32, kernel_size: int = 4,
                   mode: str = "max") -> Explorer:
    """Shift the input by 0..kernel-1 pixels and compare the pooled output with the unshifted one.

    Pooling with stride ``s`` is only invariant to some shifts smaller than ``s``; blurring
    before pooling (anti-aliasing) makes the change smaller and smoother.  The chart shows
    the relative change for every shift, with and without the blur.
    """
    import ipywidgets as w

    controls = {
        "image": w.Dropdown(options=list(IMAGES), value=image, description="image"),
        "size": w.Dropdown(options=[16, 32, 64], value=size, description="size"),
        "direction": w.Dropdown(options=list(_DIRECTIONS), value="right",
                                description="direction"),
        "mode": w.ToggleButtons(options=list(explore.MODES), value=mode, description="pooling",
                                style={"button_width": "60px"}),
        "kernel": _slider("kernel (= stride)", kernel_size, 2, 6),
        "shift": _slider("shift", 1, 0, kernel_size - 1),
        "blur": w.Checkbox(value=False, description="blur before pooling", indent=False),
    }
    layout = w.HBox([w.VBox([controls["image"], controls["size"], controls["direction"]]),
                     w.VBox([controls["mode"], controls["kernel"], controls["shift"],
                             controls["blur"]])])
    return Explorer(controls, layout, _shift_render, _shift_adjust)
