"""A damaged upload is a 400 ``unreadable`` naming where it breaks, never a 500: an .xlsx whose
sheet is cut off or uses an undefined entity after the header row (the XML is parsed row by row,
after the header was found), and a CSV in no known encoding names the byte where it breaks."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from server.models import Organisation, Place, Resident
from server.usecases.base_io.tabular import TableError, decode_csv
from tests.base_io.conftest import ADDRESS_HEADER, ORG_HEADER, RESIDENT_HEADER, client_of, upload
from tests.base_io.test_import_limits import _PARTS
from tests.workflow.world import World

HEADERS = {"addresses": ADDRESS_HEADER, "residents": RESIDENT_HEADER, "organisations": ORG_HEADER}
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _cell(text: str) -> str:
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'


def damaged(header: list[str], tail: str, doctype: str = "") -> bytes:
    """An .xlsx whose sheet has the header row, 200 rows of one cell (so that the header is read
    before the damage: openpyxl parses the sheet as a stream), then ``tail`` as it is."""
    head = "<row>" + "".join(_cell(h) for h in header) + "</row>"
    filler = "".join(f"<row>{_cell(f'x{i}')}</row>" for i in range(200))
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<worksheet xmlns="{_NS}">'
        f'<dimension ref="A1:I999"/><sheetData>{head}{filler}{tail}'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in _PARTS.items():
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


ENTITY_ROW = f"<row>{_cell('&undefined;')}</row></sheetData></worksheet>"
DAMAGE = {
    "cut_off": ("", ""),
    "undefined_entity": (ENTITY_ROW, ""),
    "undefined_entity_with_doctype": (ENTITY_ROW, '<!DOCTYPE worksheet [<!ENTITY x "1">]>'),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_a_damaged_sheet_is_a_400_unreadable(world: World, kind: str, damage: str) -> None:
    tail, doctype = DAMAGE[damage]
    data = damaged(HEADERS[kind], tail, doctype)
    resp = upload(client_of(world, "admin"), kind, data, "damaged.xlsx")
    assert resp.status_code == 400, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "unreadable", body
    assert ".xlsx" in body["message"] and "第 202 行" in body["message"], body
    with world.session() as db:
        for model in (Place, Resident, Organisation):
            assert db.scalar(select(func.count()).select_from(model)) == 0


def test_a_csv_in_no_known_encoding_names_the_byte_where_it_breaks() -> None:
    """GBK text (not UTF-8 from its first byte) with a byte at 72 that GBK has not either."""
    text = "姓名,公民身份号码,户籍类别,门牌地址\n张三,110101199003071234,户籍,幸福路".encode("gbk")
    data = text + b"\xff\xfe\n"
    bad = len(text) + 1  # 1-based
    assert bad == 72
    with pytest.raises(TableError) as err:
        decode_csv(data)
    assert "第 72 个字节" in err.value.zh and "byte 72" in err.value.en, err.value.zh
    assert "GBK" in err.value.zh
    # and the same bytes read as told: UTF-8 breaks at the first Chinese byte, GBK at 72
    with pytest.raises(TableError) as err:
        decode_csv(data, "utf-8")
    assert "第 1 个字节" in err.value.zh
    with pytest.raises(TableError) as err:
        decode_csv(data, "gbk")
    assert "第 72 个字节" in err.value.zh


def test_a_utf8_byte_order_mark_counts_in_the_offset() -> None:
    data = b"\xef\xbb\xbf" + "姓名,电话\n张三,".encode() + b"\xff\n"
    with pytest.raises(TableError) as err:
        decode_csv(data, "utf-8")
    assert f"第 {len(data) - 1} 个字节" in err.value.zh, err.value.zh
