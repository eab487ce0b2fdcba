"""Accessibility of the field app and the sign-in page, measured (issue 14, item 13).

Every page a grid worker sees, in normal and large-font (大字版) mode: zero axe-core violations
(WCAG 2.1 A/AA) and, in 大字版, every visible text at least 18 px and every tap target at least
48×48 (tests/a11y.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.a11y import check_page
from tests.e2e.conftest import LiveServer, make_photo, resolved_case
from tests.e2e.helpers import fill_report, go, sign_in

# what a person cannot enlarge: the map tiles' attribution, Leaflet's own zoom buttons are
# enlarged by the app's styles (so they are not listed here)
IGNORE = (".leaflet-control-attribution",)


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_every_field_page_is_accessible(
    page: Any, server: LiveServer, api: Any, photo: Path, large: bool
) -> None:
    case = resolved_case(api, make_photo(photo.with_name("small.jpg"), 1000, 750, noise=20))
    problems: list[str] = []

    def check(where: str) -> None:
        page.wait_for_timeout(300)  # transitions
        problems.extend(check_page(page, large=large, where=where, ignore=IGNORE))

    page.goto(server.url + "/login")
    page.evaluate(f"() => localStorage.setItem('wangge.largeFont', '{1 if large else 0}')")
    page.reload()
    page.wait_for_selector("input[name=username]")
    check("sign-in")
    page.fill("input[name=username]", "wgy")
    page.fill("input[name=password]", "wrong password")
    page.click("button[type=submit]")
    page.wait_for_selector("[role=alert]")
    check("sign-in error")

    sign_in(page, server.url)
    go(page, "#/report")
    page.wait_for_selector("[data-test=accuracy]")
    check("report")
    page.click("[data-test=category]")
    page.wait_for_selector(".van-tree-select")
    check("report categories")
    page.locator(".van-tree-select__item", has_text="暴露垃圾").first.click()
    fill_report(page, "楼下垃圾堆放", photo)
    check("report filled")
    page.click("[data-test=open-map]")
    page.wait_for_selector("[data-test=map-picker] .leaflet-interactive")
    check("report map")
    page.click("[data-test=map-done]")
    go(page, "#/cases")
    page.wait_for_selector(".case-card")
    check("cases")
    go(page, f"#/cases/{case['id']}")
    page.wait_for_selector("[data-test=verify-pass]")
    check("case detail")
    page.click("[data-test=verify-fail]")
    page.wait_for_selector("[data-test=reason]")
    check("verify sheet")
    page.keyboard.press("Escape")
    page.reload()
    go(page, "#/outbox")
    page.wait_for_selector("[data-test=outbox]")
    check("outbox")
    go(page, "#/map")
    page.wait_for_selector("[data-test=map] .leaflet-interactive")
    check("map")
    go(page, "#/me")
    page.wait_for_selector("[data-test=large-font]")
    check("me")
    assert not problems, "\n".join(problems)
