"""flask metrics export|show|check|rebuild."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from flask import Flask
from openpyxl import load_workbook

from tests.metrics.support import World
from tests.metrics.test_worked_examples import build_example


def test_export_show_check_rebuild(sapp: Flask, world: World, tmp_path: Path) -> None:
    build_example(sapp, world)
    runner = sapp.test_cli_runner()
    out = tmp_path / "2026-11.xlsx"
    args = [
        "metrics",
        "export",
        "--period",
        "2026-11",
        "--as-of",
        "2026-11-20T12:00:00+08:00",
        "--by",
        "town",
        "--format",
        "xlsx",
        "--out",
        str(out),
    ]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["指标", "指标口径"]
    assert list(wb["指标"].iter_rows(values_only=True))[-1][0] == "合计"

    csv_out = tmp_path / "dept.csv"
    result = runner.invoke(
        args=[
            "metrics",
            "export",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--as-of",
            "2026-11-20T12:00:00+08:00",
            "--report",
            "department",
            "--format",
            "csv",
            "--out",
            str(csv_out),
        ]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(csv_out.read_bytes().decode("utf-8-sig"))))
    assert rows[0][:4] == ["排名", "部门", "得分", "等级"]

    result = runner.invoke(
        args=[
            "metrics",
            "export",
            "--period",
            "2026-11",
            "--as-of",
            "2999-01-01",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code != 0 and "future" in result.output

    result = runner.invoke(
        args=[
            "metrics",
            "show",
            "--period",
            "2026-11",
            "--as-of",
            "2026-11-20T12:00:00+08:00",
            "--by",
            "town",
        ]
    )
    assert result.exit_code == 0 and "合计" in result.output and "71.43%" in result.output

    result = runner.invoke(args=["metrics", "check"])
    assert result.exit_code == 0 and "agrees" in result.output
    result = runner.invoke(args=["metrics", "rebuild"])
    assert result.exit_code == 0 and "rebuilt" in result.output
