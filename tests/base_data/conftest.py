from __future__ import annotations

import pytest
from flask import Flask

from tests.base_data.world import Base, seed
from tests.workflow.world import World, build, widen


@pytest.fixture
def bw(app: Flask) -> tuple[World, Base]:
    """The two-county world with base data in every grid (SQLite)."""
    w = widen(build(app))
    return w, seed(w)


@pytest.fixture
def any_bw(any_app: Flask) -> tuple[World, Base]:
    """The same on each database in turn."""
    w = widen(build(any_app))
    return w, seed(w)
