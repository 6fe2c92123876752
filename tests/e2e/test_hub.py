"""A whole class on a real JupyterHub, in a real browser (issue 12).

``poolgrade.authoring.hub`` (the same code as ``make hub``) builds a separate test class: accounts
``pt-instructor``, ``pt-student1``, ``pt-student2`` (PAM passwords, homes mode 700) and
``pt-nohome`` (no home folder), the exchange ``/srv/nbgrader/exchange-test`` and its own hub
state; the hub runs as root with its proxy from npm and one server per user, as that user.
Playwright drives Debian's Chromium:

1. the instructor generates and releases lesson 01 from the formgrader;
2. each student logs in, fetches it in the Assignments tab, answers (one with the
   solution, one with a common mistake from ``tests/wrong_answers/``; the notebook file is
   written as the student), validates and submits; student 2 submits twice, the second time
   after the due date;
3. the instructor collects in the formgrader, grades with ``poolgrade grade`` (as the
   instructor, in the course folder), sees the scores in the formgrader, grades a written
   answer by hand there, and generates and releases the feedback; the hub is restarted in
   between and nothing is lost;
4. each student fetches their feedback and sees their own score and no hidden test.

Also: student 1 cannot read student 2's submission, list the inbound folder, read the
gradebook or the instructor's ``solutions/``; the latest submission is the graded one and
is marked late; a user whose server cannot start is told why.  Screenshots go to
``artifacts/hub/``.  Needs root (local accounts, PAM), Debian's Chromium, bubblewrap,
Node.js/npm: without them the test skips locally and fails under CI.
"""

from __future__ import annotations

import html
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import suppress
from pathlib import Path

import nbformat
import pytest

from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, _require, _require_browser
from tests.integration.test_nbgrader_roundtrip import cell_index, load_wrong, solved, strip_markers
from tests.support import ROOT, solution_notebook

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSON = "01-max-vs-average"
NB_NAME = solution_notebook(LESSON).name            # max-vs-average.ipynb
MISTAKE_EXERCISE = "max_pool2d_loops"               # the first wrong answer: zero padding
WRITTEN = "written_max_vs_avg"                      # graded by hand in the formgrader
ARTIFACTS = ROOT / "artifacts" / "hub"
TIMEOUT_MS = 120_000

from poolgrade.authoring import hub as hubtool  # noqa: E402

INST = hubtool.Instance("test")


def _free_base_port() -> int:
    """A port P with P, P+1 and P+2 free (hub, hub API, proxy API)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 65000:
            continue
        ok = True
        for p in (port + 1, port + 2):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
        if ok:
            return port
    raise RuntimeError("no three consecutive free ports")


def as_user(user: str, *cmd: str, cwd: str | None = None, env: dict | None = None,
            check: bool = False) -> subprocess.CompletedProcess:
    """Run ``cmd`` as a class account (runuser, a clean login-like environment)."""
    base = {"HOME": f"/home/{user}", "USER": user, "LOGNAME": user,
            "PATH": f"{hubtool.VENV}/bin:/usr/bin:/bin", **hubtool.TF_QUIET, **(env or {})}
    full = ["runuser", "-u", user, "--", "env", "-i",
            *[f"{k}={v}" for k, v in base.items()], *cmd]
    proc = subprocess.run(full, cwd=cwd, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} as {user} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


class Hub:
    """The test class's hub process (started, stopped and restarted by the test)."""

    def __init__(self, log_dir: Path):
        self.port = _free_base_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.proc = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_dir / f"hub-{self.starts}.log", "w")  # noqa: SIM115
        cmd = hubtool.hub_command(INST, self.port, self.port + 1, self.port + 2)
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     env=hubtool.hub_env(INST), cwd=INST.state,
                                     start_new_session=True)
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=5) as reply:
                    if reply.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the hub did not start:\n" + self.log_text()[-4000:])
            time.sleep(0.5)

    def stop(self) -> None:
        """Stop the hub process only (its users' servers and the proxy go on)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_text(self) -> str:
        return "".join(p.read_text() for p in sorted(self.log_dir.glob("hub-*.log")))


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    _require(hasattr(os, "geteuid") and os.geteuid() == 0,
             "the hub test needs root: it creates local accounts and runs their servers")
    _require_browser()
    _require(shutil.which("bwrap") is not None,
             "bubblewrap is not installed (poolgrade grade sandboxes every kernel)")
    _require(shutil.which("npm") is not None and shutil.which("node") is not None,
             "Node.js and npm are not installed (JupyterHub's proxy)")
    hubtool.reset(INST)
    hubtool.setup(INST)
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    hub = Hub(tmp_path_factory.mktemp("hub"))
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()
        shutil.copy(hub.log_dir / "hub-1.log", ARTIFACTS / "hub.log")
        hubtool.reset(INST)


@pytest.fixture(scope="module")
def browser(hub):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Step:
    """Numbered screenshots and timings."""

    def __init__(self):
        self.n = 0
        self.t0 = time.monotonic()
        self.times = []

    def shot(self, page, name: str) -> None:
        self.n += 1
        page.screenshot(path=str(ARTIFACTS / f"{self.n:02d}-{name}.png"))
        self.times.append((name, time.monotonic() - self.t0))


def login(browser, hub: Hub, user: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    ctx.set_default_timeout(TIMEOUT_MS)
    page = ctx.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", INST.passwords()[user])
    page.click("#login_submit")
    return page


def wait_lab(page) -> None:
    page.wait_for_selector(".jp-LabShell", timeout=TIMEOUT_MS)
    page.wait_for_timeout(500)
    for text in ("No", "Dismiss"):   # the news pop-up on a first start
        with suppress(Exception):
            page.get_by_role("button", name=text, exact=True).click(timeout=1500)


def open_assignments(page) -> None:
    page.get_by_text("Nbgrader", exact=True).first.click()
    page.get_by_text("Assignment List", exact=True).last.click()
    page.wait_for_selector("#released_assignments_list, #fetched_assignments_list")


def answered(release_nb, solution_nb):
    """The release with every exercise answered as the instructor did: code cells by the
    round trip's ``solved``, written answers (markdown solution cells) here."""
    nb = solved(release_nb, solution_nb)
    written = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solution_nb.cells
               if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown" and meta.get("solution"):
            cell.source = strip_markers(written[meta["grade_id"]])
    return nb


