"""The admin and dashboard end-to-end tests: the shared app (``live_server`` of
tests/conftest.py, as ``live``) in pytest-playwright's Chromium, signed in through the form.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.live import PASSWORD, LiveServer
from tests.support import ROOT

__all__ = ["PASSWORD", "Live"]
SCREENSHOTS = ROOT / "docs" / "screenshots"

Live = LiveServer  # the name the tests use


@pytest.fixture(scope="session")
def live(live_server: LiveServer) -> LiveServer:
    return live_server


def sign_in(browser: Any, live: Live, user: str, *, lang: str = "zh-CN") -> Any:
    """A new page signed in as ``user`` through the real sign-in form."""
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale=lang, timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _ERRORS[id(page)] = errors
    page.goto(f"{live.url}/login?next=/console/")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button, form input[type=submit]").first.click()
    page.wait_for_url("**/console/**")
    return page


_ERRORS: dict[int, list[str]] = {}


def finish(page: Any) -> None:
    """Close the page's context; fail if the page had an uncaught script error."""
    errors = _ERRORS.pop(id(page), [])
    page.context.close()
    assert not errors, f"script errors in the page: {errors}"


def shot(page: Any, name: str) -> None:
    """Save docs/screenshots/NAME.png once the toasts have gone, when WANGGE_SCREENSHOTS=1
    (the screenshots in the docs come from these tests; a plain run leaves them alone)."""
    if os.environ.get("WANGGE_SCREENSHOTS", "") != "1":
        return
    page.locator("[data-test=toast]").first.wait_for(state="detached", timeout=10_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
