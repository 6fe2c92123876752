"""What lessons 02 and 06 tell students to expect from their training runs stays true.

The lecture cells only print these numbers (a seeded run can move by a few points with the
torch version and the CPU); the lesson text says what to expect. Each test here re-runs the
lesson's training with the lesson's own calls and settings and checks one such sentence, with
a margin wide enough for that drift but narrow enough that the sentence would be wrong
outside it. Each network is trained once per module (about 35 s in all on one core).

Measured with torch 2.13 on one thread (the values the margins are set from):

* lesson 02: train accuracy of max and none 0.9725 to 1.0; mean consistency of none 0.122
  below the lower of max and blur; blur minus max -0.013; 1 px consistency at most 0.95;
  consistency at shift [3, 3] 0.16 to 0.23 below [1, 1]; smallest gap of none 0.180,
  largest gap of max 0.083, mean gap ratio 2.7.
* lesson 06: validation accuracy, flatten / GAP head: shallow 0.9375 / 0.525,
  deep 0.9625 / 0.99.
"""

from __future__ import annotations

import numpy as np
import pytest

from poolkit import models
from poolkit.data import make_shapes
from tests.support import SOLUTIONS

pytestmark = pytest.mark.slow

# The settings both lessons use (checked against their sources below, so a lesson that
# changes them makes this file fail instead of silently testing another experiment).
EPOCHS, LEARNING_RATE = 10, 5e-3
LESSON_02 = SOLUTIONS / "02-why-pooling" / "why-pooling.py"
LESSON_06 = SOLUTIONS / "06-from-feature-maps-to-prediction" / "from-feature-maps-to-prediction.py"
LESSON_02_RUNS = [("max", (0, 1)), (None, (0, 1)), ("blur", (0,))]
MAX_SHIFT, CONSISTENCY_IMAGES = 4, 200
BACKBONES = {"shallow": (8, 16), "deep": (16, 32, 32)}


@pytest.fixture(scope="module")
def one_thread():
    """The lessons run torch on one thread; inference here does too (training sets its own)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def shapes():
    """The lessons' data: 400 training and 400 validation images, seeds 0 and 1."""
    train_images, train_labels = make_shapes(400, seed=0)
    val_images, val_labels = make_shapes(400, seed=1)
    return train_images, train_labels, val_images, val_labels


@pytest.fixture(scope="module")
def pooling_runs(shapes, one_thread):
    """Lesson 02 section 4: {(name, seed): (model, history)}; max and none seeds 0, 1; blur 0."""
    train_images, train_labels, val_images, val_labels = shapes
    runs = {}
    for pool, seeds in LESSON_02_RUNS:
        for seed in seeds:
            model = models.small_cnn(pool=pool, seed=seed)
            history = models.train(model, train_images, train_labels, epochs=EPOCHS, seed=seed,
                                   val_images=val_images, val_labels=val_labels, lr=LEARNING_RATE)
            runs[pool or "none", seed] = (model, history)
    return runs


@pytest.fixture(scope="module")
def consistency_tables(pooling_runs, shapes):
    """Lesson 02 section 5: name -> (MAX_SHIFT, MAX_SHIFT) consistency table, seed-0 network."""
    val_images = shapes[2]
    return {name: models.prediction_consistency(pooling_runs[name, 0][0],
                                                val_images[:CONSISTENCY_IMAGES], MAX_SHIFT)
            for name in ("max", "blur", "none")}


@pytest.fixture(scope="module")
def gaps(pooling_runs):
    """Lesson 02 section 6: name -> [train minus validation accuracy per seed], max and none."""
    result = {}
    for (name, _seed), (_model, history) in pooling_runs.items():
        if name != "blur":
            result.setdefault(name, []).append(history["train_acc"][-1] - history["val_acc"][-1])
    return result


@pytest.fixture(scope="module")
def head_val_accuracy(shapes, one_thread):
    """Lesson 06 section 2: (depth, head) -> final validation accuracy (seed 0, hidden=0)."""
    train_images, train_labels, val_images, val_labels = shapes
    val = {}
    for depth, channels in BACKBONES.items():
        for head in ("flatten", "gap"):
            model = models.small_cnn(pool="max", head=head, channels=channels, hidden=0, seed=0)
            history = models.train(model, train_images, train_labels, epochs=EPOCHS, seed=0,
                                   val_images=val_images, val_labels=val_labels, lr=LEARNING_RATE)
            val[depth, head] = history["val_acc"][-1]
    return val


