"""The automatic 督办 sweep: yellow then red cards at working-day thresholds, exactly once.

The expected moments are worked out by hand from the calendar, not by the code under test.
Office hours 08:30–12:00 and 14:00–17:30 (7 h a working day). 2026: 25–27 September are the
Mid-autumn holiday (Fri–Sun), 1–7 October National Day, Saturday 10 October a working day.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest
from sqlalchemy import func, select

from server.domain import workflow as wf
from server.domain.stages import Stage
from server.models import CardThresholdRow, IncidentEvent
from server.usecases import stages
from tests.stages.clock import act, at, cards, case, ctx, report, sweep
from tests.workflow.world import World

SYSTEM = wf.SYSTEM


def test_accept_stage_yellow_then_red_across_a_holiday_weekend_and_national_day(
    world: World,
) -> None:
    w = world
    # Reported Thu 24 Sep 08:30: accepting is due within 4 working hours, at 14:30 the same day.
    cid = report(w, at("2026-09-24 08:30"))
    c = case(w, cid)
    assert c.stage_due_at == at("2026-09-24 14:30")
    # Yellow at 2 working days overdue (14 office hours): Thu 14:30–17:30 (3 h), Fri–Sun
    # Mid-autumn holiday (0), Mon 28th (7 h), Tue 29th 08:30–12:00, 14:00–14:30 (4 h).
    assert sweep(w, at("2026-09-29 14:29")).yellow == 0
    assert cards(w, cid) == []
    first = sweep(w, at("2026-09-29 14:30"))
    assert (first.yellow, first.red) == (1, 0)
    assert cards(w, cid) == [("yellow", "accept", SYSTEM)]
    assert sweep(w, at("2026-09-29 14:31")).yellow == 0  # once
    assert sweep(w, at("2026-10-08 09:00")).red == 0
    # Red at 5 working days (35 h): 21 h after the yellow — Tue 14:30–17:30 (3 h), Wed 30th
    # (7 h), 1–7 Oct National Day (0), Thu 8th (7 h), Fri 9th 08:30–12:00, 14:00–14:30 (4 h).
    assert sweep(w, at("2026-10-09 14:29")).red == 0
    second = sweep(w, at("2026-10-09 14:30"))
    assert (second.yellow, second.red) == (0, 1)
    assert sweep(w, at("2026-10-12 09:00")).red == 0  # once
    assert cards(w, cid) == [("yellow", "accept", SYSTEM), ("red", "accept", SYSTEM)]
    c = case(w, cid)
    assert c.stage_card == "red"
    assert c.version == 3  # report, yellow, red: one version per event
    # Accepting starts the dispatch stage: a fresh clock, no card.
    act(w, at("2026-10-12 09:00"), "disp", cid, "accept")
    c = case(w, cid)
    assert c.stage_card is None and c.stage_started_at == at("2026-10-12 09:00")


def test_a_late_first_sweep_raises_yellow_then_red_at_once(world: World) -> None:
    w = world
    cid = report(w, at("2026-09-24 08:30"))
    result = sweep(w, at("2026-10-12 09:00"))
    assert (result.yellow, result.red) == (1, 1)
    assert cards(w, cid) == [("yellow", "accept", SYSTEM), ("red", "accept", SYSTEM)]
    assert (sweep(w, at("2026-10-13 09:00")).yellow, sweep(w, at("2026-10-13 09:00")).red) == (
        0,
        0,
    )


def test_handle_stage_cards_follow_the_deadline_and_thresholds_are_configurable(
    world: World,
) -> None:
    w = world
    with w.session() as db:
        db.add(CardThresholdRow(stage=Stage.HANDLE.value, yellow_days=1, red_days=3))
        db.commit()
    cid = report(w, at("2026-09-28 08:30"))
    act(w, at("2026-09-28 08:30"), "disp", cid, "accept")
    # An explicit deadline: Tue 29 Sep 17:30.
    act(w, at("2026-09-28 08:30"), "disp", cid, "dispatch",
        department_id=w.departments["D1"], deadline="2026-09-29T17:30:00+08:00")  # fmt: skip
    assert case(w, cid).deadline_at == at("2026-09-29 17:30")
    # 1 working day (7 h) after Tue 17:30: Wed 30th 17:30 (National Day follows).
    assert sweep(w, at("2026-09-30 17:29")).yellow == 0
    assert sweep(w, at("2026-09-30 17:30")).yellow == 1
    # 3 working days: Wed 30th (1), Thu 8 Oct (2), Fri 9 Oct 17:30 (3).
    assert sweep(w, at("2026-10-09 17:29")).red == 0
    assert sweep(w, at("2026-10-09 17:30")).red == 1
    assert cards(w, cid) == [("yellow", "handle", SYSTEM), ("red", "handle", SYSTEM)]
    with w.session() as db:
        event = db.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == cid)
            .order_by(IncidentEvent.id.desc())
            .limit(1)
        ).one()
        assert event.actor_id is None and event.data["department_id"] == w.departments["D1"]


def test_a_suspended_case_gets_no_card_and_resuming_restarts_the_clock(world: World) -> None:
    w = world
    cid = report(w, at("2026-09-24 08:30"))
    act(w, at("2026-09-24 09:00"), "disp", cid, "suspend", reason="待协调")
    assert case(w, cid).stage_due_at is None
    assert sweep(w, at("2026-10-12 09:00")).yellow == 0
    act(w, at("2026-10-12 09:00"), "disp", cid, "resume")
    c = case(w, cid)
    assert c.stage_started_at == at("2026-10-12 09:00")
    assert c.stage_due_at == at("2026-10-12 15:00")  # 09:00–12:00, 14:00–15:00: 4 working h


def test_two_sweeps_at_once_raise_one_card_each(any_world: World) -> None:
    w = any_world
    ids = [report(w, at("2026-09-24 08:30")) for _ in range(5)]
    when = at("2026-10-12 09:00")
    barrier = threading.Barrier(4)
    results: list[stages.SweepResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with w.session() as db:
                c = ctx(w, db, when)
                barrier.wait()
                results.append(stages.sweep(c))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors and w.app.extensions["wangge.engine"].dialect.name == "sqlite":
        # SQLite: a writer that cannot get the lock in time fails ("database is locked");
        # what matters is that nothing was raised twice.
        pass
    else:
        assert not errors, errors
    assert sum(r.yellow for r in results) == 5 and sum(r.red for r in results) == 5
    with w.session() as db:
        n = db.scalar(
            select(func.count(IncidentEvent.id)).where(
                IncidentEvent.action == wf.Action.SUPERVISE.value
            )
        )
    assert n == 10
    for cid in ids:
        assert cards(w, cid) == [("yellow", "accept", SYSTEM), ("red", "accept", SYSTEM)]


@pytest.mark.parametrize("days", [(3, 3), (5, 2)])
def test_thresholds_yellow_not_below_red_are_refused_by_the_database(
    world: World, days: tuple[int, int]
) -> None:
    from sqlalchemy.exc import IntegrityError

    with world.session() as db:
        db.add(CardThresholdRow(stage="accept", yellow_days=days[0], red_days=days[1]))
        with pytest.raises(IntegrityError):
            db.commit()


def test_a_backlog_drains_in_batches_each_card_once(
    any_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep raises at most a batch of cards (one short transaction), the longest overdue
    first; the next sweep goes on where it stopped, and ``flask cases sweep`` sweeps until
    nothing is left. Five cases past both cut-offs: ten cards in all, each exactly once."""
    w = any_world
    ids = [report(w, at(f"2026-09-{21 + i} 08:30")) for i in range(4)]
    ids.append(report(w, at("2026-09-25 08:30")))  # the Mid-autumn holiday: the latest due
    when = at("2026-10-30 09:00")
    first = batch_sweep(w, when, 3)
    assert (first.yellow, first.red, first.full) == (3, 0, True)
    # the longest overdue first: the three reported earliest
    assert [bool(cards(w, cid)) for cid in ids] == [True, True, True, False, False]
    second = batch_sweep(w, when, 3)
    assert (second.yellow, second.red, second.full) == (2, 1, True)
    monkeypatch.setattr(stages, "BATCH", 2)
    out = w.app.test_cli_runner().invoke(
        args=["cases", "sweep", "--now", when.isoformat(), "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output) == {"yellow": 0, "red": 4, "filled": 0, "skipped": False}
    assert batch_sweep(w, when, 100).cases == []
    for cid in ids:
        assert cards(w, cid) == [("yellow", "accept", SYSTEM), ("red", "accept", SYSTEM)]


def batch_sweep(w: World, when: datetime, batch: int) -> stages.SweepResult:
    with w.session() as db:
        return stages.sweep(ctx(w, db, when), batch=batch)
