"""Following cases: the console queue, status changes seen through ``requests/{id}`` (read by
``georeport`` from the live app), the GET filters and what is never returned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from georeport import GeoReport
from sqlalchemy import select

from server.models import Incident
from server.models.open311 import Open311Request
from server.open311 import service_requests as sr
from tests import factories as f
from tests.open311.conftest import Open311World
from tests.open311.util import case_by_number, errors, form, parse, post

FORMATS = ["json", "xml"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


def _file(w: Open311World, **extra: Any) -> str:
    resp = post(w.base, "json", form(w.key, **extra))
    assert resp.status_code == 200, resp.text
    number: str = resp.json()[0]["service_request_id"]
    return number


def _case_id(w: Open311World, number: str) -> int:
    return case_by_number(w.world, number).id


def _w3c(value: datetime | None) -> str | None:
    return sr.w3c(value, SHANGHAI)


def test_filed_case_is_in_the_console_queue(live: Open311World) -> None:
    number = _file(live)
    c = live.app.test_client()
    f.login(c, "disp")
    items = c.get("/api/v1/cases?state=reported&source=open311").get_json()["items"]
    (item,) = [i for i in items if i["number"] == number]
    assert item["source"] == "open311" and item["grid"]["code"] == "640181001001001"
    assert item["caller_phone"] == "13812345678"  # the command centre sees the caller
    detail = c.get(f"/api/v1/cases/{item['id']}").get_json()
    assert "accept" in detail["allowed_actions"]
    # Another county's dispatcher does not see it.
    other = live.app.test_client()
    f.login(other, "dispb")
    numbers = [i["number"] for i in other.get("/api/v1/cases").get_json()["items"]]
    assert number not in numbers


@pytest.mark.parametrize("fmt", FORMATS)
def test_status_changes_are_visible(live: Open311World, fmt: str) -> None:
    w = live.world
    client = GeoReport(live.base, output_format=fmt)
    number = _file(live)
    cid = _case_id(live, number)

    got = client.get_service_request(number)
    assert list(got) == FIELDS
    assert got["service_request_id"] == number and got["status"] == "open"
    assert got["status_notes"] is None and got["agency_responsible"] is None
    assert got["expected_datetime"] is None and got["service_code"] == "0101"
    assert got["service_name"] == "暴露垃圾" and got["address"] == "城区街道人民路 12 号"
    assert float(got["lat"]) == 38.05 and float(got["long"]) == 106.30

    w.act("disp", cid, "accept")
    assert client.get_service_request(number)["status"] == "open"
    w.act("disp", cid, "dispatch", department_id=w.departments["D1"], note="请今日内清运")
    got = client.get_service_request(number)
    case = case_by_number(w, number)
    assert got["status"] == "open" and got["agency_responsible"] == "城管"
    assert got["status_notes"] == "请今日内清运"
    assert got["expected_datetime"] == _w3c(case.deadline_at)
    assert got["expected_datetime"].endswith("+08:00")

    internal = w.photo("h1")
    w.act("h1", cid, "sign", note="内部：已安排张师傅", photos=[internal])  # not a public event
    assert client.get_service_request(number)["status_notes"] == "请今日内清运"
    photo = w.photo("h1")
    w.act("h1", cid, "resolve", note="已清运完毕", photos=[photo])
    got = client.get_service_request(number)
    assert (got["status"], got["status_notes"]) == ("open", "已清运完毕")
    assert got["media_url"].endswith(f"/open311/v2/media/{photo}.jpg")
    image = requests.get(got["media_url"], timeout=30)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    assert image.content[:2] == b"\xff\xd8"
    hidden = requests.get(f"{live.base}/media/{internal}.jpg", timeout=30)
    assert hidden.status_code == 404 and errors(hidden, "xml")[0]["code"] == 404

    w.act("wg1", cid, "verify", passed=True)
    got = client.get_service_request(number)
    case = case_by_number(w, number)
    assert got["status"] == "closed" and got["agency_responsible"] == "城管"
    assert got["updated_datetime"] == _w3c(case.closed_at)
    assert got["requested_datetime"] == _w3c(case.reported_at)


@pytest.mark.parametrize("fmt", FORMATS)
def test_rejected_is_closed_with_the_reason(live: Open311World, fmt: str) -> None:
    number = _file(live)
    live.world.act("disp", _case_id(live, number), "reject", reason="重复上报，已并案处理")
    got = GeoReport(live.base, output_format=fmt).get_service_request(number)
    assert (got["status"], got["status_notes"]) == ("closed", "重复上报，已并案处理")


def test_suspended_and_returned_stay_open(live: Open311World) -> None:
    w = live.world
    cid = _case_id(live, number := _file(live))
    w.act("disp", cid, "suspend", reason="待协调")
    client = GeoReport(live.base)
    assert client.get_service_request(number)["status"] == "open"
    w.act("disp", cid, "resume", reason="已协调")
    w.act("disp", cid, "accept")
    w.act("disp", cid, "dispatch", department_id=w.departments["D2"])
    assert client.get_service_request(number)["agency_responsible"] == "住建"
    w.act("h2", cid, "return", reason="不属于本部门")
    got = client.get_service_request(number)
    assert got["status"] == "open" and got["agency_responsible"] is None
    assert got["expected_datetime"] is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_personal_data_is_never_returned(live: Open311World, fmt: str) -> None:
    number = _file(live)
    secrets = [
        "13812345678",
        "zhangsan@example.cn",
        "张三",
        "acct-778899",
        "dev-445566",
        live.key,
        "1381234",
    ]
    urls = [
        f"{live.base}/requests.{fmt}",
        f"{live.base}/requests/{number}.{fmt}",
        f"{live.base}/requests.{fmt}?service_request_id={number}",
        f"{live.base}/tokens/{case_by_number(live.world, number).uuid}.{fmt}",
    ]
    for url in urls:
        resp = requests.get(url, timeout=30)
        assert resp.status_code == 200 and number in resp.text
        for secret in secrets:
            assert secret not in resp.text, (url, secret)
        assert "caller" not in resp.text and "phone" not in resp.text and "email" not in resp.text


def test_cases_not_filed_here_do_not_exist_for_open311(live: Open311World) -> None:
    w = live.world
    field_id = w.report()
    hotline_id = w.report("disp", caller_phone="13900001111", source="hotline")
    # Labelled "open311" but not filed here with a key (the JSON API no longer lets a user pick
    # that source: a row from before, or written by hand).
    console_id = w.report("disp", source="console")
    with w.session() as db:
        row = db.get(Incident, console_id)
        assert row is not None
        row.source = "open311"
        db.commit()
    photo = w.photo("h1")
    w.act("disp", field_id, "accept")
    w.act("disp", field_id, "dispatch", department_id=w.departments["D1"])
    w.act("h1", field_id, "resolve", note="ok", photos=[photo])
    mine = _file(live)
    with w.session() as db:
        numbers = {c.id: c.number for c in db.scalars(select(Incident))}
    listed = [r["service_request_id"] for r in GeoReport(live.base).get_service_requests()]
    assert listed == [mine]
    for cid in (field_id, hotline_id, console_id):
        resp = requests.get(f"{live.base}/requests/{numbers[cid]}.json", timeout=30)
        assert resp.status_code == 404
    asked = ",".join([numbers[field_id], mine, numbers[hotline_id]])
    assert [
        r["service_request_id"]
        for r in GeoReport(live.base).get_service_requests(service_request_id=asked)
    ] == [mine]
    assert requests.get(f"{live.base}/media/{photo}.jpg", timeout=30).status_code == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_filters(live: Open311World, fmt: str) -> None:
    w = live.world
    client = GeoReport(live.base, output_format=fmt)
    a = _file(live)
    b = _file(live, service_code="0203")
    c = _file(live)
    w.act("disp", _case_id(live, c), "reject", reason="不属实")
    old = _file(live)
    with w.session() as db:  # filed 100 days ago
        case = db.scalar(select(Incident).where(Incident.number == old))
        assert case is not None
        row = db.scalar(select(Open311Request).where(Open311Request.incident_id == case.id))
        assert row is not None and row.requested_at == case.reported_at
        case.reported_at = row.requested_at = case.reported_at - timedelta(days=100)
        db.commit()

    def ids(**args: Any) -> list[str]:
        rows = client.get_service_requests(**args)
        if isinstance(rows, dict):  # xmltodict: one <request> is a dict, not a list
            rows = [rows]
        return [r["service_request_id"] for r in rows]

    assert ids() == [c, b, a]  # newest first; the default window is the last 90 days
    assert ids(service_request_id=f"{b},{old},999999") == [b, old]  # overrides everything
    assert ids(service_request_id=f"{a},{b}", status="closed") == [a, b]
    assert ids(service_code="0203") == [b]
    assert ids(service_code="0203,0101") == [c, b, a]
    assert ids(status="open") == [b, a]
    assert ids(status="closed") == [c]
    assert ids(status="open,closed") == [c, b, a]
    now = datetime.now(UTC)
    start = (now - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(start_date=start, end_date=end) == [old]
    assert ids(start_date=start) == [old]  # start + 90 days
    assert ids(end_date=end) == [old]  # end - 90 days
    soon = (now + timedelta(minutes=5)).astimezone(SHANGHAI).isoformat()
    assert ids(end_date=soon) == [c, b, a]
    # The same with the '+' of the offset left unencoded (it arrives as a space).
    resp = requests.get(f"{live.base}/requests.json?end_date={soon}", timeout=30)
    assert "+08:00" in str(resp.request.url) and resp.status_code == 200, resp.text
    assert [r["service_request_id"] for r in resp.json()] == [c, b, a]
    assert ids(start_date=(now - timedelta(days=1)).date().isoformat()) == [c, b, a]


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_errors(live: Open311World, fmt: str) -> None:
    now = datetime.now(UTC)
    bad = [
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-45"}, "end_date"),
        ({"status": "pending"}, "status"),
        (
            {"start_date": (now - timedelta(days=100)).isoformat(), "end_date": now.isoformat()},
            "90 days",
        ),
        (
            {"start_date": now.isoformat(), "end_date": (now - timedelta(days=1)).isoformat()},
            "before",
        ),
        ({"service_request_id": ",".join(str(i) for i in range(1001))}, "at most"),
    ]
    for params, words in bad:
        resp = requests.get(f"{live.base}/requests.{fmt}", params=params, timeout=30)
        assert resp.status_code == 400, params
        assert any(words in e["description"] for e in errors(resp, fmt)), params
    for path, status in (("requests/999999", 404), ("requests/", 400)):
        resp = requests.get(f"{live.base}/{path}.{fmt}", timeout=30)
        assert resp.status_code == status, path
        assert errors(resp, fmt)[0]["code"] == status
    with pytest.raises(requests.HTTPError) as info:
        GeoReport(live.base, output_format=fmt).get_service_request("999999")
    assert info.value.response is not None and info.value.response.status_code == 404


def test_at_most_max_results(live: Open311World, monkeypatch: pytest.MonkeyPatch) -> None:
    numbers = [_file(live) for _ in range(3)]
    monkeypatch.setattr(sr, "MAX_RESULTS", 2)
    got = [r["service_request_id"] for r in GeoReport(live.base).get_service_requests()]
    assert got == numbers[::-1][:2]


def test_empty_list_and_xml_escaping(live: Open311World) -> None:
    resp = requests.get(f"{live.base}/requests.xml", timeout=30)
    assert resp.status_code == 200 and parse(resp, "xml") == {"service_requests": None}
    assert requests.get(f"{live.base}/requests.json", timeout=30).json() == []
    number = _file(live, description='<b>井盖</b> & \x07 "坑"')
    resp = requests.get(f"{live.base}/requests/{number}.xml", timeout=30)
    got = parse(resp, "xml")["service_requests"]["request"][0]
    assert got["description"] == '<b>井盖</b> &  "坑"'  # escaped, the control character dropped
    resp = requests.get(f"{live.base}/requests/{number}.json", timeout=30)
    assert resp.json()[0]["description"] == '<b>井盖</b> & \x07 "坑"'
