"""Start-up and the command line: an unmigrated database, the user rules, bad settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from server import create_app
from server.cli import EXIT_SCHEMA
from server.config import ConfigError, Settings
from server.models import User
from tests import factories as f
from tests.support import ROOT

BIN = Path(sys.executable).parent


# -- an unmigrated database ----------------------------------------------------------------------


@pytest.fixture
def empty_app(tmp_path: Path) -> Flask:
    """The app on a database nobody has migrated (``flask db upgrade`` forgotten)."""
    settings = Settings.from_env(
        {"WANGGE_INSTANCE_DIR": str(tmp_path / "instance"), "WANGGE_SECRET_KEY": "k"}
    )
    return create_app(settings)


@pytest.mark.parametrize(
    "args",
    [
        ["grids", "validate", "plan.geojson"],
        ["grids", "list"],
        ["users", "list"],
        ["users", "create", "zhang", "--role", "admin", "--password", "long-enough-1"],
        ["catalog", "seed"],
        ["open311", "list-keys"],
        ["metrics", "check"],
    ],
)
def test_unmigrated_database_is_a_clear_message(empty_app: Flask, args: list[str]) -> None:
    result = empty_app.test_cli_runner().invoke(args=args)
    assert result.exit_code == EXIT_SCHEMA, result.output
    assert isinstance(result.exception, SystemExit)  # not a traceback
    assert "flask --app wsgi db upgrade" in result.output
    assert "Traceback" not in result.output


def test_unmigrated_database_json_format(empty_app: Flask) -> None:
    result = empty_app.test_cli_runner().invoke(
        args=["grids", "validate", "plan.geojson", "--format", "json"]
    )
    assert result.exit_code == EXIT_SCHEMA
    first = json.loads(result.output.splitlines()[0])
    assert first["error"] == "schema" and "db upgrade" in first["message"]


def test_help_and_db_upgrade_work_on_an_empty_database(empty_app: Flask) -> None:
    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["grids", "validate", "--help"]).exit_code == 0
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["users", "list"]).exit_code == 0


def test_schema_behind_head_is_a_clear_message(empty_app: Flask) -> None:
    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0001"]).exit_code == 0
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == EXIT_SCHEMA
    assert "the schema is at 0001" in result.output


# -- users: the admin use cases' rules -----------------------------------------------------------


def _setup(app: Flask) -> None:
    with f.session(app) as db:
        county = f.region(db, "640181", "灵武市", "county")
        f.user(db, "root", "admin", region=county)
        db.commit()


def _cli(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def _usernames(app: Flask) -> set[str]:
    with f.session(app) as db:
        return set(db.scalars(select(User.username)))


def test_users_create_applies_the_admin_rules(any_app: Flask) -> None:
    _setup(any_app)
    pw = ("--password", "long-enough-1")
    code, out = _cli(any_app, "users", "create", "ddy", "--role", "dispatcher", *pw)
    assert code == 1 and "region_code" in out, out
    code, out = _cli(any_app, "users", "create", "czry", "--role", "handler", *pw)
    assert code == 1 and "department_id" in out, out
    code, out = _cli(
        any_app, "users", "create", "ddy", "--role", "dispatcher", "--region", "640181",
        "--password", "short",
    )  # fmt: skip
    assert code == 1 and "password" in out, out
    code, out = _cli(any_app, "users", "create", "a b", "--role", "admin", *pw)
    assert code == 1 and "username" in out, out
    code, out = _cli(
        any_app, "users", "create", "czry", "--role", "handler", "--department", "x", *pw
    )
    assert code == 2 and "no department with code x" in out, out
    # a grid duty in no active plan: refused, and the user is not left behind half-made
    code, out = _cli(
        any_app, "users", "create", "wgy", "--role", "grid_worker", "--region", "640181",
        "--grid", "640181001001001", *pw,
    )  # fmt: skip
    assert code == 1 and "duties[0].grid_code" in out, out
    assert _usernames(any_app) == {"root"}
    code, out = _cli(
        any_app, "users", "create", "ddy", "--role", "dispatcher", "--region", "640181", *pw
    )
    assert code == 0, out
    assert _usernames(any_app) == {"root", "ddy"}


def test_users_disable_keeps_one_admin(any_app: Flask) -> None:
    _setup(any_app)
    code, out = _cli(any_app, "users", "disable", "root")
    assert code == 1 and "at least one active admin" in out, out
    assert (
        _cli(any_app, "users", "create", "root2", "--role", "admin", "--password", "x" * 10)[0] == 0
    )
    code, out = _cli(any_app, "users", "disable", "root")
    assert code == 0, out
    with f.session(any_app) as db:
        root = db.scalar(select(User).where(User.username == "root"))
        assert root is not None and not root.active and root.session_epoch == 1
    code, out = _cli(any_app, "users", "passwd", "root2", "--password", "short")
    assert code == 1 and "password" in out
    assert _cli(any_app, "users", "enable", "root")[0] == 0
    assert _cli(any_app, "users", "disable", "nobody")[0] == 1


# -- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WANGGE_SESSION_DAYS", "abc"),
        ("WANGGE_SESSION_DAYS", "0"),
        ("WANGGE_LOGIN_MAX_FAILURES", "²"),
        ("WANGGE_MAX_UPLOAD_BYTES", "20M"),
        ("WANGGE_PROXY_COUNT", "-1"),
        ("WANGGE_DUPLICATE_RADIUS_M", "nan"),
        ("WANGGE_LOCATE_TOLERANCE_M", "far"),
        ("WANGGE_COOKIE_SECURE", "enabled"),
        ("WANGGE_TIMEZONE", "Mars/Olympus"),
        ("WANGGE_OFFICE_HOURS", "9-5"),
        ("WANGGE_DATABASE_URL", "garbage://"),
        ("WANGGE_MAX_PLAN_BYTES", "-5"),
        ("WANGGE_MAX_PLAN_BYTES", "0"),
        ("WANGGE_LONG_POLL_SECONDS", "nan"),
        ("WANGGE_LONG_POLL_SECONDS", "100000"),
        ("WANGGE_LONG_POLL_SECONDS", "-1"),
        ("WANGGE_LONG_POLL_PER_USER", "many"),
        ("WANGGE_MAX_IMAGE_PIXELS", "1000000000000"),
        ("WANGGE_IMAGE_WORKERS", "0"),
    ],
)
def test_bad_setting_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({"WANGGE_INSTANCE_DIR": str(tmp_path), name: value})
    assert str(exc.value).startswith(f"{name}={value!r}: ")


def test_good_settings(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "WANGGE_INSTANCE_DIR": str(tmp_path),
            "WANGGE_SESSION_DAYS": " 7 ",
            "WANGGE_COOKIE_SECURE": "TRUE",
            "WANGGE_PROXY_COUNT": "1",
            "WANGGE_DUPLICATE_RADIUS_M": "12.5",
            "WANGGE_SESSION_DAYS_UNUSED": "x",
        }
    )
    assert (s.session_days, s.cookie_secure, s.proxy_count, s.duplicate_radius_m) == (
        7,
        True,
        1,
        12.5,
    )


def test_settings_reach_the_app(tmp_path: Path) -> None:
    env = {"WANGGE_INSTANCE_DIR": str(tmp_path), "WANGGE_SECRET_KEY": "k"}
    env |= {"WANGGE_MAX_PLAN_BYTES": "1000", "WANGGE_LONG_POLL_SECONDS": "5"}
    app = create_app(Settings.from_env(env))
    assert app.config["WANGGE_MAX_PLAN_BYTES"] == 1000
    assert app.config["WANGGE_LONG_POLL_SECONDS"] == 5.0


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("WANGGE_SESSION_DAYS", "abc", "whole number"),
        ("WANGGE_DATABASE_URL", "garbage://", "not a database URL"),
    ],
)
def test_bad_setting_at_the_command_line_is_one_line(
    tmp_path: Path, name: str, value: str, says: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANGGE_")}
    env.update({"WANGGE_INSTANCE_DIR": str(tmp_path), name: value})
    run = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", "users", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert f"{name}={value!r}" in run.stderr and says in run.stderr
    assert "Traceback" not in run.stderr


# -- the web server on an unmigrated database ----------------------------------------------------


def test_unmigrated_database_answers_503_naming_the_fix(empty_app: Flask) -> None:
    c = empty_app.test_client()
    assert c.get("/healthz").status_code == 503
    r = c.post("/api/v1/auth/login", json={"username": "a", "password": "b"})
    assert r.status_code == 503, r.data
    assert r.get_json()["error"] == "schema_not_migrated"
    assert "flask --app wsgi db upgrade" in r.get_json()["message"]
    r = c.get("/open311/v2/services.json")
    assert r.status_code == 503 and r.get_json()["error"] == "schema_not_migrated"
    r = c.get("/login", headers={"Accept": "text/html"})
    assert r.status_code == 503 and r.mimetype == "text/html"
    assert "db upgrade" in r.get_data(as_text=True)
    # the command line still migrates, and then the app serves
    assert empty_app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    assert c.post("/api/v1/auth/login", json={"username": "a", "password": "b"}).status_code != 503
    assert c.get("/open311/v2/services.json").status_code == 200


def test_schema_at_head_is_not_looked_at_again(empty_app: Flask) -> None:
    from server.schema_guard import SchemaGuard

    guard: SchemaGuard = empty_app.extensions["wangge.schema_guard"]
    assert not guard.ok()
    checked = guard.checked
    assert not guard.ok() and guard.checked == checked  # not again within RECHECK_SECONDS
    empty_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert guard.ok() and guard.at_head
