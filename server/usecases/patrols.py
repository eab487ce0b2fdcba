"""Patrols (巡查) and their GPS tracks: start, chunks of positions, end (docs/field-work.md,
"Patrols and tracks"). No Flask here. A worker's day on the map is in ``worker_days``, the
retention purge in ``track_retention``.

Every create is keyed by the client's uuid (``server.usecases.idempotency``): a patrol's start
or end sent again answers as before; a chunk sent again answers its first answer verbatim
(``track_chunks.answer``); the same uuid with other content is a 409 ``idempotency_conflict``.

Ingest is the hot path (a county: 300 workers × a chunk a minute): a chunk is screened by
``server.domain.tracks`` and stored with a handful of statements — the patrol, the chunk's uuid
and seq, the stored instants inside its span and the positions either side of it, one insert of
the chunk, one bulk insert of its points (no ORM object per point), one update of the patrol's
running summary (increments in SQL, so two chunks at once never lose one). Ending a patrol
recomputes its summary from every stored position, with its coverage of the worker's grids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
import shapely
from sqlalchemy import (
    Table,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from server import cache
from server.domain import tracks as tr
from server.domain.check_ins import MAX_DAYS_BACK, day_of
from server.domain.workflow import Role
from server.models import (
    Grid,
    GridAssignment,
    GridPlan,
)
from server.models.fieldwork import Patrol, TrackChunk, TrackPoint
from server.usecases import locks
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict, Forbidden, NotFound, Unprocessable, ValidationFailed
from server.usecases.grid_locator import locate, region_chain
from server.usecases.idempotency import client_uuid, content_hash

# --- shapes ----------------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def patrol_json(p: Patrol, worker_name: str) -> dict[str, Any]:
    """A patrol as the API answers it (docs/api.md, "Patrols")."""
    return {
        "uuid": p.uuid,
        "worker": {"id": p.worker_id, "name": worker_name},
        "grid_code": p.grid_code,
        "started_at": iso(p.started_at),
        "ended_at": iso(p.ended_at),
        **tr.Summary(p.points or 0, p.distance_m or 0.0, p.duration_s or 0, p.coverage).as_json(),
    }


@dataclass
class Saved:
    """A patrol as saved (or found again: ``replay``), and one this start ended, if any."""

    patrol: Patrol
    replay: bool = False
    #: the worker's open patrols this start ended (one, but for patrols left open before
    #: starts were serialised), oldest first
    ended: list[Patrol] = field(default_factory=list)

    @property
    def ended_previous(self) -> Patrol | None:
        return self.ended[-1] if self.ended else None


@dataclass
class ChunkAnswer:
    answer: dict[str, Any]
    replay: bool = False


def _conflict(message: str = "") -> Conflict:
    return Conflict(
        message or "该 UUID 已用于不同内容 / this UUID was used for different content",
        code="idempotency_conflict",
    )


def _moment(value: Any, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            "时间格式应为 ISO 8601 / an ISO 8601 moment", fields={field: "ISO 8601"}
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationFailed(
            "时间需带时区 / the moment needs a time zone offset", fields={field: "offset"}
        )
    return moment.astimezone(UTC)


def _not_future(ctx: Context, moment: datetime, field: str) -> None:
    if moment > ctx.now() + timedelta(milliseconds=tr.FUTURE_SLACK_MS):
        raise ValidationFailed(
            "时间晚于服务器当前时间 / the moment is in the future (the phone's clock?)",
            code="bad_time",
            fields={field: "in the future"},
        )


def _not_too_old(ctx: Context, moment: datetime, field: str) -> None:
    """A patrol starts at most :data:`MAX_DAYS_BACK` days back (the county's days), as a 补签
    does: an older one would change an assessment already taken."""
    tz = ctx.calendar.tz
    if (day_of(ctx.now(), tz) - day_of(moment, tz)).days > MAX_DAYS_BACK:
        raise ValidationFailed(
            f"巡查开始时间最多可早于今天 {MAX_DAYS_BACK} 天 / a patrol starts at most "
            f"{MAX_DAYS_BACK} days back",
            code="too_old",
            fields={field: f"more than {MAX_DAYS_BACK} days back"},
        )


def _expired(ctx: Context, patrol: Patrol) -> None:
    """A patrol older than the retention period (its positions are, or are about to be,
    purged) takes no positions and no end: its summary stays as it was (409)."""
    if patrol.started_at < ctx.now() - timedelta(days=ctx.track_retention_days):
        raise Conflict(
            "这次巡查已超过轨迹保存期限，不再接收位置或结束 / this patrol is older than the "
            f"track retention period ({ctx.track_retention_days} days): it takes no more "
            "positions nor an end",
            code="patrol_expired",
        )


def _overlapping(db: Session, worker_id: int, started_at: datetime) -> Patrol | None:
    """The worker's patrol that a start at ``started_at`` would overlap: one that started at
    the same instant, an ended one whose [start, end) holds it, an open one whose stored
    positions reach past it (an open one that ends before it is ended by this start), or an
    open one that starts after it (the new one would run on into it)."""
    last = (
        select(func.max(TrackPoint.at))
        .where(TrackPoint.patrol_id == Patrol.id)
        .correlate(Patrol)
        .scalar_subquery()
    )
    rows = db.execute(
        select(Patrol, last)
        .where(
            Patrol.worker_id == worker_id,
            or_(Patrol.started_at <= started_at, Patrol.ended_at.is_(None)),
        )
        .order_by(Patrol.started_at.desc())
    ).all()
    for patrol, last_at in rows:
        reach = patrol.ended_at if patrol.ended_at is not None else last_at
        if patrol.started_at >= started_at or (reach is not None and started_at < reach):
            return patrol
    return None


def _next_start(db: Session, patrol: Patrol) -> Patrol | None:
    """The worker's next patrol after ``patrol`` (the first to start after it): ``patrol`` may
    not run into it, neither by its positions nor by its end. One exists when ``patrol`` was
    delivered late (the phone was offline) or its end never came (the next start ended it)."""
    return db.scalar(
        select(Patrol)
        .where(Patrol.worker_id == patrol.worker_id, Patrol.started_at > patrol.started_at)
        .order_by(Patrol.started_at)
        .limit(1)
    )


def _next_start_ms() -> Any:
    """The start of the next patrol of ``Patrol``'s worker (a correlated scalar subquery, so
    that a chunk reads it with its patrol, in one statement)."""
    later = aliased(Patrol)
    return (
        select(func.min(later.started_at))
        .where(later.worker_id == Patrol.worker_id, later.started_at > Patrol.started_at)
        .correlate(Patrol)
        .scalar_subquery()
    )


def _worker_only(actor: Actor) -> None:
    if actor.role != Role.GRID_WORKER or actor.id is None:
        raise Forbidden("只有网格员可以巡查 / only grid workers patrol", code="forbidden")


def _own_patrol(db: Session, actor: Actor, patrol_uuid: str, *, lock: bool = False) -> Patrol:
    """The actor's patrol by uuid; another's or none is the same 404 (nothing revealed)."""
    return _own_patrol_and_next(db, actor, patrol_uuid, lock=lock, with_next=False)[0]


def _own_patrol_and_next(
    db: Session, actor: Actor, patrol_uuid: str, *, lock: bool = False, with_next: bool = True
) -> tuple[Patrol, datetime | None]:
    """The actor's patrol by uuid, and the start of the worker's next patrol (None: none, or
    not asked for)."""
    missing = NotFound("没有这次巡查 / no such patrol", code="patrol_missing")
    try:
        key = client_uuid(patrol_uuid, "patrol")
    except ValidationFailed:
        raise missing from None
    q = select(Patrol, _next_start_ms() if with_next else literal(None)).where(Patrol.uuid == key)
    if lock:
        q = q.with_for_update(of=Patrol)
    row = db.execute(q).first()
    if row is None or row[0].worker_id != actor.id:
        raise missing
    return row[0], _aware(row[1]) if row[1] is not None else None


def _aware(value: Any) -> datetime:
    """A moment read through ``min()`` (SQLite may give text or a naive UTC datetime)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


