"""Assessment (考核) of docs/metrics.md §9: the worked example, every figure by hand.

灵武市 of tests/metrics/support.py (8 grids, gw0…gw7 one per grid) with two dispatchers. The
office is open 08:30–12:00 and 14:00–17:30 on weekdays; the accept and dispatch stages have the
default limits (4 working hours; 1 natural hour when urgent). Period November 2026, as of
11-20 12:00.

====  ====  =========================  =========================================================
case  grid  reported by                what happened
====  ====  =========================  =========================================================
P     g0    gw0 11-02 09:00            disp accepts 10:00 (1 h: on time), disp dispatches 11:00
Q     g0    disp (hotline) 11-03 09:00 disp accepts 16:00 (5 working h: late); disp2 dispatches
                                       11-04 09:00 (2 h: on time); returned 10:00; disp
                                       dispatches again 11-05 15:00 (10 h: late); yellow card
R     g0    gw1 (not g0's) 11-05 09:00 disp accepts 09:30, dispatches 10:00 (on time); returned
                                       11-06 09:00
S     g1    gw1 self-handles 11-06     (closed on the spot: no acceptance)
U     g1    Open311 (nobody) 11-09     disp accepts 09:10
X     g2    disp, urgent, 11-11 12:30  disp accepts 13:40: 70 natural minutes > 1 h (late,
                                       though no working time passed)
V     g0    gw0 11-10 09:00            accepted 11-20 15:00, after the as-of moment
====  ====  =========================  =========================================================
"""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from server.domain import assessment_metrics as am
from server.domain import scorecards as scoring
from server.domain.worktime import WorkCalendar
from server.metrics import assessment, scorecards
from server.metrics.planning import MetricsQuery, Scope, plan
from server.models import (
    Incident,
    KeyGroupKindRow,
    KeyGroupTag,
    PersonalDataRead,
    Region,
    Resident,
    User,
    Visit,
)
from server.models.fieldwork import Patrol
from server.usecases.context import Actor
from tests import factories
from tests.metrics.support import Ev, World, add_case, iso, session

TZ = ZoneInfo("Asia/Shanghai")
PERIOD = (date(2026, 11, 1), date(2026, 11, 30))
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=TZ)


def _sup(world: World) -> Actor:
    """The county's supervisor as a viewer of records: sees all of the county's base data."""
    return Actor(
        id=world.supervisor.id, role="supervisor", region_id=world.county.id,
        region_level="county", region_path=world.county.path,
    )  # fmt: skip


def t(spec: str) -> datetime:
    return datetime.fromisoformat(f"2026-{spec}").replace(tzinfo=TZ)


def build_assessment(app: Flask, world: World) -> dict[str, int]:
    """Cases P–X of the table above; returns their ids (and the second dispatcher's, "disp2")."""
    db = session(app)
    try:
        w = world
        disp = w.dispatcher.id
        disp2 = factories.user(db, "dispatcher2", "dispatcher", region=w.county).id
        gw0, gw1 = w.workers[0], w.workers[1]
        g0, g1, g2 = w.grids[:3]
        cg = w.departments["CG"].id

        def report(at: str, who: int | None, grid: str) -> Ev:
            return Ev("report", "reported", t(at), {"source": "field", "grid_code": grid}, who)

        def accept(at: str) -> Ev:
            return Ev("accept", "accepted", t(at), {}, disp)

        def dispatch(at: str, by: int = disp) -> Ev:
            data = {"department_id": cg, "deadline_at": iso(t("11-30 17:00"))}
            return Ev("dispatch", "dispatched", t(at), data, by)

        def ret(at: str) -> Ev:
            return Ev("return", "accepted", t(at), {"department_id": cg, "reason": "x"})

        yellow = {"card": "yellow", "stage": "handle", "department_id": cg, "overdue_days": 5}
        cases: dict[str, tuple[list[Ev], str, User | None]] = {
            "P": (
                [report("11-02 09:00", gw0.id, g0), accept("11-02 10:00"), dispatch("11-02 11:00")],
                g0,
                gw0,
            ),
            "Q": (
                [
                    report("11-03 09:00", disp, g0),
                    accept("11-03 16:00"),
                    dispatch("11-04 09:00", disp2),
                    ret("11-04 10:00"),
                    dispatch("11-05 15:00"),
                    Ev("supervise", "dispatched", t("11-12 09:00"), yellow, None, "system"),
                ],
                g0,
                w.dispatcher,
            ),
            "R": (
                [
                    report("11-05 09:00", gw1.id, g0),
                    accept("11-05 09:30"),
                    dispatch("11-05 10:00"),
                    ret("11-06 09:00"),
                ],
                g0,
                gw1,
            ),
            "S": (
                [
                    Ev(
                        "self_handle",
                        "closed",
                        t("11-06 10:00"),
                        {"source": "field", "self_handled": True},
                        gw1.id,
                    )
                ],
                g1,
                gw1,
            ),
            "U": ([report("11-09 09:00", None, g1), accept("11-09 09:10")], g1, None),
            "X": ([report("11-11 12:30", disp, g2), accept("11-11 13:40")], g2, w.dispatcher),
            "V": ([report("11-10 09:00", gw0.id, g0), accept("11-20 15:00")], g0, gw0),
        }
        ids: dict[str, int] = {}
        for name, (events, grid, reporter) in cases.items():
            ids[name] = add_case(db, w, events, grid=grid, reporter=reporter).id
        db.execute(update(Incident).where(Incident.id == ids["X"]).values(urgency="urgent"))
        db.commit()
        ids["disp2"] = disp2
        return ids
    finally:
        db.close()


