"""The labels and the actions both apps show come from the server (issue 12).

A server whose domain vocabulary says other words (``tests/e2e/relabelled_app.py``) is served
to the unchanged, already built web app: the phone and the console show the new words. Then
the answers of that server are edited on their way to the browser so that one action the
server allows is missing: neither app offers it, although each app's own code would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import go, sign_in
from tests.e2e.relabelled_app import RELABELLED
from tests.e2e.test_field_app import dispatched_case
from tests.live import Api, LiveServer


@pytest.fixture
def relabelled(e2e_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    srv = LiveServer.copy_of(
        e2e_template, tmp_path / "instance", app="tests.e2e.relabelled_app:app"
    ).start()
    yield srv
    srv.stop()


def _without(action: str) -> Any:
    """A route handler: the server's answer with ``action`` taken out of every action list."""

    def drop(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: drop(v) for k, v in node.items()}
            if isinstance(out.get("allowed_actions"), list):
                out["allowed_actions"] = [a for a in out["allowed_actions"] if a != action]
            if isinstance(out.get("allowed_next"), dict):
                out["allowed_next"] = {
                    s: [a for a in acts if a != action] for s, acts in out["allowed_next"].items()
                }
            return out
        if isinstance(node, list):
            return [drop(v) for v in node]
        return node

    def handle(route: Any) -> None:
        if route.request.url.split("?")[0].endswith("/changes/stream"):
            # A stream does not end for minutes: route.fetch() would wait for its whole body,
            # hold the handler past the test and fail the next one when the server stops.
            # Refused, the console backs off and retries: no frame brings unedited actions.
            route.abort()
            return
        response = route.fetch()
        if "json" not in (response.headers.get("content-type") or ""):
            route.fulfill(response=response)
            return
        route.fulfill(response=response, body=json.dumps(drop(response.json())))

    return handle


def test_both_apps_say_the_domains_words_and_offer_only_the_servers_actions(
    playwright: Any, page: Any, browser: Any, relabelled: LiveServer
) -> None:
    zh = {kind: {n: pair[0] for n, pair in names.items()} for kind, names in RELABELLED.items()}
    # the server says the new words in /bootstrap
    apis = {u: Api(playwright, relabelled.url, u) for u in ("wgy", "ddy", "czry")}
    boot = apis["wgy"].get("/bootstrap")
    assert boot["workflow"]["actions"]["sign"]["zh"] == zh["actions"]["sign"]
    case = dispatched_case(lambda u: apis[u], "e2e 名称来自服务器")
    accepted = apis["ddy"].act(
        apis["wgy"].post(
            "/cases",
            {"uuid": str(uuid.uuid4()), "category_code": "0101",
             "description": "e2e 名称来自服务器（待派遣）", "lon": 106.269, "lat": 38.1185,
             "photos": []},
        )["case"],
        "accept",
    )  # fmt: skip

    # the phone: the handler's case says the new state and action words
    sign_in(page, relabelled.url, "czry")
    go(page, f"#/cases/{case['id']}")
    page.wait_for_selector("[data-test=action-sign]")
    assert page.inner_text("[data-test=case-state]") == zh["states"]["dispatched"]
    assert page.inner_text("[data-test=action-sign]").strip() == zh["actions"]["sign"]

    # the console: the dispatcher's case pages say them too
    ctx = browser.new_context(base_url=relabelled.url, viewport={"width": 1440, "height": 900})
    console = ctx.new_page()
    r = ctx.request.post("/api/v1/auth/login", data={"username": "ddy", "password": "wangge-demo"})
    assert r.ok, r.text()
    console.goto(f"/console/cases/{accepted['id']}")
    button = console.locator("[data-test=actions] [data-action=dispatch]")
    button.wait_for()
    offered = console.locator("[data-test=actions] [data-action]").evaluate_all(
        "bs => bs.map(b => b.dataset.action)"
    )
    assert "dispatch" in offered and len(offered) > 1, offered
    assert button.inner_text().strip() == zh["actions"]["dispatch"]
    console.goto(f"/console/cases/{case['id']}")
    console.wait_for_selector("[data-test=case-page]")
    assert zh["states"]["dispatched"] in console.inner_text("[data-test=case-page]")

    # an action the server does not send is not offered, in either app
    try:
        console.route("**/api/v1/**", _without("dispatch"))
        console.goto(f"/console/cases/{accepted['id']}")
        console.wait_for_selector(f"[data-test=actions] [data-action={offered[-1]}]")
        expect(console.locator("[data-action=dispatch]")).to_have_count(0)
        page.route("**/api/v1/**", _without("sign"))
        page.reload()
        go(page, f"#/cases/{case['id']}")
        page.wait_for_selector("[data-test=action-request_extension]")
        # the phone first shows the case it keeps offline, then the server's answer
        expect(page.locator("[data-test=action-sign]")).to_have_count(0)
    finally:
        # no answer is edited after the test: the pages' requests outlive it until the server
        # stops, and a handler left in place fails the next test
        page.unroute_all(behavior="ignoreErrors")
        console.unroute_all(behavior="ignoreErrors")
    ctx.close()
    for api in apis.values():
        api.close()
