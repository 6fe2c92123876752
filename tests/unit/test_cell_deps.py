"""Which cells the NumPy-only kernel runs before a test cell (poolgrade.execution.cell_deps)."""

import pytest

from poolgrade.execution import cell_deps
from poolgrade.execution.test_cells import MAX_CELL_CHARS

SETUP = "import numpy as np\nimport torch"
LECTURE = "x = torch.randn(1, 1, 4, 4)\nprint(torch.nn.MaxPool2d(2)(x))"
SLOW = "for _ in range(10**9):\n    pass"


def _chosen(sources, called):
    cells = list(enumerate(sources))
    return [i for i, _ in cell_deps.cells_to_run(cells, called)]


def test_runs_the_defining_cell_and_the_imports_it_uses_not_the_lecture_cells():
    sources = [SETUP, LECTURE, SLOW, "def f(x):\n    return np.maximum(x, 0)", LECTURE]
    assert _chosen(sources, {"f"}) == [0, 3]


def test_follows_helpers_constants_and_globals_transitively():
    sources = [SETUP, "SIZE = 3", LECTURE, "def helper(x):\n    return x[:SIZE]",
               "import math as m\nOFFSET = m.pi", SLOW,
               "def f(x):\n    return helper(x) + OFFSET + np.zeros(1)"]
    assert _chosen(sources, {"f"}) == [0, 1, 3, 4, 6]


def test_a_helper_defined_after_the_function_still_counts():
    # a function reads its globals when the test calls it, not when its cell runs
    sources = ["def f(x):\n    return helper(x)", LECTURE, "def helper(x):\n    return x"]
    assert _chosen(sources, {"f"}) == [0, 2]


def test_the_last_definition_before_the_test_wins():
    sources = ["def f(x):\n    return 1", "def g(x):\n    return 2",
               "def f(x):\n    return 3"]
    assert _chosen(sources, {"f"}) == [2]


def test_a_conditional_redefinition_keeps_the_earlier_one_too():
    sources = ["flag = True", "def f(x):\n    return 1",
               "if flag:\n    def f(x):\n        return 2", "flag = False"]
    # the `if` may or may not bind f: both run, in order; its `flag` is the one before it
    assert _chosen(sources, {"f"}) == [0, 1, 2]


def test_a_value_changed_in_place_brings_the_cell_that_changes_it():
    sources = ["TABLE = {}", "TABLE['k'] = 2", "TABLE.update(j=1)", LECTURE,
               "def f():\n    return TABLE['k']"]
    assert _chosen(sources, {"f"}) == [0, 1, 2, 4]


def test_calling_a_module_does_not_make_a_cell_a_definition():
    sources = [SETUP, "np.random.seed(0)\nnp.set_printoptions(3)",
               "def f(x):\n    return np.abs(x)"]
    assert _chosen(sources, {"f"}) == [0, 2]


@pytest.mark.parametrize("unreadable", ["%timeit f(1)\ndef f(x):\n    return 2",
                                        "def f(x):\n    return 2\n" + "#" * MAX_CELL_CHARS])
def test_an_unreadable_cell_defines_nothing(unreadable):
    sources = ["def f(x):\n    return 1", unreadable]
    assert _chosen(sources, {"f"}) == [0]


def test_everything_runs_when_a_called_function_is_defined_by_no_readable_cell():
    sources = [SETUP, LECTURE, "%%time\ndef f(x):\n    return 1"]
    assert _chosen(sources, {"f"}) == [0, 1, 2]


def test_everything_runs_when_a_global_the_function_reads_is_defined_nowhere_readable():
    sources = [SETUP, "%time K = 3", LECTURE, "def f(x):\n    return x * K"]
    assert _chosen(sources, {"f"}) == [0, 1, 2, 3]


def test_everything_runs_when_the_called_names_are_unknown():
    sources = [SETUP, LECTURE, "def f(x):\n    return 1"]
    assert _chosen(sources, None) == [0, 1, 2]


def test_builtins_and_names_the_cell_binds_itself_need_no_other_cell():
    sources = [LECTURE, "def g(x):\n    return len(x)\n\ndef f(x):\n    return g(x)"]
    assert _chosen(sources, {"f"}) == [1]


NAMES = {"max_pool2d_loops", "avg_pool2d_loops", "global_avg_pool"}


def test_called_names_are_the_students_names_the_test_spells_out():
    source = ("ck.check_against_oracle(max_pool2d_loops, 'poolkit.max_pool2d', cases,"
              " numpy_only=True)\nassert_loops(f, exercise='avg_pool2d_loops')")
    assert cell_deps.called_names(source, NAMES) == {"max_pool2d_loops", "avg_pool2d_loops"}


def test_called_names_include_those_of_earlier_test_helpers():
    prelude = "def check_head(x):\n    return global_avg_pool(x)"
    assert cell_deps.called_names("check_head(1)", NAMES, prelude) == {"global_avg_pool"}


@pytest.mark.parametrize("source", ["globals()['max_pool2d_loops'](1)",
                                    "eval('max' + '_pool2d_loops')(1)",
                                    "ck.check_against_oracle(max_pool2d_loops,"])
def test_called_names_are_unknown_when_the_test_cannot_be_read(source):
    assert cell_deps.called_names(source, NAMES) is None


def test_a_cell_can_run_late_only_when_it_touches_nothing_the_later_cells_touch():
    assert cell_deps.can_run_late(SETUP, ["def f(x):\n    return np.abs(x)"])
    assert not cell_deps.can_run_late("K = 3", ["K = 4"])
    assert not cell_deps.can_run_late("K = 3", ["L = K + 1"])
    assert not cell_deps.can_run_late("K = 3", ["%time K = 4"])