# --- where a patrol belongs ----------------------------------------------------------------------


def grid_community(db: Session, code: str) -> int | None:
    """The community of a grid by its stable code (the process's copy of the grids)."""
    for g in cache.reference(db).grids.values():
        if g.code == code:
            return int(g.community_id)
    return None


def _home(
    ctx: Context, actor: Actor, grid_code: str | None, lon: float | None, lat: float | None
) -> tuple[str | None, int | None, int | None, int | None]:
    """(grid_code, community_id, town_id, county_id) of a new patrol: the grid named (one of
    the worker's own), else the own grid the start position lies in, else the worker's first
    own grid; a worker without grids: their region."""
    own = sorted(actor.grid_codes)
    if grid_code is not None and grid_code not in actor.grid_codes:
        raise Unprocessable(
            "只能在自己的网格开始巡查 / start a patrol in one of your own grids",
            code="not_own_grid",
            fields={"grid_code": "not one of your grids"},
        )
    if grid_code is None and lon is not None and lat is not None:
        found = locate(ctx.db, lon, lat, ctx.locate_tolerance_m)
        if found.grid_code in actor.grid_codes:
            return found.grid_code, found.community_id, found.town_id, found.county_id
    code = grid_code or (own[0] if own else None)
    community_id = grid_community(ctx.db, code) if code is not None else None
    community, town, county = region_chain(ctx.db, community_id or actor.region_id)
    return code, community, town, county


