"""The metric counts: per group from ``metric_events``, by SQL (or Python for timed values).

Every count of :mod:`server.domain.metric_definitions` is one SQL expression over the rows of one
*family* (see that module): a group's number is the sum of that expression over the family's
rows, and its drill-down is the list of rows where the expression is positive. Both are built
from the same text below, so a number and its list of cases cannot disagree.

A family's rows are found in ``metric_events`` (the trail folded into case states, see
:mod:`server.models.metric_events`): for the cohort, the row of each case accepted in the period
that was valid at the as-of moment T (``at_us <= T < valid_to_us``); for dispatches, the row of each
dispatch episode valid at T; for reports, the row of each reported case valid at T; for
rejections and verifications, the event rows themselves.

Times are integers (µs since 1970 UTC) on both databases, and working time is counted by the
database with a per-day calendar table (:class:`server.metrics.office_clock.SqlClock`), so the SQL
is the same text on PostgreSQL and SQLite and gives the same numbers. In a time zone with
daylight saving time, working time is counted in Python from the same rows instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from server.domain import metric_definitions as md
from server.domain.workflow import Role
from server.domain.worktime import WorkCalendar
from server.metrics.families import (
    FAMILIES,
    HANDLED,
    TIMED_BY_FAMILY,
    VERIFY_HORIZON_US,
    FamilySQL,
    TimedValue,
    family_keys,
    flag,
    verify_limit_us,
)
from server.metrics.group_labels import group_labels, ordered_keys, unknown_label
from server.metrics.office_clock import work_micros
from server.metrics.planning import MetricsQuery, Plan, plan

# --- SQL -------------------------------------------------------------------------------------


# Grouped by worker, a row counts for its person only when that person is a grid worker: the
# worker rankings are grid workers' (a dispatcher filing a hotline case or verifying is not
# one); other people's rows go to the "none" group, so the lines still add up to the total.
_GRID_WORKERS = f"(SELECT u.id FROM users u WHERE u.role = '{Role.GRID_WORKER.value}')"


def _group_column(by: str, fam: FamilySQL) -> str | None:
    if by == "worker":
        return f"CASE WHEN {fam.worker} IN {_GRID_WORKERS} THEN {fam.worker} END"
    return {
        "county": "m.county_id",
        "town": "m.town_id",
        "community": "m.community_id",
        "grid": "m.grid_code",
        "category": "m.category_id",
        "department": fam.department,
        "centre": fam.centre,
        "level": fam.level,
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
        value = flag(
            f"{timed.start} IS NOT NULL AND {timed.start} >= {timed.end} - {VERIFY_HORIZON_US} "
            f"AND {spent} <= {verify_limit_us(cal)}"
        )
    return prefix, extra, value, params


def select_rows(
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

    rows = select_rows(conn, p, fam, columns, cal, grouped=grouped, aggregate=True, timed=True)
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
    rows = select_rows(
        conn,
        p,
        fam,
        lambda _t: f"{spec.start}, {spec.end}",
        cal,
        grouped=grouped,
        extra=extra,
    )
    values = timed_values(rows, 1, 2, spec, cal)
    out: dict[Any, int] = defaultdict(int)
    for row, v in zip(rows, values.tolist(), strict=True):
        out[row[0]] += int(v)
    return out


def timed_values(
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


def prepare(conn: Connection) -> None:
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
    total: dict[str, Any]  # every metric (md.derive)
    groups: list[Group]
    total_counts: dict[str, Any]


def compute(
    conn: Connection, query: MetricsQuery, cal: WorkCalendar, now: datetime | None = None
) -> Result:
    """Every metric for the query: a total, and one line per group when ``by`` is given."""
    return compute_plan(conn, plan(conn, query, cal, now), cal)


def compute_plan(conn: Connection, p: Plan, cal: WorkCalendar) -> Result:
    prepare(conn)
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
        for key in ordered_keys(p, list(per_group), labels):
            found = per_group.get(key, {})
            full = {
                k: (found.get(k, 0) if split[name] else None)
                for name in FAMILIES
                for k in family_keys(name)
            }
            label = labels.get(key) or unknown_label(p, key)
            groups.append(Group(key, label, full, md.derive(full)))
    return Result(p, md.derive(totals), groups, totals)
