"""Report a case and act on it: each call one transaction, appending one event.

The workflow table (``server.domain.workflow``) says what is allowed; this module adds what the
table cannot see (jurisdiction, pending extensions, departments), applies the change to the
``incidents`` row and appends the event. Offline clients send UUIDs: a replay returns the first
result; the same UUID with other content is a conflict. Optimistic locking (the case's
``version``) makes one of two concurrent actions lose with a conflict, never both win.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from shapely.geometry import Point
from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from server import cache
from server.db import as_loaded, is_postgres, new_row, row_values
from server.domain import sources
from server.domain import workflow as wf
from server.domain.errors import DomainError
from server.domain.fields import parse_deadline
from server.domain.stages import Stage, stage_of
from server.domain.worktime import BeyondCalendar, TimeLimit, TimeUnit, deadline, extend
from server.domain.years import MAX_YEAR
from server.metrics import projection
from server.models import (
    Attachment,
    CaseCopy,
    Grid,
    GridPlan,
    Incident,
    IncidentEvent,
    Rating,
    Region,
)
from server.usecases import grid_locator, locks, photos, policy, routing, stages
from server.usecases.context import Actor, Context
from server.usecases.errors import (
    Conflict,
    NotFound,
    UseCaseError,
    ValidationFailed,
    from_domain,
)
from server.usecases.idempotency import client_uuid, content_hash

MAX_DESCRIPTION = 4000
# China's extent (with a margin) for sanity checks on reported points.
CHINA_BOUNDS = (73.0, 3.0, 136.0, 54.0)
_A = wf.Action
PUBLIC_ACTIONS = {
    _A.REPORT,
    _A.REJECT,
    _A.DISPATCH,
    _A.RESOLVE,
    _A.VERIFY,
    _A.REOPEN,
    _A.SELF_HANDLE,
}


@dataclass
class Outcome:
    case: Incident
    event: IncidentEvent | None
    replay: bool = False
    #: the case's photo count and first photo, and the event's photos, when known (not on a
    #: replay): the answer then needs no query for them
    photo_summary: tuple[int, str | None] | None = None
    event_photos: list[Attachment] | None = None


def _device_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            "设备时间格式错误 / device_time must be ISO 8601", fields={"device_time": "ISO 8601"}
        ) from None
    if parsed.tzinfo is None:
        raise ValidationFailed(
            "设备时间需带时区 / device_time needs a time zone offset",
            fields={"device_time": "needs an offset"},
        )
    return parsed


def _coordinate(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationFailed(
            "坐标无效 / invalid coordinate", fields={key: "a finite number is required"}
        )
    return float(value)


def _point(body: dict[str, Any]) -> tuple[float | None, float | None]:
    lon, lat = _coordinate(body, "lon"), _coordinate(body, "lat")
    if (lon is None) != (lat is None):
        raise ValidationFailed(
            "经纬度需同时提供 / give both lon and lat",
            fields={"lon": "with lat", "lat": "with lon"},
        )
    if lon is not None and lat is not None:
        x0, y0, x1, y1 = CHINA_BOUNDS
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            raise ValidationFailed(
                "位置不在中国境内 / the point is outside China",
                code="outside_china",
                fields={"lon": "outside China", "lat": "outside China"},
            )
    return lon, lat


#: Actions after which the stage clock starts again although the stage may be the same (a move
#: to another centre: the centre receiving the case has its level's whole limit).
_RESTART = frozenset(
    {wf.Action.DISPATCH, wf.Action.RESUME, wf.Action.ESCALATE, wf.Action.DEVOLVE, wf.Action.PULL_UP}
)
#: How far ahead an explicit deadline may be (a typo, not a rule, beyond).
MAX_DEADLINE_YEARS = 3


def _years_after(moment: datetime, years: int) -> datetime:
    """The same moment ``years`` calendar years later (29 February → 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def explicit_deadline(body: dict[str, Any], now: datetime) -> datetime | None:
    """The ``deadline`` a case is filed or dispatched with (a 12345 ticket's 办理时限, a
    leader's date), checked: ISO 8601 with an offset, after now, within three years."""
    value = body.get("deadline")
    if value is None:
        return None
    try:
        due = parse_deadline(value)
    except DomainError as err:
        raise from_domain(err) from None
    if due <= now:
        raise ValidationFailed(
            "办理时限已过 / the deadline is in the past",
            code="deadline_past",
            fields={"deadline": "must be in the future"},
        )
    if due > _years_after(now, MAX_DEADLINE_YEARS):
        raise ValidationFailed(
            "办理时限过远 / the deadline is more than three years ahead",
            code="deadline_too_far",
            fields={"deadline": "at most three years ahead"},
        )
    return due


def _past_the_years(field: str) -> ValidationFailed:
    """A deadline that would lie past the years the system holds (docs/api.md, "Conventions"):
    the same answer as an explicit deadline too far ahead, naming the field that moved it."""
    return ValidationFailed(
        f"办理时限将超过 {MAX_YEAR} 年 / the deadline would be past {MAX_YEAR}",
        code="deadline_too_far",
        fields={field: f"the deadline would be past {MAX_YEAR}"},
    )


def extended_deadline(
    ctx: Context, case: Incident, granted: dict[str, Any], now: datetime
) -> datetime:
    """The case's deadline after an extension of ``granted`` (``hours`` or ``days``): days are
    work days, hours work hours (natural hours for an urgent case). A deadline that would pass
    the years the system holds is a 400 naming the field, before the walk gets there."""
    base = case.deadline_at or now
    field = "days" if granted.get("days") else "hours"
    try:
        if field == "days":
            return extend(base, int(granted["days"]), "work_days", ctx.calendar)
        unit: TimeUnit = "hours" if case.urgency == "urgent" else "work_hours"
        return extend(base, float(granted["hours"]), unit, ctx.calendar)
    except BeyondCalendar:
        raise _past_the_years(field) from None


def _domain_error(err: DomainError, case: Incident | None = None) -> Exception:
    return from_domain(err, case.id if case else None)


def _category(ctx: Context, body: dict[str, Any]) -> Any:
    """The category row (from the process's reference cache, ``server.cache``)."""
    ref = cache.reference(ctx.db)
    cat: Any = None
    if body.get("category_id") is not None:
        cid = body["category_id"]
        if isinstance(cid, int) and not isinstance(cid, bool):
            cat = ref.categories.get(cid)
    elif body.get("category_code"):
        cat = ref.category_codes.get(str(body["category_code"]))
    else:
        raise ValidationFailed("请选择类别 / category required", fields={"category_id": "required"})
    if cat is None or cat.parent_id is None:
        raise ValidationFailed(
            "未知类别 / unknown category",
            code="unknown_category",
            fields={"category_id": "unknown"},
        )
    if not cat.active:
        raise ValidationFailed(
            "该类别已停用，请改选其他类别 / this category is retired: choose another",
            code="category_retired",
            fields={"category_id": "retired"},
        )
    return cat


def _text(body: dict[str, Any], key: str, limit: int) -> str:
    value = body.get(key) or ""
    if not isinstance(value, str):
        raise ValidationFailed("应为文本 / must be text", fields={key: "text"})
    if len(value) > limit:
        raise ValidationFailed(
            f"内容过长（最多 {limit} 字）/ too long (max {limit})",
            code="too_long",
            fields={key: f"at most {limit} characters"},
        )
    return value.strip()


def _attach(
    ctx: Context, actor: Actor, uuids: list[Any], case: Incident, event: IncidentEvent
) -> list[Attachment]:
    """The photos attached to the event, in one statement (``photos.attach``)."""
    return photos.attach(ctx, actor, uuids, case.id, event.id)


def _first(atts: list[Attachment]) -> str | None:
    return min(atts, key=lambda a: a.id).uuid if atts else None


def _taken() -> Conflict:
    """The UUID is taken by someone else's report or action, or by an action where a report
    was sent: a conflict that says nothing about it (not even its case's id)."""
    return Conflict(
        "该 UUID 已被使用，请重新生成 / this UUID is already taken: generate a new one",
        code="idempotency_conflict",
    )


def _no_case() -> NotFound:
    return NotFound("案件不存在或无权查看 / no such case (or not yours to see)")


def _replay_case(ctx: Context, actor: Actor, key: str, digests: tuple[str, ...]) -> Outcome | None:
    """The report this UUID made, sent again by its author: the case as a GET would show it
    (404 once it is no longer theirs to see). Another's report, another report or an action
    with this UUID: a conflict. ``digests``: the body's digest of each content rule a stored
    case may carry (:data:`REPORT_CONTENT`)."""
    existing = ctx.db.scalar(select(Incident).where(Incident.uuid == key))
    if existing is None:
        # Cases and events share one UUID space (a report's event carries the case's UUID,
        # and incident_events.uuid is unique): an action's UUID is taken too.
        if ctx.db.scalar(select(IncidentEvent.id).where(IncidentEvent.uuid == key)) is not None:
            raise _taken()
        return None
    if not policy.may_replay_report(actor, existing):
        raise _taken()
    if existing.content_hash not in digests:
        raise Conflict(
            "该 UUID 已用于不同内容的上报 / this UUID was used for a different report",
            code="idempotency_conflict",
            case_id=existing.id,
        )
    if not policy.may_see_case(actor, existing):
        # e.g. a dispatcher's call put on another town's grid since: a replay shows no more
        # than a GET would
        raise _no_case()
    first = ctx.db.scalar(
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == existing.id)
        .order_by(IncidentEvent.id)
        .limit(1)
    )
    return Outcome(existing, first, replay=True)


