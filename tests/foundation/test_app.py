"""Start-up, configuration and the health endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.app import StartupError
from server.config import Settings


def test_health_ok(any_app: Flask) -> None:
    r = any_app.test_client().get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok" and body["schema"] == body["schema_head"]


def test_health_reports_unmigrated_database(tmp_path: Path) -> None:
    settings = Settings.from_env({"WANGGE_INSTANCE_DIR": str(tmp_path), "WANGGE_SECRET_KEY": "k"})
    r = create_app(settings).test_client().get("/healthz")
    assert r.status_code == 503
    assert r.get_json()["status"] == "degraded" and r.get_json()["schema"] is None


def test_unreachable_database_is_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.from_env(
        {
            "WANGGE_INSTANCE_DIR": str(tmp_path),
            "WANGGE_DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/none",
        }
    )
    with pytest.raises(StartupError) as exc:
        create_app(settings)
    message = str(exc.value)
    assert "cannot reach the database" in message and "secret" not in message
    assert "Traceback" not in capsys.readouterr().err


def test_secret_key_generated_once_and_kept(tmp_path: Path) -> None:
    a = Settings.from_env({"WANGGE_INSTANCE_DIR": str(tmp_path)})
    b = Settings.from_env({"WANGGE_INSTANCE_DIR": str(tmp_path)})
    assert a.secret_key == b.secret_key and len(a.secret_key) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert a.database_url == f"sqlite:///{tmp_path.resolve() / 'wangge.db'}"
    assert a.timezone == "Asia/Shanghai"


def test_security_headers(client: FlaskClient) -> None:
    r = client.get("/login")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
