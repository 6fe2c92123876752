"""Near-copies of answers (poolgrade.batch.similarity): copies and renamed copies are found,
pastes from the package are found, independent answers and stubs are not, and no answer,
however hostile, stops the check."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from poolgrade.batch import similarity

STUB = '''def max_pool(x, k, s):
    """x: (H, W) -> (H_out, W_out), window k, stride s, no padding."""
    # YOUR CODE HERE
    raise NotImplementedError()'''

LOOPS = '''def max_pool(x, k, s):
    """x: (H, W) -> (H_out, W_out), window k, stride s, no padding."""
    h = (x.shape[0] - k) // s + 1
    w = (x.shape[1] - k) // s + 1
    out = np.empty((h, w), dtype=x.dtype)
    for i in range(h):
        for j in range(w):
            out[i, j] = x[i * s:i * s + k, j * s:j * s + k].max()
    return out'''

# LOOPS with every name changed, comments added and the blank lines moved
RENAMED = '''def max_pool(x, k, s):
    """x: (H, W) -> (H_out, W_out), window k, stride s, no padding."""
    # how many windows fit down and across
    n_rows = (x.shape[0] - k) // s + 1

    n_cols = (x.shape[1] - k) // s + 1
    pooled = np.empty((n_rows, n_cols), dtype=x.dtype)  # the result
    for row in range(n_rows):
        for col in range(n_cols):   # each window: its largest value
            pooled[row, col] = x[row * s:row * s + k, col * s:col * s + k].max()

    return pooled'''

# the same task solved another way
INDEPENDENT = '''def max_pool(x, k, s):
    """x: (H, W) -> (H_out, W_out), window k, stride s, no padding."""
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k))
    strided = windows[::s, ::s]
    flat = strided.reshape(strided.shape[0], strided.shape[1], -1)
    return flat.max(axis=-1)'''

OTHER_INDEPENDENT = '''def max_pool(x, k, s):
    """x: (H, W) -> (H_out, W_out), window k, stride s, no padding."""
    rows = []
    top = 0
    while top + k <= len(x):
        row, left = [], 0
        while left + k <= len(x[0]):
            row.append(max(max(line[left:left + k]) for line in x[top:top + k]))
            left += s
        rows.append(row)
        top += s
    return np.array(rows)'''


def package_paste() -> tuple[str, str]:
    """(file, answer): the longest top-level function of 10 to 40 lines in the poolkit
    package's source (read from the files, whatever modules the package has today), pasted
    into an answer with a line of the student's own after it."""
    import ast

    functions = []
    for name, code in similarity.package_sources("poolkit").items():
        for node in ast.parse(code).body:
            if isinstance(node, ast.FunctionDef) \
                    and 10 <= node.end_lineno - node.lineno + 1 <= 40:
                functions.append((node.end_lineno - node.lineno, name,
                                  ast.get_source_segment(code, node)))
    _, name, code = max(functions)
    return name, code + "\n\n\nresult = max_pool(x, 2, 2)\n"


def package() -> dict[str, str]:
    return similarity.package_sources("poolkit")


def class_of(**answers) -> dict[str, dict[str, str]]:
    return {student: {"max_pool": code} for student, code in answers.items()}


def flagged(pairs) -> set:
    return {(p.student, p.other) for p in pairs}


def test_copies_renamed_copies_and_pastes_are_found_and_independent_answers_are_not():
    source, pasted = package_paste()
    answers = class_of(alice=LOOPS, bob=LOOPS, carol=RENAMED, dave=pasted,
                       erin=INDEPENDENT, frank=OTHER_INDEPENDENT, gina=STUB, hank="  \n")
    pairs = similarity.find_similar(answers, package(), stubs=[STUB])
    assert flagged(pairs) == {("alice", "bob"), ("alice", "carol"), ("bob", "carol"),
                              ("dave", source)}
    assert all(p.exercise == "max_pool" and similarity.THRESHOLD <= p.similarity <= 1
               for p in pairs)
    assert {p.other: p.source for p in pairs}[source] is True
    cells = similarity.summaries(pairs, ["max_pool"])
    assert cells["alice"].startswith("max_pool~") and "bob(1.00)" in cells["alice"] \
        and "carol(" in cells["alice"]
    assert cells["dave"].startswith(f"max_pool~{source}(")
    assert not {"erin", "frank", "gina", "hank"} & set(cells)


# a stub that gives away part of the answer: every student hands it in
LONG_STUB = '''def max_pool(x, k, s):
    """x: (H, W) -> (H_out, W_out), window k, stride s, no padding."""
    h = (x.shape[0] - k) // s + 1
    w = (x.shape[1] - k) // s + 1
    out = np.empty((h, w), dtype=x.dtype)
    # YOUR CODE HERE: fill out
    raise NotImplementedError()
    return out'''


