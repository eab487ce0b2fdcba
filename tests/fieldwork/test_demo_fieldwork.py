"""The demo's field work (server/demo_fieldwork.py): real-looking patrols whose stored summaries
agree with their positions, check-ins in the workers' own grids, visits made on a patrol, and a
town supervisor who sees a worker's day on the map while the county's does not."""

from __future__ import annotations

from collections import defaultdict
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from flask import Flask
from sqlalchemy import select

from geo.tracks import path_length_m
from server.domain.fieldwork import CheckInStatus
from server.models import CheckIn, Patrol, TrackPoint, User, Visit
from server.usecases.patrols import worker_area
from tests import factories as f


def test_demo_field_work(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "field work:" in result.output
    with f.session(app) as db:
        workers = list(db.scalars(select(User).where(User.role == "grid_worker")))
        patrols = list(db.scalars(select(Patrol)))
        by_worker: dict[int, list[Patrol]] = defaultdict(list)
        for p in patrols:
            by_worker[p.worker_id].append(p)
        assert set(by_worker) == {u.id for u in workers}  # every worker patrols
        assert all(len(ps) >= 10 for ps in by_worker.values())
        for p in patrols[:: max(1, len(patrols) // 25)]:
            rows = db.execute(
                select(TrackPoint.at, TrackPoint.lon, TrackPoint.lat)
                .where(TrackPoint.patrol_id == p.id)
                .order_by(TrackPoint.at)
            ).all()
            assert p.points == len(rows) > 10
            lon, lat = [r.lon for r in rows], [r.lat for r in rows]
            assert abs(path_length_m(lon, lat) - p.distance_m) < 1.0
            assert p.ended_at is not None and rows[-1].at <= p.ended_at
            assert p.started_at <= rows[0].at
            assert 20 * 60 <= p.duration_s <= 3 * 3600
            assert p.coverage is not None and 0 < p.coverage <= 1
            area = worker_area(db, p.worker_id)
            inside = shapely.contains_xy(area.buffer(0.0003), np.array(lon), np.array(lat))
            assert inside.mean() > 0.95  # GPS noise aside, the walk stays in the worker's grids
        checks = list(db.scalars(select(CheckIn)))
        accepted = [c for c in checks if c.status == CheckInStatus.ACCEPTED]
        assert any(c.late for c in accepted) and not all(c.late for c in accepted)
        assert [c.makeup for c in checks if c.status == CheckInStatus.PENDING] == [True, True]
        for c in accepted[:: max(1, len(accepted) // 20)]:
            assert worker_area(db, c.worker_id).buffer(0.0003).contains(shapely.Point(c.lon, c.lat))
        linked = 0
        for v in db.scalars(select(Visit).where(Visit.lon.is_not(None))):
            mine = by_worker[v.visitor_id or 0]
            assert any(p.started_at <= v.visited_at <= (p.ended_at or p.started_at) for p in mine)
            linked += 1
        assert linked > 20
        wgy05 = db.scalar(select(User).where(User.username == "wgy05"))
        assert wgy05 is not None
        last = max(p.started_at for p in by_worker[wgy05.id])
        day = last.astimezone(ZoneInfo("Asia/Shanghai")).date()

    town = app.test_client()
    f.login(town, "dtdc", "wangge-demo")
    answer = town.get(f"/api/v1/workers/{wgy05.id}/day", query_string={"date": day.isoformat()})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["patrols"] and all(p["track"]["type"] == "LineString" for p in body["patrols"])
    assert body["check_in"] is not None or body["patrols"]
    county = app.test_client()
    f.login(county, "dcy", "wangge-demo")
    refused = county.get(f"/api/v1/workers/{wgy05.id}/day", query_string={"date": day.isoformat()})
    assert refused.status_code == 403