@pytest.fixture
def cases(mapp: Flask, world: World) -> dict[str, int]:
    return build_assessment(mapp, world)


def _query(world: World, as_of: datetime = AS_OF, scope: str | None = None) -> MetricsQuery:
    return MetricsQuery((Scope("region", scope or world.county.code),), PERIOD[0], PERIOD[1], as_of)


def _names(cases: dict[str, int], items: list[dict[str, Any]]) -> str:
    names = {v: k for k, v in cases.items() if k != "disp2"}
    return "".join(sorted(names[i["case_id"]] for i in items))


# --- 漏报率 -------------------------------------------------------------------------------------


def test_missed_reports_by_hand(
    conn: Connection, world: World, cases: dict[str, int], cal: WorkCalendar
) -> None:
    p = plan(conn, _query(world), cal)
    counts = assessment.grid_counts(conn, p, [w.id for w in world.workers])
    gw = [counts[w.id] for w in world.workers]
    # g0: P (gw0's own), Q (the hotline), R (gw1, not g0's worker); V accepted after T
    assert gw[0] == {"grid_cases": 3, "missed_reports": 2}
    # g1: S (gw1 self-handled), U (Open311: nobody)
    assert gw[1] == {"grid_cases": 2, "missed_reports": 1}
    # g2: X (the hotline)
    assert gw[2] == {"grid_cases": 1, "missed_reports": 1}
    assert all(c == {"grid_cases": 0, "missed_reports": 0} for c in gw[3:])
    # the records behind the numbers
    gw0 = world.workers[0].id
    r = assessment.records(conn, p, cal, "missed_report_rate", "numerator", gw0, viewer=_sup(world))
    assert r.counted == "missed_reports" and r.count == 2 and _names(cases, r.items) == "QR"
    r = assessment.records(
        conn, p, cal, "missed_report_rate", "denominator", gw0, viewer=_sup(world)
    )
    assert r.count == 3 and _names(cases, r.items) == "PQR"
    assert all(i["number"] for i in r.items)


def test_as_of_later_takes_v_in(
    conn: Connection, world: World, cases: dict[str, int], cal: WorkCalendar
) -> None:
    p = plan(conn, _query(world, as_of=t("11-20 16:00")), cal)
    gw0 = world.workers[0].id
    assert assessment.grid_counts(conn, p, [gw0])[gw0] == {"grid_cases": 4, "missed_reports": 2}
    # and before R was returned, its dispatch was still accurate
    p = plan(conn, _query(world, as_of=t("11-05 18:00")), cal)
    desk = assessment.desk_counts(conn, p, cal, [world.dispatcher.id])[world.dispatcher.id]
    assert (desk["desk_dispatches"], desk["accurate_dispatches"]) == (3, 3)


# --- dispatchers --------------------------------------------------------------------------------


def test_desk_by_hand(
    conn: Connection, world: World, cases: dict[str, int], cal: WorkCalendar
) -> None:
    p = plan(conn, _query(world), cal)
    disp, disp2 = world.dispatcher.id, cases["disp2"]
    counts = assessment.desk_counts(conn, p, cal, None)
    assert counts[disp] == {
        "desk_accepts": 5,  # P Q R U X (V after T; S self-handled)
        "accepted_on_time": 3,  # P R U; Q took 5 working hours, X 70 minutes when urgent
        "desk_dispatches": 3,  # P, Q's second, R
        "dispatched_on_time": 2,  # P R; Q's second: 10 working hours after the return
        "accurate_dispatches": 2,  # R was returned
        "desk_volume": 8,
    }
    assert counts[disp2] == {
        "desk_accepts": 0,
        "accepted_on_time": 0,
        "desk_dispatches": 1,
        "dispatched_on_time": 1,
        "accurate_dispatches": 0,
        "desk_volume": 1,
    }
    r = assessment.records(
        conn, p, cal, "accept_on_time_rate", "numerator", disp, viewer=_sup(world)
    )
    assert _names(cases, r.items) == "PRU"
    late = assessment.records(
        conn, p, cal, "accept_on_time_rate", "denominator", disp, viewer=_sup(world)
    ).items
    x = next(i for i in late if i["case_id"] == cases["X"])
    assert x["on_time"] is False and x["due_at"] == iso(t("11-11 13:30")).replace("+00:00", "Z")
    r = assessment.records(
        conn, p, cal, "accurate_dispatch_rate", "denominator", disp, viewer=_sup(world)
    )
    assert _names(cases, r.items) == "PQR"
    assert [i["returned"] for i in r.items if i["case_id"] == cases["R"]] == [True]
    r = assessment.records(conn, p, cal, "desk_volume", "numerator", disp, viewer=_sup(world))
    assert r.count == 8


