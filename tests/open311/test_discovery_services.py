"""Discovery, the service list and service definitions, read by the PyPI client ``georeport``
from the live app over HTTP, in JSON and XML."""

from __future__ import annotations

import pytest
import requests
from georeport import GeoReport
from sqlalchemy import select

from server.models import Category
from tests.open311.conftest import Open311World
from tests.open311.util import errors, parse

SPEC = "http://wiki.open311.org/GeoReport_v2"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery(live: Open311World, fmt: str) -> None:
    resp = requests.get(f"{live.base}/discovery.{fmt}", timeout=30)
    assert resp.status_code == 200
    body = parse(resp, fmt)
    if fmt == "xml":
        body = body["discovery"]
        endpoints = body["endpoints"]["endpoint"]
        formats = endpoints[0]["formats"]["format"]
    else:
        endpoints = body["endpoints"]
        formats = endpoints[0]["formats"]
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    assert all(body[k] for k in ("changeset", "contact", "key_service"))
    (endpoint,) = endpoints
    assert endpoint["specification"] == SPEC
    assert endpoint["url"] == live.base and endpoint["type"] == "production"
    assert endpoint["changeset"]
    assert formats == ["text/xml", "application/json"]
    root = requests.get(f"{live.base}/", timeout=30)  # the discovery document, as XML
    assert root.status_code == 200 and parse(root, "xml")["discovery"]["changeset"]
    # The endpoint the document names is the one that answers.
    client = GeoReport(endpoint["url"], output_format=fmt)
    assert client.get_service_list()


def _active_minor_codes(w: Open311World) -> list[str]:
    with w.world.session() as db:
        return sorted(
            c.code
            for c in db.scalars(select(Category).where(Category.parent_id.is_not(None)))
            if c.active
        )


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_list_with_the_client(live: Open311World, fmt: str) -> None:
    services = GeoReport(live.base, output_format=fmt).get_service_list()
    assert [s["service_code"] for s in services] == _active_minor_codes(live)
    by_code = {s["service_code"]: s for s in services}
    rubbish, lamp = by_code["0101"], by_code["0303"]
    for s in services:
        assert list(s) == [
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        ]
    if fmt == "xml":  # XML carries text: the spec's strict values
        assert (rubbish["metadata"], lamp["metadata"], rubbish["type"]) == (
            "false",
            "true",
            "realtime",
        )
    else:
        assert (rubbish["metadata"], lamp["metadata"], rubbish["type"]) == (False, True, "realtime")
    assert rubbish["service_name"] == "暴露垃圾" and rubbish["group"] == "市容环境"
    assert "Exposed rubbish" in rubbish["keywords"] and "4 个工作小时" in rubbish["description"]
    assert lamp["group"] == "公共设施"


