"""What a newcomer tripped over in the field app (issue 14: items 2, 5, 8, 9, 11).

A handler's deadline said "剩余 4 小时" where the console said "4 工时"; the trail did not show
one's own action until the case was reopened; the photos on the case page were not labelled;
大字版 cut the last case tab off; "请填写处置结果" stayed after the field was filled; an outbox
holding only a conflict said "1 条内容等待服务器确认" with a big 立即发送; a second tab kept
showing items the first had sent.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.conftest import LiveServer, make_photo, resolved_case
from tests.e2e.helpers import go, sign_in, wait_outbox
from tests.e2e.test_field_app import dispatched_case


def _trail(page: Any) -> list[str]:
    return list(page.locator("[data-test=trail] > li").all_inner_texts())


def test_handler_sees_the_deadline_as_a_moment_and_working_time_and_the_trail_follows(
    page: Any, context: Any, server: LiveServer, api: Any, tmp_path: Path
) -> None:
    case = dispatched_case(api, "e2e 期限与办理过程")
    sign_in(page, server.url, "czry")
    go(page, "#/cases")
    card = page.locator(f"[data-case='{case['number']}']").first
    deadline = card.locator("[data-test=deadline]").inner_text()
    # "明天 14:30 前 · 剩余 4 工时": the moment and the working time (工时, not 小时)
    assert re.fullmatch(
        r"(今天|明天|后天|\d{2}-\d{2}) \d{2}:\d{2} 前 · 剩余 [\d.]+ 工时", deadline
    ), deadline
    go(page, f"#/cases/{case['id']}")
    page.wait_for_selector("[data-test=action-sign]")
    assert page.inner_text(".facts [data-test=deadline]") == deadline

    # sign online: the trail shows it without reopening the case
    assert page.locator("[data-test=trail] > li").first.get_attribute("data-action") == "dispatch"
    page.click("[data-test=action-sign]")
    page.click("[data-test=action-submit]")
    page.wait_for_function(
        "() => { const li = document.querySelector('[data-test=trail] > li');"
        " return li && li.dataset.action === 'sign' }"
    )
    # the extension sheet says which hours: 工时 for a normal case
    page.click("[data-test=action-request_extension]")
    assert page.inner_text("[data-test=unit-hours]") == "工时"
    page.keyboard.press("Escape")
    page.reload()

    # resolve offline: the trail shows it as pending at once; confirmed after coming online
    page.wait_for_selector("[data-test=action-resolve]")
    context.set_offline(True)
    page.click("[data-test=action-resolve]")
    page.click("[data-test=action-submit]")
    assert page.inner_text("[data-test=form-error]") == "请填写处置结果"
    page.fill("[data-test=note] textarea", "已清运")
    # the message follows the form: the result is filled, the photo still missing
    page.wait_for_function(
        "() => document.querySelector('[data-test=form-error]').textContent.includes('照片')"
    )
    page.set_input_files(
        ".action-form [data-test=gallery]", str(make_photo(tmp_path / "after.jpg", 1200, 900))
    )
    page.wait_for_selector(".action-form .photo img")
    assert page.locator("[data-test=form-error]").count() == 0
    page.click("[data-test=action-submit]")
    page.wait_for_selector("[data-test=trail] > li[data-pending=waiting]")
    first = _trail(page)[0]
    assert "处置反馈" in first and "待发送" in first, first
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_outbox(page, lambda i: all(x["state"] == "sent" for x in i), what="sent")
    page.wait_for_function(
        "() => { const li = document.querySelector('[data-test=trail] > li');"
        " return li && li.dataset.action === 'resolve' }"
    )
    assert page.locator("[data-test=trail] > li[data-pending]").count() == 0
    # the photos are labelled by the step that took them
    page.wait_for_selector("[data-photos=resolve]")
    assert "处置后照片" in page.inner_text("[data-photos=resolve] h3")


def test_grid_worker_sees_labelled_photos_and_the_outbox_says_what_a_conflict_needs(
    page: Any, context: Any, server: LiveServer, api: Any, photo: Path
) -> None:
    case = resolved_case(api, make_photo(photo.parent / "small.jpg", 1000, 750, noise=20))
    sign_in(page, server.url)
    go(page, f"#/cases/{case['id']}")
    page.wait_for_selector("[data-test=verify-pass]")
    page.wait_for_selector("[data-photos=resolve]")
    groups = page.locator("[data-photos]").evaluate_all("els => els.map(e => e.dataset.photos)")
    assert groups == ["report", "resolve"], groups
    assert "上报照片" in page.inner_text("[data-photos=report] h3")
    assert "处置后照片" in page.inner_text("[data-photos=resolve] h3")

    # a verify queued offline meets a re-dispatch: the outbox holds only a conflict
    context.set_offline(True)
    page.click("[data-test=verify-pass]")
    page.click("[data-test=action-submit]")
    # the verify is in the trail as pending straight away
    page.wait_for_selector("[data-test=trail] > li[data-pending]")
    assert "核查通过" in _trail(page)[0]
    api("ddy").act(case, "verify", passed=False, reason="现场复查仍有垃圾")
    context.set_offline(False)
    page.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_outbox(page, lambda i: i and i[0]["state"] == "conflict", what="a conflict")
    go(page, "#/outbox")
    page.wait_for_selector("[data-test=ob-conflict]")
    summary = page.inner_text("[data-test=ob-summary]")
    assert "等待服务器确认" not in summary and "1 条需要您处理" in summary, summary
    assert page.locator("[data-test=send-now]").count() == 0


def test_large_font_case_tabs_fit_the_screen(page: Any, server: LiveServer) -> None:
    sign_in(page, server.url, settings={"wangge.largeFont": "1"})
    go(page, "#/cases")
    page.wait_for_selector(".case-tabs .van-tab")
    # every tab's name and count are inside the tab and the screen (not cut off, no "…")
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('.case-tabs .van-tab')].filter(t => {
            const r = t.getBoundingClientRect(), x = t.querySelector('.van-tab__text')
            const xr = x.getBoundingClientRect()
            const inside = (el) => {
              const range = document.createRange()
              range.selectNodeContents(el)
              const e = range.getBoundingClientRect()
              return e.left >= xr.left - 1 && e.right <= xr.right + 1
                && e.top >= xr.top - 1 && e.bottom <= xr.bottom + 1
            }
            return r.left < 0 || r.right > innerWidth + 0.5
              || x.scrollWidth > x.clientWidth + 1 || x.scrollHeight > x.clientHeight + 1
              || !inside(t.querySelector('.case-tab__name'))
              || !inside(t.querySelector('.case-tab__count'))
          }).map(t => t.textContent)"""
    )
    assert clipped == []
    assert page.locator(".case-tabs .van-tab").count() == 4


