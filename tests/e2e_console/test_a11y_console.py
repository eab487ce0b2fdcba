"""Accessibility of the console, measured (issue 14 §13).

Every console page, as the role that works on it, in normal and large-font (大字版) mode: zero
axe-core violations (WCAG 2.1 A/AA) and, in 大字版, every visible text at least 18 px and every
control at least 48×48 (tests/a11y.py). 大字版 is the same switch as the field app's
(``localStorage['wangge.largeFont']``, set on the sign-in page and in the console's top bar).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.a11y import check_page
from tests.e2e_console.conftest import report_as_worker
from tests.e2e_console.test_field_work import field_day

pytestmark = pytest.mark.browser

# what a person cannot enlarge: the map tiles' attribution
IGNORE = (".leaflet-control-attribution",)

# (who, path, a selector that says the page is there)
PAGES = [
    ("ddy", "/console/queue", "table[data-test=queue] tbody tr"),
    ("ddy", "/console/map", ".leaflet-container"),
    ("ddy", "/console/hotline", "form"),
    ("ddy", "/console/overdue", ".page"),
    ("ddy", "/console/dashboard", "[data-test=ranking], [data-test=kpis]"),
    ("czry", "/console/queue", "table[data-test=queue]"),
    ("admin", "/console/admin/users", "table"),
    ("admin", "/console/admin/grids", "table"),
    ("admin", "/console/admin/departments", "table"),
    ("admin", "/console/admin/categories", "table"),
    ("admin", "/console/admin/plans", "[data-test=plan-upload]"),
    ("admin", "/console/calendar", ".page"),
    ("dcy", "/console/field/logs", "table[data-test=work-logs]"),
    ("dcy", "/console/field/check-ins", "table[data-test=check-ins]"),
]


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_every_console_page_is_accessible(console: Any, api_as: Any, large: bool) -> None:
    case = report_as_worker(api_as("wgy"), f"无障碍测试 {uuid.uuid4().hex[:6]}：路灯不亮")
    problems: list[str] = []
    pages: dict[str, Any] = {}

    def visit(who: str, path: str, ready: str) -> Any:
        if who not in pages:
            page = console(who, "/console/")
            page.evaluate(f"() => localStorage.setItem('wangge.largeFont', '{int(large)}')")
            pages[who] = page
        page = pages[who]
        page.goto(path)
        page.wait_for_selector(ready)
        page.wait_for_timeout(600)  # data, transitions, map tiles
        assert (
            page.evaluate("() => document.documentElement.classList.contains('large-font')")
            == large
        )
        return page

    def check(page: Any, where: str) -> None:
        problems.extend(check_page(page, large=large, where=where, ignore=IGNORE))

    for who, path, ready in PAGES:
        check(visit(who, path, ready), f"{who} {path}")

    # 外勤: a worker's day on the map and the 补签 waiting, as their community's supervisor
    day = field_day(api_as)
    boss = day["boss"]["username"]
    path = f"/console/field/workers/{day['worker']['id']}/{day['today']}"
    check(visit(boss, path, "[data-test=day-map][data-ready='1']"), "worker's day")
    check(visit(boss, "/console/field/check-ins", "[data-check-in]"), "补签 approvals")

    page = visit("ddy", f"/console/cases/{case['id']}", "[data-test=case-page]")
    check(page, "case page")
    page.click('[data-test=actions] [data-action="accept"]')
    page.wait_for_selector('form[data-action="accept"]')
    check(page, "accept dialog")
    page.keyboard.press("Escape")
    page.click('[data-test=actions] [data-action="reject"]')
    page.wait_for_selector('form[data-action="reject"]')
    check(page, "reject dialog")
    page.keyboard.press("Escape")
    page.goto("/console/queue")
    page.wait_for_selector("table[data-test=queue] tbody tr")
    page.keyboard.press("?")
    page.wait_for_selector("[data-test=help]")
    check(page, "shortcuts")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
