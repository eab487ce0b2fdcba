"""End-to-end fixtures for the command-centre console: ``console("ddy")`` opens a signed-in page
on the shared app (``live_server`` of tests/conftest.py, which also seeds ``ddy2``, a second
dispatcher for the conflict test). A failing test leaves its pages' screenshots in
test-results/ (pytest-playwright's ``--screenshot=only-on-failure``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.live import PASSWORD, Api, LiveServer, jpeg_bytes

__all__ = ["PASSWORD", "Api", "jpeg_bytes", "report_as_worker"]


@pytest.fixture
def server(live_server: LiveServer) -> str:
    return live_server.url


@pytest.fixture(scope="session")
def pw(playwright: Any) -> Any:
    return playwright


def report_as_worker(api: Api, description: str, category_code: str = "0101") -> dict[str, Any]:
    """File a case as the grid worker does from the field app: a point inside one of my grids."""
    from shapely.geometry import shape

    grids = api.get("/grids.geojson", mine=1)
    p = shape(grids["features"][0]["geometry"]).representative_point()
    ans = api.post(
        "/cases",
        {
            "uuid": str(uuid.uuid4()),
            "category_code": category_code,
            "description": description,
            "lon": round(p.x, 6),
            "lat": round(p.y, 6),
            "accuracy_m": 8,
            "photos": [api.photo()],
            "device_time": "2026-01-01T08:00:00+08:00",
        },
    )
    return dict(ans["case"])


@pytest.fixture
def console(new_context: Any, live_server: LiveServer) -> Any:
    """Open a signed-in console page: ``page = console("ddy")``."""

    def open_as(username: str, path: str = "/console/queue", *, via_form: bool = False) -> Any:
        ctx = new_context(
            base_url=live_server.url, viewport={"width": 1440, "height": 900}, locale="zh-CN"
        )
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.js_errors = errors
        # every URL the page asked for (the live feed's stream or long poll, for one)
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.requested = requested
        # requests still waiting for their answer, with when they were asked (for failures)
        pending: dict[Any, tuple[float, str]] = {}
        page.on("request", lambda r: pending.__setitem__(r, (time.monotonic(), r.url)))
        page.on("requestfinished", lambda r: pending.pop(r, None))
        page.on("requestfailed", lambda r: pending.pop(r, None))
        page.pending = pending
        if via_form:
            page.goto(path)
            page.fill("[data-test=login-form] input[name=username]", username)
            page.fill("[data-test=login-form] input[name=password]", PASSWORD)
            page.click("[data-test=login-form] button[type=submit]")
        else:
            r = ctx.request.post(
                "/api/v1/auth/login", data={"username": username, "password": PASSWORD}
            )
            assert r.ok, r.text()
            page.goto(path)
        page.wait_for_selector(".topbar")
        return page

    return open_as


def wait_or_explain(page: Any, selector: str, server: LiveServer, timeout: float) -> None:
    """``page.wait_for_selector(selector)``; on a timeout, fail saying what the page was still
    waiting for (its unanswered requests, oldest first), where it was, and the server's log."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector(selector, timeout=timeout)
    except PlaywrightTimeout:
        now = time.monotonic()
        waiting = sorted(page.pending.values())
        lines = [f"  {now - at:6.1f} s  {url}" for at, url in waiting] or ["  (none)"]
        log = server.log.read_text(errors="replace").splitlines()[-40:]
        raise AssertionError(
            f"{selector} not shown in {timeout / 1000:.0f} s at {page.url}\n"
            "requests unanswered:\n" + "\n".join(lines) + f"\nJS errors: {page.js_errors}\n"
            "server log:\n" + "\n".join(log)
        ) from None
