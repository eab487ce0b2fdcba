from __future__ import annotations

import pytest
from flask import Flask

from tests.workflow.world import World, build


@pytest.fixture
def world(app: Flask) -> World:
    return build(app)


@pytest.fixture
def any_world(any_app: Flask) -> World:
    return build(any_app)
