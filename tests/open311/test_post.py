"""POST requests and tokens over raw HTTP, in JSON and XML; every error the spec lists."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from server.models import Incident, IncidentEvent, Region
from server.models.open311 import ApiKey, Open311Request
from server.open311 import keys
from tests.open311.conftest import Open311World
from tests.open311.util import case_by_number, errors, form, parse, post
from tests.workflow.world import G1, IN_G2, OUTSIDE

FORMATS = ["json", "xml"]


def _created(resp: requests.Response, fmt: str) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    body = parse(resp, fmt)
    if fmt == "xml":
        body = body["service_requests"]["request"]
    (answer,) = body
    return answer  # type: ignore[no-any-return]


def _counts(w: Open311World) -> tuple[int, int, int]:
    with w.world.session() as db:
        return (
            db.scalar(select(func.count(Incident.id))) or 0,
            db.scalar(select(func.count(IncidentEvent.id))) or 0,
            db.scalar(select(func.count(Open311Request.id))) or 0,
        )


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_creates_a_reported_case(live: Open311World, fmt: str) -> None:
    resp = post(live.base, fmt, form(live.key, media_url="https://img.example.cn/a.jpg"))
    answer = _created(resp, fmt)
    assert list(answer) == ["service_request_id", "service_notice", "account_id"]
    assert "token" not in answer  # realtime: the id, never a token too
    assert answer["account_id"] == "acct-778899"
    assert "4 个工作小时" in answer["service_notice"]
    case = case_by_number(live.world, answer["service_request_id"])
    assert (case.state, case.source, case.grid_code) == ("reported", "open311", G1)
    assert case.location_status == "inside" and case.reporter_id is None
    assert (case.caller_name, case.caller_phone, case.contact_email) == (
        "张三",
        "13812345678",
        "zhangsan@example.cn",
    )
    assert case.address == "城区街道人民路 12 号"
    assert case.description.startswith("垃圾桶满溢，已两天无人清运")
    assert "https://img.example.cn/a.jpg" in case.description  # the dispatcher sees the link
    with live.world.session() as db:
        event = db.scalar(select(IncidentEvent).where(IncidentEvent.incident_id == case.id))
        assert event is not None
        assert (event.action, event.actor_role, event.actor_id) == ("report", "open311", None)
        assert event.data["source"] == "open311"
        row = db.scalar(select(Open311Request).where(Open311Request.incident_id == case.id))
        key = db.scalar(select(ApiKey).where(ApiKey.name == "12345-lingwu"))
        assert row is not None and key is not None
        assert row.api_key_id == key.id and row.service_code == "0101"
        assert (row.account_id, row.device_id) == ("acct-778899", "dev-445566")
        assert row.media_url == "https://img.example.cn/a.jpg"
    # Open311 has no idempotency key: the same form again is a second request.
    again = _created(post(live.base, fmt, form(live.key)), fmt)
    assert again["service_request_id"] != answer["service_request_id"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_tokens(live: Open311World, fmt: str) -> None:
    answer = _created(post(live.base, fmt, form(live.key)), fmt)
    number = answer["service_request_id"]
    case = case_by_number(live.world, number)
    resp = requests.get(f"{live.base}/tokens/{case.uuid}.{fmt}", timeout=30)
    assert resp.status_code == 200
    body = parse(resp, fmt)
    rows = body["service_requests"]["request"] if fmt == "xml" else body
    assert rows == [{"service_request_id": number, "token": case.uuid}]
    for token in (str(uuid.uuid4()), "not-a-token"):
        resp = requests.get(f"{live.base}/tokens/{token}.{fmt}", timeout=30)
        assert resp.status_code == 404
        assert errors(resp, fmt)[0]["code"] == 404
    for path in (f"tokens.{fmt}", f"tokens/.{fmt}"):
        resp = requests.get(f"{live.base}/{path}", timeout=30)
        assert resp.status_code == 400 and "token" in errors(resp, fmt)[0]["description"]
    # A field report's UUID is no token: those cases do not exist for Open311.
    field_case = live.world.report()
    with live.world.session() as db:
        field_uuid = db.get(Incident, field_case).uuid  # type: ignore[union-attr]
    assert requests.get(f"{live.base}/tokens/{field_uuid}.json", timeout=30).status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_attributes(live: Open311World, fmt: str) -> None:
    data = form(live.key, service_code="0303") | {
        "attribute[POLE]": "LD-0042",
        "attribute[KIND]": "flicker",
        "attribute[WHEN][]": ["night", "day"],
    }
    answer = _created(post(live.base, fmt, data), fmt)
    case = case_by_number(live.world, answer["service_request_id"])
    assert "灯杆编号 / pole number: LD-0042" in case.description
    assert "故障类型 / fault: 闪烁" in case.description
    assert "出现时段 / when: 夜间、白天" in case.description
    with live.world.session() as db:
        row = db.scalar(select(Open311Request).where(Open311Request.incident_id == case.id))
        assert row is not None
        assert row.attributes == {"POLE": "LD-0042", "KIND": "flicker", "WHEN": ["night", "day"]}


def _revoked_key(w: Open311World) -> str:
    with w.world.session() as db:
        _row, raw = keys.create(db, "old-platform")
        keys.revoke(db, "old-platform")
        db.commit()
    return raw


# (name, change to a valid form, HTTP status, words in the description)
ERRORS: list[tuple[str, dict[str, Any], int, str]] = [
    ("no api_key", {"api_key": None}, 403, "api_key"),
    ("empty api_key", {"api_key": ""}, 403, "api_key"),
    ("wrong api_key", {"api_key": "wg311_nope"}, 403, "Invalid api_key"),
    ("revoked api_key", {"api_key": "REVOKED"}, 403, "revoked"),
    ("no service_code", {"service_code": None}, 400, "service_code was not provided"),
    ("unknown service_code", {"service_code": "9999"}, 404, "service_code '9999' not found"),
    ("major class", {"service_code": "01"}, 404, "not found"),
    ("no location", {"lat": None, "long": None, "address_string": None}, 400, "location"),
    ("lat without long", {"long": None}, 400, "together"),
    ("lat not a number", {"lat": "north"}, 400, "decimal degrees"),
    ("Arabic-Indic digits", {"lat": "٣٨", "long": "١٠٦"}, 400, "decimal degrees"),
    ("full-width digits", {"lat": "３８.５"}, 400, "decimal degrees"),
    ("lat out of range", {"lat": "123"}, 400, "±90"),
    ("outside China", {"lat": "51.5", "long": "-0.12"}, 400, "outside China"),
    (
        "address_id only",
        {"lat": None, "long": None, "address_string": None, "address_id": "A-1"},
        400,
        "address_id",
    ),
    ("address too long", {"address_string": "路" * 301}, 400, "address_string"),
    ("required attribute", {"service_code": "0303"}, 400, "attribute[POLE] is required"),
    (
        "attribute not in list",
        {"service_code": "0303", "attribute[POLE]": "1", "attribute[KIND]": "blue"},
        400,
        "not one of",
    ),
    (
        "two values for one",
        {"service_code": "0303", "attribute[POLE]": ["1", "2"]},
        400,
        "one value",
    ),
    ("unknown attribute", {"attribute[COLOUR]": "red"}, 400, "no such attribute"),
    ("malformed attribute", {"attribute": "x"}, 400, "attribute[code]"),
    ("description too long", {"description": "字" * 4001}, 400, "4000"),
    ("media_url not a URL", {"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ("bad email", {"email": "not-an-email"}, 400, "email"),
    ("phone too long", {"phone": "1" * 40}, 400, "phone"),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_errors(live: Open311World, fmt: str) -> None:
    """Each bad form answers the spec's error array with the right status, and files nothing."""
    revoked = _revoked_key(live)
    for name, change, status, words in ERRORS:
        data: dict[str, Any] = form(live.key)
        for k, v in change.items():
            if v is None:
                data.pop(k, None)
            else:
                data[k] = revoked if v == "REVOKED" else v
        before = _counts(live)
        resp = post(live.base, fmt, data)
        assert resp.status_code == status, (name, resp.text)
        errs = errors(resp, fmt)
        assert all(e["code"] == status for e in errs), (name, errs)
        assert any(words in e["description"] for e in errs), (name, errs)
        assert _counts(live) == before, name  # nothing was filed


