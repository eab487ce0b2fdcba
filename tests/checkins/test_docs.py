"""docs/field-work.md says what the code does: every work-log entry kind, the check-in limits and
the statuses with their labels (the tables are the code's; the doc must follow them)."""

from __future__ import annotations

from pathlib import Path

from server.config import Settings
from server.domain import check_ins as ci
from server.domain.fieldwork import CHECK_IN_STATUS_LABELS
from server.domain.work_logs import EntryKind

DOC = (Path(__file__).resolve().parents[2] / "docs" / "field-work.md").read_text()


def _section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else None]


def test_the_work_log_section_names_every_entry_kind() -> None:
    text = _section("Work log")
    assert [k.value for k in EntryKind if f"`{k.value}`" not in text] == []


def test_the_check_in_section_states_the_limits_and_statuses() -> None:
    text = _section("Check-ins")
    assert f"at most {ci.MAX_DAYS_BACK} back" in text
    assert f"min(accuracy_m, {ci.MAX_TOLERANCE_M:g})" in text
    assert f"default `{ci.DEFAULT_DEADLINE}`" in text and Settings.checkin_deadline == "09:00"
    for status, (zh, _en) in CHECK_IN_STATUS_LABELS.items():
        assert f"`{status.value}` {zh}" in text
    for code in ("outside_grid", "reason_required", "too_old", "future_day",
                 "already_checked_in", "not_pending"):  # fmt: skip
        assert f"`{code}`" in text


def test_the_photo_section_names_every_stated_field() -> None:
    text = _section("Photo evidence")
    for name in ("captured_at", "lon", "lat", "accuracy_m", "watermarked", "无水印"):
        assert name in text