def test_a_second_tab_shows_what_the_first_sent(
    context: Any, page: Any, server: LiveServer
) -> None:
    sign_in(page, server.url)
    other = context.new_page()
    other.goto(server.url + "/app/#/outbox")
    other.wait_for_selector("[data-test=ob-summary]")
    # both tabs offline, a report saved in the first: both say it waits
    context.set_offline(True)
    go(page, "#/report")
    page.wait_for_selector("[data-test=report-form]")
    page.click("[data-test=category]")
    page.locator(".van-tree-select__item", has_text="暴露垃圾").first.click()
    page.fill("[data-test=description] textarea", "e2e 两个标签页")
    page.click("[data-test=save]")
    page.wait_for_selector("[data-test=save]:has-text('已保存')")
    other.wait_for_function(
        "() => document.querySelector('[data-test=ob-summary]').textContent"
        ".includes('1 条内容等待服务器确认')"
    )
    # back online: whichever tab sends, both show it sent
    context.set_offline(False)
    for p in (page, other):
        p.evaluate("() => window.dispatchEvent(new Event('online'))")
    wait_outbox(page, lambda i: i and all(x["state"] == "sent" for x in i), what="sent")
    for p in (page, other):
        p.wait_for_function(
            "() => window.wangge.state.outbox.every(i => i.state === 'sent')", timeout=10_000
        )
    other.wait_for_function(
        "() => document.querySelector('[data-test=ob-summary]').textContent"
        ".includes('所有内容都已发送')"
    )