#: What of a report tells a replay (the same content again) from a conflict (other content
#: under the same UUID): every field the case stores from the body.
REPORT_CONTENT = (
    "category_id", "category_code", "description", "lon", "lat", "accuracy_m", "address",
    "photos", "device_time", "urgency", "self_handle", "source", "caller_name", "caller_phone",
    "contact_email", "deadline",
)  # fmt: skip
#: The first rule, which left out ``accuracy_m``, ``caller_name``, ``contact_email``,
#: ``device_time`` and ``source``: another value of one of those under a report's UUID was
#: answered as its replay and lost. Cases stored before keep their digest of this rule, and a
#: phone may still send one of them again: a replay matches either digest (no stored digest is
#: rewritten; two digests of different rules never collide).
REPORT_CONTENT_FIRST = tuple(
    k
    for k in REPORT_CONTENT
    if k not in ("accuracy_m", "caller_name", "contact_email", "device_time", "source")
)


def report(
    ctx: Context,
    actor: Actor,
    body: dict[str, Any],
    *,
    also: Callable[[Incident], list[Any]] | None = None,
) -> Outcome:
    """上报 (or 自行处置 with ``self_handle: true``): create a case. Idempotent by ``uuid``.

    ``also`` returns further rows to store in the same transaction (e.g. the Open311 record
    of which key filed it), given the new case with its id.
    """
    key = client_uuid(body.get("uuid"))
    self_handle = bool(body.get("self_handle"))
    photo_ids = body.get("photos") or []
    if not isinstance(photo_ids, list):
        raise ValidationFailed("照片应为列表 / photos must be a list", fields={"photos": "list"})
    digest = content_hash({k: body.get(k) for k in REPORT_CONTENT})
    first_digest = content_hash({k: body.get(k) for k in REPORT_CONTENT_FIRST})
    # No look for a replay first (a query per report): a replay fails on the UUID's unique
    # index or, earlier, on a check; either way it is found then and answered as before.
    try:
        return _report(ctx, actor, body, key, digest, self_handle, photo_ids, also)
    except (UseCaseError, IntegrityError):
        ctx.db.rollback()
        replay = _replay_case(ctx, actor, key, (digest, first_digest))
        if replay:
            return replay
        raise


