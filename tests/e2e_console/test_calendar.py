"""The calendar page in Chromium (issue 11): the server runs on today's date (after 1 November
2026 with chinesecalendar 1.11.0, so 2027 is unknown), admins see the banner, enter a year with a
hostile holiday name (shown as text, never run), the banner goes, a dispatcher sees the days.
The 2027 dates are an invented example; entering them changes the shared server's calendar only
in February 2027, away from the other tests' deadlines."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.__xss=1">'


def test_admin_enters_next_year_and_a_dispatcher_sees_it(console: Any) -> None:
    if date.today() < date(2026, 11, 1):  # pragma: no cover - the banner shows from November
        pytest.skip("the calendar banner shows from 1 November 2026")
    page = console("admin", "/console/calendar?year=2027")
    page.wait_for_selector("[data-test=calendar-banner]")
    assert "2027" in page.locator("[data-test=calendar-banner]").inner_text()
    page.wait_for_selector("[data-test=cal-unknown]")
    page.click("[data-test=cal-edit]")
    page.fill(
        "[data-test=cal-lines]",
        f"date,kind,name\n2027-02-08,holiday,春节\n2027-02-09,holiday,{HOSTILE}\n"
        "2027-02-20,workday,春节调休\n",
    )
    page.click("[data-test=cal-save]")
    page.wait_for_selector("[data-test=cal-error]")  # no reason yet
    page.fill("[data-test=cal-reason]", "e2e 示例")
    page.click("[data-test=cal-save]")
    page.wait_for_selector("[data-test=cal-source]:has-text('管理员录入')")
    page.wait_for_selector("[data-test=calendar-banner]", state="detached")
    assert HOSTILE in page.locator("[data-test=cal-holidays]").inner_text()
    assert page.locator("[data-test=cal-holidays] img").count() == 0
    # the list of changes is fetched after the save is answered: wait for it, do not sample it
    expect(page.locator("[data-test=cal-changes]")).to_contain_text("e2e 示例")

    disp = console("ddy", "/console/calendar?year=2027")
    disp.wait_for_selector("[data-test=cal-source]:has-text('管理员录入')")
    assert disp.locator('[data-date="2027-02-08"]').get_attribute("class") == "cal-d holiday"
    assert disp.locator('[data-date="2027-02-20"]').get_attribute("class") == "cal-d workday"
    assert disp.locator("[data-test=cal-edit]").count() == 0
    assert disp.locator("[data-test=calendar-banner]").count() == 0
    for p in (page, disp):
        assert p.evaluate("window.__xss") is None
        assert p.js_errors == []