def worker_area(db: Session, worker_id: int) -> Any:
    """The union of the worker's assigned grids (active plans), lon/lat; None without any."""
    geoms = db.scalars(
        select(Grid.geom)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .join(GridAssignment, GridAssignment.grid_code == Grid.code)
        .where(GridAssignment.user_id == worker_id, GridPlan.status == "active")
    ).all()
    if not geoms:
        return None
    return shapely.union_all(np.asarray(geoms, dtype=object))


# --- start and end -------------------------------------------------------------------------------


def start(ctx: Context, actor: Actor, body: dict[str, Any]) -> Saved:
    """Start a patrol. The worker's patrol still open (its end never arrived) ends at its last
    position, and the answer says so (``ended_previous``)."""
    _worker_only(actor)
    key = client_uuid(body.get("uuid"))
    started_at = _moment(body.get("started_at"), "started_at")
    lon, lat, grid_code = body.get("lon"), body.get("lat"), body.get("grid_code")
    digest = content_hash(
        {"started_at": iso(started_at), "lon": lon, "lat": lat, "grid_code": grid_code}
    )
    found = _earlier_start(ctx.db, actor, key, digest)
    if found is not None:
        return Saved(found, replay=True)
    _not_future(ctx, started_at, "started_at")
    _not_too_old(ctx, started_at, "started_at")
    if (lon is None) != (lat is None):
        raise ValidationFailed(
            "经纬度应同时给出 / give both lon and lat",
            fields={"lon" if lon is None else "lat": "missing"},
        )
    code, community, town, county = _home(ctx, actor, grid_code, lon, lat)
    locks.hold_user(ctx.db, actor.id)  # type: ignore[arg-type]  # a worker has an id
    # the same start sent again while the first was being stored (a phone's retry after a
    # timeout) waited for it here: it is that start, not a start inside it
    found = _earlier_start(ctx.db, actor, key, digest)
    if found is not None:
        ctx.db.rollback()
        return Saved(found, replay=True)
    other = _overlapping(ctx.db, actor.id, started_at)  # type: ignore[arg-type]
    if other is not None:
        ctx.db.rollback()
        raise Conflict(
            "这一时间已在另一次巡查之内 / this start lies inside another patrol of yours",
            code="patrol_overlap",
            fields={"started_at": "inside another patrol"},
            patrol=other.uuid,
        )
    ended = _end_open(ctx, actor, started_at)
    patrol = Patrol(
        uuid=key,
        content_hash=digest,
        worker_id=actor.id,
        started_at=started_at,
        start_lon=lon,
        start_lat=lat,
        grid_code=code,
        community_id=community,
        town_id=town,
        county_id=county,
        points=0,
        distance_m=0.0,
        duration_s=0,
        created_at=ctx.now(),
    )
    ctx.db.add(patrol)
    try:
        ctx.db.commit()
    except IntegrityError:
        ctx.db.rollback()
        again = _earlier_start(ctx.db, actor, key, digest)
        if again is None:
            raise
        return Saved(again, replay=True)
    return Saved(patrol, ended=ended)


