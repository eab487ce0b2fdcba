"""Levels of command (DESIGN §9, issue 15): routing on report, escalate / devolve / pull up /
copy, dispatch within the holding centre, routing rules, jurisdiction; on both databases."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.domain.workflow import Action
from server.models import CaseCopy, Incident, IncidentEvent
from tests import factories as f
from tests.workflow.levels_world import build_levels
from tests.workflow.world import G3, IN_G1, IN_G3, IN_GB, OUTSIDE, World


@pytest.fixture
def lw(any_app: Flask) -> World:
    return build_levels(any_app)


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def _act(c: FlaskClient, cid: int, action: str, **body: Any) -> tuple[int, dict[str, Any]]:
    r = c.post(
        f"/api/v1/cases/{cid}/actions",
        json={"uuid": str(uuid.uuid4()), "action": action, **body},
    )
    return r.status_code, r.get_json()


def _report(w: World, who: str = "wg1", where: tuple[float, float] = IN_G1, **extra: Any) -> int:
    body = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "垃圾",
            "lon": where[0], "lat": where[1], **extra}  # fmt: skip
    r = _client(w, who).post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.get_json()
    return int(r.get_json()["case"]["id"])


def _held(w: World, cid: int) -> tuple[int | None, int, int]:
    """(centre id, version, number of events) of the case."""
    with w.session() as db:
        case = db.get(Incident, cid)
        assert case is not None
        n = db.scalar(
            select(func.count()).select_from(IncidentEvent).where(IncidentEvent.incident_id == cid)
        )
        return case.centre_id, case.version, int(n or 0)


def _detail(w: World, who: str, cid: int) -> dict[str, Any]:
    r = _client(w, who).get(f"/api/v1/cases/{cid}")
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


def test_a_report_lands_in_its_towns_queue(lw: World) -> None:
    cid = _report(lw)
    case = _detail(lw, "dt", cid)["case"]
    assert case["centre"] == {"id": lw.regions["T"], "code": "640181001000", "name": "城区街道",
                              "level": "town"}  # fmt: skip
    assert {"accept", "reject", "escalate", "copy"} <= set(case["allowed_actions"])
    assert "pull_up" not in case["allowed_actions"]
    # the town's queue of held cases has it; the county sees it but does not hold it
    held = _client(lw, "dt").get("/api/v1/cases?held=1").get_json()["items"]
    assert [c["id"] for c in held] == [cid]
    assert _client(lw, "disp").get("/api/v1/cases?held=1").get_json()["items"] == []
    county = _detail(lw, "disp", cid)["case"]["allowed_actions"]
    assert set(county) == {"supervise", "comment", "pull_up"}
    # the other town, the other county: not theirs
    assert _client(lw, "dt2").get(f"/api/v1/cases/{cid}").status_code == 404
    assert _client(lw, "dispb").get(f"/api/v1/cases/{cid}").status_code == 404
    assert _act(_client(lw, "dt2"), cid, "accept")[0] == 404
    # the city sees both counties' cases
    other = _report(lw, "wgb", IN_GB)
    city = {c["id"] for c in _client(lw, "dc").get("/api/v1/cases").get_json()["items"]}
    assert {cid, other} <= city
    # county B has no town centre: its case goes to the county
    assert _detail(lw, "dispb", other)["case"]["centre"]["level"] == "county"


def test_escalate_devolve_dispatch_resolve_verify(lw: World) -> None:
    cid = _report(lw)
    dt, disp = _client(lw, "dt"), _client(lw, "disp")
    before = _held(lw, cid)
    # escalating needs a reason: nothing written
    status, body = _act(dt, cid, "escalate")
    assert status == 400 and "reason" in body["fields"], body
    assert _held(lw, cid) == before
    status, body = _act(dt, cid, "escalate", reason="涉及多个部门，需县级协调")
    assert status == 200, body
    assert body["case"]["centre"]["id"] == lw.regions["A"]
    assert body["event"]["data"]["from_centre"]["id"] == lw.regions["T"]
    assert body["event"]["data"]["centre"]["level"] == "county"
    # the town no longer acts on it
    assert _act(dt, cid, "accept")[1]["error"] == "not_holding_centre"
    # devolve: an instruction is required; only to a centre below on the case's line
    status, body = _act(disp, cid, "devolve", centre_id=lw.regions["T"])
    assert status == 400 and "note" in body["fields"]
    for outside in ("T2", "TB", "city", "A"):
        status, body = _act(disp, cid, "devolve", centre_id=lw.regions[outside], note="请处置")
        assert status == 400 and body["error"] == "not_a_centre_below", (outside, body)
    status, body = _act(disp, cid, "devolve", centre_id=10**6, note="请处置")
    assert status == 400 and body["error"] == "not_a_centre_below"
    assert _held(lw, cid)[0] == lw.regions["A"]
    status, body = _act(disp, cid, "devolve", centre_id=lw.regions["T"], note="请镇里先行处置")
    assert status == 200, body
    assert body["event"]["data"]["instruction"] == "请镇里先行处置"
    # the town accepts and dispatches to its own office, not to a county department
    assert _act(dt, cid, "accept")[0] == 200
    for foreign in ("D1", "DT2", "DB", "DC"):
        status, body = _act(dt, cid, "dispatch", department_id=lw.departments[foreign])
        assert status == 400 and "department_id" in body["fields"], (foreign, body)
    assert _held(lw, cid)[0] == lw.regions["T"]
    assert _act(dt, cid, "dispatch", department_id=lw.departments["DT"])[0] == 200
    ht = _client(lw, "ht")
    assert _act(ht, cid, "sign")[0] == 200
    photo = lw.photo("ht")
    assert _act(ht, cid, "resolve", note="已清理", photos=[photo])[0] == 200
    status, body = _act(_client(lw, "wg1"), cid, "verify", passed=True)
    assert status == 200 and body["case"]["state"] == "closed"
    # the transfer path, from the trail
    events = _detail(lw, "dt", cid)["events"]
    path = [(e["action"], (e["data"].get("centre") or {}).get("level")) for e in events]
    assert path[:3] == [("report", "town"), ("escalate", "county"), ("devolve", "town")]
    assert events[0]["data"]["centre_id"] == lw.regions["T"]


def test_pull_up_from_above_only(lw: World) -> None:
    cid = _report(lw)
    status, body = _act(_client(lw, "dt"), cid, "pull_up")
    assert status == 403 and body["error"] == "already_holding"
    assert _act(_client(lw, "dt2"), cid, "pull_up")[0] == 404  # another town: not seen
    assert _act(_client(lw, "dispb"), cid, "pull_up")[0] == 404  # another county
    status, body = _act(_client(lw, "disp"), cid, "pull_up", note="县里直接处理")
    assert status == 200 and body["case"]["centre"]["id"] == lw.regions["A"]
    # the city above the county pulls it up in turn, and escalation stops at the top
    status, body = _act(_client(lw, "dc"), cid, "pull_up")
    assert status == 200 and body["case"]["centre"]["level"] == "city"
    status, body = _act(_client(lw, "dc"), cid, "escalate", reason="r")
    assert status == 409 and body["error"] == "no_centre_above"
    # a city dispatches to city departments
    dc = _client(lw, "dc")
    assert _act(dc, cid, "accept")[0] == 200
    assert _act(dc, cid, "dispatch", department_id=lw.departments["D1"])[0] == 400
    assert _act(dc, cid, "dispatch", department_id=lw.departments["DC"])[0] == 200
    # past dispatch the case no longer moves
    assert _act(dc, cid, "devolve", centre_id=lw.regions["A"], note="n")[0] == 409


def test_copy_gives_read_access_only(lw: World) -> None:
    cid = _report(lw)
    dt = _client(lw, "dt")
    h1 = _client(lw, "h1")
    assert h1.get(f"/api/v1/cases/{cid}").status_code == 404
    # another county's department, a missing one: refused, nothing written
    before = _held(lw, cid)
    for bad in (lw.departments["DB"], 10**6):
        status, body = _act(dt, cid, "copy", department_ids=[lw.departments["D1"], bad])
        assert status == 400 and "department_ids" in body["fields"], body
    assert _act(dt, cid, "copy", department_ids=[])[0] == 400
    assert _held(lw, cid) == before
    status, body = _act(dt, cid, "copy", department_ids=[lw.departments["D1"]], note="请知悉")
    assert status == 200, body
    assert body["case"]["copied_departments"] == [{"id": lw.departments["D1"], "name": "灵武城管"}]
    status, body = _act(dt, cid, "copy", department_ids=[lw.departments["D1"]])
    assert status == 400 and body["error"] == "already_copied"
    # the copied department's handler reads it (also in the list), acts on nothing
    seen = h1.get(f"/api/v1/cases/{cid}")
    assert seen.status_code == 200 and seen.get_json()["allowed_actions"] == []
    assert cid in [c["id"] for c in h1.get("/api/v1/cases").get_json()["items"]]
    assert _act(h1, cid, "comment", note="看过")[0] == 403
    assert _client(lw, "hb").get(f"/api/v1/cases/{cid}").status_code == 404
    with lw.session() as db:
        copies = db.scalars(select(CaseCopy.department_id).where(CaseCopy.incident_id == cid))
        assert list(copies) == [lw.departments["D1"]]


def test_routing_rules_skip_level_and_their_checks(lw: World) -> None:
    admin = _client(lw, "admin")
    cat = lw.categories["0102"]
    rule = {"category_id": cat, "urgency": "normal", "level": "county"}
    # a town office named by a county-level rule: refused, nothing stored
    r = admin.put("/api/v1/admin/routing-rules",
                  json=rule | {"copy_department_ids": [lw.departments["DT"]]})  # fmt: skip
    assert r.status_code == 400 and "copy_department_ids" in r.get_json()["fields"]
    assert admin.get("/api/v1/admin/routing-rules").get_json()["items"] == []
    for who in ("disp", "dc", "wg1"):
        assert _client(lw, who).put("/api/v1/admin/routing-rules", json=rule).status_code == 403
    r = admin.put("/api/v1/admin/routing-rules",
                  json=rule | {"copy_department_ids": [lw.departments["D1"]]})  # fmt: skip
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["rule"]["updated_by_id"] == lw.users["admin"]
    # a case of that category goes straight to the county, copied to D1
    cid = _report(lw, category_code="0102")
    case = _detail(lw, "disp", cid)["case"]
    assert case["centre"]["level"] == "county"
    assert [d["id"] for d in case["copied_departments"]] == [lw.departments["D1"]]
    assert _client(lw, "h1").get(f"/api/v1/cases/{cid}").status_code == 200
    # urgent cases of it are not covered: the town; a disabled rule routes like none
    assert _detail(lw, "dt", _report(lw, category_code="0102", urgency="urgent"))["case"][
        "centre"]["level"] == "town"  # fmt: skip
    r = admin.put("/api/v1/admin/routing-rules", json=rule | {"enabled": False})
    assert r.status_code == 200 and r.get_json()["rule"]["enabled"] is False
    assert _detail(lw, "dt", _report(lw, category_code="0102"))["case"]["centre"]["level"] == (
        "town"
    )
    # county B's case with a county rule: county B (copies only serve their own line)
    assert admin.put("/api/v1/admin/routing-rules", json=rule).status_code == 200
    other = _detail(lw, "dispb", _report(lw, "wgb", IN_GB, category_code="0102"))["case"]
    assert other["centre"]["id"] == lw.regions["B"] and other["copied_departments"] == []


MOVES = [Action.ACCEPT, Action.DISPATCH, Action.ESCALATE, Action.DEVOLVE, Action.PULL_UP,
         Action.COPY]  # fmt: skip


def _move_payload(w: World, action: Action, who: str) -> dict[str, Any]:
    return {
        Action.DISPATCH: {"department_id": w.departments["DT"]},
        Action.ESCALATE: {"reason": "r"},
        Action.DEVOLVE: {"centre_id": w.regions["T"], "note": "n"},
        Action.COPY: {"department_ids": [w.departments["D1"]]},
    }.get(action, {})


@pytest.mark.parametrize("holder", ["T", "A", "city"])
def test_offered_moves_are_exactly_the_accepted_ones(app: Flask, holder: str) -> None:
    w = build_levels(app)

    def fresh() -> int:
        cid = _report(w)
        if holder in ("A", "city"):
            assert _act(_client(w, "disp"), cid, "pull_up")[0] == 200
        if holder == "city":
            assert _act(_client(w, "dc"), cid, "pull_up")[0] == 200
        return cid

    for who in ("dt", "dt2", "disp", "dispb", "dc", "sup", "h1", "ht"):
        c = _client(w, who)
        cid = fresh()
        got = c.get(f"/api/v1/cases/{cid}")
        if got.status_code == 404:
            continue
        offered = {a for a in got.get_json()["allowed_actions"] if Action(a) in MOVES}
        accepted = set()
        for action in MOVES:
            status, body = _act(c, cid, action.value, **_move_payload(w, action, who))
            if status == 200:
                accepted.add(action.value)
                cid = fresh()
            else:
                assert status in (400, 403, 409), body
        assert offered == accepted, (who, holder)


def test_a_city_level_rule_without_a_city_goes_to_the_county(lw: World) -> None:
    admin = _client(lw, "admin")
    rule = {"category_id": lw.categories["0103"], "urgency": "normal", "level": "city"}
    assert admin.put("/api/v1/admin/routing-rules", json=rule).status_code == 200
    cid = _report(lw, "wg3", IN_G3, category_code="0103")
    assert _detail(lw, "dc", cid)["case"]["centre"]["level"] == "city"


def _race(w: World, cid: int) -> dict[str, int]:
    """The town dispatches and the county pulls the case up at the same moment."""
    clients = {"dt": _client(w, "dt"), "disp": _client(w, "disp")}
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def go(who: str) -> None:
        barrier.wait()
        if who == "dt":
            body = {"department_id": w.departments["DT"]}
            results[who] = _act(clients[who], cid, "dispatch", **body)[0]
        else:
            results[who] = _act(clients[who], cid, "pull_up")[0]

    threads = [threading.Thread(target=go, args=(who,)) for who in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_town_dispatching_while_the_county_pulls_up_on_postgres(pg_app: Flask) -> None:
    """On PostgreSQL, two centres act on one case at the same moment: one wins, the other is
    refused (409 when both read the case before either wrote), one event."""
    w = build_levels(pg_app)
    for _ in range(3):
        cid = _report(w)
        assert _act(_client(w, "dt"), cid, "accept")[0] == 200
        results = _race(w, cid)
        assert sorted(results.values()) in ([200, 409], [200, 403]), results
        with w.session() as db:
            moves = db.scalar(
                select(func.count())
                .select_from(IncidentEvent)
                .where(
                    IncidentEvent.incident_id == cid,
                    IncidentEvent.action.in_(["dispatch", "pull_up"]),
                )
            )
        assert moves == 1, results


def _copies_at_once(w: World, cid: int, n: int) -> list[int]:
    clients = [_client(w, "dt") for _ in range(n)]
    barrier = threading.Barrier(n)
    results: list[int] = []

    def go(c: FlaskClient) -> None:
        barrier.wait()
        results.append(_act(c, cid, "copy", department_ids=[w.departments["D1"]])[0])

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(results)


def test_two_copies_at_once_are_one_copy_and_a_409(lw: World) -> None:
    """Four dispatchers' copies of one case to one department at the same moment: one 200, the
    rest 409 stale_version (400 already_copied when one came after another), never a 500; one
    copy row and one copy event (an outside tester got a 500 from case_copies' unique key)."""
    for _ in range(3):
        cid = _report(lw)
        results = _copies_at_once(lw, cid, 4)
        assert results[0] == 200 and set(results[1:]) <= {400, 409}, results
        with lw.session() as db:
            rows = db.scalar(
                select(func.count()).select_from(CaseCopy).where(CaseCopy.incident_id == cid)
            )
            events = db.scalar(
                select(func.count())
                .select_from(IncidentEvent)
                .where(IncidentEvent.incident_id == cid, IncidentEvent.action == Action.COPY)
            )
        assert (rows, events) == (1, 1)


def _try_report(w: World, who: str, **body: Any) -> tuple[int, dict[str, Any]]:
    payload = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "垃圾",
               "source": "hotline", **body}  # fmt: skip
    r = _client(w, who).post("/api/v1/cases", json=payload)
    return r.status_code, r.get_json()