def test_dispatcher_scorecards_by_hand(
    conn: Connection, world: World, cases: dict[str, int], cal: WorkCalendar
) -> None:
    _r, cards, _config = scorecards.scorecards(conn, "dispatcher", _query(world), cal)
    by = {c.subject["id"]: c for c in cards}
    one, two = by[world.dispatcher.id], by[cases["disp2"]]
    assert {line["metric"]: line["score"] for line in one.lines} == {
        "desk_volume": 2.67,  # 8 of 300 a month
        "accept_on_time_rate": 60.0,
        "dispatch_on_time_rate": 66.67,
        "accurate_dispatch_rate": 66.67,
    }
    # (2.667 × 20 + 60 × 25 + 66.67 × 25 + 66.67 × 30) ÷ 100
    assert one.score == 52.2 and one.grade == "D" and one.rank == 1
    # no acceptances: that line neither helps nor hurts (weights 20 + 25 + 30)
    assert two.lines[1]["value"] is None and two.score == 33.42 and two.grade == "E"
    assert two.rank == 2
    assert [c.subject["id"] for c in cards] == [world.dispatcher.id, cases["disp2"]]


# --- towns ------------------------------------------------------------------------------------


def test_town_scorecards_by_hand(
    conn: Connection, world: World, cases: dict[str, int], cal: WorkCalendar
) -> None:
    _r, cards, _config = scorecards.scorecards(conn, "town", _query(world), cal)
    assert [c.subject["name"] for c in cards] == ["城区街道", "东塔镇"]
    town = cards[0]
    values = {line["metric"]: line["value"] for line in town.lines}
    assert values == {
        "on_time_closure_rate": 1 / 6,  # S of P Q R S U X
        "closure_rate": 1 / 6,
        "local_resolution_rate": 1.0,  # S, self-handled
        "satisfaction_rate": None,
        "valid_report_rate": 6 / 7,  # V not accepted by T
    }
    # (16.67 × 30 + 16.67 × 20 + 100 × 20 + 85.71 × 15) ÷ 85 = 48.46, less 1 for Q's yellow card
    assert town.cards == {"yellow": 1, "red": 0, "deduction": 1.0}
    assert town.score == 47.46 and town.grade == "D" and town.rank == 1
    empty = cards[1]
    assert empty.score is None and empty.grade is None and empty.rank is None


# --- grid workers -------------------------------------------------------------------------------


def test_worker_scorecards_carry_missed_reports(
    conn: Connection, world: World, cases: dict[str, int], cal: WorkCalendar
) -> None:
    _r, cards, _config = scorecards.scorecards(conn, "worker", _query(world), cal)
    by = {c.subject["id"]: c for c in cards}
    figures = by[world.workers[0].id].subject["figures"]
    assert figures["missed_report_rate"] == 2 / 3 and figures["grid_cases"] == 3
    assert by[world.workers[3].id].subject["figures"]["missed_report_rate"] is None
    assert "desk_volume" not in figures  # a dispatcher's indicator


# --- scope ------------------------------------------------------------------------------------


def test_other_county_sees_none_of_it(
    conn: Connection, world: World, cases: dict[str, int], cal: WorkCalendar
) -> None:
    q = _query(world, scope=world.other_county.code)
    for kind in ("dispatcher", "worker", "town"):
        _r, cards, _c = scorecards.scorecards(conn, kind, q, cal)  # type: ignore[arg-type]
        assert cards == [], kind
    p = plan(conn, q, cal)
    r = assessment.records(
        conn, p, cal, "desk_volume", "numerator", world.dispatcher.id, viewer=_sup(world)
    )
    assert r.items == []