def _earlier_start(db: Session, actor: Actor, key: str, digest: str) -> Patrol | None:
    found = db.scalar(select(Patrol).where(Patrol.uuid == key))
    if found is None:
        return None
    if found.worker_id != actor.id or found.content_hash != digest:
        raise _conflict()
    return found


def _end_open(ctx: Context, actor: Actor, new_start: datetime) -> list[Patrol]:
    """End the worker's open patrols that started before ``new_start`` (at the last position;
    one older than the retention period at its summary's duration, the summary kept)."""
    open_ = ctx.db.scalars(
        select(Patrol)
        .where(
            Patrol.worker_id == actor.id,
            Patrol.ended_at.is_(None),
            Patrol.started_at <= new_start,
        )
        .order_by(Patrol.started_at)
    ).all()
    retained = ctx.now() - timedelta(days=ctx.track_retention_days)
    for p in open_:
        if p.started_at < retained:  # its positions are purged: the summary stays
            p.ended_at = p.started_at + timedelta(seconds=p.duration_s or 0)
            continue
        last = ctx.db.scalar(select(func.max(TrackPoint.at)).where(TrackPoint.patrol_id == p.id))
        end_ms = tr.end_of_superseded(
            tr.epoch_ms(p.started_at),
            tr.epoch_ms(last) if last is not None else None,
            tr.epoch_ms(new_start),
        )
        _close(ctx.db, p, tr.from_epoch_ms(end_ms))  # end_hash stays None: ended for it
    return list(open_)


def _close(db: Session, patrol: Patrol, ended_at: datetime) -> None:
    """End the patrol at ``ended_at`` and compute its summary from every stored position."""
    patrol.ended_at = ended_at
    _recompute(db, patrol)


def _recompute(db: Session, patrol: Patrol) -> None:
    rows = db.execute(
        select(TrackPoint.at, TrackPoint.lon, TrackPoint.lat)
        .where(TrackPoint.patrol_id == patrol.id)
        .order_by(TrackPoint.at)
    ).all()
    t = [tr.epoch_ms(r[0]) for r in rows]
    area = worker_area(db, patrol.worker_id) if patrol.ended_at is not None else None
    summary = tr.summarise(
        tr.epoch_ms(patrol.started_at),
        tr.epoch_ms(patrol.ended_at) if patrol.ended_at is not None else None,
        t,
        [r[1] for r in rows],
        [r[2] for r in rows],
        area,
    )
    patrol.points = summary.points
    patrol.distance_m = summary.distance_m
    patrol.duration_s = summary.duration_s
    patrol.coverage = summary.coverage


