"""Periods of the supervisor metrics (DESIGN §4): local calendar days, and their weeks and months.

No Flask and no SQL here; see docs/metrics.md, "Periods".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal


@dataclass(frozen=True)
class Period:
    """Local calendar days ``start`` … ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("the period ends before it starts")

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start 00:00, (end + 1) 00:00) on the local wall clock, as aware datetimes."""
        return (
            datetime.combine(self.start, time(0), tzinfo=tz),
            datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz),
        )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @classmethod
    def month(cls, spec: str) -> Period:
        """``"2026-10"`` → 2026-10-01 … 2026-10-31."""
        year, month = (int(x) for x in spec.split("-"))
        first = date(year, month, 1)
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        return cls(first, nxt - timedelta(days=1))


@dataclass(frozen=True)
class Bucket:
    key: str  # "2026-10" or "2026-W40"
    label: str
    start: date  # clipped to the period
    end: date


MAX_BUCKETS = 400


def buckets(period: Period, by: Literal["week", "month"]) -> list[Bucket]:
    """The weeks (ISO, Monday first) or months that meet the period, clipped to it."""
    out: list[Bucket] = []
    day = period.start
    while day <= period.end:
        if by == "month":
            nxt = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
            key = f"{day.year:04d}-{day.month:02d}"
            label = f"{day.year}年{day.month}月"
        else:
            monday = day - timedelta(days=day.weekday())
            nxt = monday + timedelta(days=7)
            iso = monday.isocalendar()
            key = f"{iso.year:04d}-W{iso.week:02d}"
            label = f"{iso.year}年第{iso.week}周"
        end = min(nxt - timedelta(days=1), period.end)
        out.append(Bucket(key, label, day, end))
        if len(out) > MAX_BUCKETS:
            raise ValueError(f"more than {MAX_BUCKETS} {by}s in the period")
        day = nxt
    return out
