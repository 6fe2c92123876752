"""The private nbgrader/nbclient/nbconvert names :mod:`poolgrade.execution.nbgrader_adapter`
relies on still exist, with the shape it uses, in the versions ``requirements.lock`` pins.

After an upgrade of one of them, this is the test that names what moved.  Each check reads
the installed library (never the adapter) and each would fail if the name were renamed,
removed or changed its signature.
"""

from __future__ import annotations

import inspect
import re

import pytest

from tests.support import ROOT

pytest.importorskip("nbgrader")

PINNED = ("nbgrader", "nbclient", "nbconvert")


def pinned_versions() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    found = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", text, flags=re.M))
    return {name: found[name] for name in PINNED}


def parameters(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_the_installed_versions_are_the_pinned_ones():
    from importlib.metadata import version

    assert {name: version(name) for name in PINNED} == pinned_versions()
    assert pinned_versions()["nbgrader"] == "0.9.6"


def test_autograde_still_reads_from_submitted_while_its_sanitizing_flag_is_set(tmp_path):
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    assert isinstance(vars(Autograde).get("_sanitizing"), bool)
    assert parameters(Autograde.init_assignment) == ["self", "assignment_id", "student_id"]
    coursedir = CourseDirectory(root=str(tmp_path))
    converter = Autograde(coursedir=coursedir)
    converter._sanitizing = True
    assert converter._input_directory == coursedir.submitted_directory
    converter._sanitizing = False
    assert converter._input_directory == coursedir.autograded_directory


def test_nbgrader_copies_files_through_find_all_files_in_both_modules():
    import nbgrader.converters.base as base
    import nbgrader.utils as utils

    assert parameters(utils.find_all_files) == ["path", "exclude"]
    assert base.find_all_files is utils.find_all_files   # imported by name there
    assert "find_all_files(" in inspect.getsource(base.BaseConverter)


def test_execute_preprocessor_still_assigns_resources_privately():
    from nbconvert.preprocessors import ExecutePreprocessor
    from nbgrader.preprocessors import Execute

    assert issubclass(Execute, ExecutePreprocessor)
    assert parameters(Execute._check_assign_resources) == ["self", "resources"]


def test_template_exporter_still_has_init_resources_and_notebook_metadata():
    from nbconvert.exporters import HTMLExporter

    exporter = HTMLExporter()
    assert parameters(HTMLExporter._init_resources) == ["self", "resources"]
    assert isinstance(exporter._init_resources(None), dict)
    assert isinstance(exporter._nb_metadata, dict)


def test_the_adapter_reaches_what_it_names(tmp_path):
    """The adapter's functions against the real objects: a wrong attribute in one of them
    fails here, not in the middle of a grading run."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.preprocessors import Execute

    from poolgrade.execution import nbgrader_adapter as adapter

    class FakeConverter:
        _sanitizing = False

    converter = FakeConverter()
    adapter.begin_sanitizing(converter)
    assert converter._sanitizing is True

    executor = Execute()
    adapter.assign_resources(executor, {"metadata": {"path": str(tmp_path)}})
    assert executor.resources == {"metadata": {"path": str(tmp_path)}}

    exporter = HTMLExporter()
    assert isinstance(adapter.exporter_resources(exporter, None), dict)
    assert adapter.exporter_notebook_metadata(exporter) is exporter._nb_metadata

    import nbgrader.converters.base as base
    import nbgrader.utils as utils

    before = adapter.find_all_files()
    assert before is utils.find_all_files

    def marker(path, exclude=None):
        return []

    try:
        adapter.replace_find_all_files(marker)
        assert utils.find_all_files is marker and base.find_all_files is marker
    finally:
        adapter.replace_find_all_files(before)
