"""The admin tests run in the workflow test world (tests/workflow/world.py): county A with
community C (grids G1, G2), county B (grid GB), departments D1/D2 and a user of every role."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import factories as f
from tests.workflow.world import World, build


@pytest.fixture
def world(app: Flask) -> World:
    return build(app)


@pytest.fixture
def any_world(any_app: Flask) -> World:
    return build(any_app)


def client_for(w: World, who: str | None) -> FlaskClient:
    """A test client signed in as ``who`` (None: signed out, but with a CSRF token)."""
    c = w.app.test_client()
    if who is None:
        token = c.get("/api/v1/auth/csrf").get_json()["csrf_token"]
        c.environ_base["HTTP_X_CSRFTOKEN"] = token
    else:
        f.login(c, who)
    return c


@pytest.fixture
def admin(world: World) -> FlaskClient:
    return client_for(world, "admin")
