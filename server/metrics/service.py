"""Glue shared by the API and the CLI: the calendar, parameters and jurisdiction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from server.domain import metrics as dm
from server.domain.worktime import OfficeHours, WorkCalendar
from server.metrics.query import MetricsQuery, QueryError, Scope
from server.models import Department, Grid, GridAssignment, Region, User


@lru_cache(maxsize=8)
def calendar_for(office_hours: str, tz: str) -> WorkCalendar:
    return WorkCalendar(OfficeHours.parse(office_hours), tz)


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
            p = dm.Period.month(period)
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


def _region_path(conn: Connection, region_id: int | None) -> tuple[str, str] | None:
    if region_id is None:
        return None
    row = conn.execute(select(Region.path, Region.code).where(Region.id == region_id)).first()
    return (row.path, row.code) if row else None


def _within(path: str | None, root: str) -> bool:
    return path is not None and path.startswith(root)


def _worker_paths(conn: Connection, user_id: int) -> list[str]:
    paths = [
        p
        for p in conn.execute(
            select(Region.path)
            .join(Grid, Grid.community_id == Region.id)
            .join(GridAssignment, GridAssignment.grid_code == Grid.code)
            .where(GridAssignment.user_id == user_id)
        ).scalars()
    ]
    region = conn.execute(
        select(Region.path).join(User, User.region_id == Region.id).where(User.id == user_id)
    ).scalar()
    return [*paths, *([region] if region else [])]


def effective_scopes(conn: Connection, user: User, scopes: Sequence[Scope]) -> tuple[Scope, ...]:
    """The scopes a user may ask for, with their jurisdiction added (DESIGN §1); QueryError
    403 for a scope outside it."""
    role = user.role
    if role == "handler":
        if user.department_id is None:
            raise _forbidden("未关联处置部门 / your account has no department")
        for s in scopes:
            if s.kind == "department" and s.value != str(user.department_id):
                raise _forbidden("只能查看本部门 / only your own department")
            if s.kind == "worker":
                raise _forbidden("只能查看本部门 / only your own department")
        own = Scope("department", str(user.department_id))
        return (*[s for s in scopes if s != own], own)
    if role == "grid_worker":
        for s in scopes:
            if s.kind == "worker" and s.value != str(user.id):
                raise _forbidden("只能查看本人 / only your own figures")
        own = Scope("worker", str(user.id))
        return (*[s for s in scopes if s != own], own)
    if role not in ("supervisor", "dispatcher", "admin"):
        raise _forbidden("无权查看统计 / your role may not see metrics")
    home = _region_path(conn, user.region_id)
    if home is None:
        if role == "admin":
            return tuple(scopes)
        raise _forbidden("未关联辖区 / your account has no region")
    root, code = home
    for s in scopes:
        _check_inside(conn, s, root)
    return (*scopes, Scope("region", code))


def _check_inside(conn: Connection, s: Scope, root: str) -> None:
    outside = _forbidden(f"{s} 不在辖区内 / outside your jurisdiction")
    if s.kind == "region":
        code = s.value.ljust(12, "0") if s.value.isdigit() else s.value
        path = conn.execute(select(Region.path).where(Region.code == code)).scalar()
        if path is not None and not _within(path, root):
            raise outside
    elif s.kind == "grid":
        paths = list(
            conn.execute(
                select(Region.path)
                .join(Grid, Grid.community_id == Region.id)
                .where(Grid.code == s.value)
            ).scalars()
        )
        if paths and not any(_within(p, root) for p in paths):
            raise outside
    elif s.kind == "department" and s.value.isdigit():
        region_id = conn.execute(
            select(Department.region_id).where(Department.id == int(s.value))
        ).scalar()
        home = _region_path(conn, region_id)
        # A department of the county also works in its towns; one of another county does not.
        if home is not None and not (_within(home[0], root) or root.startswith(home[0])):
            raise outside
    elif s.kind == "worker" and s.value.isdigit():
        exists = conn.execute(select(User.id).where(User.id == int(s.value))).scalar()
        if exists is not None and not any(
            _within(p, root) for p in _worker_paths(conn, int(s.value))
        ):
            raise outside


def scope_json(filters: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for f in filters:
        if f.kind == "group":
            continue
        label = {k: v for k, v in f.label.items() if k != "path"}
        out.append({"kind": f.kind, **label})
    return out
