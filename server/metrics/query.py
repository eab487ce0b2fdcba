"""The metric queries: counts per group from ``metric_events``, and the cases behind them.

Every count of :mod:`server.domain.metrics` is one SQL expression over the rows of one
*family* (see that module): a group's number is the sum of that expression over the family's
rows, and its drill-down is the list of rows where the expression is positive. Both are built
from the same text below, so a number and its list of cases cannot disagree.

A family's rows are found in ``metric_events`` (the trail folded into case states, see
:mod:`server.models.metrics`): for the cohort, the row of each case accepted in the period that
was valid at the as-of moment T (``at_us <= T < valid_to_us``); for dispatches, the row of each
dispatch episode valid at T; for reports, the row of each reported case valid at T; for
rejections and verifications, the event rows themselves.

Times are integers (µs since 1970 UTC) on both databases, and working time is counted by the
database with a per-day calendar table (:class:`server.metrics.worktime.SqlClock`), so the SQL
is the same text on PostgreSQL and SQLite and gives the same numbers. In a time zone with
daylight saving time, working time is counted in Python from the same rows instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, bindparam, or_, select, text
from sqlalchemy.engine import Connection

from server.domain import metrics as dm
from server.domain.worktime import WorkCalendar
from server.metrics.worktime import SqlClock, from_us, sql_clock, to_us, work_micros
from server.models import Category, Department, Grid, GridPlan, Incident, Region, User
from server.models.metrics import ACTION_CODES, OPEN_END, RATING_CODES, STATE_CODES

S = STATE_CODES
A = ACTION_CODES
RATING_NAMES = {v: k for k, v in RATING_CODES.items()}
STATE_NAMES = {v: k for k, v in STATE_CODES.items()}
# A verification this long after the resolution it checks is never on time (one working day
# cannot take 400 calendar days); it bounds the calendar the database needs.
VERIFY_HORIZON_US = 400 * 86_400_000_000

# --- the families ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilySQL:
    name: str
    time: str  # the moment that puts a row in the period
    # WHERE clauses whose rows together are the family's rows for the period and T, each row
    # in exactly one (hi = min(period end, T + 1 µs)).
    branches: tuple[str, ...]
    department: str | None  # the department a row is attributed to (None: not applicable)
    worker: str  # the person a row is attributed to
    values: dict[str, str]  # metric key -> SQL value per row (a 0/1 flag or a count)


def _as_of(moment: str, valid_to: str) -> tuple[str, str]:
    """The row valid at T (``at_us <= T < valid_to``) of each thing whose ``moment`` is in the
    period: still its latest row (valid_to open), or a row superseded after T."""
    period = f"{moment} >= :s AND {moment} < :hi AND m.at_us <= :t"
    return (
        f"{valid_to} = {OPEN_END} AND {period}",
        f"{valid_to} < {OPEN_END} AND {valid_to} > :t AND {period}",
    )


def _flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


CLOSED_ON_TIME = (
    f"m.to_state = {S['closed']} AND (m.last_res_us IS NULL OR m.ep_deadline_us IS NULL "
    "OR m.last_res_us <= m.ep_deadline_us)"
)
OVERDUE_OPEN = (
    f"(m.to_state IN ({S['dispatched']}, {S['in_progress']}) AND m.ep_deadline_us < :t) "
    f"OR (m.to_state = {S['resolved']} AND m.ep_deadline_us < m.last_res_us)"
)
HANDLED = f"m.to_state = {S['closed']} AND m.first_disp_us IS NOT NULL"
RESOLVED_ON_TIME = "m.ep_ok = 1 AND (m.ep_deadline_us IS NULL OR m.ep_res_us <= m.ep_deadline_us)"

FAMILIES: dict[str, FamilySQL] = {
    "report": FamilySQL(
        "report",
        "m.rep_us",
        _as_of("m.rep_us", "m.valid_to_us"),
        None,
        "m.reporter_id",
        {"reported": "1", "valid_reports": _flag("m.acc_us IS NOT NULL")},
    ),
    "reject": FamilySQL(
        "reject",
        "m.at_us",
        (f"m.action = {A['reject']} AND m.at_us >= :s AND m.at_us < :hi",),
        None,
        "m.reporter_id",
        {"rejected": "1"},
    ),
    "cohort": FamilySQL(
        "cohort",
        "m.acc_us",
        _as_of("m.acc_us", "m.valid_to_us"),
        "m.ep_dept",
        "m.reporter_id",
        {
            "accepted": "1",
            "self_handled": _flag("m.self_h = 1"),
            "suspended": _flag(f"m.to_state = {S['suspended']}"),
            "due": _flag(f"m.to_state <> {S['suspended']}"),
            "closed": _flag(f"m.to_state = {S['closed']}"),
            "closed_on_time": _flag(CLOSED_ON_TIME),
            "overdue_open": _flag(OVERDUE_OPEN),
            "rated": _flag("m.cur_rating IS NOT NULL"),
            "satisfied": _flag(
                f"m.cur_rating IN ({RATING_CODES['satisfied']}, "
                f"{RATING_CODES['basically_satisfied']})"
            ),
            "handled": _flag(HANDLED),
        },
    ),
    "dispatch": FamilySQL(
        "dispatch",
        "m.ep_us",
        _as_of("m.ep_us", "m.ep_to_us"),
        "m.ep_dept",
        "m.reporter_id",
        {
            "dispatches": "1",
            "resolved_on_time": _flag(RESOLVED_ON_TIME),
            "resolutions": "m.ep_res",
            "reworks": "m.ep_fail",
            "returns": "m.ep_returned",
            "extended": "m.ep_extended",
        },
    ),
    "verification": FamilySQL(
        "verification",
        "m.at_us",
        (f"m.action = {A['verify']} AND m.at_us >= :s AND m.at_us < :hi",),
        "m.ep_dept",
        "m.actor_id",
        {"verifications": "1"},
    ),
}


@dataclass(frozen=True)
class TimedValue:
    """A per-row value that needs working time: (rows it applies to, start, end, how)."""

    key: str
    family: str
    start: str
    end: str
    kind: str  # "sum": Σ office µs; "within": 1 if office µs ≤ limit


TIMED: tuple[TimedValue, ...] = (
    TimedValue("handling_us", "cohort", "m.first_disp_us", "m.last_res_us", "sum"),
    TimedValue("verified_on_time", "verification", "m.last_res_us", "m.at_us", "within"),
)
TIMED_BY_FAMILY = {t.family: t for t in TIMED}

# Which family counts each count metric.
FAMILY_OF: dict[str, str] = {key: fam.name for fam in FAMILIES.values() for key in fam.values} | {
    t.key: t.family for t in TIMED
}
assert set(dm.COUNT_KEYS) <= set(FAMILY_OF), set(dm.COUNT_KEYS) - set(FAMILY_OF)


def family_keys(name: str) -> list[str]:
    keys = list(FAMILIES[name].values)
    if name in TIMED_BY_FAMILY:
        keys.append(TIMED_BY_FAMILY[name].key)
    return keys


def verify_limit_us(cal: WorkCalendar) -> int:
    return dm.VERIFY_LIMIT_WORKDAYS * cal.office_hours.micros_per_day


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
        if not sep or kind not in dm.SCOPE_KINDS or not value:
            raise QueryError(
                400,
                "invalid_scope",
                f"scope {spec!r}: 应为 / expected " + ", ".join(f"{k}:…" for k in dm.SCOPE_KINDS),
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
    def period(self) -> dm.Period:
        return dm.Period(self.start, self.end)


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
    buckets: list[dm.Bucket]
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
        return Filter(
            "region",
            _region_column(r.level),
            (r.id,),
            {"id": r.id, "code": r.code, "name": r.name, "level": r.level, "path": r.path},
        )
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
    if query.by is not None and query.by not in dm.GROUP_BYS:
        raise QueryError(
            400, "invalid_by", "by 应为 " + "|".join(dm.GROUP_BYS) + " / unknown grouping", "by"
        )
    buckets: list[dm.Bucket] = []
    if query.by in ("week", "month"):
        try:
            buckets = dm.buckets(query.period, query.by)  # type: ignore[arg-type]
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
        [to_us(dm.Period(b.start, b.end).bounds(cal.tz)[0]) for b in buckets],
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
                s, e = dm.Period(b.start, b.end).bounds(cal.tz)
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


# --- SQL -------------------------------------------------------------------------------------


# Grouped by worker, a row counts for its person only when that person is a grid worker: the
# worker rankings are grid workers' (a dispatcher filing a hotline case or verifying is not
# one); other people's rows go to the "none" group, so the lines still add up to the total.
_GRID_WORKERS = "(SELECT u.id FROM users u WHERE u.role = 'grid_worker')"


def _group_column(by: str, fam: FamilySQL) -> str | None:
    if by == "worker":
        return f"CASE WHEN {fam.worker} IN {_GRID_WORKERS} THEN {fam.worker} END"
    return {
        "town": "m.town_id",
        "community": "m.community_id",
        "grid": "m.grid_code",
        "category": "m.category_id",
        "department": fam.department,
    }.get(by)


def _group_expr(p: Plan, fam: FamilySQL, grouped: bool) -> str | None:
    """SQL of a row's group key ("NULL" when not grouping); None if the grouping does not
    apply to the family (reports have no department)."""
    by = p.query.by
    if not grouped or by is None:
        return "NULL"
    if by not in ("week", "month"):
        return _group_column(by, fam)
    whens = " ".join(
        f"WHEN {fam.time} < {bound} THEN '{b.key}'"
        for b, bound in zip(p.buckets[:-1], p.bucket_bounds[1:], strict=True)
    )
    last = f"'{p.buckets[-1].key}'"
    return f"CASE {whens} ELSE {last} END" if whens else last


def _filter_sql(p: Plan, fam: FamilySQL, params: dict[str, Any]) -> str | None:
    """AND-ed conditions of the plan's filters; None if a filter does not apply to ``fam``."""
    parts: list[str] = []
    for n, f in enumerate(p.filters):
        name = f"f{n}"
        if f.kind == "group":
            column = _group_column(f.column or "", fam)
            if column is None:
                return None
            if f.values[0] is None:
                parts.append(f"{column} IS NULL")
            else:
                params[name] = f.values[0]
                parts.append(f"{column} = :{name}")
            continue
        column = {
            "region": f"m.{f.column}",
            "grid": "m.grid_code",
            "category": "m.category_id",
            "department": fam.department,
            "worker": fam.worker,
        }[f.kind]
        if column is None:
            return None
        params[name] = list(f.values)
        parts.append(f"{column} IN :{name}")
    return " AND ".join(parts) if parts else "1 = 1"


