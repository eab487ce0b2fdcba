"""The console after its first week of real use (issue 14): what newcomers tripped over.

Each test walks one stumble in Chromium against the real app and checks the fixed behaviour;
``EnglishGuard`` (tests/e2e_console/english.py) fails any of them whose Chinese page shows the
English half of an API message.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_console.conftest import report_as_worker
from tests.e2e_console.english import EnglishGuard

pytestmark = pytest.mark.browser


def _wait_state(page: Any, state: str) -> None:
    page.wait_for_selector(f'[data-test=case-page][data-state="{state}"]')


def _working_case(api_as: Any, text: str) -> tuple[Any, Any, dict[str, Any]]:
    """A case dispatched to 综合执法局 and signed for by its handler (czry)."""
    worker, ddy, czry = api_as("wgy"), api_as("ddy"), api_as("czry")
    case = report_as_worker(worker, text)
    case = ddy.act(case, "accept")
    case = ddy.act(case, "dispatch", department_id=czry.user["department_id"])
    case = czry.act(case, "sign")
    return ddy, czry, case


def test_extension_decision_is_prefilled_and_speaks_chinese(console: Any, api_as: Any) -> None:
    _, czry, case = _working_case(api_as, f"延期审批测试 {uuid.uuid4().hex[:6]}")
    czry.act(case, "request_extension", days=2, reason="材料未到，需再等两天")

    page = console("ddy", f"/console/cases/{case['id']}")
    guard = EnglishGuard(page)
    page.click('[data-test=actions] [data-action="decide_extension"]')
    form = page.locator('form[data-action="decide_extension"]')
    form.wait_for()
    # prefilled with what the handler asked for: approve, 2 work days
    assert (
        form.locator("input[name=approved][value=true]").is_checked()
        or form.locator("input[name=approved]").first.is_checked()
    )
    assert form.locator("input[name=amount]").input_value() == "2"
    assert form.locator("select[name=unit]").input_value() == "days"

    # refusing without a reason: told in Chinese, next to the field, before anything is sent
    form.locator("input[name=approved]").nth(1).check()
    form.locator("[data-test=submit]").click()
    form.locator(".has-err textarea[name=reason]").wait_for()
    assert "必填" in form.inner_text()
    assert "Missing" not in form.inner_text()
    guard.assert_clean()

    # approving as asked goes through
    form.locator("input[name=approved]").first.check()
    form.locator("[data-test=submit]").click()
    page.wait_for_selector('form[data-action="decide_extension"]', state="detached")
    page.wait_for_selector('[data-test=trail] li[data-action="decide_extension"]')
    guard.assert_clean()
    assert not page.js_errors


def test_merge_is_its_own_action_and_names_the_case_number(console: Any, api_as: Any) -> None:
    worker = api_as("wgy")
    first = report_as_worker(worker, f"合并测试原案 {uuid.uuid4().hex[:6]}：井盖缺失")
    dup = report_as_worker(worker, f"合并测试重复 {uuid.uuid4().hex[:6]}：同一处井盖缺失")

    page = console("ddy", f"/console/cases/{dup['id']}")
    guard = EnglishGuard(page)
    merge = page.locator('[data-test=actions] [data-action="merge"]')
    merge.wait_for()
    assert "合并" in merge.inner_text()
    # 不予立案 no longer carries the merge field
    page.click('[data-test=actions] [data-action="reject"]')
    page.wait_for_selector('form[data-action="reject"]')
    assert page.locator("form[data-action=reject] input[name=duplicate_number]").count() == 0
    page.keyboard.press("Escape")
    page.wait_for_selector('form[data-action="reject"]', state="detached")

    merge.click()
    form = page.locator('form[data-action="reject"]')
    form.wait_for()
    assert "合并" in page.locator(".dialog header").inner_text()
    form.locator("[data-test=submit]").click()  # no target yet: asked for it in Chinese
    form.locator(".has-err input[name=duplicate_number]").wait_for()
    form.locator("input[name=duplicate_number]").fill(first["number"])
    form.locator("[data-test=submit]").click()
    _wait_state(page, "rejected")
    shown = page.locator("[data-test=duplicate-of]").inner_text()
    assert shown == first["number"], shown
    trail = page.locator('[data-test=trail] li[data-action="reject"]').inner_text()
    assert first["number"] in trail and f"#{first['id']}" not in trail, trail
    guard.assert_clean()
    assert not page.js_errors


def _bare_projected_zip() -> bytes:
    """A zipped Shapefile in metres (CGCS2000 GK) with no .prj: the CRS cannot be guessed."""
    import geopandas as gpd
    from shapely.geometry import box

    gdf = gpd.GeoDataFrame(
        {"code": ["640181001001001"], "name": ["测试网格"]},
        geometry=[box(35_500_000, 4_220_000, 35_500_500, 4_220_500)],
        crs=None,
    )
    buf = io.BytesIO()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        shp = Path(tmp) / "grids.shp"
        gdf.to_file(shp, driver="ESRI Shapefile", encoding="utf-8")
        with zipfile.ZipFile(buf, "w") as z:
            for part in Path(tmp).iterdir():
                z.write(part, part.name)
    return buf.getvalue()


def test_plan_upload_errors_say_what_to_do_on_the_page(console: Any) -> None:
    page = console("admin", "/console/admin/plans")
    guard = EnglishGuard(page)
    form = page.locator("[data-test=plan-upload]")
    form.wait_for()

    # no CRS in the file: the CRS field says to choose one, with the accepted list (no --crs)
    form.locator("input[name=file]").set_input_files(
        {"name": "grids.zip", "mimeType": "application/zip", "buffer": _bare_projected_zip()}
    )
    form.locator("[data-test=upload]").click()
    crs_err = form.locator("[data-field-error=crs]")
    crs_err.wait_for()
    text = crs_err.inner_text()
    assert "坐标系" in text and "EPSG:4490" in text and "--crs" not in text, text
    assert "--crs" not in page.locator("body").inner_text()

    # an unsupported CRS: named, with the list of accepted ones
    form.locator("input[name=crs]").fill("EPSG:3857")
    form.locator("[data-test=upload]").click()
    page.wait_for_function(
        "() => (document.querySelector('[data-field-error=crs]')?.textContent ?? '')"
        ".includes('3857')"
    )
    text = crs_err.inner_text()
    assert "不支持的坐标系" in text and "EPSG:4490" in text and "gcj02" in text, text
    guard.assert_clean()

    # an unreadable file: the file field says why, in Chinese (not "unreadable")
    form.locator("input[name=crs]").fill("")
    form.locator("input[name=file]").set_input_files(
        {"name": "broken.geojson", "mimeType": "application/json", "buffer": b"{not json"}
    )
    form.locator("[data-test=upload]").click()
    file_err = form.locator("[data-field-error=file]")
    file_err.wait_for()
    assert "unreadable" not in file_err.inner_text()
    assert "无法读取" in file_err.inner_text(), file_err.inner_text()
    guard.assert_clean()
    assert not page.js_errors


def test_hotline_header_and_favicon(console: Any) -> None:
    page = console("ddy", "/console/hotline")
    header = page.locator("section.panel header").first
    header.wait_for()
    # no random hex string (the draft's UUID) where a person reads a title
    import re

    assert not re.search(r"\b[0-9a-f]{8}\b", header.inner_text()), header.inner_text()
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon
    assert page.request.get(icon).ok


def _hotline_case_without_a_place(ddy: Any, text: str) -> dict[str, Any]:
    ans = ddy.post(
        "/cases",
        {
            "uuid": str(uuid.uuid4()),
            "source": "hotline",
            "category_code": "0101",
            "description": text,
            "caller_name": "李先生",
            "caller_phone": "13800001111",
        },
    )
    return dict(ans["case"])


def test_a_case_outside_every_grid_is_visible_and_put_on_a_grid(console: Any, api_as: Any) -> None:
    ddy = api_as("ddy")
    case = _hotline_case_without_a_place(ddy, f"网格外测试 {uuid.uuid4().hex[:6]}：无地址来电")
    assert case["grid"] is None

    page = console("ddy")
    guard = EnglishGuard(page)
    tab = page.locator("[data-test=tabs] [data-tab=off_grid]")
    tab.wait_for()
    page.wait_for_function(
        "() => Number(document.querySelector('[data-count=off_grid]')?.textContent ?? 0) >= 1"
    )
    tab.click()
    row = page.locator(f'table[data-test=queue] tr[data-case="{case["number"]}"]')
    row.wait_for()
    # the tab narrows the list, not the other tabs' counts
    page.wait_for_function(
        "() => Number(document.querySelector('[data-count=all]')?.textContent ?? 0)"
        " > Number(document.querySelector('[data-count=off_grid]')?.textContent ?? 0)"
    )
    # a visible state, not "—"
    assert row.locator("[data-test=off-grid]").is_visible()
    assert "网格外" in row.inner_text()

    page.goto(f"/console/cases/{case['id']}")
    page.locator("[data-test=case-grid] [data-test=off-grid]").wait_for()
    page.click('[data-test=actions] [data-action="assign_grid"]')
    form = page.locator('form[data-action="assign_grid"]')
    form.wait_for()
    page.wait_for_function(
        "() => document.querySelectorAll('form[data-action=assign_grid] "
        "select[name=grid_code] option').length > 1"
    )
    code = form.locator("select[name=grid_code] option").nth(1).get_attribute("value")
    form.locator("select[name=grid_code]").select_option(code)
    form.locator("[data-test=submit]").click()
    page.wait_for_selector('form[data-action="assign_grid"]', state="detached")
    event = page.locator('[data-test=trail] li[data-action="assign_grid"]')
    event.wait_for()
    assert code in event.inner_text() and "划入网格" in event.inner_text()
    assert code in page.locator("[data-test=case-grid]").inner_text()
    assert page.locator("[data-test=case-grid] [data-test=off-grid]").count() == 0
    assert page.locator('[data-test=actions] [data-action="assign_grid"]').count() == 0
    detail = ddy.get(f"/cases/{case['id']}")
    assert detail["case"]["grid"]["code"] == code
    assert "assign_grid" not in detail["allowed_actions"]
    assert detail["events"][-1]["data"]["location_status"] == "none"
    guard.assert_clean()
    assert not page.js_errors


def test_rankings_have_no_ranked_none_row(console: Any, api_as: Any) -> None:
    ddy = api_as("ddy")
    _hotline_case_without_a_place(ddy, f"排名测试 {uuid.uuid4().hex[:6]}：无地址来电")
    page = console("ddy", "/console/dashboard?rk=grid&preset=month")
    page.locator("[data-test=ranking] tbody tr[data-group]").first.wait_for()
    page.locator("[data-test=ranking] [data-test=unranked]").wait_for()
    ranked = page.locator("[data-test=ranking] tbody tr[data-group]:not([data-test=unranked])")
    names = ranked.all_inner_texts()
    assert not any("（无）" in n for n in names), names
    unranked = page.locator("[data-test=unranked]").inner_text()
    assert "不在任何网格内" in unranked and "不参与排名" in unranked
    # the dispatcher who filed hotline cases is not in the grid-worker ranking
    page.goto("/console/dashboard?rk=worker&preset=month")
    page.locator("[data-test=ranking] tbody tr[data-group]").first.wait_for()
    ranked = page.locator("[data-test=ranking] tbody tr[data-group]:not([data-test=unranked])")
    assert not any(ddy.user["display_name"] in n for n in ranked.all_inner_texts())


def test_maps_orient_without_a_basemap(console: Any, api_as: Any) -> None:
    """No tiles configured: the county, towns and communities are drawn under the grids, with
    names; the demo county is its real outline (when the public boundary data is beside us)."""
    import os

    from shapely.geometry import shape

    from server.demo import BOUNDARY_FILE

    page = console("ddy", "/console/map")
    page.wait_for_function(
        "() => Number(document.querySelector('[data-test=map-stats]')?.dataset.regions ?? 0) > 0"
    )
    labels = page.locator(".wg-region-label").all_inner_texts()
    assert "东塔镇" in labels and "城区街道" in labels, labels
    shapes = api_as("ddy").get("/regions.geojson")
    levels = {f["properties"]["level"] for f in shapes["features"]}
    assert levels == {"county", "town", "community"}, levels
    county = next(f for f in shapes["features"] if f["properties"]["level"] == "county")
    if not (BOUNDARY_FILE / "county_640181.json").exists():
        if os.environ.get("CI"):
            raise AssertionError(f"{BOUNDARY_FILE} missing")
        pytest.skip("../shared/data/boundaries absent: the demo county is the towns' union")
    minx, miny, maxx, maxy = shape(county["geometry"]).bounds
    # 灵武市 spans ~0.68° × 0.72° (the synthetic towns: ~0.2°)
    assert maxx - minx > 0.6 and maxy - miny > 0.6, (minx, miny, maxx, maxy)
    assert not page.js_errors
