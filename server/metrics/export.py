"""Exports of the metrics and scorecards: .xlsx (openpyxl) and .csv (UTF-8 with a BOM).

Headers are Chinese. The .xlsx carries the question (scope, period, as-of) above the table and
the definitions of every metric on a second sheet (指标口径), so a printed report explains
itself.

Every text cell of every export goes through :func:`neutralise` (CSV/formula injection, OWASP):
a text that a spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return, or their full-width forms ``＝＋－＠``) is written with a leading
single quote, and an .xlsx cell is never of formula type. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from server.domain import assessment_metrics as am
from server.domain import metric_definitions as md
from server.metrics.counting import Result

FAMILY_ZH = {
    "report": "上报",
    "cohort": "立案案件",
    "dispatch": "派遣",
    "verification": "核查",
    "card": "督办牌",
    "grid": "网格案件（考核）",
    "desk": "受理派遣（考核）",
    "field": "外勤（考核）",
}
SUBJECT_ZH = {
    "department": "部门",
    "worker": "网格员",
    "dispatcher": "受理派遣人员",
    "town": "乡镇",
}
TITLE_ZH = {
    "department": "部门考核",
    "worker": "网格员考核",
    "dispatcher": "受理派遣考核",
    "town": "乡镇考核",
}
MODE_ZH = {"rate": "比率", "inverse": "反向比率", "target": "目标值"}


@dataclass
class Table:
    """A header and rows of cells; ``kinds`` says how to show each column."""

    title: str
    header: list[str]
    kinds: list[str]  # text | count | rate | hours | score
    rows: list[list[Any]]
    about: list[tuple[str, str]]  # (label, value) lines describing the question


# What Excel, WPS and LibreOffice may take as the start of a formula (full-width forms too:
# the Chinese IMEs type them, and WPS reads them as their ASCII twins).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: Any) -> Any:
    """A cell value safe to hand to a spreadsheet: formula-like text gets a leading quote.

    Only ``str`` is changed; numbers, dates and None pass through untouched.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _append(ws: Any, values: Sequence[Any]) -> None:
    """``ws.append`` of neutralised values; no cell of the new row is a formula."""
    ws.append([neutralise(v) for v in values])
    for cell in ws[ws.max_row]:
        if cell.data_type == "f":  # belt and braces: openpyxl types "=..." strings as formulas
            cell.data_type = "s"


def _local(moment: datetime, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def _about(result: Result, scope: list[dict[str, Any]], tz: str) -> list[tuple[str, str]]:
    q = result.plan.query
    scope_text = "；".join(
        f"{s.get('name') or s.get('code') or s.get('id')}"
        f"（{md.SCOPE_LABELS.get(s['kind'], (s['kind'],))[0]}）"
        for s in scope
    )
    by = md.GROUP_LABELS[q.by][0] if q.by else "（不分组）"
    return [
        ("统计范围", scope_text or "全部"),
        ("统计期", f"{q.start.isoformat()} 至 {q.end.isoformat()}"),
        ("统计时点", f"{_local(result.plan.as_of, tz)}（{tz}）"),
        ("分组", by),
        ("生成时间", f"{_local(datetime.now(UTC), tz)}"),
        ("口径", "见“指标口径”工作表 / docs/metrics.md"),
    ]


def metrics_table(result: Result, scope: list[dict[str, Any]], tz: str) -> Table:
    q = result.plan.query
    group_header = [md.GROUP_LABELS[q.by][0], "编码"] if q.by else []
    header = group_header + [_metric_header(m) for m in md.METRICS]
    kinds = ["text"] * len(group_header) + [m.kind for m in md.METRICS]
    rows: list[list[Any]] = []
    for g in result.groups:
        label = g.label
        code = label.get("code") or (label.get("key") if q.by in ("week", "month") else "")
        rows.append([label.get("name"), code or ""] + [g.values.get(m.key) for m in md.METRICS])
    total_label = ["合计", ""] if q.by else []
    rows.append(total_label + [result.total.get(m.key) for m in md.METRICS])
    return Table("指标", header, kinds, rows, _about(result, scope, tz))


def scorecard_table(
    kind: str, cards: Sequence[dict[str, Any]], result: Result, scope: list[dict[str, Any]], tz: str
) -> Table:
    config_lines = cards[0]["lines"] if cards else []
    header = ["排名", SUBJECT_ZH[kind], "得分", "等级"]
    kinds = ["count", "text", "score", "text"]
    for line in config_lines:
        name = am.ALL_BY_KEY[line["metric"]].zh
        header += [f"{name}", f"{name}得分(权重{line['weight']:g})"]
        kinds += [am.ALL_BY_KEY[line["metric"]].kind, "score"]
    rows = []
    for card in cards:
        row: list[Any] = [card["rank"], card["subject"].get("name"), card["score"], card["grade"]]
        for line in card["lines"]:
            row += [line["value"], line["score"]]
        rows.append(row)
    return Table(TITLE_ZH[kind], header, kinds, rows, _about(result, scope, tz))


def _metric_header(m: md.Metric) -> str:
    if m.kind == "rate":
        return f"{m.zh}(%)"
    if m.kind == "hours":
        return f"{m.zh}(小时)"
    return m.zh


def definitions_rows() -> list[list[str]]:
    rows = []
    for m in (*md.METRICS, *am.INDICATORS):
        rows.append([m.zh, m.en, m.key, FAMILY_ZH[m.family], m.definition, m.formula])
    return rows


_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")


def to_xlsx(table: Table) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = table.title
    _append(ws, [table.title])
    ws["A1"].font = Font(bold=True, size=14)
    for label, value in table.about:
        _append(ws, [label, value])
    ws.append([])
    head_row = ws.max_row + 1
    _append(ws, table.header)
    for cell in ws[head_row]:
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in table.rows:
        _append(ws, [_xlsx_value(v, k) for v, k in zip(row, table.kinds, strict=True)])
        r = ws.max_row
        for col, kind in enumerate(table.kinds, start=1):
            cell = ws.cell(row=r, column=col)
            if kind == "rate":
                cell.number_format = "0.00%"
            elif kind in ("hours", "score"):
                cell.number_format = "0.00"
        if row and row[0] == "合计":
            for cell in ws[r]:
                cell.font = Font(bold=True)
    ws.freeze_panes = ws.cell(row=head_row + 1, column=3 if table.kinds[:2] == ["text"] * 2 else 1)
    for col in range(1, len(table.header) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 14 if col > 2 else 22
    ws.row_dimensions[head_row].height = 32

    defs = wb.create_sheet("指标口径")
    _append(defs, ["指标", "English", "键 key", "统计对象", "口径", "公式"])
    for cell in defs[1]:
        cell.font = Font(bold=True)
        cell.fill = _HEAD_FILL
    for row in definitions_rows():
        _append(defs, row)
    defs.append([])
    _append(
        defs,
        [
            "说明",
            "统计时点之后的事件不计入；比率分母为 0 时留空；工作时长按法定工作日与办公时间计算。",
        ],
    )
    for letter, width in zip("ABCDEF", (16, 26, 28, 10, 60, 48), strict=True):
        defs.column_dimensions[letter].width = width
    for row in defs.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    return value


def _csv_value(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "rate":
        return f"{100 * value:.2f}"
    if kind in ("hours", "score"):
        return f"{value:.2f}"
    return neutralise(value)


def to_csv(table: Table) -> bytes:
    """The table as CSV, UTF-8 with a BOM (Excel then reads the Chinese headers correctly)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in table.header])
    for row in table.rows:
        writer.writerow([_csv_value(v, k) for v, k in zip(row, table.kinds, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
