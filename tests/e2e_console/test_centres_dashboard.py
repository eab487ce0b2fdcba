"""The dashboard compares command centres (DESIGN §9, issue 15, docs/metrics.md §4): the county's
supervisor sees its centre and the town's (东塔镇) side by side — 就地化解率, 上报率, 结案率,
按期结案率 and the cards — as a chart and a table whose numbers open their cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

TOWN, COUNTY = "东塔镇", "灵武市"


def test_a_county_supervisor_compares_the_centres_below(console: Any, tmp_path: Path) -> None:
    page = console("dcy", "/console/dashboard?rk=centre&preset=month")
    rows = page.locator("[data-test=ranking] tbody tr[data-group]:not([data-test=unranked])")
    rows.first.wait_for()
    names = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())]
    assert COUNTY in names and TOWN in names, names
    header = page.locator("[data-test=ranking] thead").inner_text()
    for column in ("就地化解率", "上报率", "结案率", "按期结案率", "黄牌数", "红牌数"):
        assert column in header, column
    page.locator("[data-test=centre-chart] canvas").first.wait_for()
    page.screenshot(path=str(tmp_path / "centres.png"))
    # the county's 立案数 opens exactly that many cases
    county = rows.nth(names.index(COUNTY))
    accepted = county.locator('[data-metric="accepted"]')
    shown = int(accepted.inner_text())
    assert shown > 0
    accepted.click()
    drill = page.locator("[data-test=drill]")
    drill.wait_for()
    page.locator(f'[data-test=drill-count][data-count="{shown}"]').wait_for()
    page.keyboard.press("Escape")
    # by level: the county's, the towns' and the communities' lines
    page.click('[data-rank="level"]')
    page.locator("[data-test=ranking] tbody tr[data-group]").first.wait_for()
    levels = page.locator("[data-test=ranking] tbody tr[data-group]").all_inner_texts()
    assert any("县市区" in t for t in levels) and any("乡镇/街道" in t for t in levels), levels
    assert not page.js_errors
