"""Screenshots of the field app's main screens, normal and large-font.

Written to docs/screenshots/field-*.png.

    .venv/bin/python -m tests.e2e.screenshots

Starts the app on a free port with a fresh seeded instance, signs in as the demo grid worker
(and handler), and photographs each screen at a phone's size.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.e2e.conftest import IN_MY_GRID, make_photo, resolved_case
from tests.e2e.helpers import fill_report, go, sign_in, wait_outbox
from tests.live import CHROMIUM, CHROMIUM_ARGS, ROOT, Api, LiveServer, ensure_webapp_built, seed

OUT = ROOT / "docs" / "screenshots"


def shoot(page: Any, name: str, large: bool) -> None:
    path = OUT / f"field-{name}{'-large' if large else ''}.png"
    page.wait_for_timeout(400)
    page.wait_for_function(
        "() => ![...document.querySelectorAll('.van-toast')]"
        ".some(t => getComputedStyle(t).display !== 'none')",
        timeout=6000,
    )
    page.screenshot(path=str(path))
    print(path.relative_to(ROOT))


def main() -> int:
    from playwright.sync_api import sync_playwright

    ensure_webapp_built()
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="wangge-shots-"))
    server = LiveServer(seed(tmp / "instance")).start()
    photo = make_photo(tmp / "photo.jpg", 2400, 1800, noise=30)
    small = make_photo(tmp / "small.jpg", 1000, 750, noise=20, seed=3)
    try:
        with sync_playwright() as p:

            def api(username: str) -> Any:
                return Api(p, server.url, username)

            case = resolved_case(api, small, "小区门口垃圾桶满溢，周边散落垃圾")
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for large in (False, True):
                ctx = browser.new_context(
                    viewport={"width": 390, "height": 844},
                    device_scale_factor=2,
                    locale="zh-CN",
                    timezone_id="Asia/Shanghai",
                    geolocation=IN_MY_GRID,
                    permissions=["geolocation"],
                )
                page = ctx.new_page()
                page.goto(server.url + "/login?next=/app/")  # the one sign-in page
                page.evaluate(
                    f"() => localStorage.setItem('wangge.largeFont', '{1 if large else 0}')"
                )
                page.reload()
                page.wait_for_selector("input[name=username]")
                shoot(page, "login", large)
                sign_in(page, server.url)
                go(page, "#/report")
                page.wait_for_selector("[data-test=accuracy]")
                shoot(page, "report-empty", large)
                page.click("[data-test=category]")
                page.wait_for_selector(".van-tree-select")
                shoot(page, "categories", large)
                page.keyboard.press("Escape")
                page.locator(".van-tree-select__item", has_text="暴露垃圾").first.click()
                fill_report(page, "幸福路与民主街交叉口东南角垃圾堆放，约 2 立方米，有异味", photo)
                page.evaluate("() => window.scrollTo(0, 0)")
                shoot(page, "report-filled", large)
                page.click("[data-test=open-map]")
                page.wait_for_selector("[data-test=map-picker] .leaflet-interactive")
                shoot(page, "report-map", large)
                page.click("[data-test=map-done]")
                # outbox: one waiting (offline), one refused (需处理), one conflict
                ctx.set_offline(True)
                page.click("[data-test=save]")
                page.wait_for_selector("[data-test=save]:has-text('已保存')")
                page.wait_for_timeout(1500)
                go(page, "#/outbox")
                page.wait_for_selector("[data-outbox]")
                shoot(page, "outbox-offline", large)
                ctx.set_offline(False)
                page.evaluate("() => window.dispatchEvent(new Event('online'))")
                wait_outbox(page, lambda i: i and all(x["state"] == "sent" for x in i), what="sent")
                go(page, "#/cases")
                page.wait_for_selector(".case-card")
                page.evaluate("() => window.wangge && 1")
                shoot(page, "cases", large)
                go(page, f"#/cases/{case['id']}")
                page.wait_for_selector("[data-test=verify-pass]")
                shoot(page, "case-detail", large)
                page.click("[data-test=verify-fail]")
                page.wait_for_selector("[data-test=reason]")
                shoot(page, "verify-fail", large)
                page.keyboard.press("Escape")
                page.reload()
                page.wait_for_selector("[data-test=verify-pass]")
                ctx.set_offline(True)
                page.click("[data-test=verify-pass]")
                page.click("[data-test=action-submit]")
                page.wait_for_timeout(600)
                api("ddy").act(case, "verify", passed=False, reason="现场复查仍有垃圾")
                ctx.set_offline(False)
                page.evaluate("() => window.dispatchEvent(new Event('online'))")
                wait_outbox(
                    page, lambda i: any(x["state"] == "conflict" for x in i), what="conflict"
                )
                go(page, "#/outbox")
                page.wait_for_selector("[data-test=ob-conflict]")
                shoot(page, "outbox-conflict", large)
                page.click("[data-test=ob-discard]")
                page.click(".van-dialog__confirm")
                case = resolved_case(api, small, "楼道堆放杂物，占用消防通道")
                go(page, "#/map")
                page.wait_for_selector("[data-test=map] .leaflet-interactive")
                shoot(page, "map", large)
                go(page, "#/me")
                page.wait_for_selector("[data-test=large-font]")
                shoot(page, "me", large)
                ctx.close()
            # a handler on a phone
            ctx = browser.new_context(
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                locale="zh-CN",
                timezone_id="Asia/Shanghai",
            )
            page = ctx.new_page()
            sign_in(page, server.url, "czry")
            go(page, "#/cases")
            page.wait_for_selector(".van-tabs")
            shoot(page, "handler-cases", False)
            ctx.close()
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
