"""The question of a metrics query (scopes, period, as-of, grouping) resolved into a plan.

A :class:`Plan` is a :class:`MetricsQuery` checked against the database: its scopes turned
into row filters, its period and as-of moment into epoch microseconds, its weeks or months
into buckets, and the working-time calendar laid out for the database (:class:`SqlClock`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from server.domain import metric_definitions as md
from server.domain import periods
from server.domain.levels import Level
from server.domain.worktime import WorkCalendar
from server.metrics.families import VERIFY_HORIZON_US
from server.metrics.office_clock import SqlClock, sql_clock, to_us
from server.models import Category, Department, Grid, Region, User

# --- the question ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """``region:CODE``, ``grid:CODE``, ``department:ID``, ``category:CODE``, ``worker:ID``."""

    kind: str
    value: str

    @classmethod
    def parse(cls, spec: str) -> Scope:
        kind, sep, value = spec.partition(":")
        kind, value = kind.strip(), value.strip()
        if not sep or kind not in md.SCOPE_KINDS or not value:
            raise QueryError(
                400,
                "invalid_scope",
                f"scope {spec!r}: 应为 / expected " + ", ".join(f"{k}:…" for k in md.SCOPE_KINDS),
                "scope",
            )
        return cls(kind, value)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class MetricsQuery:
    scopes: tuple[Scope, ...]
    start: date
    end: date
    as_of: datetime | None = None  # None: now
    by: str | None = None
    group: str | None = None  # drill-down: only this group of ``by``

    @property
    def period(self) -> periods.Period:
        return periods.Period(self.start, self.end)


class QueryError(ValueError):
    """A question that cannot be answered: the API turns it into a 4xx."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass(frozen=True)
class Filter:
    """One resolved restriction on rows."""

    kind: str  # region | grid | department | category | worker | group
    column: str | None  # region: county_id / town_id / community_id; group: the grouping
    values: tuple[Any, ...]
    label: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class Plan:
    """A query checked and resolved against the database."""

    query: MetricsQuery
    filters: list[Filter]
    s: int  # period start, µs
    e: int  # period end (exclusive), µs
    t: int  # as of, µs
    as_of: datetime
    buckets: list[periods.Bucket]
    bucket_bounds: list[int]  # µs start of each bucket
    clock: SqlClock | None

    @property
    def hi(self) -> int:
        return min(self.e, self.t + 1)


def _region_column(level: str) -> str:
    return {"county": "county_id", "town": "town_id", "community": "community_id"}[level]


def _unknown(kind: str, value: str, zh: str) -> QueryError:
    return QueryError(400, "unknown_scope", f"没有{zh} {value} / no such {kind}", "scope")


def resolve_scope(conn: Connection, scope: Scope) -> Filter:
    """The filter of a scope, or QueryError 400 if it names nothing."""
    if scope.kind == "region":
        code = scope.value.ljust(12, "0") if scope.value.isdigit() else scope.value
        r = conn.execute(
            select(Region.id, Region.code, Region.name, Region.level, Region.path).where(
                Region.code == code
            )
        ).first()
        if r is None:
            raise _unknown("region", scope.value, "区划")
        label = {"id": r.id, "code": r.code, "name": r.name, "level": r.level, "path": r.path}
        if r.level == Level.CITY:
            # a city: the cases of its counties (the rows carry no city column)
            counties = conn.execute(
                select(Region.id).where(Region.parent_id == r.id, Region.level == Level.COUNTY)
            ).scalars()
            return Filter("region", "county_id", tuple(counties) or (-1,), label)
        return Filter("region", _region_column(r.level), (r.id,), label)
    if scope.kind == "grid":
        g = conn.execute(
            select(Grid.code, Grid.name, Grid.community_id, Region.path)
            .join(Region, Region.id == Grid.community_id)
            .where(Grid.code == scope.value)
            .order_by(Grid.id.desc())
            .limit(1)
        ).first()
        if g is None:
            raise _unknown("grid", scope.value, "网格")
        return Filter(
            "grid",
            None,
            (g.code,),
            {"code": g.code, "name": g.name, "community_id": g.community_id, "path": g.path},
        )
    if scope.kind == "category":
        c = conn.execute(
            select(Category.id, Category.code, Category.name).where(Category.code == scope.value)
        ).first()
        if c is None:
            raise _unknown("category", scope.value, "类别")
        ids = [c.id, *conn.execute(select(Category.id).where(Category.parent_id == c.id)).scalars()]
        return Filter("category", None, tuple(ids), {"id": c.id, "code": c.code, "name": c.name})
    if not scope.value.isdigit() or len(scope.value) > 9:
        raise QueryError(400, "invalid_scope", f"{scope.kind} 应为数字编号 / a numeric id", "scope")
    ident = int(scope.value)
    if scope.kind == "department":
        d = conn.execute(
            select(Department.id, Department.code, Department.name, Department.region_id).where(
                Department.id == ident
            )
        ).first()
        if d is None:
            raise _unknown("department", scope.value, "部门")
        return Filter(
            "department",
            None,
            (d.id,),
            {"id": d.id, "code": d.code, "name": d.name, "region_id": d.region_id},
        )
    u = conn.execute(
        select(User.id, User.username, User.display_name, User.role, User.region_id).where(
            User.id == ident
        )
    ).first()
    if u is None:
        raise _unknown("worker", scope.value, "人员")
    return Filter(
        "worker",
        None,
        (u.id,),
        {
            "id": u.id,
            "name": u.display_name or u.username,
            "role": u.role,
            "region_id": u.region_id,
        },
    )


