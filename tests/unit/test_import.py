"""`import poolkit` is light: NumPy only, quickly, in a fresh process."""

import subprocess
import sys

HEAVY = ("torch", "tensorflow", "keras", "matplotlib", "ipywidgets", "nbgrader", "dask")


def test_import_is_light():
    """``import poolkit`` loads no framework.  What that costs in time is not asserted here
    (a timed test fails on a busy machine, not on a slow import)."""
    code = (
        "import sys, poolkit\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "", f"import poolkit loaded {result.stdout.strip()}"


def test_lazy_submodules_are_reachable():
    code = "import poolkit; poolkit.explore.output_shape; poolkit.models.small_cnn; " \
           "poolkit.data.make_shapes; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
