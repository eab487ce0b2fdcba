"""``flask open311 create-key|revoke-key|list-keys``."""

from __future__ import annotations

import hashlib

from flask import Flask
from sqlalchemy import select

from server.cli.open311 import group
from server.models.open311 import ApiKey
from tests.open311.conftest import Open311World
from tests.open311.util import form

FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def _cli(app: Flask, *args: str) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(group, list(args))
    return result.exit_code, result.stdout, result.stderr


def _post(app: Flask, key: str) -> int:
    resp = app.test_client().post("/open311/v2/requests.json", data=form(key))
    return resp.status_code


def test_create_use_list_revoke(o311: Open311World) -> None:
    app = o311.app
    code, out, err = _cli(app, "create-key", "12345-yinchuan", "--region", "640104", "--by", "李工")
    assert code == 0, err
    key = out.strip()
    assert key.startswith("wg311_") and len(key) > 40 and "\n" not in key
    assert "cannot be shown again" in err and "兴庆区" in err
    with o311.world.session() as db:
        row = db.scalar(select(ApiKey).where(ApiKey.name == "12345-yinchuan"))
        assert row is not None and row.created_by == "李工" and row.revoked_at is None
        assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert _post(app, key) == 200

    code, out, _ = _cli(app, "list-keys")
    assert code == 0
    lines = out.splitlines()
    assert any(
        line.startswith("12345-yinchuan") and "active" in line and "兴庆区" in line
        for line in lines
    )
    assert key not in out

    code, out, _ = _cli(app, "revoke-key", "12345-yinchuan")
    assert code == 0 and "revoked" in out
    assert _post(app, key) == 403
    code, out, _ = _cli(app, "list-keys")
    assert any(line.startswith("12345-yinchuan") and "revoked" in line for line in out.splitlines())
    # Revoking again is harmless; the name is never reused.
    assert _cli(app, "revoke-key", "12345-yinchuan")[0] == 0
    code, _, err = _cli(app, "create-key", "12345-yinchuan")
    assert code != 0 and "exists already" in err


def test_cli_errors(o311: Open311World) -> None:
    code, _, err = _cli(o311.app, "create-key", "x", "--region", "999999")
    assert code != 0 and "no region" in err
    code, _, err = _cli(o311.app, "revoke-key", "nobody")
    assert code != 0 and "no key named" in err
    code, _, err = _cli(o311.app, "create-key", "n" * 65)
    assert code != 0 and "1–64" in err


def test_two_keys_are_different(o311: Open311World) -> None:
    first = _cli(o311.app, "create-key", "a")[1].strip()
    second = _cli(o311.app, "create-key", "b")[1].strip()
    assert first != second and first != o311.key


def test_registered_with_the_app(o311: Open311World) -> None:
    """``flask --app wsgi open311 …`` and ``/open311/v2`` come with the app factory."""
    app = o311.app
    assert "open311" in app.blueprints
    result = app.test_cli_runner().invoke(args=["open311", "list-keys"])
    assert result.exit_code == 0 and "12345-lingwu" in result.stdout
    # CSRF does not apply: a POST without a session or token is judged by its api_key alone.
    assert app.test_client().post("/open311/v2/requests.json", data={}).status_code == 403
