"""Boundaries of the definitions (docs/metrics.md): to the microsecond, on both databases."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy.engine import Connection

from server.domain.worktime import WorkCalendar
from server.metrics.counting import compute
from server.metrics.drilldown import drilldown
from server.metrics.planning import MetricsQuery, QueryError, Scope, plan
from tests.metrics.support import Ev, World, add_case, iso, session

TZ = ZoneInfo("Asia/Shanghai")
US = timedelta(microseconds=1)


def t(spec: str) -> datetime:
    return datetime.fromisoformat(f"2026-{spec}").replace(tzinfo=TZ)


def _write(app: Flask, world: World, cases: list[list[Ev]], grid: str | None = "first") -> None:
    db = session(app)
    for events in cases:
        add_case(
            db,
            world,
            events,
            grid=world.grids[0] if grid == "first" else grid,
            reporter=world.workers[0],
        )
    db.commit()
    db.close()


def _total(
    conn: Connection,
    world: World,
    cal: WorkCalendar,
    as_of: datetime,
    first: date = date(2026, 11, 1),
    last: date = date(2026, 11, 30),
    scope: tuple[Scope, ...] | None = None,
    by: str | None = None,
):  # type: ignore[no-untyped-def]
    q = MetricsQuery(scope or (Scope("region", world.county.code),), first, last, as_of, by)
    return compute(conn, q, cal)


def _resolved_case(
    dispatch: datetime, due: datetime, resolve: datetime, verify: datetime
) -> list[Ev]:
    return [
        Ev("report", "reported", dispatch - timedelta(minutes=20)),
        Ev("accept", "accepted", dispatch - timedelta(minutes=10)),
        Ev("dispatch", "dispatched", dispatch, {"department_id": 1, "deadline_at": iso(due)}),
        Ev("resolve", "resolved", resolve, {"department_id": 1}),
        Ev("verify", "closed", verify, {"passed": True}),
    ]


def test_on_time_means_on_or_before_the_deadline(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    due = t("11-03 15:00:00.250000")
    _write(
        mapp,
        world,
        [
            _resolved_case(t("11-03 09:00"), due, due, t("11-03 16:00")),
            _resolved_case(t("11-03 09:00"), due, due + US, t("11-03 16:00")),
        ],
    )
    total = _total(conn, world, cal, t("11-20 12:00")).total
    assert total["closed"] == 2
    assert total["closed_on_time"] == 1
    assert total["resolved_on_time"] == 1


def test_verification_within_one_working_day(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    # resolved Tue 10:00; one working day (7 office hours) later is Wed 10:00
    res = t("11-03 10:00")
    _write(
        mapp,
        world,
        [
            _resolved_case(t("11-03 09:00"), t("11-04 09:00"), res, t("11-04 10:00")),
            _resolved_case(t("11-03 09:00"), t("11-04 09:00"), res, t("11-04 10:00") + US),
            _resolved_case(t("11-03 09:00"), t("11-04 09:00"), res, t("11-03 20:00")),  # evening
        ],
    )
    total = _total(conn, world, cal, t("11-20 12:00")).total
    assert total["verifications"] == 3
    assert total["verified_on_time"] == 2


def test_overdue_is_strictly_after_the_deadline(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    due = t("11-04 09:00")
    _write(
        mapp,
        world,
        [
            [
                Ev("report", "reported", t("11-03 08:00")),
                Ev("accept", "accepted", t("11-03 08:10")),
                Ev(
                    "dispatch",
                    "dispatched",
                    t("11-03 08:20"),
                    {"department_id": 1, "deadline_at": iso(due)},
                ),
            ]
        ],
    )
    assert _total(conn, world, cal, due).total["overdue_open"] == 0
    assert _total(conn, world, cal, due + US).total["overdue_open"] == 1


def test_an_event_at_the_as_of_moment_counts(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    at = t("11-05 10:00:00.000001")
    _write(mapp, world, [[Ev("report", "reported", at - US), Ev("accept", "accepted", at)]])
    assert _total(conn, world, cal, at).total["accepted"] == 1
    assert _total(conn, world, cal, at - US).total["accepted"] == 0
    assert _total(conn, world, cal, at - US).total["reported"] == 1


def test_a_clock_that_steps_back_never_moves_an_event_earlier(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    """The accept was stamped before the report (clock skew): it counts at the report's time,
    so the case is accepted on 11-01, not in October."""
    _write(
        mapp,
        world,
        [
            [
                Ev("report", "reported", t("11-01 00:00:05")),
                Ev("accept", "accepted", t("10-31 23:59:59")),
            ]
        ],
    )
    nov = _total(conn, world, cal, t("11-20 12:00")).total
    octo = _total(conn, world, cal, t("11-20 12:00"), date(2026, 10, 1), date(2026, 10, 31)).total
    assert (nov["accepted"], octo["accepted"]) == (1, 0)


def test_the_period_is_local_days(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    """2026-11-01 00:30 in Beijing is still October in UTC: it belongs to November."""
    _write(mapp, world, [[Ev("report", "reported", t("11-01 00:30"))]])
    assert _total(conn, world, cal, t("11-20 12:00")).total["reported"] == 1


def test_a_case_outside_every_grid(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    _write(mapp, world, [[Ev("report", "reported", t("11-02 09:00"))]], grid=None)
    result = _total(conn, world, cal, t("11-20 12:00"), by="grid")
    none = [g for g in result.groups if g.key is None]
    assert len(none) == 1 and none[0].values["reported"] == 1
    assert len(result.groups) == len(world.grids) + 1  # every grid of the county has a line


def test_reports_have_no_department(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    _write(
        mapp,
        world,
        [_resolved_case(t("11-03 09:00"), t("11-04 09:00"), t("11-03 10:00"), t("11-03 11:00"))],
    )
    dep = Scope("department", "1")
    total = _total(conn, world, cal, t("11-20 12:00"), scope=(dep,)).total
    assert total["reported"] is None and total["valid_report_rate"] is None
    assert total["dispatches"] == 1 and total["accepted"] == 1
    q = MetricsQuery((dep,), date(2026, 11, 1), date(2026, 11, 30), t("11-20 12:00"))
    with pytest.raises(QueryError) as err:
        drilldown(conn, plan(conn, q, cal), cal, "reported")
    assert err.value.code == "not_applicable"
    assert "not counted in this scope" in err.value.message


def test_a_suspended_case_is_out_of_the_due_count_until_resumed(
    mapp: Flask, world: World, conn: Connection, cal: WorkCalendar
) -> None:
    _write(
        mapp,
        world,
        [
            [
                Ev("report", "reported", t("11-02 09:00")),
                Ev("accept", "accepted", t("11-02 09:05")),
                Ev("suspend", "suspended", t("11-02 10:00")),
                Ev("resume", "accepted", t("11-10 10:00")),
            ]
        ],
    )
    during = _total(conn, world, cal, t("11-05 12:00")).total
    after = _total(conn, world, cal, t("11-20 12:00")).total
    assert (during["suspended"], during["due"]) == (1, 0)
    assert during["closure_rate"] is None  # nothing due: no rate, not 0 %
    assert (after["suspended"], after["due"]) == (0, 1)
