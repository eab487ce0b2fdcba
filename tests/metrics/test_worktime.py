"""Working time for many pairs at once (numpy, and the database's per-day calendar) is exactly
``WorkCalendar.work_micros_between``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Connection

from server.domain.worktime import OfficeHours, WorkCalendar
from server.metrics.office_clock import OfficeClock, sql_clock, to_us, work_micros

CALENDARS = [
    WorkCalendar(),
    WorkCalendar(
        OfficeHours.parse("09:00-12:00,13:30-18:00"),
        "Asia/Shanghai",
        extra_holidays=[date(2026, 3, 3)],
        extra_workdays=[date(2026, 3, 7)],
    ),
    WorkCalendar(OfficeHours.parse("08:00-16:00"), "Europe/Berlin"),  # daylight saving time
]
BASE = datetime(2025, 12, 20, tzinfo=UTC)
moments = st.integers(0, 140 * 24 * 3600 * 10**6).map(lambda us: BASE + timedelta(microseconds=us))


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(st.tuples(moments, moments), min_size=1, max_size=30),
    which=st.integers(0, len(CALENDARS) - 1),
)
def test_vectorised_equals_the_calendar(pairs: list[tuple[datetime, datetime]], which: int) -> None:
    cal = CALENDARS[which]
    a = np.array([to_us(x) for x, _ in pairs], dtype=np.int64)
    b = np.array([to_us(y) for _, y in pairs], dtype=np.int64)
    expected = [cal.work_micros_between(x, y) for x, y in pairs]
    assert work_micros(cal, a, b).tolist() == expected


def test_office_clock_positions_are_continuous_at_period_edges() -> None:
    cal = WorkCalendar()
    start = datetime(2026, 11, 2, 0, 0, tzinfo=cal.tz)
    clock = OfficeClock(cal, to_us(start), to_us(start + timedelta(days=3)))
    noon = to_us(datetime(2026, 11, 2, 12, 0, tzinfo=cal.tz))
    two = to_us(datetime(2026, 11, 2, 14, 0, tzinfo=cal.tz))
    p = clock.positions(np.array([noon - 1, noon, two, two + 1]))
    assert p.tolist()[1] == p.tolist()[2] and p[3] - p[2] == 1 and p[1] - p[0] == 1


def test_no_sql_clock_across_daylight_saving() -> None:
    cal = CALENDARS[2]
    winter = to_us(datetime(2026, 1, 10, tzinfo=UTC))
    assert sql_clock(cal, winter, winter + 10 * 86_400_000_000) is not None
    assert sql_clock(cal, winter, to_us(datetime(2026, 4, 10, tzinfo=UTC))) is None


def _sql_micros(conn: Connection, cal: WorkCalendar, pairs: list[tuple[int, int]]) -> list[int]:
    lo = min(min(p) for p in pairs)
    hi = max(max(p) for p in pairs)
    clock = sql_clock(cal, lo, hi)
    assert clock is not None
    dialect = conn.dialect.name
    instants = ["x.a", "x.b"]
    prefix, extra, params = clock.sql(dialect, instants)
    rows = " UNION ALL ".join(
        f"SELECT {n} AS n, {a} AS a, {b} AS b" for n, (a, b) in enumerate(pairs)
    )
    sql = (
        f"{prefix}SELECT x.n, CASE WHEN x.b > x.a THEN {clock.position(dialect, instants, 1)} - "
        f"{clock.position(dialect, instants, 0)} ELSE 0 END FROM ({rows}) x{extra} ORDER BY x.n"
    )
    return [int(r[1]) for r in conn.execute(text(sql), params)]


def test_the_database_counts_the_same_working_time(mapp: Flask, conn: Connection) -> None:
    rng = np.random.default_rng(7)
    for cal in CALENDARS[:2]:
        base = to_us(datetime(2026, 1, 5, tzinfo=UTC))
        pairs = []
        for _ in range(200):
            a = base + int(rng.integers(0, 60 * 86_400_000_000))
            b = a + int(rng.integers(-2 * 86_400_000_000, 20 * 86_400_000_000))
            pairs.append((a, b))
        expected = work_micros(
            cal, np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        )
        assert _sql_micros(conn, cal, pairs) == expected.tolist()
