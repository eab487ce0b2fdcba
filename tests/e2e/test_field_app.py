"""The field app's offline contract (DESIGN §5), proved in a real browser against the real app."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import make_photo, resolved_case
from tests.e2e.helpers import (
    fill_report,
    go,
    outbox,
    save_report,
    shown_states,
    sign_in,
    wait_outbox,
)
from tests.live import LiveServer

FAST_RETRY = {"wangge.retryBaseMs": "300"}


def cases_with(server: LiveServer, text: str) -> list[tuple[Any, ...]]:
    return server.query("SELECT id, uuid, state FROM incidents WHERE description = ?", text)


def photos_of(server: LiveServer, case_id: int) -> list[tuple[Any, ...]]:
    return server.query(
        "SELECT uuid, status, bytes, width, height FROM attachments WHERE incident_id = ?", case_id
    )


def assert_one_case_with_photo(server: LiveServer, text: str, item_id: str, photos: int = 1) -> int:
    rows = cases_with(server, text)
    assert len(rows) == 1, rows
    case_id, case_uuid, state = rows[0]
    assert case_uuid == item_id
    assert state == "reported"
    atts = photos_of(server, case_id)
    assert len(atts) == photos, atts
    for _uuid, status, size, width, height in atts:
        assert status == "ready"
        assert size and size > 10_000
        assert max(width, height) <= 2048
    return int(case_id)


def test_offline_report_survives_a_reload_and_is_sent_once(
    page: Any, context: Any, server: LiveServer, photo: Path
) -> None:
    sign_in(page, server.url)
    context.set_offline(True)
    page.reload()  # the app opens with no network (service worker + IndexedDB)
    page.wait_for_selector("[data-test=report-form]")
    page.wait_for_selector("[data-test=offline]")

    text = "e2e 离线上报：路口垃圾堆放"
    fill_report(page, text, photo)
    save_report(page)
    items = wait_outbox(
        page, lambda i: len(i) == 1 and i[0]["state"] == "waiting", what="one waiting item"
    )
    item_id = items[0]["id"]
    # the photo was shrunk on the phone: ~1600 px, a few hundred KB
    assert 20_000 < items[0]["photos"][0]["bytes"] < 900_000, items

    page.reload()  # still offline
    page.wait_for_selector("[data-test=report-form]")
    assert shown_states(page) == ["waiting"]
    assert outbox(page)[0]["id"] == item_id
    assert cases_with(server, text) == []

    # a browser restart drops the session cookie (and with it the CSRF token the app holds);
    # the remember-me cookie and IndexedDB stay
    context.clear_cookies(name="wangge_session")
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_outbox(page, lambda i: i[0]["state"] == "sent", what="sent")
    assert shown_states(page) == ["sent"]
    assert_one_case_with_photo(server, text, item_id)
    assert not page.errors  # type: ignore[attr-defined]


def test_server_errors_for_a_while_then_one_case(
    page: Any, server: LiveServer, photo: Path
) -> None:
    sign_in(page, server.url, settings=FAST_RETRY)
    failures = {"n": 0}

    def fail_three_times(route: Any) -> None:
        if failures["n"] < 3:
            failures["n"] += 1
            route.fulfill(
                status=500,
                content_type="application/json",
                body='{"error":"internal_error","message":"服务器内部错误 / internal"}',
            )
        else:
            route.continue_()

    page.route(
        "**/api/v1/cases",
        lambda r: fail_three_times(r) if r.request.method == "POST" else r.continue_(),
    )
    text = "e2e 服务器 500 一段时间"
    fill_report(page, text, photo)
    save_report(page)
    items = wait_outbox(
        page, lambda i: len(i) == 1 and i[0]["state"] == "sent", timeout=40, what="sent after 500s"
    )
    assert failures["n"] == 3
    assert items[0]["attempts"] == 3
    assert_one_case_with_photo(server, text, items[0]["id"])
    # the photo went up once; only the case was retried
    assert (
        len(
            server.query("SELECT id FROM attachments WHERE uuid = ?", items[0]["photos"][0]["uuid"])
        )
        == 1
    )


def test_lost_answer_is_replayed_not_duplicated(page: Any, server: LiveServer, photo: Path) -> None:
    """The server makes the case, the answer never reaches the phone: the re-send is a replay."""
    sign_in(page, server.url, settings=FAST_RETRY)
    lost = {"n": 0}

    def drop_answer(route: Any) -> None:
        if route.request.method == "POST" and lost["n"] == 0:
            lost["n"] += 1
            route.fetch()  # reaches the server, which creates the case
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/cases", drop_answer)
    text = "e2e 答复丢失"
    fill_report(page, text, photo)
    save_report(page)
    items = wait_outbox(page, lambda i: i and i[0]["state"] == "sent", timeout=40, what="sent")
    assert lost["n"] == 1
    assert items[0]["result"]["replay"] is True
    assert_one_case_with_photo(server, text, items[0]["id"])


def test_server_killed_in_the_middle_of_an_upload(
    page: Any, own_server: LiveServer, tmp_path: Path
) -> None:
    server = own_server  # a private app: this test kills it
    big = make_photo(tmp_path / "big.jpg", noise=80, seed=7)
    sign_in(page, server.url, settings={**FAST_RETRY, "wangge.pieceBytes": str(64 * 1024)})
    offsets: list[int] = []
    killed = threading.Event()

    def watch(route: Any) -> None:
        if route.request.method == "PUT":
            offsets.append(int(route.request.url.split("offset=")[1]))
            if len(offsets) == 3 and not killed.is_set():
                server.kill()  # two pieces are in; the third meets a dead server
                killed.set()
        route.continue_()

    page.route("**/api/v1/uploads/**", watch)
    text = "e2e 上传中途服务器被杀"
    fill_report(page, text, big)
    save_report(page)
    deadline = time.monotonic() + 30
    while not killed.is_set():  # route handlers run while Playwright is waiting, not on Event.wait
        assert time.monotonic() < deadline, "the upload never started"
        page.wait_for_timeout(100)
    items = wait_outbox(
        page,
        lambda i: i and i[0]["state"] == "waiting" and i[0]["attempts"] >= 1,
        what="a failed try",
    )
    assert items[0]["photos"][0]["received"] == 2 * 64 * 1024
    time.sleep(1.0)
    server.start()  # same port, same database and upload directory
    items = wait_outbox(
        page, lambda i: i[0]["state"] == "sent", timeout=60, what="sent after restart"
    )
    total = items[0]["photos"][0]["bytes"]
    assert total > 4 * 64 * 1024  # several pieces
    # resumed from what the server had, not from zero
    after = offsets[offsets.index(2 * 64 * 1024) :]
    assert 0 not in after, offsets
    assert offsets.count(0) == 1, offsets
    assert_one_case_with_photo(server, text, items[0]["id"])


def test_double_tap_on_save_makes_one_report(
    page: Any, context: Any, server: LiveServer, photo: Path
) -> None:
    sign_in(page, server.url)
    context.set_offline(True)
    text = "e2e 连点两次保存"
    fill_report(page, text, photo)
    page.dblclick("[data-test=save]")
    page.evaluate(
        "() => { const b = document.querySelector('[data-test=save]'); b.click(); b.click() }"
    )
    page.wait_for_timeout(800)
    items = outbox(page)
    assert len(items) == 1, items
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_outbox(page, lambda i: i[0]["state"] == "sent", what="sent")
    assert_one_case_with_photo(server, text, items[0]["id"])


def test_verify_queued_offline_after_a_redispatch_is_a_conflict(
    page: Any, context: Any, server: LiveServer, api: Any, photo: Path
) -> None:
    case = resolved_case(api, make_photo(photo.parent / "small.jpg", 1200, 900))
    sign_in(page, server.url)
    go(page, f"#/cases/{case['id']}")
    page.wait_for_selector("[data-test=verify-pass]")

    context.set_offline(True)
    page.reload()
    page.wait_for_selector("[data-test=verify-pass]")  # the case and its actions work offline
    page.click("[data-test=verify-pass]")
    page.click("[data-test=action-submit]")
    wait_outbox(page, lambda i: len(i) == 1 and i[0]["state"] == "waiting", what="a queued verify")

    # meanwhile the command centre sends it back for rework (返工): dispatched again
    again = api("ddy").act(case, "verify", passed=False, reason="现场复查仍有垃圾")
    assert again["state"] == "dispatched"

    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    items = wait_outbox(page, lambda i: i[0]["state"] == "conflict", what="a conflict")
    assert items[0]["conflict"]["case"]["state"] == "dispatched"
    assert shown_states(page) == ["conflict"]
    text = page.inner_text("[data-test=ob-conflict]")
    assert "待签收" in text, text
    # nothing happened on the server: still dispatched, no second verify
    assert server.query("SELECT state FROM incidents WHERE id = ?", case["id"]) == [("dispatched",)]
    # the worker settles it: re-doing is not possible in this state, so discard
    assert page.locator("[data-test=ob-redo]").count() == 0
    page.click("[data-test=ob-discard]")
    page.click(".van-dialog__confirm")
    wait_outbox(page, lambda i: i == [], what="empty")


def dispatched_case(api: Any, text: str) -> dict[str, Any]:
    """A case in wgy's grid, accepted and dispatched to 综合执法局 (czry's department)."""
    import uuid

    wgy, ddy, czry = api("wgy"), api("ddy"), api("czry")
    case = wgy.post(
        "/cases",
        {
            "uuid": str(uuid.uuid4()),
            "category_code": "0101",
            "description": text,
            "lon": 106.269,
            "lat": 38.1185,
            "photos": [],
        },
    )["case"]
    case = ddy.act(case, "accept")
    return ddy.act(
        case,
        "dispatch",
        department_id=czry.get("/auth/me")["user"]["department_id"],
        urgency="normal",
    )


def test_handler_signs_and_resolves_offline_in_order(
    page: Any, context: Any, server: LiveServer, api: Any, tmp_path: Path
) -> None:
    case = dispatched_case(api, "e2e 处置人员离线签收并反馈")
    sign_in(page, server.url, "czry")
    go(page, f"#/cases/{case['id']}")
    page.wait_for_selector("[data-test=action-sign]")
    context.set_offline(True)
    page.click("[data-test=action-sign]")
    page.click("[data-test=action-submit]")
    # after a queued sign the phone offers what follows it: resolve
    page.wait_for_selector("[data-test=action-resolve]")
    page.click("[data-test=action-resolve]")
    page.fill("[data-test=note] textarea", "已清运，现场恢复整洁")
    page.set_input_files(
        ".action-form [data-test=gallery]", str(make_photo(tmp_path / "after.jpg", 2000, 1500))
    )
    page.wait_for_selector(".action-form .photo img")
    page.click("[data-test=action-submit]")
    items = wait_outbox(
        page,
        lambda i: len(i) == 2 and all(x["state"] == "waiting" for x in i),
        what="two queued actions",
    )
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_outbox(page, lambda i: all(x["state"] == "sent" for x in i), what="both sent")
    events = server.query(
        "SELECT action, from_state, to_state FROM incident_events"
        " WHERE incident_id = ? ORDER BY id",
        case["id"],
    )
    assert [e[0] for e in events][-2:] == ["sign", "resolve"], events
    assert events[-1][2] == "resolved"
    resolve_uuid = items[1]["id"]
    assert server.query(
        "SELECT count(*) FROM attachments a"
        " JOIN incident_events e ON e.id = a.event_id WHERE e.uuid = ?",
        resolve_uuid,
    ) == [(1,)]


def _min_sizes(page: Any) -> dict[str, float]:
    return page.evaluate(
        """() => {
        const visible = (el) => {
          const r = el.getBoundingClientRect()
          return r.width > 0 && r.height > 0
        }
        const all = (sel) => [...document.querySelectorAll(sel)].filter(visible)
        const targets = all(
          '.van-button, .van-tabbar-item, .van-cell--clickable, .chip, .photo-del'
        )
        const text = all(
          '.van-field__control, .van-cell__title, .hint, .muted, .page-title, .van-button__text'
        )
        return {
          target: Math.min(...targets.map((el) => el.getBoundingClientRect().height)),
          font: Math.min(...text.map((el) => parseFloat(getComputedStyle(el).fontSize))),
          body: parseFloat(getComputedStyle(document.body).fontSize),
        }
    }"""
    )


def test_large_font_mode_sizes_and_is_remembered(page: Any, server: LiveServer) -> None:
    sign_in(page, server.url)
    go(page, "#/report")
    page.wait_for_selector("[data-test=report-form]")
    normal = _min_sizes(page)
    assert normal["target"] >= 44, normal
    go(page, "#/me")
    page.click("[data-test=large-font]")
    page.reload()  # remembered
    go(page, "#/report")
    page.wait_for_selector("[data-test=report-form]")
    large = _min_sizes(page)
    assert large["body"] >= 18, large
    assert large["target"] >= 60, large
    assert large["font"] >= 17, large  # small print (hints) at least 17 px, body text 18 px and up
