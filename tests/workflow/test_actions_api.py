"""Actions through the API: the lifecycle, conflicts, jurisdiction and the role matrix."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.domain.workflow import Action, allowed_actions
from server.models import IncidentEvent
from tests import factories as f
from tests.workflow.world import G1, G2, GB, IN_G2, OUTSIDE, World


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def _act(c: FlaskClient, case_id: int, action: str, **body: Any) -> tuple[int, dict]:
    r = c.post(
        f"/api/v1/cases/{case_id}/actions",
        json={"uuid": str(uuid.uuid4()), "action": action, **body},
    )
    return r.status_code, r.get_json()


def _events(w: World, case_id: int) -> list[str]:
    with w.session() as db:
        return list(
            db.scalars(
                select(IncidentEvent.action)
                .where(IncidentEvent.incident_id == case_id)
                .order_by(IncidentEvent.id)
            )
        )


def test_full_lifecycle_through_the_api(any_world: World) -> None:
    w = any_world
    wg1, disp, h1 = (_client(w, n) for n in ("wg1", "disp", "h1"))
    r = wg1.post(
        "/api/v1/cases",
        json={
            "uuid": str(uuid.uuid4()),
            "category_code": "0301",
            "description": "路面坑洞",
            "lon": 106.3,
            "lat": 38.05,
        },
    )
    cid = r.get_json()["case"]["id"]
    assert _act(disp, cid, "accept")[0] == 200
    status, body = _act(disp, cid, "dispatch", department_id=w.departments["D1"])
    assert status == 200
    case = body["case"]
    assert case["state"] == "dispatched" and case["department"]["name"] == "城管"
    assert case["deadline_at"] is not None  # 道路破损: 5 working days
    assert body["event"]["data"]["limit_unit"] == "work_days"
    assert _act(h1, cid, "sign")[0] == 200
    status, body = _act(h1, cid, "resolve", note="已修补")
    assert status == 400 and "photos" in body["fields"]  # evidence required
    photo = w.photo("h1")
    status, body = _act(h1, cid, "resolve", note="已修补", photos=[photo])
    assert status == 200 and body["case"]["state"] == "resolved"
    assert [p["uuid"] for p in body["event"]["photos"]] == [photo]
    status, body = _act(wg1, cid, "verify", passed=True, version=body["case"]["version"])
    assert status == 200 and body["case"]["state"] == "closed"
    status, body = _act(wg1, cid, "rate", rating="basically_satisfied")
    assert status == 200 and body["case"]["last_rating"] == "basically_satisfied"
    assert _events(w, cid) == ["report", "accept", "dispatch", "sign", "resolve", "verify", "rate"]
    detail = wg1.get(f"/api/v1/cases/{cid}").get_json()
    assert [e["action"] for e in detail["events"]][-1] == "rate"
    # The handler's photo is visible to the grid worker of the grid, not to another county.
    assert wg1.get(f"/api/v1/photos/{photo}").status_code == 200
    assert _client(w, "dispb").get(f"/api/v1/photos/{photo}").status_code == 404


def test_failed_verification_sends_it_back_as_rework(world: World) -> None:
    cid = world.case_in("resolved")
    wg1 = _client(world, "wg1")
    status, body = _act(wg1, cid, "verify", passed=False)
    assert status == 400 and "reason" in body["fields"]
    status, body = _act(wg1, cid, "verify", passed=False, reason="仍有垃圾")
    assert status == 200 and body["case"]["state"] == "dispatched"
    assert body["case"]["department"]["name"] == "城管"


def test_stale_version_is_a_conflict_with_the_current_case(world: World) -> None:
    cid = world.case_in("resolved")
    wg1 = _client(world, "wg1")
    seen = wg1.get(f"/api/v1/cases/{cid}").get_json()["case"]["version"]
    # Meanwhile the dispatcher sends it back to the department (a failed verification).
    world.act("disp", cid, "verify", passed=False, reason="复核不合格")
    status, body = _act(wg1, cid, "verify", passed=True, version=seen)
    assert status == 409 and body["error"] == "stale_version"
    assert body["case"]["state"] == "dispatched" and body["case"]["version"] > seen
    assert _events(world, cid).count("verify") == 1


def test_action_replay_and_uuid_reuse(world: World) -> None:
    cid = world.case_in("reported")
    disp = _client(world, "disp")
    key = str(uuid.uuid4())
    r1 = disp.post(f"/api/v1/cases/{cid}/actions", json={"uuid": key, "action": "accept"})
    r2 = disp.post(f"/api/v1/cases/{cid}/actions", json={"uuid": key, "action": "accept"})
    assert r1.status_code == r2.status_code == 200
    assert r2.headers["Idempotent-Replay"] == "true"
    assert r1.get_json()["event"]["id"] == r2.get_json()["event"]["id"]
    r3 = disp.post(
        f"/api/v1/cases/{cid}/actions", json={"uuid": key, "action": "reject", "reason": "x"}
    )
    assert r3.status_code == 409 and r3.get_json()["error"] == "idempotency_conflict"
    assert _events(world, cid) == ["report", "accept"]


def test_a_replay_answers_the_version_the_first_answer_gave(world: World) -> None:
    """The phone chains its next queued action on the version its last one's answer gave. A
    replay answered the case's current version, so changes made by others in between (here a
    comment and a second comment) were never a conflict for the chained action."""
    cid = world.case_in("reported")
    disp = _client(world, "disp")
    key = str(uuid.uuid4())
    first = disp.post(f"/api/v1/cases/{cid}/actions", json={"uuid": key, "action": "accept"})
    assert first.status_code == 200, first.get_json()
    left = first.get_json()["case"]["version"]
    for note in ("有人补充", "再补充"):
        assert _act(_client(world, "sup"), cid, "comment", note=note)[0] == 200
    again = disp.post(f"/api/v1/cases/{cid}/actions", json={"uuid": key, "action": "accept"})
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"
    assert again.get_json()["case"]["version"] == left
    # chained on it, the next action meets the comments as a conflict
    status, body = _act(disp, cid, "comment", note="下一步", version=left)
    assert status == 409 and body["error"] == "stale_version"
    assert body["case"]["version"] == left + 2
    # a report sent again answers version 1, as its first answer did
    report = {"uuid": str(uuid.uuid4()), "category_code": "0101", "lon": IN_G2[0],
              "lat": IN_G2[1], "description": "井盖缺失"}  # fmt: skip
    wg = _client(world, "wg2")
    made = wg.post("/api/v1/cases", json=report)
    assert made.status_code == 201 and made.get_json()["case"]["version"] == 1
    assert _act(disp, made.get_json()["case"]["id"], "accept")[0] == 200
    assert wg.post("/api/v1/cases", json=report).get_json()["case"]["version"] == 1


def test_closed_case_refuses_state_actions(world: World) -> None:
    cid = world.case_in("closed")
    status, body = _act(_client(world, "disp"), cid, "dispatch", department_id=1)
    assert status == 409 and body["error"] == "invalid_transition"
    assert body["case"]["state"] == "closed"


def test_other_jurisdictions_cannot_see_or_touch(world: World) -> None:
    cid = world.case_in("reported")
    for who in ("dispb", "wg2", "h2"):
        c = _client(world, who)
        assert c.get(f"/api/v1/cases/{cid}").status_code == 404, who
        assert _act(c, cid, "comment", note="看看")[0] == 404, who
        assert cid not in [x["id"] for x in c.get("/api/v1/cases").get_json()["items"]]
    assert _events(world, cid) == ["report"]


def test_handler_of_another_department_cannot_act(world: World) -> None:
    cid = world.case_in("dispatched")
    assert _act(_client(world, "h2"), cid, "sign")[0] == 404
    assert _act(_client(world, "h1"), cid, "sign")[0] == 200


def test_grid_worker_verifies_only_own_grid(world: World) -> None:
    cid = world.report(who="disp", where=IN_G2)
    world.act("disp", cid, "accept")
    world.act("disp", cid, "dispatch", department_id=world.departments["D1"])
    world.act("h1", cid, "resolve", note="ok", photos=[world.photo("h1")])
    # wg1 cannot even see a case in G2 it did not report; wg2 can verify it.
    assert _act(_client(world, "wg1"), cid, "verify", passed=True)[0] == 404
    assert _act(_client(world, "wg2"), cid, "verify", passed=True)[0] == 200


def test_extension_request_and_approval_move_the_deadline(world: World) -> None:
    cid = world.case_in("in_progress")
    h1, disp = _client(world, "h1"), _client(world, "disp")
    before = disp.get(f"/api/v1/cases/{cid}").get_json()["case"]["deadline_at"]
    assert _act(disp, cid, "decide_extension", approved=True)[1]["error"] == "no_extension_pending"
    assert _act(h1, cid, "request_extension", days=2, reason="需采购材料")[0] == 200
    assert _act(h1, cid, "request_extension", days=1, reason="again")[0] == 409
    status, body = _act(disp, cid, "decide_extension", approved=True)
    assert status == 200
    assert body["case"]["deadline_at"] > before and body["case"]["pending_extension"] is None


def test_suspend_resume_returns_to_the_previous_state(world: World) -> None:
    cid = world.case_in("dispatched")
    disp = _client(world, "disp")
    assert _act(disp, cid, "suspend", reason="待协调")[1]["case"]["state"] == "suspended"
    assert _act(disp, cid, "resume")[1]["case"]["state"] == "dispatched"


def test_reopen_only_after_unsatisfied(world: World) -> None:
    cid = world.case_in("closed")
    disp, wg1 = _client(world, "disp"), _client(world, "wg1")
    assert _act(disp, cid, "reopen", reason="x")[1]["error"] == "reopen_requires_unsatisfied"
    assert _act(wg1, cid, "rate", rating="unsatisfied")[0] == 200
    assert _act(disp, cid, "reopen", reason="群众不满意")[1]["case"]["state"] == "accepted"


STATES = [
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
    "suspended",
]
ROLES = {
    "grid_worker": "wg1",
    "dispatcher": "disp",
    "handler": "h1",
    "supervisor": "sup",
    "admin": "admin",
}


def _payload(w: World, action: Action, who: str, state: str) -> dict[str, Any]:
    photo = [w.photo(who)] if who in {"wg1", "h1", "disp"} else []
    return {
        Action.REJECT: {"reason": "r"},
        Action.DISPATCH: {"department_id": w.departments["D1"]},
        Action.RETURN: {"reason": "r"},
        Action.RESOLVE: {"note": "n", "photos": photo},
        Action.VERIFY: {"passed": True},
        Action.REQUEST_EXTENSION: {"hours": 4, "reason": "r"},
        Action.DECIDE_EXTENSION: {"approved": False, "reason": "r"},
        Action.SUSPEND: {"reason": "r"},
        Action.SUPERVISE: {"note": "请加快"},
        Action.RATE: {"rating": "satisfied"},
        Action.REOPEN: {"reason": "r"},
        Action.COMMENT: {"note": "n"},
        Action.ESCALATE: {"reason": "r"},
        Action.DEVOLVE: {"centre_id": 1, "note": "n"},
        Action.COPY: {"department_ids": [w.departments["D2"]]},
    }.get(action, {})


# This world's only centre is its county (no city above, no town with a centre below): the
# routing moves are refused for want of a centre to move to (tests/workflow/test_levels.py
# has the centres).
NO_CENTRE = {
    Action.ESCALATE: "no_centre_above",
    Action.DEVOLVE: "no_centre_below",
    Action.PULL_UP: "already_holding",  # the county holds it already
}


@pytest.mark.parametrize("state", STATES)
def test_every_action_for_every_role_through_the_api(world: World, state: str) -> None:
    """Each role × action on a case in ``state``: allowed ones succeed, others are refused."""
    for role, who in ROLES.items():
        c = _client(world, who)
        for action in Action:
            if action in (Action.REPORT, Action.SELF_HANDLE):
                continue
            cid = world.case_in(state)
            if action is Action.DECIDE_EXTENSION and state in ("dispatched", "in_progress"):
                world.act("h1", cid, "request_extension", hours=2, reason="r")
            if action is Action.REOPEN and state == "closed":
                world.act("wg1", cid, "rate", rating="unsatisfied")
            status, body = _act(c, cid, action.value, **_payload(world, action, who, state))
            allowed = action in allowed_actions(role, state)
            # A handler sees only cases with its department: none before dispatch.
            visible_to_handler = state in ("dispatched", "in_progress", "resolved", "closed")
            if role == "handler" and not visible_to_handler:
                assert status == 404, (role, action, state, body)
            elif allowed and action is Action.ASSIGN_GRID:
                # the case is on a grid already: the rule's precondition refuses it
                assert body["error"] == "already_on_grid", (role, state, body)
            elif allowed and action in NO_CENTRE:
                assert body["error"] == NO_CENTRE[action], (role, state, body)
            elif allowed:
                assert status == 200, (role, action, state, body)
            else:
                assert status in (403, 409), (role, action, state, body)
                assert body["error"] in {"role_not_allowed", "invalid_transition"}, body


def test_concurrent_dispatches_on_postgres(pg_app: Any) -> None:
    """A real race: two dispatchers dispatch one case at once; one wins, one gets 409."""
    import threading

    from tests.workflow.world import build

    w = build(pg_app)
    cid = w.case_in("accepted")
    clients = [_client(w, "disp") for _ in range(2)]
    barrier = threading.Barrier(2)
    results: list[int] = []

    def go(c: FlaskClient, dep: str) -> None:
        barrier.wait()
        results.append(_act(c, cid, "dispatch", department_id=w.departments[dep])[0])

    for _ in range(1):
        threads = [
            threading.Thread(target=go, args=(c, d))
            for c, d in zip(clients, ("D1", "D2"), strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(results) == [200, 409], results
    with w.session() as db:
        n = db.scalar(
            select(func.count())
            .select_from(IncidentEvent)
            .where(IncidentEvent.incident_id == cid, IncidentEvent.action == "dispatch")
        )
    assert n == 1


def test_each_event_bumps_the_version_by_exactly_one(world: World) -> None:
    cid = world.report()
    disp = _client(world, "disp")
    v = disp.get(f"/api/v1/cases/{cid}").get_json()["case"]["version"]
    assert v == 1
    for action, body in (
        ("accept", {}),
        ("comment", {"note": "已电话联系"}),
        ("dispatch", {"department_id": world.departments["D1"]}),
    ):
        status, answer = _act(disp, cid, action, version=v, **body)
        assert status == 200, answer
        assert answer["case"]["version"] == v + 1
        v += 1


def test_a_case_outside_every_grid_is_put_on_one(world: World) -> None:
    """issue 14 §4: assign_grid, offered only off-grid, an event, jurisdiction, the figures."""
    from server.metrics import projection

    cid = world.report("wg1", OUTSIDE)
    disp = _client(world, "disp")
    detail = disp.get(f"/api/v1/cases/{cid}").get_json()
    assert detail["case"]["grid"] is None and "assign_grid" in detail["allowed_actions"]
    listed = disp.get("/api/v1/cases?off_grid=1&counts=1").get_json()
    assert cid in [c["id"] for c in listed["items"]] and listed["counts"]["off_grid"] >= 1
    # another county's grid answers like a missing one
    status, body = _act(disp, cid, "assign_grid", grid_code=GB)
    assert status == 400 and body["error"] == "unknown_grid", body
    status, body = _act(disp, cid, "assign_grid", grid_code=G1)
    assert status == 200, body
    case = body["case"]
    assert case["grid"]["code"] == G1 and case["location_status"] == "assigned"
    assert case["community"] is not None and case["town"] is not None
    detail = disp.get(f"/api/v1/cases/{cid}").get_json()
    assert "assign_grid" not in detail["allowed_actions"]
    ev = detail["events"][-1]
    assert ev["action"] == "assign_grid" and ev["data"]["grid_code"] == G1
    assert ev["data"]["location_status"] == "outside"
    # once on a grid, not again
    status, body = _act(disp, cid, "assign_grid", grid_code=G2)
    assert status == 409 and body["error"] == "already_on_grid"
    # the stored figures follow the case's grid (a fresh fold agrees)
    db = world.session()
    try:
        assert projection.check(db.connection()) == []
    finally:
        db.close()
