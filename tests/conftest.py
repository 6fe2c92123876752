"""Fixtures shared by every test folder (helpers are in :mod:`tests.support`)."""

from __future__ import annotations

import os

import pytest

from tests.support import course_env


@pytest.fixture
def tf_quiet_env(monkeypatch):
    """Kernels started from this test inherit the venv PATH and the TensorFlow settings."""
    for key, value in course_env().items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
