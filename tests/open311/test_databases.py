"""The whole round on SQLite and on PostgreSQL/PostGIS: file, see in the queue, follow."""

from __future__ import annotations

from tests import factories as f
from tests.open311.conftest import Open311World
from tests.open311.util import form


def test_round_trip(any_o311: Open311World) -> None:
    w, c = any_o311.world, any_o311.app.test_client()
    resp = c.post(
        "/open311/v2/requests.xml",
        data=form(any_o311.key, service_code="0303")
        | {"attribute[POLE]": "LD-7", "attribute[WHEN][]": ["night", "day"]},
    )
    assert resp.status_code == 200, resp.text
    assert resp.content_type == "text/xml; charset=utf-8"
    number = resp.text.split("<service_request_id>")[1].split("<")[0]

    disp = any_o311.app.test_client()
    f.login(disp, "disp")
    (item,) = [i for i in disp.get("/api/v1/cases").get_json()["items"] if i["number"] == number]
    w.act("disp", item["id"], "accept")
    w.act("disp", item["id"], "dispatch", department_id=w.departments["D1"], note="已派城管")

    got = c.get(f"/open311/v2/requests/{number}.json").get_json()
    assert len(got) == 1
    got = got[0]
    assert (got["status"], got["status_notes"], got["agency_responsible"]) == (
        "open",
        "已派城管",
        "城管",
    )
    assert got["expected_datetime"] and got["service_code"] == "0303"
    listed = c.get("/open311/v2/requests.json?status=open&service_code=0303").get_json()
    assert [r["service_request_id"] for r in listed] == [number]
    assert c.get("/open311/v2/requests.json?status=closed").get_json() == []
    w.act("disp", item["id"], "suspend", reason="待协调")
    assert c.get(f"/open311/v2/requests/{number}.json").get_json()[0]["status"] == "open"
    assert "13812345678" not in c.get("/open311/v2/requests.xml").text