def end(ctx: Context, actor: Actor, patrol_uuid: str, body: dict[str, Any]) -> Saved:
    """End a patrol at the phone's ``ended_at``: its summary with coverage. The same end again
    answers the same; another ``ended_at`` is a 409. A patrol ended by the worker's next start
    (its end had not arrived) takes the end the phone sends later, once. An end after the start
    of the worker's next patrol is 409 ``patrol_overlap`` naming it (the patrol was delivered
    late, or ended by that start), nothing changed."""
    _worker_only(actor)
    # the worker's starts and ends one after the other (the worker's row first, then the
    # patrol's, as a start takes them): a start that comes meanwhile sees this end, and this end
    # sees that start
    locks.hold_user(ctx.db, actor.id)  # type: ignore[arg-type]  # a worker has an id
    patrol = _own_patrol(ctx.db, actor, patrol_uuid, lock=True)
    ended_at = _moment(body.get("ended_at"), "ended_at")
    digest = content_hash({"ended_at": iso(ended_at)})
    if patrol.end_hash is not None:
        if patrol.end_hash != digest:
            raise Conflict(
                "这次巡查已在另一时间结束 / this patrol already ended at another time",
                code="idempotency_conflict",
                ended_at=iso(patrol.ended_at),
            )
        ctx.db.rollback()
        return Saved(patrol, replay=True)
    _expired(ctx, patrol)
    if ended_at < patrol.started_at:
        raise ValidationFailed(
            "结束时间早于开始时间 / the end is before the start",
            code="bad_time",
            fields={"ended_at": "before started_at"},
        )
    _not_future(ctx, ended_at, "ended_at")
    following = _next_start(ctx.db, patrol)
    if following is not None and ended_at > following.started_at:
        ctx.db.rollback()
        raise Conflict(
            "结束时间已在下一次巡查之内 / this end lies inside a later patrol of yours",
            code="patrol_overlap",
            fields={"ended_at": "inside another patrol"},
            patrol=following.uuid,
        )
    patrol.end_hash = digest
    _close(ctx.db, patrol, ended_at)
    ctx.db.commit()
    return Saved(patrol)


# --- chunks ----------------------------------------------------------------------------------


_POINTS = cast(Table, TrackPoint.__table__)


def _anchor(row: Any) -> tr.Anchor:
    return tr.Anchor(tr.epoch_ms(row.at), row.lon, row.lat)


def _neighbours(
    db: Session, patrol_id: int, span: tuple[int, int]
) -> tuple[list[int], tr.Anchor | None, tr.Anchor | None]:
    """In one query: the instants the patrol holds within ``span`` (ms), and its positions
    just before and just after it."""
    lo, hi = tr.from_epoch_ms(span[0]), tr.from_epoch_ms(span[1])
    cols = (TrackPoint.at, TrackPoint.lon, TrackPoint.lat)
    mine = TrackPoint.patrol_id == patrol_id

    def part(kind: int, *where: Any, order: Any = None, limit: int | None = None) -> Any:
        inner = select(*cols, literal(kind).label("kind")).where(mine, *where)
        if order is not None:
            inner = inner.order_by(order).limit(limit)
        sub = inner.subquery()
        return select(sub.c.at, sub.c.lon, sub.c.lat, sub.c.kind)

    rows = db.execute(
        union_all(
            part(0, TrackPoint.at.between(lo, hi)),
            part(-1, TrackPoint.at < lo, order=TrackPoint.at.desc(), limit=1),
            part(1, TrackPoint.at > hi, order=TrackPoint.at, limit=1),
        )
    ).all()
    stored = [tr.epoch_ms(r.at) for r in rows if r.kind == 0]
    before = next((_anchor(r) for r in rows if r.kind == -1), None)
    after = next((_anchor(r) for r in rows if r.kind == 1), None)
    return stored, before, after


