"""基础信息 in the console (issue 16): masked lists and detail, 查看完整信息 only with a reason (and
the read log shows it to a supervisor), an edit on a stale version shown as a conflict, a level
change approved by someone other than who asked; every page accessible (axe; 大字版 sizes) and
no English half of a server message on a Chinese page.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.a11y import check_page
from tests.e2e.conftest import IN_MY_GRID
from tests.e2e_console.english import EnglishGuard
from tests.live import Api, LiveServer

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "base"  # gitignored


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"console-{name}.png"))


_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_number(birth: str, seq: int) -> str:
    body = f"640181{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _W, strict=True)) % 11]


def resident_in_my_grid(pw: Any, server: LiveServer, tag: str) -> tuple[dict[str, Any], str]:
    """A room in wgy's first grid, a household and one tagged resident (made by wgy)."""
    wgy = Api(pw, server.url, "wgy")
    lon, lat = IN_MY_GRID["longitude"], IN_MY_GRID["latitude"]
    parent = None
    for kind, name in (("estate", f"和平小区{tag}"), ("building", "3号楼"), ("room", "502")):
        body = {"uuid": str(uuid.uuid4()), "kind": kind, "name": name, "parent_id": parent,
                "lon": lon, "lat": lat, "address": f"和平路 {tag} 号"}  # fmt: skip
        parent = wgy.post("/base/places", body)["place"]["id"]
    hh = wgy.post("/base/households", {"uuid": str(uuid.uuid4()), "place_id": parent})
    number = id_number("19550918", int(tag, 16) % 400 * 2 + 1)
    r = wgy.post(
        "/base/residents",
        {"uuid": str(uuid.uuid4()), "name": f"赵德明{tag}", "id_number": number,
         "phone": "13700001234", "registration": "registered", "relation": "head",
         "household_id": hh["household"]["id"]},
    )["resident"]  # fmt: skip
    wgy.post(
        f"/base/residents/{r['id']}/tags",
        {"uuid": str(uuid.uuid4()), "kind_code": "elderly_alone", "level": 2},
    )
    wgy.close()
    return r, number


def test_reveal_with_a_reason_is_logged_and_an_edit_conflict_is_shown(
    console: Any, pw: Any, live_server: LiveServer
) -> None:
    tag = uuid.uuid4().hex[:6]
    r, number = resident_in_my_grid(pw, live_server, tag)
    page = console("ddy", f"/console/base/residents?grid={r['grid_code']}")
    guard = EnglishGuard(page)
    page.fill("input[name=q]", r["name"])
    page.click("button[type=submit]")
    page.click(f"[data-resident='{r['id']}']")
    page.wait_for_selector("[data-test=resident-panel] [data-test=resident-name]")
    assert page.inner_text("[data-test=id-number]") == number[:4] + "*" * 10 + number[-4:]
    assert number not in page.locator("body").inner_text()

    page.click("[data-test=reveal]")
    page.fill("[data-test=reveal-reason]", "")
    page.click("[data-test=reveal-submit]")
    page.wait_for_selector("[data-test=reveal-error]")
    page.fill("[data-test=reveal-reason]", "核实独居老人补贴材料")
    page.click("[data-test=reveal-submit]")
    page.wait_for_selector(f"[data-test=id-number]:has-text('{number}')")
    assert "13700001234" in page.inner_text("[data-test=phone]")
    shot(page, "resident-revealed")

    # an edit on a version someone else changed meanwhile: shown, not overwritten
    page.click("[data-test=edit-resident]")
    page.fill("[data-test=edit-form] input[name=name]", f"赵德民{tag}")
    Api(pw, live_server.url, "wgy").call(
        "PATCH",
        f"/base/residents/{r['id']}",
        {"base_version": r["version"], "registration": "floating"},
    )
    page.click("[data-test=save-resident]")
    page.wait_for_selector("[data-test=console-conflict]")
    shot(page, "resident-conflict")
    assert live_server.query("SELECT name FROM residents WHERE id = ?", r["id"]) == [(r["name"],)]
    page.click("[data-test=overwrite]")
    page.wait_for_selector(f"[data-test=resident-name]:has-text('赵德民{tag}')")
    assert live_server.query("SELECT name, registration FROM residents WHERE id = ?", r["id"]) == [
        (f"赵德民{tag}", "floating")
    ]
    guard.assert_clean()
    assert not page.js_errors, page.js_errors

    # the supervisor sees the reveal, with its reason, in the read log
    sup = console("dcy", "/console/base/reads")
    sup.fill("input[name=resident]", str(r["id"]))
    sup.click("button[type=submit]")
    sup.wait_for_selector("[data-test=reads] tr[data-purpose=reveal]")
    row = sup.inner_text("[data-test=reads] tr[data-purpose=reveal]")
    assert "核实独居老人补贴材料" in row and "查看完整信息" in row
    shot(sup, "reads")
    sup.goto("/console/base/places")
    sup.fill("input[name=q]", f"和平小区{tag}")
    sup.click("button[type=submit]")
    sup.click("[data-test=places] tr[data-place]")
    sup.click("[data-test=place-detail] ~ section button[data-place]")
    sup.click("[data-test=place-detail] ~ section button[data-place]")
    sup.click("button[data-household]")
    sup.wait_for_selector("[data-test=household-detail] tbody tr")
    shot(sup, "places")


