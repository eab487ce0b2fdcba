"""Reading cases: filtered lists with keyset (cursor) pagination, counts, and changes."""

from __future__ import annotations

import base64
import json
import time as time_module
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select

from server.domain import workflow as wf
from server.domain import years
from server.domain.levels import Level
from server.models import Category, Incident, Region
from server.usecases import policy
from server.usecases.context import Actor, Context
from server.usecases.errors import ValidationFailed
from server.usecases.policy import cases_clause as visible

SORTS = {
    "-created_at": (Incident.created_at, True),
    "created_at": (Incident.created_at, False),
    "-updated_at": (Incident.updated_at, True),
    "deadline_at": (Incident.deadline_at, False),
}
STATES = frozenset(s.value for s in wf.State)
WORKING = tuple(s.value for s in wf.State if s in wf.WORKING_STATES)  # a deadline runs
# states in which a case outside every grid waits to be put on one (the assign_grid rule's)
OFF_GRID_STATES = tuple(
    sorted(s.value for s in wf.RULES_BY_ACTION[wf.Action.ASSIGN_GRID].from_states or ())
)


@dataclass
class CaseFilter:
    states: list[str] = field(default_factory=list)
    region: str | None = None
    grid: str | None = None
    department: int | None = None
    category: str | None = None
    source: str | None = None
    urgency: str | None = None
    overdue: bool = False
    off_grid: bool = False  # outside every grid: no grid yet (issue 14 §4)
    q: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    mine: bool = False
    held: bool = False  # dispatchers, supervisors: only the cases their centre holds now
    bbox: tuple[float, float, float, float] | None = None

    @classmethod
    def parse(cls, args: Any) -> CaseFilter:
        """From query-string arguments (a MultiDict-like with getlist/get)."""
        errors: dict[str, str] = {}
        states: list[str] = []
        for raw in args.getlist("state"):
            states += [s for s in raw.split(",") if s]
        bad = [s for s in states if s not in STATES]
        if bad:
            errors["state"] = f"unknown state {bad[0]}"

        def day(key: str) -> date | None:
            value = args.get(key)
            if not value:
                return None
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                errors[key] = "YYYY-MM-DD"
                return None

        bbox = None
        if args.get("bbox"):
            try:
                parts = [float(v) for v in args["bbox"].split(",")]
                if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
                    raise ValueError
                bbox = (parts[0], parts[1], parts[2], parts[3])
            except ValueError:
                errors["bbox"] = "min_lon,min_lat,max_lon,max_lat"
        dep = args.get("department")
        if dep and not dep.isdigit():
            errors["department"] = "a department id"
        f = cls(
            states=states,
            region=args.get("region") or None,
            grid=args.get("grid") or None,
            department=int(dep) if dep and dep.isdigit() else None,
            category=args.get("category") or None,
            source=args.get("source") or None,
            urgency=args.get("urgency") or None,
            overdue=args.get("overdue") in {"1", "true", "yes"},
            off_grid=args.get("off_grid") in {"1", "true", "yes"},
            q=(args.get("q") or "").strip() or None,
            date_from=day("from"),
            date_to=day("to"),
            mine=args.get("mine") in {"1", "true", "yes"},
            held=args.get("held") in {"1", "true", "yes"},
            bbox=bbox,
        )
        if f.date_from and f.date_to and f.date_to < f.date_from:
            errors["to"] = "ends before from"
        if errors:
            raise ValidationFailed("查询参数无效 / invalid filter", fields=errors)
        return f


def _where(ctx: Context, actor: Actor, f: CaseFilter, *, with_state: bool = True) -> list[Any]:
    clauses: list[Any] = [visible(actor)]
    if with_state and f.states:
        clauses.append(Incident.state.in_(f.states))
    if f.mine:
        if actor.role == wf.Role.GRID_WORKER:
            mine = [Incident.reporter_id == actor.id]
            if actor.grid_codes:
                mine.append(Incident.grid_code.in_(sorted(actor.grid_codes)))
            clauses.append(or_(*mine))
        elif actor.role == wf.Role.HANDLER:
            clauses.append(Incident.department_id == actor.department_id)
    if f.region:
        region = ctx.db.scalar(select(Region).where(Region.code == f.region.ljust(12, "0")))
        if region is None or not policy.may_see_region(ctx.db, actor, region):
            # another county's (or town's) code answers exactly like one that names nothing
            raise ValidationFailed("未知区域 / unknown region", fields={"region": "unknown code"})
        if region.level == Level.CITY:
            counties = select(Region.id).where(Region.parent_id == region.id)
            clauses.append(Incident.county_id.in_(counties))
        else:
            column = {"county": Incident.county_id, "town": Incident.town_id}.get(
                region.level, Incident.community_id
            )
            clauses.append(column == region.id)
    if f.held and actor.role in policy.REGIONAL:
        clauses.append(Incident.centre_id == actor.region_id)
    if f.grid:
        clauses.append(Incident.grid_code == f.grid)
    if f.bbox:
        x0, y0, x1, y1 = f.bbox
        clauses += [Incident.lon.between(x0, x1), Incident.lat.between(y0, y1)]
    if f.department is not None:
        clauses.append(Incident.department_id == f.department)
    if f.category:
        if f.category.isdigit() and len(f.category) in (2, 4):
            cats = select(Category.id).where(Category.code.startswith(f.category))
            clauses.append(Incident.category_id.in_(cats))
        else:
            raise ValidationFailed("类别代码无效 / bad category code", fields={"category": "code"})
    if f.source:
        clauses.append(Incident.source == f.source)
    if f.urgency:
        clauses.append(Incident.urgency == f.urgency)
    if f.overdue:
        clauses.append(and_(Incident.state.in_(WORKING), Incident.deadline_at < ctx.now()))
    if f.off_grid:
        clauses.append(Incident.grid_id.is_(None))
    tz = ctx.calendar.tz
    if f.date_from:
        clauses.append(Incident.created_at >= datetime.combine(f.date_from, time(), tz))
    if f.date_to:
        end = datetime.combine(f.date_to + timedelta(days=1), time(), tz)
        clauses.append(Incident.created_at < end)
    if f.q:
        plain = f.q.replace("%", "").replace("_", "").replace("\\", "")
        like = f"%{plain}%"
        # Patterns built here (not with startswith) so PostgreSQL can use the pattern and
        # trigram indexes of migration 0004.
        text = [Incident.number.like(f"{plain}%"), Incident.description.like(like),
                Incident.address.like(like)]  # fmt: skip
        if actor.role in {wf.Role.DISPATCHER, wf.Role.ADMIN}:
            text.append(Incident.caller_phone.like(like))
        clauses.append(or_(*text))
    return clauses


