"""Reading an uploaded table (.xlsx or .csv) and writing one (.xlsx), with no Flask in it.

The type is read from the content, never from the name: an .xlsx is a ZIP (``PK\\x03\\x04``)
holding ``xl/workbook.xml``; anything else must be CSV text. A CSV's encoding is detected, and
the answer says which one was used (never a silent guess):

- a UTF-8 byte-order mark, or bytes that are valid UTF-8 → UTF-8;
- else bytes that are valid GB18030 (GBK and GB2312 are subsets: what Excel and WPS on a
  Chinese Windows save as "CSV") → GB18030;
- else the file is refused, naming the first byte that the encoding reading further cannot
  read (a GBK file with one stray byte: the stray byte, not its first Chinese character).

The caller may name the encoding (``utf-8``, ``gbk``, ``gb18030``) to override detection. A
mis-detected file cannot pass unnoticed: its header would not match the template's.

What reading may cost is bounded (:class:`Limits`), so that a small upload cannot pin a worker:
an .xlsx's members are checked by their declared sizes before any XML is parsed (but the
content types, capped first, to find the shared strings; Python's
``zipfile`` never returns more than a member declares: a member that inflates further fails its
CRC), every row read counts against the row limit, blank ones included, and reading stops at a
time budget.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.etree import ElementTree

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gb18030", "gb2312": "gb18030"}
ENCODINGS["gb18030"] = "gb18030"
ENCODING_LABELS = {"utf-8": "UTF-8", "gb18030": "GB18030/GBK"}
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What a spreadsheet may read as the start of a formula (server/metrics/export.py, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


class TableError(ValueError):
    """The file cannot be read as a table: a message in Chinese and English; ``code`` and
    ``status`` for the answer (413: a limit of :class:`Limits` other than the rows)."""

    def __init__(
        self, zh: str, en: str, field: str = "file", *, code: str = "unreadable", status: int = 400
    ) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en
        self.field = field
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Limits:
    """What reading one uploaded table may cost.

    - ``max_rows``: rows read after the header, blank ones included (a sheet of a million
      empty rows is a million rows to parse);
    - ``max_unzipped``: the declared uncompressed size of all of an .xlsx's members together
      (a template filled by Excel or WPS with 200,000 rows is some 30–40 MB; openpyxl's inline
      strings about 100 MB, which could not be read within the time budget anyway);
    - ``max_ratio``: uncompressed/compressed of a member above ``RATIO_FROM`` bytes (real sheets
      compress 5–20 times; blank cells over 100);
    - ``max_shared_strings``: the declared size of the shared-strings part (``xl/sharedStrings.xml``
      or whatever ``[Content_Types].xml`` names as one). openpyxl reads it whole into memory
      before the first row (60 MB of short strings: +570 MB, 28 s); 200,000 rows of distinct
      names and addresses are some 15 MB;
    - ``max_styles``: the declared size of ``xl/styles.xml`` and of ``[Content_Types].xml``, also
      parsed whole before the first row (60 MB of ``<xf>``: +700 MB, 16 s); real ones are a few KB;
    - ``max_columns``: cells in one CSV row, checked on each line before it is split into cells
      (the templates have at most 9 columns; a row of 6 million empty cells took
      +600 MB);
    - ``seconds``: reading stops after this long (wall clock, checked at every row), below the
      gunicorn worker's timeout (30 s) so the answer is an error, not a killed worker.
    """

    max_rows: int = 200_000
    max_unzipped: int = 64 * 2**20
    max_ratio: int = 100
    max_shared_strings: int = 24 * 2**20
    max_styles: int = 2 * 2**20
    max_columns: int = 200
    seconds: float = 20.0


LIMITS = Limits()
RATIO_FROM = 2**20
MAX_MEMBERS = 1_000
CONTENT_TYPES = "[Content_Types].xml"
STYLES = "xl/styles.xml"  # the one name openpyxl reads styles from
SHARED_STRINGS = "xl/sharedStrings.xml"
_SHARED_STRINGS_TYPE = "sharedStrings+xml"


@dataclass
class Table:
    """A header and its rows; ``rows`` yields (row number as a spreadsheet shows it, cells)."""

    kind: str  # xlsx | csv
    encoding: str | None  # utf-8 | gb18030 for a CSV
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]

    @property
    def encoding_label(self) -> str:
        return ENCODING_LABELS.get(self.encoding or "", "")


def _too_large(zh: str, en: str) -> TableError:
    return TableError(zh, en, code="file_too_large", status=413)


def _size(n: int) -> str:
    return f"{n // 2**20} MB" if n >= 2**20 else f"{n // 1024} KB"


def check_zip_sizes(archive: zipfile.ZipFile, limits: Limits = LIMITS) -> None:
    """Refuse a zip whose members declare more than ``limits`` allow (before reading any)."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise _too_large(
            f"压缩包内文件过多：{len(members)} 个，最多 {MAX_MEMBERS} 个",
            f"too many members in the zip: {len(members)} > {MAX_MEMBERS}",
        )
    total = 0
    cap = _size(limits.max_unzipped)
    for info in members:
        total += info.file_size
        if total > limits.max_unzipped:
            raise _too_large(
                f"文件解压后过大：超过 {cap}，请拆分文件",
                f"too large once unzipped: more than {cap}; split the file",
            )
        if info.file_size > RATIO_FROM and info.file_size > limits.max_ratio * max(
            info.compress_size, 1
        ):
            raise _too_large(
                f"文件压缩比异常：「{info.filename}」解压后是压缩时的 "
                f"{info.file_size // max(info.compress_size, 1)} 倍，最多 {limits.max_ratio} 倍"
                "（大量空行或空单元格？请删除后再导入）",
                f"suspicious compression ratio: {info.filename!r} inflates "
                f"{info.file_size // max(info.compress_size, 1)} times, at most "
                f"{limits.max_ratio} (a sheet of empty rows or cells?)",
            )