_NEW_IDS = text(
    "SELECT pg_current_xact_id(), nextval('incidents_id_seq'), nextval('incident_events_id_seq')"
)


def _new_ids(ctx: Context) -> tuple[int, int] | None:
    """PostgreSQL: the new case's id and its report event's id, taken before the INSERTs so that
    the case goes in complete (its number and last event). The UPDATE of the case just inserted
    that this replaces checked the case's seven foreign keys again (a row inserted by the same
    transaction is always re-checked) and, as ``number`` and ``last_event_id`` are indexed,
    wrote a second entry into each of the case's thirty indexes, trigram ones included, and a
    second row version to the WAL: without it PostgreSQL spends about a fifth less CPU on a
    report (issue 13, docs/operations.md).

    The transaction id is taken first, in the same statement, so the change feed counts this
    transaction as writing from before the event id exists (server/api/feed.py: a change with
    a later id committed first is held back until this one ends). None on SQLite (no sequences;
    one writer at a time)."""
    if not is_postgres(ctx.db):
        return None
    row = ctx.db.connection().execute(_NEW_IDS).one()
    return int(row[1]), int(row[2])


_INCIDENTS = cast(Table, Incident.__table__)
_EVENTS = cast(Table, IncidentEvent.__table__)
_NUMBER_CASE = (
    update(_INCIDENTS)
    .where(_INCIDENTS.c.id == bindparam("cid"))
    .values(number=bindparam("number"), last_event_id=bindparam("last_event_id"))
)


@lru_cache(maxsize=64)
def _case_and_event(case_keys: tuple[str, ...], event_names: tuple[tuple[str, str], ...]) -> Any:
    """PostgreSQL: one statement INSERTs a new case and its first event (ids taken up front,
    ``_new_ids``): ``WITH new_case AS (INSERT INTO incidents …) INSERT INTO incident_events …``.
    The event's foreign key to the case is checked at the end of the statement, when the case
    is there. One statement per set of columns given (cached): :func:`_case_and_event_params`."""
    cases, events = _INCIDENTS, _EVENTS
    new_case = (
        cases.insert()
        .values({cases.c[k]: bindparam(f"c_{k}", type_=cases.c[k].type) for k in case_keys})
        .cte("new_case")
    )
    return (
        events.insert()
        .values({events.c[k]: bindparam(name, type_=events.c[k].type) for k, name in event_names})
        .add_cte(new_case)
    )


def _case_and_event_params(case: Incident, event: IncidentEvent) -> tuple[Any, dict[str, Any]]:
    """The statement of :func:`_case_and_event` and its parameters. Columns left NULL are left
    out (NULL all the same: columns without a default only), and an event value equal to the
    case's (its key and hash, case id, time, note, state, point) is passed once: psycopg keeps
    the parsed form of a statement of at most 50 parameters only, and parsing one at every
    report cost more than the ORM's unit of work it replaced."""
    params = {f"c_{k}": v for k, v in row_values(case).items() if v is not None or k in _KEEP}
    names = []
    for k, v in row_values(event).items():
        if v is None and k not in _KEEP:
            continue
        shared = _SAME_AS_CASE.get(k)
        if shared is not None and params.get(shared, _NO_VALUE) == v:
            names.append((k, shared))
        else:
            names.append((k, f"e_{k}"))
            params[f"e_{k}"] = v
    keys = tuple(name[2:] for name in params if name.startswith("c_"))
    return _case_and_event(keys, tuple(names)), params


#: event column -> the case's parameter that usually holds the same value (on a report)
_SAME_AS_CASE = {
    "id": "c_last_event_id",
    "uuid": "c_uuid",
    "content_hash": "c_content_hash",
    "incident_id": "c_id",
    "created_at": "c_created_at",
    "note": "c_description",
    "to_state": "c_state",
    "lon": "c_lon",
    "lat": "c_lat",
}
_NO_VALUE = object()
#: columns with a default: given even when None (SQLAlchemy would fill in its default)
_KEEP = frozenset(
    c.key
    for table in (_INCIDENTS, _EVENTS)
    for c in table.c
    if c.default is not None or c.server_default is not None
)