def applies(p: Plan, family: str) -> bool:
    """Whether the family's figures exist under the plan's filters (e.g. not reports under a
    department scope)."""
    return _filter_sql(p, FAMILIES[family], {}) is not None


def _timed_sql(
    p: Plan, dialect: str, timed: TimedValue, cal: WorkCalendar
) -> tuple[str, str, str, dict[str, Any]]:
    """(WITH prefix, FROM addition, value, parameters) of a timed value counted by the
    database with ``p.clock``."""
    clock = p.clock
    assert clock is not None
    instants = [timed.start, timed.end]
    prefix, extra, params = clock.sql(dialect, instants)
    spent = f"({clock.position(dialect, instants, 1)} - {clock.position(dialect, instants, 0)})"
    if timed.kind == "sum":
        value = f"CASE WHEN {HANDLED} AND {timed.end} > {timed.start} THEN {spent} ELSE 0 END"
    else:
        value = _flag(
            f"{timed.start} IS NOT NULL AND {timed.start} >= {timed.end} - {VERIFY_HORIZON_US} "
            f"AND {spent} <= {verify_limit_us(cal)}"
        )
    return prefix, extra, value, params


def _select(
    conn: Connection,
    p: Plan,
    fam: FamilySQL,
    columns: Callable[[str], str],
    cal: WorkCalendar,
    *,
    grouped: bool,
    extra: str = "1 = 1",
    aggregate: bool = False,
    timed: bool = False,
) -> list[Any]:
    """Run ``SELECT g, <columns(value of timed)> FROM metric_events m ...`` over every branch
    of the family (UNION ALL)."""
    params: dict[str, Any] = {"s": p.s, "hi": p.hi, "t": p.t}
    g = _group_expr(p, fam, grouped)
    cond = _filter_sql(p, fam, params)
    assert g is not None and cond is not None
    joins, timed_value, cte = "", "NULL", ""
    spec = TIMED_BY_FAMILY.get(fam.name)
    if timed and spec is not None and p.clock is not None:
        cte, joins, timed_value, more = _timed_sql(p, conn.dialect.name, spec, cal)
        params.update(more)
    group_by = " GROUP BY 1" if aggregate else ""
    sql = cte + " UNION ALL ".join(
        f"SELECT {g} AS g, {columns(timed_value)} FROM metric_events m {joins} "
        f"WHERE {branch} AND {cond} AND {extra}{group_by}"
        for branch in fam.branches
    )
    stmt = text(sql)
    expanding = [k for k, v in params.items() if isinstance(v, list) and not k.startswith("cal_")]
    if expanding:
        stmt = stmt.bindparams(*(bindparam(k, expanding=True) for k in expanding))
    return list(conn.execute(stmt, params).all())


