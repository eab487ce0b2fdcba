"""Working calendar, office hours and deadlines, on real 2025 dates.

National Day 2025 (国务院办公厅 2024-11-12 notice, as in chinesecalendar 1.11.0): holiday
Wed 2025-10-01 .. Wed 2025-10-08; adjusted working days Sun 2025-09-28 and Sat 2025-10-11.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain import worktime
from server.domain.worktime import (
    OfficeHours,
    TimeLimit,
    WorkCalendar,
    deadline,
    dispatch_deadline,
    extend,
)

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


# --- the calendar data we rely on ----------------------------------------------------------


def test_chinesecalendar_knows_national_day_2025() -> None:
    for day in range(1, 9):
        assert not chinese_calendar.is_workday(date(2025, 10, day))
    assert chinese_calendar.is_workday(date(2025, 9, 28))  # Sunday, adjusted working day
    assert chinese_calendar.is_workday(date(2025, 10, 11))  # Saturday, adjusted working day
    assert date(2025, 9, 28).weekday() == 6 and date(2025, 10, 11).weekday() == 5


def test_is_workday() -> None:
    assert CAL.is_workday(date(2025, 9, 26))  # Friday
    assert not CAL.is_workday(date(2025, 9, 27))  # Saturday
    assert CAL.is_workday(date(2025, 9, 28))  # adjusted working Sunday
    assert not CAL.is_workday(date(2025, 10, 3))  # National Day, a Friday
    assert CAL.is_workday(date(2025, 10, 11))  # adjusted working Saturday
    assert not CAL.is_workday(date(2025, 10, 12))  # Sunday


def test_is_workday_of_a_datetime_uses_the_calendar_zone() -> None:
    # 2025-10-10 Fri 23:00 UTC is Sat 2025-10-11 07:00 in Shanghai: an adjusted working day
    assert CAL.is_workday(datetime(2025, 10, 10, 23, 0, tzinfo=UTC))
    # 2025-10-11 Sat 20:00 UTC is Sun 2025-10-12 04:00 in Shanghai: rest day
    assert not CAL.is_workday(datetime(2025, 10, 11, 20, 0, tzinfo=UTC))


# --- office hours ---------------------------------------------------------------------------


def test_default_office_hours() -> None:
    oh = OfficeHours()
    assert oh.periods == ((time(8, 30), time(12, 0)), (time(14, 0), time(17, 30)))
    assert oh.hours_per_day == 7.0
    assert OfficeHours.parse("08:30-12:00, 14:00-17:30") == oh
    assert OfficeHours.parse(["09:00-17:00"]).hours_per_day == 8.0


@pytest.mark.parametrize(
    "periods",
    [(), ((time(9), time(9)),), ((time(14), time(17)), (time(9), time(12)))],
)
def test_bad_office_hours(periods: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(ValueError):
        OfficeHours(periods)


def test_configured_office_hours() -> None:
    cal = WorkCalendar(OfficeHours.parse("09:00-17:00"))
    assert cal.add_work_hours(at(2025, 9, 26, 16), 2) == at(2025, 9, 28, 10)
    assert cal.add_work_days(at(2025, 9, 26, 10), 1) == at(2025, 9, 28, 10)


# --- work hours -----------------------------------------------------------------------------


def test_within_one_morning() -> None:
    assert CAL.add_work_hours(at(2025, 9, 2, 9), 2) == at(2025, 9, 2, 11)


def test_filling_a_period_ends_at_its_end_not_at_the_next_start() -> None:
    assert CAL.add_work_hours(at(2025, 9, 2, 8, 30), 3.5) == at(2025, 9, 2, 12)
    assert CAL.add_work_hours(at(2025, 9, 2, 8, 30), 7) == at(2025, 9, 2, 17, 30)


def test_lunch_break_is_skipped() -> None:
    # 11:00 + 4 h = 1 h before lunch + 3 h after = 17:00
    assert CAL.add_work_hours(at(2025, 9, 2, 11), 4) == at(2025, 9, 2, 17)


def test_across_a_weekend() -> None:
    # Fri 2025-09-19 16:00 + 4 work hours: 1.5 h on Friday, 2.5 h on Monday 09-22 -> 11:00
    assert CAL.add_work_hours(at(2025, 9, 19, 16), 4) == at(2025, 9, 22, 11)
    assert CAL.work_hours_between(at(2025, 9, 19, 16), at(2025, 9, 22, 11)) == 4


def test_across_national_day() -> None:
    # Tue 09-30 16:00 + 4 work hours: 1.5 h on 09-30, nothing 10-01..10-08, 2.5 h on Thu 10-09
    assert CAL.add_work_hours(at(2025, 9, 30, 16), 4) == at(2025, 10, 9, 11)
    # 5 working days from Tue 09-30 10:00: 10-09, 10-10, Sat 10-11 (adjusted), Mon 10-13,
    # Tue 10-14 -> 10:00 on 10-14
    assert CAL.add_work_days(at(2025, 9, 30, 10), 5) == at(2025, 10, 14, 10)
    assert CAL.work_hours_between(at(2025, 9, 30, 17, 30), at(2025, 10, 9, 8, 30)) == 0


def test_adjusted_working_saturday_counts() -> None:
    # Fri 10-10 17:00 + 2 work hours: 0.5 h on Friday, 1.5 h on Sat 10-11 -> 10:00 Saturday
    assert CAL.add_work_hours(at(2025, 10, 10, 17), 2) == at(2025, 10, 11, 10)
    assert CAL.work_hours_between(at(2025, 10, 11, 0), at(2025, 10, 12, 0)) == 7
    # and the adjusted working Sunday before the holiday
    assert CAL.add_work_hours(at(2025, 9, 26, 17), 1) == at(2025, 9, 28, 9)


def test_ordinary_saturday_does_not_count() -> None:
    assert CAL.work_hours_between(at(2025, 10, 18, 0), at(2025, 10, 20, 0)) == 0


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (at(2025, 9, 2, 20), at(2025, 9, 3, 10, 30)),  # evening -> next morning
        (at(2025, 9, 2, 6), at(2025, 9, 2, 10, 30)),  # before office -> same morning
        (at(2025, 9, 2, 12, 30), at(2025, 9, 2, 16)),  # lunch break -> 14:00 start
        (at(2025, 9, 2, 12, 0), at(2025, 9, 2, 16)),  # exactly at noon
        (at(2025, 9, 6, 10), at(2025, 9, 8, 10, 30)),  # Saturday -> Monday
        (at(2025, 10, 1, 9), at(2025, 10, 9, 10, 30)),  # National Day -> 10-09
    ],
)
def test_dispatch_outside_office_hours_starts_at_the_next_period(
    start: datetime, expected: datetime
) -> None:
    assert CAL.add_work_hours(start, 2) == expected
    assert CAL.work_hours_between(start, expected) == 2


def test_work_days_from_outside_office_hours_end_at_close_of_business() -> None:
    # Fri 2025-09-19 20:00 + 1 working day = the whole of Monday 09-22
    assert CAL.add_work_days(at(2025, 9, 19, 20), 1) == at(2025, 9, 22, 17, 30)


def test_zero_and_negative() -> None:
    start = at(2025, 9, 2, 20)
    assert CAL.add_work_hours(start, 0) == start
    assert CAL.work_hours_between(at(2025, 9, 3, 10), at(2025, 9, 2, 10)) == 0
    with pytest.raises(ValueError):
        CAL.add_work_hours(start, -1)
    with pytest.raises(ValueError):
        CAL.add_work_days(start, -1)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_work_hours(datetime(2025, 9, 2, 9), 1)
    with pytest.raises(ValueError):
        CAL.work_hours_between(datetime(2025, 9, 2, 9), at(2025, 9, 2, 10))


def test_result_comes_back_in_the_zone_given() -> None:
    start = datetime(2025, 9, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    end = CAL.add_work_hours(start, 2)
    assert end.tzinfo is UTC
    assert end == datetime(2025, 9, 2, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai


def test_long_spans_use_the_same_rules() -> None:
    # all of 2025: 250 workdays per chinesecalendar x 7 h
    workdays = sum(
        chinese_calendar.is_workday(date(2025, 1, 1) + timedelta(days=i)) for i in range(365)
    )
    assert CAL.work_hours_between(at(2025, 1, 1), at(2026, 1, 1)) == workdays * 7
    assert CAL.workdays_between(date(2024, 12, 1), date(2026, 2, 1)) == sum(
        chinese_calendar.is_workday(date(2024, 12, 1) + timedelta(days=i))
        for i in range((date(2026, 2, 1) - date(2024, 12, 1)).days)
    )


# --- property: work_hours_between inverts add_work_hours ------------------------------------

moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 10, 31), timezones=st.just(SH)
)


@settings(max_examples=300, deadline=None)
@given(start=moments, hours=st.floats(min_value=0, max_value=400, allow_nan=False))
def test_work_hours_between_inverts_add_work_hours(start: datetime, hours: float) -> None:
    end = CAL.add_work_hours(start, hours)
    assert end >= start
    assert CAL.work_hours_between(start, end) == pytest.approx(hours, abs=1e-6)
    if hours > 1e-6:  # results have microsecond resolution
        assert CAL.is_office_time(end - timedelta(microseconds=1))


@settings(max_examples=300, deadline=None)
@given(a=moments, b=moments)
def test_add_work_hours_inverts_work_hours_between(a: datetime, b: datetime) -> None:
    a, b = min(a, b), max(a, b)
    elapsed = CAL.work_hours_between(a, b)
    end = CAL.add_work_hours(a, elapsed)
    assert end <= b + timedelta(microseconds=1)
    if elapsed > 0 and CAL.is_office_time(b) and CAL.is_office_time(b - timedelta(seconds=1)):
        assert abs((end - b).total_seconds()) < 1e-3


# --- limits, deadlines, extensions ----------------------------------------------------------


def test_deadline_units() -> None:
    start = at(2025, 9, 30, 16)
    assert deadline(start, TimeLimit(4, "work_hours"), CAL) == at(2025, 10, 9, 11)
    assert deadline(start, TimeLimit(5, "work_days"), CAL) == at(2025, 10, 14, 16)
    # urgent: natural hours, holidays and nights count
    assert deadline(start, TimeLimit(2, "hours"), CAL) == at(2025, 9, 30, 18)
    assert deadline(start, TimeLimit(24, "hours"), CAL) == at(2025, 10, 1, 16)


def test_urgent_dispatch_uses_natural_hours() -> None:
    start = at(2025, 10, 1, 22)  # a holiday night
    normal = TimeLimit(4, "work_hours")
    assert dispatch_deadline(start, CAL, normal=normal, urgent_hours=2, urgent=True) == at(
        2025, 10, 2, 0
    )
    # not urgent: 3.5 h on the morning of 10-09, 0.5 h after lunch
    assert dispatch_deadline(start, CAL, normal=normal, urgent_hours=2) == at(2025, 10, 9, 14, 30)
    # no urgent limit configured for the category: the normal limit applies
    assert dispatch_deadline(start, CAL, normal=normal, urgent=True) == at(2025, 10, 9, 14, 30)


def test_natural_hours_are_elapsed_time_across_dst() -> None:
    ny = ZoneInfo("America/New_York")
    start = datetime(2025, 3, 8, 12, 0, tzinfo=ny)  # DST begins 2025-03-09 02:00
    assert CAL.add_natural_hours(start, 24) == datetime(2025, 3, 9, 13, 0, tzinfo=ny)


@pytest.mark.parametrize(
    ("value", "unit"), [(0, "work_hours"), (-1, "hours"), (1.5, "work_days"), (1, "weeks")]
)
def test_bad_time_limits(value: float, unit: str) -> None:
    with pytest.raises(ValueError):
        TimeLimit(value, unit)  # type: ignore[arg-type]


def test_extend_moves_the_deadline_from_the_current_deadline() -> None:
    due = at(2025, 9, 30, 17, 30)
    assert extend(due, 2, "work_hours", CAL) == at(2025, 10, 9, 10, 30)
    assert extend(due, 1, "work_days", CAL) == at(2025, 10, 9, 17, 30)
    assert extend(due, 12, "hours", CAL) == at(2025, 10, 1, 5, 30)
    with pytest.raises(ValueError):
        extend(due, 0, "work_hours", CAL)


# --- overrides and years chinesecalendar does not know ----------------------------------------


def test_overrides_win_over_the_package() -> None:
    cal = WorkCalendar(extra_holidays={date(2025, 9, 2)}, extra_workdays={date(2025, 9, 6)})
    assert not cal.is_workday(date(2025, 9, 2))
    assert cal.is_workday(date(2025, 9, 6))
    assert cal.add_work_hours(at(2025, 9, 1, 17), 1) == at(2025, 9, 3, 9)
    with pytest.raises(ValueError):
        WorkCalendar(extra_holidays={date(2025, 9, 2)}, extra_workdays={date(2025, 9, 2)})


def test_unknown_year_falls_back_to_monday_to_friday(caplog: pytest.LogCaptureFixture) -> None:
    worktime._warned_years.discard(2040)
    worktime.statutory_workday.cache_clear()
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2040, 1, 2))
    with caplog.at_level(logging.WARNING, logger="server.domain.worktime"):
        assert CAL.is_workday(date(2040, 1, 1)) is False  # Sunday (a statutory holiday anyway)
        assert CAL.is_workday(date(2040, 1, 2))  # Monday
        assert CAL.is_workday(date(2040, 1, 6))  # Friday
        assert CAL.is_workday(date(2040, 1, 7)) is False  # Saturday
        hours = CAL.work_hours_between(at(2040, 1, 2), at(2040, 1, 9))
    assert hours == 5 * 7
    warnings = [r for r in caplog.records if "2040" in r.getMessage()]
    assert len(warnings) == 1


# --- bounds: the years the system holds (2000–2100) -------------------------------------------


def test_a_span_to_year_9998_is_counted_at_once_after_a_calendar_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An audit left a deadline near 9998; after an admin entered 2028 the next read of the case
    walked every year to it (a warning per year, minutes under the worker). The years past 2100
    are now counted Monday to Friday in one step."""
    from time import monotonic

    entered = worktime.YearCalendar.build(
        2028, [worktime.CalendarDay(date(2028, 1, 3), "holiday", "元旦")], "database"
    )
    cal = WorkCalendar(statutory=worktime.StatutoryCalendar([entered], version=1))
    start, far = at(2026, 11, 30, 9), at(9998, 12, 31, 9)
    with caplog.at_level(logging.WARNING, logger="server.domain.worktime"):
        began = monotonic()
        hours = cal.work_hours_between(start, far)
        assert cal.work_hours_between(far, start) == 0
        assert monotonic() - began < 2
    assert not [r for r in caplog.records if "for 2101" in r.getMessage()]
    # The same count as day by day: the known years plus Mon-Fri of 2101-01-01 .. 9998-12-31.
    known = cal.work_hours_between(start, at(2101, 1, 1))
    weekdays = sum(
        (date(2101, 1, 1) + timedelta(days=i)).weekday() < 5
        for i in range((date(9998, 12, 31) - date(2101, 1, 1)).days)
    )
    assert hours == known + weekdays * 7 + 0.5  # 9998-12-31 is a Wednesday: 08:30-09:00


