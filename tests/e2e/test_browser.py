"""The widgets in a real JupyterLab, driven through Debian's Chromium with Playwright.

Starts JupyterLab from the project's .venv on a free local port (token, temp config dirs),
opens a copy of demos/explorer.ipynb, runs it, moves sliders and checks that the rendered
output changes; also types a refused value and checks the message and the recovery.
Screenshots go to artifacts/ (git-ignored).  Without Chromium or Playwright the test is
skipped locally and fails when the CI environment variable is set.  POOLKIT_CHROMIUM
overrides the browser path (default /usr/bin/chromium; never a downloaded browser build).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "demos" / "explorer.ipynb"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("POOLKIT_CHROMIUM", "/usr/bin/chromium")  # Debian's build
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 90_000  # two shared cores: JupyterLab and a kernel can be slow to start


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI is set, so the browser test must run (.ci/run installs "
                    "chromium with apt-get)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _require_browser() -> None:
    _require(Path(CHROMIUM).exists(), f"Debian's Chromium is not installed at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _require(False, "the playwright Python package is not installed")


def _env(work: Path) -> dict:
    """Jupyter config, runtime and settings in a temp dir: nothing of the user's is touched."""
    return dict(os.environ,
                JUPYTER_CONFIG_DIR=str(work / "config"), JUPYTER_RUNTIME_DIR=str(work / "runtime"),
                JUPYTERLAB_SETTINGS_DIR=str(work / "settings"),
                JUPYTERLAB_WORKSPACES_DIR=str(work / "workspaces"),
                IPYTHONDIR=str(work / "ipython"),
                PATH=f"{Path(_python()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                TF_ENABLE_ONEDNN_OPTS="0", TF_CPP_MIN_LOG_LEVEL="3")


@contextmanager
def _server(cmd: list[str], work: Path, ready_url: str, shutdown_url: str | None, token: str):
    """Run ``cmd`` (a server) until it answers HTTP at ``ready_url``; stop it and its kernels
    afterwards."""
    log_path = work / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env(work),
                              start_new_session=True)
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=5) as reply:
                    if reply.status == 200:
                        break
            except urllib.error.HTTPError:  # the server answers; the probe page isn't there
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"{cmd[0]} did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.5)
        yield
    finally:
        try:  # a clean shutdown also stops the kernels the server started
            if shutdown_url is None:
                raise RuntimeError("no shutdown endpoint")
            req = urllib.request.Request(shutdown_url, method="POST",
                                         headers={"Authorization": f"token {token}"})
            urllib.request.urlopen(req, timeout=5).close()
            server.wait(timeout=20)
        except Exception:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)  # our own session: server and kernels
                try:
                    server.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(server.pid, signal.SIGKILL)
                    server.wait()
        log.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server serving a temp copy of the demo notebook: yields (base_url, token)."""
    _require_browser()
    work = tmp_path_factory.mktemp("lab")
    served = work / "notebooks"
    served.mkdir()
    shutil.copy(NOTEBOOK, served / NOTEBOOK.name)
    port, token = _free_port(), os.urandom(16).hex()
    cmd = [_python(), "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
           f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={served}"]
    base = f"http://127.0.0.1:{port}"
    with _server(cmd, work, f"{base}/api/status?token={token}", f"{base}/api/shutdown", token):
        yield base, token


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """demos/serve.py (Voila) on a free port with a token: yields (base_url, token)."""
    _require_browser()
    try:
        import voila  # noqa: F401
    except ImportError:
        _require(False, "voila is not installed (it is in poolkit's 'course' extra)")
    work = tmp_path_factory.mktemp("voila")
    port, token = _free_port(), os.urandom(16).hex()
    cmd = [_python(), str(ROOT / "demos" / "serve.py"), f"--port={port}", f"--token={token}",
           "--Voila.port_retries=0"]
    base = f"http://127.0.0.1:{port}"
    # Probe a static path: a request for "/" would start a kernel just to check liveness.
    with _server(cmd, work, f"{base}/voila/static/no-such-file", None, token):
        yield base, token


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.set_default_timeout(TIMEOUT_MS)
    try:
        yield pg
    finally:
        pg.close()


def _dismiss_news(page) -> None:
    """JupyterLab asks once whether to fetch Jupyter news; say no so the toast goes away."""
    no = page.locator(".jp-Notification-Toast, .Toastify__toast").get_by_role(
        "button", name="No", exact=True)
    try:
        no.wait_for(state="visible", timeout=5_000)
    except Exception:
        return  # the pop-up did not show up this time
    no.click()


def _wait_idle(page) -> None:
    page.wait_for_function(
        "() => { const k = document.querySelector('.jp-KernelName');"
        " return k && !k.textContent.includes('No Kernel'); }")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']")


def _widget_output(page, index: int):
    """The rendered explorer output (``.pk-box``) of the index-th widget in the notebook."""
    return page.locator(".pk-box").nth(index)


def _wait_for_change(locator, before: str, what: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = locator.inner_html()
        if now != before:
            return now
        time.sleep(0.1)
    raise AssertionError(f"{what}: the rendered output did not change within {timeout:.0f} s")


def _slider(page, cell, label: str):
    """The noUiSlider handle of the IntSlider described by ``label`` inside ``cell``."""
    row = cell.locator(".widget-slider").filter(
        has=page.locator("label.widget-label", has_text=label))
    return row.locator(".noUi-handle"), row.locator(".widget-readout"), row.locator(".noUi-base")


def _type_value(page, readout, text: str, output, what: str) -> str:
    """Type ``text`` into a slider's readout, press Enter and wait for ``output`` to change."""
    before = output.inner_html()
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    return _wait_for_change(output, before, what)