def _member_too_large(name: str, cap: int) -> TableError:
    return _too_large(
        f"文件解压后过大：「{name}」超过 {_size(cap)}（样式或共享字符串过多？请另存为新工作簿）",
        f"too large once unzipped: {name!r} is more than {_size(cap)} (too many styles or "
        "shared strings? save the data in a new workbook)",
    )


def _shared_strings_parts(archive: zipfile.ZipFile) -> set[str]:
    """The members ``[Content_Types].xml`` names as shared strings (openpyxl reads the part
    from there, whatever its name), and the usual name; the caller has capped its size."""
    names = {SHARED_STRINGS}
    try:
        root = ElementTree.fromstring(archive.read(CONTENT_TYPES))
    except Exception:  # noqa: BLE001 - missing, damaged: openpyxl cannot read the workbook either
        return names
    for node in root:
        if node.get("ContentType", "").endswith(_SHARED_STRINGS_TYPE):
            names.add(node.get("PartName", "").lstrip("/"))
    return names


def check_xlsx_parts(archive: zipfile.ZipFile, limits: Limits = LIMITS) -> None:
    """Refuse an .xlsx whose parts that openpyxl parses whole before the first row (styles,
    shared strings, the content types) declare more than ``limits`` allow."""
    by_name = {info.filename: info.file_size for info in archive.infolist()}
    for name in (CONTENT_TYPES, STYLES):
        if by_name.get(name, 0) > limits.max_styles:
            raise _member_too_large(name, limits.max_styles)
    for name in sorted(_shared_strings_parts(archive)):
        if by_name.get(name, 0) > limits.max_shared_strings:
            raise _member_too_large(name, limits.max_shared_strings)


def _too_many_rows(limit: int) -> TableError:
    return TableError(
        f"行数过多：一次最多导入 {limit} 行（空行也计入）",
        f"too many rows: at most {limit} (empty rows count)",
        code="too_many_rows",
    )


def _too_slow(seconds: float) -> TableError:
    return _too_large(
        f"文件读取超过 {seconds:g} 秒，已停止：请拆分文件",
        f"reading the file took longer than {seconds:g} s and was stopped: split the file",
    )


