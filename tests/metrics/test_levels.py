"""Levels of command in the metrics (docs/metrics.md §3, DESIGN §9): who holds a case, who
accepted it, escalations and the sweep's cards — on both databases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

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