def test_threshold_decides_and_the_stub_counts_for_nobody():
    untouched = class_of(a=LONG_STUB + "\nresult = None\n", b=LONG_STUB + "\nresult = 0\n")
    assert similarity.find_similar(untouched, stubs=[LONG_STUB]) == []
    # the same answers without the stub as boilerplate: "copies" of each other
    assert flagged(similarity.find_similar(untouched)) == {("a", "b")}
    close = class_of(a=LOOPS, b=INDEPENDENT)
    assert similarity.find_similar(close, stubs=[STUB]) == []
    loose = similarity.find_similar(close, stubs=[STUB], threshold=0.0)
    assert flagged(loose) == {("a", "b")} and loose[0].similarity < similarity.THRESHOLD


def test_a_short_answer_everyone_writes_alike_is_not_flagged():
    one_liner = "def size(n, k, s):\n    return (n - k) // s + 1"
    answers = {s: {"size": one_liner} for s in ("a", "b", "c")}
    assert similarity.find_similar(answers) == []


def test_summary_names_at_most_a_few_matches_per_exercise():
    answers = {f"s{i:02}": {"max_pool": LOOPS, "copy": RENAMED} for i in range(6)}
    cells = similarity.summaries(similarity.find_similar(answers, stubs=[STUB]),
                                 ["max_pool", "copy"])
    assert cells["s00"] == ("max_pool~s01(1.00), s02(1.00), s03(1.00) (+2 more); "
                            "copy~s01(1.00), s02(1.00), s03(1.00) (+2 more)")


@pytest.mark.parametrize("junk", [
    "\x00\x01\xff" * 10_000 + LOOPS,                     # binary junk
    "def f(:\n  )))" * 5_000,                            # code no parser accepts
    LOOPS * 20_000,                                      # 6 MB answer
    "'''" + "x" * 100_000,                              # a string that never ends
])
def test_hostile_answers_are_analysed_within_the_cap_and_break_nothing(junk):
    answers = class_of(alice=LOOPS, bob=RENAMED, mallory=junk)
    pairs = similarity.find_similar(answers, stubs=[STUB])
    assert ("alice", "bob") in flagged(pairs)
    assert similarity.fingerprint(junk) is None \
        or len(similarity.fingerprint(junk).raw_code) <= similarity.MAX_ANSWER_CHARS


def test_solution_sources_reads_solution_code_cells_by_grade_id_only():
    def meta(grade_id, **kw):
        return {"nbgrader": {"grade_id": grade_id, "solution": True, **kw}}

    nb = new_notebook(cells=[
        new_code_cell("import numpy as np"),
        new_code_cell(LOOPS, metadata=meta("max_pool")),
        new_code_cell(INDEPENDENT, metadata=meta("max_pool")),      # a second one: ignored
        new_markdown_cell("words", metadata=meta("why")),            # written answer
        new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "other", "solution": True}}),
        new_code_cell("y = 2", metadata={"nbgrader": "not a dict"}),
    ])
    nb = nbformat.from_dict(nbformat.writes(nb) and nb)
    assert similarity.solution_sources(nb, ["max_pool", "why"]) == {"max_pool": LOOPS}


def test_package_sources_are_named_by_their_path_in_the_package():
    sources = similarity.package_sources("poolkit")
    assert "poolkit/__init__.py" in sources and "poolkit/checks/guards.py" in sources
    assert "\ndef call(" in sources["poolkit/checks/guards.py"]
    # a build/ folder next to the modules is no part of the package
    assert not [name for name in sources if "/build/" in name or "egg-info" in name]


def test_identical_answers_are_compared_once_and_flagged_pair_by_pair(monkeypatch):
    """A class of a thousand where hundreds hand in the same code (the benchmark's class,
    or one leaked answer) costs one comparison per pair of distinct answers; every student
    pair is still reported."""
    import copydetect

    calls = []
    real = copydetect.compare_files
    monkeypatch.setattr(copydetect, "compare_files",
                        lambda a, b: calls.append(1) or real(a, b))
    answers = class_of(**{f"loops{i:03}": LOOPS for i in range(200)},
                       **{f"renamed{i:03}": RENAMED for i in range(100)},
                       **{"erin": INDEPENDENT})
    pairs = similarity.find_similar(answers, stubs=[STUB])
    assert len(calls) <= 3        # LOOPS~RENAMED, LOOPS~INDEPENDENT, RENAMED~INDEPENDENT
    assert len(pairs) == 200 * 199 // 2 + 100 * 99 // 2 + 200 * 100
    assert len(set(flagged(pairs))) == len(pairs)
    assert all(p.student < p.other and "erin" not in (p.student, p.other) for p in pairs)
    assert {p.similarity for p in pairs if p.student.startswith("loops")
            and p.other.startswith("loops")} == {1.0}


@pytest.mark.parametrize("code, stub", [(LOOPS, STUB), (RENAMED, STUB), (LOOPS, LONG_STUB)])
def test_copydetect_gives_the_same_code_a_share_of_one_both_ways(code, stub):
    """Why identical answers need no comparison: copydetect's measure says 1.0."""
    boilerplate = similarity.boilerplate_hashes([stub])
    a, b = similarity.fingerprint(code, boilerplate), similarity.fingerprint(code, boilerplate)
    assert similarity._shares(a, b, threshold=0.0) == (1.0, 1.0)
