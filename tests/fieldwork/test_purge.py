"""Retention: ``flask fieldwork purge`` deletes positions older than
WANGGE_TRACK_RETENTION_DAYS; the patrols and their summaries stay."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.config import ConfigError, Settings
from server.models.fieldwork import Patrol, TrackPoint
from server.usecases import patrols as uc
from tests.workflow.world import IN_G1, World


def _patrol(w: World, started: datetime, n: int) -> str:
    key = str(uuid.uuid4())
    with w.session() as db:
        ctx, actor = w.ctx(db), w.actor(db, "wg1")
        ctx.clock = lambda: started + timedelta(hours=1)
        uc.start(ctx, actor, {"uuid": key, "started_at": started.isoformat(),
                              "lon": IN_G1[0], "lat": IN_G1[1]})  # fmt: skip
        t0 = round(started.timestamp() * 1000)
        pts = [[t0 + i * 10_000, IN_G1[0], IN_G1[1] + i * 1e-4, 5.0] for i in range(n)]
        uc.add_chunk(ctx, actor, key, {"uuid": str(uuid.uuid4()), "seq": 0, "points": pts})
        uc.end(ctx, actor, key, {"ended_at": (started + timedelta(minutes=30)).isoformat()})
    return key


def test_purge_deletes_old_positions_and_keeps_summaries(fw: World) -> None:
    now = datetime.now(UTC)
    old = _patrol(fw, now - timedelta(days=200), 20)
    new = _patrol(fw, now - timedelta(days=3), 10)
    runner = fw.app.test_cli_runner()
    out = runner.invoke(args=["fieldwork", "purge", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["points"] == 20
    assert json.loads(out.output)["days"] == 180
    with fw.session() as db:
        left = db.scalar(select(func.count()).select_from(TrackPoint))
        assert left == 10
        kept = db.scalar(select(Patrol).where(Patrol.uuid == old))
        assert kept is not None
        assert kept.points == 20 and kept.distance_m > 0  # the summary stays
        assert kept.start_lon is None and kept.start_lat is None
        fresh = db.scalar(select(Patrol).where(Patrol.uuid == new))
        assert fresh is not None and fresh.start_lon is not None
    again = runner.invoke(args=["fieldwork", "purge", "--days", "1"])
    assert again.exit_code == 0
    assert again.output.startswith("10 position(s) older than 1 days deleted")


def test_retention_setting(tmp_path: object) -> None:
    base = {"WANGGE_INSTANCE_DIR": str(tmp_path)}
    assert Settings.from_env(base).track_retention_days == 180
    env = {**base, "WANGGE_TRACK_RETENTION_DAYS": "30"}
    assert Settings.from_env(env).track_retention_days == 30
    for bad in ("0", "abc", "-5", "１０"):
        with pytest.raises(ConfigError, match="WANGGE_TRACK_RETENTION_DAYS"):
            Settings.from_env({**base, "WANGGE_TRACK_RETENTION_DAYS": bad})
