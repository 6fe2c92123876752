"""`import poolkit` is light: NumPy only, quickly, in a fresh process."""

import subprocess
import sys

HEAVY = ("torch", "tensorflow", "keras", "matplotlib", "ipywidgets", "nbgrader", "dask")


def test_import_is_light_and_fast():
    code = (
        "import sys, poolkit\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"import poolkit loaded {result.stdout.strip()}"
    # -X importtime reports cumulative microseconds per module; the line for poolkit itself
    total_us = [int(line.split("|")[1]) for line in result.stderr.splitlines()
                if line.rstrip().endswith("| poolkit")]
    assert total_us, result.stderr[-2000:]
    assert total_us[0] < 300_000, f"import poolkit took {total_us[0] / 1e6:.3f} s"


def test_lazy_submodules_are_reachable():
    code = "import poolkit; poolkit.reference.output_size; poolkit.bridges.to_channels_last; " \
           "poolkit.data.make_shapes; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
