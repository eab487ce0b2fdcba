"""Working time for many (start, end) pairs at once, exactly as ``WorkCalendar`` counts it.

``WorkCalendar.work_micros_between`` costs a few microseconds a call; a county month has tens
of thousands of handled cases. Here the office periods of every workday in the range are laid
out once as UTC intervals ``[s_i, e_i)`` with the office time before each (``before_i``), and
the *office position* of an instant is ``before_i + clamp(t - s_i, 0, e_i - s_i)`` for the last
interval starting at or before ``t``. The office time between two instants is the difference
of their positions: the same whole microseconds as ``work_micros_between`` (property-tested in
tests/metrics/test_worktime.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from server.domain.worktime import WorkCalendar

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)

IntArray = npt.NDArray[np.int64]


def to_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC (exact)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return (moment - EPOCH) // US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


class OfficeClock:
    """Office positions on ``cal`` for instants between ``first`` and ``last`` (UTC µs)."""

    def __init__(self, cal: WorkCalendar, first_us: int, last_us: int) -> None:
        self.cal = cal
        lo = from_us(first_us).astimezone(cal.tz).date() - timedelta(days=1)
        hi = from_us(last_us).astimezone(cal.tz).date() + timedelta(days=1)
        starts: list[int] = []
        ends: list[int] = []
        day: date = lo
        while day <= hi:
            if cal.is_workday(day):
                for a, b in cal.office_hours.periods:
                    starts.append(self._utc_us(day, a))
                    ends.append(self._utc_us(day, b))
            day += timedelta(days=1)
        self.lo_us = self._utc_us(lo, time(0))
        self.hi_us = self._utc_us(hi + timedelta(days=1), time(0))
        self.starts: IntArray = np.asarray(starts, dtype=np.int64)
        self.lengths: IntArray = np.asarray(ends, dtype=np.int64) - self.starts
        before = np.zeros(len(starts), dtype=np.int64)
        if len(starts) > 1:
            np.cumsum(self.lengths[:-1], out=before[1:])
        self.before: IntArray = before

    def _utc_us(self, day: date, at: time) -> int:
        # As WorkCalendar._at: local midnight plus the wall-clock offset, then to UTC.
        local = datetime.combine(day, time(0), tzinfo=self.cal.tz) + timedelta(
            hours=at.hour, minutes=at.minute, seconds=at.second, microseconds=at.microsecond
        )
        return to_us(local)

    def positions(self, moments_us: IntArray) -> IntArray:
        t = np.asarray(moments_us, dtype=np.int64)
        if t.size and (int(t.min()) < self.lo_us or int(t.max()) >= self.hi_us):
            raise ValueError("instant outside the range this OfficeClock was built for")
        if self.starts.size == 0:
            return np.zeros(t.shape, dtype=np.int64)
        i = np.searchsorted(self.starts, t, side="right") - 1
        safe = np.maximum(i, 0)
        inside = np.clip(t - self.starts[safe], 0, self.lengths[safe])
        pos = self.before[safe] + inside
        return np.where(i < 0, 0, pos)

    def between(self, start_us: IntArray, end_us: IntArray) -> IntArray:
        """Office microseconds from each start to each end (0 where end <= start)."""
        s = np.asarray(start_us, dtype=np.int64)
        e = np.asarray(end_us, dtype=np.int64)
        d = self.positions(e) - self.positions(s)
        return np.where(e > s, np.maximum(d, 0), 0)


def work_micros(cal: WorkCalendar, start_us: IntArray, end_us: IntArray) -> IntArray:
    """Office microseconds between pairs of instants (µs since 1970 UTC), vectorised."""
    s = np.asarray(start_us, dtype=np.int64)
    e = np.asarray(end_us, dtype=np.int64)
    if s.size == 0:
        return np.zeros(0, dtype=np.int64)
    clock = OfficeClock(cal, int(min(s.min(), e.min())), int(max(s.max(), e.max())))
    return clock.between(s, e)


DAY_US = 86_400_000_000


@dataclass(frozen=True)
class SqlClock:
    """Office positions computed by the database, for a zone with a fixed UTC offset.

    ``cal(day, cum, w)`` lists the local days of the range (days since 1970 on the local wall
    clock), the office microseconds of all earlier days of the range, and whether the day is a
    workday. The office position of ``ts`` (µs since 1970 UTC) is
    ``cum + w * office((ts + offset) % DAY)`` where ``office(x)`` is the office time between
    local midnight and clock position ``x``: the same whole microseconds as
    :class:`OfficeClock` (tests/metrics/test_worktime.py checks it).
    """

    offset_us: int
    rows: tuple[tuple[int, int, int], ...]
    spans: tuple[tuple[int, int], ...]

    @property
    def first_day(self) -> int:
        return self.rows[0][0]

    def sql(self, dialect: str, instants: Sequence[str]) -> tuple[str, str, dict[str, Any]]:
        """(WITH prefix, FROM addition, parameters) that make :meth:`position` of each of
        ``instants`` available. PostgreSQL: two array parameters indexed by day; SQLite: a
        ``cal`` table of VALUES joined once per instant."""
        if dialect == "postgresql":
            params = {
                "cal_cum": [c for _, c, _ in self.rows],
                "cal_w": [w for _, _, w in self.rows],
            }
            extra = ", (SELECT CAST(:cal_cum AS BIGINT[]) AS cum, CAST(:cal_w AS INT[]) AS w) k"
            return "", extra, params
        values = ", ".join(f"({d}, {c}, {w})" for d, c, w in self.rows)
        joins = " ".join(
            f"LEFT JOIN cal k{n} ON k{n}.day = ({ts} + {self.offset_us}) / {DAY_US}"
            for n, ts in enumerate(instants)
        )
        return f"WITH cal(day, cum, w) AS (VALUES {values}) ", " " + joins, {}

    def position(self, dialect: str, instants: Sequence[str], n: int) -> str:
        """SQL of the office position of ``instants[n]`` (see the class docstring)."""
        ts = instants[n]
        clock = f"(({ts} + {self.offset_us}) % {DAY_US})"
        hi, lo = ("LEAST", "GREATEST") if dialect == "postgresql" else ("min", "max")
        office = " + ".join(f"{lo}(0, {hi}({clock}, {b}) - {a})" for a, b in self.spans)
        if dialect == "postgresql":
            i = f"(({ts} + {self.offset_us}) / {DAY_US} - {self.first_day} + 1)"
            return f"(k.cum[{i}] + k.w[{i}] * ({office}))"
        return f"(k{n}.cum + k{n}.w * ({office}))"


def sql_clock(cal: WorkCalendar, first_us: int, last_us: int) -> SqlClock | None:
    """A :class:`SqlClock` for instants in [first, last], or None if the zone's offset changes
    in that range (daylight saving time): then working time is computed in Python."""
    lo = from_us(first_us).astimezone(cal.tz).date() - timedelta(days=1)
    hi = from_us(last_us).astimezone(cal.tz).date() + timedelta(days=1)
    offsets = set()
    rows: list[tuple[int, int, int]] = []
    cum = 0
    day_us = cal.office_hours.micros_per_day
    day = lo
    while day <= hi:
        for clock in (time(0), time(12), time(23, 59, 59)):
            offset = datetime.combine(day, clock, tzinfo=cal.tz).utcoffset()
            assert offset is not None
            offsets.add(offset // US)
        work = cal.is_workday(day)
        rows.append(((day - date(1970, 1, 1)).days, cum, int(work)))
        cum += day_us if work else 0
        day += timedelta(days=1)
    if len(offsets) != 1:
        return None
    spans = tuple(
        (
            (a.hour * 3600 + a.minute * 60 + a.second) * 1_000_000 + a.microsecond,
            (b.hour * 3600 + b.minute * 60 + b.second) * 1_000_000 + b.microsecond,
        )
        for a, b in cal.office_hours.periods
    )
    return SqlClock(offsets.pop(), tuple(rows), spans)
