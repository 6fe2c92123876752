"""``benchmarks/bench_class.py`` stays runnable: it builds a class with the grading
benchmark's submissions and grades it on a real Dask LocalCluster.  Its figures are not
checked here (they are wall-clock times); that every submission gets a row is."""

from __future__ import annotations

import importlib.util

import pytest

from tests.support import ROOT, course_env


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_class",
                                                  ROOT / "benchmarks" / "bench_class.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_small_class_is_built_and_graded_on_a_cluster(bench, tmp_path, monkeypatch):
    for name, value in course_env().items():
        monkeypatch.setenv(name, value)
    run = bench.run_class(tmp_path, "01-max-vs-average", submissions=3, workers=1)
    assert run["submissions"] == 3 and run["workers"] == 1
    assert run["problems"] == [], run["problems"]
    assert run["seconds"] > 0 and run["per_core_second"] == run["per_second"]


def test_the_estimate_is_linear_in_cores_until_the_grading_process_caps_it(bench):
    # 0.5 submissions per core-second on 2 cores: 1 submission/s, 1000 in 1000/60 minutes
    assert bench.minutes_for_class(0.5, 0.1, cores=2, machines=1) == pytest.approx(1000 / 60)
    assert bench.minutes_for_class(0.5, 0.1, cores=2, machines=4) == pytest.approx(250 / 60)
    # the one grading process stores a result every 0.5 CPU s: never faster than 2/s
    assert bench.minutes_for_class(0.5, 0.5, cores=2, machines=8) == pytest.approx(500 / 60)
