"""The admin screens in Chromium against the real app (issue #6).

- a grid plan with errors is refused (422): its problems are listed and drawn on the map, a
  click on one zooms the map to it, and nothing is stored;
- a valid plan is stored as a draft and published: it becomes the active version;
- a user is created and given a grid duty, with server validation problems shown next to the
  field that caused them;
- departments and categories (time limits) are edited, a bad limit shown next to its field.

The screenshots in docs/screenshots/admin-*.png are taken here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e_admin.conftest import Live, finish, shot, sign_in
from tests.e2e_admin.plans import active_grids, broken_plan, valid_plan, write_plan

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def plan_files(live: Live, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both files made from the demo's active plan before any test changes it."""
    d = tmp_path_factory.mktemp("plans")
    broken, info = broken_plan(live.database_url, d / "网格方案-有错误.geojson")
    valid = valid_plan(live.database_url, d / "网格方案-2026.geojson")
    return {"broken": broken, "valid": valid, **info}


def _plans(live: Live) -> list[dict[str, Any]]:
    status, data = live.api("GET", "/api/v1/admin/plans")
    assert status == 200, data
    return data["items"]


def _upload(page: Any, path: Path) -> None:
    page.goto(page.url.split("/console/")[0] + "/console/admin/plans")
    page.set_input_files("[data-test=plan-upload] input[type=file]", str(path))
    page.click("[data-test=upload]")


def test_plan_with_errors_is_listed_mapped_and_refused(
    browser: Any, live: Live, plan_files: dict[str, Any]
) -> None:
    before = _plans(live)
    page = sign_in(browser, live, "admin")
    _upload(page, plan_files["broken"])
    refused = page.locator("[data-test=refused]")
    refused.wait_for(timeout=60_000)
    assert "错误" in refused.inner_text()
    assert page.locator("[data-test=status-422]").inner_text() == "422"

    # listed: overlaps and gaps, each naming the grids involved
    problems = page.locator("[data-test=problems] li[data-problem^=e]")
    n = problems.count()
    assert n >= 2
    assert int(page.locator("[data-test=error-count]").inner_text()) == n
    kinds = {problems.nth(i).get_attribute("data-kind") for i in range(n)}
    assert {"overlap", "gap"} <= kinds
    listed = page.locator("[data-test=problems]").inner_text()
    assert plan_files["moved"] in listed

    # on the map: one shape per located problem, and a click zooms to it
    pmap = page.locator("[data-test=problem-map]")
    page.wait_for_function(
        "el => el.dataset.ready === '1'", arg=pmap.element_handle(), timeout=15_000
    )
    assert int(pmap.get_attribute("data-shapes") or 0) >= n
    assert page.locator("[data-test=problem-map] path.leaflet-interactive").count() >= n
    shot(page, "admin-plan-refused")
    zoom_before = int(pmap.get_attribute("data-zoom") or 0)
    gap = page.locator("[data-test=problems] li[data-kind=overlap]").first
    gap.click()
    page.wait_for_function(
        "([el, z]) => Number(el.dataset.zoom) > z",
        arg=[pmap.element_handle(), zoom_before],
        timeout=10_000,
    )
    assert "on" in (gap.get_attribute("class") or "")

    # refused: nothing stored, the active plan unchanged
    after = _plans(live)
    assert [(p["id"], p["status"]) for p in after] == [(p["id"], p["status"]) for p in before]
    finish(page)


def test_valid_plan_is_stored_and_published(
    browser: Any, live: Live, plan_files: dict[str, Any]
) -> None:
    page = sign_in(browser, live, "admin")
    _upload(page, plan_files["valid"])
    page.locator("[data-test=stored]").wait_for(timeout=60_000)
    assert page.locator("[data-test=error-count]").inner_text() == "0"
    drafts = [p for p in _plans(live) if p["status"] == "draft"]
    assert len(drafts) == 1 and drafts[0]["source_name"] == plan_files["valid"].name
    draft = drafts[0]
    row = page.locator(f"[data-test=plans] tr[data-plan='{draft['id']}']")
    assert row.locator("[data-status]").get_attribute("data-status") == "draft"

    page.click("[data-test=publish-shown]")
    page.locator("[data-test=confirm-publish]").wait_for()
    page.keyboard.press("Enter")  # the dialog's primary button has the focus
    page.wait_for_selector(
        f"[data-test=plans] tr[data-plan='{draft['id']}'] [data-status=active]", timeout=30_000
    )
    plans = {p["id"]: p for p in _plans(live)}
    assert plans[draft["id"]]["status"] == "active"
    assert plans[draft["id"]]["published_at"]
    # the county's earlier plans retire; the demo city's other county keeps its own plan
    county = plans[draft["id"]]["region"]["id"]
    others = [p for p in plans.values() if p["id"] != draft["id"]]
    retired = [p for p in others if p["region"]["id"] == county]
    assert retired and all(p["status"] == "retired" for p in retired)
    assert [p["status"] for p in others if p["region"]["id"] != county] == ["active"]
    page.wait_for_timeout(500)
    shot(page, "admin-plans")
    finish(page)


