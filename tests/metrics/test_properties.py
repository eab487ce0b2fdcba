"""Property test: every metric, for generated case histories, equals the oracle's figure.

Histories follow the lifecycle of docs/workflow.md (with returns, rework, extensions,
suspensions, reopens, clocks that step back, ties, microseconds); they are written straight into
the trail; random questions (period, as-of, grouping, scope) are asked of
``server.metrics.counting`` and of ``tests/metrics/oracle.py``, which computes from the event lists
as docs/metrics.md says. Both databases.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.domain import metric_definitions as md
from server.domain.worktime import WorkCalendar
from server.metrics.counting import compute
from server.metrics.drilldown import drilldown
from server.metrics.planning import MetricsQuery, Scope, plan
from server.usecases.context import calendar_from
from tests.metrics import oracle
from tests.metrics.support import Ev, World, add_case, clear_cases, iso, session

TZ = ZoneInfo("Asia/Shanghai")
WINDOW_START = datetime(2026, 6, 1, tzinfo=TZ)
WINDOW_MINUTES = 20 * 24 * 60
EXAMPLES = int(os.environ.get("WANGGE_METRICS_EXAMPLES", "40"))
CAL = calendar_from("08:30-12:00,14:00-17:30", "Asia/Shanghai")
RATINGS = ["satisfied", "basically_satisfied", "unsatisfied"]


@dataclass
class CaseSpec:
    grid: str | None
    category: str
    reporter: int | None  # index into world.workers
    events: list[tuple[str, str, datetime, dict[str, Any], int | None, str]]


ROUTE = ["escalate", "devolve", "pull_up"]


def _moves(state: str | None, last_rating: str | None) -> list[str]:
    return {
        None: ["report", "report", "self_handle"],
        "reported": ["accept", "accept", "accept", "reject", "suspend", "comment", "card", *ROUTE],
        "accepted": ["dispatch", "dispatch", "dispatch", "suspend", "comment", "card", *ROUTE],
        "dispatched": ["sign", "resolve", "return", "extension", "suspend", "card"],
        "in_progress": [
            "resolve",
            "resolve",
            "return",
            "extension",
            "suspend",
            "supervise",
            "card",
        ],
        "resolved": ["verify_ok", "verify_ok", "verify_fail", "suspend"],
        "closed": ["rate", "comment"] + (["reopen"] if last_rating == "unsatisfied" else []),
        "rejected": ["comment"],
        "suspended": ["resume"],
    }[state]


@st.composite
def histories(
    draw: st.DrawFn,
    n_grids: int,
    n_workers: int,
    departments: list[int],
    centres: list[tuple[int, str]],
) -> CaseSpec:
    grid_i = draw(st.one_of(st.none(), st.integers(0, n_grids - 1)))
    category = draw(st.sampled_from(["0101", "0202"]))
    # index n_workers is the dispatcher: not a grid worker, so never a line of by=worker
    reporter = draw(st.one_of(st.none(), st.integers(0, n_workers)))
    t = WINDOW_START + timedelta(minutes=draw(st.integers(0, WINDOW_MINUTES)))
    events: list[tuple[str, str, datetime, dict[str, Any], int | None, str]] = []
    state: str | None = None
    suspended_from: str | None = None
    last_rating: str | None = None
    deadline: datetime | None = None
    dept: int | None = None
    for _ in range(draw(st.integers(1, 16))):
        moves = _moves(state, last_rating)
        move = draw(st.sampled_from(moves))
        step = draw(
            st.one_of(
                st.integers(1, 600).map(lambda m: timedelta(minutes=m)),
                st.integers(1, 600).map(lambda m: timedelta(minutes=m)),
                st.integers(1, 4 * 24 * 60).map(lambda m: timedelta(minutes=m)),
                st.integers(6 * 60, 30 * 60).map(lambda m: timedelta(minutes=m)),  # ~1 workday
                st.just(timedelta(0)),  # two events at the same moment
                st.integers(-90, -1).map(lambda s: timedelta(seconds=s)),  # a clock steps back
            )
        )
        t = t + step + timedelta(microseconds=draw(st.integers(0, 999_999)))
        actor = draw(st.one_of(st.none(), st.integers(0, n_workers)))

        def add(
            action: str,
            to: str,
            data: dict[str, Any] | None = None,
            at: datetime = t,
            who: int | None = actor,
            role: str = "x",
        ) -> None:
            nonlocal state
            events.append((action, to, at, data or {}, who, role))
            state = to

        def centre() -> dict[str, Any]:
            """data.centre of a report or move: a centre, or (before levels of command, or odd
            data) none or one the fold cannot read."""
            ident, level = draw(st.sampled_from(centres))
            return draw(
                st.sampled_from(
                    [
                        {"centre": {"id": ident, "level": level, "name": "x"}},
                        {"centre": {"id": ident, "level": level, "name": "x"}},
                        {"centre": {"id": ident, "level": level, "name": "x"}},
                        {},
                        {"centre": None},
                        {"centre": {"id": ident, "level": "planet"}},
                    ]
                )
            )

        if move in ("report", "self_handle"):
            add(
                move,
                "reported" if move == "report" else "closed",
                {"category": category, **centre()},
            )
        elif move in ROUTE:
            assert state is not None
            add(move, state, {"reason": "x", **centre()})
        elif move == "card":
            assert state is not None
            add(
                "supervise",
                state,
                {
                    "card": draw(st.sampled_from(["yellow", "red"])),
                    "stage": draw(st.sampled_from(["accept", "dispatch", "handle", "verify"])),
                    "department_id": dept,
                },
                who=None,
                role=draw(st.sampled_from(["system", "system", "system", "supervisor"])),
            )
        elif move == "accept":
            add("accept", "accepted")
        elif move == "reject":
            add("reject", "rejected", {"reason": "x"})
        elif move == "dispatch":
            dept = draw(st.sampled_from(departments))
            hours = draw(st.integers(1, 240))
            deadline = t + timedelta(hours=hours, seconds=draw(st.integers(0, 3599)))
            if draw(st.integers(0, 9)) == 0:
                deadline = t - timedelta(minutes=5)  # already late (odd data, still exact)
            add("dispatch", "dispatched", {"department_id": dept, "deadline_at": iso(deadline)})
        elif move == "sign":
            add("sign", "in_progress", {"department_id": dept})
        elif move == "return":
            add("return", "accepted", {"reason": "x", "department_id": dept})
        elif move == "resolve":
            add(
                "resolve",
                "resolved",
                {"department_id": dept, "deadline_at": iso(deadline) if deadline else None},
            )
        elif move == "verify_ok":
            add("verify", "closed", {"passed": True, "department_id": dept})
        elif move == "verify_fail":
            add("verify", "dispatched", {"passed": False, "reason": "x", "department_id": dept})
        elif move == "extension":
            assert state is not None
            current = state
            add("request_extension", current, {"hours": 8, "reason": "x"})
            approve = draw(st.booleans())
            data: dict[str, Any] = {
                "approve": approve,
                "old_deadline": iso(deadline) if deadline else None,
            }
            if approve and deadline is not None:
                deadline = deadline + timedelta(hours=draw(st.integers(1, 72)))
                data["new_deadline"] = iso(deadline)
            add("decide_extension", current, data)
        elif move == "suspend":
            suspended_from = state
            add("suspend", "suspended", {"reason": "x"})
        elif move == "resume":
            assert suspended_from is not None
            add("resume", suspended_from, {"reason": "x"})
        elif move == "rate":
            last_rating = draw(st.sampled_from(RATINGS))
            add("rate", "closed", {"rating": last_rating})
        elif move == "reopen":
            add("reopen", "accepted", {"reason": "x"})
        else:
            assert state is not None
            add(move, state)
    return CaseSpec(None if grid_i is None else f"{grid_i}", category, reporter, events)


@dataclass
class Ask:
    first: date
    days: int
    as_of: datetime
    by: str | None
    scope: str  # none | town | grid | department | category | worker


asks = st.builds(
    Ask,
    first=st.dates(date(2026, 5, 28), date(2026, 6, 20)),
    days=st.integers(1, 40),
    as_of=st.integers(0, WINDOW_MINUTES + 20 * 24 * 60).map(
        lambda m: WINDOW_START + timedelta(minutes=m)
    ),
    by=st.sampled_from([None, *md.GROUP_BYS]),
    scope=st.sampled_from(
        ["none", "none", "none", "town", "grid", "department", "category", "worker"]
    ),
)


def _store(app: Flask, world: World, specs: list[CaseSpec]) -> list[oracle.OCase]:
    db = session(app)
    clear_cases(db)
    cases = []
    for spec in specs:
        grid = None if spec.grid is None else world.grids[int(spec.grid)]
        people = [*world.workers, world.dispatcher]
        reporter = None if spec.reporter is None else people[spec.reporter]
        evs = [
            Ev(
                a,
                to,
                at,
                {k: v for k, v in data.items() if k != "category"},
                None if actor is None else people[actor].id,
                role,
            )
            for a, to, at, data, actor, role in spec.events
        ]
        case = add_case(db, world, evs, grid=grid, category=spec.category, reporter=reporter)
        cases.append(
            oracle.OCase(
                case.id,
                case.town_id,
                case.community_id,
                case.grid_code,
                case.category_id,
                case.reporter_id,
                [
                    oracle.OEvent(e.action, e.to_state, e.at, e.data, e.actor_id, e.actor_role)
                    for e in evs
                ],
                case.county_id,
            )
        )
    db.commit()
    db.close()
    return cases


def _scope(world: World, kind: str, pick: int) -> tuple[tuple[Scope, ...], list[tuple[str, Any]]]:
    if kind == "town":
        town = world.towns[pick % 2]
        return (Scope("region", town.code),), [("town_id", {town.id})]
    if kind == "grid":
        code = world.grids[pick % len(world.grids)]
        return (Scope("grid", code),), [("grid", {code})]
    if kind == "department":
        dep = list(world.departments.values())[pick % 3]
        return (Scope("department", str(dep.id)),), [("department", {dep.id})]
    if kind == "category":
        ids = {world.categories["01"].id, world.categories["0101"].id}
        return (Scope("category", "01"),), [("category", ids)]
    if kind == "worker":
        w = world.workers[pick % len(world.workers)]
        return (Scope("worker", str(w.id)),), [("worker", {w.id})]
    return (Scope("region", world.county.code),), []


def _oracle_values(counts: dict[str, Any]) -> dict[str, Any]:
    """The rates of docs/metrics.md §3, computed here from the counts (not with md.derive)."""

    def rate(a: str, b: str) -> float | None:
        if counts.get(a) is None or counts.get(b) is None or not counts[b]:
            return None
        return counts[a] / counts[b]

    out = dict(counts)
    out.pop("handling_us", None)
    out["valid_report_rate"] = rate("valid_reports", "reported")
    out["closure_rate"] = rate("closed", "due")
    out["on_time_closure_rate"] = rate("closed_on_time", "due")
    out["satisfaction_rate"] = rate("satisfied", "rated")
    out["on_time_handling_rate"] = rate("resolved_on_time", "dispatches")
    out["rework_rate"] = rate("reworks", "resolutions")
    out["return_rate"] = rate("returns", "dispatches")
    out["extension_rate"] = rate("extended", "dispatches")
    out["verification_on_time_rate"] = rate("verified_on_time", "verifications")
    out["escalation_rate"] = rate("escalated", "accepted")
    out["local_resolution_rate"] = rate("closed_locally", "closed")
    handled, total_us = counts.get("handled"), counts.get("handling_us")
    out["avg_handling_hours"] = (
        None if not handled or total_us is None else round(total_us / handled / 3_600_000_000, 2)
    )
    return out


def check_question(
    app: Flask, world: World, cases: list[oracle.OCase], ask: Ask, pick: int, cal: WorkCalendar
) -> None:
    last = ask.first + timedelta(days=ask.days - 1)
    start, end = oracle.period_bounds(ask.first, last, cal)
    if start > ask.as_of:
        return
    scopes, filters = _scope(world, ask.scope, pick)
    q = MetricsQuery(scopes, ask.first, last, ask.as_of, ask.by)
    db = session(app)
    try:
        conn = db.connection()
        result = compute(conn, q, cal, now=datetime(2026, 11, 1, tzinfo=TZ))
        grid_workers = frozenset(w.id for w in world.workers)
        total, groups = oracle.answer(
            cases, oracle.Question(start, end, ask.as_of, ask.by, filters, grid_workers), cal
        )
        got_total = {k: result.total_counts.get(k) for k in total}
        assert got_total == total, (ask, filters)
        expected_values = _oracle_values(total)
        assert set(expected_values) == set(md.METRIC_KEYS)
        for key in md.METRIC_KEYS:
            assert result.total[key] == expected_values[key], (key, ask)
        if ask.by:
            got = {g.key: g.counts for g in result.groups}
            keys = set(got) | set(groups)
            for k in keys:
                mine = got.get(k, {})
                theirs = groups.get(k, {})
                for metric in total:
                    if total[metric] is None:
                        continue  # the family does not apply (reports under a department)
                    a, b = mine.get(metric) or 0, theirs.get(metric) or 0
                    assert a == b, (k, metric, ask, filters)
        # the drill-down of a count lists exactly the oracle's cases
        metric = md.COUNT_KEYS[pick % len(md.COUNT_KEYS)]
        if total.get(metric) is not None:
            p = plan(conn, q, cal, now=datetime(2026, 11, 1, tzinfo=TZ))
            d = drilldown(conn, p, cal, metric, limit=100_000)
            assert d.count == total[metric], (metric, ask)
            contribs = oracle.contributions(
                cases, oracle.Question(start, end, ask.as_of, None, filters), cal
            )
            expected: dict[int, int] = {}
            for c in contribs:
                inside = oracle._passes(c, oracle.Question(start, end, ask.as_of, None, filters))
                if metric in c.counts and inside and c.counts[metric]:
                    expected[c.case.id] = expected.get(c.case.id, 0) + c.counts[metric]
            listed: dict[int, int] = {}
            for item in d.items:
                listed[item["case_id"]] = listed.get(item["case_id"], 0) + item["weight"]
            assert listed == expected, (metric, ask)
    finally:
        db.rollback()
        db.close()


def test_metrics_equal_the_oracle(mapp: Flask, world: World) -> None:
    _run(mapp, world, CAL, EXAMPLES)


def test_metrics_equal_the_oracle_in_a_zone_with_daylight_saving(mapp: Flask, world: World) -> None:
    """Working time then comes from Python instead of the database (same numbers)."""
    berlin = calendar_from("08:00-12:00,13:00-17:00", "Europe/Berlin")
    _run(mapp, world, berlin, max(5, EXAMPLES // 4))


def _run(mapp: Flask, world: World, cal: WorkCalendar, examples: int) -> None:
    departments = [d.id for d in world.departments.values()]
    centres = [(world.county.id, "county"), *((t.id, "town") for t in world.towns)]

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        specs=st.lists(
            histories(len(world.grids), len(world.workers), departments, centres),
            min_size=2,
            max_size=12,
        ),
        questions=st.lists(asks, min_size=1, max_size=3),
        pick=st.integers(0, 1000),
    )
    def run(specs: list[CaseSpec], questions: list[Ask], pick: int) -> None:
        cases = _store(mapp, world, specs)
        for n, ask in enumerate(questions):
            check_question(mapp, world, cases, ask, pick + n, cal)

    run()