Counts = dict[str, int]


def _family_counts(
    conn: Connection, p: Plan, fam: FamilySQL, cal: WorkCalendar, grouped: bool
) -> dict[Any, Counts]:
    """{group key: {metric: count}} for one family (a single key, None, when not grouped)."""
    keys = list(fam.values)
    spec = TIMED_BY_FAMILY.get(fam.name)
    in_sql = spec is not None and p.clock is not None

    def columns(timed_value: str) -> str:
        sums = [f"sum({fam.values[k]})" for k in keys]
        if in_sql:
            sums.append(f"sum({timed_value})")
        return ", ".join(sums)

    rows = _select(conn, p, fam, columns, cal, grouped=grouped, aggregate=True, timed=True)
    all_keys = keys + ([spec.key] if in_sql and spec else [])
    out: dict[Any, Counts] = {}
    for row in rows:
        counts = out.setdefault(row[0], dict.fromkeys(all_keys, 0))
        for k, v in zip(all_keys, row[1:], strict=True):
            counts[k] += int(v or 0)
    if spec is not None and not in_sql:
        for g, value in _timed_in_python(conn, p, fam, spec, cal, grouped).items():
            out.setdefault(g, dict.fromkeys(keys, 0))[spec.key] = value
    if spec is not None:
        for c in out.values():
            c.setdefault(spec.key, 0)
    return out


