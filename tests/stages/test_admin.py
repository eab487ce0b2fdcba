"""Admins edit stage limits and card thresholds; bad input is a clear 4xx, nothing written."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.models import CardThresholdRow, StageLimitRow
from tests import factories as f
from tests.stages.clock import at, case, report
from tests.workflow.world import World


def _admin(w: World) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, "admin")
    return c


def test_admin_sets_a_limit_that_new_cases_use_and_removes_it(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    w = world
    c = _admin(w)
    body = {"category_code": "0101", "urgency": "normal", "level": "county", "stage": "accept",
            "limit_value": 1, "limit_unit": "work_days"}  # fmt: skip
    with caplog.at_level(logging.INFO, logger="wangge.admin"):
        r = c.put("/api/v1/admin/stage-limits", json=body)
    assert r.status_code == 200, r.get_json()
    limit = r.get_json()["limit"]
    assert (limit["stage"], limit["limit_value"], limit["limit_unit"]) == ("accept", 1, "work_days")
    assert any("set stage limit" in m for m in caplog.messages)  # audited
    cid = report(w, at("2026-09-24 10:00"))
    assert case(w, cid).stage_due_at == at("2026-09-25 10:00").replace(day=28)  # Mid-autumn
    # The same key again replaces, never duplicates.
    r = c.put("/api/v1/admin/stage-limits", json=body | {"limit_value": 2})
    assert r.status_code == 200 and r.get_json()["limit"]["id"] == limit["id"]
    listing = c.get("/api/v1/admin/stage-limits").get_json()
    assert [i["limit_value"] for i in listing["items"]] == [2]
    assert {t["stage"]: (t["yellow_days"], t["red_days"]) for t in listing["thresholds"]} == {
        "accept": (2, 5), "dispatch": (2, 5), "handle": (5, 10), "verify": (2, 5)
    }  # fmt: skip
    assert c.delete(f"/api/v1/admin/stage-limits/{limit['id']}").status_code == 204
    assert c.delete(f"/api/v1/admin/stage-limits/{limit['id']}").status_code == 404
    cid = report(w, at("2026-09-24 10:00"))
    assert case(w, cid).stage_due_at == at("2026-09-24 16:00")  # the default: 4 working hours


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"stage": "lunch"}, "stage"),
        ({"urgency": "soon"}, "urgency"),
        ({"level": "province"}, "level"),
        ({"category_code": "9999"}, "category_code"),
        ({"limit_value": 0}, "limit_value"),
        ({"limit_value": 1.5, "limit_unit": "work_days"}, "limit_value"),
        ({"limit_unit": "fortnights"}, "limit_unit"),
    ],
)
def test_bad_limits_are_refused(world: World, change: dict[str, Any], field: str) -> None:
    c = _admin(world)
    body = {"category_code": "", "urgency": "normal", "level": "", "stage": "verify",
            "limit_value": 3, "limit_unit": "work_hours"} | change  # fmt: skip
    r = c.put("/api/v1/admin/stage-limits", json=body)
    assert r.status_code in (400, 422), r.get_json()
    assert field in r.get_json()["fields"], r.get_json()
    with world.session() as db:
        assert db.scalar(select(func.count(StageLimitRow.id))) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"accept": {"yellow_days": 5, "red_days": 2}}, "accept"),  # yellow after red
        ({"accept": {"yellow_days": 3, "red_days": 3}}, "accept"),
        ({"handle": {"yellow_days": -1, "red_days": 3}}, "handle.yellow_days"),
        ({"handle": {"yellow_days": 1.5, "red_days": 3}}, "handle.yellow_days"),
        ({"handle": {"yellow_days": 1, "red_days": "10"}}, "handle.red_days"),
        ({"handle": {"yellow_days": 1}}, "handle.red_days"),
        ({"lunch": {"yellow_days": 1, "red_days": 2}}, "lunch"),
        ({"verify": [1, 2]}, "verify"),
        ({}, "stage"),
    ],
)
def test_bad_thresholds_are_refused_and_write_nothing(
    world: World, body: dict[str, Any], field: str
) -> None:
    c = _admin(world)
    # A good stage alongside a bad one: nothing of either is written.
    good = {"dispatch": {"yellow_days": 1, "red_days": 2}}
    r = c.put("/api/v1/admin/card-thresholds", json=good | body)
    if body:
        assert r.status_code in (400, 422), r.get_json()
        assert field in r.get_json()["fields"], r.get_json()
    else:
        assert r.status_code == 200
        r = c.put("/api/v1/admin/card-thresholds", json={})
        assert r.status_code in (400, 422) and field in r.get_json()["fields"]
        return
    with world.session() as db:
        assert db.scalar(select(func.count()).select_from(CardThresholdRow)) == 0


def test_thresholds_are_stored_and_listed(world: World) -> None:
    c = _admin(world)
    r = c.put("/api/v1/admin/card-thresholds", json={"accept": {"yellow_days": 1, "red_days": 3}})
    assert r.status_code == 200, r.get_json()
    rows = {t["stage"]: t for t in r.get_json()["thresholds"]}
    assert (rows["accept"]["yellow_days"], rows["accept"]["red_days"]) == (1, 3)
    assert rows["accept"]["stored"] and not rows["handle"]["stored"]


def test_only_admins_edit_limits(world: World) -> None:
    c = world.app.test_client()
    f.login(c, "disp")
    assert c.get("/api/v1/admin/stage-limits").status_code == 403
    r = c.put("/api/v1/admin/card-thresholds", json={"accept": {"yellow_days": 1, "red_days": 3}})
    assert r.status_code == 403