def _cases(w: World) -> int:
    with w.session() as db:
        return int(db.scalar(select(func.count()).select_from(Incident)) or 0)


def test_an_off_grid_report_lands_in_a_county_or_is_refused(lw: World) -> None:
    """A case outside every grid lands in the reporter's county (docs/api.md, "Cases"); a city
    over two counties (or an admin without a region) has none to give it: a 400 naming lon/lat,
    not a case no dispatcher's queue shows (only admins saw it, and could only comment)."""
    before = _cases(lw)
    for who in ("dc", "admin"):
        for where in (OUTSIDE, (106.27, 38.47)):
            status, body = _try_report(lw, who, lon=where[0], lat=where[1])
            assert status == 400, (who, body)
            assert body["error"] == "outside_grids" and " / " in body["message"]
            assert {"lon", "lat"} <= set(body["fields"]), body
        status, body = _try_report(lw, who, address="人民路 12 号")  # no point at all
        assert status == 400 and body["error"] == "location_required", (who, body)
        assert {"lon", "lat"} <= set(body["fields"]), body
    assert _cases(lw) == before
    # inside a grid the city files as ever; a town dispatcher's off-grid call stays in his town
    assert _try_report(lw, "dc", lon=IN_GB[0], lat=IN_GB[1])[0] == 201
    status, body = _try_report(lw, "dt", lon=OUTSIDE[0], lat=OUTSIDE[1])
    assert status == 201 and body["case"]["centre"]["id"] == lw.regions["T"], body
    assert _client(lw, "disp").get(f"/api/v1/cases/{body['case']['id']}").status_code == 200


