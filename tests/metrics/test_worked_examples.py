"""The example county of docs/metrics.md §2: every number the page quotes, on both databases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy.engine import Connection

from server.domain import metric_definitions as md
from server.domain.worktime import WorkCalendar
from server.metrics import scorecards
from server.metrics.counting import compute
from server.metrics.drilldown import drilldown
from server.metrics.planning import MetricsQuery, Scope, plan
from server.models import Region
from tests.metrics.support import Ev, World, add_case, iso, session

TZ = ZoneInfo("Asia/Shanghai")
PERIOD = (date(2026, 11, 1), date(2026, 11, 30))
AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=TZ)


def t(spec: str) -> datetime:
    """'11-02 09:20' → 2026-11-02 09:20 Asia/Shanghai."""
    return datetime.fromisoformat(f"2026-{spec}").replace(tzinfo=TZ)


def build_example(app: Flask, world: World) -> dict[str, int]:
    """Cases A–J of docs/metrics.md §2; returns their ids."""
    w = world
    cg, zj, jt = (w.departments[c].id for c in ("CG", "ZJ", "JT"))
    gw, disp = w.workers[0], w.dispatcher.id
    g1 = w.grids[0]

    def dispatch(at: str, dep: int, due: str) -> Ev:
        return Ev(
            "dispatch",
            "dispatched",
            t(at),
            {"department_id": dep, "deadline_at": iso(t(due))},
            disp,
        )

    def resolve(at: str, dep: int, due: str) -> Ev:
        return Ev("resolve", "resolved", t(at), {"department_id": dep, "deadline_at": iso(t(due))})

    def verify(at: str, passed: bool = True) -> Ev:
        return Ev("verify", "closed" if passed else "dispatched", t(at), {"passed": passed}, gw.id)

    # Levels of command (§2): 城区街道's centre takes 暴露垃圾, a routing rule sends 道路破损 to
    # 灵武市's centre (越级).
    town, county = w.towns[0], w.county

    def centre(region: Region) -> dict[str, Any]:
        return {"centre": {"id": region.id, "code": region.code, "name": region.name,
                           "level": region.level}}  # fmt: skip

    def move(action: str, at: str, to: str, target: Region, held: Region) -> Ev:
        text = {"escalate": "reason", "devolve": "instruction"}.get(action, "note")
        data = {text: "x", **centre(target), "from_centre": centre(held)["centre"]}
        return Ev(action, to, t(at), data, disp)

    def card(at: str, state: str, colour: str, stage: str, dep: int) -> Ev:
        data = {"card": colour, "stage": stage, "department_id": dep, "overdue_days": 5}
        return Ev("supervise", state, t(at), data, None, "system")

    report = {"source": "field", "grid_code": g1, **centre(town)}
    road = {"source": "field", "grid_code": g1, **centre(county)}
    histories = {
        "A": [
            Ev("report", "reported", t("11-02 09:00"), report, gw.id),
            Ev("accept", "accepted", t("11-02 09:10"), {}, disp),
            dispatch("11-02 09:20", cg, "11-02 15:20"),
            Ev("sign", "in_progress", t("11-02 09:30"), {"department_id": cg}),
            resolve("11-02 11:00", cg, "11-02 15:20"),
            verify("11-02 14:30"),
            Ev("rate", "closed", t("11-03 10:00"), {"rating": "satisfied"}, disp),
        ],
        "B": [
            Ev("report", "reported", t("11-03 08:40"), report, gw.id),
            Ev("accept", "accepted", t("11-03 08:45"), {}, disp),
            dispatch("11-03 09:00", cg, "11-03 15:00"),
            resolve("11-03 11:00", cg, "11-03 15:00"),
            verify("11-03 11:30", passed=False),
            resolve("11-03 16:00", cg, "11-03 15:00"),
            verify("11-04 09:00"),
        ],
        "C": [
            Ev("report", "reported", t("11-04 10:00"), road, gw.id),
            Ev("accept", "accepted", t("11-04 10:05"), {}, disp),
            dispatch("11-04 10:10", zj, "11-11 10:10"),
            Ev("return", "accepted", t("11-04 15:00"), {"reason": "非本部门", "department_id": zj}),
            dispatch("11-05 09:00", jt, "11-12 09:00"),
            Ev("sign", "in_progress", t("11-05 10:00"), {"department_id": jt}),
            card("11-19 09:00", "in_progress", "yellow", "handle", jt),
        ],
        "D": [
            Ev("report", "reported", t("11-05 09:00"), road, gw.id),
            move("devolve", "11-05 09:20", "reported", town, county),
            Ev("accept", "accepted", t("11-05 09:30"), {}, disp),
            dispatch("11-05 10:00", jt, "11-12 10:00"),
            Ev("request_extension", "dispatched", t("11-10 09:00"), {"days": 2, "reason": "x"}),
            Ev(
                "decide_extension",
                "dispatched",
                t("11-10 10:00"),
                {
                    "approve": True,
                    "old_deadline": iso(t("11-12 10:00")),
                    "new_deadline": iso(t("11-16 10:00")),
                },
                disp,
            ),
            resolve("11-13 16:00", jt, "11-16 10:00"),
            verify("11-16 09:00"),
        ],
        "E": [
            Ev("report", "reported", t("11-06 09:00"), report, gw.id),
            Ev("accept", "accepted", t("11-06 09:05"), {}, disp),
            dispatch("11-06 09:10", cg, "11-06 15:10"),
            Ev("suspend", "suspended", t("11-06 10:00"), {"reason": "天气"}, disp),
        ],
        "F": [
            Ev("self_handle", "closed", t("11-09 10:00"), {**report, "self_handled": True}, gw.id),
            Ev("rate", "closed", t("11-09 15:00"), {"rating": "basically_satisfied"}, disp),
        ],
        "G": [
            Ev("report", "reported", t("11-10 10:00"), report, gw.id),
            Ev("reject", "rejected", t("11-10 11:00"), {"reason": "不属实"}, disp),
        ],
        "H": [
            Ev("report", "reported", t("11-11 09:00"), report, gw.id),
            Ev("accept", "accepted", t("11-11 09:05"), {}, disp),
            dispatch("11-11 09:15", cg, "11-11 15:15"),
            resolve("11-11 10:00", cg, "11-11 15:15"),
            verify("11-11 11:00"),
            Ev("rate", "closed", t("11-11 15:00"), {"rating": "unsatisfied"}, disp),
            Ev("reopen", "accepted", t("11-11 15:30"), {"reason": "群众不满意"}, disp),
            move("escalate", "11-11 15:40", "accepted", county, town),
            dispatch("11-12 09:00", cg, "11-12 15:00"),
            resolve("11-12 14:30", cg, "11-12 15:00"),
            verify("11-13 16:00"),
        ],
        "I": [
            Ev("report", "reported", t("10-31 16:00"), report, gw.id),
            Ev("accept", "accepted", t("11-02 08:40"), {}, disp),
            dispatch("11-02 08:50", cg, "11-02 14:50"),
            resolve("11-02 16:00", cg, "11-02 14:50"),
            card("11-10 09:00", "resolved", "yellow", "verify", cg),
            card("11-17 09:00", "resolved", "red", "verify", cg),
        ],
        "J": [
            Ev("report", "reported", t("11-19 10:00"), report, gw.id),
            Ev("accept", "accepted", t("11-20 14:00"), {}, disp),
        ],
    }
    db = session(app)
    ids = {}
    for name, events in histories.items():
        category = "0202" if name in ("C", "D") else "0101"
        ids[name] = add_case(db, world, events, grid=g1, category=category, reporter=gw).id
    db.commit()
    db.close()
    return ids


EXPECTED_TOTAL = {
    "reported": 9,
    "valid_reports": 7,
    "valid_report_rate": 7 / 9,
    "rejected": 1,
    "accepted": 8,
    "self_handled": 1,
    "suspended": 1,
    "due": 7,
    "closed": 5,
    "closure_rate": 5 / 7,
    "closed_on_time": 4,
    "on_time_closure_rate": 4 / 7,
    "overdue_open": 2,
    "rated": 3,
    "satisfied": 2,
    "satisfaction_rate": 2 / 3,
    "handled": 4,
    "avg_handling_hours": 15.73,
    "dispatches": 9,
    "resolved_on_time": 4,
    "on_time_handling_rate": 4 / 9,
    "resolutions": 7,
    "reworks": 1,
    "rework_rate": 1 / 7,
    "returns": 1,
    "return_rate": 1 / 9,
    "extended": 1,
    "extension_rate": 1 / 9,
    "verifications": 6,
    "verified_on_time": 5,
    "verification_on_time_rate": 5 / 6,
    "escalated": 1,
    "escalation_rate": 1 / 8,
    "closed_locally": 4,
    "local_resolution_rate": 4 / 5,
    "yellow_cards": 2,
    "red_cards": 1,
}

# Which cases each count's drill-down lists (docs §3 examples), with weights.
EXPECTED_CASES = {
    "reported": "ABCDEFGHJ",
    "valid_reports": "ABCDEFH",
    "rejected": "G",
    "accepted": "ABCDEFHI",
    "self_handled": "F",
    "suspended": "E",
    "due": "ABCDFHI",
    "closed": "ABDFH",
    "closed_on_time": "ADFH",
    "overdue_open": "CI",
    "rated": "AFH",
    "satisfied": "AF",
    "handled": "ABDH",
    "dispatches": "ABCCDEHHI",
    "resolved_on_time": "ADHH",
    "resolutions": "ABBDHHI",
    "reworks": "B",
    "returns": "C",
    "extended": "D",
    "verifications": "ABBDHH",
    "verified_on_time": "ABBDH",
    "escalated": "H",
    "closed_locally": "ABDF",
    "yellow_cards": "CI",
    "red_cards": "I",
}


@pytest.fixture
def example(mapp: Flask, world: World) -> dict[str, int]:
    return build_example(mapp, world)


def _query(world: World, by: str | None = None, as_of: datetime = AS_OF) -> MetricsQuery:
    return MetricsQuery(
        scopes=(Scope("region", world.county.code),),
        start=PERIOD[0],
        end=PERIOD[1],
        as_of=as_of,
        by=by,
    )


def test_every_quoted_total(
    conn: Connection, world: World, example: dict[str, int], cal: WorkCalendar
) -> None:
    result = compute(conn, _query(world), cal)
    assert set(EXPECTED_TOTAL) == set(md.METRIC_KEYS)
    for key, value in EXPECTED_TOTAL.items():
        assert result.total[key] == pytest.approx(value, abs=1e-12), key


def test_every_drilldown_lists_the_quoted_cases(
    conn: Connection, world: World, example: dict[str, int], cal: WorkCalendar
) -> None:
    names = {v: k for k, v in example.items()}
    p = plan(conn, _query(world), cal)
    for key, letters in EXPECTED_CASES.items():
        d = drilldown(conn, p, cal, key, limit=1000)
        listed = "".join(sorted(names[i["case_id"]] * int(i["weight"]) for i in d.items))
        assert listed == "".join(sorted(letters)), key
        assert d.count == EXPECTED_TOTAL[key]


def test_rate_parts_and_hours(
    conn: Connection, world: World, example: dict[str, int], cal: WorkCalendar
) -> None:
    names = {v: k for k, v in example.items()}
    p = plan(conn, _query(world), cal)
    d = drilldown(conn, p, cal, "closure_rate", "denominator")
    assert d.counted == "due" and d.count == 7
    d = drilldown(conn, p, cal, "avg_handling_hours")
    hours = {names[i["case_id"]]: i["handling_hours"] for i in d.items}
    assert hours == {"A": pytest.approx(1.6667, abs=1e-4), "B": 5.0, "D": 46.0, "H": 10.25}
    d = drilldown(conn, p, cal, "verifications")
    late = [i for i in d.items if not i["on_time"]]
    assert [names[i["case_id"]] for i in late] == ["H"] and late[0]["work_hours"] == 8.5


def test_groupings_of_the_examples(
    conn: Connection, world: World, example: dict[str, int], cal: WorkCalendar
) -> None:
    weeks = compute(conn, _query(world, "week"), cal)
    accepted = {g.key: g.values["accepted"] for g in weeks.groups}
    assert accepted == {
        "2026-W44": 0,
        "2026-W45": 6,
        "2026-W46": 2,
        "2026-W47": 0,
        "2026-W48": 0,
        "2026-W49": 0,
    }
    deps = compute(conn, _query(world, "department"), cal)
    by_name = {g.label["name"].split(" /")[0]: g for g in deps.groups}
    assert {k: g.values["closed"] for k, g in by_name.items()} == {
        "城管局": 3,
        "交通局": 1,
        "未派遣": 1,
        "住建局": 0,
    }
    assert by_name["城管局"].values["on_time_handling_rate"] == 0.5
    assert by_name["交通局"].values["on_time_handling_rate"] == 0.5
    assert by_name["住建局"].values["on_time_handling_rate"] == 0
    assert by_name["住建局"].values["return_rate"] == 1
    assert by_name["城管局"].values["reported"] is None  # reports have no department
    towns = compute(conn, _query(world, "town"), cal)
    assert [g.label["name"] for g in towns.groups] == ["城区街道", "东塔镇"]
    assert towns.groups[1].values["accepted"] == 0


def test_scorecard_example(
    conn: Connection, world: World, example: dict[str, int], cal: WorkCalendar
) -> None:
    _result, cards, _config = scorecards.scorecards(conn, "department", _query(world), cal)
    card = next(c for c in cards if c.subject["name"] == "城管局")
    scores = {line["metric"]: line["score"] for line in card.lines}
    assert scores == {
        "on_time_handling_rate": 50.0,
        "rework_rate": 83.33,
        "return_rate": 100.0,
        "extension_rate": 100.0,
        "satisfaction_rate": 50.0,
    }
    assert card.score == 69.17 and card.grade == "C"


def test_as_of_before_j_is_accepted_and_after(
    conn: Connection, world: World, example: dict[str, int], cal: WorkCalendar
) -> None:
    """J was accepted after the as-of moment: asking later takes it in."""
    later = compute(conn, _query(world, as_of=t("11-20 15:00")), cal).total
    assert later["accepted"] == 9 and later["valid_reports"] == 8


def test_levels_of_command_of_the_examples(
    conn: Connection, world: World, example: dict[str, int], cal: WorkCalendar
) -> None:
    """docs/metrics.md §4: by centre (the centre that accepted the case; cards: the centre
    holding it) and by level; cards by department."""
    town, county = world.towns[0], world.county
    centres = {g.key: g.values for g in compute(conn, _query(world, "centre"), cal).groups}
    assert set(centres) == {town.id, county.id}
    mine = centres[town.id]
    assert (mine["accepted"], mine["due"], mine["closed"], mine["closed_on_time"]) == (7, 6, 5, 4)
    assert mine["closure_rate"] == 5 / 6 and mine["on_time_closure_rate"] == 4 / 6
    assert mine["escalation_rate"] == 1 / 7 and mine["local_resolution_rate"] == 4 / 5
    assert (mine["yellow_cards"], mine["red_cards"]) == (1, 1)
    assert mine["reported"] is None  # reports are not split by centre
    theirs = centres[county.id]
    assert (theirs["accepted"], theirs["closed"], theirs["closure_rate"]) == (1, 0, 0)
    assert theirs["escalation_rate"] == 0 and theirs["local_resolution_rate"] is None
    assert (theirs["yellow_cards"], theirs["red_cards"]) == (1, 0)
    levels = {g.label["level"]: g.values for g in compute(conn, _query(world, "level"), cal).groups}
    assert list(levels) == ["county", "town", "community"]
    assert (levels["town"]["accepted"], levels["town"]["closed"]) == (6, 4)
    assert (
        levels["town"]["closure_rate"] == 4 / 5 and levels["town"]["on_time_closure_rate"] == 3 / 5
    )
    assert levels["county"]["closure_rate"] == 0
    assert levels["community"]["closure_rate"] == 1 and levels["community"]["self_handled"] == 1
    deps = compute(conn, _query(world, "department"), cal)
    cards = {g.label["name"].split(" /")[0]: g.values["yellow_cards"] for g in deps.groups}
    assert cards == {"城管局": 0, "交通局": 1, "住建局": 0, "未派遣": 1}
    # the drill-down of one centre's line lists its cases
    names = {v: k for k, v in example.items()}
    q = MetricsQuery((Scope("region", world.county.code),), PERIOD[0], PERIOD[1], AS_OF,
                     "centre", str(town.id))  # fmt: skip
    d = drilldown(conn, plan(conn, q, cal), cal, "local_resolution_rate", "denominator")
    assert "".join(sorted(names[i["case_id"]] for i in d.items)) == "ABDFH"
    d = drilldown(conn, plan(conn, q, cal), cal, "red_cards")
    assert [names[i["case_id"]] for i in d.items] == ["I"] and d.items[0]["card"] == "red"
