"""Levels of command in the metrics (docs/metrics.md §3, DESIGN §9): who holds a case, who
accepted it, escalations and the sweep's cards — on both databases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy.engine import Connection

from server.domain.worktime import WorkCalendar
from server.metrics.counting import compute
from server.metrics.planning import MetricsQuery, Scope
from tests.metrics.support import Ev, World, add_case, iso, session

TZ = ZoneInfo("Asia/Shanghai")


def t(spec: str) -> datetime:
    return datetime.fromisoformat(f"2026-{spec}").replace(tzinfo=TZ)


def centre(region: Any) -> dict[str, Any]:
    return {"centre": {"id": region.id, "code": region.code, "name": region.name,
                       "level": region.level}}  # fmt: skip


def closed_case(day: str, *moves: Ev, first: dict[str, Any] | None = None) -> list[Ev]:
    return [
        Ev("report", "reported", t(f"{day} 09:00"), first or {}),
        *moves,
        Ev("accept", "accepted", t(f"{day} 09:10")),
        Ev(
            "dispatch",
            "dispatched",
            t(f"{day} 09:20"),
            {"department_id": 1, "deadline_at": iso(t(f"{day} 15:20"))},
        ),
        Ev("resolve", "resolved", t(f"{day} 11:00")),
        Ev("verify", "closed", t(f"{day} 14:30"), {"passed": True}),
    ]


def _ask(conn: Connection, world: World, cal: WorkCalendar, by: str | None = None):  # type: ignore[no-untyped-def]
    q = MetricsQuery((Scope("region", world.county.code),), date(2026, 11, 1),
                     date(2026, 11, 30), t("11-20 12:00"), by)  # fmt: skip
    return compute(conn, q, cal)


def test_closed_at_the_town_is_local_and_escalated_is_not(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    town, county = world.towns[0], world.county
    db = session(mapp)
    grid = world.grids[0]
    add_case(db, world, closed_case("11-02", first=centre(town)), grid=grid)
    add_case(
        db,
        world,
        closed_case(
            "11-03",
            Ev("escalate", "reported", t("11-03 09:05"), {"reason": "x", **centre(county)}),
            first=centre(town),
        ),
        grid=grid,
    )
    add_case(db, world, closed_case("11-04"), grid=grid)  # no centre named: its county
    add_case(db, world, [Ev("self_handle", "closed", t("11-05 10:00"), centre(county))], grid=grid)
    db.commit()
    db.close()
    total = _ask(conn, world, cal).total
    assert (total["closed"], total["closed_locally"], total["escalated"]) == (4, 2, 1)
    assert total["local_resolution_rate"] == 0.5
    assert total["escalation_rate"] == 0.25
    by_centre = {g.key: g.counts for g in _ask(conn, world, cal, "centre").groups}
    assert by_centre[town.id]["accepted"] == 1
    assert by_centre[county.id]["accepted"] == 3
    by_level = {g.label["level"]: g.counts for g in _ask(conn, world, cal, "level").groups}
    assert by_level["town"]["accepted"] == 1
    assert by_level["county"]["accepted"] == 2
    assert by_level["community"]["accepted"] == 1


def test_a_town_supervisor_compares_no_other_town(sapp: Flask, world: World) -> None:
    """by=centre lists the command centres of the asker's region (and those that accepted its
    cases): the county's supervisor sees both towns' centres, a town's supervisor its own and
    the county's, never the other town's."""
    from tests.metrics.test_api import BASE, Q, _client, _get
    from tests.metrics.test_worked_examples import build_example

    db = session(sapp)
    for town in world.towns:
        db.merge(town).centre = True
    db.commit()
    db.close()
    build_example(sapp, world)
    mine, other = world.towns
    county = _get(_client(sapp, "supervisor"), f"{BASE}?{Q}&by=centre")
    lines = {g["key"]: g["values"] for g in county["groups"]}
    assert set(lines) == {world.county.id, mine.id, other.id}
    assert lines[other.id]["accepted"] == 0 and lines[mine.id]["accepted"] == 7
    assert [g["label"]["name"] for g in county["groups"]] == ["灵武市", "城区街道", "东塔镇"]
    town = _get(_client(sapp, "town_sup"), f"{BASE}?{Q}&by=centre")
    assert {g["key"] for g in town["groups"]} == {world.county.id, mine.id}
    _get(_client(sapp, "town_sup"), f"{BASE}?{Q}&by=centre&scope=region:{other.code}", 403)
    # a drill-down of the other town's line from the town's supervisor lists nothing
    body = _get(
        _client(sapp, "town_sup"),
        f"{BASE}/cases?{Q}&metric=accepted&by=centre&group={other.id}",
    )
    assert body["count"] == 0 and body["items"] == []
    levels = _get(_client(sapp, "town_sup"), f"{BASE}?{Q}&by=level")
    assert [g["label"]["level"] for g in levels["groups"]] == ["county", "town", "community"]


def test_the_oracle_agrees_on_the_example_county(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    """The example county of docs/metrics.md §2 (its centres, moves and cards), read back from
    the trail and counted by tests/metrics/oracle.py: the same totals and lines by centre,
    level and department as the SQL."""
    from sqlalchemy import select

    from server.models import Incident, IncidentEvent
    from tests.metrics import oracle
    from tests.metrics.test_worked_examples import AS_OF, PERIOD, build_example

    build_example(mapp, world)
    db = session(mapp)
    cases = []
    for case in db.scalars(select(Incident).order_by(Incident.id)):
        events = db.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == case.id)
            .order_by(IncidentEvent.id)
        ).all()
        evs = [
            oracle.OEvent(
                e.action, e.to_state, e.created_at, dict(e.data or {}), e.actor_id, e.actor_role
            )
            for e in events
        ]
        attrs = (case.town_id, case.community_id, case.grid_code, case.category_id)
        cases.append(oracle.OCase(case.id, *attrs, case.reporter_id, evs, case.county_id))
    db.close()
    start, end = oracle.period_bounds(PERIOD[0], PERIOD[1], cal)
    keys = ["accepted", "closed", "closed_on_time", "due", "escalated", "closed_locally",
            "yellow_cards", "red_cards"]  # fmt: skip
    for by in (None, "centre", "level", "department"):
        q = MetricsQuery((Scope("region", world.county.code),), *PERIOD, AS_OF, by)
        result = compute(conn, q, cal)
        total, groups = oracle.answer(cases, oracle.Question(start, end, AS_OF, by, []), cal)
        assert {k: result.total_counts[k] for k in keys} == {k: total[k] for k in keys}, by
        if by:
            got = {g.key: g.counts for g in result.groups}
            for key, counts in groups.items():
                mine = {k: got[key].get(k) or 0 for k in keys if k in counts}
                assert mine == {k: counts[k] for k in keys if k in counts}, (by, key)
    assert total["escalated"] == 1 and total["closed_locally"] == 4


@pytest.mark.parametrize("family", ["reject", "verification", "card"])
def test_event_row_families_use_their_index_on_sqlite(sapp: Flask, family: str) -> None:
    """SQLite takes a partial index only when the query's WHERE holds the index's own terms
    (``action = 14`` does not imply ``action IN (4, 9, 14)``): without them each of these
    families read the whole of metric_events (a county month on 100 k cases: 0.37 s instead of
    0.08 s)."""
    from sqlalchemy import text

    from server.metrics.families import FAMILIES

    engine = sapp.extensions["wangge.engine"]
    with engine.connect() as c:
        for branch in FAMILIES[family].branches:
            plan_rows = c.execute(
                text(f"EXPLAIN QUERY PLAN SELECT count(*) FROM metric_events m WHERE {branch}"),
                {"s": 0, "hi": 1, "t": 0},
            ).all()
            assert any("ix_metric_events_action_at" in str(r[-1]) for r in plan_rows), plan_rows
