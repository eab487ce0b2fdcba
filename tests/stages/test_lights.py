"""Traffic lights: green under 80 % of the stage's limit, yellow to 100 %, red past it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.domain.stages import Light, light
from server.models import Incident, StageLimitRow
from server.usecases import stages
from tests.stages.clock import act, at, ctx, report
from tests.workflow.world import World


@pytest.mark.parametrize(
    ("fraction", "expected"),
    [(0.0, Light.GREEN), (0.79, Light.GREEN), (0.7999, Light.GREEN), (0.8, Light.YELLOW),
     (1.0, Light.YELLOW), (1.0001, Light.RED), (3.0, Light.RED)],
)  # fmt: skip
def test_light_of_a_fraction(fraction: float, expected: Light) -> None:
    assert light(fraction) is expected


def _view(w: World, cid: int, when: str, seconds: int = 0) -> dict:
    with w.session() as db:
        case = db.get(Incident, cid)
        assert case is not None
        view = stages.stage_json(ctx(w, db, at(when) + timedelta(seconds=seconds)), case)
        assert view is not None
        return view


def test_accept_stage_light_at_79_80_100_percent_of_four_working_hours(world: World) -> None:
    w = world
    # Thu 24 Sep 08:30, 4 working hours → due 14:30 (08:30–12:00, 14:00–14:30): 240 minutes.
    cid = report(w, at("2026-09-24 08:30"))
    assert _view(w, cid, "2026-09-24 11:39:36")["light"] == "green"  # 189.6 min = 79 %
    assert _view(w, cid, "2026-09-24 11:42")["light"] == "yellow"  # 192 min = 80 %
    assert _view(w, cid, "2026-09-24 13:59")["light"] == "yellow"  # lunch does not count
    at_due = _view(w, cid, "2026-09-24 14:30")
    assert (at_due["light"], at_due["used"]) == ("yellow", 1.0)
    assert _view(w, cid, "2026-09-24 14:30", seconds=1)["light"] == "red"
    assert _view(w, cid, "2026-09-24 11:42")["stage"] == "accept"


def test_natural_time_limit_and_stored_limit_per_category_and_level(world: World) -> None:
    w = world
    with w.session() as db:
        db.add_all([
            StageLimitRow(category_code="", urgency="normal", level="", stage="accept",
                          limit_value=10, limit_unit="hours"),
            StageLimitRow(category_code="0101", urgency="normal", level="county",
                          stage="accept", limit_value=2, limit_unit="hours"),
        ])  # fmt: skip
        db.commit()
    cid = report(w, at("2026-09-26 20:00"))  # a holiday evening: natural hours count
    view = _view(w, cid, "2026-09-26 21:36")  # 96 of 120 minutes = 80 %
    assert view["natural_time"] and view["light"] == "yellow"
    assert view["due_at"] == at("2026-09-26 22:00")
    other = report(w, at("2026-09-26 20:00"), category_code="0102")
    assert _view(w, other, "2026-09-26 21:36")["light"] == "green"  # every category: 10 h


def test_handle_light_uses_the_deadline_and_a_suspended_case_has_none(world: World) -> None:
    w = world
    cid = report(w, at("2026-09-28 08:30"))
    act(w, at("2026-09-28 08:30"), "disp", cid, "accept")
    act(w, at("2026-09-28 08:30"), "disp", cid, "dispatch", department_id=w.departments["D1"])
    view = _view(w, cid, "2026-09-28 08:31")
    assert view["stage"] == "handle" and view["light"] == "green"
    with w.session() as db:
        case = db.get(Incident, cid)
        assert case is not None and view["due_at"] == case.deadline_at
    act(w, at("2026-09-28 09:00"), "disp", cid, "suspend", reason="等待")
    with w.session() as db:
        case = db.get(Incident, cid)
        assert stages.stage_json(ctx(w, db, at("2026-09-28 09:01")), case) is None  # type: ignore[arg-type]
