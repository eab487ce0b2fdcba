"""Fixtures of the metrics tests: the app with the metrics blueprint, and the test county."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.engine import Connection

import server.models.metric_events  # noqa: F401  (registers the metric tables on Base.metadata)
from server.domain.worktime import WorkCalendar
from server.usecases.context import calendar_from
from tests.metrics.support import World, build_world, session


def _with_metrics(app: Flask) -> Flask:
    """The lead registers the blueprint and CLI group in server/app.py; until then, here."""
    from server.api.metrics import bp
    from server.cli.metrics import group

    if "metrics" not in app.blueprints:
        app.register_blueprint(bp)
    if "metrics" not in app.cli.commands:
        app.cli.add_command(group)
    return app


@pytest.fixture
def mapp(any_app: Flask) -> Flask:
    """The app on SQLite, then on PostgreSQL."""
    return _with_metrics(any_app)


@pytest.fixture
def sapp(app: Flask) -> Flask:
    """The app on SQLite only (API and CLI tests that do not depend on the database)."""
    return _with_metrics(app)


@pytest.fixture
def world(request: pytest.FixtureRequest) -> World:
    app = request.getfixturevalue("mapp") if "mapp" in request.fixturenames else None
    if app is None:
        app = request.getfixturevalue("sapp")
    db = session(app)
    try:
        return build_world(db)
    finally:
        db.close()


@pytest.fixture
def conn(request: pytest.FixtureRequest) -> Iterator[Connection]:
    """A connection on the test's app (mapp or sapp), closed (rolled back) afterwards."""
    app = request.getfixturevalue("mapp") if "mapp" in request.fixturenames else None
    if app is None:
        app = request.getfixturevalue("sapp")
    connection = app.extensions["wangge.engine"].connect()
    yield connection
    connection.rollback()
    connection.close()


@pytest.fixture
def cal() -> Iterator[WorkCalendar]:
    yield calendar_from("08:30-12:00,14:00-17:30", "Asia/Shanghai")
