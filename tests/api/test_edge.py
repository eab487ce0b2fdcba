"""Bad inputs at the API edge are 4xx JSON errors naming the field, never a 500 (issue 11).

Each row was a 500 (or a hung worker) before the typed edge: Unicode digits that
``str.isdigit`` accepts and ``int`` refuses, integers the database cannot hold, forged cursors,
a list given as a number, dates at the ends of the calendar, booleans given as text, NUL and
unpaired surrogates in text, coordinates off the globe. Run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from flask.testing import FlaskClient

from tests import factories as f
from tests.workflow.world import World

HUGE = 99999999999999999999  # more than any integer column holds
BIG64 = 2**40  # fits 64 bits, not the 32-bit id columns


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def _check(r: Any, field: str | None, statuses: tuple[int, ...] = (400,)) -> None:
    body = r.get_json()
    assert r.status_code in statuses, (r.status_code, body)
    assert body and body["error"] and " / " in body["message"], body
    if field is not None:
        assert field in body.get("fields", {}), body


GETS: list[tuple[str, str, str | None]] = [
    # (who, url, field named)
    ("disp", "/api/v1/changes?after=0&wait=nan", "wait"),
    ("disp", "/api/v1/changes?after=0&wait=abc", "wait"),
    ("disp", "/api/v1/changes?after=0&wait=inf", "wait"),
    ("disp", "/api/v1/changes?after=²", "after"),
    ("disp", "/api/v1/cases?limit=²", "limit"),
    ("disp", "/api/v1/cases?department=²", "department"),
    ("disp", f"/api/v1/cases?department={HUGE}", "department"),
    ("disp", "/api/v1/cases?cursor=garbage!", "cursor"),
    ("disp", "/api/v1/cases?cursor=" + _b64(bytes([255, 254, 0, 1])), "cursor"),
    ("disp", f"/api/v1/cases?cursor={_b64(json.dumps(['x', 'y']).encode())}", "cursor"),
    ("disp", f"/api/v1/cases?cursor={_b64(json.dumps([1, 2]).encode())}", "cursor"),
    ("disp", f"/api/v1/cases?cursor={_b64(json.dumps([None, 2]).encode())}", "cursor"),
    (
        "disp",
        f"/api/v1/cases?cursor={_b64(json.dumps(['2026-11-01T00:00:00+00:00', HUGE]).encode())}",
        "cursor",
    ),
    (
        "disp",
        f"/api/v1/cases?cursor={_b64(json.dumps(['0001-01-01T00:00:00+00:00', 1]).encode())}",
        "cursor",
    ),
    ("disp", "/api/v1/cases?from=0001-01-01", "from"),
    ("disp", "/api/v1/cases?to=9999-12-31", "to"),
    ("disp", "/api/v1/cases?q=%00", "q"),
    ("disp", "/api/v1/cases?bbox=nan,nan,nan,nan", "bbox"),
    ("disp", "/api/v1/cases?overdue=maybe", "overdue"),
    ("disp", f"/api/v1/cases/{HUGE}", None),
    ("disp", f"/api/v1/cases/{BIG64}", None),
    ("disp", "/api/v1/grids.geojson?zoom=²", "zoom"),
    ("disp", "/api/v1/regions?parent=²²²²²²", "parent"),
    ("sup", "/api/v1/metrics?period=2026-11&scope=worker:²", "scope"),
    ("sup", "/api/v1/metrics?period=2026-11&scope=department:²", "scope"),
    ("sup", "/api/v1/metrics?period=2026-11&by=department&group=²", "group"),
    ("sup", "/api/v1/metrics?from=0001-01-01&to=2026-11-01", "from"),
    ("sup", "/api/v1/metrics?from=2026-11-01&to=9999-12-31", "to"),
    ("sup", "/api/v1/metrics?from=2026-11-30&to=2026-11-01", "to"),
    ("sup", "/api/v1/metrics?from=2026-02-30&to=2026-03-01", "from"),
    ("sup", "/api/v1/metrics?period=0001-01", "period"),
    ("sup", "/api/v1/metrics?period=2026-11&as_of=9999-12-31", "as_of"),
    ("sup", "/api/v1/metrics/cases?period=2026-11&metric=closed&offset=²", "offset"),
    ("sup", "/api/v1/metrics/cases?period=2026-11&metric=closed&limit=²", "limit"),
    ("sup", "/api/v1/metrics/scorecards?from=0001-01-01&to=0001-12-31", "from"),
    ("sup", "/api/v1/metrics/export.csv?from=0001-01-01&to=0001-12-31", "from"),
    ("admin", "/api/v1/admin/users?department=²", "department"),
    ("admin", f"/api/v1/admin/users?cursor={HUGE}", "cursor"),
    ("admin", "/api/v1/admin/users?limit=²", "limit"),
    ("admin", f"/api/v1/admin/users/{HUGE}", None),
    ("admin", f"/api/v1/admin/plans/{HUGE}", None),
]


def test_bad_query_strings_and_path_ids_are_4xx(any_world: World) -> None:
    w = any_world
    clients = {who: _client(w, who) for who in ("disp", "sup", "admin")}
    for who, url, field in GETS:
        started = time.monotonic()
        r = clients[who].get(url)
        assert time.monotonic() - started < 5, url  # wait=nan used to block forever
        _check(r, field, (400, 404))


def test_path_ids_are_ascii_digits_and_out_of_range_is_404_for_every_method(
    any_world: World,
) -> None:
    """``\\d+`` matched ``١`` (Arabic-Indic one): /cases/١ was case 1, /calendar/٢٠٣٠ was 2030;
    an out-of-range id answered PATCH/PUT with 405 (another method's rule matched)."""
    w = any_world
    cid = w.report()
    assert cid == 1
    disp, admin = _client(w, "disp"), _client(w, "admin")
    assert disp.get("/api/v1/cases/1").status_code == 200
    for url in ("/api/v1/cases/%D9%A1", "/api/v1/cases/%EF%BC%91", "/api/v1/cases/%C2%B9"):
        r = disp.get(url)
        assert r.status_code == 404, (url, r.status_code)
    assert admin.get("/api/v1/calendar/2030").status_code in (200, 404)
    r = admin.get("/api/v1/calendar/%D9%A2%D9%A0%D9%A3%D9%A0")
    assert r.status_code == 404, r.status_code
    for method, url in (
        ("PATCH", f"/api/v1/admin/users/{HUGE}"),
        ("PUT", f"/api/v1/calendar/{HUGE}"),
        ("DELETE", f"/api/v1/calendar/{HUGE}"),
        ("GET", f"/api/v1/admin/users/{HUGE}"),
        ("PATCH", f"/api/v1/admin/users/{BIG64}"),
        ("PATCH", "/api/v1/admin/users/%D9%A1"),
    ):
        r = admin.open(url, method=method, json={})
        assert r.status_code == 404, (method, url, r.status_code)


def test_bad_bodies_are_4xx_and_store_nothing(any_world: World) -> None:
    w = any_world
    cid = w.report()
    wg1, disp, admin = (_client(w, n) for n in ("wg1", "disp", "admin"))

    def report(**extra: Any) -> Any:
        body = {"uuid": str(uuid.uuid4()), "category_code": "0101", "lon": 106.3, "lat": 38.05}
        raw = json.dumps({**body, **extra})  # ASCII: a lone surrogate stays an escape
        return wg1.post("/api/v1/cases", data=raw, content_type="application/json")

    def act(c: FlaskClient, **body: Any) -> Any:
        return c.post(f"/api/v1/cases/{cid}/actions", json={"uuid": str(uuid.uuid4()), **body})

    _check(report(category_id=HUGE, category_code=None), "category_id")
    _check(report(category_id=BIG64, category_code=None), "category_id")
    _check(report(self_handle="false"), "self_handle")
    _check(report(photos=5), "photos")
    _check(report(lon=500), "lon")
    _check(report(lat=float("inf")), "lat")
    _check(report(description="a\x00b"), "description")
    _check(report(description="\ud800"), "description")
    _check(report(device_time="0001-01-01T00:00:00+14:00"), "device_time")
    _check(act(wg1, action="comment", note="x", photos=5), "photos")
    _check(act(disp, action="dispatch", department_id=HUGE), "department_id")
    _check(act(disp, action="reject", reason="dup", duplicate_of=HUGE), "duplicate_of")
    _check(act(disp, action="reject", reason="dup", duplicate_of="7"), "duplicate_of")
    _check(act(disp, action="comment", note="here", lon=500, lat=38.0), "lon")
    _check(act(disp, action="comment", note="here", lon=106.3, lat=-91), "lat")
    _check(act(disp, action="comment", note="x", version="1"), "version")
    _check(act(disp, action="accept", device_time="9999-12-31T23:59:59-12:00"), "device_time")
    _check(
        admin.post(
            "/api/v1/admin/categories",
            json={
                "code": "0199",
                "name": "x",
                "limit_value": 1,
                "limit_unit": "work_days",
                "urgent_hours": 2,
                "default_department_id": HUGE,
            },
        ),
        "default_department_id",
    )
    _check(
        admin.patch(f"/api/v1/admin/users/{w.users['h1']}", json={"department_id": HUGE}),
        "department_id",
    )
    _check(
        admin.patch(f"/api/v1/admin/departments/{w.departments['D1']}", json={"active": "false"}),
        "active",
    )
    _check(wg1.put(f"/api/v1/uploads/{uuid.uuid4()}?offset=²", data=b"x"), "offset")
    _check(wg1.post("/api/v1/uploads", json={"uuid": str(uuid.uuid4()), "total_bytes": "5"}),
           "total_bytes")  # fmt: skip

    with w.session() as db:
        from sqlalchemy import func, select

        from server.models import Incident, IncidentEvent

        assert db.scalar(select(func.count()).select_from(Incident)) == 1
        assert db.scalar(select(func.count()).select_from(IncidentEvent)) == 1


def test_a_validation_error_names_every_bad_field(world: World) -> None:
    c = _client(world, "disp")
    body = c.get("/api/v1/cases?limit=0&department=x&from=2026-13-01").get_json()
    assert body["error"] == "validation_failed"
    assert set(body["fields"]) == {"limit", "department", "from"}
    assert body["message"].startswith("输入有误 / invalid input")


def test_long_poll_wait_is_bounded(world: World) -> None:
    world.app.config["WANGGE_LONG_POLL_SECONDS"] = 0.2
    c = _client(world, "disp")
    cursor = c.get("/api/v1/changes").get_json()["cursor"]
    started = time.monotonic()
    r = c.get(f"/api/v1/changes?after={cursor}&wait=25")
    assert r.status_code == 200 and r.get_json()["items"] == []
    assert time.monotonic() - started < 3


def test_open311_bad_input_is_a_spec_400_not_a_general_error(any_world: World) -> None:
    c = any_world.app.test_client()
    for url in (
        "/open311/v2/requests.json?start_date=0001-01-01T00:00:00Z",
        "/open311/v2/requests.json?end_date=9999-12-31T23:59:59-12:00",
        "/open311/v2/requests.json?service_request_id=%00",
        "/open311/v2/requests.json?service_code=%00",
        "/open311/v2/services/%00.json",
    ):
        r = c.get(url)
        assert r.status_code == 400, (url, r.status_code)
        body = r.get_json()
        assert isinstance(body, list) and body[0]["code"] == 400, body
        assert "general service error" not in body[0]["description"], (url, body)
    r = c.post("/open311/v2/requests.json", data={"api_key": "x\x00", "service_code": "0101"})
    assert r.status_code == 400
    assert "general service error" not in r.get_json()[0]["description"]


def test_a_multipart_part_without_a_readable_name_is_not_a_500(world: World) -> None:
    """Found by schemathesis: Flask-WTF's CSRF check read a part named None (``None.endswith``)."""
    c = world.app.test_client()
    raw = (
        b'--b\r\nContent-Disposition: form-data; name="a\\"\r\n\r\nx\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="p.geojson"\r\n\r\n{}\r\n'
        b"--b--\r\n"
    )
    for url in ("/api/v1/admin/plans", "/api/v1/cases"):
        r = c.post(url, data=raw, content_type="multipart/form-data; boundary=b")
        assert r.status_code == 400, (url, r.status_code)
        assert r.get_json()["error"] == "csrf_failed"


def test_bounds_are_said_in_both_languages_not_in_pydantics_english(world: World) -> None:
    """pydantic's own sentences ("Value should have at most 4000 items after validation, not
    100000", "Input should be 'normal' or 'urgent'") reached the apps' Chinese pages: every
    bound is said as "中文 / English", with the bound."""
    c = _client(world, "wg1")
    body = {"uuid": str(uuid.uuid4()), "category_code": "0101", "lon": 106.3, "lat": 38.05,
            "description": "长" * 4001, "urgency": "soon"}  # fmt: skip
    r = c.post("/api/v1/cases", json=body)
    assert r.status_code == 400
    fields = r.get_json()["fields"]
    assert fields["description"].startswith("过长，最多 4000 / ")
    assert fields["urgency"].startswith("取值无效") and " / " in fields["urgency"]
    for text in fields.values():
        assert "should" not in text.split(" / ")[0], fields