def plan(
    conn: Connection, query: MetricsQuery, cal: WorkCalendar, now: datetime | None = None
) -> Plan:
    """Check and resolve a query (QueryError on bad input)."""
    now = now or datetime.now(UTC)
    as_of = query.as_of or now
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise QueryError(400, "invalid_as_of", "as_of 需带时区 / as_of needs a time zone", "as_of")
    if as_of > now + timedelta(seconds=1):
        raise QueryError(
            400, "as_of_in_future", "统计时点不能晚于现在 / as_of is in the future", "as_of"
        )
    if query.end < query.start:
        raise QueryError(
            400, "invalid_period", "统计期结束早于开始 / the period ends before it starts", "to"
        )
    start, end = query.period.bounds(cal.tz)
    if start > as_of:
        raise QueryError(
            400,
            "period_after_as_of",
            "统计期在统计时点之后，尚无数据 / the period starts after as_of",
            "from",
        )
    if query.by is not None and query.by not in md.GROUP_BYS:
        raise QueryError(
            400, "invalid_by", "by 应为 " + "|".join(md.GROUP_BYS) + " / unknown grouping", "by"
        )
    buckets: list[periods.Bucket] = []
    if query.by in ("week", "month"):
        try:
            buckets = periods.buckets(query.period, query.by)  # type: ignore[arg-type]
        except ValueError as exc:
            raise QueryError(400, "period_too_long", str(exc), "by") from None
    filters = [resolve_scope(conn, s) for s in query.scopes]
    s_us, e_us, t_us = to_us(start), to_us(end), to_us(as_of)
    p = Plan(
        query,
        filters,
        s_us,
        e_us,
        t_us,
        as_of.astimezone(UTC),
        buckets,
        [to_us(periods.Period(b.start, b.end).bounds(cal.tz)[0]) for b in buckets],
        sql_clock(cal, s_us - VERIFY_HORIZON_US, max(t_us, e_us)),
    )
    if query.group is not None:
        if query.by is None:
            raise QueryError(
                400, "group_without_by", "group 需与 by 一起使用 / group needs by", "by"
            )
        p = _narrow_to_group(p, query.group, cal)
    return p


def _narrow_to_group(p: Plan, group: str, cal: WorkCalendar) -> Plan:
    by = p.query.by
    if by in ("week", "month"):
        for b in p.buckets:
            if b.key == group:
                s, e = periods.Period(b.start, b.end).bounds(cal.tz)
                return replace(p, s=to_us(s), e=to_us(e), buckets=[b], bucket_bounds=[to_us(s)])
        raise QueryError(400, "unknown_group", f"期内没有 {group} / no such {by}", "group")
    value: Any
    if group in ("", "none", "null"):
        value = None
    elif by == "grid":
        value = group
    elif group.isdigit() and len(group) <= 9:
        value = int(group)
    else:
        raise QueryError(400, "unknown_group", f"group 应为编号 / not an id: {group}", "group")
    return replace(p, filters=[*p.filters, Filter("group", by, (value,))])
