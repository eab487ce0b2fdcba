"""``flask cases sweep``: one line or JSON, idempotent, --now for another moment."""

from __future__ import annotations

import json

from tests.stages.clock import at, cards, report
from tests.workflow.world import World


def test_cases_sweep_command(world: World) -> None:
    w = world
    cid = report(w, at("2026-09-24 08:30"))
    runner = w.app.test_cli_runner()
    out = runner.invoke(args=["cases", "sweep", "--now", "2026-09-29T14:30:00+08:00"])
    assert out.exit_code == 0, out.output
    assert "1 yellow card(s), 0 red card(s)" in out.output
    again = runner.invoke(
        args=["cases", "sweep", "--now", "2026-09-29T14:31:00+08:00", "--format", "json"]
    )
    assert json.loads(again.output) == {"yellow": 0, "red": 0, "filled": 0, "skipped": False}
    assert cards(w, cid) == [("yellow", "accept", "system")]
    bad = runner.invoke(args=["cases", "sweep", "--now", "tomorrow"])
    assert bad.exit_code == 2 and "--now" in bad.output
