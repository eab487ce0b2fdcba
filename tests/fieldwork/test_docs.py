"""docs/field-work.md names every drop reason of a track chunk and its thresholds, as
server/domain/tracks.py has them (one table, many readers)."""

from __future__ import annotations

from pathlib import Path

from server.domain import tracks as tr

DOC = Path(__file__).resolve().parents[2] / "docs" / "field-work.md"


def test_the_doc_lists_every_drop_reason_and_threshold() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Patrols and tracks", 1)[1]
    for reason in tr.DROP_REASONS:
        assert f"| `{reason}` |" in section, reason
    assert f"worse than {tr.MAX_ACCURACY_M:g} m" in section
    assert f"faster than {tr.MAX_SPEED_MPS:g} m/s" in section
    assert f"{tr.MAX_POINTS:,}" in section
    assert f"now + {tr.FUTURE_SLACK_MS // 60_000} minutes" in section
    assert f"start − {tr.EARLY_SLACK_MS // 60_000} minute" in section