class _Budget:
    """Counts the rows read and the time spent; raises a TableError past either limit."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.rows = 0
        self.until = time.monotonic() + limits.seconds

    def tick(self) -> None:
        self.rows += 1
        if self.rows > self.limits.max_rows:
            raise _too_many_rows(self.limits.max_rows)
        if not self.rows % 64 and time.monotonic() > self.until:
            raise _too_slow(self.limits.seconds)


def is_xlsx(data: bytes) -> bool:
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "xl/workbook.xml" in z.namelist()
    except zipfile.BadZipFile:
        return False


def _decode(data: bytes, codec: str) -> tuple[str, int]:
    """``data`` read with ``codec``, or ("", the offset from 1 of the first byte it cannot
    read). A UTF-8 byte-order mark counts: ``utf-8-sig`` reports offsets after it."""
    try:
        return data.decode(codec), 0
    except UnicodeDecodeError as exc:
        bom = codec == "utf-8-sig" and data.startswith(codecs.BOM_UTF8)
        return "", (len(codecs.BOM_UTF8) if bom else 0) + exc.start + 1


def decode_csv(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was read with (see the module)."""
    if encoding:
        name = ENCODINGS.get(encoding.strip().lower())
        if name is None:
            raise TableError(
                "不支持的编码，可选 UTF-8、GBK、GB18030",
                "unsupported encoding: choose utf-8, gbk or gb18030",
                "encoding",
            )
        text, bad = _decode(data, "utf-8-sig" if name == "utf-8" else name)
        if bad:
            raise TableError(
                f"文件不是 {ENCODING_LABELS[name]} 编码（第 {bad} 个字节起无法读取）",
                f"the file is not {ENCODING_LABELS[name]} (unreadable from byte {bad})",
                "encoding",
            )
        return text, name
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        raise TableError(
            "文件是 UTF-16（Unicode 文本），请另存为“CSV UTF-8”或 Excel 工作簿",
            "the file is UTF-16 text: save it as CSV UTF-8 or as an Excel workbook",
        )
    text, utf8 = _decode(data, "utf-8-sig")
    if not utf8:
        return text, "utf-8"
    text, gbk = _decode(data, "gb18030")
    if not gbk:
        return text, "gb18030"
    # Where the encoding that reads further breaks: a GBK file with one stray byte is not
    # UTF-8 from its first Chinese character on, but what to mend is the stray byte.
    label, bad = ("UTF-8", utf8) if utf8 >= gbk else ("GBK/GB18030", gbk)
    raise TableError(
        f"无法识别文件编码：既不是 UTF-8 也不是 GBK/GB18030（按 {label} 读取时第 {bad} "
        "个字节起无法读取），请另存为“CSV UTF-8”",
        f"unknown encoding: neither UTF-8 nor GBK/GB18030 (read as {label}, unreadable from "
        f"byte {bad}); save the file as CSV UTF-8",
    )


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _trim(cells: Sequence[Any], width: int) -> list[str]:
    out = [_cell_text(c) for c in cells[:width]]
    out.extend([""] * (width - len(out)))
    return out


def _header(cells: Sequence[Any]) -> list[str]:
    names = [_cell_text(c).replace("*", "").replace("＊", "").strip() for c in cells]
    while names and not names[-1]:
        names.pop()
    return names


HEADER_SEARCH_ROWS = 5


def _is_header(names: list[str], is_header: Callable[[list[str]], bool] | None) -> bool:
    return bool(names) and (is_header is None or is_header(names))


def _find_header(
    lines: Iterator[Sequence[Any]], is_header: Callable[[list[str]], bool] | None
) -> tuple[list[str], int]:
    """The header row among the first HEADER_SEARCH_ROWS of ``lines`` (the first that
    ``is_header`` accepts, else the first that is not empty) and how many rows were read;
    ``lines`` goes on after them."""
    first: list[str] = []
    n = 0
    for n, line in enumerate(lines, start=1):
        names = _header(line)
        first = first or names
        if _is_header(names, is_header):
            return names, n
        if n >= HEADER_SEARCH_ROWS:
            break
    return first, n


