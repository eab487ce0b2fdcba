"""As-of: the figures of a past month do not change when later events arrive."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from sqlalchemy.engine import Connection

from server.domain import metric_definitions as md
from server.domain.worktime import WorkCalendar
from server.metrics.counting import compute
from server.metrics.planning import MetricsQuery, Scope
from tests.metrics.support import Ev, World, add_case, iso, session
from tests.metrics.test_worked_examples import AS_OF, PERIOD, build_example, t

GROUPINGS = [None, *md.GROUP_BYS]


def _snapshot(conn: Connection, world: World, cal: WorkCalendar) -> dict[object, object]:
    out: dict[object, object] = {}
    for by in GROUPINGS:
        q = MetricsQuery((Scope("region", world.county.code),), *PERIOD, AS_OF, by)
        r = compute(conn, q, cal, now=AS_OF + timedelta(days=30))
        out[by] = (r.total, [(g.key, g.values) for g in r.groups])
    return out


def test_later_events_do_not_change_a_past_answer(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    ids = build_example(mapp, world)
    before = _snapshot(conn, world, cal)
    conn.rollback()
    # After the as-of moment: C is resolved and closed, E resumed and closed, I verified,
    # H rated again, J dispatched, and new cases reported and accepted in November.
    db = session(mapp)
    later = AS_OF + timedelta(hours=3)
    from server.models import IncidentEvent

    def add(case: str, action: str, to: str, at_hours: float, **data: object) -> None:
        db.add(
            IncidentEvent(
                incident_id=ids[case],
                action=action,
                actor_role="x",
                to_state=to,
                created_at=later + timedelta(hours=at_hours),
                note="",
                data=data,
            )
        )
        db.flush()

    add("C", "resolve", "resolved", 0, department_id=world.departments["JT"].id)
    add("C", "verify", "closed", 1, passed=True)
    add("E", "resume", "dispatched", 0)
    add("E", "resolve", "resolved", 2)
    add("E", "verify", "dispatched", 3, passed=False)
    add("I", "verify", "closed", 0, passed=True)
    add("H", "rate", "closed", 1, rating="satisfied")
    add("J", "dispatch", "dispatched", 0, department_id=1, deadline_at=iso(later))
    for n in range(3):
        add_case(
            db,
            world,
            [
                Ev("report", "reported", later + timedelta(days=n)),
                Ev("accept", "accepted", later + timedelta(days=n, hours=1)),
            ],
            grid=world.grids[n],
            reporter=world.workers[n],
        )
    db.commit()
    db.close()
    after = _snapshot(conn, world, cal)
    assert after == before
    # … while asking as of a later moment does see them
    q = MetricsQuery((Scope("region", world.county.code),), *PERIOD, t("11-25 12:00"), None)
    now = compute(conn, q, cal, now=t("11-26 00:00")).total
    assert now["accepted"] > before[None][0]["accepted"]  # type: ignore[index]
    assert now["closed"] > before[None][0]["closed"]  # type: ignore[index]


def test_a_past_month_does_not_change_either(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    """October asked as of 1 November, before and after November's events."""
    db = session(mapp)
    add_case(
        db,
        world,
        [
            Ev("report", "reported", t("10-20 09:00")),
            Ev("accept", "accepted", t("10-20 09:10")),
            Ev(
                "dispatch",
                "dispatched",
                t("10-20 09:20"),
                {"department_id": 1, "deadline_at": iso(t("10-20 15:20"))},
            ),
        ],
        grid=world.grids[0],
        reporter=world.workers[0],
    )
    db.commit()
    q = MetricsQuery(
        (Scope("region", world.county.code),),
        date(2026, 10, 1),
        date(2026, 10, 31),
        t("11-01 00:00"),
        "town",
    )
    first = compute(conn, q, cal)
    conn.rollback()
    from server.models import Incident, IncidentEvent

    case_id = db.query(Incident.id).scalar()
    for n, (action, to) in enumerate((("resolve", "resolved"), ("verify", "closed"))):
        db.add(
            IncidentEvent(
                incident_id=case_id,
                action=action,
                actor_role="x",
                to_state=to,
                created_at=t("11-02 10:00") + timedelta(hours=n),
                note="",
                data={"passed": True},
            )
        )
        db.flush()
    db.commit()
    db.close()
    second = compute(conn, q, cal)
    assert (first.total, [g.values for g in first.groups]) == (
        second.total,
        [g.values for g in second.groups],
    )
    assert first.total["overdue_open"] == 1 and first.total["closed"] == 0
