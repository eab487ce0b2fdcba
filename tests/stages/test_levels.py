"""Stage limits by the level of the centre holding the case (DESIGN §9, issue 15): a town-held
case uses the town's row, an escalated one the county's; the sweep fills due times with the same
rule (``stages.case_level``). On both databases."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import update

from server.domain.levels import Level
from server.models import Incident, StageLimitRow
from server.usecases import stages
from tests.stages.clock import act, at, ctx, report, sweep
from tests.workflow.levels_world import build_levels
from tests.workflow.world import World


@pytest.fixture
def lw(any_app: Flask) -> World:
    w = build_levels(any_app)
    with w.session() as db:
        # 受理 of 0101: one working hour at town level, five working days at county level
        db.add_all([
            StageLimitRow(category_code="0101", urgency="normal", level="town", stage="accept",
                          limit_value=1, limit_unit="work_hours"),
            StageLimitRow(category_code="0101", urgency="normal", level="county", stage="accept",
                          limit_value=5, limit_unit="work_days"),
        ])  # fmt: skip
        db.commit()
    return w


def _stage(w: World, cid: int, when: datetime) -> tuple[str, dict]:
    """(level holding the case, its stage JSON) at ``when``."""
    with w.session() as db:
        case = db.get(Incident, cid)
        assert case is not None
        c = ctx(w, db, when)
        view = stages.stage_json(c, case)
        assert view is not None
        return stages.case_level(c, case), view


def test_town_limit_then_county_limit_after_escalate(lw: World) -> None:
    w = lw
    cid = report(w, at("2026-09-28 08:30"))  # Mon, a working day; lands at town T
    level, view = _stage(w, cid, at("2026-09-28 09:00"))
    assert level == Level.TOWN
    assert view["due_at"] == at("2026-09-28 09:30")  # the town row, not the county's 5 days
    assert view["light"] == "green"  # 50 %
    _, view = _stage(w, cid, at("2026-09-28 09:42"))
    assert view["light"] == "red"  # 72 of 60 minutes
    act(w, at("2026-09-28 09:42"), "dt", cid, "escalate", reason="需县级协调")
    level, view = _stage(w, cid, at("2026-09-28 09:43"))
    assert level == Level.COUNTY
    # the county's clock: five working days from 09:42 (29, 30 Sep, 8, 9 Oct and Sat 10 Oct, a
    # make-up working day after the National Day week)
    assert view["started_at"] == at("2026-09-28 09:42")
    assert view["due_at"] == at("2026-10-10 09:42")
    assert view["light"] == "green"
    # devolved back: the town's hour again, from the move
    act(w, at("2026-09-28 10:00"), "disp", cid, "devolve", centre_id=w.regions["T"], note="请处置")
    level, view = _stage(w, cid, at("2026-09-28 10:50"))
    assert level == Level.TOWN and view["due_at"] == at("2026-09-28 11:00")
    assert view["light"] == "yellow"  # 50 of 60 minutes


def test_the_sweep_fills_due_times_by_the_same_level(lw: World) -> None:
    w = lw
    town = report(w, at("2026-09-28 08:30"))
    county = report(w, at("2026-09-28 08:30"))
    act(w, at("2026-09-28 08:30"), "dt", county, "escalate", reason="需县级协调")
    with w.session() as db:
        due = {cid: db.get(Incident, cid).stage_due_at for cid in (town, county)}  # type: ignore[union-attr]
        assert due[town] == at("2026-09-28 09:30") and due[county] == at("2026-10-09 17:30")
        # cases whose clock has no due time (opened before migration 0010): the sweep fills it
        db.execute(update(Incident).values(stage_due_at=None))
        db.commit()
    # Thu 8 Oct 12:00: the town case is 6 + 7 + 7 + 3.5 office hours overdue (a yellow card at
    # two working days, not yet red); the county case is not due yet
    result = sweep(w, at("2026-10-08 12:00"))
    assert result.filled == 2
    assert (result.yellow, result.red, result.cases) == (1, 0, [town])
    with w.session() as db:
        for cid in (town, county):
            case = db.get(Incident, cid)
            assert case is not None and case.stage_due_at == due[cid], cid