def test_a_town_scope_sees_only_its_cases(
    conn: Connection, world: World, cases: dict[str, int], cal: WorkCalendar
) -> None:
    q = _query(world, scope=world.towns[1].code)
    _r, cards, _c = scorecards.scorecards(conn, "dispatcher", q, cal)
    # the county's dispatchers are not the town's; their figures there are none
    assert cards == []
    p = plan(conn, q, cal)
    assert assessment.desk_counts(conn, p, cal, None) == {}


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("dispatcher", {"indicators": [{"metric": "closure_rate", "mode": "rate", "weight": 1}]},
         "indicators[0].metric"),
        ("worker", {"indicators": [{"metric": "desk_volume", "mode": "target", "weight": 1,
                                    "target": 5}]}, "indicators[0].metric"),
        ("town", {"indicators": [{"metric": "missed_report_rate", "mode": "inverse",
                                  "weight": 1}]}, "indicators[0].metric"),
        ("dispatcher", {"indicators": [{"metric": "desk_volume", "mode": "rate", "weight": 1}]},
         "indicators[0].mode"),
        ("dispatcher", {"indicators": [{"metric": "accept_on_time_rate", "mode": "rate",
                                        "weight": float("nan")}]}, "indicators[0].weight"),
        ("dispatcher", {"indicators": [{"metric": "accept_on_time_rate", "mode": "rate",
                                        "weight": 1e400}]}, "indicators[0].weight"),
        ("worker", {"indicators": [{"metric": ["x"], "mode": "rate", "weight": 1}]},
         "indicators[0].metric"),
        # weights past the sane range: 1e308 overflowed the weighted mean (every score 0.00, E)
        ("department", {"indicators": [{"metric": "closure_rate", "mode": "rate",
                                        "weight": 1e308}]}, "indicators[0].weight"),
        ("department", {"indicators": [{"metric": "closure_rate", "mode": "rate",
                                        "weight": 100.5}]}, "indicators[0].weight"),
        ("department", {"indicators": [{"metric": "closure_rate", "mode": "rate",
                                        "weight": 1e-320}]}, "indicators[0].weight"),
        ("worker", {"indicators": [{"metric": "reported", "mode": "target", "weight": 10,
                                    "target": 1e308}]}, "indicators[0].target"),
        ("town", {"indicators": [{"metric": "closure_rate", "mode": "rate", "weight": 1}],
                  "grades": [{"grade": "A", "min": 60}, {"grade": "B", "min": 90}]}, "grades"),
        ("town", {"indicators": [{"metric": "closure_rate", "mode": "rate", "weight": 1}],
                  "grades": [{"grade": "<script>" * 3, "min": 60}]}, "grades[0]"),
        ("town", {"indicators": [{"metric": "closure_rate", "mode": "rate", "weight": 1}],
                  "card_deductions": {"yellow": -1}}, "card_deductions.yellow"),
    ],
)  # fmt: skip
def test_hostile_configuration_is_refused(kind: str, body: dict[str, Any], field: str) -> None:
    with pytest.raises(scoring.ConfigError) as err:
        scoring.parse_scorecard(kind, body)  # type: ignore[arg-type]
    assert field in err.value.fields


def test_every_default_is_valid_and_sums_to_100() -> None:
    for kind in scoring.SCORECARD_KINDS:
        config = scoring.default_scorecard(kind)
        assert scoring.parse_scorecard(kind, config.to_json()) == config
        assert sum(i.weight for i in config.indicators) == 100, kind


# --- field work: patrols and visits -----------------------------------------------------------


def build_field(app: Flask, world: World) -> dict[str, int]:
    """gw0's patrols and the key-group members of g0 and g1 (docs/metrics.md §9):

    - gw0 patrols 11-02 09:00–10:00 (3.2 km, coverage 0.4), 11-02 14:00–15:00 (1.8 km, 0.6),
      11-03 09:00–11:00 (5 km, coverage not computed); not counted: 10-31 23:30 (before the
      period), 11-20 13:00 (after the as-of moment), 11-04 in 贺兰县 (another county);
    - r1 (g0), monthly since 09-01, last visited 10-20: due 11-19, done 11-05 (early);
    - r2 (g0), weekly since 10-25: due 11-01 (done 11-03), 11-10 (done 11-12), 11-19 (not);
    - r3 (g0), monthly since 11-10: next due 12-10, nothing this period;
    - r5 (g0), tag ended 10-15: nothing;
    - r4 (g1), monthly since 08-01, never visited: due 11-01, visited 11-20 15:00 (after T);
    - received only at 11-21 08:00 (after T; "as of" is by the server's receipt, created_at):
      gw0's patrol of 11-05 09:00–10:00 (2 km) and a visit to r2 on 11-19 10:00.
    Everything else is received when it ends.
    """
    db = session(app)
    try:
        w = world
        gw0, gw1 = w.workers[0], w.workers[1]
        kind = KeyGroupKindRow(
            code="assess_test",
            name="测试重点人群",
            levels=[
                {"level": 1, "name": "一级", "cycle": "weekly"},
                {"level": 2, "name": "二级", "cycle": "monthly"},
            ],
        )
        db.add(kind)
        db.flush()
        ids: dict[str, int] = {}
        for name, grid, level, since, ended in (
            ("r1", w.grids[0], 2, date(2026, 9, 1), None),
            ("r2", w.grids[0], 1, date(2026, 10, 25), None),
            ("r3", w.grids[0], 2, date(2026, 11, 10), None),
            ("r5", w.grids[0], 2, date(2026, 1, 1), t("10-15 09:00")),
            ("r4", w.grids[1], 2, date(2026, 8, 1), None),
        ):
            comm = w.community_of[grid]
            r = Resident(
                uuid=str(uuid.uuid4()),
                name=name,
                id_mask="6401**********0000",
                birth_date=date(1960, 1, 1),
                sex="male",
                grid_code=grid,
                community_id=comm.id,
                town_id=w.town_of_grid(grid).id,
                county_id=w.county.id,
            )
            db.add(r)
            db.flush()
            ids[name] = r.id
            db.add(
                KeyGroupTag(
                    uuid=str(uuid.uuid4()),
                    resident_id=r.id,
                    kind_id=kind.id,
                    level=level,
                    since=since,
                    ended_at=ended,
                )
            )
        for name, at, received in (
            ("r1", "10-20 10:00", None),
            ("r1", "11-05 10:00", None),
            ("r2", "11-03 10:00", None),
            ("r2", "11-12 10:00", None),
            ("r4", "11-20 15:00", None),
            ("r2", "11-19 10:00", "11-21 08:00"),
        ):
            grid = w.grids[1] if name == "r4" else w.grids[0]
            db.add(
                Visit(
                    uuid=str(uuid.uuid4()),
                    content_hash="x",
                    resident_id=ids[name],
                    visitor_id=(gw1 if name == "r4" else gw0).id,
                    visited_at=t(at),
                    created_at=t(received or at),
                    grid_code=grid,
                    county_id=w.county.id,
                )
            )
        g0 = w.grids[0]
        for start, end, metres, cov, county, received in (
            ("11-02 09:00", "11-02 10:00", 3200, 0.4, w.county, None),
            ("11-02 14:00", "11-02 15:00", 1800, 0.6, w.county, None),
            ("11-03 09:00", "11-03 11:00", 5000, None, w.county, None),
            ("10-31 23:30", "11-01 00:30", 900, 0.9, w.county, None),
            ("11-20 13:00", "11-20 14:00", 1000, 0.9, w.county, None),
            ("11-04 09:00", "11-04 10:00", 3000, 0.9, w.other_county, None),
            ("11-05 09:00", "11-05 10:00", 2000, 0.5, w.county, "11-21 08:00"),
        ):
            here = county is w.county
            db.add(
                Patrol(
                    uuid=str(uuid.uuid4()),
                    content_hash="x",
                    worker_id=gw0.id,
                    started_at=t(start),
                    ended_at=t(end),
                    created_at=t(received or end),
                    distance_m=metres,
                    duration_s=int((t(end) - t(start)).total_seconds()),
                    coverage=cov,
                    grid_code=g0 if here else None,
                    community_id=w.community_of[g0].id if here else None,
                    town_id=w.town_of_grid(g0).id if here else None,
                    county_id=county.id,
                )
            )
        db.commit()
        return ids
    finally:
        db.close()


