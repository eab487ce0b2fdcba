"""One sign-in page for both apps; each role lands where it works (issue 14, items 1 and 9).

The README says open ``/``: a grid worker signs in there once and works in the field app, which
takes over the session instead of asking for the password again.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import PASSWORD, LiveServer


def _sign_in_at_root(
    page: Any, server: LiveServer, username: str, password: str = PASSWORD
) -> None:
    page.goto(server.url + "/")
    page.wait_for_url("**/login**")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_a_grid_worker_signs_in_once_at_root_and_lands_on_report(
    page: Any, server: LiveServer
) -> None:
    _sign_in_at_root(page, server, "wgy")
    page.wait_for_url("**/app/**")
    page.wait_for_function("() => window.wangge && window.wangge.state.casesFetchedAt > 0")
    page.wait_for_url("**/app/#/report")
    assert page.locator("input[type=password]").count() == 0  # not asked again
    assert page.evaluate("() => window.wangge.state.session.user.username") == "wgy"
    # reopening the app (its home-screen icon opens /app/) goes to 上报, the grid worker's home
    page.goto(server.url + "/app/")
    page.wait_for_url("**/app/#/report")
    page.wait_for_selector("[data-test=report-form]")
    # the sign-in page knows the session too
    page.goto(server.url + "/login")
    page.wait_for_url("**/app/**")


def test_a_handler_lands_on_cases_and_a_dispatcher_in_the_console(
    browser: Any, server: LiveServer
) -> None:
    for username, where, ready in [
        ("czry", "/app/#/cases", ".van-tabbar"),
        ("ddy", "/console/", ".topbar"),
    ]:
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = ctx.new_page()
        _sign_in_at_root(page, server, username)
        page.wait_for_selector(ready)
        page.wait_for_url(f"**{where}**")
        assert page.locator("input[type=password]").count() == 0
        ctx.close()
    # a dispatcher sent to sign in by the field app still lands in the console
    ctx = browser.new_context(locale="zh-CN")
    page = ctx.new_page()
    page.goto(server.url + "/app/")
    page.wait_for_url("**/login?next=%2Fapp%2F**")
    page.fill("input[name=username]", "ddy")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(".topbar")
    assert "/console/" in page.url
    ctx.close()


def test_the_apps_have_no_sign_in_page_of_their_own(browser: Any, server: LiveServer) -> None:
    ctx = browser.new_context(locale="zh-CN")
    page = ctx.new_page()
    page.goto(server.url + "/app/#/cases")
    page.wait_for_url("**/login?next=**")
    assert "next=%2Fapp%2F%23%2Fcases" in page.url, page.url
    page.goto(server.url + "/console/queue")
    page.wait_for_url("**/login?next=**")
    assert "next=%2Fconsole%2Fqueue" in page.url, page.url
    # wrong password: the Chinese page says so in Chinese only
    page.fill("input[name=username]", "ddy")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    alert = page.locator("[role=alert]").inner_text()
    assert alert == "用户名或密码错误", alert
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/queue")
    page.wait_for_selector(".topbar")
    ctx.close()


def test_large_font_switch_on_the_sign_in_page_carries_into_the_field_app(
    page: Any, server: LiveServer
) -> None:
    page.goto(server.url + "/login")
    switch = page.locator("[data-test=login-large-font]")
    assert switch.get_attribute("role") == "switch" and not switch.is_checked()
    size = "() => parseFloat(getComputedStyle(document.querySelector('label')).fontSize)"
    assert page.evaluate(size) < 18
    page.click("label[for=large-font]")
    assert page.evaluate("() => document.documentElement.classList.contains('large-font')")
    assert page.evaluate(size) >= 18
    page.reload()  # remembered
    assert page.locator("[data-test=login-large-font]").is_checked()
    page.fill("input[name=username]", "wgy")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-test=report-form]")
    assert page.evaluate("() => window.wangge.state.largeFont") is True
    assert page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)") >= 18