def test_user_is_created_and_given_a_grid_duty(browser: Any, live: Live) -> None:
    status, grids = live.api("GET", "/api/v1/admin/grids?unstaffed=1")
    assert status == 200 and grids["items"], grids
    grid = grids["items"][0]
    unstaffed_before = grids["counts"]["unstaffed"]

    page = sign_in(browser, live, "admin")
    page.goto(f"{live.url}/console/admin/users")
    page.locator("[data-test=users] tr[data-user=admin]").wait_for()

    # new user: a bad password comes back as a field problem, shown under the field
    page.keyboard.press("n")
    form = page.locator("[data-test=new-user-form]")
    form.wait_for()
    form.locator("input[name=username]").fill("wgy_new")
    form.locator("input[name=display_name]").fill("网格员 刘新")
    form.locator("select[name=role]").select_option("grid_worker")
    form.locator("input[name=password]").fill("123")
    form.locator("input[name=phone]").fill("13900001111")
    form.locator("button[type=submit]").click()
    err = form.locator("[data-field-error=password]")
    err.wait_for()
    assert err.inner_text()
    form.locator("input[name=password]").fill("a-long-enough-password-1")
    form.locator("button[type=submit]").click()
    form.wait_for(state="detached")
    row = page.locator("[data-test=users] tr[data-user=wgy_new]")
    row.wait_for()
    assert "sel" in (row.get_attribute("class") or "")

    # a duty: first a code that is no grid (refused next to the row), then the unstaffed grid
    duties = page.locator("[data-test=duties]")
    duties.locator("[data-test=add-duty]").click()
    duties.locator("input[name=grid_code]").last.fill("640181999999999")
    duties.locator("[data-test=save-duties]").click()
    bad = duties.locator("[data-field-error='duties[0].grid_code']")
    bad.wait_for()
    assert "640181999999999" in bad.inner_text()
    duties.locator("input[name=grid_code]").last.fill(grid["code"])
    duties.locator("select[name=duty]").last.select_option("full_time")
    duties.locator("[data-test=save-duties]").click()
    page.locator("[data-test=toast]", has_text="网格职责已保存").wait_for()
    assert bad.count() == 0
    row.locator("[data-test=duty-summary]", has_text="专职网格员").wait_for()

    status, users = live.api("GET", "/api/v1/admin/users?q=wgy_new")
    assert status == 200
    (user,) = users["items"]
    assert [(d["grid_code"], d["duty"]) for d in user["duties"]] == [(grid["code"], "full_time")]
    status, after = live.api("GET", "/api/v1/admin/grids?unstaffed=1")
    assert after["counts"]["unstaffed"] == unstaffed_before - 1
    assert grid["code"] not in {g["code"] for g in after["items"]}
    page.wait_for_timeout(300)
    shot(page, "admin-users")

    # the grids screen: the grid now shows its worker; the unstaffed ones are flagged
    page.goto(f"{live.url}/console/admin/grids?grid={grid['code']}")
    grow = page.locator(f"[data-test=grids] tr[data-grid='{grid['code']}']")
    grow.wait_for()
    assert grow.get_attribute("data-unstaffed") == "0"
    assert "网格员 刘新" in grow.inner_text()
    assert (
        page.locator("[data-test=unstaffed-count]")
        .inner_text()
        .startswith(str(unstaffed_before - 1))
    )
    assert page.locator("[data-test=grids] [data-test=unstaffed]").count() == unstaffed_before - 1
    page.locator("[data-test=grids-map] path.leaflet-interactive").first.wait_for()

    # staff another unstaffed grid from this screen: pick it, pick the person, 指派
    other = after["items"][0]
    page.locator(f"[data-test=grids] tr[data-grid='{other['code']}']").click()
    panel = page.locator("[data-test=grid-panel]")
    panel.locator("header", has_text=other["code"]).wait_for()
    panel.locator("select[name=user]").select_option(label="网格员 刘新（wgy_new）")
    panel.locator("select[name=duty]").select_option("full_time")
    panel.locator("[data-test=assign] button[type=submit]").click()
    page.wait_for_selector(
        f"[data-test=grids] tr[data-grid='{other['code']}'][data-unstaffed='0']", timeout=15_000
    )
    status, user_after = live.api("GET", f"/api/v1/admin/users/{user['id']}")
    assert {(d["grid_code"], d["duty"]) for d in user_after["user"]["duties"]} == {
        (grid["code"], "full_time"),
        (other["code"], "full_time"),
    }
    page.wait_for_timeout(500)
    shot(page, "admin-grids")
    finish(page)