def _insert(conn: Connection, obj: Any) -> None:
    """INSERT a row made by ``new_row`` without its id (SQLite), which then takes the id the
    database gave it."""
    table, values = type(obj).__table__, row_values(obj)
    del values["id"]
    obj.__dict__["id"] = conn.execute(table.insert().returning(table.c.id), values).scalar_one()


def _number(ctx: Context, now: datetime, case_id: int) -> str:
    """The case number: its local reporting day and id (``20261129000123``)."""
    return now.astimezone(ctx.calendar.tz).strftime("%Y%m%d") + f"{case_id:06d}"


def _unplaced(has_point: bool) -> ValidationFailed:
    """A report no county can take: outside every grid, or without a point, from a reporter
    whose jurisdiction is no single county (``grid_locator.home_chain``)."""
    if has_point:
        return ValidationFailed(
            "位置不在任何网格内，无法确定所属区县，请在网格内选点 / the point is outside every "
            "grid and no single county can take the case: give a point inside a grid",
            code="outside_grids",
            fields={"lon": "outside every grid", "lat": "outside every grid"},
        )
    return ValidationFailed(
        "请提供位置：无法确定所属区县 / give lon and lat: no single county can take a case "
        "without a point",
        code="location_required",
        fields={"lon": "required", "lat": "required"},
    )


def _report(
    ctx: Context,
    actor: Actor,
    body: dict[str, Any],
    key: str,
    digest: str,
    self_handle: bool,
    photo_ids: list[Any],
    also: Callable[[Incident], list[Any]] | None,
) -> Outcome:
    action = wf.Action.SELF_HANDLE if self_handle else wf.Action.REPORT
    description = _text(body, "description", MAX_DESCRIPTION)
    if actor.role != "open311":
        try:
            wf.check(action, actor.role, None, {"note": description or None, "photos": photo_ids})
        except DomainError as err:
            raise _domain_error(err) from None
    asked = body.get("source")
    source = sources.source_for(actor.role, asked if isinstance(asked, str) else None)
    if source is None or (asked is not None and not isinstance(asked, str)):
        allowed = "|".join(sources.allowed_sources(actor.role)) or "none"
        raise ValidationFailed(
            "你的角色不能以此来源上报 / your role may not file a case with this source",
            code="invalid_source",
            fields={"source": allowed},
        )
    category = _category(ctx, body)
    lon, lat = _point(body)
    accuracy = _coordinate(body, "accuracy_m")
    urgency = body.get("urgency") or "normal"
    if urgency not in {"normal", "urgent"}:
        raise ValidationFailed(
            "紧急程度无效 / invalid urgency", fields={"urgency": "normal|urgent"}
        )
    now = ctx.now()
    fixed = explicit_deadline(body, now)
    if fixed is not None and self_handle:
        raise ValidationFailed(
            "自行处置的案件没有办理时限 / a self-handled case takes no deadline",
            fields={"deadline": "not with self_handle"},
        )
    place = grid_locator.locate(ctx.db, lon, lat, ctx.locate_tolerance_m)
    community_id, town_id, county_id = place.community_id, place.town_id, place.county_id
    policy.check_report_place(ctx.db, actor, community_id or town_id or county_id)
    if county_id is None:
        # Outside every grid (or no point): the reporter's county, or refused when there is no
        # one county to take it (a city over several, an Open311 key bound to none): kept, it
        # would sit in no dispatcher's queue.
        community_id, town_id, county_id = grid_locator.home_chain(ctx.db, actor.region_id)
        if county_id is None:
            raise _unplaced(lon is not None)
    if (
        actor.role == wf.Role.GRID_WORKER
        and self_handle
        and place.grid_code not in actor.grid_codes
    ):
        raise ValidationFailed(
            "只能在本人网格内自行处置 / self-handle only inside your own grids",
            code="outside_own_grid",
            fields={"lon": "outside your grids"},
        )
    device_time = _device_time(body.get("device_time"))
    # The centre that takes the case first (DESIGN §9): the category's routing rule, else the
    # case's town (server/usecases/routing.py).
    route = routing.route(ctx.db, category.id, urgency, community_id or town_id or county_id)
    ids = _new_ids(ctx)
    case = new_row(
        Incident,
        dict(
            id=ids[0] if ids else None,
            uuid=key,
            # without the id up front (SQLite), replaced by the real number below
            number=_number(ctx, now, ids[0]) if ids else key.replace("-", "")[:24],
            content_hash=digest,
            source=source,
            state=wf.State.CLOSED.value if self_handle else wf.State.REPORTED.value,
            category_id=category.id,
            description=description,
            address=_text(body, "address", 300),
            lon=lon,
            lat=lat,
            accuracy_m=accuracy,
            location=Point(lon, lat) if lon is not None and lat is not None else None,
            location_status=place.status,
            grid_id=place.grid_id,
            grid_code=place.grid_code,
            community_id=community_id,
            town_id=town_id,
            county_id=county_id,
            centre_id=route.centre_id,
            copied_department_ids=list(route.copies) or None,
            reporter_id=actor.id,
            caller_name=_text(body, "caller_name", 100),
            caller_phone=_text(body, "caller_phone", 32),
            contact_email=_text(body, "contact_email", 200),
            urgency=urgency,
            self_handled=self_handle,
            fixed_deadline_at=fixed,
            version=1,
            reported_at=device_time or now,
            created_at=now,
            updated_at=now,
            last_event_id=ids[1] if ids else None,
        ),
    )
    if self_handle:
        case.accepted_at = case.resolved_at = case.closed_at = now
    else:
        stages.enter(ctx, case, case.state, now)
    event = new_row(
        IncidentEvent,
        dict(
            id=ids[1] if ids else None,
            **_event_values(key, digest, case.id, action, actor, now),
            from_state=None,
            to_state=case.state,
            device_time=device_time,
            note=description,
            data={
                "source": source,
                "category_id": category.id,
                "location_status": place.status,
                "grid_code": place.grid_code,
                "centre_id": route.centre_id,
                "centre": routing.centre_json(routing.regions(ctx.db).get(route.centre_id or 0)),
                **({"routing_rule_id": route.rule_id} if route.rule_id else {}),
                **({"department_ids": list(route.copies)} if route.copies else {}),
                **({"self_handled": True} if self_handle else {}),
                **({"deadline_at": fixed.isoformat()} if fixed else {}),
            },
            lon=lon,
            lat=lat,
            public=True,
        ),
    )
    try:
        # PostgreSQL, three statements: the ids, INSERT the case (complete) and its event in
        # one, attach the photos (one UPDATE, if any). SQLite: INSERT the case, INSERT its
        # event, one UPDATE of the case (its number and last event) and the photos. Core
        # INSERTs of rows built in full: the ORM's unit of work for the same two rows was about
        # a fifth of a report's Python CPU (issue 13, bench/intake_cpu.py).
        conn = ctx.db.connection()
        if ids is not None:
            conn.execute(*_case_and_event_params(case, event))
        else:
            _insert(conn, case)
            event.incident_id = case.id
            _insert(conn, event)
            case.number = _number(ctx, now, case.id)
            case.last_event_id = event.id
            conn.execute(
                _NUMBER_CASE,
                {"cid": case.id, "number": case.number, "last_event_id": event.id},
            )
        # The rows are in the database: the session holds them as if it had loaded them.
        case, event = as_loaded(ctx.db, case), as_loaded(ctx.db, event)
        with ctx.db.no_autoflush:
            atts = _attach(ctx, actor, photo_ids, case, event)
        _copy_rows(ctx, case, event, route.copies, now)
        if also is not None:
            ctx.db.add_all(also(case))
        ctx.db.commit()
    except Exception:
        ctx.db.rollback()
        raise
    return Outcome(case, event, photo_summary=(len(atts), _first(atts)), event_photos=atts)


