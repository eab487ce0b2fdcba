"""The demo's field work: three weeks of patrols with GPS tracks, check-ins and linked visits.

Every grid worker of the demo (both counties) checks in on most working days between 08:10 and
09:10 (so some are late), and walks one or two patrols a day through their grids: straight legs
between random places inside the grids at walking pace, a position every 30 s with a few metres
of GPS noise. Some of the base data's visits of those days are moved onto a patrol (made at a
position of its track), so the console's map shows visits on a patrol; a few workers have a
补签 waiting for approval. Summaries (distance, duration, coverage) are
computed by the same rules as a real patrol's (server/domain/tracks.py). Inserted in bulk:
about 140,000 positions take a few seconds.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from server.domain import tracks
from server.domain import workflow as wf
from server.domain.fieldwork import CheckInStatus
from server.models import (
    CheckIn,
    Grid,
    GridAssignment,
    GridPlan,
    Patrol,
    Region,
    TrackChunk,
    TrackPoint,
    User,
    Visit,
)
from server.usecases.base_io.imports import table_of

TZ = ZoneInfo("Asia/Shanghai")
FIX_EVERY_S = 30
WALK_M_S = (1.0, 1.4)
GPS_NOISE_M = 4.0
M_PER_DEG_LAT = 111_320.0
MAKEUP_REASONS = ("当天手机没电，未能签到", "入户走访信号差，签到未成功")


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _local(day: date, hour: float) -> datetime:
    minutes = round(hour * 60)
    return datetime.combine(day, time(minutes // 60, minutes % 60), TZ).astimezone(UTC)


def _inside(area: BaseGeometry, rng: random.Random, n: int) -> list[tuple[float, float]]:
    """``n`` random places inside ``area`` (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = area.bounds
    out: list[tuple[float, float]] = []
    while len(out) < n:
        xs = [rng.uniform(minx, maxx) for _ in range(64)]
        ys = [rng.uniform(miny, maxy) for _ in range(64)]
        hit = shapely.contains_xy(area, np.array(xs), np.array(ys))
        out.extend((x, y) for x, y, h in zip(xs, ys, hit, strict=True) if h)
    return out[:n]


def _walk(
    area: BaseGeometry, start: datetime, minutes: float, rng: random.Random
) -> tuple[list[int], list[float], list[float]]:
    """Positions of a walk of about ``minutes`` between random places inside ``area``."""
    speed = rng.uniform(*WALK_M_S)
    legs = _inside(area, rng, 12)
    t0 = tracks.epoch_ms(start)
    t_ms: list[int] = []
    lon: list[float] = []
    lat: list[float] = []
    elapsed = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(legs):
        m_per_deg_lon = M_PER_DEG_LAT * np.cos(np.radians(y0))
        length = float(np.hypot((x1 - x0) * m_per_deg_lon, (y1 - y0) * M_PER_DEG_LAT))
        steps = max(1, int(length / speed / FIX_EVERY_S))
        for i in range(steps):
            if elapsed >= minutes * 60:
                return t_ms, lon, lat
            f = i / steps
            t_ms.append(t0 + int(elapsed * 1000))
            lon.append(x0 + (x1 - x0) * f + rng.gauss(0, GPS_NOISE_M) / m_per_deg_lon)
            lat.append(y0 + (y1 - y0) * f + rng.gauss(0, GPS_NOISE_M) / M_PER_DEG_LAT)
            elapsed += FIX_EVERY_S
    return t_ms, lon, lat


def _workers(db: Session) -> list[tuple[User, dict[str, Any], BaseGeometry]]:
    """Each grid worker with the place of their first grid and the union of their grids."""
    rows = db.execute(
        select(GridAssignment.user_id, Grid.code, Grid.geom, Grid.community_id)
        .join(Grid, Grid.code == GridAssignment.grid_code)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .where(GridPlan.status == "active")
        .order_by(GridAssignment.user_id, Grid.code)
    ).all()
    regions = {r.id: r for r in db.scalars(select(Region))}
    by_user: dict[int, list[Any]] = {}
    for row in rows:
        by_user.setdefault(row.user_id, []).append(row)
    out = []
    for user in db.scalars(
        select(User).where(User.role == wf.Role.GRID_WORKER, User.active).order_by(User.id)
    ):
        grids = by_user.get(user.id)
        if not grids:
            continue
        community = regions[grids[0].community_id]
        town = regions[community.parent_id] if community.parent_id else None
        place = {
            "grid_code": grids[0].code,
            "community_id": community.id,
            "town_id": town.id if town else None,
            "county_id": town.parent_id if town else None,
        }
        area = shapely.union_all(np.asarray([g.geom for g in grids], dtype=object))
        out.append((user, place, area))
    return out


def seed_field_work(db: Session, rng: random.Random, days: int = 21) -> str:
    """Patrols, tracks, check-ins and linked visits for the ``days`` before today."""
    today = datetime.now(TZ).date()
    n_patrols = n_points = n_checkins = n_linked = 0
    pending_left = 2
    for user, place, area in _workers(db):
        first = _inside(area, rng, 1)[0]
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            if day.weekday() >= 5 or rng.random() < 0.06:
                # a weekend or a day off; now and then a forgotten check-in is asked for later
                if day.weekday() < 5 and back <= 6 and pending_left:
                    pending_left -= 1
                    asked = _local(day + timedelta(days=1), 8.5)
                    db.add(
                        CheckIn(
                            uuid=str(uuid.uuid4()),
                            content_hash=_digest(user.id, day, "makeup"),
                            worker_id=user.id,
                            day=day,
                            at=asked,
                            received_at=asked,
                            makeup=True,
                            reason=rng.choice(MAKEUP_REASONS),
                            status=CheckInStatus.PENDING,
                            **place,
                        )
                    )
                    n_checkins += 1
                continue
            hour = rng.uniform(8.15, 9.2)
            at = _local(day, hour)
            x, y = _inside(area, rng, 1)[0] if rng.random() < 0.5 else first
            db.add(
                CheckIn(
                    uuid=str(uuid.uuid4()),
                    content_hash=_digest(user.id, day),
                    worker_id=user.id,
                    day=day,
                    at=at,
                    received_at=at,
                    lon=x,
                    lat=y,
                    accuracy_m=rng.choice((8.0, 12.0, 20.0)),
                    late=hour > 9.0,
                    status=CheckInStatus.ACCEPTED,
                    **place,
                )
            )
            n_checkins += 1
            starts = [rng.uniform(9.3, 10.5)] + (
                [rng.uniform(14.5, 15.5)] if rng.random() < 0.6 else []
            )
            for start_hour in starts:
                started = _local(day, start_hour)
                t_ms, lon, lat = _walk(area, started, rng.uniform(40, 110), rng)
                if len(t_ms) < 2:
                    continue
                ended = tracks.from_epoch_ms(t_ms[-1] + FIX_EVERY_S * 1000)
                s = tracks.summarise(
                    tracks.epoch_ms(started), tracks.epoch_ms(ended), t_ms, lon, lat, area
                )
                patrol = Patrol(
                    uuid=str(uuid.uuid4()),
                    content_hash=_digest(user.id, started),
                    worker_id=user.id,
                    started_at=started,
                    ended_at=ended,
                    end_hash=_digest(ended),
                    start_lon=lon[0],
                    start_lat=lat[0],
                    points=s.points,
                    distance_m=s.distance_m,
                    duration_s=s.duration_s,
                    coverage=s.coverage,
                    created_at=started,
                    **place,
                )
                db.add(patrol)
                db.flush()
                chunk = TrackChunk(
                    uuid=str(uuid.uuid4()),
                    content_hash=_digest(patrol.uuid, 0),
                    patrol_id=patrol.id,
                    seq=0,
                    accepted=len(t_ms),
                    answer={},
                    received_at=ended,
                )
                db.add(chunk)
                db.flush()
                db.execute(
                    insert(table_of(TrackPoint)),
                    [
                        {
                            "patrol_id": patrol.id,
                            "chunk_id": chunk.id,
                            "at": tracks.from_epoch_ms(t),
                            "lon": a,
                            "lat": b,
                            "accuracy_m": 10.0,
                        }
                        for t, a, b in zip(t_ms, lon, lat, strict=True)
                    ],
                )
                n_patrols += 1
                n_points += len(t_ms)
                n_linked += _link_visits(db, user.id, day, t_ms, lon, lat, rng)
    db.commit()
    return (
        f"field work: {n_patrols} patrols ({n_points} GPS positions), {n_checkins} check-ins, "
        f"{n_linked} visits made on a patrol"
    )


def _link_visits(
    db: Session,
    worker_id: int,
    day: date,
    t_ms: list[int],
    lon: list[float],
    lat: list[float],
    rng: random.Random,
) -> int:
    """Move the worker's visits of ``day`` (if any) onto this patrol: at one of its positions."""
    start, end = _local(day, 0), _local(day + timedelta(days=1), 0)
    ids = db.scalars(
        select(Visit.id).where(
            Visit.visitor_id == worker_id,
            Visit.visited_at >= start,
            Visit.visited_at < end,
            Visit.lon.is_(None),
        )
    ).all()
    for visit_id in ids:
        i = rng.randrange(len(t_ms))
        when = tracks.from_epoch_ms(t_ms[i])
        db.execute(
            update(Visit)
            .where(Visit.id == visit_id)
            .values(visited_at=when, device_time=when, lon=lon[i], lat=lat[i])
        )
    return len(ids)