def test_departments_and_category_time_limits(browser: Any, live: Live) -> None:
    page = sign_in(browser, live, "admin")
    page.goto(f"{live.url}/console/admin/departments")
    form = page.locator("[data-test=new-department]")
    form.locator("input[name=code]").fill("SWJ")
    form.locator("input[name=name]").fill("水务局")
    form.locator("button[type=submit]").click()
    page.locator("[data-test=departments] tr[data-dep=SWJ]").wait_for()
    # the same code again: 409 with the field named
    form.locator("input[name=code]").fill("SWJ")
    form.locator("input[name=name]").fill("水务局二")
    form.locator("button[type=submit]").click()
    form.locator("[data-field-error=code]").wait_for()
    shot(page, "admin-departments")

    page.goto(f"{live.url}/console/admin/categories")
    row = page.locator("[data-test=categories] tr[data-cat='0101']")
    row.wait_for()
    row.dblclick()
    limit = row.locator("input[name=limit_value]")
    limit.fill("0")
    limit.press("Enter")
    row.locator("[data-field-error=limit_value]").wait_for()
    limit.fill("6")
    limit.press("Enter")
    row.locator("input[name=limit_value]").wait_for(state="detached")
    assert "6 工作小时" in row.inner_text()
    _, cats = live.api("GET", "/api/v1/admin/categories")
    assert next(c for c in cats["items"] if c["code"] == "0101")["limit_value"] == 6
    # show one row being edited, with a problem next to its field
    page.locator("[data-test=categories] tr[data-cat='0301']").dblclick()
    edit = page.locator("[data-test=categories] tr[data-cat='0301']")
    edit.locator("input[name=urgent_hours]").fill("-1")
    edit.locator("input[name=urgent_hours]").press("Enter")
    edit.locator("[data-field-error=urgent_hours]").wait_for()
    shot(page, "admin-categories")
    finish(page)


def test_duplicate_codes_are_refused_then_renumbered_on_request(
    browser: Any, live: Live, tmp_path: Path
) -> None:
    """A code printed on signs is never rewritten silently: a duplicated one is an error until
    the admin ticks "renumber"; then the replacement is listed as a warning (old → new)."""
    grids = active_grids(live.database_url)
    twice = grids[4]["code"]
    grids[5]["code"] = twice
    path = write_plan(tmp_path / "网格方案-重复编码.geojson", grids)
    page = sign_in(browser, live, "admin")
    _upload(page, path)
    page.locator("[data-test=refused]").wait_for(timeout=60_000)
    dup = page.locator("[data-test=problems] li[data-kind=duplicate_code]")
    assert dup.count() == 1 and twice in dup.inner_text()

    page.goto(f"{live.url}/console/admin/plans")
    page.set_input_files("[data-test=plan-upload] input[type=file]", str(path))
    page.check("[data-test=renumber]")
    page.click("[data-test=upload]")
    page.locator("[data-test=stored]").wait_for(timeout=60_000)
    assert page.locator("[data-test=error-count]").inner_text() == "0"
    renumbered = page.locator("[data-test=problems] li[data-kind=code_renumbered]")
    assert renumbered.count() == 1 and "→" in renumbered.inner_text()
    finish(page)
