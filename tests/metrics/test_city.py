"""A city's metrics (issue 15): the city is its counties' cases, grouped by county on request
(``by=county``, the city dashboard month by county); the lines add up to the city's total and
each equals that county's own figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import factories as f
from tests.workflow.levels_world import build_levels
from tests.workflow.world import IN_G1, World

IN_GB = (106.55, 38.45)


@pytest.fixture
def lw(any_app: Flask) -> World:
    return build_levels(any_app)


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def _report(w: World, who: str, where: tuple[float, float]) -> None:
    body = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "垃圾",
            "lon": where[0], "lat": where[1]}  # fmt: skip
    r = _client(w, who).post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.get_json()


def _metrics(c: FlaskClient, query: str) -> dict[str, Any]:
    month = datetime.now(UTC).strftime("%Y-%m")
    r = c.get(f"/api/v1/metrics?period={month}&{query}")
    assert r.status_code == 200, r.get_json()
    return dict(r.get_json())


def test_the_city_dashboard_month_by_county(lw: World) -> None:
    w = lw
    for _ in range(3):
        _report(w, "wg1", IN_G1)  # 灵武市
    for _ in range(2):
        _report(w, "wgb", IN_GB)  # 兴庆区
    city = _client(w, "supc")
    body = _metrics(city, "by=county")
    assert body["scope"][0]["code"] == "640100000000"
    lines = {g["label"]["code"]: g["values"] for g in body["groups"]}
    assert set(lines) == {"640181000000", "640104000000"}
    assert lines["640181000000"]["reported"] == 3 and lines["640104000000"]["reported"] == 2
    assert body["total"]["reported"] == 5
    # each line is the county's own figure, as the admin asks it
    admin = _client(w, "admin")
    for code, values in lines.items():
        own = _metrics(admin, f"scope=region:{code[:6]}")["total"]
        assert values == own, code
    # a county's supervisor still sees only their county
    assert _metrics(_client(w, "sup"), "")["total"]["reported"] == 3