def test_several_problems_come_as_several_errors(live: Open311World) -> None:
    data = form(live.key, service_code="0303", email="x", description="字" * 4001)
    resp = post(live.base, "json", data)
    assert resp.status_code == 400
    texts = " | ".join(e["description"] for e in errors(resp, "json"))
    assert "POLE" in texts and "email" in texts and "4000" in texts


def test_key_is_checked_before_anything_else(live: Open311World) -> None:
    resp = post(live.base, "xml", {"service_code": "9999"})
    assert resp.status_code == 403
    assert "api_key" in errors(resp, "xml")[0]["description"]


def test_json_body_is_refused(live: Open311World) -> None:
    resp = requests.post(f"{live.base}/requests.json", json=form(live.key), timeout=30)
    assert resp.status_code == 400
    assert "x-www-form-urlencoded" in errors(resp, "json")[0]["description"]


def test_api_key_in_the_query_string_and_multipart(live: Open311World) -> None:
    data = form(live.key)
    key = data.pop("api_key")
    resp = requests.post(
        f"{live.base}/requests.json", params={"api_key": key}, data=data, timeout=30
    )
    assert resp.status_code == 200
    files = {k: (None, v) for k, v in form(live.key).items()}
    assert requests.post(f"{live.base}/requests.json", files=files, timeout=30).status_code == 200


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_jurisdiction_on_post(live: Open311World, fmt: str) -> None:
    live.app.extensions["wangge.settings"].open311_jurisdiction = "lingwu.gov.cn"
    before = _counts(live)
    resp = post(live.base, fmt, form(live.key, jurisdiction_id="yinchuan.gov.cn"))
    assert resp.status_code == 404 and "jurisdiction_id" in errors(resp, fmt)[0]["description"]
    assert _counts(live) == before
    assert _created(post(live.base, fmt, form(live.key, jurisdiction_id="lingwu.gov.cn")), fmt)
    assert _created(post(live.base, fmt, form(live.key)), fmt)  # one jurisdiction: optional


