"""A worker's day on the map (``GET /workers/<id>/day``): their grids, the day's patrols with
their tracks (each shown only to those who may see it: ``policy.may_see_track``), the cases
and visits they made, each with the patrol it was made on (to a supervisor only those in their
jurisdiction, as in the work log), and the day's check-in. A read of
someone else's track is logged (docs/field-work.md, "A worker's day"). No Flask here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    insert,
    select,
)
from sqlalchemy.orm import Session

from geo.simplify import to_feature_collection
from geo.tracks import simplify_track
from server.domain.fieldwork import CheckInStatus
from server.domain.workflow import Role
from server.models import (
    CheckIn,
    Grid,
    GridAssignment,
    GridPlan,
    Household,
    Incident,
    PersonalDataRead,
    Resident,
    User,
    Visit,
)
from server.models.fieldwork import Patrol, TrackPoint
from server.usecases import policy
from server.usecases.context import Actor, Context
from server.usecases.errors import Forbidden, NotFound
from server.usecases.grid_locator import region_chain
from server.usecases.patrols import grid_community, iso, patrol_json
from server.usecases.personal_data import Purpose
from server.usecases.scope import mask_name

# --- a worker's day on the map -------------------------------------------------------------------


def _day_bounds(ctx: Context, day: date) -> tuple[datetime, datetime]:
    tz = ctx.calendar.tz
    lo = datetime.combine(day, time(0), tzinfo=tz)
    return lo.astimezone(UTC), (lo + timedelta(days=1)).astimezone(UTC)


def _worker_row(db: Session, worker_id: int) -> User:
    user = db.get(User, worker_id)
    if user is None or user.role != Role.GRID_WORKER:
        raise NotFound("没有这名网格员 / no such grid worker", code="worker_missing")
    return user


def _shown(actor: Actor, worker: User, patrols: list[Patrol]) -> list[Patrol]:
    """The day's patrols whose track the actor may see: decided per patrol, by the community
    and town of the grid it was walked in (a worker may have grids in two towns)."""
    return [p for p in patrols if policy.may_see_track(actor, worker.id, p.community_id, p.town_id)]


def _may_see_day(
    db: Session, actor: Actor, worker: User, patrols: list[Patrol], shown: list[Patrol]
) -> None:
    """The worker, or a supervisor who may see the track of one of the day's patrols (on a day
    without patrols: a supervisor of the community or town of one of the worker's grids). A
    supervisor who sees the worker otherwise (county, city, another town) is told that tracks
    are not theirs to see (403); anyone else, that there is no such worker."""
    if actor.id == worker.id or shown:
        return
    if not patrols:
        codes = db.scalars(
            select(GridAssignment.grid_code).where(GridAssignment.user_id == worker.id)
        )
        for code in set(codes):
            community, town, _county = region_chain(db, grid_community(db, code))
            if policy.may_see_track(actor, worker.id, community, town):
                return
    if actor.role == Role.SUPERVISOR and policy.may_see_user(db, actor, worker.id):
        raise Forbidden(
            "巡查轨迹只对本人及所在社区、街道（乡镇）的督查人员可见 / a worker's tracks are "
            "visible only to the worker and the supervisors of their community or town",
            code="track_private",
        )
    raise NotFound("没有这名网格员 / no such grid worker", code="worker_missing")


def _track_geojson(lon: list[float], lat: list[float]) -> dict[str, Any] | None:
    if not lon:
        return None
    x, y = simplify_track(lon, lat)
    coords = [[round(a, 6), round(b, 6)] for a, b in zip(x.tolist(), y.tolist(), strict=True)]
    if len(coords) == 1:
        coords = coords * 2
    return {"type": "LineString", "coordinates": coords}


def _on_patrol(patrols: list[Patrol], at: datetime | None, now: datetime) -> str | None:
    if at is None:
        return None
    for p in patrols:
        if p.started_at <= at <= (p.ended_at or now):
            return p.uuid
    return None


def worker_day(
    ctx: Context, actor: Actor, worker_id: int, day: date, endpoint: str
) -> dict[str, Any]:
    """A worker's day: their grids, the day's patrols with their tracks (thinned to ~5 m), the
    cases they reported and the visits they made (each with the patrol it was made on), the
    day's check-in and the totals. A read by anyone but the worker is logged."""
    db = ctx.db
    worker = _worker_row(db, worker_id)
    lo, hi = _day_bounds(ctx, day)
    patrols = list(
        db.scalars(
            select(Patrol)
            .where(Patrol.worker_id == worker.id, Patrol.started_at >= lo, Patrol.started_at < hi)
            .order_by(Patrol.started_at)
        )
    )
    shown = _shown(actor, worker, patrols)
    _may_see_day(db, actor, worker, patrols, shown)
    visible = {p.id for p in shown}
    name = worker.display_name or worker.username
    now = ctx.now()

    # the day's positions in one query, split by patrol
    tracks: dict[int, tuple[list[float], list[float]]] = {p.id: ([], []) for p in shown}
    if shown:
        for pid, lon, lat in db.execute(
            select(TrackPoint.patrol_id, TrackPoint.lon, TrackPoint.lat)
            .where(TrackPoint.patrol_id.in_(list(tracks)))
            .order_by(TrackPoint.patrol_id, TrackPoint.at)
        ):
            xs, ys = tracks[pid]
            xs.append(lon)
            ys.append(lat)

    codes = sorted(
        set(db.scalars(select(GridAssignment.grid_code).where(GridAssignment.user_id == worker.id)))
    )
    grid_rows = (
        db.execute(
            select(Grid.code, Grid.name, Grid.geom)
            .join(GridPlan, Grid.plan_id == GridPlan.id)
            .where(Grid.code.in_(codes), GridPlan.status == "active")
            .order_by(Grid.code)
        ).all()
        if codes
        else []
    )
    grids = to_feature_collection(
        [r[2] for r in grid_rows], [{"code": r[0], "name": r[1]} for r in grid_rows]
    )

    cases = [
        {
            "id": c.id,
            "number": c.number,
            "title": category_name,
            "category": category_name,
            "state": c.state,
            "reported_at": iso(c.reported_at),
            "lon": c.lon,
            "lat": c.lat,
            "patrol_uuid": _on_patrol(patrols, c.reported_at, now),
        }
        for c, category_name in db.execute(
            select(Incident, _category_name())
            .where(
                Incident.reporter_id == worker.id,
                Incident.reported_at >= lo,
                Incident.reported_at < hi,
                policy.work_log_cases_clause(actor),
            )
            .order_by(Incident.reported_at)
        )
    ]
    visits = []
    for v, resident_name, household_number in db.execute(
        select(Visit, Resident.name, Household.number)
        .outerjoin(Resident, Resident.id == Visit.resident_id)
        .outerjoin(Household, Household.id == Visit.household_id)
        .where(
            Visit.visitor_id == worker.id,
            Visit.visited_at >= lo,
            Visit.visited_at < hi,
            policy.work_log_visits_clause(actor),
        )
        .order_by(Visit.visited_at)
    ):
        label = (
            mask_name(resident_name) if resident_name else f"户 {household_number or ''}".strip()
        )
        visits.append(
            {
                "id": v.id,
                "uuid": v.uuid,
                "visited_at": iso(v.visited_at),
                "lon": v.lon,
                "lat": v.lat,
                "patrol_uuid": _on_patrol(patrols, v.visited_at, now),
                "label": label,
            }
        )
    check = db.scalar(
        select(CheckIn)
        .where(CheckIn.worker_id == worker.id, CheckIn.day == day)
        .order_by(CheckIn.status == CheckInStatus.REJECTED, CheckIn.id.desc())
        .limit(1)
    )
    patrol_items = [
        {
            **patrol_json(p, name),
            "track": _track_geojson(*tracks[p.id]) if p.id in visible else None,
            "track_hidden": p.id not in visible,
        }
        for p in patrols
    ]
    if actor.id != worker.id and shown:
        _log_track_read(ctx, actor, worker.id, day, shown, endpoint)
    db.commit()
    return {
        "worker": {"id": worker.id, "name": name},
        "date": day.isoformat(),
        "grids": grids,
        "patrols": patrol_items,
        "cases": cases,
        "visits": visits,
        "check_in": _check_in_json(check, name) if check is not None else None,
        "totals": {
            "patrols": len(patrols),
            "points": sum(p.points or 0 for p in patrols),
            "distance_m": round(sum(p.distance_m or 0.0 for p in patrols), 1),
            "duration_s": sum(p.duration_s or 0 for p in patrols),
            "cases": len(cases),
            "visits": len(visits),
        },
    }


