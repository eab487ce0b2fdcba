"""Imports of base data: every row checked first, a reason per bad row, nothing stored unless
every row is valid (or an admin stores the valid rows); CSV in UTF-8 or GBK, .xlsx."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from server.domain.identity import make_credit_code
from server.models import Household, Organisation, Place, Residence, Resident
from tests.base_io.conftest import (
    ADDRESS_HEADER,
    ORG_HEADER,
    RESIDENT_HEADER,
    bad_check,
    client_of,
    csv_bytes,
    person_id,
    read_xlsx,
    seed_rooms,
    upload,
    xlsx_bytes,
)
from tests.workflow.world import G1, G2, World

DOOR = "幸福路12号"


def _count(w: World, model: object) -> int:
    with w.session() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


def _resident_rows(n: int, rooms: int = 8, start: int = 0) -> list[list[str]]:
    return [
        [f"居民{i}", person_id(start + i), "", "户籍", "户主" if i % 3 == 0 else "子女", DOOR,
         "3栋", "1单元", str(100 * ((i % rooms) // 4 + 1) + (i % rooms) % 4 + 1)]
        for i in range(n)
    ]  # fmt: skip


def test_template_has_the_chinese_headers(world: World) -> None:
    c = client_of(world, "admin")
    resp = c.get("/api/v1/base/imports/residents/template")
    assert resp.status_code == 200
    sheets = read_xlsx(resp.data)
    first = sheets["实有人口"]
    assert first[1][:2] == ["姓名*", "公民身份号码*"]
    assert "填写说明" in sheets
    assert client_of(world, "wg1").get("/api/v1/base/imports/addresses/template").status_code == 200
    assert client_of(world, "sup").get("/api/v1/base/imports/addresses/template").status_code == 403
    assert c.get("/api/v1/base/imports/people/template").status_code == 404


def test_addresses_then_residents_round_trip(world: World) -> None:
    c = client_of(world, "admin")
    seed_rooms(c, G1, DOOR, 8)
    with world.session() as db:
        kinds = dict(db.execute(select(Place.kind, func.count()).group_by(Place.kind)).all())
    assert kinds == {"estate": 1, "building": 1, "unit": 1, "room": 8}
    # the filled-in template itself (instructions above the header) reads back
    data = xlsx_bytes(RESIDENT_HEADER, _resident_rows(6), above="填写说明：…")
    resp = upload(c, "residents", data, "people.xlsx")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()["import"]
    assert (body["rows"], body["invalid"], body["stored"], body["file_kind"]) == (6, 0, 6, "xlsx")
    assert _count(world, Resident) == 6
    assert _count(world, Residence) == 6
    assert _count(world, Household) == 6  # rooms 101..104, 201, 202: one household each
    with world.session() as db:
        r = db.scalar(select(Resident).where(Resident.name == "居民1"))
        assert r is not None and r.grid_code == G1 and r.id_mask.startswith("6401")
        assert person_id(1) not in r.id_mask


def test_every_bad_row_is_named_and_nothing_is_stored(world: World) -> None:
    c = client_of(world, "admin")
    seed_rooms(c, G1, DOOR, 8)
    upload(c, "residents", csv_bytes(RESIDENT_HEADER, _resident_rows(1, start=500)))
    rows = _resident_rows(6)
    rows[1][1] = bad_check(rows[1][1])  # row 3 of the file
    rows[3][1] = rows[2][1]  # row 5 repeats row 4
    rows[4][5] = "不存在路1号"  # row 6
    rows[5][1] = person_id(500)  # row 7: registered already
    resp = upload(c, "residents", csv_bytes(RESIDENT_HEADER, rows))
    assert resp.status_code == 422
    body = resp.get_json()["import"]
    errors = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert "校验码" in errors[(3, "公民身份号码")]
    assert errors[(5, "公民身份号码")] == "与第 4 行重复"
    assert "未登记" in errors[(6, "门牌地址")]
    assert "已登记" in errors[(7, "公民身份号码")]
    assert (body["invalid"], body["stored"]) == (4, 0)
    assert _count(world, Resident) == 1
    # the result file: a reason per bad row, naming the column
    resp = upload(c, "residents", csv_bytes(RESIDENT_HEADER, rows), answer="xlsx")
    assert resp.status_code == 200 and resp.headers["X-Import-Invalid"] == "4"
    sheet = read_xlsx(resp.data)["导入结果"]
    head = sheet.index(["行号", "结果", "错误原因", *[h.rstrip("*") for h in RESIDENT_HEADER]])
    by_row = {r[0]: r for r in sheet[head + 1 :]}
    assert by_row[3][1] == "错误" and "「公民身份号码」" in by_row[3][2]
    assert by_row[2][1] == "通过"
    assert _count(world, Resident) == 1


def test_store_the_valid_rows_is_an_admins_explicit_choice(world: World) -> None:
    admin = client_of(world, "admin")
    seed_rooms(admin, G1, DOOR, 8)
    rows = _resident_rows(5)
    rows[2][1] = bad_check(rows[2][1])
    data = csv_bytes(RESIDENT_HEADER, rows)
    resp = upload(client_of(world, "disp"), "residents", data, store="valid")
    assert resp.status_code == 403
    resp = upload(admin, "residents", data, store="valid")
    assert resp.status_code == 201
    assert resp.get_json()["import"]["stored"] == 4
    with world.session() as db:
        names = set(db.scalars(select(Resident.name)))
    assert names == {"居民0", "居民1", "居民3", "居民4"}


def test_check_only_stores_nothing(world: World) -> None:
    c = client_of(world, "admin")
    seed_rooms(c, G1, DOOR, 8)
    resp = upload(c, "residents", csv_bytes(RESIDENT_HEADER, _resident_rows(3)), store="none")
    assert resp.status_code == 200
    assert resp.get_json()["import"]["valid"] == 3
    assert _count(world, Resident) == 0


def test_gbk_csv_is_detected_and_said(world: World) -> None:
    c = client_of(world, "admin")
    seed_rooms(c, G1, DOOR, 8)
    data = csv_bytes(RESIDENT_HEADER, _resident_rows(3), encoding="gbk")
    resp = upload(c, "residents", data)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()["import"]
    assert (body["encoding"], body["encoding_label"]) == ("gb18030", "GB18030/GBK")
    with world.session() as db:
        assert set(db.scalars(select(Resident.name))) == {"居民0", "居民1", "居民2"}
    # told it is UTF-8, the same bytes are refused with the byte where it fails
    resp = upload(c, "residents", data, encoding="utf-8")
    assert resp.status_code == 400
    assert "UTF-8" in resp.get_json()["message"]
    # neither encoding: refused, nothing guessed
    resp = upload(c, "residents", "姓名*".encode() + b"\xff\xfe\xfa\x80\x81\n")
    assert resp.status_code == 400


def test_missing_header_is_named(world: World) -> None:
    c = client_of(world, "admin")
    resp = upload(c, "residents", csv_bytes(["姓名", "电话"], [["张三", "1"]]))
    assert resp.status_code == 400
    assert "公民身份号码" in resp.get_json()["message"]


def test_rooms_outside_the_importers_grids(world: World) -> None:
    admin = client_of(world, "admin")
    seed_rooms(admin, G2, "和平路8号", 4, estate="和平小区")
    wg1 = client_of(world, "wg1")
    # an address row in a grid that is not wg1's
    resp = upload(
        wg1,
        "addresses",
        csv_bytes(ADDRESS_HEADER, [[G2, "和平小区", "9栋", "", "1", "和平路9号", "", ""]]),
    )
    assert resp.status_code == 422
    assert resp.get_json()["import"]["errors"][0]["column"] == "网格编码"
    # a building already in G2, given as G1
    resp = upload(
        admin,
        "addresses",
        csv_bytes(ADDRESS_HEADER, [[G1, "和平小区", "3栋", "1单元", "999", "和平路8号", "", ""]]),
    )
    assert resp.status_code == 422
    msg = resp.get_json()["import"]["errors"][0]["message"]
    assert G2 in msg and "网格" in msg
    # residents of a room in G2, imported by the worker of G1
    rows = [["王五", person_id(9), "", "流动", "户主", "和平路8号", "3栋", "1单元", "101"]]
    resp = upload(wg1, "residents", csv_bytes(RESIDENT_HEADER, rows))
    assert resp.status_code == 422
    assert "管辖" in resp.get_json()["import"]["errors"][0]["message"]
    assert (
        upload(client_of(world, "wg2"), "residents", csv_bytes(RESIDENT_HEADER, rows)).status_code
        == 201
    )
    assert (
        upload(client_of(world, "h1"), "residents", csv_bytes(RESIDENT_HEADER, rows)).status_code
        == 403
    )


def test_duplicate_rooms_in_file_and_database(world: World) -> None:
    c = client_of(world, "admin")
    seed_rooms(c, G1, DOOR, 2)
    rows = [
        [G1, "幸福小区", "3号楼", "1单元", "101", DOOR, "", ""],  # 3号楼 is 3栋: registered
        [G1, "幸福小区", "3栋", "1单元", "301", DOOR, "", ""],
        [G1, "幸福小区", "3栋", "1单元", "301", DOOR, "", ""],
    ]
    resp = upload(c, "addresses", csv_bytes(ADDRESS_HEADER, rows))
    errors = resp.get_json()["import"]["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "房号"), (4, "房号")]
    assert errors[1]["message"] == "与第 3 行重复"


def test_organisations_check_the_credit_code(world: World) -> None:
    c = client_of(world, "admin")
    seed_rooms(c, G1, DOOR, 1)
    good = make_credit_code("91640181MA7" + "6XY12" + "3")
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    rows = [["示例商贸有限公司", good, "企业", DOOR, "李四", "13800001111"],
            ["另一公司", bad, "企业", DOOR, "", ""]]  # fmt: skip
    resp = upload(c, "organisations", csv_bytes(ORG_HEADER, rows))
    assert resp.status_code == 422
    (err,) = resp.get_json()["import"]["errors"]
    assert (err["row"], err["column"]) == (3, "统一社会信用代码")
    resp = upload(c, "organisations", csv_bytes(ORG_HEADER, rows[:1]))
    assert resp.status_code == 201
    with world.session() as db:
        org = db.scalar(select(Organisation))
        assert org is not None and org.grid_code == G1 and org.contact_phone_mask == "138****1111"
        assert org.contact_phone_cipher and b"13800001111" not in org.contact_phone_cipher


def test_imported_people_are_the_apps_people(world: World) -> None:
    """A number imported is found by the API's exact search (the same keyed hash), and one
    registered through the API is a duplicate for an import."""
    c = client_of(world, "admin")
    seed_rooms(c, G1, DOOR, 8)
    assert upload(c, "residents", csv_bytes(RESIDENT_HEADER, _resident_rows(2))).status_code == 201
    disp = client_of(world, "disp")
    found = disp.get("/api/v1/base/residents", query_string={"id_number": person_id(1)})
    assert found.status_code == 200, found.get_json()
    assert [r["name"] for r in found.get_json()["items"]] == ["居民1"]
    with world.session() as db:
        room = db.scalar(select(Place).where(Place.kind == "room", Place.name == "101"))
        assert room is not None
        home = db.scalar(select(Household.id).where(Household.place_id == room.id))
    made = c.post(
        "/api/v1/base/residents",
        json={"uuid": str(uuid.uuid4()), "name": "赵六", "id_number": person_id(700),
              "registration": "registered", "relation": "head", "household_id": home},
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    rows = _resident_rows(1, start=700)
    resp = upload(c, "residents", csv_bytes(RESIDENT_HEADER, rows))
    assert resp.status_code == 422
    assert "已登记" in resp.get_json()["import"]["errors"][0]["message"]
    # and the phone/identity number a clear export shows decrypt with the app's columns
    reveal = disp.post(
        f"/api/v1/base/residents/{found.get_json()['items'][0]['id']}/reveal",
        json={"reason": "核对身份", "fields": ["id_number"]},
    )
    assert reveal.status_code == 200, reveal.get_json()
    assert reveal.get_json()["id_number"] == person_id(1)


def test_bidi_controls_are_refused_per_row(world: World) -> None:
    """A name or an address with a bidirectional-text control (U+202A–U+202E, U+2066–U+2069)
    would read on screen differently from what is stored: the row is refused, naming the cell
    and the character, and nothing is stored (as the API refuses them)."""
    c = client_of(world, "admin")
    seed_rooms(c, G1, DOOR, 8)
    rows = _resident_rows(5)
    rows[1][0] = "张三\u202emoc.live"  # row 3: right-to-left override in 姓名
    rows[2][5] = DOOR + "\u2066"  # row 4: an isolate in 门牌地址
    rows[3][0] = "李四\u202a"  # row 5: an embedding
    resp = upload(c, "residents", csv_bytes(RESIDENT_HEADER, rows))
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()["import"]
    errors = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert set(errors) == {(3, "姓名"), (4, "门牌地址"), (5, "姓名")}, errors
    assert "文字方向控制符 U+202E" in errors[(3, "姓名")]
    assert "U+2066" in errors[(4, "门牌地址")] and "U+202A" in errors[(5, "姓名")]
    assert (body["invalid"], body["stored"]) == (3, 0)
    assert _count(world, Resident) == 0
    addresses = upload(
        c,
        "addresses",
        csv_bytes(ADDRESS_HEADER, [[G1, "阳光小区\u2069", "1栋", "", "", "阳光路1号", "", ""]]),
    )
    assert addresses.status_code == 422
    assert addresses.get_json()["import"]["errors"][0]["column"] == "小区/自然村"


def test_an_invisible_name_is_refused_per_row(world: World) -> None:
    """A name of zero-width characters only, or holding a tab, shows nothing or breaks the
    line: refused as the API refuses it (server/domain/names.py), naming the cell."""
    c = client_of(world, "admin")
    seed_rooms(c, G1, DOOR, 8)
    rows = _resident_rows(3)
    rows[0][0] = "\u200b\u200b"  # row 2: zero-width spaces only in 姓名
    rows[1][0] = "张\t三"  # row 3: a tab
    resp = upload(c, "residents", csv_bytes(RESIDENT_HEADER, rows))
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()["import"]
    errors = {(e["row"], e["column"]): e["message"] for e in body["errors"]}
    assert set(errors) == {(2, "姓名"), (3, "姓名")}, errors
    assert "可见文字" in errors[(2, "姓名")] and "控制字符" in errors[(3, "姓名")]
    assert _count(world, Resident) == 0


def test_a_control_character_in_any_cell_is_refused_per_row(world: World) -> None:
    """An address (not a name) with ESC, a tab, a C1 control or a line separator was stored as
    sent, where the API refuses the same text (a re-attack): every cell stands on one line."""
    c = client_of(world, "admin")
    rows = [[G1, "阳光小区", f"{n}栋", "", "", f"新路{bad}4号", "", ""]
            for n, bad in enumerate(("\x1b[31m", "\t", "\u009b", "\u2028"), start=1)]  # fmt: skip
    resp = upload(c, "addresses", csv_bytes(ADDRESS_HEADER, rows))
    assert resp.status_code == 422, resp.get_json()
    errors = resp.get_json()["import"]["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(r, "门牌地址") for r in (2, 3, 4, 5)]
    assert all("控制字符" in e["message"] for e in errors), errors
    assert _count(world, Place) == 0


def test_the_import_page_cache_is_the_imports_alone(world: World) -> None:
    """SQLite: the import stores with a larger page cache (index pages of a county stay in
    memory) and gives the connection back with the cache it had, even when the store fails."""
    from sqlalchemy import text

    from server.usecases.base_io import imports

    with world.session() as db:
        before = db.execute(text("PRAGMA cache_size")).scalar()
        with imports._roomy_page_cache(db):
            inside = db.execute(text("PRAGMA cache_size")).scalar()
        assert inside == -imports.IMPORT_CACHE_KIB and inside != before
        assert db.execute(text("PRAGMA cache_size")).scalar() == before
        try:
            with imports._roomy_page_cache(db):
                raise RuntimeError("a failed store")
        except RuntimeError:
            pass
        assert db.execute(text("PRAGMA cache_size")).scalar() == before