def close_modal(page, expect: str, step=None, name: str = "") -> None:
    """Wait for the formgrader's result dialog, screenshot it, check it, close it."""
    modal = page.locator(".modal.in, .modal.show").first
    modal.wait_for(timeout=240_000)
    page.wait_for_timeout(300)
    if step:
        step.shot(page, name)
    text = modal.inner_text()
    assert "error" not in (modal.get_attribute("id") or "") and expect in text, text[-4000:]
    modal.locator("button.close").first.click()
    modal.wait_for(state="hidden")


def write_as(user: str, path: Path, nb) -> None:
    """Write a notebook into a student's home as that student (tee through runuser)."""
    proc = subprocess.run(["runuser", "-u", user, "--", "tee", str(path)],
                          input=nbformat.writes(nb), text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr


def inbound(user: str) -> list[Path]:
    folder = INST.exchange / "pooling-layers" / "inbound"
    return sorted(p for p in folder.iterdir() if p.name.startswith(f"{user}+{LESSON}+"))


def server_env(user: str) -> dict:
    """The environment of ``user``'s running Jupyter server (what its kernels inherit)."""
    uid = pwd.getpwnam(user).pw_uid
    for proc in Path("/proc").iterdir():
        with suppress(OSError):
            if proc.name.isdigit() and proc.stat().st_uid == uid and \
                    b"jupyterhub-singleuser" in (proc / "cmdline").read_bytes():
                pairs = (proc / "environ").read_bytes().split(b"\0")
                return dict(p.decode().split("=", 1) for p in pairs if b"=" in p)
    raise AssertionError(f"{user} has no running server")


def imports_in_server_env(user: str, module: str) -> subprocess.CompletedProcess:
    """``import module`` as ``user``, with the paths their server (and kernels) run with."""
    env = server_env(user)
    paths = {k: env[k] for k in ("PATH", "PYTHONPATH") if k in env}
    # from the user's home, as their kernels start (the working folder is on sys.path)
    return as_user(user, str(hubtool.VENV / "bin" / "python"), "-c", f"import {module}",
                   env=paths, cwd=pwd.getpwnam(user).pw_dir)


def gradebook_rows():
    from nbgrader.api import Gradebook
    rows = {}
    with Gradebook(f"sqlite:///{INST.course_dir / 'gradebook.db'}") as gb:
        for st in INST.students:
            sub = gb.find_submission(LESSON, st)
            nb = gb.find_submission_notebook(NB_NAME.removesuffix(".ipynb"), LESSON, st)
            written = next(g for g in nb.grades if g.name == WRITTEN)
            rows[st] = {"score": sub.score, "max": sub.max_score, "late": sub.total_seconds_late,
                        "manual": written.manual_score}
    return rows


def test_a_class_on_jupyterhub(hub, browser):
    step = Step()
    try:
        lifecycle(hub, browser, step)
    except BaseException:
        for i, ctx in enumerate(browser.contexts):
            for j, page in enumerate(ctx.pages):
                with suppress(Exception):
                    page.screenshot(path=str(ARTIFACTS / f"failed-{i}-{j}.png"))
        raise
    finally:
        (ARTIFACTS / "timings.json").write_text(json.dumps(step.times, indent=1))


def lifecycle(hub, browser, step):
    instructor, (good, mistaken) = INST.instructor, INST.students
    solution_nb = nbformat.read(solution_notebook(LESSON), as_version=4)
    mistake_label, mistake_src = load_wrong(LESSON)[MISTAKE_EXERCISE][0]

    # --- 1. the instructor generates and releases lesson 01 from the formgrader -------------
    ipage = login(browser, hub, instructor)
    wait_lab(ipage)
    step.shot(ipage, "instructor-lab")
    fg = f"{hub.url}/user/{instructor}/formgrader"
    ipage.goto(f"{fg}/manage_assignments")
    row = ipage.locator("tr", has_text=LESSON).first
    row.wait_for()
    step.shot(ipage, "formgrader-assignments")
    row.locator("td.assign a").first.click()
    close_modal(ipage, "Successfully created the student version", step, "formgrader-generated")
    ipage.reload()
    row = ipage.locator("tr", has_text=LESSON).first
    row.locator("td.release a").first.click()
    close_modal(ipage, "Successfully released", step, "formgrader-released")
    assert (INST.exchange / "pooling-layers" / "outbound" / LESSON / NB_NAME).exists()

    # --- 2. students fetch, answer, validate, submit -------------------------------------
    pages = {}
    for student in (good, mistaken):
        page = login(browser, hub, student)
        wait_lab(page)
        pages[student] = page
        open_assignments(page)
        released = page.locator("#released_assignments_list")
        released.get_by_text(LESSON).wait_for()
        step.shot(page, f"{student}-released")
        released.get_by_role("button", name="Fetch").click()
        page.locator("#fetched_assignments_list").get_by_text(LESSON).wait_for()
        step.shot(page, f"{student}-fetched")
    nb_path = {s: Path(f"/home/{s}/{LESSON}/{NB_NAME}") for s in (good, mistaken)}
    release_nb = nbformat.read(nb_path[good], as_version=4)
    right = answered(release_nb, solution_nb)
    wrong = answered(release_nb, solution_nb)
    wrong.cells[cell_index(wrong, MISTAKE_EXERCISE)].source = mistake_src

    def validate_and_submit(student, expect_pass: bool, tag: str):
        page = pages[student]
        page.reload()
        wait_lab(page)
        open_assignments(page)
        fetched = page.locator("#fetched_assignments_list")
        fetched.get_by_text(LESSON).first.click()      # expands the notebook list
        fetched.get_by_role("button", name="Validate").first.click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=240_000)
        text = dialog.inner_text()
        step.shot(page, f"{student}-validated-{tag}")
        if expect_pass:
            assert "Success" in text, text[:2000]
        else:
            assert "Success" not in text, text[:2000]
        dialog.get_by_role("button").last.click()
        before = len(inbound(student))
        fetched.get_by_role("button", name="Submit").first.click()
        deadline = time.monotonic() + 60
        while len(inbound(student)) == before and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(inbound(student)) == before + 1, f"{student}'s submission did not arrive"
        page.locator("#submitted_assignments_list").get_by_text(LESSON).first.wait_for()
        step.shot(page, f"{student}-submitted-{tag}")

    write_as(good, nb_path[good], right)
    validate_and_submit(good, True, "right")
    # student 2 first hands in the untouched release, then (after the due date) the mistake
    validate_and_submit(mistaken, False, "untouched")
    due = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + 1))
    as_user(instructor, "nbgrader", "db", "assignment", "add", LESSON, f"--duedate={due}",
            cwd=str(INST.course_dir), check=True)
    time.sleep(2)
    write_as(mistaken, nb_path[mistaken], wrong)
    validate_and_submit(mistaken, False, "mistake-late")

    # --- isolation: what student 1 must not reach --------------------------------------
    other = inbound(mistaken)[-1]
    inbound_dir = INST.exchange / "pooling-layers" / "inbound"
    denied = {
        "the other student's submission": ["cat", str(other / NB_NAME)],
        "the other student's submission folder": ["ls", str(other)],
        "the inbound folder's listing": ["ls", str(inbound_dir)],
        "the other student's home": ["cat", str(nb_path[mistaken])],
        "the gradebook": ["cat", str(INST.course_dir / "gradebook.db")],
        "the instructor's solutions/": ["ls", str(INST.course_dir / "solutions")],
        "the instructor's solution notebook": [
            "cat", str(INST.course_dir / "solutions" / LESSON / NB_NAME)],
        "the grader's installation": ["ls", str(INST.instructor_lib)],
    }
    leaks = {what: proc.stdout[:200] for what, cmd in denied.items()
             if (proc := as_user(good, *cmd)).returncode == 0 or proc.stdout}
    assert not leaks, f"{good} could read: {leaks}"
    assert as_user(good, "cat", str(inbound(good)[-1] / NB_NAME)).returncode == 0, \
        "a student can read their own submission"
    # the grader is the instructor's alone: a student's server and kernels cannot import it
    # (their environment holds poolkit and the exchange), the instructor's can
    for student in (good, mistaken):
        grader = imports_in_server_env(student, "poolgrade")
        assert "No module named 'poolgrade'" in grader.stderr, (student, grader.stderr[-500:])
        assert imports_in_server_env(student, "poolkit.checks").returncode == 0, student
    grader = imports_in_server_env(instructor, "poolgrade.execution.preprocessors")
    assert grader.returncode == 0, grader.stderr[-2000:]
    # ... and through the student's own server (its contents API) the same
    relative = os.path.relpath(other, f"/home/{good}")
    reply = pages[good].request.get(f"{hub.url}/user/{good}/api/contents/{relative}")
    assert reply.status in (403, 404), reply.status

    # --- 3. collect in the formgrader, poolgrade grade, scores, manual grade -------------
    ipage.goto(f"{fg}/manage_assignments")
    row = ipage.locator("tr", has_text=LESSON).first
    row.locator("td.collect a").first.click()
    close_modal(ipage, "Successfully collected", step, "formgrader-collected")
    for st in (good, mistaken):
        assert (INST.course_dir / "submitted" / st / LESSON / NB_NAME).exists()

    started = time.monotonic()
    grader_paths = hubtool.instructor_env(INST)
    grade = as_user(instructor, "poolgrade", "grade", LESSON, "--workers", "2",
                    cwd=str(INST.course_dir),
                    env={"POOLKIT_COURSE_ROOT": str(INST.course_dir),
                         "PYTHONPATH": grader_paths["PYTHONPATH"],
                         "PATH": f"{grader_paths['PATH']}:/usr/bin:/bin"})
    grade_s = time.monotonic() - started
    (ARTIFACTS / "poolgrade-grade.log").write_text(grade.stdout + grade.stderr)
    assert grade.returncode == 0, (grade.stdout + grade.stderr)[-3000:]
    csv = (INST.course_dir / "grade-reports" / LESSON / "grades.csv").read_text()
    assert good in csv and mistaken in csv, csv
    assert f"{MISTAKE_EXERCISE}: zero_padding" in csv, "grades.csv names the known mistake"
    report = (INST.course_dir / "grade-reports" / LESSON / "misconceptions.csv").read_text()
    assert f"{MISTAKE_EXERCISE},zero_padding,1," in report, report
    graded = (INST.course_dir / "autograded" / mistaken / LESSON / NB_NAME).read_text()
    assert "np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))" in graded or \
        mistake_src.strip().splitlines()[-1].strip() in graded, \
        "the latest submission (the mistake) must be the graded one"

    rows = gradebook_rows()
    assert rows[good]["score"] > rows[mistaken]["score"], rows
    assert rows[good]["late"] == 0, rows
    assert rows[mistaken]["late"] > 0, f"the second submission came after the due date: {rows}"

    gradebook_page = f"{fg}/gradebook/{LESSON}/{NB_NAME.removesuffix('.ipynb')}"

    def formgrader_row(student):
        """The formgrader's gradebook row of a student (names are hidden until shown)."""
        name = ipage.locator("a.name-shown", has_text=student).first
        name.wait_for(state="attached")
        return ipage.locator("tr", has=name).first, name.get_attribute("href")

    ipage.goto(gradebook_page)
    for st in (good, mistaken):
        row, _ = formgrader_row(st)
        score = rows[st]["score"]
        assert f"{score:g}" in row.inner_text(), (st, score, row.inner_text())
    step.shot(ipage, "formgrader-scores")
    ipage.goto(f"{fg}/manage_submissions/{LESSON}")
    ipage.locator("tr", has_text=mistaken).first.wait_for(state="attached")
    step.shot(ipage, "formgrader-submissions")

    # a written answer graded by hand (student 1, 2 of its 3 points)
    ipage.goto(gradebook_page)
    _, href = formgrader_row(good)
    # the page fills its score fields from the grades API once loaded: a score typed before
    # that reply is overwritten, so wait for it
    with ipage.expect_response(lambda r: "/formgrader/api/grades?" in r.url and r.ok):
        ipage.goto(f"{hub.url}{href}")
    score = ipage.locator(f"input.score#{WRITTEN}")
    score.wait_for()
    score.fill("2")
    score.press("Tab")
    # the formgrader saves in the background: wait for the gradebook to hold it, not a sleep
    deadline = time.monotonic() + 60
    while gradebook_rows()[good]["manual"] != 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    step.shot(ipage, "formgrader-manual-grade")
    assert gradebook_rows()[good]["manual"] == 2

    # --- the hub restarts in the middle of the class: nothing is lost -------------------
    hub.stop()
    hub.start()
    ipage.goto(gradebook_page)
    formgrader_row(good)
    step.shot(ipage, "after-hub-restart")
    assert gradebook_rows()[good]["manual"] == 2
    assert len(inbound(good)) == 1 and len(inbound(mistaken)) == 2

    # --- feedback: generate and release from the formgrader -----------------------------
    ipage.goto(f"{fg}/manage_assignments")
    row = ipage.locator("tr", has_text=LESSON).first
    row.locator("td.generate-feedback a").first.click()
    close_modal(ipage, "Successfully generated feedback")
    row.locator("td.release-feedback a").first.click()
    close_modal(ipage, "Successfully released feedback", step, "formgrader-feedback-released")

    # --- 4. students fetch their feedback -------------------------------------------------
    hidden = [line.strip() for cell in solution_nb.cells if "BEGIN HIDDEN TESTS" in cell.source
              for line in cell.source.split("### BEGIN HIDDEN TESTS", 1)[1]
              .split("### END HIDDEN TESTS")[0].splitlines() if len(line.strip()) > 12]
    assert hidden, "lesson 01 has hidden tests"
    for student in (good, mistaken):
        page = pages[student]
        page.reload()
        wait_lab(page)
        open_assignments(page)
        submitted = page.locator("#submitted_assignments_list")
        submitted.get_by_role("button", name="Fetch Feedback").first.click()
        submitted.get_by_text("view feedback").first.wait_for()
        step.shot(page, f"{student}-feedback-fetched")
        files = sorted(Path(f"/home/{student}/{LESSON}/feedback").rglob("*.html"))
        assert files, f"{student} has no feedback"
        text = html.unescape(files[-1].read_text())
        want = rows[student]["score"]
        got = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", text)
        assert got and abs(float(got.group(1)) - (want + (2 if student == good else 0))) < 1e-6, \
            (student, got and got.group(0), want)
        assert "BEGIN HIDDEN TESTS" not in text
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{student}'s feedback shows hidden tests: {leaked[:3]}"
        submitted.get_by_text("view feedback").first.click()   # the file browser goes there
        page.wait_for_timeout(1000)
        step.shot(page, f"{student}-feedback-folder")
        fb = page.context.new_page()                  # the feedback page, through their server
        rel = files[-1].relative_to(f"/home/{student}")
        fb.goto(f"{hub.url}/user/{student}/files/{rel}")
        fb.get_by_text("Score:").first.wait_for()
        if student == mistaken:     # the known mistake is named on the page the student reads
            fb.get_by_text("your output equals max pooling with zero padding").first.wait_for()
        step.shot(fb, f"{student}-feedback")
        fb.close()

    # --- a user whose server cannot start is told why -------------------------------------
    bpage = login(browser, hub, INST.broken)
    bpage.get_by_text("home folder", exact=False).first.wait_for(timeout=60_000)
    step.shot(bpage, "server-cannot-start")
    assert "does not exist" in bpage.content()

    (ARTIFACTS / "timings.json").write_text(json.dumps(
        {"steps": step.times, "poolkit_grade_s": grade_s, "scores": rows}, indent=1,
        default=str))
