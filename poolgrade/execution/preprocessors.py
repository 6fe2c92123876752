"""nbgrader preprocessors of the course, one job each; ``nbgrader_config.py`` imports them.

- :class:`RepairCellMetadata`: puts edited grading metadata back before ``OverwriteCells``;
- :class:`ClearHiddenTestsInTests`: nbgrader's ``ClearHiddenTests`` for the feedback, applied
  to test cells only, so an answer that merely contains the marker text cannot break it;
- :class:`InertMarkdown`: a markdown cell that would put HTML, a script link or a MathJax
  command into the formgrader's or the feedback's page is shown as plain text instead;
- :class:`~poolgrade.execution.notebook.GradingExecute` (re-exported): the grading executor.
"""

from __future__ import annotations

import html
import os
import re

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.api import Gradebook
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    ClearOutput,
    DeduplicateIds,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from poolgrade import nbmeta
from poolgrade.execution.notebook import GradingExecute
from poolgrade.nbmeta import is_test_cell

__all__ = ["AUTOGRADE_STEPS", "FEEDBACK_STEPS", "SANITIZE_STEPS", "ClearHiddenTestsInTests",
           "GradingExecute", "InertMarkdown", "RepairCellMetadata", "copy_no_links",
           "markdown_is_inert"]


class RepairCellMetadata(NbGraderPreprocessor):
    """Put nbgrader's cell metadata back the way the release had it, before OverwriteCells.

    A submission whose metadata was edited (a test cell unlocked, made ungraded, or given
    another grade_id) otherwise fails as a whole in nbgrader 0.9.6 ("Inconsistent
    checksums", a KeyError): the student gets no grade and the batch exits with an error.
    Here a cell whose grade_id the gradebook knows gets its recorded metadata back (so
    OverwriteCells restores its source), and a cell with an unknown grade_id becomes a plain
    cell (so the real test cell counts as deleted and ``add_missing_cells`` brings it back).
    """

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            source_nb = gradebook.find_notebook(info["notebook"], info["assignment"])
            known = {}
            for cell in source_nb.source_cells:
                known[cell.name] = {"cell_type": cell.cell_type, "checksum": cell.checksum,
                                    "locked": cell.locked, "grade": False, "solution": False,
                                    "task": False, "grade_id": cell.name, "schema_version": 3}
            for cell in source_nb.grade_cells:
                known[cell.name].update(grade=True, points=cell.max_score)
            for cell in source_nb.solution_cells:
                known[cell.name]["solution"] = True
            for cell in source_nb.task_cells:
                known[cell.name].update(task=True, points=cell.max_score)
        for cell in nb.cells:
            if "nbgrader" not in cell.metadata:
                continue
            meta = nbmeta.nbgrader_meta(cell)
            grade_id = nbmeta.grade_id(cell)
            if grade_id in known:
                recorded = dict(known[grade_id])
                if recorded["checksum"] is None:
                    recorded.pop("checksum")
                # (a hidden-test cell's checksum always differs from the release's: the
                # gradebook's covers the hidden tests, so only other changes are reported)
                changed = [k for k in recorded if k != "checksum" and meta.get(k) != recorded[k]]
                if changed:
                    self.log.warning("Restoring nbgrader metadata %s of cell %s", changed, grade_id)
                cell.metadata["nbgrader"] = recorded
            else:
                self.log.warning("Dropping nbgrader metadata of unknown cell %r", grade_id)
                del cell.metadata["nbgrader"]
        return nb, resources


class ClearHiddenTestsInTests(ClearHiddenTests):
    """Remove hidden test regions from test cells, and only from them: the marker text in a
    student's answer (a comment, a string) is the student's text, not a hidden test."""

    def preprocess_cell(self, cell, resources, cell_index):
        if not is_test_cell(cell):
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)


class InertMarkdown(NbGraderPreprocessor):
    """Show a markdown cell as plain text (a code block, after a note) when, rendered, it
    could run or load something in a browser; leave every other cell exactly as it is.

    The formgrader and the feedback render markdown with nbconvert, which passes raw HTML
    through: a ``<script>`` or an ``<img onerror=...>`` in a written answer would run in the
    instructor's browser when the formgrader shows the autograded notebook, and in the
    student's when they open the feedback.  The test is :func:`markdown_is_inert`.  Cells
    nbgrader locked are left alone: OverwriteCells put the instructor's text back in them.
    Runs after the scores are saved (a written answer's checksum is nbgrader's test of
    whether it was answered at all).
    """

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown" and not nbmeta.locked(cell) \
                and not markdown_is_inert(cell.source):
            self.log.warning("Showing markdown cell %d as plain text: it holds HTML, a "
                             "script link or a MathJax command", cell_index)
            cell.source = _as_plain_text(cell.source)
        return cell, resources