# --- actions on an existing case -----------------------------------------------------------


def load_visible(ctx: Context, actor: Actor, case_id: int) -> Incident:
    case = ctx.db.get(Incident, case_id)
    if case is None or not policy.may_see_case(actor, case):
        raise _no_case()
    return case


def _department(ctx: Context, actor: Actor, case: Incident, value: Any) -> Any:
    """The department to dispatch to: active, and one the policy lets this actor send this
    case to (another county's department answers exactly like an unknown one)."""
    dep = cache.reference(ctx.db).departments.get(value) if isinstance(value, int) else None
    if dep is None or not dep.active or not policy.may_refer_department(ctx.db, actor, dep, case):
        raise ValidationFailed(
            "处置部门无效 / unknown department", fields={"department_id": "unknown or inactive"}
        )
    return dep


def version_left_by(ctx: Context, event: IncidentEvent) -> int:
    """The case's version just after ``event``: its events up to this one (one event, one
    version, from 1 at the report; a case's events are written under its row lock, in id
    order). A replay answers it as the first answer did: a client that chains its next action
    on it sees a change made by someone else since as ``stale_version``, as it would have."""
    return int(
        ctx.db.scalar(
            select(func.count())
            .select_from(IncidentEvent)
            .where(IncidentEvent.incident_id == event.incident_id, IncidentEvent.id <= event.id)
        )
        or 0
    )


def _replay_event(
    ctx: Context, actor: Actor, key: str, digest: str, case_id: int
) -> Outcome | None:
    event = ctx.db.scalar(select(IncidentEvent).where(IncidentEvent.uuid == key))
    if event is None:
        return None
    if event.actor_id != actor.id:
        raise _taken()  # another actor's action
    if event.content_hash != digest or event.incident_id != case_id:
        raise Conflict(
            "该 UUID 已用于不同的操作 / this UUID was used for a different action",
            code="idempotency_conflict",
        )
    case = ctx.db.get(Incident, event.incident_id)
    assert case is not None
    if not policy.may_see_case(actor, case):
        # e.g. a handler's sign sent again after the department returned the case: a replay
        # shows no more than a GET would (the case's state, version, centre)
        raise _no_case()
    return Outcome(case, event, replay=True)


ACTION_FIELDS = (
    "action",
    "version",
    "note",
    "reason",
    "passed",
    "approved",
    "department_id",
    "urgency",
    "rating",
    "duplicate_of",
    "grid_code",
    "deadline",
    "centre_id",
    "department_ids",
    "hours",
    "days",
    "photos",
)


def act(ctx: Context, actor: Actor, case_id: int, body: dict[str, Any]) -> Outcome:
    """Take one action on a case (one transaction, one event). Idempotent by ``uuid``."""
    key = client_uuid(body.get("uuid"))
    digest = content_hash({k: body.get(k) for k in ACTION_FIELDS} | {"case": case_id})
    # As for reports, a replay is looked for only when the action fails (a stale version, a
    # transition no longer allowed, or the event's UUID already taken).
    try:
        return _act(ctx, actor, case_id, body, key, digest)
    except (UseCaseError, IntegrityError):
        ctx.db.rollback()
        replay = _replay_event(ctx, actor, key, digest, case_id)
        if replay:
            return replay
        raise


