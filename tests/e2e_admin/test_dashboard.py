"""The supervisors' dashboard in Chromium against the real app (issue #7).

The KPI tiles show exactly the numbers of `GET /api/v1/metrics` for the same question; a
tile's number, and a ranking cell, open the list of cases behind them, whose count is that
number and whose cases are the ones `GET /api/v1/metrics/cases` names; the exports download.
The screenshots docs/screenshots/dashboard-*.png are taken here.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e_admin.conftest import Live, finish, shot, sign_in

pytestmark = pytest.mark.browser

KPIS = [
    "reported",
    "accepted",
    "closure_rate",
    "on_time_closure_rate",
    "overdue_open",
    "satisfaction_rate",
    "avg_handling_hours",
    "on_time_handling_rate",
    "rework_rate",
    "return_rate",
]


SHANGHAI = timezone(timedelta(hours=8))


def _as_of() -> str:
    """A fixed as-of moment (this minute, Asia/Shanghai) for the page and the API alike, so a
    deadline passing between the two requests cannot change 超期未结."""
    return datetime.now(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def _open(browser: Any, live: Live, user: str = "dcy", query: str = "preset=30d") -> Any:
    page = sign_in(browser, live, user)
    page.goto(f"{live.url}/console/dashboard?{query}&as_of={_as_of()}")
    page.wait_for_function(
        "() => document.querySelector('[data-test=kpis] [data-metric=accepted]')"
        "?.dataset.value !== ''",
        timeout=30_000,
    )
    return page


def _question(page: Any) -> dict[str, str]:
    return {
        "from": page.locator("input[name=from]").input_value(),
        "to": page.locator("input[name=to]").input_value(),
        "as_of": page.locator("input[name=as_of]").input_value() + ":00+08:00",
    }


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)


def _to_fixed(value: float) -> str:
    """JavaScript's ``value.toFixed(1)``: the double's exact value rounded half up (9/16 is
    56.25 % exactly: "56.3", where Python's format rounds half to even, "56.2")."""
    return str(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def test_kpi_tiles_equal_the_metrics_api(browser: Any, live: Live) -> None:
    page = _open(browser, live)
    q = _question(page)
    status, api = live.api("GET", f"/api/v1/metrics?{urlencode(q)}", user="dcy")
    assert status == 200, api
    total = api["total"]
    assert total["accepted"] > 0, "the demo month has cases"
    for key in KPIS:
        tile = page.locator(f"[data-test=kpis] [data-metric={key}]")
        raw = tile.get_attribute("data-value")
        shown = None if raw in (None, "") else float(raw)
        assert _same(shown, total[key]), (key, shown, total[key])
        text = tile.locator("[data-test=kpi-value]").inner_text()
        if total[key] is None:
            assert "—" in text
        elif key.endswith("_rate"):
            assert text.strip() == f"{_to_fixed(total[key] * 100)}%", (key, text)
        elif key == "avg_handling_hours":
            assert text.startswith(_to_fixed(total[key])), (key, text)
        else:
            assert text.strip() == str(total[key]), (key, text)
    # a rate tile shows its numerator and denominator
    sub = page.locator("[data-test=kpis] [data-metric=closure_rate] .kpi-sub").inner_text()
    assert f"{total['closed']} / {total['due']}" in sub
    shot(page, "dashboard-overview")
    finish(page)


def test_drill_down_lists_the_cases_behind_a_number(browser: Any, live: Live) -> None:
    page = _open(browser, live)
    q = _question(page)
    status, api = live.api("GET", f"/api/v1/metrics?{urlencode(q)}", user="dcy")
    closed = api["total"]["closed"]
    assert closed > 0

    # 结案率's numerator (结案数) from its tile
    page.locator("[data-test=kpis] [data-metric=closure_rate] [data-part=numerator]").click()
    dialog = page.locator("[data-test=drill]")
    dialog.wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-test=drill-count]')?.dataset.count !== ''"
    )
    assert int(dialog.locator("[data-test=drill-count]").get_attribute("data-count")) == closed
    status, drill = live.api(
        "GET", f"/api/v1/metrics/cases?{urlencode({**q, 'metric': 'closure_rate'})}", user="dcy"
    )
    assert status == 200 and drill["count"] == closed
    rows = dialog.locator("[data-test=drill-items] tbody tr")
    assert rows.count() == len(drill["items"]) == min(closed, 100)
    listed = {rows.nth(i).get_attribute("data-case") for i in range(rows.count())}
    assert listed == {i["number"] for i in drill["items"]}
    assert set(dialog.locator("[data-test=drill-items] tbody .badge").all_inner_texts()) == {
        "已结案"
    }
    shot(page, "dashboard-drill")

    # the same dialog switches to the denominator (应结案数)
    dialog.locator("[data-switch=denominator]").click()
    page.wait_for_function(
        "([n]) => document.querySelector('[data-test=drill-count]')?.dataset.count === String(n)",
        arg=[api["total"]["due"]],
    )
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    page.locator("[data-test=kpis] [data-metric=closure_rate] [data-part=numerator]").click()
    dialog.wait_for()

    # a case number opens the case page
    first = drill["items"][0]
    dialog.locator(f"tr[data-case='{first['number']}'] a").click()
    page.wait_for_url(f"**/console/cases/{first['case_id']}")
    page.go_back()

    # a ranking cell: 立案数 of one town equals its list
    page.locator("[data-test=ranking] tbody tr[data-group]").first.wait_for()
    status, by_town = live.api(
        "GET", f"/api/v1/metrics?{urlencode({**q, 'by': 'town'})}", user="dcy"
    )
    town = next(g for g in by_town["groups"] if g["values"]["accepted"])
    cell = page.locator(
        f"[data-test=ranking] tr[data-group='{town['key']}'] button[data-metric=accepted]"
    )
    assert cell.inner_text() == str(town["values"]["accepted"])
    cell.click()
    dialog.wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-test=drill-count]')?.dataset.count !== ''"
    )
    count = int(dialog.locator("[data-test=drill-count]").get_attribute("data-count"))
    assert count == town["values"]["accepted"]
    assert town["label"]["name"] in page.locator(".dialog header").inner_text()
    finish(page)