# What a student's markdown may turn into: mistune's token types for ordinary markdown,
# which nbconvert renders with their text escaped.  Anything else (block_html and
# inline_html above all, or a type some later plugin adds) is not inert.
_INERT_TOKENS = {
    "paragraph", "text", "emphasis", "strong", "codespan", "linebreak", "softbreak",
    "heading", "list", "list_item", "task_list_item", "block_text", "block_quote",
    "block_code", "thematic_break", "blank_line", "strikethrough", "table", "table_head",
    "table_body", "table_row", "table_cell", "def_list", "def_list_head", "def_list_item",
    "inline_math", "block_math", "multiline_math", "latex_environment", "link", "image",
}
_LINK_SCHEMES = {"http", "https", "mailto"}
_IMAGE_SCHEMES = _LINK_SCHEMES | {"attachment", "data"}   # an <img> runs no script
# MathJax commands that make a link, set HTML attributes or styles, or load an extension
# (nbconvert's templates load MathJax 2 with its Safe extension, which filters some of
# them; this does not rely on that, nor on which MathJax another viewer uses).
_MATHJAX_ACTIVE = re.compile(r"\\(href|url|class|cssId|style|require|data|html)(?![A-Za-z])")


def markdown_is_inert(source: str) -> bool:
    """True when nbconvert's rendering of ``source`` holds no raw HTML, no link or image to a
    URL with a scheme other than http(s) and mailto (images: also ``attachment:`` and
    ``data:``), no mermaid block (rendered unescaped) and, outside code, no MathJax command
    that makes links or sets attributes.  Decided on mistune's parse with nbconvert's own
    plugins, so what is checked is what the formgrader and the feedback render."""
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    todo = list(MarkdownWithMath(renderer=None)(source))
    while todo:
        token = todo.pop()
        kind = token.get("type")
        if kind not in _INERT_TOKENS:
            return False
        attrs = token.get("attrs") or {}
        # MathJax reads the page's text, math or not (it skips code)
        if kind not in ("codespan", "block_code") and _MATHJAX_ACTIVE.search(
                " ".join(str(v) for v in (token.get("raw"), *attrs.values()) if v)):
            return False
        if kind == "block_code" and str(attrs.get("info") or "").strip().lower() \
                .startswith("mermaid"):
            return False
        if kind in ("link", "image") and not _url_is_inert(
                str(attrs.get("url", "")), _IMAGE_SCHEMES if kind == "image" else _LINK_SCHEMES):
            return False
        todo.extend(token.get("children") or [])
    return True


def _url_is_inert(url: str, schemes: set[str]) -> bool:
    """No scheme (a relative link), or one of ``schemes``.  Read the way a browser reads
    it first: entities decoded, control characters and blanks dropped."""
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", html.unescape(url)).lower()
    head = re.split(r"[/?#]", cleaned, maxsplit=1)[0]
    return ":" not in head or head.split(":", 1)[0] in schemes


def _as_plain_text(source: str) -> str:
    """A note, then ``source`` verbatim in a fenced code block (every renderer escapes one;
    MathJax skips it) whose fence is longer than any run of backticks in ``source``."""
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    note = ("*This answer is shown as plain text: it holds HTML, a link or a formula "
            "command that a browser would act on. The submitted notebook is unchanged.*")
    text = f"{note}\n\n{fence}\n{source.rstrip(chr(10))}\n{fence}\n"
    if markdown_is_inert(text):
        return text
    return note + "\n\n*(It could not be shown safely here either: open the submitted " \
        "notebook.)*\n"


def copy_no_links() -> None:
    """Make nbgrader skip symbolic links when it copies a folder's other files.

    nbgrader copies a handed-in link's *target* (``notes.txt -> /etc/shadow`` or
    ``-> ../../gradebook.db`` would become a readable file next to the student's notebook),
    and a link loop stops it with an error.  Its copies go through ``find_all_files``; this
    wraps it (in ``nbgrader.utils`` and the converters that imported it) to leave out links
    and whatever lies below a linked folder.  Called by the course's nbgrader_config.py.
    """
    from poolgrade.execution import nbgrader_adapter

    original = nbgrader_adapter.find_all_files()
    if getattr(original, "skips_links", False):
        return

    def find_all_files(path, exclude=None):
        root = os.path.realpath(path)
        kept = []
        for name in original(path, exclude):
            if os.path.islink(name):
                continue
            real = os.path.realpath(name)
            if real != os.path.join(root, os.path.relpath(name, path)):
                continue   # below a linked folder
            kept.append(name)
        return kept

    find_all_files.skips_links = True
    nbgrader_adapter.replace_find_all_files(find_all_files)


# The course's nbgrader steps (nbgrader_config.py sets them; so do test courses).
SANITIZE_STEPS = [ClearOutput, DeduplicateIds, OverwriteKernelspec, RepairCellMetadata,
                  OverwriteCells, CheckCellMetadata]
AUTOGRADE_STEPS = [GradingExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                   SaveAutoGrades, AssignLatePenalties, CheckCellMetadata, InertMarkdown]
# nbgrader's default feedback shows the hidden tests; students see scores, their own code
# and the failure messages, not the hidden test source.  InertMarkdown again: a notebook
# autograded before it existed gets it here.
FEEDBACK_STEPS = [GetGrades, ClearHiddenTestsInTests, InertMarkdown, CSSHTMLHeaderPreprocessor]
