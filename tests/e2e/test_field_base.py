"""基础信息/走访 on the phone (issue 16), end to end in Chromium on a phone viewport.

Offline, the grid worker opens a household, updates a resident, adds a newborn who has no
identity number yet (出生登记: birth date and sex instead), records a visit with a photo and
raises a case from it; back online each arrives exactly once, and the newborn's number, added
later on the phone, is checked and stored encrypted. An edit of the
same resident made meanwhile through the API (the console's path) comes back on the phone as a
conflict the worker settles (保留我的) — never a silent overwrite.

The base data is made through the API in each test (places, a household, two residents, a key
group tag), in the demo worker's first grid.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.a11y import check_page
from tests.e2e.conftest import IN_MY_GRID, make_photo
from tests.e2e.helpers import go, sign_in, wait_outbox
from tests.live import LiveServer

FAST_RETRY = {"wangge.retryBaseMs": "300"}
SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "base"  # gitignored

_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_number(birth: str, seq: int) -> str:
    """A valid fictitious 公民身份号码 (GB 11643) in 640181 born on ``birth`` (YYYYMMDD)."""
    body = f"640181{birth}{seq:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, _W, strict=True)) % 11]


def base_household(api: Any, tag: str) -> dict[str, Any]:
    """estate → building → unit → room (in wgy's first grid), a household, a head (tagged
    独居老人, so a visit is due) and a spouse; made by wgy through the API."""
    wgy = api("wgy")
    lon, lat = IN_MY_GRID["longitude"], IN_MY_GRID["latitude"]

    def place(kind: str, name: str, parent: int | None, **kw: Any) -> dict[str, Any]:
        body = {"uuid": str(uuid.uuid4()), "kind": kind, "name": name, "parent_id": parent, **kw}
        return dict(wgy.post("/base/places", body)["place"])

    estate = place("estate", f"幸福小区{tag}", None, address=f"幸福路 {tag} 号", lon=lon, lat=lat)
    building = place("building", "12号楼", estate["id"], lon=lon, lat=lat)
    unit = place("unit", "1单元", building["id"])
    room = place("room", "301", unit["id"])
    hh = wgy.post("/base/households", {"uuid": str(uuid.uuid4()), "place_id": room["id"]})
    household = hh["household"]
    seq = int(tag, 16) % 400 * 2 + 1  # odd: a man (the head), then even: a woman

    def person(name: str, birth: str, relation: str, n: int) -> dict[str, Any]:
        body = {
            "uuid": str(uuid.uuid4()),
            "name": name,
            "id_number": id_number(birth, n),
            "phone": f"1390000{n:04d}",
            "registration": "registered",
            "relation": relation,
            "household_id": household["id"],
        }
        return dict(wgy.post("/base/residents", body)["resident"])

    head = person(f"刘建国{tag}", "19480302", "head", seq)
    spouse = person(f"陈桂芳{tag}", "19500611", "spouse", seq + 1)
    wgy.post(
        f"/base/residents/{head['id']}/tags",
        {"uuid": str(uuid.uuid4()), "kind_code": "elderly_alone", "level": 1},
    )
    return {"household": household, "head": head, "spouse": spouse, "room": room}


def wait_bundle(page: Any, household_id: int) -> None:
    page.wait_for_function(
        "id => window.wangge.base.bundle &&"
        " window.wangge.base.bundle.households.some(h => h.id === id)",
        arg=household_id,
    )


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_offline_household_edit_newborn_visit_case_and_a_conflict(
    page: Any, context: Any, server: LiveServer, api: Any, photo: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    data = base_household(api, tag)
    hid = data["household"]["id"]
    head, spouse = data["head"], data["spouse"]

    sign_in(page, server.url, settings=FAST_RETRY)
    go(page, "#/base")
    page.wait_for_selector("[data-test=base-home]")
    wait_bundle(page, hid)
    page.wait_for_selector("[data-test=due-counts]")
    shot(page, "01-home-online")

    # -- offline, after a restart: the phone's copy only ---------------------------------------
    context.set_offline(True)
    page.reload()
    page.wait_for_selector("[data-test=offline]")
    go(page, "#/base")
    page.fill("[data-test=base-search] input", head["name"])
    page.click(f"[data-household='{hid}']")
    page.wait_for_selector("[data-test=household]")
    assert page.locator("[data-test=member-name]").all_inner_texts() == [
        head["name"],
        spouse["name"],
    ]
    # masked on the phone: no clear identity number or phone anywhere in the page or the bundle
    text = page.locator("body").inner_text()
    assert "**********" in text and "****" in text
    bundle = page.evaluate("() => JSON.stringify(window.wangge.base.bundle)")
    assert "**********" in bundle and "19480302" not in bundle
    assert "13900000" not in bundle
    shot(page, "02-household-offline")

    # update the head: a new name and phone
    page.locator(f"[data-resident='{head['id']}'] [data-test=edit-person]").click()
    page.wait_for_selector("[data-test=resident-edit]")
    page.fill("[data-test=edit-name] input", f"刘建国改{tag}")
    page.fill("[data-test=edit-phone] input", "13912345678")
    shot(page, "03-edit-resident")
    page.click("[data-test=save-person]")
    page.wait_for_selector("[data-test=household]")
    page.wait_for_selector(f"[data-resident='{head['id']}'][data-pending='1']")

    # add a newborn: no identity number yet (出生登记), the birth date and sex instead
    born = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=20)
    newborn_id = id_number(born.strftime("%Y%m%d"), int(tag, 16) % 499 * 2 + 2)  # even: a girl
    page.click("[data-test=add-person]")
    page.wait_for_selector("[data-test=resident-new]")
    page.fill("[data-test=new-name] input", f"刘小宝{tag}")
    page.fill(
        "[data-test=new-id-number] input", newborn_id[:-1] + ("1" if newborn_id[-1] != "1" else "2")
    )
    page.click("[data-test=save-new-person]")
    page.wait_for_selector(".van-field__error-message:has-text('校验位')")  # checked on the phone
    page.check("[data-test=new-newborn]")
    page.fill("[data-test=new-born-on]", born.isoformat())
    page.click("[data-test=save-new-person]")
    page.wait_for_selector("[role=alert]:has-text('请选择性别')")
    page.select_option("[data-test=new-sex]", "female")
    shot(page, "04-add-newborn")
    page.click("[data-test=save-new-person]")
    page.wait_for_selector("[data-test=household]")
    page.wait_for_selector(f"[data-test=member-name]:has-text('刘小宝{tag}')")

    # a visit to the spouse with a photo, raising a case
    page.locator(f"[data-resident='{spouse['id']}'] [data-test=visit-person]").click()
    page.wait_for_selector("[data-test=visit-form]")
    page.fill("[data-test=visit-note] textarea", f"e2e 走访{tag}：老人身体尚可")
    page.fill("[data-test=visit-findings] textarea", f"e2e 走访发现{tag}：楼道堆放杂物")
    page.set_input_files(
        "[data-test=gallery]", str(make_photo(photo.with_name("v.jpg"), 1600, 1200))
    )
    page.wait_for_selector(".photo img")
    page.click("[data-test=visit-raise]")
    page.select_option("[data-test=visit-category]", label="市容环境 · 暴露垃圾")
    shot(page, "05-visit")
    page.click("[data-test=save-visit]")
    page.wait_for_selector("[data-test=household]")

    wait_outbox(
        page,
        lambda xs: [i["state"] for i in xs if i["kind"] == "base"] == ["waiting"] * 3,
        what="three base items waiting",
    )

    # meanwhile, the same resident is changed through the API (the console's path)
    ddy = api("ddy")
    ddy.call(
        "PATCH",
        f"/base/residents/{head['id']}",
        {"base_version": head["version"], "registration": "floating"},
    )

    # -- back online: each arrives exactly once; the edit is a conflict ------------------------
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_outbox(
        page,
        lambda xs: (
            sorted(i["state"] for i in xs if i["kind"] == "base") == ["conflict", "sent", "sent"]
        ),
        what="two sent and one conflict",
    )
    newborns = server.query(
        "SELECT id, household_id, status, id_hash, id_mask, birth_date, sex FROM residents"
        " WHERE name = ?",
        f"刘小宝{tag}",
    )
    assert len(newborns) == 1 and newborns[0][1] == hid, newborns
    assert newborns[0][2:] == ("active", None, "", born.isoformat(), "female"), newborns
    baby = newborns[0][0]
    assert server.query(
        "SELECT kind, occurred_on FROM life_events WHERE resident_id = ?", baby
    ) == [("move_in", born.isoformat())]
    visits = server.query(
        "SELECT id, resident_id, case_id FROM visits WHERE note LIKE ?", f"e2e 走访{tag}%"
    )
    assert len(visits) == 1 and visits[0][1] == spouse["id"] and visits[0][2], visits
    cases = server.query("SELECT id, state FROM incidents WHERE id = ?", visits[0][2])
    assert len(cases) == 1, cases
    atts = server.query("SELECT status FROM attachments WHERE visit_id = ?", visits[0][0])
    assert atts == [("ready",)], atts
    # the conflict: nothing overwritten yet
    row = server.query("SELECT name, registration, version FROM residents WHERE id = ?", head["id"])
    assert row[0][:2] == (head["name"], "floating"), row

    page.reload()
    go(page, f"#/base/households/{hid}")
    page.wait_for_selector("[data-test=base-conflict]")
    shot(page, "06-conflict")
    page.click("[data-test=keep-mine]")
    wait_outbox(
        page,
        lambda xs: all(i["state"] == "sent" for i in xs if i["kind"] == "base"),
        what="all sent",
    )
    row = server.query("SELECT name, registration FROM residents WHERE id = ?", head["id"])
    assert row == [(f"刘建国改{tag}", "floating")], row
    # once more: nothing doubled after the settle and a refresh
    page.evaluate("() => window.wangge.state.outbox.length")
    assert len(server.query("SELECT id FROM residents WHERE name = ?", f"刘小宝{tag}")) == 1
    assert len(server.query("SELECT id FROM visits WHERE note LIKE ?", f"e2e 走访{tag}%")) == 1

    # the newborn's number comes: added on the phone, checked, stored encrypted, found by it
    page.wait_for_function(
        "id => window.wangge.base.bundle.residents.some(r => r.id === id && !r.id_number)",
        arg=baby,
    )
    go(page, f"#/base/residents/{baby}/edit")
    page.wait_for_selector("[data-test=edit-id-number]")
    page.fill("[data-test=edit-id-number] input", newborn_id)
    page.click("[data-test=save-person]")
    for _ in range(100):  # sent by the outbox (no other item of this resident)
        row = server.query("SELECT id_mask, id_cipher FROM residents WHERE id = ?", baby)
        if row[0][0]:
            break
        page.wait_for_timeout(200)
    assert row[0][0] == f"{newborn_id[:4]}**********{newborn_id[-4:]}", row
    assert newborn_id.encode() not in bytes(row[0][1])  # the database holds no number in clear
    found = api("ddy").get("/base/residents", id_number=newborn_id)["items"]
    assert [r["id"] for r in found] == [baby]
    assert len(server.query("SELECT id FROM residents WHERE name = ?", f"刘小宝{tag}")) == 1
    go(page, "#/outbox")
    page.wait_for_selector("[data-test=outbox]")
    shot(page, "07-outbox-after")
    assert not page.errors, page.errors


def test_take_theirs_drops_my_edit(page: Any, context: Any, server: LiveServer, api: Any) -> None:
    tag = uuid.uuid4().hex[:6]
    data = base_household(api, tag)
    hid, head = data["household"]["id"], data["head"]
    sign_in(page, server.url, settings=FAST_RETRY)
    go(page, "#/base")
    wait_bundle(page, hid)
    context.set_offline(True)
    go(page, f"#/base/residents/{head['id']}/edit")
    page.fill("[data-test=edit-name] input", f"我改的{tag}")
    page.click("[data-test=save-person]")
    page.wait_for_selector("[data-test=household], [data-test=base-home]")
    api("ddy").call(
        "PATCH",
        f"/base/residents/{head['id']}",
        {"base_version": head["version"], "name": f"他改的{tag}"},
    )
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_outbox(page, lambda xs: any(i["state"] == "conflict" for i in xs), what="a conflict")
    go(page, "#/outbox")
    page.wait_for_selector("[data-test=base-conflict]")
    page.click("[data-test=take-theirs]")
    wait_outbox(
        page,
        lambda xs: not any(i["kind"] == "base" and i["state"] != "sent" for i in xs),
        what="none left",
    )
    assert server.query("SELECT name FROM residents WHERE id = ?", head["id"]) == [
        (f"他改的{tag}",)
    ]
    go(page, f"#/base/households/{hid}")
    page.wait_for_selector(f"[data-test=member-name]:has-text('他改的{tag}')")


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large"])
def test_base_pages_are_accessible(page: Any, server: LiveServer, api: Any, large: bool) -> None:
    """Every 走访 page: zero axe violations; in 大字版 text ≥ 18 px and targets ≥ 48×48."""
    tag = uuid.uuid4().hex[:6]
    data = base_household(api, tag)
    hid, head = data["household"]["id"], data["head"]
    page.goto(server.url + "/login")
    page.evaluate(f"() => localStorage.setItem('wangge.largeFont', '{1 if large else 0}')")
    sign_in(page, server.url)
    problems: list[str] = []

    def check(where: str) -> None:
        page.wait_for_timeout(300)
        problems.extend(check_page(page, large=large, where=where))

    go(page, "#/base")
    wait_bundle(page, hid)
    page.fill("[data-test=base-search] input", head["name"])
    page.wait_for_selector(f"[data-household='{hid}']")
    check("base home")
    go(page, f"#/base/households/{hid}")
    page.wait_for_selector("[data-test=household]")
    check("household")
    go(page, f"#/base/residents/{head['id']}/edit")
    page.wait_for_selector("[data-test=resident-edit]")
    check("edit resident")
    go(page, f"#/base/households/{hid}/add")
    page.wait_for_selector("[data-test=resident-new]")
    check("add person")
    go(page, f"#/base/visit?resident={head['id']}")
    page.wait_for_selector("[data-test=visit-form]")
    page.click("[data-test=visit-raise]")
    page.wait_for_selector("[data-test=visit-category]")
    check("visit")
    if large:
        shot(page, "08-visit-large")
    assert not problems, "\n".join(problems)
