"""The assessment indicators of :mod:`server.domain.assessment_metrics`, counted per person.

- ``grid`` (漏报率): the cohort's cases (accepted in the period, as they stand at T) lying in a
  grid worker's grids (``grid_assignments``, as they are now), each one *missed* when its
  reporter is none of the people assigned to that grid;
- ``desk`` (受理派遣): the acceptances (the cohort's first ``accept`` event, by its actor) and
  the dispatch episodes of the period (by the actor of the dispatch), each judged against its
  stage's time limit (:mod:`server.domain.stages`: stored ``stage_limits`` rows over the
  defaults), and a dispatch *accurate* unless the department returned it by T.

Each indicator's number and its list of records (:func:`records`) come from the same rows, so
they cannot disagree. Scopes: a region, grid or category scope restricts the cases; a worker
scope the person; a department scope has no such figures (None).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection

from server.domain import assessment_metrics as am
from server.domain.fields import Urgency
from server.domain.stages import DEFAULT_LIMITS, Stage, StageLimit
from server.domain.workflow import Action, State
from server.domain.worktime import WorkCalendar, add_time
from server.metrics.families import FAMILIES
from server.metrics.office_clock import from_us, to_us
from server.metrics.planning import Plan, QueryError
from server.models import Category, Incident
from server.models.metric_events import ACTION_CODES, LEVEL_NAMES, STATE_CODES
from server.models.stages import StageLimitRow

ACC = ACTION_CODES[Action.ACCEPT.value]
ACCEPTED = STATE_CODES[State.ACCEPTED.value]
COHORT = FAMILIES["cohort"].branches
DISPATCH = FAMILIES["dispatch"].branches


def _iso(us: int | None) -> str | None:
    return None if us is None else from_us(int(us)).isoformat().replace("+00:00", "Z")


def _where(p: Plan, params: dict[str, Any], person: str) -> str | None:
    """The plan's filters on the rows ``m`` (and the person column); None: not applicable."""
    parts: list[str] = []
    for n, f in enumerate(p.filters):
        name = f"af{n}"
        if f.kind == "department":
            return None
        if f.kind == "group":
            if f.values[0] is None:
                return None
            params[name] = f.values[0]
            parts.append(f"{person} = :{name}")
            continue
        column = {
            "region": f"m.{f.column}",
            "grid": "m.grid_code",
            "category": "m.category_id",
            "worker": person,
        }[f.kind]
        params[name] = list(f.values)
        parts.append(f"{column} IN :{name}")
    return " AND ".join(parts) if parts else "1 = 1"


