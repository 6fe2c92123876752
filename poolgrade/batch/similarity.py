"""Answers that are near-copies: of another student's answer to the same exercise, or of the
course's or the ``poolkit`` package's own code.  For the instructor to judge, never a grade.

An answer is the source of an exercise's solution cell (the code cell whose nbgrader
``grade_id`` is the exercise's).  The comparison is copydetect's (winnowed fingerprints of
the tokenized code, see https://github.com/blingenf/copydetect): names become one token and
comments and blanks are dropped, so renaming variables or rewriting comments does not hide a
copy.  What every student starts from (the released stub of each solution cell) is
boilerplate and counts for nobody.

Similarity is copydetect's share of an answer's tokens that also occur in the other text:
between two students, the larger of the two shares (one answer may hold the other plus some
code of its own); against the course or the package, the answer's share only (a file of the
package is far longer than any answer).  :data:`THRESHOLD` and above is reported.

Answers too short to tell apart (fewer than :data:`MIN_FINGERPRINTS` fingerprints once the
stub is taken out, such as a one-line formula every correct student writes the same way)
are left out, as are blank and untouched answers.  Each answer is cut at
:data:`MAX_ANSWER_CHARS` characters before it is analysed, so a huge or junk answer costs
no more than a long one; :func:`check_class` never raises (a failure becomes a note).
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass

THRESHOLD = 0.8             # share of an answer's tokens found in the other text
NOISE = 25                  # characters of tokenized code in one fingerprint (copydetect's k)
WINDOW = 1                  # winnowing window: 1 keeps every fingerprint (answers are short)
MIN_FINGERPRINTS = 40       # fewer after the stub is removed: too short to judge
MAX_ANSWER_CHARS = 10_000   # characters of an answer analysed (answers are far shorter)
MAX_SOURCE_CHARS = 400_000  # characters of a course or package file analysed
SHOWN_PER_EXERCISE = 3      # matches named per exercise in a student's CSV cell

_SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION.*?### END SOLUTION", re.S)


@dataclass(frozen=True)
class SimilarPair:
    """``student``'s answer to ``exercise`` is a near-copy of ``other``'s: another student's
    id (then ``student < other``, each pair once) or a source such as
    ``"poolkit/pooling.py"`` (``source`` is True).  ``similarity`` is in [0, 1]."""

    exercise: str
    student: str
    other: str
    similarity: float
    source: bool = False


def fingerprint(code: str, boilerplate=None):
    """copydetect's fingerprint of Python ``code`` (cut at :data:`MAX_ANSWER_CHARS`) with
    the ``boilerplate`` hashes left out; None for code that gives none."""
    import numpy as np
    from copydetect import CodeFingerprint

    code = code[:MAX_ANSWER_CHARS]
    found = CodeFingerprint("answer.py", NOISE, WINDOW, language="python",
                             fp=io.StringIO(code),
                             boilerplate=np.array([]) if boilerplate is None else boilerplate)
    return found if found.hashes else None


def boilerplate_hashes(stubs) -> object:
    """The fingerprints of ``stubs`` (code every student is given), as the sorted array
    copydetect takes as ``boilerplate``."""
    import numpy as np

    hashes: set = set()
    for stub in stubs:
        found = fingerprint(stub)
        if found is not None:
            hashes |= found.hashes
    return np.array(sorted(hashes), dtype=np.int64)


def _shares(a, b, threshold: float = THRESHOLD) -> tuple[float, float]:
    """(share of ``a`` found in ``b``, share of ``b`` found in ``a``), copydetect's measure.
    A quick count of common fingerprints first: pairs far below the threshold skip the
    exact (slower) comparison."""
    from copydetect import compare_files

    common = len(a.hashes & b.hashes)
    if common < threshold / 2 * min(len(a.hashes), len(b.hashes)):
        return 0.0, 0.0
    _, (share_a, share_b), _ = compare_files(a, b)
    return min(1.0, float(share_a)), min(1.0, float(share_b))


def find_similar(answers: dict[str, dict[str, str]], sources: dict[str, str] | None = None,
                 stubs=(), threshold: float = THRESHOLD) -> list[SimilarPair]:
    """Every near-copy in a class.

    ``answers``: student -> exercise -> the answer's source.  ``sources``: name -> code the
    answers are compared with too (the course's and the package's files).  ``stubs``: code
    every student starts from, left out of every fingerprint.  Returns the pairs with a
    similarity of at least ``threshold``, by exercise, then most similar first.
    """
    boilerplate = boilerplate_hashes(stubs)
    # exercise -> answer code -> (its fingerprint, the students who wrote exactly that code):
    # identical answers are fingerprinted and compared once, so a class where hundreds of
    # students hand in the same code costs one comparison per distinct answer pair, not
    # one per student pair
    prints: dict[str, dict[str, tuple[object, list[str]]]] = {}
    for student, by_exercise in answers.items():
        for exercise, code in by_exercise.items():
            if not isinstance(code, str) or not code.strip():
                continue
            by_code = prints.setdefault(exercise, {})
            if code in by_code:
                by_code[code][1].append(student)
                continue
            try:
                found = fingerprint(code, boilerplate)
            except Exception:   # pygments or numpy choking on junk: that answer is skipped
                found = None
            if found is not None and len(found.hashes) < MIN_FINGERPRINTS:
                found = None
            by_code[code] = (found, [student])
    references = {}
    for name, code in (sources or {}).items():
        try:
            found = fingerprint(code[:MAX_SOURCE_CHARS].replace("\0", ""), boilerplate)
        except Exception:
            continue
        if found is not None:
            references[name] = found

    pairs = []
    for exercise, by_code in prints.items():
        groups = [(found, sorted(students)) for found, students in by_code.values()
                  if found is not None]
        for i, (mine, students) in enumerate(groups):
            # the same code twice: copydetect's share is 1 both ways
            pairs += [SimilarPair(exercise, *sorted((a, b)), 1.0)
                      for k, a in enumerate(students) for b in students[k + 1:]]
            for theirs, others in groups[i + 1:]:
                similarity = max(_shares(mine, theirs, threshold))
                if similarity >= threshold:
                    pairs += [SimilarPair(exercise, *sorted((a, b)), similarity)
                              for a in students for b in others]
            for name, reference in references.items():
                similarity = _shares(mine, reference, threshold)[0]
                if similarity >= threshold:
                    pairs += [SimilarPair(exercise, student, name, similarity, source=True)
                              for student in students]
    order = {exercise: i for i, exercise in enumerate(prints)}
    return sorted(pairs, key=lambda p: (order[p.exercise], -p.similarity, p.student, p.other))


def summaries(pairs: list[SimilarPair], exercises=()) -> dict[str, str]:
    """student -> the CSV cell naming their near-copies, e.g.
    ``"max_pool~bob(0.93), carol(0.90); output_size~poolkit/shapes.py(0.88)"``: exercises
    in the order of ``exercises`` (names), at most :data:`SHOWN_PER_EXERCISE` matches each,
    most similar first, then ``(+N more)``.  Students with none are not in the dict."""
    found: dict[str, dict[str, list[tuple[float, str]]]] = {}
    for pair in pairs:
        found.setdefault(pair.student, {}).setdefault(pair.exercise, []).append(
            (pair.similarity, pair.other))
        if not pair.source:
            found.setdefault(pair.other, {}).setdefault(pair.exercise, []).append(
                (pair.similarity, pair.student))
    rank = {name: i for i, name in enumerate(exercises)}
    cells = {}
    for student, by_exercise in found.items():
        parts = []
        for exercise in sorted(by_exercise, key=lambda e: (rank.get(e, len(rank)), e)):
            matches = sorted(by_exercise[exercise], key=lambda m: (-m[0], m[1]))
            shown = ", ".join(f"{other}({similarity:.2f})"
                              for similarity, other in matches[:SHOWN_PER_EXERCISE])
            more = len(matches) - SHOWN_PER_EXERCISE
            parts.append(f"{exercise}~{shown}" + (f" (+{more} more)" if more > 0 else ""))
        cells[student] = "; ".join(parts)
    return cells


# --------------------------------------------------------------------------- reading a class
def solution_sources(nb, exercises) -> dict[str, str]:
    """exercise -> the source of ``nb``'s solution code cell of that grade_id (the first one
    when a notebook holds two); anything malformed is passed over."""
    wanted = set(exercises)
    found: dict[str, str] = {}
    for cell in getattr(nb, "cells", None) or []:
        try:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if cell.get("cell_type") != "code" or not meta.get("solution") \
                    or grade_id not in wanted or grade_id in found:
                continue
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            if isinstance(source, str):
                found[grade_id] = source
        except (AttributeError, TypeError):
            continue
    return found


def class_answers(submissions, notebooks: list[str], exercises) -> dict[str, dict[str, str]]:
    """student -> exercise -> answer, read from each :class:`Submission`'s folder the way the
    grader reads it (:func:`~poolgrade.batch.submissions.read_notebooks`)."""
    from poolgrade.batch.submissions import read_notebooks

    answers: dict[str, dict[str, str]] = {}
    for sub in submissions:
        try:
            read, _ = read_notebooks(sub.folder, notebooks)
        except Exception:
            continue
        mine: dict[str, str] = {}
        for nb in read.values():
            if nb is not None:
                for exercise, code in solution_sources(nb, exercises).items():
                    mine.setdefault(exercise, code)
        answers[sub.student] = mine
    return answers


def course_sources(course, notebooks: list[str]) -> tuple[dict[str, str], list[str]]:
    """(name -> code students were given, the stubs of the solution cells).

    From the released notebooks (``<release>/<assignment>/<notebook>.ipynb``), or from the
    source notebooks with the solution regions cut out when nothing was released here: every
    code cell but the solution cells is a source named ``<notebook>.ipynb``; the solution
    cells are the stubs (with nbgrader's ``raise NotImplementedError()``)."""
    import nbformat

    sources, stubs = {}, ["raise NotImplementedError()"]
    for name in notebooks:
        released = os.path.join(course.path("release"), f"{name}.ipynb")
        original = os.path.join(course.path("source"), f"{name}.ipynb")
        path = released if os.path.isfile(released) else original
        if not os.path.isfile(path):
            continue
        given = []
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            if cell.metadata.get("nbgrader", {}).get("solution"):
                stubs.append(_SOLUTION_REGION.sub("raise NotImplementedError()", cell.source))
            else:
                given.append(cell.source)
        sources[f"{name}.ipynb"] = "\n\n".join(given)
    return sources, stubs


def package_sources(package: str = "poolkit") -> dict[str, str]:
    """``"<package>/<file>.py"`` -> its code, for every module of the installed package and
    its subpackages (folders with an ``__init__.py``)."""
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return {}
    top = list(spec.submodule_search_locations)[0]
    parent = os.path.dirname(top)
    sources = {}
    for folder, dirs, files in os.walk(top):
        # subpackages only: not a build/ or egg-info folder that a build left next to them
        dirs[:] = sorted(d for d in dirs if os.path.isfile(os.path.join(folder, d, "__init__.py")))
        for file in sorted(files):
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                with open(path, encoding="utf-8", errors="replace") as f:
                    sources[os.path.relpath(path, parent).replace(os.sep, "/")] = \
                        f.read(MAX_SOURCE_CHARS)
    return sources


def check_class(course, notebooks: list[str], exercises) -> tuple[list[SimilarPair], str]:
    """The near-copies among the submissions of ``course`` (a
    :class:`~poolgrade.batch.course.Course`) for the exercises named, and a note: empty, or
    why the check could not run.  Never raises: grading goes on without it."""
    from poolgrade.batch.submissions import find_submissions

    try:
        names = [getattr(e, "name", e) for e in exercises]
        found, _ = find_submissions(course.submissions_root, course.assignment)
        answers = class_answers(found, notebooks, names)
        sources, stubs = course_sources(course, notebooks)
        sources.update(package_sources())
        # earlier editions shipped this exact library to students, and copies circulate
        sources.update(package_sources("poolgrade.reference"))
        return find_similar(answers, sources, stubs), ""
    except Exception as err:  # a grader bug here must not cost the class its grades
        return [], f"the check for copied answers failed ({type(err).__name__}: {err})"