@pytest.fixture
def field(mapp: Flask, world: World, cases: dict[str, int]) -> dict[str, int]:
    return build_field(mapp, world)


def test_field_work_by_hand(
    conn: Connection, world: World, field: dict[str, int], cal: WorkCalendar
) -> None:
    p = plan(conn, _query(world), cal)
    gw0, gw1 = world.workers[0].id, world.workers[1].id
    counts = assessment.field_counts(conn, p, cal, [gw0, gw1])
    assert counts[gw0] == {
        "patrols": 3,
        "patrol_days": 2,
        "patrol_distance": 10.0,
        "patrol_coverage": pytest.approx(0.5),
        "visits_due": 4,
        "visits_done": 3,
    }
    assert counts[gw1] == {
        "patrols": 0,
        "patrol_days": 0,
        "patrol_distance": 0.0,
        "patrol_coverage": None,
        "visits_due": 1,
        "visits_done": 0,
    }
    r = assessment.records(conn, p, cal, "patrol_days", "numerator", gw0, viewer=_sup(world))
    assert r.count == 2 and [i["day"] for i in r.items] == ["2026-11-02"] * 2 + ["2026-11-03"]
    r = assessment.records(conn, p, cal, "patrol_coverage", "numerator", gw0, viewer=_sup(world))
    assert r.count == pytest.approx(0.5) and len(r.items) == 2
    r = assessment.records(conn, p, cal, "patrol_distance", "numerator", gw0, viewer=_sup(world))
    assert r.count == 10.0
    r = assessment.records(conn, p, cal, "visits_done_rate", "denominator", gw0, viewer=_sup(world))
    due = sorted((i["resident_id"], i["due_on"], i["done_on"]) for i in r.items)
    r1, r2 = field["r1"], field["r2"]
    assert due == [
        (r1, "2026-11-19", "2026-11-05"),
        (r2, "2026-11-01", "2026-11-03"),
        (r2, "2026-11-10", "2026-11-12"),
        (r2, "2026-11-19", None),
    ]
    assert all("name" not in i for i in r.items)  # no personal data in the records
    # later, r4's visit of 11-20 15:00 counts
    later = plan(conn, _query(world, as_of=t("11-20 16:00")), cal)
    assert assessment.field_counts(conn, later, cal, [gw1])[gw1]["visits_done"] == 1
    assert assessment.field_counts(conn, later, cal, [gw0])[gw0]["patrols"] == 4


