"""Start-up, configuration and the health endpoint."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import create_app
from server.app import StartupError
from server.config import Settings
from server.domain.worktime import CalendarDay


def test_health_ok(any_app: Flask) -> None:
    any_app.extensions["wangge.clock"] = lambda: datetime(2026, 6, 1, tzinfo=UTC)
    r = any_app.test_client().get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok" and body["schema"] == body["schema_head"]
    assert body["reasons"] == []


def test_health_degraded_from_november_when_next_year_is_unknown(any_app: Flask) -> None:
    """chinesecalendar 1.11.0 knows up to 2026: from 1 November 2026 (Asia/Shanghai) /healthz
    says an operator must enter 2027; still 200, the service works (Mon-Fri fallback)."""
    c = any_app.test_client()
    any_app.extensions["wangge.clock"] = lambda: datetime(2026, 10, 31, 15, 59, tzinfo=UTC)
    assert c.get("/healthz").get_json()["status"] == "ok"
    any_app.extensions["wangge.clock"] = lambda: datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    r = c.get("/healthz")
    assert r.status_code == 200
    assert r.get_json()["status"] == "degraded"
    assert r.get_json()["reasons"] == ["calendar: 2027 unknown"]
    any_app.extensions["wangge.clock"] = lambda: datetime(2027, 3, 1, tzinfo=UTC)
    assert c.get("/healthz").get_json()["reasons"] == ["calendar: 2027 unknown"]
    with any_app.app_context():
        from server.extensions import db
        from server.usecases.calendar import replace_year

        replace_year(db(), 2027, [CalendarDay(date(2027, 1, 1), "holiday", "元旦")],
                     reason="test", actor_name="test")  # fmt: skip
    body = c.get("/healthz").get_json()
    assert body["status"] == "ok" and body["reasons"] == []


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
