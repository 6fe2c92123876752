"""Lesson 03's ``input_sizes`` answer (the grader's reference for Exercise 2) against torch.

The answer bisects on torch's output length, which is only right if that length never falls
as the input grows; here every length up to a bound is pooled by a real ``nn.MaxPool1d``
and the lengths that give ``out`` are compared with the answer's, for random layers.
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from poolgrade.answers import instructor_answers  # noqa: E402

pytestmark = pytest.mark.frameworks

LESSON_03 = "03-stride-and-shape-math"


def torch_length(size, kernel_size, stride, padding, dilation, ceil_mode) -> int | None:
    """What nn.MaxPool1d makes of a length-``size`` input; None where torch refuses it."""
    pool = torch.nn.MaxPool1d(kernel_size, stride, padding, dilation, ceil_mode=ceil_mode)
    try:
        return int(pool(torch.zeros(1, 1, size)).shape[-1])
    except RuntimeError:
        return None


@st.composite
def layers(draw):
    kernel_size = draw(st.integers(1, 5))
    return dict(kernel_size=kernel_size, stride=draw(st.integers(1, 6)),
                padding=draw(st.integers(0, kernel_size // 2)),
                dilation=draw(st.integers(1, 3)), ceil_mode=draw(st.booleans()))


@settings(max_examples=40, deadline=None)
@given(layer=layers(), out=st.integers(1, 8))
def test_input_sizes_are_the_lengths_torch_takes_to_out(layer, out):
    answer = instructor_answers(LESSON_03).input_sizes(out, **layer)
    span = layer["dilation"] * (layer["kernel_size"] - 1) + 1
    bound = (out + 2) * layer["stride"] + span + 2      # every longer input outputs more
    expected = [size for size in range(1, bound + 1)
                if torch_length(size, **layer) == out]
    assert answer == expected, layer
