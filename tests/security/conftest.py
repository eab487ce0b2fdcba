from __future__ import annotations

import pytest
from flask import Flask

from tests.workflow.world import World, build, widen


@pytest.fixture
def wide(app: Flask) -> World:
    """The two-county world with a foreign object of every kind (SQLite)."""
    return widen(build(app))


@pytest.fixture
def any_wide(any_app: Flask) -> World:
    """The same on each database in turn."""
    return widen(build(any_app))
