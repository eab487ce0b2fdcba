from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook

from server.domain.identity import make_id_number
from tests import factories as f
from tests.workflow.world import World, build


@pytest.fixture
def world(app: Flask) -> World:
    return build(app)


@pytest.fixture
def any_world(any_app: Flask) -> World:
    return build(any_app)


def client_of(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def person_id(n: int, born: date = date(1980, 1, 1), region: str = "640181") -> str:
    """A valid, fictitious identity number: sequence n (mod 1000) on a birth date that moves
    with n // 1000, so up to ~3 million distinct numbers."""
    day = date.fromordinal(born.toordinal() + n // 1000)
    return make_id_number(region, day, n % 1000)


def bad_check(ident: str) -> str:
    last = ident[-1]
    return ident[:-1] + ("0" if last != "0" else "1")


def csv_bytes(
    header: Sequence[str], rows: Sequence[Sequence[Any]], encoding: str = "utf-8"
) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def xlsx_bytes(header: Sequence[str], rows: Sequence[Sequence[Any]], above: str = "") -> bytes:
    wb = Workbook()
    ws = wb.active
    if above:
        ws.append([above])
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read_xlsx(data: bytes) -> dict[str, list[list[Any]]]:
    wb = load_workbook(io.BytesIO(data))
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


ADDRESS_HEADER = ["网格编码*", "小区/自然村*", "楼栋", "单元", "房号", "门牌地址*", "经度", "纬度"]
RESIDENT_HEADER = [
    "姓名*",
    "公民身份号码*",
    "联系电话",
    "户籍类别*",
    "与户主关系",
    "门牌地址*",
    "楼栋",
    "单元",
    "房号",
]
ORG_HEADER = ["单位名称*", "统一社会信用代码*", "单位类型", "门牌地址*", "联系人", "联系电话"]


def upload(c: FlaskClient, kind: str, data: bytes, name: str = "f.csv", **form: str) -> Any:
    return c.post(
        f"/api/v1/base/imports/{kind}",
        data={"file": (io.BytesIO(data), name), **form},
        content_type="multipart/form-data",
    )


def seed_rooms(
    c: FlaskClient,
    grid: str,
    door: str,
    rooms: int,
    estate: str = "幸福小区",
    building: str = "3栋",
    units: int = 1,
) -> Any:
    rows = [
        [grid, estate, building, f"{u + 1}单元", str(100 * (r // 4 + 1) + r % 4 + 1), door, "", ""]
        for u in range(units)
        for r in range(rooms)
    ]
    resp = upload(c, "addresses", csv_bytes(ADDRESS_HEADER, rows))
    assert resp.status_code == 201, resp.get_json()
    return rows
