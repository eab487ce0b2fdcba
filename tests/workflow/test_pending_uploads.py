"""Unfinished uploads (an outside audit: 300 uploads of 20 MiB begun in 2.5 s by one grid
worker, none refused, pieces never cleaned up): a cap per user on those open and the bytes they
declare, held when begins arrive at once; and the expiry of the ones left idle, with their
files, which a phone that comes back begins again (server/usecases/pending_uploads.py)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from server import create_app
from server.config import ConfigError, Settings
from server.models import Attachment
from server.usecases import pending_uploads
from tests import factories as f
from tests.conftest import make_settings
from tests.workflow.world import World, build, jpeg

MiB = 2**20
OCTETS = {"Content-Type": "application/octet-stream"}


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def _begin(c: FlaskClient, total: int, key: str | None = None) -> tuple[str, int, dict]:
    key = key or str(uuid.uuid4())
    r = c.post("/api/v1/uploads", json={"uuid": key, "total_bytes": total})
    return key, r.status_code, r.get_json()


def _caps(w: World, count: int | None = None, size: int | None = None) -> None:
    cfg = w.app.extensions["wangge.settings"]
    if count is not None:
        cfg.pending_uploads_per_user = count
    if size is not None:
        cfg.pending_upload_bytes_per_user = size


def _count(w: World, who: str) -> int:
    with w.session() as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(Attachment)
                .where(Attachment.uploader_id == w.users[who])
            )
            or 0
        )


# --- the cap ---------------------------------------------------------------------------------


def test_a_user_has_at_most_n_unfinished_uploads(any_world: World) -> None:
    w = any_world
    _caps(w, count=3)
    c = _client(w, "wg1")
    data = jpeg((300, 200))
    keys = []
    for _ in range(3):
        key, status, _body = _begin(c, len(data))
        assert status == 201
        keys.append(key)
    c.put(f"/api/v1/uploads/{keys[0]}?offset=0", data=data[:100], headers=OCTETS)
    r = c.post("/api/v1/uploads", json={"uuid": str(uuid.uuid4()), "total_bytes": len(data)})
    assert r.status_code == 429, r.get_json()
    body = r.get_json()
    assert body["error"] == "too_many_pending_uploads"
    assert body["limit"] == 3 and body["pending"] == 3 and body["pending_bytes"] == 3 * len(data)
    assert " / " in body["message"] and "未完成的上传" in body["message"]
    assert r.headers["Retry-After"] == str(pending_uploads.RETRY_SECONDS)
    # nothing of the user's is lost: each resumes and goes on where it was
    _key, status, state = _begin(c, len(data), keys[0])
    assert status == 200 and state["received_bytes"] == 100
    r = c.put(f"/api/v1/uploads/{keys[0]}?offset=100", data=data[100:], headers=OCTETS)
    assert r.status_code == 200 and r.get_json()["status"] == "ready"
    # a finished upload frees its place
    assert _begin(c, len(data))[1] == 201
    assert _begin(c, len(data))[1] == 429
    assert _count(w, "wg1") == 4
    # the cap is each user's own
    assert _begin(_client(w, "wg2"), len(data))[1] == 201


def test_a_user_declares_at_most_m_bytes_of_unfinished_uploads(any_world: World) -> None:
    w = any_world
    _caps(w, size=30 * MiB)
    c = _client(w, "wg1")
    assert _begin(c, 20 * MiB)[1] == 201
    assert _begin(c, 10 * MiB)[1] == 201
    _key, status, body = _begin(c, 1)
    assert status == 429 and body["error"] == "too_many_pending_uploads"
    assert body["pending_bytes"] == 30 * MiB and body["limit_bytes"] == 30 * MiB


def test_admins_are_capped_too(any_world: World) -> None:
    w = any_world
    _caps(w, count=1)
    c = _client(w, "admin")
    assert _begin(c, 1000)[1] == 201
    assert _begin(c, 1000)[1] == 429


def test_begins_at_once_hold_the_cap(any_world: World) -> None:
    """Twelve begins of one user at once against a cap of five: five in, seven refused."""
    w = any_world
    _caps(w, count=5)
    clients = [_client(w, "wg1") for _ in range(12)]
    with ThreadPoolExecutor(12) as pool:
        codes = sorted(pool.map(lambda c: _begin(c, 1000)[1], clients))
    assert codes == [201] * 5 + [429] * 7
    assert _count(w, "wg1") == 5


def test_the_same_upload_begun_at_once_at_the_cap_is_one_upload(any_world: World) -> None:
    """A phone's retry of a begin while the first is stored is that upload (200), not a new
    one counted against the cap (429)."""
    w = any_world
    _caps(w, count=5)
    c = _client(w, "wg1")
    for _ in range(4):
        assert _begin(c, 1000)[1] == 201
    key = str(uuid.uuid4())
    clients = [_client(w, "wg1") for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(lambda c: _begin(c, 1000, key)[1], clients))
    assert codes == [200] * 5 + [201]
    assert _count(w, "wg1") == 5


def test_the_caps_are_settings() -> None:
    base = {"WANGGE_INSTANCE_DIR": "/tmp/wangge-caps", "WANGGE_SECRET_KEY": "x"}
    s = Settings.from_env(base)
    assert (s.pending_uploads_per_user, s.pending_upload_bytes_per_user) == (50, 500 * MiB)
    assert s.upload_expiry_days == 7
    s = Settings.from_env(
        base | {"WANGGE_PENDING_UPLOADS_PER_USER": "10",
                "WANGGE_PENDING_UPLOAD_BYTES_PER_USER": str(100 * MiB),
                "WANGGE_UPLOAD_EXPIRY_DAYS": "14"}
    )  # fmt: skip
    assert (s.pending_uploads_per_user, s.pending_upload_bytes_per_user) == (10, 100 * MiB)
    assert s.upload_expiry_days == 14
    for bad in (
        {"WANGGE_PENDING_UPLOADS_PER_USER": "0"},
        {"WANGGE_UPLOAD_EXPIRY_DAYS": "0"},
        # smaller than the largest photo: a photo that large could never begin
        {"WANGGE_PENDING_UPLOAD_BYTES_PER_USER": str(10 * MiB)},
    ):
        with pytest.raises(ConfigError):
            Settings.from_env(base | bad)
    # a larger largest photo raises the default with it
    s = Settings.from_env(base | {"WANGGE_MAX_UPLOAD_BYTES": str(600 * MiB)})
    assert s.pending_upload_bytes_per_user == 600 * MiB


# --- the expiry ------------------------------------------------------------------------------


def _age(w: World, key: str, days: float) -> None:
    then = datetime.now(UTC) - timedelta(days=days)
    with w.session() as db:
        db.execute(
            update(Attachment)
            .where(Attachment.uuid == key)
            .values(touched_at=then, created_at=then)
        )
        db.commit()


def _part(w: World, key: str) -> Path:
    return Path(w.app.extensions["wangge.settings"].upload_dir) / "parts" / f"{key}.part"


def _exists(w: World, key: str) -> bool:
    with w.session() as db:
        return db.scalar(select(Attachment.id).where(Attachment.uuid == key)) is not None


def test_idle_unfinished_uploads_expire_with_their_files(any_world: World) -> None:
    w = any_world
    c = _client(w, "wg1")
    data = jpeg((300, 200))
    half = len(data) // 2

    def started() -> str:
        key, status, _ = _begin(c, len(data))
        assert status == 201
        assert c.put(f"/api/v1/uploads/{key}?offset=0", data=data[:half],
                     headers=OCTETS).status_code == 200  # fmt: skip
        return key

    idle, fresh, resumed = started(), started(), started()
    _age(w, idle, 8)
    _age(w, resumed, 8)
    # the phone came back yesterday: its begin (a resume) is a sign of life
    assert _begin(c, len(data), resumed)[1] == 200
    done, _, _ = _begin(c, len(data))
    assert c.put(f"/api/v1/uploads/{done}?offset=0", data=data, headers=OCTETS).status_code == 200
    _age(w, done, 30)  # a finished photo, however old, is never expired
    parts = _part(w, idle).parent
    stray, new_stray = parts / f"{uuid.uuid4()}.part", parts / f"{uuid.uuid4()}.part"
    stray.write_bytes(b"x" * 10)
    new_stray.write_bytes(b"x" * 10)
    old = (datetime.now(UTC) - timedelta(days=8)).timestamp()
    os.utime(stray, (old, old))
    os.utime(_part(w, resumed), (old, old))  # its file is old, its upload alive

    out = w.app.test_cli_runner().invoke(args=["uploads", "expire", "--format", "json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert (got["uploads"], got["received_bytes"], got["stray_files"]) == (1, half, 1)
    assert got["days"] == 7
    assert not _exists(w, idle) and not _part(w, idle).exists()
    for key in (fresh, resumed, done):
        assert _exists(w, key)
    assert _part(w, fresh).exists() and _part(w, resumed).exists()
    assert not stray.exists() and new_stray.exists()

    # a piece for it now: 404; the phone begins it again (every send does) and sends it whole
    r = c.put(f"/api/v1/uploads/{idle}?offset={half}", data=data[half:], headers=OCTETS)
    assert r.status_code == 404
    key, status, state = _begin(c, len(data), idle)
    assert status == 201 and state["received_bytes"] == 0
    r = c.put(f"/api/v1/uploads/{idle}?offset=0", data=data, headers=OCTETS)
    assert r.status_code == 200 and r.get_json()["status"] == "ready"
    # a second run finds nothing
    out = w.app.test_cli_runner().invoke(args=["uploads", "expire", "--days", "7"])
    assert out.exit_code == 0 and out.output.startswith("0 unfinished upload(s)")


def test_an_expired_upload_frees_its_place_under_the_cap(any_world: World) -> None:
    w = any_world
    _caps(w, count=2)
    c = _client(w, "wg1")
    first = _begin(c, 1000)[0]
    assert _begin(c, 1000)[1] == 201
    assert _begin(c, 1000)[1] == 429
    _age(w, first, 8)
    with w.session() as db:
        assert pending_uploads.expire(w.ctx(db)).uploads == 1
    assert _begin(c, 1000)[1] == 201


def test_a_resume_in_the_same_moment_as_the_expiry_begins_again(
    any_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The expiry deleted the upload after the begin read it: the begin does not answer for a
    row that is gone (a 500 on its update), it begins the upload again."""
    from server.usecases import photos

    w = any_world
    c = _client(w, "wg1")
    key, _, _ = _begin(c, 1000)
    _age(w, key, 8)
    real = photos._resumed

    def expired_meanwhile(ctx: Any, att: Any) -> bool:
        pending_uploads.expire(ctx)  # another process's sweep, between the read and the touch
        return real(ctx, att)

    monkeypatch.setattr(photos, "_resumed", expired_meanwhile)
    _key, status, state = _begin(c, 1000, key)
    assert status == 201 and state["received_bytes"] == 0  # begun again
    assert _exists(w, key)


def test_the_app_expires_uploads_after_a_response_at_most_hourly(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = dataclasses.replace(make_settings(tmp_path, sqlite_url), app_sweep_seconds=60.0)
    app = create_app(settings)
    app.config["TESTING"] = True
    try:
        w = build(app)
        c = _client(w, "wg1")
        first = _begin(c, 1000)[0]
        _age(w, first, 8)
        pending_uploads._last = -math.inf
        from server.usecases import stages

        stages._last_sweep = -math.inf
        c.get("/healthz").close()  # the sweep runs once the response is done with
        assert not _exists(w, first)
        second = _begin(c, 1000)[0]
        _age(w, second, 8)
        stages._last_sweep = -math.inf
        c.get("/healthz").close()  # within the hour: not again
        assert _exists(w, second)
        pending_uploads._last -= 3601
        stages._last_sweep = -math.inf
        c.get("/healthz").close()
        assert not _exists(w, second)
    finally:
        pending_uploads._last = -math.inf
        app.extensions["wangge.engine"].dispose()