def add_chunk(ctx: Context, actor: Actor, patrol_uuid: str, body: dict[str, Any]) -> ChunkAnswer:
    """Screen and store a chunk of positions; answer what was kept and dropped, and the
    patrol's running summary."""
    _worker_only(actor)
    db = ctx.db
    key = client_uuid(body.get("uuid"))
    patrol, following = _own_patrol_and_next(db, actor, patrol_uuid)
    seq, points = body["seq"], body["points"]
    digest = content_hash({"patrol": patrol.uuid, "seq": seq, "points": points})
    earlier = _earlier_chunk(db, patrol, key, seq, digest)
    if earlier is not None:
        return earlier
    _expired(ctx, patrol)

    start_ms = tr.epoch_ms(patrol.started_at)
    end_ms = tr.epoch_ms(patrol.ended_at) if patrol.ended_at is not None else None
    next_ms = tr.epoch_ms(following) if following is not None else None
    window = tr.Window(start_ms, end_ms, tr.epoch_ms(ctx.now()), next_ms)
    parsed = tr.parse_points(points)
    span = tr.candidate_span(parsed, window)  # what the chunk may take, before the database
    stored: list[int] = []
    before = after = None
    if span is not None:
        stored, before, after = _neighbours(db, patrol.id, span)
    kept = tr.screen_chunk(parsed, window, stored_times=stored, before=before)

    n = len(kept)
    # a chunk that interleaves with stored positions, or arrives after the end: recount the
    # summary from every position; else move it by what the chunk adds (the usual case)
    whole = bool(stored) or patrol.ended_at is not None
    added = 0.0 if whole else tr.distance_added(kept, before, after)
    last_ms = int(kept.t_ms[-1]) if n and after is None else None
    duration = tr.duration_s(start_ms, end_ms, last_ms) if last_ms is not None else None
    shown = patrol_json(patrol, actor.display_name)
    if n and not whole:
        shown["points"] = (patrol.points or 0) + n
        shown["distance_m"] = round((patrol.distance_m or 0.0) + added, 1)
        if duration is not None:
            shown["duration_s"] = max(patrol.duration_s or 0, duration)
    answer = {"chunk": key, "seq": seq, "accepted": n, "dropped": kept.dropped, "patrol": shown}

    chunk = TrackChunk(
        uuid=key,
        content_hash=digest,
        patrol_id=patrol.id,
        seq=seq,
        accepted=n,
        answer=answer,
        received_at=ctx.now(),
    )
    db.add(chunk)
    try:
        db.flush()
    except IntegrityError:  # the same chunk, sent twice at once: the other one's answer
        db.rollback()
        patrol = _own_patrol(db, actor, patrol_uuid)
        again = _earlier_chunk(db, patrol, key, seq, digest)
        if again is None:
            raise
        return again
    if n:
        db.execute(
            insert(_POINTS),  # Core: no ORM bookkeeping per point
            [
                {"patrol_id": patrol.id, "chunk_id": chunk.id, "at": tr.from_epoch_ms(t),
                 "lon": x, "lat": y, "accuracy_m": a}
                for t, x, y, a in kept.rows()
            ],
        )  # fmt: skip
        if whole:
            _recompute(db, patrol)
            answer = {**answer, "patrol": patrol_json(patrol, actor.display_name)}
            chunk.answer = answer
        else:
            # increments in SQL: two chunks of one patrol at once both count
            values: dict[str, Any] = {
                "points": Patrol.points + n,
                "distance_m": Patrol.distance_m + added,
            }
            if duration is not None:
                values["duration_s"] = case(
                    (Patrol.duration_s < duration, duration), else_=Patrol.duration_s
                )
            db.execute(
                update(Patrol).where(Patrol.id == patrol.id).values(**values),
                execution_options={"synchronize_session": False},
            )
    db.commit()
    return ChunkAnswer(answer)


def _earlier_chunk(
    db: Session, patrol: Patrol, key: str, seq: int, digest: str
) -> ChunkAnswer | None:
    """The first answer to this chunk (same uuid, or same patrol and seq, same content); a
    409 when either is taken by other content; None for a new chunk."""
    rows = db.scalars(
        select(TrackChunk).where(
            or_(
                TrackChunk.uuid == key,
                and_(TrackChunk.patrol_id == patrol.id, TrackChunk.seq == seq),
            )
        )
    ).all()
    for row in rows:
        if row.content_hash == digest and row.patrol_id == patrol.id:
            db.rollback()
            return ChunkAnswer(dict(row.answer), replay=True)
    for row in rows:
        if row.uuid == key:
            raise _conflict()
        raise Conflict(
            "这次巡查的这一段（seq）已收到不同的内容 / this patrol already has another chunk "
            "with this seq",
            code="seq_conflict",
            fields={"seq": "taken"},
        )
    return None
