"""Deadlines in the console say what the phone says (issue 14, item 2): the moment and the
working time left, "明天 14:30 前 · 剩余 4 工时" (src/shared/deadline.ts), and the overdue board
explains 工时."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from tests.e2e_console.conftest import report_as_worker

pytestmark = pytest.mark.browser

DEADLINE = re.compile(r"(今天|明天|后天|\d{2}-\d{2}) \d{2}:\d{2} 前 · 剩余 [\d.]+ 工时")


def test_queue_and_overdue_board_say_moment_and_working_time(console: Any, api_as: Any) -> None:
    ddy, czry = api_as("ddy"), api_as("czry")
    case = report_as_worker(api_as("wgy"), f"期限措辞 {uuid.uuid4().hex[:6]}", "0101")
    case = ddy.act(case, "accept")
    dept = czry.get("/auth/me")["user"]["department_id"]
    case = ddy.act(case, "dispatch", department_id=dept, urgency="normal")

    page = console("ddy", f"/console/queue?q={case['number']}")
    row = page.locator(f'table[data-test=queue] tr[data-case="{case["number"]}"]')
    row.wait_for()
    assert DEADLINE.search(row.inner_text()), row.inner_text()

    page.goto("/console/overdue")
    legend = page.locator("[data-test=work-hours-legend]").inner_text()
    assert "工时" in legend and "节假日" in legend and "自然小时" in legend, legend
    assert not page.js_errors