def test_exports_and_other_views(browser: Any, live: Live) -> None:
    page = _open(browser, live, query="preset=30d&rk=department")
    href = page.locator("[data-test=export-xlsx]").get_attribute("href")
    assert href.startswith("/api/v1/metrics/export.xlsx?") and "by=department" in href
    xlsx = page.request.get(live.url + href)
    assert xlsx.status == 200
    assert xlsx.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert xlsx.body()[:2] == b"PK"
    csv = page.request.get(live.url + page.locator("[data-test=export-csv]").get_attribute("href"))
    assert csv.status == 200 and csv.body()[:3] == b"\xef\xbb\xbf"
    assert "处置部门" in csv.body().decode("utf-8-sig") or "部门" in csv.body().decode("utf-8-sig")

    # the choropleth by grid draws every grid; scorecards rank the departments
    page.locator("[data-level=grid]").click()
    page.wait_for_function(
        "() => Number(document.querySelector('[data-test=choropleth]')?.dataset.areas) > 100",
        timeout=20_000,
    )
    page.locator("[data-rank=sc_department]").click()
    page.locator("[data-test=scorecards] tbody tr").first.wait_for()
    page.locator("select[name=map_metric]").select_option("on_time_handling_rate")
    page.locator("[data-level=town]").click()
    page.wait_for_timeout(800)
    shot(page, "dashboard-scorecards")

    # English
    page.locator("[data-test=locale]").click()
    page.locator("[data-rank=worker]").click()
    page.locator("[data-test=ranking] tbody tr[data-group]").first.wait_for()
    assert "Closure rate" in page.locator("[data-test=kpis]").inner_text()
    page.wait_for_timeout(500)
    shot(page, "dashboard-en")
    page.locator("[data-test=locale]").click()
    finish(page)


def test_assessment_tabs(browser: Any, live: Live) -> None:
    """考核: 网格员 · 受理派遣 · 乡镇 · 部门 — each tab the API's cards (rank, score, grade), a
    dispatcher's indicator opens its records (count = the number), the export is that kind's."""
    page = _open(browser, live, query="preset=30d&rk=sc_worker")
    tabs = page.locator("[data-test=assess-tabs]")
    assert tabs.inner_text().split() == ["考核", "网格员", "受理派遣", "乡镇", "部门"]
    q = _question(page)
    for kind in ("worker", "dispatcher", "town", "department"):
        page.locator(f"[data-rank=sc_{kind}]").click()
        status, api = live.api(
            "GET", f"/api/v1/metrics/scorecards?{urlencode({**q, 'kind': kind})}", user="dcy"
        )
        assert status == 200 and api["items"], kind
        first = api["items"][0]
        row = page.locator(
            f"[data-test=scorecards] tbody tr[data-subject='{first['subject']['id']}']"
        )
        row.wait_for()
        cells = row.locator("td").all_inner_texts()
        assert cells[0] == str(first["rank"] or "") and cells[1] == first["subject"]["name"]
        score = "—" if first["score"] is None else f"{first['score']:.1f}"
        assert cells[2] == score and cells[3] == (first["grade"] or "—"), (kind, cells)
        href = page.locator("[data-test=assess-export]").get_attribute("href")
        assert f"report={kind}" in href, href
        if kind == "dispatcher":
            shot(page, "dashboard-assessment-dispatchers")
            line = next(x for x in first["lines"] if x["value"] is not None)
            row.locator(f"button[data-metric={line['metric']}]").click()
            dialog = page.locator("[data-test=drill]")
            dialog.wait_for()
            page.wait_for_function(
                "() => document.querySelector('[data-test=drill-count]')?.dataset.count !== ''"
            )
            params = {
                **q,
                "kind": kind,
                "subject": first["subject"]["id"],
                "metric": line["metric"],
            }
            status, rec = live.api(
                "GET", f"/api/v1/metrics/records?{urlencode(params)}", user="dcy"
            )
            assert status == 200
            shown = dialog.locator("[data-test=drill-count]").get_attribute("data-count")
            assert float(shown) == float(rec["count"])
            assert dialog.locator("[data-test=drill-items] tbody tr").count() == len(rec["items"])
            shot(page, "dashboard-assessment-records")
            page.keyboard.press("Escape")
            dialog.wait_for(state="detached")
    xlsx = page.request.get(
        live.url + page.locator("[data-test=assess-export]").get_attribute("href")
    )
    assert xlsx.status == 200 and xlsx.body()[:2] == b"PK"
    page.locator("[data-rank=sc_worker]").click()
    page.locator("[data-test=scorecards] tbody tr").first.wait_for()
    shot(page, "dashboard-assessment-workers")
    finish(page)
