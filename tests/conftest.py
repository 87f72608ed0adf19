"""Shared pytest fixtures of twinslice's test suite."""

from __future__ import annotations

import pytest

from model.config import load_scenario


@pytest.fixture
def tiny_campus():
    """A 30-second campus scenario with 6 users: cheap enough for every test."""
    return load_scenario("campus-video", {"scenario.duration_s": 30.0, "users.count": 6})