def test_address_only_lands_in_the_keys_county(live: Open311World) -> None:
    data = form(live.key)
    del data["lat"], data["long"]
    answer = _created(post(live.base, "json", data), "json")
    case = case_by_number(live.world, answer["service_request_id"])
    with live.world.session() as db:
        county = db.scalar(select(Region).where(Region.code == "640181000000"))
        assert county is not None
        assert case.county_id == county.id and case.location_status == "none"
        assert case.lon is None and case.grid_code is None


def test_outside_every_grid_is_kept_in_the_keys_county(live: Open311World) -> None:
    data = form(live.key, long=str(OUTSIDE[0]), lat=str(OUTSIDE[1]))
    case = case_by_number(
        live.world, _created(post(live.base, "json", data), "json")["service_request_id"]
    )
    with live.world.session() as db:
        county = db.scalar(select(Region).where(Region.code == "640181000000"))
        assert county is not None and case.county_id == county.id
    assert case.location_status == "outside" and case.grid_code is None


def test_a_key_bound_to_no_county(live: Open311World) -> None:
    """Two counties and a key bound to none: a point is placed by its grid; an address cannot be."""
    with live.world.session() as db:
        _row, raw = keys.create(db, "unbound")
        db.commit()
    answer = _created(
        post(live.base, "json", form(raw, long=str(IN_G2[0]), lat=str(IN_G2[1]))), "json"
    )
    assert case_by_number(live.world, answer["service_request_id"]).grid_code is not None
    data = form(raw)
    del data["lat"], data["long"]
    before = _counts(live)
    resp = post(live.base, "json", data)
    assert resp.status_code == 400 and "lat and long are required" in resp.text
    # A point outside every grid cannot be placed either: kept, it sat in no county's queue
    # (nobody but an admin saw it). Refused in Open311's own error format, nothing written.
    for fmt in FORMATS:
        resp = post(live.base, fmt, form(raw, long=str(OUTSIDE[0]), lat=str(OUTSIDE[1])))
        assert resp.status_code == 400, resp.text
        (error,) = errors(resp, fmt)
        assert str(error["code"]) == "400" and "outside every grid" in error["description"]
    assert _counts(live) == before


def test_only_the_hash_of_a_key_is_stored(live: Open311World) -> None:
    with live.world.session() as db:
        row = db.scalar(select(ApiKey).where(ApiKey.name == "12345-lingwu"))
        assert row is not None
        assert row.key_hash == hashlib.sha256(live.key.encode()).hexdigest()
        stored = " ".join(str(getattr(row, c.key)) for c in ApiKey.__table__.columns)
        assert live.key not in stored and live.key[6:20] not in stored