def _encode(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> list[Any]:
    try:
        pad = "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(cursor + pad))
        assert isinstance(values, list) and len(values) == 2
        moment, last_id = values
        # A forged cursor must not reach the database: an ISO moment and a 32-bit id.
        assert isinstance(last_id, int) and not isinstance(last_id, bool)
        assert 0 <= last_id < 2**31
        assert isinstance(moment, str) and len(moment) <= 40
        parsed = datetime.fromisoformat(moment)
        assert parsed.tzinfo is not None and years.in_range(parsed)
        return [parsed, last_id]
    except (ValueError, AssertionError, TypeError, UnicodeDecodeError):
        raise ValidationFailed("游标无效 / bad cursor", fields={"cursor": "invalid"}) from None


def list_cases(
    ctx: Context,
    actor: Actor,
    f: CaseFilter,
    *,
    sort: str = "-created_at",
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Incident], str | None]:
    if sort not in SORTS:
        raise ValidationFailed("排序无效 / bad sort", fields={"sort": ", ".join(SORTS)})
    limit = max(1, min(limit, 200))
    column, desc = SORTS[sort]
    stmt: Select[Incident] = select(Incident).where(*_where(ctx, actor, f))
    if sort == "deadline_at":
        stmt = stmt.where(Incident.deadline_at.is_not(None))
    if cursor:
        value, last_id = _decode(cursor)
        if desc:
            stmt = stmt.where(or_(column < value, and_(column == value, Incident.id < last_id)))
        else:
            stmt = stmt.where(or_(column > value, and_(column == value, Incident.id > last_id)))
    order = (column.desc(), Incident.id.desc()) if desc else (column.asc(), Incident.id.asc())
    rows = list(ctx.db.scalars(stmt.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode([getattr(last, column.key), last.id])
    return rows, next_cursor


_COUNTS_TTL = 5.0
_counts_cache: dict[tuple[Any, ...], tuple[float, dict[str, int]]] = {}


def counts(ctx: Context, actor: Actor, f: CaseFilter) -> dict[str, int]:
    """Cases per state for the filter (the state filter itself ignored), plus overdue.

    Counting a county's closed cases costs ~100 ms at a million cases, and every open console
    asks: answers are kept for a few seconds per scope and filter, and only while no case has
    changed (the newest event id is part of the key), so a count is never stale after a change.
    """
    key = (
        str(ctx.db.get_bind().engine.url),
        latest_cursor(ctx),
        policy.cases_key(actor),
        repr(f),
    )
    hit = _counts_cache.get(key)
    now = time_module.monotonic()
    if hit is not None and now - hit[0] < _COUNTS_TTL:
        return dict(hit[1])
    out = _count_states(ctx, actor, f)
    if len(_counts_cache) > 1000:
        _counts_cache.clear()
    _counts_cache[key] = (now, out)
    return dict(out)


def _count_states(ctx: Context, actor: Actor, f: CaseFilter) -> dict[str, int]:
    where = _where(ctx, actor, f, with_state=False)
    rows = ctx.db.execute(
        select(Incident.state, func.count()).where(*where).group_by(Incident.state)
    ).all()
    out = dict.fromkeys(sorted(STATES), 0) | {state: n for state, n in rows}
    out["overdue"] = int(
        ctx.db.scalar(
            select(func.count())
            .select_from(Incident)
            .where(*where, Incident.state.in_(WORKING), Incident.deadline_at < ctx.now())
        )
        or 0
    )
    # open cases outside every grid: the dispatcher's to put on a grid
    out["off_grid"] = int(
        ctx.db.scalar(
            select(func.count())
            .select_from(Incident)
            .where(*where, Incident.state.in_(OFF_GRID_STATES), Incident.grid_id.is_(None))
        )
        or 0
    )
    return out


def changes(
    ctx: Context, actor: Actor, after: int, ceiling: int, limit: int = 200
) -> tuple[list[Incident], int]:
    """Cases in the actor's scope whose last event is newer than ``after`` and at most
    ``ceiling``, and the cursor to answer. ``ceiling`` is an id below which no transaction is
    still writing (the change feed's released horizon): a commit landing later with a lower id
    than one already answered would otherwise be skipped."""
    rows = list(
        ctx.db.scalars(
            select(Incident)
            .where(
                visible(actor),
                Incident.last_event_id > after,
                Incident.last_event_id <= ceiling,
            )
            .order_by(Incident.last_event_id)
            .limit(limit)
        )
    )
    if len(rows) == limit:
        return rows, max(after, rows[-1].last_event_id or 0)
    return rows, max(after, ceiling)


def latest_cursor(ctx: Context) -> int:
    return int(ctx.db.scalar(select(func.max(Incident.last_event_id))) or 0)
