"""poolkit.widgets driven headless: set controls, read the Output area, break and recover."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from poolkit import explore

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

from poolkit import widgets  # noqa: E402


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _assert_one_clean_output(app):
    """One display in the Output area, no traceback anywhere in it."""
    assert len(app.output.outputs) == 1
    out = app.output.outputs[0]
    assert out["output_type"] == "display_data"
    assert "Traceback" not in app.html and "Traceback" not in out["data"]["text/plain"]


def _assert_error_shown(app, *words):
    assert app.last is None and app.error
    assert "pk-error" in app.html
    for word in words:
        assert word in app.error
    _assert_one_clean_output(app)


def test_import_stays_light():
    code = ("import sys, poolkit, poolkit.widgets, poolkit.explore; "
            "heavy = [m for m in ('ipywidgets', 'matplotlib', 'torch', 'tensorflow') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- window stepper


def test_stepper_shows_what_explore_computes():
    app = widgets.window_stepper()
    c = app.controls
    expected = explore.window_state(explore.preset_grid("ramp", 5), 0, 3, 2, 1)
    assert app.last.value == expected.value and app.last.position == (0, 0)
    np.testing.assert_array_equal(app.last.output, expected.output)
    assert c["position"].max == expected.n_positions - 1
    assert "nn.MaxPool2d(kernel_size=3, stride=2, padding=1)" in app.html
    # No Keras layer is named: which one matches a torch layer is lesson 05's Exercise 2
    assert "Pooling2D" not in app.html
    assert expected.formula in app.html
    _assert_one_clean_output(app)


def test_stepper_steps_through_positions_and_wraps():
    app = widgets.window_stepper()
    c = app.controls
    seen = [app.last.position]
    shown = {app.html}
    for _ in range(c["position"].max):
        c["next"].click()
        seen.append(app.last.position)
        shown.add(app.html)
    assert seen == [(i, j) for i in range(3) for j in range(3)]
    assert len(shown) == 9  # every position draws something different
    c["next"].click()
    assert app.last.position == (0, 0)
    c["previous"].click()
    assert app.last.position == (2, 2)
    x = explore.preset_grid("ramp", 5)
    assert app.last.value == explore.window_state(x, (2, 2), 3, 2, 1).value


def test_stepper_average_and_count_include_pad():
    app = widgets.window_stepper()
    c = app.controls
    c["mode"].value = "avg"
    assert c["dilation"].disabled and not c["count_include_pad"].disabled
    assert app.last.divisor == 9 and app.last.value == pytest.approx(16 / 9)  # 1+2+6+7 = 16
    assert "nn.AvgPool2d(kernel_size=3, stride=2, padding=1)" in app.html
    c["count_include_pad"].value = False
    assert app.last.divisor == 4 and app.last.value == pytest.approx(4.0)
    assert "count_include_pad=False" in app.html
    c["mode"].value = "max"
    assert c["count_include_pad"].disabled and not c["dilation"].disabled
    c["dilation"].value = 2
    assert app.last.dilation == (2, 2)


def test_stepper_position_range_follows_the_configuration():
    app = widgets.window_stepper()
    c = app.controls
    c["position"].value = 8
    with app.hold():
        c["kernel"].value, c["stride"].value, c["padding"].value = 1, 1, 0
    assert c["position"].max == 24 and app.last.out_shape == (5, 5)
    c["position"].value = 24
    c["stride"].value = 4  # 2x2 output: the slider must clamp back into range
    assert c["position"].max == 3 and app.last.position == (1, 1)
    _assert_one_clean_output(app)


def test_stepper_bad_values_show_a_message_and_recover():
    app = widgets.window_stepper()
    c = app.controls
    c["padding"].value = 3  # over half of kernel 3
    _assert_error_shown(app, "padding")
    c["padding"].value = 1
    assert app.error is None and app.last.value == 7
    with app.hold():
        c["size"].value, c["kernel"].value, c["padding"].value = 2, 5, 0  # kernel > input
    _assert_error_shown(app, "output size")
    c["kernel"].value = 2
    assert app.error is None and app.last.out_shape == (1, 1)
    _assert_one_clean_output(app)


def test_stepper_presets_and_editable_grid():
    app = widgets.window_stepper()
    c = app.controls
    for name in explore.PRESETS:
        c["preset"].value = name
        np.testing.assert_array_equal(app.last.x, explore.preset_grid(name, 5, 0))
        np.testing.assert_array_equal(explore.parse_grid(c["grid"].value), app.last.x)
    c["preset"].value = "all-negative"
    assert app.last.value < 0 and "-inf" in app.html
    c["seed"].value = 7
    np.testing.assert_array_equal(app.last.x, explore.preset_grid("all-negative", 5, 7))
    c["grid"].value = "1 2 3\n4 50 6\n7 8 9"
    assert c["preset"].value == "custom" and c["size"].disabled
    assert app.last.x.shape == (3, 3) and app.last.value == 50
    c["grid"].value = "1 2 3\n4 oops 6"
    _assert_error_shown(app, "not a number")
    c["grid"].value = "1 2\n3 4"
    assert app.error is None and app.last.value == 4


# --------------------------------------------------------------------------- shape calculator


def test_shape_calculator_numbers_and_refusals():
    app = widgets.shape_calculator()
    c = app.controls
    assert app.last == explore.shape_report(24, 2, 2)
    assert "<b>12x12</b>" in app.html and "25.0% of the activations" in app.html
    with app.hold():
        c["height"].value, c["width"].value, c["kernel"].value = 5, 6, 3
        c["stride"].value, c["padding"].value = 2, 1
    rep = explore.shape_report((5, 6), 3, 2, 1)
    assert app.last == rep
    assert f"<b>{rep.torch_size[0]}x{rep.torch_size[1]}</b>" in app.html
    (top, bottom), (left, right) = rep.keras_same_padding
    assert f"pads top {top}, bottom {bottom}, left {left}, right {right}" in app.html
    assert "no padding amount" in app.html

    c["padding"].value = 2  # over half of kernel 3: torch refuses, Keras still answers
    assert app.last.torch_error and "torch refuses" in app.html and "padding" in app.html
    assert app.last.keras_same_size is not None
    with app.hold():
        c["padding"].value, c["height"].value, c["kernel"].value, c["stride"].value = 0, 1, 5, 1
    assert "torch refuses" in app.html and "Keras refuses" in app.html  # 1 - 5 + 1 < 0
    c["height"].value = 24
    assert app.last.torch_error is None and app.last.keras_valid_error is None
    _assert_one_clean_output(app)


# --------------------------------------------------------------------------- max vs average


def test_max_vs_average_sizes_and_step_limit():
    app = widgets.max_vs_average()
    c = app.controls
    assert c["steps"].max == explore.max_pyramid_steps(64, 2) == 6
    assert [lvl.shape for lvl in app.last["max"]] == [(64, 64), (32, 32), (16, 16), (8, 8)]
    assert "64x64 &rarr; 32x32 &rarr; 16x16 &rarr; 8x8" in app.html
    assert app.html.count("<img") == 2 * 4
    c["kernel"].value = 3  # 64 -> 21 -> 7 -> 2: three steps at most
    assert c["steps"].max == 3
    c["steps"].value = 3
    assert [lvl.shape[0] for lvl in app.last["avg"]] == [64, 21, 7, 2]
    for mode in explore.MODES:
        np.testing.assert_allclose(app.last[mode][-1], explore.pooling_pyramid(
            app.last[mode][0], 3, 3, mode=mode)[-1])
    before = app.html
    c["image"].value = "checkerboard"
    assert app.html != before and app.error is None
    _assert_one_clean_output(app)


# --------------------------------------------------------------------------- shift explorer


def test_shift_explorer_reports_explore_numbers():
    app = widgets.shift_explorer()
    c = app.controls
    assert c["shift"].max == c["kernel"].value - 1 == 3
    from poolkit import data

    image = data.sample_image(32)
    for blur in (False, True):
        c["blur"].value = blur
        for shift in range(4):
            c["shift"].value = shift
            res = explore.shift_invariance(image, kernel_size=4, blur_first=blur)
            np.testing.assert_allclose(app.last.change, res.change)
            assert f"shift {shift}: relative change <b>{res.change[shift]:.3f}</b>" in app.html
    c["kernel"].value = 2
    assert c["shift"].max == 1 and app.last.shifts.tolist() == [0, 1]
    c["mode"].value = "avg"
    res = explore.shift_invariance(image, kernel_size=2, mode="avg", blur_first=True)
    np.testing.assert_allclose(app.last.change, res.change)
    c["direction"].value = "down"
    np.testing.assert_allclose(app.last.change, explore.shift_invariance(
        image, kernel_size=2, mode="avg", blur_first=True, direction=(1, 0)).change)
    _assert_one_clean_output(app)


def test_explorers_display_as_widgets():
    for make in (widgets.window_stepper, widgets.shape_calculator, widgets.max_vs_average,
                 widgets.shift_explorer):
        bundle = make()._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle


# --------------------------------------------------------------------------- demo notebook

DEMO = Path(__file__).resolve().parents[2] / "demos" / "explorer.ipynb"


def test_demo_notebook_is_committed_clean():
    import nbformat

    nb = nbformat.read(DEMO, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source
    assert set(nb.metadata) <= {"kernelspec", "language_info"}


@pytest.mark.slow
def test_demo_notebook_runs_without_stray_output():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(DEMO, as_version=4)
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(DEMO.parent)}}).execute()
    shown = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type in ("execute_result", "display_data"), out
            shown += "application/vnd.jupyter.widget-view+json" in out.get("data", {})
    assert shown == 4  # one widget per explorer, and nothing else (no warnings, no stderr)


# --------------------------------------------------------------------------- benchmark helper


def test_benchmark_times_real_redraws():
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_widgets.py"
    spec = importlib.util.spec_from_file_location("bench_widgets", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    app = widgets.window_stepper()
    times = bench.time_updates(app, "position", (0, 4), runs=3)
    assert len(times) == 3 and all(t > 0 for t in times)
    with pytest.raises(RuntimeError, match="did not change"):
        bench.time_updates(app, "seed", (0, 1), runs=2)  # the ramp preset ignores the seed


# --------------------------------------------------------------------------- random driving


def _random_value(control, rng):
    import ipywidgets as w

    if isinstance(control, (w.IntSlider, w.BoundedIntText)):
        hi = min(control.max, control.min + 40)  # keep sizes small so the test stays fast
        return int(rng.integers(control.min, hi + 1))
    if isinstance(control, w.Checkbox):
        return bool(rng.integers(2))
    if isinstance(control, (w.Dropdown, w.ToggleButtons)):
        return control.options[int(rng.integers(len(control.options)))]
    return None  # text areas and buttons are driven by the dedicated tests


@pytest.mark.parametrize("make", ["window_stepper", "shape_calculator", "max_vs_average",
                                  "shift_explorer"])
def test_random_control_changes_never_break_a_widget(make):
    rng = np.random.default_rng(sum(map(ord, make)))
    app = getattr(widgets, make)()
    names = [n for n, c in app.controls.items() if _random_value(c, rng) is not None]
    for _ in range(60):
        name = names[int(rng.integers(len(names)))]
        app.controls[name].value = _random_value(app.controls[name], rng)
        _assert_one_clean_output(app)
        assert (app.last is None) == (app.error is not None)
        assert app.error is None or not app.error.startswith("unexpected"), app.error
    fresh = getattr(widgets, make)()  # defaults always work: restore them one by one
    with app.hold():
        for name in names:
            app.controls[name].value = fresh.controls[name].value
    assert app.error is None and app.html == fresh.html
