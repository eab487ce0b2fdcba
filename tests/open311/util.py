"""Helpers for the Open311 tests: raw HTTP, parsing both formats, the case behind a request."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import requests
import xmltodict
from sqlalchemy import select

from server.models import Incident
from tests.workflow.world import IN_G1, World

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def form(key: str, **extra: Any) -> dict[str, Any]:
    """A valid POST body: 暴露垃圾 in grid G1, with the caller's contact data."""
    return {
        "api_key": key,
        "service_code": "0101",
        "lat": str(IN_G1[1]),
        "long": str(IN_G1[0]),
        "address_string": "城区街道人民路 12 号",
        "description": "垃圾桶满溢，已两天无人清运",
        "first_name": "三",
        "last_name": "张",
        "phone": "13812345678",
        "email": "zhangsan@example.cn",
        "account_id": "acct-778899",
        "device_id": "dev-445566",
        **extra,
    }


def post(base: str, fmt: str, data: Any) -> requests.Response:
    return requests.post(f"{base}/requests.{fmt}", data=data, timeout=30)


def parse(resp: requests.Response, fmt: str) -> Any:
    """The answer in the Spark shape whichever format it came in (XML lists → lists)."""
    if fmt == "json":
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
        return resp.json()
    assert resp.headers["Content-Type"] == "text/xml; charset=utf-8"
    text = resp.content.decode("utf-8")
    assert text.startswith(XML_DECLARATION), text[:80]
    ET.fromstring(resp.content)  # well-formed
    return xmltodict.parse(
        resp.content,
        force_list=("service", "request", "attribute", "value", "endpoint", "format", "error"),
    )


def errors(resp: requests.Response, fmt: str) -> list[dict[str, Any]]:
    """The spec's error array, checked for shape, as [{code, description}]."""
    body = parse(resp, fmt)
    if fmt == "xml":
        assert list(body) == ["errors"], body
        body = [
            {"code": int(e["code"]), "description": e["description"]}
            for e in body["errors"]["error"]
        ]
    assert isinstance(body, list) and body, body
    for e in body:
        assert set(e) == {"code", "description"} and isinstance(e["code"], int), e
        assert e["description"], e
    return body  # type: ignore[no-any-return]


def case_by_number(w: World, number: str) -> Incident:
    with w.session() as db:
        case = db.scalar(select(Incident).where(Incident.number == number))
        assert case is not None, number
        return case