def _load_for_action(ctx: Context, actor: Actor, case_id: int) -> tuple[Incident, int, str | None]:
    """The case (visible to the actor) with its photo count and first photo, in one query."""
    ready = (Attachment.incident_id == Incident.id, Attachment.status == "ready")
    count = select(func.count()).where(*ready).correlate(Incident).scalar_subquery()
    first = (
        select(Attachment.uuid)
        .where(*ready)
        .order_by(Attachment.id)
        .limit(1)
        .correlate(Incident)
        .scalar_subquery()
    )
    columns: list[Any] = [Incident, count, first]
    if is_postgres(ctx.db):
        # The transaction takes its id now, before its event's id is handed out (in the
        # INSERT): the change feed holds back event ids by the transactions it sees writing,
        # and a writer without its id yet was not seen (server/api/feed.py). As a report does.
        columns.append(func.pg_current_xact_id())
    row = ctx.db.execute(select(*columns).where(Incident.id == case_id)).first()
    if row is None or not policy.may_see_case(actor, row[0]):
        raise _no_case()
    return row[0], int(row[1] or 0), row[2]


def _event_values(
    key: str, digest: str, case_id: int, action: wf.Action, actor: Actor, now: datetime
) -> dict[str, Any]:
    """The columns every event fills alike: its key and hash, its case, the action and who acted."""
    return {
        "uuid": key,
        "content_hash": digest,
        "incident_id": case_id,
        "action": action.value,
        "actor_id": actor.id,
        "actor_role": actor.role,
        "created_at": now,
    }


def _act(
    ctx: Context, actor: Actor, case_id: int, body: dict[str, Any], key: str, digest: str
) -> Outcome:
    case, n_photos, first_photo = _load_for_action(ctx, actor, case_id)
    try:
        action = wf.Action(str(body.get("action")))
    except ValueError:
        raise ValidationFailed(
            "未知操作 / unknown action", code="unknown_action", fields={"action": "unknown"}
        ) from None
    if action in (wf.Action.REPORT, wf.Action.SELF_HANDLE):
        raise ValidationFailed("请用上报接口 / use POST /cases", fields={"action": "create only"})
    version = body.get("version")
    if version is not None and version != case.version:
        raise Conflict(
            "案件已被他人更新，请查看最新状态 / the case changed meanwhile: see its current state",
            code="stale_version",
            case_id=case.id,
        )
    state_before = case.state
    try:
        new_state = wf.check(
            action,
            actor.role,
            state_before,
            body,
            suspended_from=case.suspended_from if action is wf.Action.RESUME else None,
            last_rating=case.last_rating,
            on_grid=case.grid_id is not None,
        )
    except DomainError as err:
        raise _domain_error(err, case) from None
    # Jurisdiction and the case's own facts: the same check that lists the actions offered.
    policy.check_action(ctx.db, actor, action, case)

    now = ctx.now()
    note = _text(body, "note", 4000) or _text(body, "reason", 2000)
    data: dict[str, Any] = {}
    event_values = dict(
        _event_values(key, digest, case.id, action, actor, now),
        from_state=state_before,
        to_state=new_state.value,
        device_time=_device_time(body.get("device_time")),
        note=note,
        data=data,
        lon=_coordinate(body, "lon"),
        lat=_coordinate(body, "lat"),
        public=action.value in PUBLIC_ACTIONS,
    )
    atts: list[Attachment] = []
    try:
        # Three statements: INSERT the event, attach the photos (one UPDATE, if any), and at
        # commit one UPDATE of the case (checked against its version). Nothing is flushed
        # early: the case's changes wait for the commit.
        with ctx.db.no_autoflush:
            apply_change(ctx, actor, action, case, body, now, data)
            event = ctx.db.scalars(
                insert(IncidentEvent).returning(IncidentEvent), [event_values]
            ).one()
            if body.get("photos"):
                atts = _attach(ctx, actor, list(body["photos"]), case, event)
        if stage_of(state_before) is not stage_of(new_state) or action in _RESTART:
            stages.enter(ctx, case, new_state, now)
        elif action is wf.Action.DECIDE_EXTENSION and stage_of(new_state) is Stage.HANDLE:
            case.stage_due_at = case.deadline_at
        if action is wf.Action.SUSPEND:
            case.suspended_from = state_before
        elif action is wf.Action.RESUME:
            case.suspended_from = None
        case.state = new_state.value
        case.updated_at = now
        case.version = case.version + 1  # one event, one version
        if action is wf.Action.RATE:
            ctx.db.add(
                Rating(
                    incident_id=case.id,
                    event_id=event.id,
                    value=body["rating"],
                    rater_id=actor.id,
                    source="callback" if actor.role == wf.Role.DISPATCHER else "reporter",
                    created_at=now,
                )
            )
        case.last_event_id = event.id
        if action is wf.Action.COPY:
            # The case's UPDATE (checked against its version) first: of two copies at once the
            # second loses there (409 stale_version), not on case_copies' unique key (a 500).
            ctx.db.flush()
            _copy_rows(ctx, case, event, data["department_ids"], now)
        if action is wf.Action.ASSIGN_GRID:
            # the figures follow the case's grid (docs/metrics.md): fold its rows again
            ctx.db.flush()
            projection.rebuild(ctx.db.connection(), case.id)
        ctx.db.commit()
    except StaleDataError:
        ctx.db.rollback()
        raise Conflict(
            "案件已被他人同时处理 / someone else acted on this case at the same moment",
            code="stale_version",
            case_id=case_id,
        ) from None
    except Exception:
        ctx.db.rollback()
        raise
    if atts:
        n_photos += len(atts)
        first_photo = first_photo or _first(atts)
    return Outcome(case, event, photo_summary=(n_photos, first_photo), event_photos=atts)


