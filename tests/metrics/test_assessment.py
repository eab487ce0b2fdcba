"""Assessment (考核) of docs/metrics.md §6: the worked example, every figure by hand.

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

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import update
from sqlalchemy.engine import Connection

from server.domain import scorecards as scoring
from server.domain.worktime import WorkCalendar
from server.metrics import assessment, scorecards
from server.metrics.planning import MetricsQuery, Scope, plan
from server.models import Incident, User
from tests import factories
from tests.metrics.support import Ev, World, add_case, iso, session

TZ = ZoneInfo("Asia/Shanghai")
PERIOD = (date(2026, 11, 1), date(2026, 11, 30))
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=TZ)


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
    r = assessment.records(conn, p, cal, "missed_report_rate", "numerator", gw0)
    assert r.counted == "missed_reports" and r.count == 2 and _names(cases, r.items) == "QR"
    r = assessment.records(conn, p, cal, "missed_report_rate", "denominator", gw0)
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
    r = assessment.records(conn, p, cal, "accept_on_time_rate", "numerator", disp)
    assert _names(cases, r.items) == "PRU"
    late = assessment.records(conn, p, cal, "accept_on_time_rate", "denominator", disp).items
    x = next(i for i in late if i["case_id"] == cases["X"])
    assert x["on_time"] is False and x["due_at"] == iso(t("11-11 13:30")).replace("+00:00", "Z")
    r = assessment.records(conn, p, cal, "accurate_dispatch_rate", "denominator", disp)
    assert _names(cases, r.items) == "PQR"
    assert [i["returned"] for i in r.items if i["case_id"] == cases["R"]] == [True]
    r = assessment.records(conn, p, cal, "desk_volume", "numerator", disp)
    assert r.count == 8


def test_dispatcher_scorecards_by_hand(
    conn: Connection, world: World, cases: dict[str, int], cal: WorkCalendar
) -> None:
    _r, cards, config = scorecards.scorecards(conn, "dispatcher", _query(world), cal)
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
    r = assessment.records(conn, p, cal, "desk_volume", "numerator", world.dispatcher.id)
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
