"""Screenshots of the console for docs/screenshots/ (console-*.png).

Not a check: runs only with WANGGE_SCREENSHOTS=1 (``WANGGE_SCREENSHOTS=1 .venv/bin/pytest
tests/e2e_console/test_screenshots.py``), on the demo county.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest

from tests.e2e_console.conftest import report_as_worker
from tests.support import ROOT

OUT = ROOT / "docs" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        os.environ.get("WANGGE_SCREENSHOTS") != "1", reason="set WANGGE_SCREENSHOTS=1 to refresh"
    ),
]


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_console_screenshots(console: Any, api_as: Any, large: bool) -> None:
    """Each screen in normal and 大字版 mode (``console-*-large.png``)."""
    OUT.mkdir(parents=True, exist_ok=True)
    sfx = "-large" if large else ""

    def shot(page: Any, name: str) -> None:
        page.screenshot(path=str(OUT / f"{name}{sfx}.png"))

    def open_as(who: str, path: str = "/console/queue") -> Any:
        page = console(who, path)
        page.evaluate(f"() => localStorage.setItem('wangge.largeFont', '{int(large)}')")
        page.reload()
        page.wait_for_selector(".topbar")
        return page

    worker = api_as("wgy")
    dup = report_as_worker(worker, "小区东门垃圾桶满溢，周边有异味")
    text = f"小区东门垃圾桶满溢，垃圾散落在人行道上（{uuid.uuid4().hex[:4]}）"
    case = report_as_worker(worker, text)
    assert dup["id"] != case["id"]

    ddy = api_as("ddy")
    ddy.post(
        "/cases",
        {
            "uuid": str(uuid.uuid4()),
            "source": "hotline",
            "category_code": "0101",
            "description": "来电反映：垃圾乱堆（来电人说不清地点）",
            "caller_name": "赵女士",
            "caller_phone": "13700001234",
        },
    )
    page = open_as("ddy")
    page.wait_for_selector("table[data-test=queue] tbody tr")
    page.keyboard.press("j")
    page.wait_for_timeout(600)
    shot(page, "console-queue")

    page.keyboard.press("?")
    page.wait_for_selector("[data-test=help]")
    shot(page, "console-shortcuts")
    page.keyboard.press("Escape")

    page.goto("/console/map")
    page.wait_for_selector(".wg-cluster")
    page.wait_for_selector(".wg-region-label")
    page.wait_for_timeout(800)
    shot(page, "console-map")

    page.goto(f"/console/cases/{case['id']}")
    page.wait_for_selector("[data-test=case-map] .leaflet-interactive")
    page.wait_for_timeout(600)
    shot(page, "console-case")

    page.click('[data-test=actions] [data-action="merge"]')
    page.wait_for_selector('form[data-action="reject"]')
    shot(page, "console-reject-merge")
    page.keyboard.press("Escape")

    # the queue's 网格外 tab: cases outside every grid, to put on one
    page.goto("/console/queue?tab=off_grid")
    page.wait_for_selector("table[data-test=queue] tbody tr [data-test=off-grid]")
    page.wait_for_timeout(400)
    shot(page, "console-off-grid")

    # a dispatched case with its deadline and trail
    c = ddy.act(case, "accept")
    c = ddy.act(c, "dispatch", department_id=1, note="请当日清运")
    page.goto(f"/console/cases/{case['id']}")
    page.wait_for_selector('[data-test=case-page][data-state="dispatched"]')
    page.wait_for_timeout(600)
    shot(page, "console-case-dispatched")

    page.goto("/console/hotline")
    page.wait_for_selector("[data-test=pick-map] .leaflet-interactive")
    page.fill("input[name=caller_name]", "王先生")
    page.fill("input[name=caller_phone]", "13912345678")
    page.fill("input[name=category_filter]", "路灯")
    page.click('[data-test=categories] [data-code="0303"]')
    page.fill("textarea[name=description]", "来电反映：小区北门路灯不亮已三天")
    box = page.locator("[data-test=pick-map]").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("[data-test=picked]")
    shot(page, "console-hotline")

    page.goto("/console/overdue")
    page.wait_for_selector('[data-action="supervise"]')
    shot(page, "console-overdue")

    desk = open_as("czry", f"/console/cases/{case['id']}")
    desk.wait_for_selector('[data-test=actions] [data-action="sign"]')
    desk.goto("/console/queue")
    desk.wait_for_selector("table[data-test=queue] tbody tr")
    desk.wait_for_timeout(500)
    shot(desk, "console-desk")

    admin_pages = ROOT / "webapp" / "src" / "console" / "pages" / "admin"
    if admin_pages.is_dir() and any(admin_pages.iterdir()):
        adm = open_as("admin", "/console/admin")
        adm.wait_for_timeout(1500)
        shot(adm, "console-admin")


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_field_work_screenshots(console: Any, api_as: Any, large: bool) -> None:
    """外勤 (issue 17) as the demo's 东塔镇 supervisor (dtdc): the work logs of the demo's
    busiest recent day, the day of its busiest worker, the 补签 approvals."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    OUT.mkdir(parents=True, exist_ok=True)
    sfx = "-large" if large else ""
    boss = api_as("dtdc")
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    days = [(today - timedelta(days=n)).isoformat() for n in range(1, 8)]
    logs = {d: boss.get("/work-logs", date=d)["items"] for d in days}
    day = max(days, key=lambda d: sum(x["distance_m"] for x in logs[d]))
    worker = max(logs[day], key=lambda x: x["distance_m"])["worker"]

    page = console("dtdc", "/console/")
    page.evaluate(f"() => localStorage.setItem('wangge.largeFont', '{int(large)}')")
    page.goto(f"/console/field/logs?date={day}")
    page.wait_for_selector("[data-test=work-logs] tbody tr")
    page.wait_for_timeout(600)
    page.screenshot(path=str(OUT / f"console-field-logs{sfx}.png"))
    page.goto(f"/console/field/workers/{worker['id']}/{day}")
    page.wait_for_selector("[data-test=day-map][data-ready='1']")
    page.mouse.move(0, 0)
    page.wait_for_timeout(1500)  # tiles, if any
    page.screenshot(path=str(OUT / f"console-field-day{sfx}.png"))
    page.goto("/console/field/check-ins")
    page.wait_for_selector("table[data-test=check-ins]")
    page.wait_for_timeout(600)
    page.screenshot(path=str(OUT / f"console-field-check-ins{sfx}.png"))