def apply_change(
    ctx: Context,
    actor: Actor,
    action: wf.Action,
    case: Incident,
    body: dict[str, Any],
    now: datetime,
    data: dict[str, Any],
) -> None:
    """The effect of ``action`` on the case row, and what the event records in ``data``."""
    A = wf.Action
    if action is A.ACCEPT:
        case.accepted_at = case.accepted_at or now
    elif action is A.REJECT:
        data["reason"] = body["reason"]
        dup = body.get("duplicate_of")
        if dup is not None:
            other = ctx.db.get(Incident, dup) if isinstance(dup, int) else None
            # Another jurisdiction's case answers exactly like a missing one.
            if other is None or not policy.may_refer_case(actor, case, other):
                raise ValidationFailed(
                    "重复案件不存在 / duplicate_of is not a case",
                    fields={"duplicate_of": "unknown"},
                )
            # Two cases merged into each other at once: each saw the other open and both were
            # rejected, the incident lost (an outside audit). The second now waits for the
            # first and reads the case it merges into as the first left it.
            locks.hold_cases(ctx.db, [case.id, other.id])
            ctx.db.refresh(other)
            if other.state == wf.State.REJECTED.value or other.duplicate_of_id is not None:
                # Merged into a case that is itself not taken up, nothing stays open for the
                # incident (X into Y, then Y into X left both rejected).
                raise ValidationFailed(
                    "不能合并到已不予立案的案件 / duplicate_of is itself rejected",
                    fields={"duplicate_of": "not_open"},
                )
            case.duplicate_of_id = other.id
            data["duplicate_of"] = other.id
            data["duplicate_of_number"] = other.number
    elif action is A.DISPATCH:
        dep = _department(ctx, actor, case, body.get("department_id"))
        urgency = body.get("urgency") or case.urgency or "normal"
        fixed = explicit_deadline(body, now)
        if fixed is not None:
            case.fixed_deadline_at = fixed
        limit = stages.handle_limit(ctx, case, urgency)
        if case.fixed_deadline_at is not None:
            due = case.fixed_deadline_at
            data.update(deadline_source="explicit")
        else:
            try:
                due = deadline(now, TimeLimit(limit.value, limit.unit), ctx.calendar)
            except BeyondCalendar:
                raise _past_the_years("deadline") from None
            data.update(limit_value=limit.value, limit_unit=limit.unit)
        case.department_id, case.urgency = dep.id, urgency
        case.dispatched_at, case.deadline_at = now, due
        case.pending_extension = None
        data.update(department_id=dep.id, urgency=urgency, deadline_at=due.isoformat())
    elif action is A.SIGN:
        data["department_id"] = case.department_id
    elif action is A.RETURN:
        data.update(reason=body["reason"], department_id=case.department_id)
        case.department_id = None
        case.deadline_at = None
        case.pending_extension = None
    elif action is A.RESOLVE:
        case.resolved_at = now
        data.update(
            department_id=case.department_id,
            deadline_at=case.deadline_at.isoformat() if case.deadline_at else None,
        )
    elif action is A.VERIFY:
        passed = bool(body["passed"])
        data.update(passed=passed, department_id=case.department_id)
        if passed:
            case.closed_at = now
        else:
            data["reason"] = body["reason"]
    elif action is A.REQUEST_EXTENSION:
        ask = {k: body[k] for k in ("hours", "days") if body.get(k) is not None}
        extended_deadline(ctx, case, ask, now)  # one that could never be granted: 400 now
        data.update(ask, reason=body["reason"])
        case.pending_extension = {**ask, "reason": body["reason"], "at": now.isoformat()}
    elif action is A.DECIDE_EXTENSION:
        pending = case.pending_extension
        assert pending, "policy.check_action: a pending request"
        approved = bool(body["approved"])
        data.update(approve=approved, old_deadline=_iso(case.deadline_at))
        if approved:
            # The dispatcher may grant another duration than asked; by default what was asked.
            granted = body if body.get("hours") or body.get("days") else pending
            new = extended_deadline(ctx, case, granted, now)
            case.deadline_at = new
            data["new_deadline"] = new.isoformat()
        else:
            data["reason"] = body.get("reason")
        case.pending_extension = None
    elif action in (A.SUSPEND, A.RESUME):
        data["reason"] = body.get("reason") or body.get("note")
    elif action is A.RATE:
        data.update(rating=body["rating"], source="callback" if case.source == "hotline" else "")
        case.last_rating = body["rating"]
    elif action is A.ASSIGN_GRID:
        _assign_grid(ctx, actor, case, str(body["grid_code"]).strip(), data)
    elif action in (A.ESCALATE, A.DEVOLVE, A.PULL_UP):
        _move(ctx, actor, action, case, body, data)
    elif action is A.COPY:
        _copy(ctx, actor, case, body, data)
    elif action is A.REOPEN:
        data["reason"] = body["reason"]
        case.closed_at = None
        case.last_rating = None
        case.department_id = None
        case.deadline_at = None


