"""The hotline form's address search (issue 16): the call-taker types the caller's address,
picks the standard one, and the case gets its address, point and grid from it."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_hotline_address_search_fills_the_place(console: Any, api_as: Any) -> None:
    ddy = api_as("ddy")
    hit = ddy.get("/base/addresses", q="灵州路 1 号")["items"][0]
    assert hit["place"]["kind"] == "building" and hit["grid"]
    page = console("ddy", "/console/hotline")
    form = page.locator("[data-test=hotline-form]")
    form.wait_for()
    page.wait_for_selector("[data-test=pick-map] .leaflet-interactive")
    form.locator("[data-test=address-search]").fill("灵州路 1 号")
    hits = page.locator("[data-test=address-hits]")
    hits.wait_for()
    first = hits.locator("button").first
    assert "灵州路1号" in first.inner_text()
    assert hit["grid"]["code"] in first.inner_text()
    first.click()
    assert form.locator("input[name=address]").input_value() == hit["place"]["full_address"]
    page.wait_for_selector("[data-test=picked]")
    assert hit["grid"]["code"] in page.locator("[data-test=picked-grid]").inner_text()
    form.locator("input[name=category_filter]").fill("路灯")
    form.locator('[data-test=categories] [data-code="0303"]').click()
    form.locator("textarea[name=description]").fill("来电反映：楼下路灯不亮（地址检索）")
    form.locator("[data-test=submit]").click()
    created = page.locator("[data-test=hotline-created]")
    created.wait_for()
    number = created.locator("a").inner_text().strip()
    case = ddy.get("/cases", q=number)["items"][0]
    assert case["grid"]["code"] == hit["grid"]["code"]
    assert case["address"] == hit["place"]["full_address"]
    # an address that is not registered says so
    form.locator("[data-test=address-search]").fill("没有这条路 999 号")
    page.wait_for_selector("[data-test=address-none]")
    assert not page.js_errors