def test_plain_years_count_like_day_by_day_with_overrides() -> None:
    cal = WorkCalendar(
        extra_holidays={date(2150, 3, 3), date(1990, 5, 2)},
        extra_workdays={date(2150, 3, 7), date(1990, 5, 5)},
    )
    for first, stop in [
        (date(2099, 6, 1), date(2160, 2, 3)),
        (date(1989, 12, 30), date(2001, 1, 9)),
        (date(2101, 1, 1), date(2101, 1, 6)),
        (date(2100, 12, 31), date(2101, 1, 1)),
    ]:
        slow = sum(cal.is_workday(first + timedelta(days=i)) for i in range((stop - first).days))
        assert cal.workdays_between(first, stop) == slow, (first, stop)


def test_no_deadline_past_2100() -> None:
    """add_time (dispatch, extensions, stage clocks) refuses a result past 2100 at once, in
    every unit, rather than walking on to year 9999 (an OverflowError, a 500)."""
    late = at(2100, 12, 20, 9)
    for amount, unit in [(2000, "work_hours"), (365, "work_days"), (8760, "hours")]:
        with pytest.raises(worktime.BeyondCalendar):
            worktime.add_time(late, amount, unit, CAL)  # type: ignore[arg-type]
        with pytest.raises(worktime.BeyondCalendar):
            worktime.extend(at(9798, 6, 1, 9), amount, unit, CAL)  # type: ignore[arg-type]
    with pytest.raises(worktime.BeyondCalendar):
        worktime.add_time(at(9999, 12, 31, 9), 1, "hours", CAL)
    assert worktime.add_time(at(2100, 12, 31, 9), 1, "work_hours", CAL) == at(2100, 12, 31, 10)
