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
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, or_, select, text
from sqlalchemy.engine import Connection

from server.domain import assessment_metrics as am
from server.domain import workflow as wf
from server.domain.base_data import CYCLE_DAYS, Cycle
from server.domain.fields import Urgency
from server.domain.stages import DEFAULT_LIMITS, Stage, StageLimit, used_fraction
from server.domain.workflow import Action, State
from server.domain.worktime import WorkCalendar, add_time
from server.metrics.families import FAMILIES
from server.metrics.office_clock import from_us, to_us
from server.metrics.planning import Plan, QueryError
from server.models import (
    Category,
    Grid,
    GridAssignment,
    Incident,
    KeyGroupKindRow,
    Region,
    User,
    Visit,
)
from server.models.metric_events import ACTION_CODES, LEVEL_NAMES, STATE_CODES
from server.models.stages import StageLimitRow
from server.models.types import UTCDateTime
from server.usecases import policy
from server.usecases.context import Actor

ACC = ACTION_CODES[Action.ACCEPT.value]
ACCEPTED = STATE_CODES[State.ACCEPTED.value]
REPORTED = STATE_CODES[State.REPORTED.value]
# The events that start a stage's clock (server/usecases/cases.py: entering the stage, or an
# action that restarts it): the accept stage's (受理) and the dispatch stage's (派遣).
_RESTARTS = (Action.RESUME, Action.ESCALATE, Action.DEVOLVE, Action.PULL_UP)
STARTS_ACCEPT = ", ".join(str(ACTION_CODES[a.value]) for a in (Action.REPORT, *_RESTARTS))
STARTS_DISPATCH = ", ".join(
    str(ACTION_CODES[a.value]) for a in (Action.ACCEPT, Action.RETURN, Action.REOPEN, *_RESTARTS)
)


def _clock_start(event: str, state: int, actions: str) -> str:
    """SQL: when the clock of the stage the case was in before ``event`` last started."""
    return (
        f"(SELECT max(x.at_us) FROM metric_events x WHERE x.incident_id = m.incident_id "
        f"AND x.event_id < {event} AND x.to_state = {state} AND x.action IN ({actions}))"
    )


COHORT = FAMILIES["cohort"].branches
DISPATCH = FAMILIES["dispatch"].branches


def _iso(us: int | None) -> str | None:
    return None if us is None else from_us(int(us)).isoformat().replace("+00:00", "Z")


def _where(p: Plan, params: dict[str, Any], person: str, *, cases: bool = True) -> str | None:
    """The plan's filters on the rows ``m`` (and the person column); None: not applicable
    (a department scope; a category scope for what is not a case)."""
    parts: list[str] = []
    for n, f in enumerate(p.filters):
        name = f"af{n}"
        if f.kind == "department" or (f.kind == "category" and not cases):
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
    """Run ``sql``; list parameters expand, moments are bound as the models store them."""
    stmt = text(sql)
    binds: list[BindParameter[Any]] = [
        bindparam(k, expanding=True) for k, v in params.items() if isinstance(v, list)
    ]
    binds += [
        bindparam(k, type_=UTCDateTime()) for k, v in params.items() if isinstance(v, datetime)
    ]
    if binds:
        stmt = stmt.bindparams(*binds)
    return list(conn.execute(stmt, params).all())