def test_field_work_as_of_is_by_the_servers_receipt(
    conn: Connection, world: World, field: dict[str, int], cal: WorkCalendar
) -> None:
    """A patrol of 11-05 and a visit of 11-19 that reached the server on 11-21 08:00 (a phone
    offline, or a start dated back) are not in the month as of any moment before that."""
    gw0 = world.workers[0].id

    def at(moment: str) -> dict[str, Any]:
        return assessment.field_counts(conn, plan(conn, _query(world, as_of=t(moment)), cal),
                                       cal, [gw0])[gw0]  # fmt: skip

    before, after = at("11-21 07:59"), at("11-21 08:00")
    assert (before["patrols"], after["patrols"]) == (4, 5)
    assert after["patrol_distance"] == pytest.approx(before["patrol_distance"] + 2.0)
    assert after["visits_done"] == before["visits_done"] + 1


def test_worker_scorecard_by_hand(
    conn: Connection, world: World, field: dict[str, int], cal: WorkCalendar
) -> None:
    _r, cards, _config = scorecards.scorecards(conn, "worker", _query(world), cal)
    card = next(c for c in cards if c.subject["id"] == world.workers[0].id)
    assert {line["metric"]: line["score"] for line in card.lines} == {
        "valid_report_rate": 50.0,  # P valid, V not yet
        "missed_report_rate": 33.33,  # 1 − 2/3
        "verification_on_time_rate": None,
        "reported": 10.0,  # 2 of 20
        "patrol_days": 9.09,  # 2 of 22
        "patrol_distance": 10.0,  # 10 km of 100
        "patrol_coverage": 50.0,
        "visits_done_rate": 75.0,
    }
    # (50×20 + 33.33×15 + 10×10 + 9.09×15 + 10×5 + 50×5 + 75×15) ÷ 85
    assert card.score == 37.19 and card.grade == "E" and card.rank == 1


def test_due_visits_walk() -> None:
    d = date
    # weekly, last visit before the month on 10-28: due 11-04, visited late 11-06, then due
    # 11-13, 11-20, 11-27 unvisited
    assert am.due_visits(
        7, d(2026, 1, 1), d(2026, 10, 28), [d(2026, 11, 6)], d(2026, 11, 1), d(2026, 11, 30)
    ) == [
        (d(2026, 11, 4), d(2026, 11, 6)),
        (d(2026, 11, 13), None),
        (d(2026, 11, 20), None),
        (d(2026, 11, 27), None),
    ]
    # weekly, unvisited until 11-20: 11-04 and 11-11 undone, 11-18 done on 11-20, 11-27 due
    assert am.due_visits(
        7, d(2026, 1, 1), d(2026, 10, 28), [d(2026, 11, 20)], d(2026, 11, 1), d(2026, 11, 30)
    ) == [
        (d(2026, 11, 4), None),
        (d(2026, 11, 11), None),
        (d(2026, 11, 18), d(2026, 11, 20)),
        (d(2026, 11, 27), None),
    ]
    # overdue since the summer: due once, on the first day; two visits the same cycle do one
    assert am.due_visits(
        30, d(2026, 6, 1), None, [d(2026, 11, 2), d(2026, 11, 3)], d(2026, 11, 1), d(2026, 11, 30)
    ) == [
        (d(2026, 11, 1), d(2026, 11, 2)),
    ]
    assert am.due_visits(91, d(2026, 10, 1), None, [], d(2026, 11, 1), d(2026, 11, 30)) == []


# --- API ----------------------------------------------------------------------------------------

BASE = "/api/v1/metrics"
Q = "from=2026-11-01&to=2026-11-30&as_of=2026-11-20T12:00:00%2B08:00"


def _get(app: Flask, who: str, path: str, status: int = 200) -> Any:
    client = app.test_client()
    factories.login(client, who)
    resp = client.get(path)
    assert resp.status_code == status, (path, resp.status_code, resp.get_data(as_text=True))
    return resp.get_json() if resp.is_json else resp


@pytest.fixture
def api_field(sapp: Flask, world: World) -> dict[str, int]:
    ids = build_assessment(sapp, world)
    return ids | build_field(sapp, world)