def test_level_change_is_approved_by_another(
    console: Any, pw: Any, live_server: LiveServer
) -> None:
    tag = uuid.uuid4().hex[:6]
    r, _ = resident_in_my_grid(pw, live_server, tag)
    wgy = Api(pw, live_server.url, "wgy")
    tag_id = wgy.get(f"/base/residents/{r['id']}")["resident"]["tags"][0]["id"]
    req = wgy.post(
        f"/base/tags/{tag_id}/level-requests", {"to_level": 1, "reason": "独居且行动不便"}
    )
    page = console("dcy", "/console/base/key-groups")
    guard = EnglishGuard(page)
    row = page.locator(f"[data-request='{req['request']['id']}']")
    shot(page, "key-groups")
    row.locator("input").fill("同意，按周走访")
    row.locator("[data-test=approve]").click()
    page.wait_for_selector(f"[data-request='{req['request']['id']}']", state="detached")
    level = live_server.query("SELECT level FROM key_group_tags WHERE id = ?", tag_id)
    assert level == [(1,)], level
    guard.assert_clean()


PAGES = [
    ("ddy", "/console/base/residents", "table[data-test=residents]"),
    ("ddy", "/console/base/places", "table[data-test=places]"),
    ("ddy", "/console/base/organisations", "table[data-test=organisations]"),
    ("dcy", "/console/base/key-groups", "table[data-test=kinds] tbody tr"),
    ("dcy", "/console/base/reads", "table[data-test=reads]"),
    ("dcy", "/console/base/overview", "[data-test=base-overview]"),
]


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_base_pages_are_accessible(
    console: Any, pw: Any, live_server: LiveServer, large: bool
) -> None:
    r, _ = resident_in_my_grid(pw, live_server, uuid.uuid4().hex[:6])
    problems: list[str] = []
    for who, path, ready in PAGES:
        page = console(who, "/console/")
        page.evaluate(f"() => localStorage.setItem('wangge.largeFont', '{1 if large else 0}')")
        page.goto(path)
        page.wait_for_selector(ready)
        page.wait_for_timeout(300)
        problems += check_page(page, large=large, where=f"{who} {path}")
        if path.endswith("/residents"):
            page.goto(f"/console/base/residents/{r['id']}")
            page.wait_for_selector("[data-test=resident-name]")
            page.click("[data-test=reveal]")
            page.wait_for_selector("[data-test=reveal-form]")
            problems += check_page(page, large=large, where=f"{who} resident + reveal dialog")
        page.context.close()
    assert not problems, "\n".join(problems)
