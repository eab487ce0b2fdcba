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


def test_console_screenshots(console: Any, api_as: Any) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    worker = api_as("wgy")
    dup = report_as_worker(worker, "小区东门垃圾桶满溢，周边有异味")
    text = f"小区东门垃圾桶满溢，垃圾散落在人行道上（{uuid.uuid4().hex[:4]}）"
    case = report_as_worker(worker, text)
    assert dup["id"] != case["id"]

    page = console("ddy")
    page.wait_for_selector("table[data-test=queue] tbody tr")
    page.keyboard.press("j")
    page.wait_for_timeout(600)
    page.screenshot(path=str(OUT / "console-queue.png"))

    page.keyboard.press("?")
    page.wait_for_selector("[data-test=help]")
    page.screenshot(path=str(OUT / "console-shortcuts.png"))
    page.keyboard.press("Escape")

    page.goto("/console/map")
    page.wait_for_selector(".wg-cluster")
    page.wait_for_timeout(800)
    page.screenshot(path=str(OUT / "console-map.png"))

    page.goto(f"/console/cases/{case['id']}")
    page.wait_for_selector("[data-test=case-map] .leaflet-interactive")
    page.wait_for_timeout(600)
    page.screenshot(path=str(OUT / "console-case.png"))

    page.click('[data-test=actions] [data-action="reject"]')
    page.wait_for_selector('form[data-action="reject"]')
    page.screenshot(path=str(OUT / "console-reject-merge.png"))
    page.keyboard.press("Escape")

    # a dispatched case with its deadline and trail
    ddy = api_as("ddy")
    c = ddy.act(case, "accept")
    c = ddy.act(c, "dispatch", department_id=1, note="请当日清运")
    page.goto(f"/console/cases/{case['id']}")
    page.wait_for_selector('[data-test=case-page][data-state="dispatched"]')
    page.wait_for_timeout(600)
    page.screenshot(path=str(OUT / "console-case-dispatched.png"))

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
    page.screenshot(path=str(OUT / "console-hotline.png"))

    page.goto("/console/overdue")
    page.wait_for_selector('[data-action="supervise"]')
    page.screenshot(path=str(OUT / "console-overdue.png"))

    desk = console("czry", f"/console/cases/{case['id']}")
    desk.wait_for_selector('[data-test=actions] [data-action="sign"]')
    desk.goto("/console/queue")
    desk.wait_for_selector("table[data-test=queue] tbody tr")
    desk.wait_for_timeout(500)
    desk.screenshot(path=str(OUT / "console-desk.png"))

    admin_pages = ROOT / "webapp" / "src" / "console" / "pages" / "admin"
    if admin_pages.is_dir() and any(admin_pages.iterdir()):
        adm = console("admin", "/console/admin")
        adm.wait_for_timeout(1500)
        adm.screenshot(path=str(OUT / "console-admin.png"))
