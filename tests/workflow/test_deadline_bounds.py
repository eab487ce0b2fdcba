"""Deadlines stay inside the years the system holds (2000–2100, docs/api.md "Conventions").

An outside audit took a case's deadline to year 9798 by ~850 rounds of request_extension
{"hours": 8760} and decide_extension {"approved": true}; every later approval was a 500
(OverflowError walking workdays to year 9999). Now an extension that would pass 2100 is a 400
``deadline_too_far`` naming its field, and nothing changes. A deadline already that far (left by
an older release) is refused the same way, and reading the case does not walk the years."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import update

from server.models import Incident
from tests import factories as f
from tests.workflow.world import World


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def _act(c: FlaskClient, case_id: int, action: str, **body: Any) -> tuple[int, dict[str, Any]]:
    r = c.post(
        f"/api/v1/cases/{case_id}/actions",
        json={"uuid": str(uuid.uuid4()), "action": action, **body},
    )
    return r.status_code, r.get_json()


def _case(c: FlaskClient, case_id: int) -> dict[str, Any]:
    r = c.get(f"/api/v1/cases/{case_id}")
    assert r.status_code == 200, r.get_json()
    return r.get_json()["case"]  # type: ignore[no-any-return]


def _set(w: World, case_id: int, **values: Any) -> None:
    with w.session() as db:
        db.execute(update(Incident).where(Incident.id == case_id).values(**values))
        db.commit()


def test_extensions_stop_at_2100_with_a_400_and_change_nothing(any_world: World) -> None:
    w = any_world
    cid = w.case_in("in_progress")
    h1, disp = _client(w, "h1"), _client(w, "disp")
    refused: dict[str, Any] | None = None
    for _ in range(40):  # 8760 working hours are about five years: 2100 within ~15 rounds
        status, body = _act(h1, cid, "request_extension", hours=8760, reason="工程浩大")
        if status != 200:
            refused = body
            break
        status, body = _act(disp, cid, "decide_extension", approved=True)
        assert status == 200, body
        assert datetime.fromisoformat(body["case"]["deadline_at"]).year <= 2100
    assert refused is not None, "the deadline passed 2100"
    assert refused["error"] == "deadline_too_far" and "hours" in refused["fields"], refused
    assert "2100" in refused["message"]
    before = _case(disp, cid)
    assert before["pending_extension"] is None and datetime.fromisoformat(
        before["deadline_at"]
    ).year in range(2095, 2101)
    # The dispatcher granting more than was asked is refused the same way, naming what it sent.
    assert _act(h1, cid, "request_extension", days=1, reason="再等一天")[0] == 200
    status, body = _act(disp, cid, "decide_extension", approved=True, hours=8760)
    assert status == 400 and body["error"] == "deadline_too_far", body
    assert "hours" in body["fields"], body
    after = _case(disp, cid)
    assert after["deadline_at"] == before["deadline_at"]
    assert after["version"] == before["version"] + 1  # the request only
    assert after["pending_extension"] is not None  # still there to refuse or grant less
    assert _act(disp, cid, "decide_extension", approved=False, reason="不能再延")[0] == 200


def test_a_deadline_left_past_2100_is_refused_and_read_quickly(any_world: World) -> None:
    """A case an older release let reach year 9798: reading it answers at once (no walk of
    thousands of unknown years), and neither a request nor an approval moves it further."""
    w = any_world
    cid = w.case_in("in_progress")
    far = datetime(9798, 6, 1, 9, 0, tzinfo=UTC)
    _set(w, cid, deadline_at=far, stage_due_at=far)
    h1, disp = _client(w, "h1"), _client(w, "disp")
    started = time.monotonic()
    case = _case(disp, cid)
    listed = disp.get("/api/v1/cases?limit=200").get_json()["items"]
    assert time.monotonic() - started < 10
    assert case["time_left_hours"] > 10_000_000 and case["stage"]["light"] == "green"
    assert cid in [c["id"] for c in listed]
    status, body = _act(h1, cid, "request_extension", days=1, reason="r")
    assert status == 400 and body["error"] == "deadline_too_far" and "days" in body["fields"]
    _set(w, cid, pending_extension={"hours": 2, "reason": "r", "at": "2026-11-30T00:00:00+00:00"})
    status, body = _act(disp, cid, "decide_extension", approved=True)
    assert status == 400 and body["error"] == "deadline_too_far", body
    assert _case(disp, cid)["deadline_at"].startswith("9798-06-01")
