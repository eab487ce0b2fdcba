"""What reading an upload may cost is bounded: zip members' declared sizes and compression
ratio before any XML is parsed, every row read (blank ones too), and a time budget — each a
clear 400/413 naming the limit (server/usecases/base_io/tabular.py: Limits)."""

from __future__ import annotations

import base64
import io
import random
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


_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def shared_strings_xlsx(part: str = "xl/sharedStrings.xml", padding: str = "") -> bytes:
    """An .xlsx whose header cells are shared strings held in ``part`` (named as such in
    [Content_Types].xml), ``padding`` in a comment of that part."""
    strings = "".join(f"<si><t>{h}</t></si>" for h in RESIDENT_HEADER)
    head = "".join(f'<c t="s"><v>{i}</v></c>' for i in range(len(RESIDENT_HEADER)))
    parts = dict(_PARTS)
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        "</Types>", f'<Override PartName="/{part}" ContentType="{_SST_TYPE}"/></Types>'
    )
    parts[part] = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><!--{padding}-->{strings}</sst>'
    )
    parts["xl/worksheets/sheet1.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main"><sheetData><row>{head}</row></sheetData></worksheet>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return out.getvalue()


def declaring(data: bytes, name: str, size: int) -> bytes:
    """``data`` (a zip) whose central directory declares ``size`` bytes for member ``name``
    (what the caps read; nothing is inflated to find out)."""
    buf = bytearray(data)
    key = name.encode()
    at = buf.find(b"PK\x01\x02")
    while at >= 0:
        length = int.from_bytes(buf[at + 28 : at + 30], "little")
        if bytes(buf[at + 46 : at + 46 + length]) == key:
            buf[at + 24 : at + 28] = size.to_bytes(4, "little")
            return bytes(buf)
        at = buf.find(b"PK\x01\x02", at + 46)
    raise AssertionError(name)


def _noise(n: int) -> str:
    return base64.b64encode(random.Random(n).randbytes(n)).decode()


def test_shared_strings_declaring_more_than_the_cap_are_refused(world: World) -> None:
    # the tester's bomb in kind: a large shared-strings part, well under the total and the ratio
    data = shared_strings_xlsx(padding=_noise(400_000))
    assert read_table(data).header[0] == "姓名"
    bomb = declaring(data, "xl/sharedStrings.xml", 25 * 2**20)
    with zipfile.ZipFile(io.BytesIO(bomb)) as z:
        info = z.getinfo("xl/sharedStrings.xml")
        assert info.file_size < 100 * info.compress_size  # the ratio check lets it through
    resp = upload(client_of(world, "wg1"), "residents", bomb, "bomb.xlsx", store="none")
    assert resp.status_code == 413, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "file_too_large"
    assert "xl/sharedStrings.xml" in body["message"] and "24 MB" in body["message"]


def test_the_shared_strings_cap_follows_the_content_types() -> None:
    data = shared_strings_xlsx("xl/s.xml", padding="x" * 2000)
    assert read_table(data).header[0] == "姓名"  # openpyxl finds it there
    with pytest.raises(TableError) as err:
        read_table(data, limits=Limits(max_shared_strings=1024))
    assert err.value.status == 413 and err.value.code == "file_too_large"
    assert "xl/s.xml" in err.value.zh and "1 KB" in err.value.zh


def test_styles_declaring_more_than_the_cap_are_refused(world: World) -> None:
    data = xlsx_bytes(RESIDENT_HEADER, [["张三"] * 9] * 5)
    styles = zipfile.ZipFile(io.BytesIO(data)).read("xl/styles.xml").decode()
    padded = _with_part(data, "xl/styles.xml", styles + f"<!--{_noise(40_000)}-->")
    assert read_table(padded).header[0] == "姓名"
    bomb = declaring(padded, "xl/styles.xml", 3 * 2**20)
    resp = upload(client_of(world, "wg1"), "residents", bomb, "bomb.xlsx", store="none")
    assert resp.status_code == 413, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "file_too_large"
    assert "xl/styles.xml" in body["message"] and "2 MB" in body["message"]


def _with_part(data: bytes, name: str, text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            if info.filename != name:
                z.writestr(info, src.read(info))
        z.writestr(name, text, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_a_csv_row_of_too_many_columns_is_refused_before_it_is_split(world: World) -> None:
    head = ",".join(RESIDENT_HEADER)
    data = (head + "\n" + "ab," * 300_000 + "\n").encode()
    resp = upload(client_of(world, "wg1"), "residents", data, store="none")
    assert resp.status_code == 400, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "too_many_columns"
    assert "200" in body["message"] and "第 2 行" in body["message"]
    with pytest.raises(TableError) as err:  # a header too
        read_table(("ab," * 300_000 + "\n").encode())
    assert err.value.code == "too_many_columns" and "第 1 行" in err.value.zh
    table = read_table((head + "\n" + "," * 199 + "\n").encode())
    assert len(list(table.rows)) == 0  # 200 cells, all blank


def test_commas_inside_quotes_are_no_columns() -> None:
    head = ",".join(RESIDENT_HEADER)
    cell = "," * 300 + "\n" + "," * 300
    text = f'{head}\n张三,"{cell}",x\n李四,"a""b"\n'
    rows = list(read_table(text.encode()).rows)
    assert [cells[:3] for _, cells in rows] == [["张三", cell, "x"], ["李四", 'a"b', ""]]
    with pytest.raises(TableError) as err:  # a quoted cell is one, however many lines
        list(read_table(f'{head}\n"a\nb",{"," * 300}\n'.encode()).rows)
    assert err.value.code == "too_many_columns" and "第 3 行" in err.value.zh


def test_a_cell_past_the_csv_field_limit_is_a_400_naming_the_line(world: World) -> None:
    head = ",".join(RESIDENT_HEADER)
    data = f'{head}\n张三,ok\n李四,"{"x" * 200_000}"\n'.encode()
    resp = upload(client_of(world, "wg1"), "residents", data, store="none")
    assert resp.status_code == 400, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "cell_too_long" and "第 3 行" in body["message"]
    assert "128 KB" in body["message"]
    with pytest.raises(TableError) as err:  # in the header too
        read_table(f'"{"x" * 200_000}"\n'.encode())
    assert err.value.code == "cell_too_long" and "第 1 行" in err.value.zh
