"""Steps a grid worker takes in the field app, for the end-to-end tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

PASSWORD = "wangge-demo"


def sign_in(
    page: Any, base_url: str, username: str = "wgy", *, settings: dict[str, str] | None = None
) -> None:
    """Sign in on the one sign-in page (the field app sends a signed-out browser there) and come
    back to the field app; wait for the service worker and the cached data."""
    page.goto(base_url + "/login?next=/app/")
    if settings:
        page.evaluate(
            "s => { for (const [k, v] of Object.entries(s)) localStorage.setItem(k, v) }", settings
        )
        page.reload()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/app/**")
    page.wait_for_function("() => window.wangge && window.wangge.state.casesFetchedAt > 0")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    # the precache is complete once the worker is active and controls the page
    page.wait_for_function(
        "async () => (await navigator.serviceWorker.ready).active.state === 'activated'"
    )


def go(page: Any, hash_path: str) -> None:
    page.evaluate("p => { location.hash = p }", hash_path)


def fill_report(
    page: Any, text: str, photo: Path | None = None, category: str = "暴露垃圾"
) -> None:
    go(page, "#/report")
    page.wait_for_selector("[data-test=report-form]")
    page.click("[data-test=category]")
    page.locator(".van-tree-select__item", has_text=category).first.click()
    page.fill("[data-test=description] textarea", text)
    if photo is not None:
        before = page.locator(".photo img").count()
        page.set_input_files("[data-test=gallery]", str(photo))
        page.wait_for_function(f"() => document.querySelectorAll('.photo img').length > {before}")
    page.wait_for_selector("[data-test=accuracy]")  # GPS fix shown


def save_report(page: Any) -> None:
    page.click("[data-test=save]")
    page.wait_for_selector("[data-test=save]:has-text('已保存')")


def outbox(page: Any) -> list[dict[str, Any]]:
    """The outbox as the app holds it (IndexedDB, reloaded into the state)."""
    return page.evaluate(
        "() => window.wangge.state.outbox.map(i => ({id: i.id, state: i.state, kind: i.kind,"
        " attempts: i.attempts, error: i.error, conflict: i.conflict, result: i.result,"
        " photos: i.photos.map(p => ({uuid: p.uuid, bytes: p.bytes, ready: p.ready,"
        " received: p.received}))}))"
    )


def wait_outbox(
    page: Any, predicate: Any, timeout: float = 30.0, what: str = ""
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        items = outbox(page)
        if predicate(items):
            return items
        page.wait_for_timeout(200)
    raise AssertionError(f"outbox never got {what or 'there'}: {items}")


def shown_states(page: Any) -> list[str]:
    """The states the outbox page shows (data-state of each item card)."""
    go(page, "#/outbox")
    page.wait_for_selector("[data-test=outbox]")
    return list(page.locator("[data-outbox]").evaluate_all("els => els.map(e => e.dataset.state)"))
