"""The resume key covers everything that can change a grade (:mod:`poolgrade.batch.resume_key`).

``poolgrade grade`` skips a student whose key did not change.  After an instructor fixes a
check, an oracle (``answers.py``), the lesson notebook or ``nbgrader_config.py``, a rerun must
regrade every submission; with nothing changed it must regrade none.  The real packages are
never edited: the key's package folders are pointed at a copy of ``poolkit/checks``, and the
oracles' course root (``POOLKIT_COURSE_ROOT``) at a temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from poolgrade import Limits, grade
from poolgrade.batch import resume_key
from tests.support import ROOT
from tests.support import fixture_course as fc

LIMITS = Limits(cell_timeout=10, submission_timeout=120, memory_mb=2048)


def copy_of_checks(where: Path) -> Path:
    target = where / "checks"
    shutil.copytree(ROOT / "poolkit" / "checks", target,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return target


# ----------------------------------------------------------------------------- the digest
def test_digest_changes_with_any_file_content_or_name_and_ignores_caches(tmp_path):
    checks = copy_of_checks(tmp_path)
    config = tmp_path / "nbgrader_config.py"
    config.write_text("c = get_config()\n")
    missing = tmp_path / "solutions" / "01-x"
    inputs = [str(checks), str(config), str(missing)]
    first = resume_key.inputs_digest(inputs)
    assert resume_key.inputs_digest(inputs) == first

    (checks / "__pycache__").mkdir()
    (checks / "__pycache__" / "oracle.cpython-311.pyc").write_bytes(b"\0compiled")
    assert resume_key.inputs_digest(inputs) == first, "a bytecode cache is not a change"

    oracle = checks / "oracle.py"
    original = oracle.read_text()
    oracle.write_text(original + "\n# a fix\n")
    assert resume_key.inputs_digest(inputs) != first
    oracle.write_text(original)
    assert resume_key.inputs_digest(inputs) == first

    (checks / "new_check.py").write_text("")
    assert resume_key.inputs_digest(inputs) != first
    (checks / "new_check.py").unlink()

    config.write_text("c = get_config()\nc.Execute.timeout = 5\n")
    assert resume_key.inputs_digest(inputs) != first
    config.write_text("c = get_config()\n")

    missing.mkdir(parents=True)
    (missing / "answers.py").write_text("def f(): return 1\n")
    assert resume_key.inputs_digest(inputs) != first


def test_the_inputs_of_the_real_course_cover_its_checks_hints_mistakes_and_lesson():
    lesson = "01-max-vs-average"
    inputs = [Path(p).resolve() for p in
              resume_key.grading_inputs(str(ROOT), str(ROOT / "solutions" / lesson), lesson)]
    covered = [ROOT / "poolkit" / "checks" / "oracle.py",
               ROOT / "poolkit" / "hints" / f"{lesson}.toml",
               ROOT / "poolkit" / "mistakes" / f"{lesson}.json",
               ROOT / "poolgrade" / "execution" / "test_cells.py",
               ROOT / "nbgrader_config.py",
               ROOT / "solutions" / lesson / "mistakes.py"]
    for path in covered:
        assert path.exists(), path
        assert any(path == p or p in path.parents for p in inputs), path


def test_the_key_changes_with_limits_options_and_the_submission():
    base = dict(limits=LIMITS, execute_config={"timeout": 30}, unsandboxed=False)
    key = resume_key.resume_key("sub", "tests", "setup", **base)
    assert resume_key.resume_key("sub", "tests", "setup", **base) == key
    changed = [
        resume_key.resume_key("sub2", "tests", "setup", **base),
        resume_key.resume_key("sub", "tests2", "setup", **base),
        resume_key.resume_key("sub", "tests", "setup2", **base),
        resume_key.resume_key("sub", "tests", "setup", **{**base, "unsandboxed": True}),
        resume_key.resume_key("sub", "tests", "setup",
                              **{**base, "limits": Limits(cell_timeout=10, memory_mb=1024)}),
        resume_key.resume_key("sub", "tests", "setup",
                              **{**base, "execute_config": {"timeout": 60}}),
    ]
    assert key not in changed and len(set(changed)) == len(changed)


# ----------------------------------------------------------------------------- regrading
@pytest.mark.slow
def test_a_changed_check_oracle_notebook_or_config_regrades_and_nothing_else_does(
        tmp_path, monkeypatch):
    checks = copy_of_checks(tmp_path / "packages")
    monkeypatch.setattr(resume_key, "package_dirs", lambda: [str(checks)])
    oracles = tmp_path / "instructor"
    (oracles / "solutions" / fc.FIXTURE_ASSIGNMENT).mkdir(parents=True)
    oracle = oracles / "solutions" / fc.FIXTURE_ASSIGNMENT / "answers.py"
    oracle.write_text("def output_size(n, kernel, stride, padding=0):\n"
                      "    return (n + 2 * padding - kernel) // stride + 1\n")
    monkeypatch.setenv("POOLKIT_COURSE_ROOT", str(oracles))

    root = tmp_path / "course"
    root.mkdir()
    fc.write_fixture_source(root)
    fc.generate(root, fc.FIXTURE_ASSIGNMENT)
    answers = fc.solution_answers(root, fc.FIXTURE_ASSIGNMENT)
    fc.submit(root, fc.FIXTURE_ASSIGNMENT, "ada",
              fc.student_notebook(root, fc.FIXTURE_ASSIGNMENT, answers))

    def run():
        return grade(fc.FIXTURE_ASSIGNMENT, root, workers=1, limits=LIMITS, progress=False)

    first = run()
    assert first.graded == ["ada"] and first.rows[0].status == "ok", first.rows
    unchanged = run()
    assert unchanged.graded == [] and unchanged.skipped == ["ada"]

    def edit_then_expect_regrade(path: Path, what: str) -> None:
        path.write_text(path.read_text() + f"\n# fixed: {what}\n")
        again = run()
        assert again.graded == ["ada"], f"a changed {what} must regrade ({again.skipped})"
        assert run().skipped == ["ada"], f"after the regrade for the {what}: nothing changed"

    edit_then_expect_regrade(checks / "oracle.py", "check")
    edit_then_expect_regrade(oracle, "oracle (answers.py)")
    edit_then_expect_regrade(root / "nbgrader_config.py", "nbgrader_config.py")
    lesson_notes = root / "source" / fc.FIXTURE_ASSIGNMENT / "mistakes.py"
    lesson_notes.write_text("MISTAKES = {}\n")
    again = run()
    assert again.graded == ["ada"], "a new file in the lesson's folder must regrade"
