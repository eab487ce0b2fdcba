"""签到 / 补签 in the field app (issue 17), in Chromium against the real server: a check-in
outside one's grids is refused with the nearest grid and the distance shown to the worker (the
item stays in 待发送), a check-in inside is accepted, and a 补签 for a past day with a reason
waits for the community's decision.

Screenshots (looked at, not committed): ``test-results/check-in/``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.conftest import IN_MY_GRID, LiveServer
from tests.e2e.helpers import go, sign_in, wait_outbox

SHOTS = Path(__file__).resolve().parents[2] / "test-results" / "check-in"  # gitignored
FAR_AWAY: Any = {"latitude": 38.30, "longitude": 106.55, "accuracy": 10}


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_check_in_outside_then_inside_and_a_makeup(page: Any, own_server: LiveServer) -> None:
    server = own_server
    (wgy,) = server.query("SELECT id FROM users WHERE username = 'wgy'")[0]
    context = page.context
    sign_in(page, server.url)
    go(page, "#/me")
    page.wait_for_selector("[data-test=checkin]")
    assert page.locator("[data-test=checkin-status]").inner_text() == "未签到"

    # outside every grid of mine: refused, with the nearest grid and the distance
    context.set_geolocation(FAR_AWAY)
    page.click("[data-test=checkin-now]")
    wait_outbox(
        page,
        lambda xs: [i["state"] for i in xs if i["kind"] == "checkin"] == ["attention"],
        what="the check-in refused",
    )
    page.wait_for_selector("[data-test=checkin-status]:has-text('签到未通过')")
    message = page.locator("[data-test=checkin-message]").inner_text()
    assert "最近的网格" in message and "米" in message, message
    shot(page, "01-outside")

    # inside: accepted (late after 09:00 in the county)
    context.set_geolocation(IN_MY_GRID)
    page.click("[data-test=checkin-now]")
    page.wait_for_selector("[data-test=checkin-status]:has-text('已签到')")
    wait_outbox(
        page,
        lambda xs: (
            sorted(i["state"] for i in xs if i["kind"] == "checkin") == ["attention", "sent"]
        ),
        what="the second check-in sent",
    )
    assert page.locator("[data-test=checkin-now]").count() == 0
    shot(page, "02-inside")
    today = (datetime.now(UTC) + timedelta(hours=8)).date()
    rows = server.query(
        "SELECT status, makeup, grid_code IS NOT NULL FROM check_ins WHERE worker_id = ?"
        " AND day = ?",
        wgy,
        today.isoformat(),
    )
    assert rows == [("accepted", 0, 1)], rows

    # 补签 for a past day that has no check-in (the demo leaves weekends free)
    taken = {
        d
        for (d,) in server.query(
            "SELECT day FROM check_ins WHERE worker_id = ? AND status <> 'rejected'", wgy
        )
    }
    free = [
        (today - timedelta(days=k)).isoformat()
        for k in range(1, 8)
        if (today - timedelta(days=k)).isoformat() not in taken
    ]
    assert free, taken
    page.click("[data-test=makeup-open]")
    page.wait_for_selector("[data-test=makeup-form]")
    page.click("[data-test=makeup-send]")
    page.wait_for_selector("[data-test=makeup-form] [role=alert]:has-text('补签日期')")
    page.select_option("[data-test=makeup-day]", free[0])
    page.fill("[data-test=makeup-time]", "08:40")
    page.fill("[data-test=makeup-reason]", " ")
    page.click("[data-test=makeup-send]")
    page.wait_for_selector("[data-test=makeup-form] [role=alert]:has-text('补签原因')")
    page.fill("[data-test=makeup-reason]", "手机没电，当天在岗")
    page.click("[data-test=makeup-send]")
    page.wait_for_selector(f".fw-days li:has-text('{free[0]} · 补签待审批')")
    shot(page, "03-makeup")
    rows = server.query(
        "SELECT day, status, reason FROM check_ins WHERE worker_id = ? AND day = ?", wgy, free[0]
    )
    assert rows == [(free[0], "pending", "手机没电，当天在岗")], rows
    assert not page.errors, page.errors
