"""Exports of personal data: only for the roles allowed, masked unless the role may see in
clear (with a reason), the exporter named in the file, every resident's read logged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.models import PersonalDataRead
from tests.base_io.conftest import (
    RESIDENT_HEADER,
    client_of,
    csv_bytes,
    person_id,
    read_xlsx,
    seed_rooms,
    upload,
)
from tests.workflow.world import G1, World

DOOR = "幸福路12号"


@pytest.fixture
def people(world: World) -> World:
    c = client_of(world, "admin")
    seed_rooms(c, G1, DOOR, 4)
    rows = [[f"居民{i}", person_id(i), f"1380000000{i}", "户籍", "户主", DOOR, "3栋", "1单元",
             str(101 + i)] for i in range(3)]  # fmt: skip
    assert upload(c, "residents", csv_bytes(RESIDENT_HEADER, rows)).status_code == 201
    return world


def _logged(w: World) -> list[PersonalDataRead]:
    with w.session() as db:
        return list(
            db.scalars(select(PersonalDataRead).where(PersonalDataRead.purpose == "export"))
        )


@pytest.mark.parametrize(
    ("who", "status"),
    [("wg1", 403), ("h1", 403), ("disp", 200), ("sup", 200), ("admin", 200), ("dispb", 200)],
)
def test_who_may_export(people: World, who: str, status: int) -> None:
    resp = client_of(people, who).get("/api/v1/base/exports/residents")
    assert resp.status_code == status
    if status == 200:
        sheet = read_xlsx(resp.data)["实有人口"]
        text = "\n".join(str(c) for row in sheet for c in row if c)
        assert f"导出人：{who}" in text
        expected = 0 if who == "dispb" else 3  # county B's dispatcher: none of county A's people
        assert len(sheet) - 4 == expected
        assert len(_logged(people)) == expected


def test_masked_by_default_and_clear_only_with_a_reason(people: World) -> None:
    sup = client_of(people, "sup")
    sheet = read_xlsx(sup.get("/api/v1/base/exports/residents").data)["实有人口"]
    header = sheet[3]
    col_id, col_phone = header.index("公民身份号码"), header.index("联系电话")
    rows = sheet[4:]
    assert all("*" in r[col_id] and "*" in r[col_phone] for r in rows)
    assert not {person_id(i) for i in range(3)} & {r[col_id] for r in rows}
    assert "已脱敏" in sheet[0][0]
    # Masked: the birth year, not the date (with the mask it would tell the number).
    col_born = header.index("出生年份")
    assert all(len(str(r[col_born])) == 4 and "-" not in str(r[col_born]) for r in rows)
    zero_width = sup.get("/api/v1/base/exports/residents?clear=1&reason=%E2%80%8B%E2%80%8B..")
    assert zero_width.status_code == 400
    # clear: a reason is required, and the roles allowed are named by the policy
    assert sup.get("/api/v1/base/exports/residents?clear=1").status_code == 400
    resp = sup.get("/api/v1/base/exports/residents?clear=1&reason=民政核对低保名单")
    assert resp.status_code == 200
    sheet = read_xlsx(resp.data)["实有人口"]
    assert {r[col_id] for r in sheet[4:]} == {person_id(i) for i in range(3)}
    assert "出生日期" in sheet[3]
    assert "民政核对低保名单" in sheet[0][0]
    logged = [r for r in _logged(people) if r.fields]
    assert len(logged) == 3 and {r.reason for r in logged} == {"民政核对低保名单"}
    assert (
        client_of(people, "admin")
        .get("/api/v1/base/exports/residents?clear=1&reason=测试")
        .status_code
        == 403
    )


def test_addresses_export_reads_back_as_an_import(people: World) -> None:
    c = client_of(people, "admin")
    resp = c.get("/api/v1/base/exports/addresses")
    assert resp.status_code == 200
    sheet = read_xlsx(resp.data)["地址房屋"]
    assert sheet[3][0] == "网格编码*"
    assert len(sheet) - 4 == 4
    # the same file, imported again: every room is already registered
    resp = upload(c, "addresses", resp.data, "addresses.xlsx")
    body = resp.get_json()["import"]
    assert body["invalid"] == 4 and body["stored"] == 0
    assert {e["message"] for e in body["errors"]} == {"该房屋已登记"}


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site"])
def test_another_site_cannot_make_a_signed_in_browser_export(people: World, site: str) -> None:
    """The session cookie is SameSite=Lax, so a link or a redirect from another site brings it
    on a GET: without the Fetch Metadata rule it exported the clear numbers under the signed-in
    user's name with the other site's reason. Nothing of such a request is read or logged."""
    sup = client_of(people, "sup")
    url = "/api/v1/base/exports/residents?clear=1&reason=跨站伪造"
    resp = sup.get(url, headers={"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "navigate"})
    assert resp.status_code == 403 and resp.get_json()["error"] == "cross_site"
    assert _logged(people) == []
    # a write from another site too, before its CSRF token is even looked at
    other = sup.post("/api/v1/auth/logout", headers={"Sec-Fetch-Site": site})
    assert other.status_code == 403 and other.get_json()["error"] == "cross_site"
    # the app's own requests, a URL typed in, and clients that send no such header go through
    for own in ({"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}, {}):
        assert sup.get(url, headers=own).status_code == 200
    assert len(_logged(people)) == 9
