"""``WorkCalendar.sub_work_micros`` is the inverse the sweep's cut-off needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from server.domain.worktime import US_PER_HOUR, WorkCalendar

CAL = WorkCalendar()
START = datetime(2025, 9, 1, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    minutes=st.integers(min_value=0, max_value=500 * 24 * 60),
    micros=st.integers(min_value=1, max_value=15 * 7 * US_PER_HOUR),
)
def test_sub_work_micros_is_the_latest_moment_with_that_much_office_time(
    minutes: int, micros: int
) -> None:
    end = START + timedelta(minutes=minutes)
    cut = CAL.sub_work_micros(end, micros)
    assert CAL.work_micros_between(cut, end) == micros
    assert CAL.work_micros_between(cut + timedelta(microseconds=1), end) < micros
    assert CAL.add_work_micros(cut, micros) <= end
