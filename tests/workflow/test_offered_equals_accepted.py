"""Enforce == offer: the actions the server offers with a case (``allowed_actions``, from
``server.usecases.policy``) are exactly the actions its action endpoint accepts, for every role
× case state × jurisdiction (whose grid, who reported it, a department's or another's) × the
case's own facts (an extension pending, a 不满意 rating).

Each action is tried through ``POST /cases/{id}/actions`` with a valid payload; a refused one
leaves the case as it was, an accepted one is tried on a fresh case. Before the server sent
``allowed_actions`` with each case the apps decided for themselves: the phone offered 核查 on a
case with no grid, which the server refuses, and the action then stuck in the outbox.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.domain.workflow import RULES, Action
from tests import factories as f
from tests.workflow.world import G1, IN_G1, OUTSIDE, World

USERS = ["wg1", "wg2", "disp", "sup", "dispb", "h1", "h2", "admin"]
# who reported the case, where (G1: wg1's grid; G2: wg2's; OUTSIDE: no grid at all)
PLACES = {
    "wg1_in_g1": ("wg1", IN_G1),
    "wg2_in_g1": ("wg2", IN_G1),
    "wg1_no_grid": ("wg1", OUTSIDE),
}
STATES = ["reported", "accepted", "dispatched", "in_progress", "resolved", "closed", "rejected",
          "suspended"]  # fmt: skip
FACTS = {
    "dispatched": ["", "pending_extension"],
    "in_progress": ["", "pending_extension"],
    "closed": ["", "unsatisfied"],
}
ACTIONS = [r.action for r in RULES if r.from_states is not None]


def _case(w: World, state: str, reporter: str, where: tuple[float, float], fact: str) -> int:
    cid = w.report(reporter, where)
    steps: list[tuple[str, str, dict[str, Any]]] = {
        "reported": [],
        "rejected": [("disp", "reject", {"reason": "不属实"})],
        "suspended": [("disp", "suspend", {"reason": "待协调"})],
        "accepted": [("disp", "accept", {})],
    }.get(state, [])
    if state in ("dispatched", "in_progress", "resolved", "closed"):
        steps = [("disp", "accept", {}),
                 ("disp", "dispatch", {"department_id": w.departments["D1"]})]  # fmt: skip
        if state != "dispatched":
            steps.append(("h1", "sign", {}))
        if state in ("resolved", "closed"):
            steps.append(("h1", "resolve", {"note": "done", "photos": [w.photo("h1")]}))
        if state == "closed":
            steps.append(("disp", "verify", {"passed": True}))
    for who, action, body in steps:
        w.act(who, cid, action, **body)
    if fact == "pending_extension":
        w.act("h1", cid, "request_extension", hours=4, reason="材料未到")
    if fact == "unsatisfied":
        w.act("disp", cid, "rate", rating="unsatisfied")
    return cid


def _payload(w: World, action: Action, who: str) -> dict[str, Any]:
    return {
        Action.REJECT: {"reason": "r"},
        Action.DISPATCH: {"department_id": w.departments["D1"]},
        Action.RETURN: {"reason": "r"},
        Action.RESOLVE: {"note": "n", "photos": [w.photo(who)]},
        Action.VERIFY: {"passed": True},
        Action.REQUEST_EXTENSION: {"hours": 4, "reason": "r"},
        Action.DECIDE_EXTENSION: {"approved": False, "reason": "r"},
        Action.SUSPEND: {"reason": "r"},
        Action.SUPERVISE: {"note": "请加快"},
        Action.RATE: {"rating": "satisfied"},
        Action.REOPEN: {"reason": "r"},
        Action.COMMENT: {"note": "n"},
        Action.ASSIGN_GRID: {"grid_code": G1},
        Action.ESCALATE: {"reason": "r"},
        Action.DEVOLVE: {"centre_id": 1, "note": "n"},
        Action.COPY: {"department_ids": [w.departments["D2"]]},
    }.get(action, {})


def _clients(w: World) -> dict[str, FlaskClient]:
    out = {}
    for who in USERS:
        c = w.app.test_client()
        f.login(c, who)
        out[who] = c
    return out


@pytest.mark.parametrize("state", STATES)
def test_offered_actions_are_exactly_the_accepted_ones(world: World, state: str) -> None:
    clients = _clients(world)
    checked = 0
    for place, (reporter, where) in PLACES.items():
        for fact in FACTS.get(state, [""]):
            for who, c in clients.items():
                cid = _case(world, state, reporter, where, fact)
                got = c.get(f"/api/v1/cases/{cid}")
                if got.status_code == 404:
                    continue
                detail = got.get_json()
                offered = set(detail["allowed_actions"])
                assert offered == set(detail["case"]["allowed_actions"])
                listed = c.get("/api/v1/cases", query_string={"limit": 3}).get_json()["items"]
                assert [x["allowed_actions"] for x in listed if x["id"] == cid] == [
                    detail["allowed_actions"]
                ], (who, place, state, fact)
                accepted = set()
                for action in ACTIONS:
                    body = {"uuid": str(uuid.uuid4()), "action": action.value,
                            **_payload(world, action, who)}  # fmt: skip
                    r = c.post(f"/api/v1/cases/{cid}/actions", json=body)
                    checked += 1
                    if r.status_code == 200:
                        accepted.add(action.value)
                        cid = _case(world, state, reporter, where, fact)
                    else:
                        assert r.status_code in (403, 409, 400), r.get_json()
                assert offered == accepted, (who, place, state, fact)
    assert checked > 100
