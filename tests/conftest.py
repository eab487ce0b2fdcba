"""Databases for tests: SQLite (always) and PostgreSQL/PostGIS (WANGGE_TEST_PG_URL).

The schema is always built by running the Alembic migrations. SQLite: migrated once into a
template file that each test copies. PostgreSQL: a throw-away database per test run, created
from WANGGE_TEST_PG_URL, migrated once, its tables truncated before each test.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from server import create_app, migrate
from server.config import Settings
from server.db import make_engine, normalise_url
from tests.live import CHROMIUM, CHROMIUM_ARGS, Api, LiveServer, ensure_webapp_built, seed
from tests.support import require

PG_ENV = "WANGGE_TEST_PG_URL"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get(PG_ENV, "")
    require(
        bool(url),
        f"PostgreSQL tests skipped: set {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test, "
        "a server with PostGIS installed); .ci/run does this",
        "WANGGE_REQUIRE_PG",
    )
    try:
        engine = make_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        require(False, f"PostgreSQL at {url} unreachable: {exc}", "WANGGE_REQUIRE_PG")
    return normalise_url(url)


def _no_flush_wait(conn: Any, name: str) -> None:
    """A test database's commits do not wait for the WAL to reach the disk (every connection
    to it, the live servers' too). A crash could lose the last commits of a database that is
    thrown away anyway; on this project's machine a commit's flush is ~3.5 ms against ~0.1 ms
    without, and the PostgreSQL tests commit tens of thousands of times. Visibility, locking
    and isolation are unchanged; benches (bench/) keep the server's setting."""
    conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))


@pytest.fixture(scope="session")
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, migrated PostGIS database for this test run, dropped afterwards."""
    name = f"wangge_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(pg_server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        _no_flush_wait(conn, name)
    url = make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except Exception as exc:  # noqa: BLE001
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        require(False, f"PostGIS is not installed on the server: {exc}", "WANGGE_REQUIRE_PG")
    engine.dispose()
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An EMPTY database of its own (PostGIS installed on PostgreSQL), dropped afterwards: for
    tests that migrate down and up, which must never touch the database the run shares."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = str(request.getfixturevalue("pg_server_url"))
    name = f"wangge_test_{uuid.uuid4().hex[:10]}_empty"
    admin = make_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        _no_flush_wait(conn, name)
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url, poolclass=NullPool)
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_pg(url: str) -> None:
    """Empty every table the migrations made (not PostGIS's nor Alembic's own)."""
    engine = make_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        names = conn.execute(
            text(
                "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename NOT IN ('spatial_ref_sys', 'alembic_version')"
            )
        ).scalars()
        conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    engine.dispose()


def make_settings(tmp_path: Path, url: str) -> Settings:
    instance = tmp_path / "instance"
    return Settings.from_env(
        {
            "WANGGE_INSTANCE_DIR": str(instance),
            "WANGGE_DATABASE_URL": url,
            "WANGGE_SECRET_KEY": "test-secret",
            # the app's own 督办 sweep would raise cards on the old cases tests make with
            # clocks of their own; tests/stages runs it deliberately
            "WANGGE_APP_SWEEP_SECONDS": "0",
        }
    )


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "wangge.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test on both databases."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    url = str(request.getfixturevalue("pg_url"))
    _truncate_pg(url)
    return url


@pytest.fixture
def pg_clean_url(pg_url: str) -> str:
    _truncate_pg(pg_url)
    return pg_url


def _app(tmp_path: Path, url: str) -> Flask:
    app = create_app(make_settings(tmp_path, url))
    app.config["TESTING"] = True
    return app


def _close(app: Flask) -> None:
    """Stop the app's change watcher (it would go on reading the next test's database) and
    close its connections."""
    app.extensions["wangge.feed"].stop()
    app.extensions["wangge.engine"].dispose()


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str) -> Iterator[Flask]:
    """The app on a fresh migrated SQLite database."""
    app = _app(tmp_path, sqlite_url)
    yield app
    _close(app)


@pytest.fixture
def any_app(tmp_path: Path, db_url: str) -> Iterator[Flask]:
    """The app on each database in turn (SQLite, then PostgreSQL)."""
    app = _app(tmp_path, db_url)
    yield app
    _close(app)


@pytest.fixture
def pg_app(tmp_path: Path, pg_clean_url: str) -> Iterator[Flask]:
    app = _app(tmp_path, pg_clean_url)
    yield app
    _close(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# -- end-to-end: pytest-playwright's fixtures (``playwright``, ``browser``, ``new_context``,
# ``context``, ``page``) on Debian's Chromium, and the app of tests/live.py


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's /usr/bin/chromium, never a downloaded one (skips, or fails in CI, without it)."""
    require(
        CHROMIUM.exists(),
        f"Chromium not found at {CHROMIUM} (apt-get install chromium): end-to-end tests skipped",
        "WANGGE_REQUIRE_BROWSER",
    )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def e2e_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One instance directory migrated and demo-seeded for the whole run (copied, never used)."""
    ensure_webapp_built()
    return seed(tmp_path_factory.mktemp("e2e") / "template")


@pytest.fixture(scope="session")
def live_server(
    e2e_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The app shared by every end-to-end test (tests add their own cases, named by text)."""
    srv = LiveServer.copy_of(e2e_template, tmp_path_factory.mktemp("e2e") / "shared").start()
    yield srv
    srv.stop()


@pytest.fixture
def own_server(e2e_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    """A private copy of the seeded app, for a test that kills or rewrites it."""
    srv = LiveServer.copy_of(e2e_template, tmp_path / "instance").start()
    yield srv
    srv.stop()


@pytest.fixture
def api_as(playwright: Any, live_server: LiveServer) -> Iterator[Any]:
    """``api_as("ddy")``: the shared app's JSON API signed in as a demo user."""
    made: list[Api] = []

    def make(username: str) -> Api:
        made.append(Api(playwright, live_server.url, username))
        return made[-1]

    yield make
    for a in made:
        a.close()


# the names these had before pytest-playwright (kept for tests written against them)
@pytest.fixture(scope="session")
def playwright_session(playwright: Any) -> Any:
    return playwright


@pytest.fixture(scope="session")
def chromium(browser: Any) -> Any:
    return browser