def _shot(locator, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"browser-{name}.png"
    locator.screenshot(path=str(path))
    return path


def test_demo_notebook_runs_and_widgets_respond(lab, page):
    base, token = lab
    page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}")
    page.wait_for_selector(".jp-Notebook")
    _dismiss_news(page)
    _wait_idle(page)
    page.locator("li.lm-MenuBar-item", has_text="Run").first.click()
    page.get_by_text("Run All Cells", exact=True).click()
    page.wait_for_function("document.querySelectorAll('.pk-box').length >= 4")
    _wait_idle(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-notebook.png"))

    # A clean run: no stderr, warnings or tracebacks anywhere in the notebook.
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert page.locator(".pk-error").count() == 0

    cells = page.locator(".jp-CodeCell")
    stepper_cell = cells.filter(has_text="widgets.window_stepper()")
    stepper = _widget_output(page, 0)
    assert "out[0, 0]" in stepper.inner_text()
    _shot(stepper_cell, "stepper-before")

    # Move the 'output position' slider with the keyboard, twice; the output must follow.
    handle, readout, _ = _slider(page, stepper_cell, "output position")
    for _ in range(2):
        before, before_value = stepper.inner_html(), readout.inner_text().strip()
        handle.focus()
        handle.press("ArrowRight")
        _wait_for_change(stepper, before, "stepper position slider")
        value = int(readout.inner_text().strip())
        assert value > int(before_value)
        i, j = divmod(value, 3)  # the default stepper has a 3x3 output
        assert f"out[{i}, {j}]" in stepper.inner_text()
    _shot(stepper_cell, "stepper-after")

    # A refused value typed into the padding readout: message in the widget, then recovery.
    _, pad_readout, _ = _slider(page, stepper_cell, "padding")
    _type_value(page, pad_readout, "3", stepper, "padding over half the kernel")
    error = stepper.locator(".pk-error")
    assert "padding" in error.inner_text() and "Traceback" not in stepper.inner_text()
    _shot(stepper_cell, "stepper-error")
    _type_value(page, pad_readout, "1", stepper, "padding back to 1")
    assert stepper.locator(".pk-error").count() == 0
    assert f"out[{i}, {j}]" in stepper.inner_text()

    # Drag the max-vs-average 'steps' slider to its left end with the mouse: fewer images.
    pyramid_cell = cells.filter(has_text="widgets.max_vs_average()")
    pyramid = _widget_output(page, 2)
    assert pyramid.locator("img").count() == 8  # input + 3 steps, max and average
    _shot(pyramid_cell, "max-vs-average-before")
    handle, readout, track = _slider(page, pyramid_cell, "steps")
    handle.scroll_into_view_if_needed()
    hb, tb = handle.bounding_box(), track.bounding_box()
    before = pyramid.inner_html()
    page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
    page.mouse.down()
    page.mouse.move(tb["x"] - 20, hb["y"] + hb["height"] / 2, steps=8)
    page.mouse.up()
    _wait_for_change(pyramid, before, "max-vs-average steps slider")
    assert readout.inner_text().strip() == "0"
    page.wait_for_function("el => el.querySelectorAll('img').length === 2",
                           arg=pyramid.element_handle())
    _shot(pyramid_cell, "max-vs-average-after")

    # The two other explorers rendered real content (screenshots for a human to look at).
    _shot(cells.filter(has_text="widgets.shape_calculator()"), "shape-calculator")
    shift_cell = cells.filter(has_text="widgets.shift_explorer()")
    assert "relative change" in _widget_output(page, 3).inner_text()
    _shot(shift_cell, "shift-explorer")


def test_voila_serves_the_explorer_as_a_page(voila, page):
    base, token = voila
    page.goto(f"{base}/?token={token}")
    page.wait_for_function("document.querySelectorAll('.pk-box').length >= 4")
    assert page.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert page.locator(".pk-error").count() == 0
    assert "widgets.window_stepper()" not in page.inner_text("body")  # Voila shows no code

    shift = _widget_output(page, 3)
    assert "shift 1: relative change" in shift.inner_text()
    handle, readout, _ = _slider(page, page.locator("body"), "shift")
    before = shift.inner_html()
    handle.focus()
    handle.press("ArrowRight")
    _wait_for_change(shift, before, "Voila shift slider")
    value = int(readout.inner_text().strip())
    assert value == 2 and f"shift {value}: relative change" in shift.inner_text()
    _shot(page.locator(".widget-vbox").filter(has_text="blur before pooling").first,
          "voila-shift-explorer")
    page.screenshot(path=str(ARTIFACTS / "browser-voila-page.png"), full_page=True)
