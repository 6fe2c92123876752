"""Feedback HTML for one notebook, rendered by a worker: nbgrader's feedback template with
the hidden tests removed and markdown that a browser would act on shown as plain text.  The
parent runs the gradebook step (``GetGrades``) first."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass


@dataclass
class FeedbackJob:
    """One notebook's feedback, to be rendered by a worker. The parent has already run
    nbgrader's ``GetGrades`` (scores and comments from the gradebook into the cell metadata,
    totals into ``nbgrader``), which needs the gradebook; the rest does not."""

    student: str
    notebook: str
    notebook_json: str
    nbgrader: dict


_FEEDBACK_EXPORTER = None


def render_feedback(job: FeedbackJob) -> str:
    """nbgrader's feedback HTML (its template) with the hidden tests removed
    (``ClearHiddenTests``) and active markdown made inert (``InertMarkdown``); converting to
    HTML is the slow part of feedback, so workers do it."""
    import nbformat

    nb = nbformat.from_dict(json.loads(job.notebook_json))
    resources = {"unique_key": job.notebook, "output_files_dir": f"{job.notebook}_files",
                 "nbgrader": dict(job.nbgrader)}
    body, _ = feedback_exporter().from_notebook_node(nb, resources=resources)
    return body


def feedback_exporter():
    """An HTMLExporter set up the way nbgrader's GenerateFeedback sets up its own, minus the
    gradebook step (GetGrades) that the parent runs."""
    global _FEEDBACK_EXPORTER
    if _FEEDBACK_EXPORTER is not None:
        return _FEEDBACK_EXPORTER
    import nbgrader
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from traitlets.config import Config

    from poolgrade.execution.preprocessors import ClearHiddenTestsInTests, InertMarkdown

    base = os.path.dirname(nbgrader.__file__)
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [
        os.path.join(base, "server_extensions", "formgrader", "templates")]
    config.HTMLExporter.extra_template_paths = [
        os.path.join(base, "server_extensions", "formgrader", "static", "node_modules",
                     "bootstrap", "dist", "css")]
    config.Exporter.default_preprocessors = []
    exporter = _lean_html_exporter_class(HTMLExporter)(config=config)
    for pp in (ClearHiddenTestsInTests, InertMarkdown, CSSHTMLHeaderPreprocessor):
        exporter.register_preprocessor(pp(config=config), enabled=True)
    _FEEDBACK_EXPORTER = exporter
    return exporter


def _lean_html_exporter_class(HTMLExporter):
    """HTMLExporter without its final pass that re-parses the whole page with BeautifulSoup
    to add ``alt`` texts and ``tabindex`` attributes (about half of the rendering time for a
    lesson with figures). nbgrader's feedback template has none of the JupyterLab cells that
    get a ``tabindex``; the ``alt`` texts are added with a regular expression."""
    import re

    try:
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
    except ImportError:  # another nbconvert layout: use the exporter as it is
        return HTMLExporter

    from poolgrade.execution import nbgrader_adapter

    img_without_alt = re.compile(r"<img(?![^>]*\balt=)")

    class LeanHTMLExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight_code = self.filters.get(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
            resources = nbgrader_adapter.exporter_resources(self, resources)
            filter_data_type = WidgetsDataTypeFilter(
                notebook_metadata=nbgrader_adapter.exporter_notebook_metadata(self),
                parent=self, resources=resources)
            self.register_filter("highlight_code", highlight_code)
            self.register_filter("filter_data_type", filter_data_type)
            html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            html = img_without_alt.sub(
                '<img alt="No description has been provided for this image"', html)
            return html, resources

    return LeanHTMLExporter