def _category_name() -> Any:
    from server.models import Category

    return select(Category.name).where(Category.id == Incident.category_id).scalar_subquery()


def _check_in_json(c: CheckIn, name: str) -> dict[str, Any]:
    return {
        "id": c.id,
        "uuid": c.uuid,
        "worker": {"id": c.worker_id, "name": name},
        "day": c.day.isoformat(),
        "at": iso(c.at),
        "grid_code": c.grid_code,
        "late": c.late,
        "makeup": c.makeup,
        "reason": c.reason,
        "status": c.status,
        "decided_at": iso(c.decided_at),
        "decision_note": c.decision_note,
        "lon": c.lon,
        "lat": c.lat,
    }


def _log_track_read(
    ctx: Context, actor: Actor, worker_id: int, day: date, patrols: list[Patrol], endpoint: str
) -> None:
    """One read-log row for the tracks shown of the worker's day (purpose ``track``): whose
    (``subject_user_id``), which day (``fields``: "track YYYY-MM-DD") and how many patrols."""
    first = patrols[0]
    ctx.db.execute(
        insert(PersonalDataRead),
        [
            {
                "at": ctx.now(),
                "actor_id": actor.id,
                "actor_role": actor.role,
                "subject_user_id": worker_id,
                "purpose": Purpose.TRACK.value,
                "endpoint": endpoint,
                "reason": "",
                "fields": f"track {day.isoformat()}",
                "count": len(patrols),
                "grid_code": first.grid_code,
                "community_id": first.community_id,
                "town_id": first.town_id,
                "county_id": first.county_id,
            }
        ],
    )