def test_api_kinds_records_and_export(sapp: Flask, world: World, api_field: dict[str, int]) -> None:
    body = _get(sapp, "supervisor", f"{BASE}/scorecards?{Q}&kind=dispatcher")
    assert [(i["subject"]["name"], i["score"], i["grade"], i["rank"]) for i in body["items"]] == [
        ("dispatcher", 52.2, "D", 1),
        ("dispatcher2", 33.42, "E", 2),
    ]
    towns = _get(sapp, "supervisor", f"{BASE}/scorecards?{Q}&kind=town")["items"]
    assert (towns[0]["subject"]["name"], towns[0]["score"]) == ("城区街道", 47.46)
    workers = _get(sapp, "supervisor", f"{BASE}/scorecards?{Q}&kind=worker")["items"]
    assert workers[0]["subject"]["id"] == world.workers[0].id and workers[0]["score"] == 37.19
    # the records behind a number
    gw0 = world.workers[0].id
    r = _get(sapp, "supervisor", f"{BASE}/records?{Q}&kind=worker&subject={gw0}"
             "&metric=missed_report_rate&part=numerator")  # fmt: skip
    assert r["count"] == 2 and {i["case_id"] for i in r["items"]} == {
        api_field["Q"],
        api_field["R"],
    }
    r = _get(sapp, "supervisor", f"{BASE}/records?{Q}&subject={gw0}&metric=patrol_days")
    assert r["count"] == 2 and len(r["items"]) == 3 and r["items"][0]["type"] == "patrol"
    # bad input: named fields
    bad = _get(sapp, "supervisor", f"{BASE}/records?{Q}&subject={gw0}&metric=nope", 400)
    assert bad["fields"] == {"metric": "没有指标 nope / unknown metric"}
    bad = _get(sapp, "supervisor", f"{BASE}/records?{Q}&subject=x&metric=patrol_days", 400)
    assert "subject" in bad["fields"]
    bad = _get(sapp, "supervisor", f"{BASE}/records?{Q}&subject=1&metric=patrols&part=denominator",
               400)  # fmt: skip
    assert bad["error"] == "invalid_part"
    # another county's supervisor: none of 灵武市's people, none of its records
    other = _get(sapp, "other_sup", f"{BASE}/scorecards?{Q}&kind=dispatcher")
    assert other["items"] == []
    r = _get(sapp, "other_sup", f"{BASE}/records?{Q}&subject={gw0}&metric=patrol_days")
    assert r["items"] == [] and r["count"] == 0
    r = _get(sapp, "other_sup", f"{BASE}/records?{Q}&subject={gw0}&metric=visits_done_rate")
    assert r["items"] == []
    # a grid worker sees their own card only
    mine = _get(sapp, "gw1", f"{BASE}/scorecards?{Q}&kind=worker")["items"]
    assert [i["subject"]["id"] for i in mine] == [world.workers[1].id]
    r = _get(sapp, "gw1", f"{BASE}/records?{Q}&subject={gw0}&metric=patrol_days")
    assert r["items"] == []
    # .xlsx with the definitions sheet naming the new indicators
    resp = _get(sapp, "supervisor", f"{BASE}/export.xlsx?{Q}&report=dispatcher")
    wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["受理派遣考核", "指标口径"]
    rows = [[c.value for c in row] for row in wb["受理派遣考核"].iter_rows()]
    header = next(r for r in rows if r and r[0] == "排名")
    assert header[:4] == ["排名", "受理派遣人员", "得分", "等级"] and "准确派遣率" in header
    keys = {row[2].value for row in wb["指标口径"].iter_rows(min_row=2)}
    assert {"missed_report_rate", "accurate_dispatch_rate", "visits_done_rate"} <= keys
    resp = _get(sapp, "supervisor", f"{BASE}/export.xlsx?{Q}&report=town")
    assert load_workbook(io.BytesIO(resp.data)).sheetnames[0] == "乡镇考核"
    defs = _get(sapp, "supervisor", f"{BASE}/definitions")
    assert [k["key"] for k in defs["scorecard_kinds"]] == list(scoring.SCORECARD_KINDS)
    assert [m["key"] for m in defs["indicators"]] == list(am.INDICATOR_KEYS)


def test_api_config_for_the_new_kinds(sapp: Flask, world: World) -> None:
    admin = sapp.test_client()
    factories.login(admin, "admin")
    body = {"indicators": [{"metric": "accurate_dispatch_rate", "mode": "rate", "weight": 1}],
            "grades": [{"grade": "优", "min": 80}]}  # fmt: skip
    resp = admin.put(f"{BASE}/scorecards/config?kind=dispatcher", json=body)
    assert resp.status_code == 200 and resp.get_json()["grades"] == [{"grade": "优", "min": 80}]
    hostile = {"indicators": [{"metric": "missed_report_rate", "mode": "inverse", "weight": 1}]}
    resp = admin.put(f"{BASE}/scorecards/config?kind=dispatcher", json=hostile)
    assert resp.status_code == 400
    assert resp.get_json()["fields"] == {
        "indicators[0].metric": "该指标不适用于此类考核 / not an indicator of this kind"
    }
    # nothing saved is lost
    assert admin.get(f"{BASE}/scorecards/config?kind=dispatcher").get_json()["grades"] == [
        {"grade": "优", "min": 80}
    ]
    sup = sapp.test_client()
    factories.login(sup, "supervisor")
    assert sup.put(f"{BASE}/scorecards/config?kind=town", json=body).status_code == 403


def test_field_figures_do_not_apply_under_a_category_scope(
    conn: Connection, world: World, field: dict[str, int], cal: WorkCalendar
) -> None:
    """Patrols and visits have no category: under a category scope they are not 0 (which would
    score 0 patrol days) but not counted."""
    q = MetricsQuery((Scope("category", "01"),), PERIOD[0], PERIOD[1], AS_OF)
    p = plan(conn, q, cal)
    gw0 = world.workers[0].id
    assert set(assessment.field_counts(conn, p, cal, [gw0])[gw0].values()) == {None}
    _r, cards, _c = scorecards.scorecards(conn, "worker", q, cal)
    card = next(c for c in cards if c.subject["id"] == gw0)
    assert {line["metric"]: line["score"] for line in card.lines}["patrol_days"] is None


