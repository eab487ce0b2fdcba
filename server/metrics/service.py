"""Glue shared by the API and the CLI: the calendar, parameters and jurisdiction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from server.domain import periods
from server.domain import workflow as wf
from server.domain.worktime import WorkCalendar
from server.metrics import export, scorecards
from server.metrics.counting import Result, compute_plan
from server.metrics.planning import MetricsQuery, QueryError, Scope, plan
from server.models import GridAssignment, Region, User
from server.usecases import policy
from server.usecases.context import Actor

# --- parameters ------------------------------------------------------------------------------


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise QueryError(400, "invalid_date", f"{name} 应为 YYYY-MM-DD / a date", name) from None


def parse_as_of(value: str | None, cal: WorkCalendar) -> datetime | None:
    """An ISO moment (a naive one is local time), or a date meaning the end of that day."""
    if value is None or not value.strip():
        return None
    raw = value.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=cal.tz)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(
            400, "invalid_as_of", "as_of 应为 ISO 8601 时间 / an ISO 8601 moment", "as_of"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=cal.tz)
    return moment


def parse_scopes(values: Sequence[str]) -> tuple[Scope, ...]:
    out: list[Scope] = []
    for value in values:
        for part in value.split(","):
            if part.strip():
                out.append(Scope.parse(part))
    return tuple(out)


def parse_period(args: Mapping[str, str | None]) -> tuple[date, date]:
    period = (args.get("period") or "").strip()
    if period:
        try:
            p = periods.Period.month(period)
        except ValueError:
            raise QueryError(
                400, "invalid_date", "period 应为 YYYY-MM / a month", "period"
            ) from None
        return p.start, p.end
    start, end = args.get("from"), args.get("to")
    missing = {k: "必填 / required" for k, v in (("from", start), ("to", end)) if not v}
    if missing:
        raise QueryError(
            400,
            "invalid_period",
            "需要 from 和 to（或 period）/ from and to are required",
            next(iter(missing)),
        )
    assert start and end
    return _date(start, "from"), _date(end, "to")


def query_from_args(
    args: Mapping[str, str | None], scopes: Sequence[str], cal: WorkCalendar
) -> MetricsQuery:
    """A MetricsQuery from request-like parameters (QueryError on bad input)."""
    start, end = parse_period(args)
    by = (args.get("by") or "").strip() or None
    group = args.get("group")
    return MetricsQuery(
        scopes=parse_scopes(scopes),
        start=start,
        end=end,
        as_of=parse_as_of(args.get("as_of"), cal),
        by=by,
        group=group if group is not None and group != "" else None,
    )


# --- jurisdiction ------------------------------------------------------------------------------


def _forbidden(message: str) -> QueryError:
    return QueryError(403, "outside_jurisdiction", message, "scope")


def _actor(conn: Connection, who: User | Actor) -> Actor:
    if isinstance(who, Actor):
        return who
    region = (
        conn.execute(
            select(Region.id, Region.level, Region.path).where(Region.id == who.region_id)
        ).first()
        if who.region_id is not None
        else None
    )
    codes = conn.execute(
        select(GridAssignment.grid_code).where(GridAssignment.user_id == who.id)
    ).scalars()
    return Actor(
        id=who.id,
        role=who.role,
        region_id=region.id if region else None,
        region_level=region.level if region else None,
        region_path=region.path if region else None,
        department_id=who.department_id,
        grid_codes=frozenset(codes),
    )


def effective_scopes(
    conn: Connection, who: User | Actor, scopes: Sequence[Scope]
) -> tuple[Scope, ...]:
    """The scopes an actor may ask for, with their jurisdiction added (DESIGN §1); QueryError
    403 for a scope the policy (:mod:`server.usecases.policy`) says is outside it. Admins are
    not limited to a jurisdiction, whether or not their account names a region."""
    actor = _actor(conn, who)
    role = actor.role
    if role == wf.Role.ADMIN:
        return tuple(scopes)
    if role == wf.Role.HANDLER and actor.department_id is None:
        raise _forbidden("未关联处置部门 / your account has no department")
    if role in policy.REGIONAL and actor.region_id is None:
        raise _forbidden("未关联辖区 / your account has no region")
    if role not in policy.ROLES:
        raise _forbidden("无权查看统计 / your role may not see metrics")
    for s in scopes:
        if not policy.may_name_scope(conn, actor, s.kind, s.value):
            raise _forbidden(f"{s} 不在辖区内 / outside your jurisdiction")
    if role == wf.Role.HANDLER:
        own = Scope("department", str(actor.department_id))
    elif role == wf.Role.GRID_WORKER:
        own = Scope("worker", str(actor.id))
    else:
        code = conn.execute(select(Region.code).where(Region.id == actor.region_id)).scalar()
        own = Scope("region", str(code))
    return (*[s for s in scopes if s != own], own)


def scope_json(filters: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for f in filters:
        if f.kind == "group":
            continue
        label = {k: v for k, v in f.label.items() if k != "path"}
        out.append({"kind": f.kind, **label})
    return out


def report_table(
    conn: Connection, report: str, q: MetricsQuery, cal: WorkCalendar, tz: str
) -> tuple[export.Table, Result]:
    """The table of an export, and the figures it shows: the metrics (``report="metrics"``) or
    a scorecard (``department``, ``worker``, ``dispatcher``, ``town``; ``q`` grouped by it).
    For the API's downloads and ``flask metrics export`` alike."""
    if report == "metrics":
        p = plan(conn, q, cal)
        result = compute_plan(conn, p, cal)
        return export.metrics_table(result, scope_json(p.filters), tz), result
    result, cards, _config = scorecards.scorecards(conn, report, q, cal)  # type: ignore[arg-type]
    table = export.scorecard_table(
        report,
        [scorecards.card_json(c) for c in cards],
        result,
        scope_json(result.plan.filters),
        tz,
    )
    return table, result