def read_table(
    data: bytes,
    encoding: str | None = None,
    *,
    is_header: Callable[[list[str]], bool] | None = None,
    limits: Limits = LIMITS,
) -> Table:
    """Read an .xlsx (its first sheet) or a CSV. The header is the first of the first
    :data:`HEADER_SEARCH_ROWS` rows that ``is_header`` accepts (the templates put a line of
    instructions above it), else the first row. Required-column stars (``姓名*``) are dropped
    from header names; empty rows are skipped, but count against ``limits.max_rows``."""
    if is_xlsx(data):
        return _read_xlsx(data, is_header, limits)
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableError(
            "无法读取该文件：请上传 .xlsx 工作簿或 CSV（旧版 .xls 请先另存为 .xlsx）",
            "unreadable file: upload an .xlsx workbook or a CSV (save an old .xls as .xlsx)",
        )
    text, used = decode_csv(data, encoding)
    if "\x00" in text:
        raise TableError("文件含 NUL 字符，不是文本表格", "the file holds NUL characters")
    reader = csv.reader(_narrow_lines(text, limits.max_columns))
    with _csv_errors(reader):
        header, _ = _find_header(reader, is_header)
    if not header:
        raise TableError("文件没有表头", "the file has no header row")
    width = len(header)
    budget = _Budget(limits)

    def rows() -> Iterator[tuple[int, list[str]]]:
        with _csv_errors(reader):
            for line in reader:
                budget.tick()
                if any(c.strip() for c in line):
                    yield reader.line_num, _trim(line, width)

    return Table("csv", used, header, rows())


def _too_many_columns(line: int, limit: int) -> TableError:
    return TableError(
        f"第 {line} 行列数过多：一行最多 {limit} 列",
        f"line {line} has too many columns: at most {limit}",
        code="too_many_columns",
    )


_QUOTE_OR_COMMA = re.compile('[",]')


def _count_commas(lines: Iterable[str], commas: int, quoted: bool, limit: int) -> tuple[int, bool]:
    """Commas outside quotes in ``lines`` added to ``commas`` (stopping at ``limit``), and
    whether the last line ends inside quotes."""
    for line in lines:
        for match in _QUOTE_OR_COMMA.finditer(line):
            if match.group() == '"':
                quoted = not quoted
            elif not quoted:
                commas += 1
                if commas >= limit:
                    return commas, quoted
    return commas, quoted


def _narrow_lines(text: str, max_columns: int) -> Iterator[str]:
    """The lines of ``text`` for ``csv.reader``, refusing a row of more than ``max_columns``
    cells before the reader splits it (a list of millions of cells is what costs memory).
    A row's commas are counted outside quotes, its lines together (a quoted cell may hold line
    breaks); commas are only told from quoted ones when there are enough of them to matter."""
    quoted = False
    upper = 0  # commas of the row so far, quoted ones too
    pending: list[str] = []  # its lines, while their commas are only counted by ``upper``
    exact: int | None = None  # its commas outside quotes, once ``upper`` reached the limit
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if exact is None:
            pending.append(line)
            upper += line.count(",")
            if upper >= max_columns:
                exact, quoted = _count_commas(pending, 0, False, max_columns)
            elif line.count('"') % 2:
                quoted = not quoted
        else:
            exact, quoted = _count_commas((line,), exact, quoted, max_columns)
        if exact is not None and exact >= max_columns:
            raise _too_many_columns(number, max_columns)
        if not quoted:
            upper, pending, exact = 0, [], None
        yield line


@contextmanager
def _csv_errors(reader: Any) -> Iterator[None]:
    """A CSV the reader refuses (a cell past its field limit, 128 KB) is a 400 naming the line."""
    try:
        yield
    except csv.Error as exc:
        line = reader.line_num
        if "field limit" in str(exc):
            cap = _size(csv.field_size_limit())
            raise TableError(
                f"第 {line} 行有单元格过长：一个单元格最多 {cap}（引号未闭合？）",
                f"line {line} has a cell longer than {cap} (an unclosed quote?)",
                code="cell_too_long",
            ) from None
        raise TableError(
            f"第 {line} 行无法按 CSV 读取：{exc}", f"line {line} is not valid CSV: {exc}"
        ) from None


