"""The statutory calendar as data (issue 11): years an admin enters over the chinesecalendar
package, unknown years flagged. The 2027 dates below are an INVENTED example (the State Council
publishes the real ones in November/December): Spring Festival holidays Sat 2027-02-06 ..
Fri 2027-02-12 and an adjusted working Saturday 2027-02-20 (调休上班)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import numpy as np
import pytest

from server.domain.worktime import (
    PACKAGE_YEARS,
    CalendarDay,
    CalendarInputError,
    StatutoryCalendar,
    TimeLimit,
    WorkCalendar,
    YearCalendar,
    deadline,
    package_year,
)
from server.metrics.office_clock import to_us, work_micros

SH = ZoneInfo("Asia/Shanghai")
SPRING_2027 = [
    CalendarDay(date(2027, 2, 6) + timedelta(days=i), "holiday", "春节") for i in range(7)
]
TIAOXIU_2027 = [CalendarDay(date(2027, 2, 20), "workday", "春节调休")]


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def with_2027() -> StatutoryCalendar:
    return StatutoryCalendar([YearCalendar.build(2027, SPRING_2027 + TIAOXIU_2027, "database")])


def test_the_package_stops_at_2026() -> None:
    assert PACKAGE_YEARS.stop - 1 == 2026
    cal = StatutoryCalendar()
    assert cal.source(2026) == "package" and cal.source(2027) == "unknown"
    assert cal.year(2027) is None


def test_a_2027_holiday_entered_makes_a_deadline_skip_it() -> None:
    two_days = TimeLimit(2, "work_days")
    start = at(2027, 2, 4, 10)  # Thursday before the (invented) Spring Festival holidays
    unknown = WorkCalendar()
    assert deadline(start, two_days, unknown) == at(2027, 2, 8, 10)  # Mon-Fri fallback
    cal = WorkCalendar(statutory=with_2027())
    assert not cal.is_workday(date(2027, 2, 8))
    assert deadline(start, two_days, cal) == at(2027, 2, 15, 10)  # Fri 5th, then Mon 15th
    # The metrics count the same working time on the same calendar.
    s, e = np.array([to_us(start)]), np.array([to_us(at(2027, 2, 15, 10))])
    assert int(work_micros(cal, s, e)[0]) == cal.work_micros_between(start, at(2027, 2, 15, 10))
    assert cal.work_hours_between(start, at(2027, 2, 15, 10)) == 14


def test_the_adjusted_working_saturday_counts() -> None:
    cal = WorkCalendar(statutory=with_2027())
    assert cal.is_workday(date(2027, 2, 20))  # Saturday, 调休上班
    assert not cal.is_workday(date(2027, 2, 21))  # Sunday
    assert deadline(at(2027, 2, 19, 10), TimeLimit(1, "work_days"), cal) == at(2027, 2, 20, 10)
    assert deadline(at(2027, 2, 19, 10), TimeLimit(1, "work_days"), WorkCalendar()) == at(
        2027, 2, 22, 10
    )


def test_package_years_are_unchanged() -> None:
    entered = with_2027()
    day = date(PACKAGE_YEARS.start, 1, 1)
    while day.year in PACKAGE_YEARS:
        assert entered.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)
    assert entered.source(2025) == "package"


def test_an_entered_year_replaces_the_package_year() -> None:
    # National Day 2025 as the package has it, minus the adjusted working Sunday 2025-09-28.
    y2025 = package_year(2025)
    assert y2025 is not None
    assert any(d.name == "国庆节" for d in y2025.holidays)
    days = [d for d in y2025.days if d.day != date(2025, 9, 28)]
    cal = StatutoryCalendar([YearCalendar.build(2025, days, "database")])
    assert cal.source(2025) == "database"
    assert not cal.is_workday(date(2025, 9, 28))
    assert not cal.is_workday(date(2025, 10, 1))
    assert cal.is_workday(date(2025, 10, 11))  # still an adjusted working Saturday


def test_warnings_from_the_first_of_november() -> None:
    package = StatutoryCalendar()
    assert package.warnings(date(2026, 10, 31)) == []
    assert package.warnings(date(2026, 11, 1)) == ["calendar: 2027 unknown"]
    assert package.warnings(date(2027, 1, 4)) == ["calendar: 2027 unknown"]
    assert package.warnings(date(2027, 11, 1)) == [
        "calendar: 2027 unknown",
        "calendar: 2028 unknown",
    ]
    entered = with_2027()
    assert entered.warnings(date(2026, 11, 1)) == []
    assert entered.warnings(date(2027, 6, 1)) == []
    assert entered.warnings(date(2027, 11, 1)) == ["calendar: 2028 unknown"]


@pytest.mark.parametrize(
    ("days", "field"),
    [
        ([CalendarDay(date(2028, 1, 1), "holiday", "元旦")], "holidays[0].date"),
        (
            [
                CalendarDay(date(2027, 2, 6), "holiday", "春节"),
                CalendarDay(date(2027, 2, 6), "workday"),
            ],
            "workdays[0].date",
        ),
        ([CalendarDay(date(2027, 2, 8), "workday", "调休")], "workdays[0].date"),  # a Monday
        ([CalendarDay(date(2027, 2, 8), "holiday", " ")], "holidays[0].name"),
        ([CalendarDay(date(2027, 2, 8), "holiday", "节" * 51)], "holidays[0].name"),
        (
            [
                CalendarDay(date(2027, 2, 8), "holiday", "a"),
                CalendarDay(date(2027, 2, 8), "holiday", "b"),
            ],
            "holidays[1].date",
        ),
    ],
)
def test_bad_entries_are_named(days: list[CalendarDay], field: str) -> None:
    with pytest.raises(CalendarInputError) as err:
        YearCalendar.build(2027, days, "database")
    assert field in err.value.problems, err.value.problems


def test_unknown_year_still_computes_monday_to_friday() -> None:
    cal = StatutoryCalendar()
    assert cal.is_workday(date(2031, 1, 6)) and not cal.is_workday(date(2031, 1, 5))
    assert not cal.knows(2031)