def test_a_city_of_one_county_files_off_grid_into_that_county(lw: World) -> None:
    """The county queue an off-grid report lands in when the reporter is above a county: the
    only county under them (as an Open311 key bound to no county: the only one there is)."""
    with lw.session() as db:
        city = f.region(db, "640200", "石嘴山市", "city")
        county = f.region(db, "640202", "大武口区", "county", city)
        f.region(db, "640202001", "长胜街道", "town", county)
        f.user(db, "dc2", "dispatcher", region=city)
        f.user(db, "dk2", "dispatcher", region=county)
        db.commit()
        county_id = county.id
    status, body = _try_report(lw, "dc2", lon=OUTSIDE[0], lat=OUTSIDE[1])
    assert status == 201, body
    case = body["case"]
    assert case["location_status"] == "outside" and case["centre"]["id"] == county_id, case
    for who in ("dc2", "dk2"):
        assert _client(lw, who).get(f"/api/v1/cases/{case['id']}").status_code == 200, who
    off_grid = _client(lw, "dk2").get("/api/v1/cases?off_grid=1").get_json()["items"]
    assert [c["id"] for c in off_grid] == [case["id"]]


def test_a_replay_shows_no_more_than_a_get(lw: World) -> None:
    """An action or report sent again answers what a GET would: the case as it stands now for
    who may still see it, 404 for who no longer may (not the case's state, version, centre)."""
    cid = _report(lw)  # wg1 in G1: town T's queue
    dt, ht = _client(lw, "dt"), _client(lw, "ht")
    assert _act(dt, cid, "accept")[0] == 200
    assert _act(dt, cid, "dispatch", department_id=lw.departments["DT"])[0] == 200
    sign = {"uuid": str(uuid.uuid4()), "action": "sign"}
    assert ht.post(f"/api/v1/cases/{cid}/actions", json=sign).status_code == 200
    again = ht.post(f"/api/v1/cases/{cid}/actions", json=sign)
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert _act(ht, cid, "return", reason="不属本部门")[0] == 200
    assert ht.get(f"/api/v1/cases/{cid}").status_code == 404
    r = ht.post(f"/api/v1/cases/{cid}/actions", json=sign)
    assert r.status_code == 404 and r.get_json()["error"] == "not_found", r.get_json()
    assert "case" not in r.get_json() and "Idempotent-Replay" not in r.headers
    # a report: the town takes a call outside every grid, the county puts it on another
    # town's grid; the town's replay of its report is then a 404 too
    call = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "垃圾",
            "source": "hotline", "lon": OUTSIDE[0], "lat": OUTSIDE[1]}  # fmt: skip
    first = dt.post("/api/v1/cases", json=call)
    assert first.status_code == 201, first.get_json()
    off = first.get_json()["case"]["id"]
    assert dt.post("/api/v1/cases", json=call).status_code == 200  # still the town's
    disp = _client(lw, "disp")
    assert _act(disp, off, "pull_up")[0] == 200
    status, body = _act(disp, off, "assign_grid", grid_code=G3)
    assert status == 200 and body["case"]["town"]["id"] == lw.regions["T2"], body
    assert dt.get(f"/api/v1/cases/{off}").status_code == 404
    r = dt.post("/api/v1/cases", json=call)
    assert r.status_code == 404 and r.get_json()["error"] == "not_found", r.get_json()
    assert "case" not in r.get_json() and "Idempotent-Replay" not in r.headers
    _, version, events = _held(lw, off)
    assert (version, events) == (3, 3)