def _run(conn: Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    stmt = text(sql)
    expanding = [k for k, v in params.items() if isinstance(v, list)]
    if expanding:
        stmt = stmt.bindparams(*(bindparam(k, expanding=True) for k in expanding))
    return list(conn.execute(stmt, params).all())


# --- grid: 漏报率 --------------------------------------------------------------------------------

_ASSIGNED = "(SELECT DISTINCT user_id, grid_code FROM grid_assignments)"


def grid_rows(conn: Connection, p: Plan, people: Iterable[int] | None = None) -> list[Any]:
    """(person, case, grid, reporter, accepted µs, missed 0/1) for each case of the cohort in
    each person's grids."""
    params: dict[str, Any] = {"s": p.s, "hi": p.hi, "t": p.t}
    cond = _where(p, params, "ga.user_id")
    if cond is None:
        return []
    if people is not None:
        params["people"] = sorted(set(people)) or [0]
        cond += " AND ga.user_id IN :people"
    missed = (
        "CASE WHEN m.reporter_id IS NOT NULL AND m.reporter_id IN (SELECT g2.user_id FROM "
        "grid_assignments g2 WHERE g2.grid_code = m.grid_code) THEN 0 ELSE 1 END"
    )
    sql = " UNION ALL ".join(
        f"SELECT ga.user_id, m.incident_id, m.grid_code, m.reporter_id, m.acc_us, {missed} "
        f"FROM metric_events m JOIN {_ASSIGNED} ga ON ga.grid_code = m.grid_code "
        f"WHERE {branch} AND {cond}"
        for branch in COHORT
    )
    return _run(conn, sql, params)


# --- desk: 受理, 派遣 ------------------------------------------------------------------------


@dataclass
class Limits:
    """The accept and dispatch stages' time limits, as :func:`server.usecases.stages.limit_for`
    finds them: the most specific stored row (category at level, category, level, any), else
    the defaults."""

    rows: dict[tuple[str, str, str, str], StageLimit]
    codes: dict[int, str]

    @classmethod
    def load(cls, conn: Connection) -> Limits:
        rows = {
            (r.category_code or "", r.urgency, r.level or "", r.stage): StageLimit(
                r.limit_value,
                r.limit_unit,  # type: ignore[arg-type]
            )
            for r in conn.execute(
                select(
                    StageLimitRow.category_code,
                    StageLimitRow.urgency,
                    StageLimitRow.level,
                    StageLimitRow.stage,
                    StageLimitRow.limit_value,
                    StageLimitRow.limit_unit,
                )
            )
            if r.stage in (Stage.ACCEPT.value, Stage.DISPATCH.value)
        }
        codes = {r.id: r.code for r in conn.execute(select(Category.id, Category.code))}
        return cls(rows, codes)

    def limit(self, category_id: int | None, urgency: str, level: str, stage: Stage) -> StageLimit:
        code = self.codes.get(category_id or 0, "")
        urgency = urgency if urgency in tuple(Urgency) else Urgency.NORMAL.value
        for c, lv in ((code, level), (code, ""), ("", level), ("", "")):
            hit = self.rows.get((c, urgency, lv, stage.value))
            if hit is not None:
                return hit
        return DEFAULT_LIMITS[(stage, Urgency(urgency))]


def _on_time(
    limits: Limits,
    cal: WorkCalendar,
    stage: Stage,
    start_us: int | None,
    at_us: int,
    category: int | None,
    urgency: str,
    level: int | None,
) -> tuple[bool, int | None]:
    """(on time, due µs): the stage's clock started at ``start_us``; no start: on time."""
    if start_us is None:
        return True, None
    lim = limits.limit(category, urgency, LEVEL_NAMES.get(level or 0, "county"), stage)
    due = to_us(add_time(from_us(start_us), lim.value, lim.unit, cal))
    return at_us <= due, due


def accept_rows(conn: Connection, p: Plan, people: Iterable[int] | None = None) -> list[Any]:
    """(person, case, reported µs, accepted µs, category, urgency, level) of each case of the
    cohort whose 立案 was an ``accept`` (not a self-handling), by the accepting person."""
    params: dict[str, Any] = {"s": p.s, "hi": p.hi, "t": p.t}
    cond = _where(p, params, "a.actor_id")
    if cond is None:
        return []
    if people is not None:
        params["people"] = sorted(set(people)) or [0]
        cond += " AND a.actor_id IN :people"
    first_accept = (
        f"(SELECT min(x.event_id) FROM metric_events x WHERE x.incident_id = m.incident_id "
        f"AND x.action = {ACC})"
    )
    sql = " UNION ALL ".join(
        "SELECT a.actor_id, m.incident_id, m.rep_us, a.at_us, a.category_id, i.urgency, "
        f"a.hold_lv FROM metric_events m JOIN metric_events a ON a.event_id = {first_accept} "
        f"JOIN incidents i ON i.id = m.incident_id WHERE {branch} AND m.self_h = 0 AND {cond}"
        for branch in COHORT
    )
    return _run(conn, sql, params)


def dispatch_rows(conn: Connection, p: Plan, people: Iterable[int] | None = None) -> list[Any]:
    """(person, case, dispatch event, dispatched µs, stage start µs, returned, category,
    urgency, level, department) of each dispatch of the period, by the dispatching person."""
    params: dict[str, Any] = {"s": p.s, "hi": p.hi, "t": p.t}
    cond = _where(p, params, "d.actor_id")
    if cond is None:
        return []
    if people is not None:
        params["people"] = sorted(set(people)) or [0]
        cond += " AND d.actor_id IN :people"
    start = (
        "(SELECT max(x.at_us) FROM metric_events x WHERE x.incident_id = m.incident_id "
        f"AND x.event_id < m.ep_id AND x.to_state = {ACCEPTED})"
    )
    sql = " UNION ALL ".join(
        f"SELECT d.actor_id, m.incident_id, m.ep_id, m.ep_us, {start}, m.ep_returned, "
        "d.category_id, i.urgency, d.hold_lv, m.ep_dept FROM metric_events m "
        "JOIN metric_events d ON d.event_id = m.ep_id JOIN incidents i ON i.id = m.incident_id "
        f"WHERE {branch} AND {cond}"
        for branch in DISPATCH
    )
    return _run(conn, sql, params)


# --- values ---------------------------------------------------------------------------------------


def zero(family: str) -> dict[str, int]:
    return {m.key: 0 for m in am.INDICATORS if m.family == family and m.kind == "count"}


def grid_counts(conn: Connection, p: Plan, people: Iterable[int]) -> dict[int, dict[str, int]]:
    people = list(people)
    out = {w: zero("grid") for w in people}
    for person, _case, _grid, _rep, _acc, missed in grid_rows(conn, p, people):
        c = out[person]
        c["grid_cases"] += 1
        c["missed_reports"] += int(missed)
    return out


def desk_counts(
    conn: Connection, p: Plan, cal: WorkCalendar, people: Iterable[int] | None
) -> dict[int, dict[str, int]]:
    """{person: desk counts} for ``people`` (None: everyone with figures)."""
    limits = Limits.load(conn)
    out: dict[int, dict[str, int]] = defaultdict(lambda: zero("desk"))
    for person in people or ():
        out[person] = zero("desk")
    for person, _case, rep, acc, cat, urg, lv in accept_rows(conn, p, people):
        if person is None:
            continue
        c = out[person]
        c["desk_accepts"] += 1
        c["accepted_on_time"] += _on_time(limits, cal, Stage.ACCEPT, rep, acc, cat, urg, lv)[0]
    for person, _case, _ev, at, start, returned, cat, urg, lv, _dep in dispatch_rows(
        conn, p, people
    ):
        if person is None:
            continue
        c = out[person]
        c["desk_dispatches"] += 1
        c["dispatched_on_time"] += _on_time(limits, cal, Stage.DISPATCH, start, at, cat, urg, lv)[0]
        c["accurate_dispatches"] += 0 if returned else 1
    for c in out.values():
        c["desk_volume"] = c["desk_accepts"] + c["desk_dispatches"]
    return dict(out)


# --- records ----------------------------------------------------------------------------------


@dataclass
class Records:
    metric: str
    part: str
    counted: str
    count: int
    total_items: int
    items: list[dict[str, Any]]


def counted_indicator(metric: str, part: str) -> str:
    m = am.INDICATOR_BY_KEY.get(metric)
    if m is None:
        raise QueryError(400, "unknown_metric", f"没有指标 {metric} / unknown metric", "metric")
    if part not in ("numerator", "denominator"):
        raise QueryError(400, "invalid_part", "part 应为 numerator 或 denominator", "part")
    if m.kind != "rate":
        if part == "denominator":
            raise QueryError(
                400, "invalid_part", "计数指标没有分母 / a count has no denominator", "part"
            )
        return metric
    key = m.numerator if part == "numerator" else m.denominator
    assert key is not None
    return key


def _with_numbers(conn: Connection, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = sorted({i["case_id"] for i in items if i.get("case_id") is not None})
    if ids:
        numbers = dict(
            conn.execute(select(Incident.id, Incident.number).where(Incident.id.in_(ids))).all()
        )
        for item in items:
            if "case_id" in item:
                item["number"] = numbers.get(item["case_id"])
    return items


def case_records(
    conn: Connection, p: Plan, cal: WorkCalendar, key: str, person: int
) -> list[dict[str, Any]]:
    """The records behind the count ``key`` of one person (grid and desk families)."""
    family = am.INDICATOR_BY_KEY[key].family
    items: list[dict[str, Any]] = []
    if family == "grid":
        for _w, case, grid, reporter, acc, missed in grid_rows(conn, p, [person]):
            if key == "missed_reports" and not missed:
                continue
            items.append(
                {
                    "type": "case",
                    "case_id": case,
                    "grid_code": grid,
                    "reporter_id": reporter,
                    "accepted_at": _iso(acc),
                    "missed": bool(missed),
                }
            )
        items.sort(key=lambda i: (i["accepted_at"] or "", i["case_id"]))
        return items
    limits = Limits.load(conn)
    if key in ("desk_accepts", "accepted_on_time", "desk_volume"):
        for _w, case, rep, acc, cat, urg, lv in accept_rows(conn, p, [person]):
            ok, due = _on_time(limits, cal, Stage.ACCEPT, rep, acc, cat, urg, lv)
            if key == "accepted_on_time" and not ok:
                continue
            items.append(
                {
                    "type": "accept",
                    "case_id": case,
                    "at": _iso(acc),
                    "stage_started_at": _iso(rep),
                    "due_at": _iso(due),
                    "on_time": ok,
                }
            )
    if key in ("desk_dispatches", "dispatched_on_time", "accurate_dispatches", "desk_volume"):
        for _w, case, ev, at, start, ret, cat, urg, lv, dep in dispatch_rows(conn, p, [person]):
            ok, due = _on_time(limits, cal, Stage.DISPATCH, start, at, cat, urg, lv)
            if key == "dispatched_on_time" and not ok:
                continue
            if key == "accurate_dispatches" and ret:
                continue
            items.append(
                {
                    "type": "dispatch",
                    "case_id": case,
                    "dispatch_event_id": ev,
                    "at": _iso(at),
                    "stage_started_at": _iso(start),
                    "due_at": _iso(due),
                    "on_time": ok,
                    "returned": bool(ret),
                    "department_id": dep,
                }
            )
    items.sort(key=lambda i: (i["at"] or "", i["case_id"]))
    return items


def records(
    conn: Connection,
    p: Plan,
    cal: WorkCalendar,
    metric: str,
    part: str,
    person: int,
    offset: int = 0,
    limit: int = 100,
) -> Records:
    """The records (cases, acceptances, dispatches, patrols, visits) behind one person's
    indicator: a count's own, or a rate's numerator or denominator."""
    key = counted_indicator(metric, part)
    if any(f.kind == "department" for f in p.filters):
        raise QueryError(
            400, "not_applicable", "该指标不按部门统计 / not counted per department", "metric"
        )
    items = case_records(conn, p, cal, key, person)
    page = _with_numbers(conn, items[offset : offset + limit])
    return Records(metric, part, key, len(items), len(items), page)