def test_retired_categories_are_not_services(live: Open311World) -> None:
    with live.world.session() as db:
        cat = db.scalar(select(Category).where(Category.code == "0104"))
        major = db.scalar(select(Category).where(Category.code == "08"))
        assert cat is not None and major is not None
        cat.active = False
        major.active = False  # a retired major class retires its minors for Open311
        db.commit()
    codes = [s["service_code"] for s in GeoReport(live.base).get_service_list()]
    assert "0104" not in codes and "0801" not in codes and "0802" not in codes
    assert "0101" in codes
    for code in ("0104", "0801", "01"):  # retired, retired by its major, a major class
        resp = requests.get(f"{live.base}/services/{code}.json", timeout=30)
        assert resp.status_code == 404
        assert errors(resp, "json")[0]["code"] == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_definition_with_the_client(live: Open311World, fmt: str) -> None:
    client = GeoReport(live.base, output_format=fmt)
    definition = client.get_service_definition("0303")
    assert definition["service_code"] == "0303"
    if fmt == "xml":
        attrs = definition["attributes"]["attribute"]
        pole, kind, when, note = attrs
        assert (pole["variable"], pole["required"], pole["order"]) == ("true", "true", "1")
        assert [v["key"] for v in kind["values"]["value"]] == ["dark", "flicker"]
        assert note["variable"] == "false"
        assert kind["datatype_description"] is None  # an empty element
    else:
        pole, kind, when, note = definition["attributes"]
        assert (pole["variable"], pole["required"], pole["order"]) == (True, True, 1)
        assert kind["values"] == [
            {"key": "dark", "name": "不亮"},
            {"key": "flicker", "name": "闪烁"},
        ]
        assert note["variable"] is False and kind["datatype_description"] is None
    assert list(pole) == [
        "variable",
        "code",
        "datatype",
        "required",
        "datatype_description",
        "order",
        "description",
    ]
    assert pole["code"] == "POLE" and pole["datatype"] == "string"
    assert pole["datatype_description"] == "印在灯杆上的编号"
    assert kind["datatype"] == "singlevaluelist" and when["datatype"] == "multivaluelist"
    # A service without extra fields has an empty definition.
    plain = client.get_service_definition("0101")
    assert plain["service_code"] == "0101"
    assert plain["attributes"] in ([], None)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_errors(live: Open311World, fmt: str) -> None:
    resp = requests.get(f"{live.base}/services/9999.{fmt}", timeout=30)
    assert resp.status_code == 404
    (err,) = errors(resp, fmt)
    assert err["code"] == 404 and "9999" in err["description"]
    resp = requests.get(f"{live.base}/services/.{fmt}", timeout=30)
    assert resp.status_code == 400 and "not provided" in errors(resp, fmt)[0]["description"]
    # The georeport client raises on the error status.
    with pytest.raises(requests.HTTPError) as info:
        GeoReport(live.base, output_format=fmt).get_service_definition("9999")
    assert info.value.response is not None and info.value.response.status_code == 404


def test_unsupported_format_and_unknown_resource(live: Open311World) -> None:
    resp = requests.get(f"{live.base}/services.html", timeout=30)
    assert resp.status_code == 400 and "format" in errors(resp, "xml")[0]["description"]
    resp = requests.get(f"{live.base}/services/0101.yaml", timeout=30)
    assert resp.status_code == 400
    resp = requests.get(f"{live.base}/nothing/here.json", timeout=30)
    assert resp.status_code == 404 and errors(resp, "json")[0]["code"] == 404
    resp = requests.post(f"{live.base}/services.json", data={}, timeout=30)
    assert resp.status_code == 400 and "GET" in errors(resp, "json")[0]["description"]
    # Without an extension the answer is XML, the format the spec requires.
    resp = requests.get(f"{live.base}/services", timeout=30)
    assert resp.status_code == 200
    assert parse(resp, "xml")["services"]["service"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_jurisdiction(live: Open311World, fmt: str) -> None:
    settings = live.app.extensions["wangge.settings"]
    # Not configured: the argument is ignored, as the spec allows for one jurisdiction.
    assert GeoReport(
        live.base, jurisdiction="anything.example", output_format=fmt
    ).get_service_list()
    settings.open311_jurisdiction = "lingwu.gov.cn"
    assert GeoReport(live.base, jurisdiction="lingwu.gov.cn", output_format=fmt).get_service_list()
    assert GeoReport(live.base, output_format=fmt).get_service_list()  # one jurisdiction: optional
    for path in ("services", "services/0101", "requests", "requests/1", "tokens/x"):
        resp = requests.get(
            f"{live.base}/{path}.{fmt}", params={"jurisdiction_id": "yinchuan.gov.cn"}, timeout=30
        )
        assert resp.status_code == 404, path
        (err,) = errors(resp, fmt)
        assert "jurisdiction_id" in err["description"] and "yinchuan.gov.cn" in err["description"]
    with pytest.raises(requests.HTTPError):
        GeoReport(live.base, jurisdiction="yinchuan.gov.cn", output_format=fmt).get_service_list()