def _sheet_lines(it: Iterator[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """The rows of a sheet as openpyxl reads them, streaming its XML: a sheet that breaks
    after rows already read (cut off, an entity it does not define) fails there, not when the
    workbook is opened, and is a TableError naming the row it breaks at."""
    row = 0
    while True:
        try:
            line = next(it)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - the XML parser's and openpyxl's many kinds
            raise TableError(
                f"无法读取该 .xlsx 工作簿：第 {row + 1} 行起已损坏",
                f"unreadable .xlsx workbook: damaged from row {row + 1} ({type(exc).__name__})",
            ) from None
        row += 1
        yield line


def _read_xlsx(data: bytes, is_header: Callable[[list[str]], bool] | None, limits: Limits) -> Table:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_zip_sizes(archive, limits)
            check_xlsx_parts(archive, limits)
    except zipfile.BadZipFile:
        raise TableError("无法读取该 .xlsx 工作簿", "unreadable .xlsx workbook") from None
    budget = _Budget(limits)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file
        raise TableError(
            "无法读取该 .xlsx 工作簿", f"unreadable .xlsx workbook ({type(exc).__name__})"
        ) from None
    lines = _sheet_lines(wb.worksheets[0].iter_rows(values_only=True))
    try:
        header, n = _find_header(lines, is_header)
    except TableError:
        wb.close()
        raise
    if not header:
        wb.close()
        raise TableError("工作表没有表头", "the sheet has no header row")
    width = len(header)

    def rows() -> Iterator[tuple[int, list[str]]]:
        row = n
        try:
            for line in lines:
                budget.tick()
                row += 1
                if any(c is not None and str(c).strip() for c in line):
                    yield row, _trim(line, width)
        finally:
            wb.close()

    return Table("xlsx", None, header, rows())


# --- writing -------------------------------------------------------------------------------------


def neutralise(value: Any) -> Any:
    """Formula-like text gets a leading quote (CSV/formula injection); other values pass."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


_BOLD = Font(bold=True)
_GREY = Font(color="666666")
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_BAD_FILL = PatternFill("solid", fgColor="FCE4D6")


@dataclass
class SheetSpec:
    """One sheet to write: lines of text above a header, the header, rows; ``marked`` are the
    indexes (into ``rows``) of rows to shade."""

    title: str
    header: list[str]
    rows: Iterable[Sequence[Any]]
    above: list[str] | None = None
    widths: list[int] | None = None
    marked_column: int | None = None  # rows whose cell in this column is not empty are shaded


def write_xlsx(sheets: Sequence[SheetSpec]) -> bytes:
    """A workbook of the sheets (write-only, streaming: 100,000 rows in a few seconds). No
    cell is a formula: text that looks like one is quoted."""
    wb = Workbook(write_only=True)
    for spec in sheets:
        ws = wb.create_sheet(spec.title[:31])
        if spec.widths:
            from openpyxl.utils import get_column_letter

            for i, w in enumerate(spec.widths, start=1):
                ws.column_dimensions[get_column_letter(i)].width = w
        for line in spec.above or []:
            c = WriteOnlyCell(ws, value=neutralise(line))
            c.font = _GREY
            ws.append([c])
        head = []
        for name in spec.header:
            c = WriteOnlyCell(ws, value=neutralise(name))
            c.font = _BOLD
            c.fill = _HEAD_FILL
            head.append(c)
        ws.append(head)
        for row in spec.rows:
            values = [neutralise(v) for v in row]
            if spec.marked_column is not None and values[spec.marked_column]:
                cells = []
                for v in values:
                    c = WriteOnlyCell(ws, value=v)
                    c.fill = _BAD_FILL
                    cells.append(c)
                ws.append(cells)
            else:
                ws.append(values)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
