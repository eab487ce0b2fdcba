"""Levels of command in Chromium (DESIGN §9, issue 15): a town's 综治中心 and its county.

The demo's town 东塔镇 has its own centre (dispatcher dtdy, town office 东塔镇综合执法中队 with
handler dtcz; grid worker wgy05 works there); 燃气安全隐患 (0602) has a skip-level rule to the
county (server/demo.py).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.e2e_console.conftest import report_as_worker

pytestmark = pytest.mark.browser

TOWN, COUNTY = "东塔镇", "灵武市"


def _wait_centre(page: Any, name: str) -> None:
    page.locator("[data-test=case-centre]", has_text=name).wait_for(timeout=8000)


def _act_in_form(page: Any, action: str) -> Any:
    page.click(f'[data-test=actions] [data-action="{action}"]')
    form = page.locator(f'form[data-action="{action}"]')
    form.wait_for()
    return form


def test_town_escalates_county_devolves_town_dispatches(console: Any, api_as: Any) -> None:
    worker = api_as("wgy05")
    dtdy = console("dtdy")
    dtdy.wait_for_selector("table[data-test=queue]")
    text = f"多级流转测试 {uuid.uuid4().hex[:6]}：路边垃圾堆积"
    case = report_as_worker(worker, text)
    assert case["centre"]["name"] == TOWN and case["centre"]["level"] == "town"
    # the report lands in the town's queue within 5 s, shown as held by the town
    t0 = time.monotonic()
    row = dtdy.locator(f'table[data-test=queue] tr[data-case="{case["number"]}"]')
    row.wait_for(timeout=5000)
    assert time.monotonic() - t0 < 5.0
    assert row.locator("[data-test=queue-centre]").inner_text() == TOWN

    # the town escalates (a reason is required)
    dtdy.goto(f"/console/cases/{case['id']}")
    _wait_centre(dtdy, TOWN)
    form = _act_in_form(dtdy, "escalate")
    form.locator("[data-test=submit]").click()
    form.locator(".has-err .field-err").first.wait_for()
    form.locator("textarea[name=reason]").fill("涉及主干道，需县里协调")
    form.locator("[data-test=submit]").click()
    _wait_centre(dtdy, COUNTY)

    # the county devolves it back with an instruction
    ddy = console("ddy", f"/console/cases/{case['id']}")
    _wait_centre(ddy, COUNTY)
    form = _act_in_form(ddy, "devolve")
    assert TOWN in form.locator("select[name=centre_id] option:checked").inner_text()
    form.locator("textarea[name=note]").fill("请镇里先行清理，县城管局配合")
    form.locator("[data-test=submit]").click()
    _wait_centre(ddy, TOWN)
    assert ddy.locator("[data-test=transfer-path]").inner_text() == f"{TOWN} → {COUNTY} → {TOWN}"

    # the town accepts and dispatches to its own office (only its centre's departments offered)
    dtdy.reload()
    _wait_centre(dtdy, TOWN)
    form = _act_in_form(dtdy, "accept")
    form.locator("[data-test=submit]").click()
    dtdy.wait_for_selector('[data-test=case-page][data-state="accepted"]')
    form = _act_in_form(dtdy, "dispatch")
    options = form.locator("select[name=department_id] option").all_inner_texts()
    assert any("东塔镇综合执法中队" in o for o in options), options
    form.locator("select[name=department_id]").select_option(label="东塔镇综合执法中队")
    form.locator("[data-test=submit]").click()
    dtdy.wait_for_selector('[data-test=case-page][data-state="dispatched"]')

    # the office resolves, the grid worker verifies
    handler = api_as("dtcz")
    now = handler.act(handler.get(f"/cases/{case['id']}")["case"], "sign")
    now = handler.act(now, "resolve", note="已清运", photos=[handler.photo()])
    closed = worker.act(now, "verify", passed=True)
    assert closed["state"] == "closed"
    dtdy.reload()
    dtdy.wait_for_selector('[data-test=case-page][data-state="closed"]')
    trail = dtdy.locator("[data-test=trail] li")
    actions = [trail.nth(i).get_attribute("data-action") for i in range(trail.count())]
    assert actions == ["verify", "resolve", "sign", "dispatch", "accept", "devolve", "escalate",
                       "report"]  # fmt: skip
    assert not dtdy.js_errors and not ddy.js_errors


def test_a_skip_level_category_goes_straight_to_the_county(console: Any, api_as: Any) -> None:
    text = f"越级测试 {uuid.uuid4().hex[:6]}：燃气管道异味"
    case = report_as_worker(api_as("wgy05"), text, "0602")
    assert case["centre"]["name"] == COUNTY
    ddy = console("ddy", f"/console/cases/{case['id']}")
    _wait_centre(ddy, COUNTY)
    assert "住房和城乡建设局" in ddy.locator("[data-test=copied-to]").inner_text()
    assert ddy.locator('[data-test=actions] [data-action="accept"]').count() == 1
    assert not ddy.js_errors