def _timed_in_python(
    conn: Connection,
    p: Plan,
    fam: FamilySQL,
    spec: TimedValue,
    cal: WorkCalendar,
    grouped: bool,
) -> dict[Any, int]:
    """The timed value per group from the rows, when the database cannot count working time
    (a time zone with daylight saving time)."""
    extra = HANDLED if spec.kind == "sum" else "1 = 1"
    rows = _select(
        conn,
        p,
        fam,
        lambda _t: f"{spec.start}, {spec.end}",
        cal,
        grouped=grouped,
        extra=extra,
    )
    values = _timed_values(rows, 1, 2, spec, cal)
    out: dict[Any, int] = defaultdict(int)
    for row, v in zip(rows, values.tolist(), strict=True):
        out[row[0]] += int(v)
    return out


def _timed_values(
    rows: Sequence[Any], start_i: int, end_i: int, spec: TimedValue, cal: WorkCalendar
) -> np.ndarray:
    """The timed value of each row, in Python (as the SQL of :func:`_timed_sql` does)."""
    out = np.zeros(len(rows), dtype=np.int64)
    if not rows:
        return out
    start = np.fromiter((-1 if r[start_i] is None else r[start_i] for r in rows), np.int64)
    end = np.fromiter((-1 if r[end_i] is None else r[end_i] for r in rows), np.int64)
    known = (start >= 0) & (end >= 0)
    if spec.kind == "within":
        known &= start >= end - VERIFY_HORIZON_US
    idx = np.nonzero(known)[0]
    if idx.size:
        spent = work_micros(cal, start[idx], end[idx])
        out[idx] = spent if spec.kind == "sum" else (spent <= verify_limit_us(cal))
    return out


