"""Deadlines set from outside: filed with a case (API, Open311) or given at dispatch; they
override the category's limit, are written in the trail and are what the metrics use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import Incident, IncidentEvent, MetricEvent
from server.usecases.cases import explicit_deadline
from server.usecases.errors import ValidationFailed
from tests import factories as f
from tests.open311.conftest import Open311World, _setup
from tests.open311.util import form
from tests.workflow.world import IN_G1, World


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def _iso(days: float) -> str:
    moment = datetime.now(UTC) + timedelta(days=days)
    return moment.replace(microsecond=0).isoformat()


def _report(c: FlaskClient, **body: Any) -> Any:
    payload = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "热线工单",
               "lon": IN_G1[0], "lat": IN_G1[1], "source": "hotline"} | body  # fmt: skip
    return c.post("/api/v1/cases", json=payload)


def _act(c: FlaskClient, case: dict[str, Any], action: str, **body: Any) -> Any:
    payload = {"uuid": str(uuid.uuid4()), "action": action, "version": case["version"], **body}
    return c.post(f"/api/v1/cases/{case['id']}/actions", json=payload)


def test_a_case_filed_with_a_deadline_keeps_it_through_dispatch_and_in_the_metrics(
    any_world: World,
) -> None:
    w = any_world
    disp = _client(w, "disp")
    due = _iso(20)  # further than the category's 4 working hours
    r = _report(disp, deadline=due)
    assert r.status_code == 201, r.get_json()
    case = r.get_json()["case"]
    assert case["fixed_deadline_at"] is not None
    assert case["stage"]["stage"] == "accept" and case["stage"]["light"] == "green"
    case = _act(disp, case, "accept").get_json()["case"]
    assert case["stage"]["stage"] == "dispatch"
    r = _act(disp, case, "dispatch", department_id=w.departments["D1"])
    assert r.status_code == 200, r.get_json()
    case = r.get_json()["case"]
    wanted = datetime.fromisoformat(due)
    assert datetime.fromisoformat(case["deadline_at"].replace("Z", "+00:00")) == wanted
    assert case["stage"]["due_at"] == case["deadline_at"] and case["stage"]["natural_time"]
    with w.session() as db:
        events = db.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == case["id"])
            .order_by(IncidentEvent.id)
        ).all()
        assert datetime.fromisoformat(events[0].data["deadline_at"]) == wanted  # the report
        assert events[-1].data["deadline_source"] == "explicit"  # the dispatch
        assert datetime.fromisoformat(events[-1].data["deadline_at"]) == wanted
        # the metric projection (按期 / 超期) folds the explicit deadline
        deadline_us = db.scalar(
            select(MetricEvent.ep_deadline_us).where(MetricEvent.event_id == events[-1].id)
        )
        assert deadline_us == int(wanted.timestamp() * 1_000_000)


def test_a_dispatcher_sets_a_deadline_at_dispatch(world: World) -> None:
    w = world
    disp = _client(w, "disp")
    case = _report(disp).get_json()["case"]
    case = _act(disp, case, "accept").get_json()["case"]
    due = _iso(1.5)
    r = _act(disp, case, "dispatch", department_id=w.departments["D1"], deadline=due)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()["case"]
    assert datetime.fromisoformat(body["deadline_at"].replace("Z", "+00:00")) == (
        datetime.fromisoformat(due)
    )


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("2020-01-01T09:00:00+08:00", "deadline_past"),
        ("next tuesday", "invalid_field"),
        ("2026-12-01T09:00:00", "invalid_field"),  # no offset
        (12345, "validation_failed"),
        ("2099-01-01T09:00:00+08:00", "deadline_too_far"),
    ],
)
def test_bad_deadlines_are_a_clear_4xx_and_write_nothing(
    world: World, value: Any, code: str
) -> None:
    w = world
    disp = _client(w, "disp")
    r = _report(disp, deadline=value)
    assert r.status_code in (400, 422), r.get_json()
    body = r.get_json()
    assert body["error"] == code and "deadline" in (body["fields"] or {}), body
    case = _report(disp).get_json()["case"]
    case = _act(disp, case, "accept").get_json()["case"]
    r = _act(disp, case, "dispatch", department_id=w.departments["D1"], deadline=value)
    assert r.status_code in (400, 422) and "deadline" in r.get_json()["fields"], r.get_json()
    with w.session() as db:
        assert db.scalar(select(Incident.state).where(Incident.id == case["id"])) == "accepted"


def test_open311_expected_datetime_is_the_deadline(app: Flask) -> None:
    o311: Open311World = _setup(app)
    c = o311.app.test_client()
    due = _iso(10)
    r = c.post("/open311/v2/requests.json", data=form(o311.key, expected_datetime=due))
    assert r.status_code == 200, r.get_data(as_text=True)
    number = r.get_json()[0]["service_request_id"]
    with o311.world.session() as db:
        case = db.scalar(select(Incident).where(Incident.number == number))
        assert case is not None and case.fixed_deadline_at == datetime.fromisoformat(due)
    bad = c.post("/open311/v2/requests.json", data=form(o311.key, expected_datetime="yesterday"))
    assert bad.status_code == 400 and "deadline" in bad.get_data(as_text=True)
    past = c.post(
        "/open311/v2/requests.json",
        data=form(o311.key, expected_datetime="2020-01-01T00:00:00+08:00"),
    )
    assert past.status_code == 400 and "past" in past.get_data(as_text=True)


@pytest.mark.parametrize(
    ("now", "value", "ok"),
    [
        # three calendar years, not 3 × 366 days (an outside tester filed 2029-11-30 on 2026-11-29)
        ("2026-11-29T00:00:00+00:00", "2029-11-29T00:00:00+00:00", True),
        ("2026-11-29T00:00:00+00:00", "2029-11-30T00:00:00+08:00", False),
        ("2028-02-29T12:00:00+00:00", "2031-02-28T12:00:00+00:00", True),
        ("2028-02-29T12:00:00+00:00", "2031-03-01T00:00:00+00:00", False),
    ],
)
def test_a_deadline_is_at_most_three_calendar_years_ahead(now: str, value: str, ok: bool) -> None:
    moment = datetime.fromisoformat(now)
    if ok:
        assert explicit_deadline({"deadline": value}, moment) == datetime.fromisoformat(value)
    else:
        with pytest.raises(ValidationFailed) as err:
            explicit_deadline({"deadline": value}, moment)
        assert err.value.code == "deadline_too_far"