def people_in_scope(
    conn: Connection, p: Plan, role: str = wf.Role.GRID_WORKER
) -> dict[int, dict[str, Any]]:
    """Active grid workers (or dispatchers) of the scope's region (by their region or an
    assigned grid).

    Under a department scope (a handler's, always) the workers are only those with figures:
    a department has no workers of its own to list, and listing every county's would leak."""
    if any(f.kind == "department" for f in p.filters):
        return {}
    paths = [f.label.get("path") for f in p.filters if f.kind in ("region", "grid")]
    paths = [x for x in paths if x]
    workers = [f for f in p.filters if f.kind == "worker"]
    groups = [f for f in p.filters if f.kind == "group"]
    stmt = select(User.id, User.username, User.display_name).where(
        User.role == role, User.active.is_(True)
    )
    for f in groups:
        stmt = stmt.where(User.id.in_([v for v in f.values if isinstance(v, int)]))
    if workers:
        stmt = stmt.where(User.id.in_([v for f in workers for v in f.values]))
    for path in paths:
        in_grid = (
            select(GridAssignment.user_id)
            .join(Grid, Grid.code == GridAssignment.grid_code)
            .join(Region, Region.id == Grid.community_id)
            .where(Region.path.startswith(path))
        )
        in_region = select(Region.id).where(Region.path.startswith(path))
        stmt = stmt.where(or_(User.id.in_(in_grid), User.region_id.in_(in_region)))
    return {
        r.id: {
            "key": r.id,
            "id": r.id,
            "username": r.username,
            "name": r.display_name or r.username,
        }
        for r in conn.execute(stmt)
    }


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
    """(on time, due µs): the stage's clock started at ``start_us``; on time when its light was
    not red at ``at_us`` (the time used, natural or working as the limit is measured, at most
    the limit: server.domain.stages.used_fraction ≤ 1). No clock: on time."""
    if start_us is None:
        return True, None
    lim = limits.limit(category, urgency, LEVEL_NAMES.get(level or 0, "county"), stage)
    start = from_us(start_us)
    due = add_time(start, lim.value, lim.unit, cal)
    if at_us <= start_us:
        return True, to_us(due)
    used = used_fraction(start, due, from_us(at_us), lim.unit == "hours", cal)
    return used <= 1.0, to_us(due)


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
    start = _clock_start("a.event_id", REPORTED, STARTS_ACCEPT)
    sql = " UNION ALL ".join(
        f"SELECT a.actor_id, m.incident_id, {start}, a.at_us, a.category_id, i.urgency, "
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
    start = _clock_start("m.ep_id", ACCEPTED, STARTS_DISPATCH)
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


# --- field: patrols and visits ---------------------------------------------------------------


def patrol_rows(conn: Connection, p: Plan, people: Iterable[int]) -> list[Any]:
    """(person, patrol id, uuid, started, ended, distance m, duration s, coverage, grid) of
    each patrol the person started in the period, by T, and the server had received by T
    (``created_at``: a start the phone dates back, or delivers late, is not in an earlier
    "as of")."""
    params: dict[str, Any] = {
        "ts": from_us(p.s),
        "thi": from_us(min(p.hi, p.t + 1)),
        "tcut": from_us(p.t + 1),
    }
    cond = _where(p, params, "m.worker_id", cases=False)
    if cond is None:
        return []
    params["people"] = sorted(set(people)) or [0]
    sql = (
        "SELECT m.worker_id, m.id, m.uuid, m.started_at, m.ended_at, m.distance_m, "
        "m.duration_s, m.coverage, m.grid_code FROM patrols m WHERE m.started_at >= :ts "
        "AND m.started_at < :thi AND m.created_at < :tcut "
        f"AND m.worker_id IN :people AND {cond} "
        "ORDER BY m.started_at, m.id"
    )
    rows = _run(conn, sql, params)
    # raw SQL gives SQLite's stored text for a time: read it as the model's type does
    return [(*r[:3], _moment(r[3]), _moment(r[4]), *r[5:]) for r in rows]


def _moment(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class Located:
    """Where a key-group member lives (grid and regions): what the base-data policy decides
    on (``policy.may_see_base``, ``policy.sees_sensitive``)."""

    grid_code: str | None
    community_id: int | None
    town_id: int | None
    county_id: int | None


@dataclass
class DueVisit:
    person: int
    resident_id: int
    household_id: int | None
    kind: str  # the key group's name
    sensitive: bool  # a sensitive kind (严重精神障碍, 社区矫正, 吸毒…): shown only where allowed
    due_on: date
    done_on: date | None
    where: Located


def visit_rows(
    conn: Connection, p: Plan, cal: WorkCalendar, people: Iterable[int]
) -> list[DueVisit]:
    """The visits due in the period (up to T's day) to the key-group members living in each
    person's grids (their open tags and the tags ended in the period), each with the day it
    was done (:func:`server.domain.assessment_metrics.due_visits`)."""
    params: dict[str, Any] = {}
    cond = _where(p, params, "ga.user_id", cases=False)
    if cond is None:
        return []
    first = from_us(p.s).astimezone(cal.tz).date()
    last = min(from_us(p.e - 1), from_us(p.t)).astimezone(cal.tz).date()
    params.update(people=sorted(set(people)) or [0], last=last, tstart=from_us(p.s))
    sql = (
        "SELECT ga.user_id, t.resident_id, m.household_id, t.kind_id, t.level, t.since, "
        "m.grid_code, m.community_id, m.town_id, m.county_id "
        f"FROM key_group_tags t JOIN residents m ON m.id = t.resident_id JOIN {_ASSIGNED} ga "
        "ON ga.grid_code = m.grid_code WHERE t.since <= :last AND (t.ended_at IS NULL OR "
        f"t.ended_at >= :tstart) AND m.status = 'active' AND ga.user_id IN :people AND {cond}"
    )
    tags = _run(conn, sql, params)
    if not tags:
        return []
    kinds = {
        k.id: k
        for k in conn.execute(
            select(
                KeyGroupKindRow.id,
                KeyGroupKindRow.name,
                KeyGroupKindRow.levels,
                KeyGroupKindRow.sensitive,
            )
        )
    }
    start, hi = from_us(p.s), from_us(min(p.hi, p.t + 1))
    received = Visit.created_at < from_us(p.t + 1)  # recorded on the server by T
    before: dict[tuple[str, int | None], datetime] = {}
    during: dict[tuple[str, int | None], list[date]] = defaultdict(list)
    for column, tag, ids in (
        (Visit.resident_id, "r", sorted({r[1] for r in tags})),
        (Visit.household_id, "h", sorted({r[2] for r in tags if r[2] is not None})),
    ):
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for ident, newest in conn.execute(
                select(column, func.max(Visit.visited_at))
                .where(column.in_(chunk), Visit.visited_at < start, received)
                .group_by(column)
            ):
                before[(tag, ident)] = newest
            for ident, at in conn.execute(
                select(column, Visit.visited_at).where(
                    column.in_(chunk), Visit.visited_at >= start, Visit.visited_at < hi, received
                )
            ):
                during[(tag, ident)].append(_as_utc(at).astimezone(cal.tz).date())
    out: list[DueVisit] = []
    for person, resident, household, kind_id, level, since, *located in tags:
        kind = kinds.get(kind_id)
        cycle = _cycle(kind.levels if kind else None, level)
        keys = [("r", resident)] + ([("h", household)] if household is not None else [])
        befores = [_as_utc(before[k]) for k in keys if k in before]
        last_before = max(befores).astimezone(cal.tz).date() if befores else None
        days = sorted(d for k in keys for d in during.get(k, []))
        # an unknown kind cannot be shown as harmless: treated as sensitive
        name, sensitive = (kind.name, bool(kind.sensitive)) if kind else ("", True)
        where = Located(*located)
        since_day = since if isinstance(since, date) else date.fromisoformat(str(since))
        for due_on, done_on in am.due_visits(
            CYCLE_DAYS[cycle], since_day, last_before, days, first, last
        ):
            out.append(
                DueVisit(person, resident, household, name, sensitive, due_on, done_on, where)
            )
    return out


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _cycle(levels: Any, level: int) -> Cycle:
    for lv in levels or []:
        if isinstance(lv, dict) and lv.get("level") == level:
            try:
                return Cycle(str(lv.get("cycle")))
            except ValueError:
                break
    return Cycle.MONTHLY


def field_counts(
    conn: Connection, p: Plan, cal: WorkCalendar, people: Iterable[int]
) -> dict[int, dict[str, Any]]:
    """{person: field counts}; patrol_coverage is the mean (None without a measured patrol).
    Under a scope that has none (a department's, a category's): every figure None."""
    people = list(people)
    if _where(p, {}, "m.worker_id", cases=False) is None:
        return {w: dict.fromkeys(zero("field")) | {"patrol_coverage": None} for w in people}
    out: dict[int, dict[str, Any]] = {w: zero("field") for w in people}
    days: dict[int, set[date]] = defaultdict(set)
    coverage: dict[int, list[float]] = defaultdict(list)
    distance: dict[int, float] = defaultdict(float)
    for person, _id, _uuid, started, _end, dist, _dur, cov, _grid in patrol_rows(conn, p, people):
        out[person]["patrols"] += 1
        days[person].add(_as_utc(started).astimezone(cal.tz).date())
        distance[person] += float(dist or 0)
        if cov is not None:
            coverage[person].append(float(cov))
    for person, c in out.items():
        c["patrol_days"] = len(days[person])
        c["patrol_distance"] = round(distance[person] / 1000, 2)
        covs = coverage[person]
        c["patrol_coverage"] = sum(covs) / len(covs) if covs else None
    for v in visit_rows(conn, p, cal, people):
        c = out[v.person]
        c["visits_due"] += 1
        c["visits_done"] += v.done_on is not None
    return out


# --- records ----------------------------------------------------------------------------------


@dataclass
class Records:
    metric: str
    part: str
    counted: str
    count: Any  # the number the records make up (a mean for 巡查覆盖率, km for 巡查里程)
    total_items: int
    items: list[dict[str, Any]]
    #: the residents the page names (visits due): the caller logs them as read
    residents: list[int]


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
    if m.numerator is None:
        return metric  # an average (巡查覆盖率): both parts are the things averaged
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
    conn: Connection, p: Plan, cal: WorkCalendar, key: str, person: int, viewer: Actor
) -> list[dict[str, Any]]:
    """The records behind the count ``key`` of one person (grid, desk and field families), as
    ``viewer`` may see them."""
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
    if family == "field":
        return _field_records(conn, p, cal, key, person, viewer)
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


def may_name(viewer: Actor, v: DueVisit) -> bool:
    """May ``viewer`` be told who a due visit is for, and in which key group? Whoever may read
    the member's base data (``policy.may_see_base``); for a sensitive kind only those who may
    see it (``policy.sees_sensitive``: not county dispatchers, not admins)."""
    if v.sensitive:
        return policy.sees_sensitive(viewer, v.where)
    return policy.may_see_base(viewer, v.where)


def _visit_records(
    conn: Connection, p: Plan, cal: WorkCalendar, key: str, person: int, viewer: Actor
) -> list[dict[str, Any]]:
    """The visits due (or done) behind a worker's 应访数/已访数, as ``viewer`` may see them.
    A visit to a member the viewer may not name is still a row (the count stays the figure's)
    but *withheld*: no resident, household, key group or days, only whether it was done; such
    rows come last, in no order of their own, so that neither a name nor one member's cycle
    can be read from them (docs/metrics.md §6)."""
    items: list[dict[str, Any]] = []
    for v in visit_rows(conn, p, cal, [person]):
        if key == "visits_done" and v.done_on is None:
            continue
        if may_name(viewer, v):
            items.append(
                {
                    "type": "visit_due",
                    "resident_id": v.resident_id,
                    "household_id": v.household_id,
                    "key_group": v.kind,
                    "due_on": v.due_on.isoformat(),
                    "done_on": v.done_on.isoformat() if v.done_on else None,
                    "done": v.done_on is not None,
                    "withheld": False,
                }
            )
        else:
            items.append(
                {
                    "type": "visit_due",
                    "resident_id": None,
                    "household_id": None,
                    "key_group": None,
                    "due_on": None,
                    "done_on": None,
                    "done": v.done_on is not None,
                    "withheld": True,
                }
            )
    items.sort(
        key=lambda i: (i["withheld"], i["due_on"] or "", i["resident_id"] or 0, not i["done"])
    )
    return items


def _field_records(
    conn: Connection, p: Plan, cal: WorkCalendar, key: str, person: int, viewer: Actor
) -> list[dict[str, Any]]:
    if key in ("visits_due", "visits_done"):
        return _visit_records(conn, p, cal, key, person, viewer)
    items = []
    for _w, _id, uuid, started, ended, dist, dur, cov, grid in patrol_rows(conn, p, [person]):
        if key == "patrol_coverage" and cov is None:
            continue
        started = _as_utc(started)
        items.append(
            {
                "type": "patrol",
                "uuid": uuid,
                "day": started.astimezone(cal.tz).date().isoformat(),
                "started_at": started.isoformat().replace("+00:00", "Z"),
                "ended_at": _as_utc(ended).isoformat().replace("+00:00", "Z") if ended else None,
                "distance_m": dist,
                "duration_s": dur,
                "coverage": cov,
                "grid_code": grid,
            }
        )
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
    *,
    viewer: Actor,
) -> Records:
    """The records (cases, acceptances, dispatches, patrols, visits) behind one person's
    indicator: a count's own, or a rate's numerator or denominator, as ``viewer`` may see them
    (visits due to members they may not name are withheld rows: :func:`_visit_records`).
    ``Records.residents`` are the residents the page names: the caller logs them as read."""
    key = counted_indicator(metric, part)
    if metric in ("patrol_days", "patrol_distance", "patrol_coverage"):
        key = "patrols" if metric != "patrol_coverage" else metric
    family = am.INDICATOR_BY_KEY[key].family
    if any(f.kind == "department" for f in p.filters):
        items: list[dict[str, Any]] = []  # a department's scope: none of these are counted
    elif family in ("grid", "field") and person not in people_in_scope(conn, p):
        items = []  # not a grid worker of the scope: nothing to show
    else:
        items = case_records(conn, p, cal, key, person, viewer)
    page = _with_numbers(conn, items[offset : offset + limit])
    named = sorted(
        {i["resident_id"] for i in page if i["type"] == "visit_due" and i["resident_id"]}
    )
    count: Any = len(items)
    if metric == "patrol_days":
        count = len({i["day"] for i in items})
    elif metric == "patrol_distance":
        count = round(sum(float(i["distance_m"] or 0) for i in items) / 1000, 2)
    elif metric == "patrol_coverage":
        covs = [float(i["coverage"]) for i in items]
        count = sum(covs) / len(covs) if covs else None
    return Records(metric, part, key, count, len(items), page, named)