# --- personal data in the records (docs/metrics.md §6, docs/base-data.md "Privacy") ------------


def _reads(app: Flask, who: User) -> list[tuple[int | None, str, str, str]]:
    db = session(app)
    try:
        rows = db.execute(
            select(
                PersonalDataRead.resident_id,
                PersonalDataRead.purpose,
                PersonalDataRead.endpoint,
                PersonalDataRead.fields,
            ).where(PersonalDataRead.actor_id == who.id)
        ).all()
        return sorted((tuple(r) for r in rows), key=lambda r: r[0] or 0)  # type: ignore[misc]
    finally:
        db.close()


def test_visit_records_name_only_whom_the_viewer_may_see(mapp: Flask, world: World) -> None:
    """gw0's visits due: r1 (an ordinary key group) once, r2 (moved here into a *sensitive*
    kind, 吸毒人员-like) three times. Those who may not see r2's group (a county dispatcher, an
    admin) get r2's visits as withheld rows (no resident, household, group or days; the count
    stays 4), and those who may not read the county's base data at all (a city dispatcher)
    get every row withheld. Whoever is named is logged as read; nobody else."""
    field = build_field(mapp, world)
    r1, r2 = field["r1"], field["r2"]
    db = session(mapp)
    try:
        secret = KeyGroupKindRow(
            code="assess_secret", name="测试敏感人群", sensitive=True,
            levels=[{"level": 1, "name": "一级", "cycle": "weekly"}],
        )  # fmt: skip
        db.add(secret)
        db.flush()
        db.execute(update(KeyGroupTag).where(KeyGroupTag.resident_id == r2).values(
            kind_id=secret.id))  # fmt: skip
        # 灵武市 under a city (银川市), whose dispatcher sees the metrics but no base data
        city = factories.region(db, "640100", "银川市", "city")
        county = db.get(Region, world.county.id)
        assert county is not None
        old = county.path
        county.parent_id = city.id
        for region in db.scalars(select(Region).where(Region.path.startswith(old))):
            region.path = city.path + region.path[1:]
        city_disp = factories.user(db, "city_disp", "dispatcher", region=city)
        town = db.get(Region, world.towns[0].id)
        town_disp = factories.user(db, "town_disp", "dispatcher", region=town)
        db.commit()
        city_user, town_user = db.get(User, city_disp.id), db.get(User, town_disp.id)
    finally:
        db.close()
    assert city_user is not None and town_user is not None
    gw0 = world.workers[0]
    path = f"{BASE}/records?{Q}&kind=worker&subject={gw0.id}&metric=visits_due"
    named = {"resident_id", "household_id", "key_group", "due_on", "done_on"}

    def records(who: str) -> dict[str, Any]:
        body = _get(mapp, who, path)
        assert body["count"] == 4 and body["total_items"] == 4 and len(body["items"]) == 4
        assert all(i["type"] == "visit_due" for i in body["items"])
        return body

    # those who may see both groups: the worker, the county's supervisor, the town's dispatcher
    for who, user in (("gw0", gw0), ("supervisor", world.supervisor), ("town_disp", town_user)):
        items = records(who)["items"]
        assert [(i["resident_id"], i["key_group"], i["due_on"]) for i in items] == [
            (r2, "测试敏感人群", "2026-11-01"),
            (r2, "测试敏感人群", "2026-11-10"),
            (r1, "测试重点人群", "2026-11-19"),
            (r2, "测试敏感人群", "2026-11-19"),
        ], who
        assert not any(i["withheld"] for i in items)
        assert _reads(mapp, user) == [
            (r1, "list", "metrics.indicator_records", "visit_due"),
            (r2, "list", "metrics.indicator_records", "visit_due"),
        ], who
    # those who may see r1's group but not r2's: r2's three visits are withheld rows
    for who, user in (("dispatcher", world.dispatcher), ("admin", world.admin)):
        body = records(who)
        items = body["items"]
        assert items[0] == {
            "type": "visit_due", "resident_id": r1, "household_id": None,
            "key_group": "测试重点人群", "due_on": "2026-11-19", "done_on": "2026-11-05",
            "done": True, "withheld": False,
        }, who  # fmt: skip
        hidden = items[1:]
        assert all(i["withheld"] and not any(i[k] for k in named) for i in hidden), who
        assert sorted(i["done"] for i in hidden) == [False, True, True]
        assert str(r2) not in {str(i["resident_id"]) for i in items}
        assert _reads(mapp, user) == [(r1, "list", "metrics.indicator_records", "visit_due")]
        # 已访数: its records are the done ones, as many as the figure
        done = _get(mapp, who, path.replace("visits_due", "visits_done"))
        assert done["count"] == 3 and [i["withheld"] for i in done["items"]] == [
            False, True, True
        ]  # fmt: skip
    # who may read none of the county's base data: every row withheld, nothing logged
    body = records("city_disp")
    assert all(i["withheld"] and not any(i[k] for k in named) for i in body["items"])
    assert _reads(mapp, city_user) == []