@pytest.mark.parametrize("path, calls", [
    (LESSON_02, ["EPOCHS, LEARNING_RATE = 10, 5e-3", "make_shapes(400, seed=0)",
                 "make_shapes(400, seed=1)", '[("max", (0, 1)), (None, (0, 1)), ("blur", (0,))]',
                 "models.small_cnn(pool=pool, seed=seed)", "epochs=EPOCHS, seed=seed",
                 "lr=LEARNING_RATE", "MAX_SHIFT = 4", "val_images[:200], MAX_SHIFT)"]),
    (LESSON_06, ["EPOCHS, LEARNING_RATE = 10, 5e-3", "make_shapes(400, seed=0)",
                 "make_shapes(400, seed=1)", '{"shallow": (8, 16), "deep": (16, 32, 32)}',
                 'models.small_cnn(pool="max", head=head, channels=channels, hidden=0, seed=0)',
                 "epochs=EPOCHS, seed=0", "lr=LEARNING_RATE"]),
], ids=["lesson-02", "lesson-06"])
def test_lessons_still_run_the_experiments_tested_here(path, calls):
    """The tests below re-run the lessons' trainings; they only mean something while the
    lessons still make these calls with these settings."""
    source = path.read_text(encoding="utf-8")
    missing = [call for call in calls if call not in source]
    assert not missing, (f"{path.name} no longer contains {missing}: update the settings in "
                         "this file to the lesson's and re-check the expectations")


def test_lesson02_max_and_none_fit_the_training_set(pooling_runs):
    """Lesson 02 sections 4 and 6: "max and none fit the training images almost perfectly
    (training accuracy around 0.97 or higher after ten epochs)"."""
    train_acc = {key: history["train_acc"][-1] for key, (_, history) in pooling_runs.items()
                 if key[0] != "blur"}
    assert len(train_acc) == 4
    assert min(train_acc.values()) >= 0.93, train_acc


def test_lesson02_no_pooling_changes_its_mind_most(consistency_tables):
    """Lesson 02 section 5: "the network without pooling changes its mind most often, by a
    clear margin (more than 0.05 of the mean score below the lower of the two pooled
    networks)"."""
    mean = {name: table.mean() for name, table in consistency_tables.items()}
    assert mean["none"] < min(mean["max"], mean["blur"]) - 0.05, mean


def test_lesson02_a_one_pixel_shift_flips_some_predictions(consistency_tables):
    """Lesson 02 section 5: "neither is invariant: even a one-pixel shift flips some
    predictions" (and the network without pooling is not invariant either)."""
    one_pixel = {name: (table[0, 1] + table[1, 0]) / 2
                 for name, table in consistency_tables.items()}
    assert all(value < 1 for value in one_pixel.values()), one_pixel


def test_lesson02_consistency_falls_as_the_shift_grows(consistency_tables):
    """Lesson 02 section 5: "consistency falls as the shift grows (compare the entries
    [1, 1] and [3, 3])", for every network, by a visible amount."""
    corners = {name: (table[1, 1], table[3, 3]) for name, table in consistency_tables.items()}
    assert all(far < near - 0.05 for near, far in corners.values()), corners


def test_lesson02_blur_is_no_measurable_gain(consistency_tables):
    """Lesson 02 section 5: "expect the blur network ... to land within about 0.05 of the max
    network's consistency, on either side" (0.08 here: one seed each, "about" 0.05)."""
    difference = consistency_tables["blur"].mean() - consistency_tables["max"].mean()
    assert abs(difference) < 0.08, difference


def test_lesson02_no_pooling_overfits_more_on_every_seed(gaps):
    """Lesson 02 section 6: "the one without pooling does worse on images it has not seen ...
    its gap was larger on both seeds and more than twice as large on average" (a factor
    above 1.5 here: two seeds of 400 validation images)."""
    assert len(gaps["none"]) == len(gaps["max"]) == 2
    assert min(gaps["none"]) > max(gaps["max"]), gaps
    assert np.mean(gaps["none"]) / np.mean(gaps["max"]) > 1.5, gaps


def test_lesson06_gap_head_is_far_behind_on_the_shallow_backbone(head_val_accuracy):
    """Lesson 06 section 2: "On the shallow backbone, the GAP head is far behind (its
    validation accuracy is about 0.4 lower)" (more than 0.2 lower here)."""
    val = head_val_accuracy
    assert val["shallow", "gap"] < val["shallow", "flatten"] - 0.2, val


def test_lesson06_gap_head_matches_flatten_on_the_deep_backbone(head_val_accuracy):
    """Lesson 06 section 2: "On the deep backbone ... the GAP head matches or beats the
    flatten head" (at most 0.05 below it here)."""
    val = head_val_accuracy
    assert val["deep", "gap"] >= val["deep", "flatten"] - 0.05, val