def _move(
    ctx: Context,
    actor: Actor,
    action: wf.Action,
    case: Incident,
    body: dict[str, Any],
    data: dict[str, Any],
) -> None:
    """上报 / 交办 / 上提: the case changes centre along its line (policy.check_action has
    checked that there is a centre to move to); the event records from where to where."""
    regions = routing.regions(ctx.db)
    if action is wf.Action.ESCALATE:
        target = routing.centre_above(ctx.db, case)
        data["reason"] = body["reason"]
    elif action is wf.Action.DEVOLVE:
        wanted = body.get("centre_id")
        target = next((c for c in routing.centres_below(ctx.db, case) if c.id == wanted), None)
        if target is None:
            # another subtree's centre answers exactly like one that does not exist
            raise ValidationFailed(
                "只能交办给本中心下级、案件所在的指挥中心 / devolve to a centre below yours, "
                "on the case's line",
                code="not_a_centre_below",
                fields={"centre_id": "not a centre below yours on this case's line"},
            )
        data["instruction"] = body["note"]
    else:
        target = regions.get(actor.region_id) if actor.region_id is not None else None
    assert target is not None, "policy.check_action: a centre to move to"
    before = regions.get(case.centre_id) if case.centre_id is not None else None
    data.update(
        from_centre=routing.centre_json(before),
        centre=routing.centre_json(target),
    )
    case.centre_id = target.id


def _copy(
    ctx: Context, actor: Actor, case: Incident, body: dict[str, Any], data: dict[str, Any]
) -> None:
    """抄告: the departments named get read access (and the event is their notice)."""
    deps = cache.reference(ctx.db).departments
    already = set(case.copied_department_ids or ())
    chosen: list[int] = []
    for value in body["department_ids"]:
        dep = deps.get(value)
        if dep is None or not dep.active or not policy.may_copy_to(ctx.db, actor, dep, case):
            raise ValidationFailed(
                "抄告部门无效 / unknown department",
                fields={"department_ids": f"{value}: unknown or inactive"},
            )
        if dep.id not in already and dep.id not in chosen and dep.id != case.department_id:
            chosen.append(dep.id)
    if not chosen:
        raise ValidationFailed(
            "这些部门已收到抄告 / already copied to these departments",
            code="already_copied",
            fields={"department_ids": "already copied"},
        )
    data.update(
        department_ids=chosen,
        departments=[{"id": i, "name": deps[i].name} for i in chosen],
    )
    case.copied_department_ids = sorted(already | set(chosen))


def _copy_rows(
    ctx: Context, case: Incident, event: IncidentEvent, dep_ids: Any, now: datetime
) -> None:
    if dep_ids:
        ctx.db.execute(
            insert(CaseCopy),
            [
                {"incident_id": case.id, "department_id": d, "event_id": event.id,
                 "created_at": now}
                for d in dep_ids
            ],
        )  # fmt: skip


def _assign_grid(
    ctx: Context, actor: Actor, case: Incident, code: str, data: dict[str, Any]
) -> None:
    """Put a case that fell outside every grid on an active grid of the actor's jurisdiction
    (issue 14 §4): its grid, community and town follow; the point stays where it was reported."""
    row = ctx.db.execute(
        select(Grid, Region)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .join(Region, Region.id == Grid.community_id)
        .where(Grid.code == code, GridPlan.status == "active")
    ).first()
    # a grid outside the jurisdiction answers exactly like a missing one
    if row is None or not policy.may_assign_grid(ctx.db, actor, case, row[1]):
        raise ValidationFailed(
            "没有这个网格 / no such grid", code="unknown_grid", fields={"grid_code": "unknown"}
        )
    grid, community = row
    data.update(
        grid_code=grid.code,
        grid_name=grid.name,
        community_id=community.id,
        location_status=case.location_status,
    )
    case.grid_id, case.grid_code = grid.id, grid.code
    case.community_id, case.town_id = community.id, community.parent_id
    case.location_status = "assigned"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def possible_duplicates(
    ctx: Context, actor: Actor, case: Incident, limit: int = 10
) -> list[Incident]:
    """Same category, within the configured distance and time window, not closed/rejected."""
    if case.lon is None or case.lat is None:
        return []
    radius = ctx.duplicate_radius_m
    dlat = radius / 111_000
    dlon = radius / (111_000 * max(math.cos(math.radians(case.lat)), 0.01))
    window = timedelta(hours=ctx.duplicate_window_hours)
    rows = ctx.db.scalars(
        select(Incident)
        .where(
            Incident.category_id == case.category_id,
            Incident.id != case.id,
            Incident.created_at.between(case.created_at - window, case.created_at + window),
            Incident.lon.between(case.lon - dlon, case.lon + dlon),
            Incident.lat.between(case.lat - dlat, case.lat + dlat),
            Incident.state != wf.State.REJECTED,
            policy.cases_clause(actor),
        )
        .order_by(Incident.created_at.desc())
        .limit(limit * 3)
    ).all()
    out = []
    for other in rows:
        assert other.lon is not None and other.lat is not None
        if _metres(case.lon, case.lat, other.lon, other.lat) <= radius:
            out.append(other)
    return out[:limit]


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))
