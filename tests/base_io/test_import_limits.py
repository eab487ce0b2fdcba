"""What reading an upload may cost is bounded: zip members' declared sizes and compression
ratio before any XML is parsed, every row read (blank ones too), and a time budget — each a
clear 400/413 naming the limit (server/usecases/base_io/tabular.py: Limits)."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from server.domain.import_templates import ImportKind
from server.usecases.base_io import imports
from server.usecases.base_io.tabular import Limits, TableError, read_table
from server.usecases.errors import TooLarge
from tests.base_io.conftest import RESIDENT_HEADER, client_of, csv_bytes, upload, xlsx_bytes
from tests.workflow.world import World

_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas'
    '.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="'
    'application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
    'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="'
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
    'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas'
    '.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
    'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/'
    'workbook.xml"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas'
    '.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/>'
    "</sheets></workbook>",
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns='
    '"http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>',
}


def blank_bomb(rows: int, cells: int = 9) -> bytes:
    """An .xlsx: the residents header, then ``rows`` rows of blank cells (the tester's bomb)."""
    head = "".join(f'<c t="inlineStr"><is><t>{h}</t></is></c>' for h in RESIDENT_HEADER)
    row = "<row>" + '<c t="inlineStr"><is><t> </t></is></c>' * cells + "</row>"
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main"><sheetData><row>{head}</row>{row * rows}'
        "</sheetData></worksheet>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in _PARTS.items():
            z.writestr(name, text)
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def test_a_blank_cell_bomb_is_refused_before_parsing(world: World) -> None:
    data = blank_bomb(30_000)  # 5 MB of XML in ~40 KB
    assert len(data) < 100_000
    started = time.monotonic()
    resp = upload(client_of(world, "wg1"), "residents", data, "bomb.xlsx", store="none")
    assert time.monotonic() - started < 1.0
    assert resp.status_code == 413, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "file_too_large" and "压缩比" in body["message"]
    assert "100" in body["message"]  # names the limit


def test_blank_rows_count_against_the_row_limit(world: World) -> None:
    data = csv_bytes(RESIDENT_HEADER, [[""] * 9] * (imports.MAX_ROWS + 1))
    resp = upload(client_of(world, "wg1"), "residents", data, store="none")
    assert resp.status_code == 400, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "too_many_rows" and str(imports.MAX_ROWS) in body["message"]


def test_the_row_limit_counts_blank_rows_of_a_sheet_too() -> None:
    data = blank_bomb(50)
    table = read_table(data, limits=Limits(max_rows=20))
    with pytest.raises(TableError) as err:
        list(table.rows)
    assert err.value.code == "too_many_rows" and "20" in err.value.zh


def test_the_declared_uncompressed_size_is_capped() -> None:
    data = xlsx_bytes(RESIDENT_HEADER, [["张三"] * 9] * 50)
    with pytest.raises(TableError) as err:
        read_table(data, limits=Limits(max_unzipped=4096))
    assert err.value.status == 413 and err.value.code == "file_too_large"
    assert "4 KB" in err.value.zh
    assert read_table(data).header[0] == "姓名"


def test_reading_stops_at_the_time_budget() -> None:
    data = xlsx_bytes(
        RESIDENT_HEADER, [["张三", "", "", "户籍", "", "幸福路1号", "", "", ""]] * 200
    )
    with pytest.raises(TooLarge) as err:
        imports.read_rows(ImportKind.RESIDENTS, data, None, Limits(seconds=0.0))
    assert err.value.status == 413 and "秒" in err.value.message
    assert len(imports.read_rows(ImportKind.RESIDENTS, data, None)[1]) == 200