def _prepare(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # Planning and JIT-compiling these short queries would cost more than running them.
        conn.exec_driver_sql("SET LOCAL jit = off")


# --- results ---------------------------------------------------------------------------------


@dataclass
class Group:
    key: Any
    label: dict[str, Any]
    counts: dict[str, Any]
    values: dict[str, Any]


@dataclass
class Result:
    plan: Plan
    total: dict[str, Any]  # every metric (dm.derive)
    groups: list[Group]
    total_counts: dict[str, Any]


def compute(
    conn: Connection, query: MetricsQuery, cal: WorkCalendar, now: datetime | None = None
) -> Result:
    """Every metric for the query: a total, and one line per group when ``by`` is given."""
    return compute_plan(conn, plan(conn, query, cal, now), cal)


def compute_plan(conn: Connection, p: Plan, cal: WorkCalendar) -> Result:
    _prepare(conn)
    grouped = p.query.by is not None
    per_group: dict[Any, dict[str, Any]] = defaultdict(dict)
    totals: dict[str, Any] = {}
    split: dict[str, bool] = {}  # family -> its counts are split by the grouping
    for name, fam in FAMILIES.items():
        keys = family_keys(name)
        if not applies(p, name):
            totals.update(dict.fromkeys(keys))
            split[name] = False
            continue
        by_group = grouped and _group_expr(p, fam, True) is not None
        split[name] = by_group
        counts = _family_counts(conn, p, fam, cal, by_group)
        for k in keys:
            totals[k] = sum(c.get(k, 0) for c in counts.values())
        if by_group:
            for g, c in counts.items():
                per_group[g].update(c)
    groups: list[Group] = []
    if grouped:
        labels = group_labels(conn, p, list(per_group))
        for key in _ordered_keys(p, list(per_group), labels):
            found = per_group.get(key, {})
            full = {
                k: (found.get(k, 0) if split[name] else None)
                for name in FAMILIES
                for k in family_keys(name)
            }
            label = labels.get(key) or _unknown_label(p, key)
            groups.append(Group(key, label, full, dm.derive(full)))
    return Result(p, dm.derive(totals), groups, totals)


# --- group labels ------------------------------------------------------------------------------


def _unknown_label(p: Plan, key: Any) -> dict[str, Any]:
    if key is None:
        names = {"department": "未派遣 / not dispatched"}
        return {"key": None, "name": names.get(p.query.by or "", "（无）/ none")}
    return {"key": key, "name": str(key)}


def scope_path(p: Plan) -> str | None:
    """The deepest region path the filters confine the figures to (None: not a region)."""
    if any(f.kind == "grid" for f in p.filters):
        return None
    paths = [str(f.label["path"]) for f in p.filters if f.kind == "region" and f.label.get("path")]
    return max(paths, key=len) if paths else None


def group_labels(conn: Connection, p: Plan, keys: list[Any]) -> dict[Any, dict[str, Any]]:
    """Names of the groups; also the scope's towns, communities or current grids, and the
    weeks or months of the period, that have no case (a line of zeros for maps and rankings)."""
    by = p.query.by
    out: dict[Any, dict[str, Any]] = {}
    if by in ("week", "month"):
        for b in p.buckets:
            out[b.key] = {
                "key": b.key,
                "name": b.label,
                "from": b.start.isoformat(),
                "to": b.end.isoformat(),
            }
        return out
    known = [k for k in keys if k is not None]
    path = scope_path(p) if not any(f.kind == "group" for f in p.filters) else None
    cond: ColumnElement[bool]
    if by in ("town", "community"):
        cond = Region.id.in_(known)
        if path:
            cond = or_(cond, Region.path.startswith(path))
        stmt = select(Region.id, Region.code, Region.name).where(Region.level == by, cond)
        for r in conn.execute(stmt):
            out[r.id] = {"key": r.id, "id": r.id, "code": r.code, "name": r.name}
    elif by == "grid":
        active = GridPlan.status == "active"
        cond = Grid.code.in_(known)
        if path:
            cond = or_(cond, Region.path.startswith(path) & active)
        stmt2 = (
            select(Grid.code, Grid.name, Grid.community_id)
            .join(Region, Region.id == Grid.community_id)
            .join(GridPlan, GridPlan.id == Grid.plan_id)
            .where(cond)
            .order_by(active, Grid.id)  # rows of the active plan come last and win
        )
        for g in conn.execute(stmt2):
            out[g.code] = {
                "key": g.code,
                "code": g.code,
                "name": g.name,
                "community_id": g.community_id,
            }
    elif known and by == "department":
        stmt3 = select(Department.id, Department.code, Department.name).where(
            Department.id.in_(known)
        )
        for r in conn.execute(stmt3):
            out[r.id] = {"key": r.id, "id": r.id, "code": r.code, "name": r.name}
    elif known and by == "category":
        stmt4 = select(Category.id, Category.code, Category.name).where(Category.id.in_(known))
        for r in conn.execute(stmt4):
            out[r.id] = {"key": r.id, "id": r.id, "code": r.code, "name": r.name}
    elif known and by == "worker":
        stmt5 = select(User.id, User.username, User.display_name).where(User.id.in_(known))
        for r in conn.execute(stmt5):
            out[r.id] = {
                "key": r.id,
                "id": r.id,
                "username": r.username,
                "name": r.display_name or r.username,
            }
    return out


def _ordered_keys(p: Plan, keys: list[Any], labels: dict[Any, dict[str, Any]]) -> list[Any]:
    """Buckets in time order; other groups by code (or name), the "none" group last."""
    every = list(dict.fromkeys([*labels, *keys]))
    if p.query.by in ("week", "month"):
        order = {b.key: n for n, b in enumerate(p.buckets)}
        return sorted((k for k in every if k in order), key=order.__getitem__)

    def sort_key(k: Any) -> tuple[int, str, str]:
        if k is None:
            return (1, "", "")
        lab = labels.get(k, {})
        code = str(lab.get("code") or "")
        return (0, code.zfill(24), str(k).zfill(24))

    return sorted(every, key=sort_key)


# --- drill-down --------------------------------------------------------------------------------


@dataclass
class Drill:
    metric: str
    part: str
    counted: str  # the count metric the items make up
    count: int  # that number: the sum of the items' weights
    total_items: int
    items: list[dict[str, Any]]


def _iso(us: int | None) -> str | None:
    if us is None:
        return None
    return from_us(int(us)).isoformat().replace("+00:00", "Z")


_ITEM_COLUMNS = {
    "cohort": "m.incident_id, m.to_state, m.acc_us, m.self_h, m.ep_dept, m.ep_deadline_us, "
    "m.first_disp_us, m.last_res_us, m.cur_rating",
    "dispatch": "m.incident_id, m.ep_id, m.ep_us, m.ep_dept, m.ep_deadline_us, m.ep_res, "
    "m.ep_fail, m.ep_returned, m.ep_extended, m.ep_res_us, m.ep_ok",
    "report": "m.incident_id, m.rep_us, m.acc_us",
    "reject": "m.incident_id, m.at_us",
    "verification": "m.incident_id, m.event_id, m.at_us, m.last_res_us, m.to_state, m.actor_id, "
    "m.ep_dept",
}


def counted_metric(metric: str, part: str) -> str:
    """The count metric a drill-down lists: the metric itself, or a rate's numerator or
    denominator (平均处置时长: the cases averaged)."""
    m = dm.METRIC_BY_KEY.get(metric)
    if m is None:
        raise QueryError(400, "unknown_metric", f"没有指标 {metric} / unknown metric", "metric")
    if part not in ("numerator", "denominator"):
        raise QueryError(400, "invalid_part", "part 应为 numerator 或 denominator", "part")
    if m.kind == "count":
        if part == "denominator":
            raise QueryError(
                400, "invalid_part", "计数指标没有分母 / a count has no denominator", "part"
            )
        return metric
    if m.kind == "hours":
        return "handled"
    key = m.numerator if part == "numerator" else m.denominator
    assert key is not None
    return key


def drilldown(
    conn: Connection,
    p: Plan,
    cal: WorkCalendar,
    metric: str,
    part: str = "numerator",
    offset: int = 0,
    limit: int = 100,
) -> Drill:
    """The cases (for dispatch metrics: the dispatches; for verifications: the verifications)
    behind one number of :func:`compute`, with what put each of them there."""
    key = counted_metric(metric, part)
    family = FAMILY_OF[key]
    fam = FAMILIES[family]
    if not applies(p, family):
        raise QueryError(
            400,
            "not_applicable",
            f"{dm.METRIC_BY_KEY[key].zh}不按部门统计 / {key} is not counted per department",
            "metric",
        )
    _prepare(conn)
    spec = TIMED_BY_FAMILY.get(family)
    by_sql = spec is not None and p.clock is not None
    if spec is not None and key == spec.key:
        weight = None  # computed below, from the timed value
    else:
        weight = fam.values[key]
    cols = _ITEM_COLUMNS[family]

    def columns(timed_value: str) -> str:
        return f"{weight or '1'}, {timed_value if by_sql else 'NULL'}, {cols}"

    extra = f"{weight} > 0" if weight else "1 = 1"
    rows = _select(conn, p, fam, columns, cal, grouped=False, extra=extra, timed=True)
    if spec is not None and not by_sql:
        start_i, end_i = _timed_positions(family)
        values = _timed_values(rows, start_i, end_i, spec, cal).tolist()
        rows = [(*r[:2], v, *r[3:]) for r, v in zip(rows, values, strict=True)]
    if weight is None:
        rows = [r for r in rows if r[2]]
    rows.sort(key=lambda r: (r[3], r[4] if family in ("dispatch", "verification") else 0))
    count = sum(int(r[1]) for r in rows)
    page = rows[offset : offset + limit]
    items = [_ITEM_MAKERS[family](r[1], r[2], r[3:], p, cal) for r in page]
    return Drill(metric, part, key, count, len(rows), _with_numbers(conn, items))


def _timed_positions(family: str) -> tuple[int, int]:
    """Indexes of the timed value's start and end in a drill-down row."""
    base = 3
    if family == "cohort":
        return base + 6, base + 7  # first_disp_us, last_res_us
    return base + 3, base + 2  # verification: last_res_us, at_us


def _cohort_item(
    w: int, timed: Any, r: Sequence[Any], p: Plan, cal: WorkCalendar
) -> dict[str, Any]:
    (case, state, acc, self_h, dept, deadline, first_disp, last_res, rating) = r
    item = {
        "case_id": case,
        "weight": int(w),
        "accepted_at": _iso(acc),
        "state": STATE_NAMES.get(state, "unknown"),
        "self_handled": bool(self_h),
        "department_id": dept,
        "deadline_at": _iso(deadline),
        "first_dispatched_at": _iso(first_disp),
        "last_resolved_at": _iso(last_res),
        "rating": RATING_NAMES.get(rating) if rating else None,
        "handling_hours": None,
    }
    if state == S["closed"] and first_disp is not None and timed is not None:
        item["handling_hours"] = round(int(timed) / dm.US_PER_HOUR, 4)
    return item


def _dispatch_item(
    w: int, timed: Any, r: Sequence[Any], p: Plan, cal: WorkCalendar
) -> dict[str, Any]:
    (case, ep_id, ep_us, dept, deadline, res, fail, returned, extended, res_us, ok) = r
    if ok == 1:
        outcome = "resolved"
    elif ok == 0:
        outcome = "returned" if returned else "rework"
    else:
        outcome = "open"
    on_time = ok == 1 and (deadline is None or (res_us is not None and res_us <= deadline))
    return {
        "case_id": case,
        "weight": int(w),
        "dispatch_event_id": ep_id,
        "dispatched_at": _iso(ep_us),
        "department_id": dept,
        "deadline_at": _iso(deadline),
        "last_resolved_at": _iso(res_us),
        "outcome": outcome,
        "resolutions": res,
        "reworks": fail,
        "returned": bool(returned),
        "extended": bool(extended),
        "resolved_on_time": bool(on_time),
    }


def _report_item(
    w: int, timed: Any, r: Sequence[Any], p: Plan, cal: WorkCalendar
) -> dict[str, Any]:
    case, rep, acc = r
    return {"case_id": case, "weight": int(w), "reported_at": _iso(rep), "accepted_at": _iso(acc)}


def _reject_item(
    w: int, timed: Any, r: Sequence[Any], p: Plan, cal: WorkCalendar
) -> dict[str, Any]:
    case, at = r
    return {"case_id": case, "weight": int(w), "rejected_at": _iso(at)}


def _verify_item(
    w: int, timed: Any, r: Sequence[Any], p: Plan, cal: WorkCalendar
) -> dict[str, Any]:
    case, event, at, res, state, actor, dept = r
    spent = None
    if res is not None:
        spent = int(work_micros(cal, np.array([res]), np.array([at]))[0])
    return {
        "case_id": case,
        "weight": int(w),
        "verify_event_id": event,
        "verified_at": _iso(at),
        "resolved_at": _iso(res),
        "passed": state == S["closed"],
        "verifier_id": actor,
        "department_id": dept,
        "work_hours": None if spent is None else round(spent / dm.US_PER_HOUR, 4),
        "on_time": bool(timed),
    }


_ITEM_MAKERS: dict[str, Callable[..., dict[str, Any]]] = {
    "cohort": _cohort_item,
    "dispatch": _dispatch_item,
    "report": _report_item,
    "reject": _reject_item,
    "verification": _verify_item,
}


def _with_numbers(conn: Connection, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = sorted({i["case_id"] for i in items})
    if not ids:
        return items
    numbers = dict(
        conn.execute(select(Incident.id, Incident.number).where(Incident.id.in_(ids))).all()
    )
    for item in items:
        item["number"] = numbers.get(item["case_id"])
    return items
