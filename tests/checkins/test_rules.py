"""Check-in rules as plain code (server/domain/check_ins.py): worked examples of the day, lateness,
the 7-day limit, the reason rule, the decision, and "inside one's own grid" with tolerance."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import box

from server.domain import check_ins as ci
from server.domain.errors import DomainError, InvalidTransition

SH = ZoneInfo("Asia/Shanghai")
NINE = time(9, 0)
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SH)  # Friday 10:00 in the county


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_day_is_the_countys_local_date_not_utcs() -> None:
    # 2026-11-19 23:30 UTC is 07:30 on the 20th in Ningxia: an on-time check-in of the 20th
    t = ci.timing(at("2026-11-19T23:30:00+00:00"), NOW, SH, NINE)
    assert t == ci.Timing(date(2026, 11, 20), late=False, makeup=False)
    assert t.status == "accepted"


@pytest.mark.parametrize(
    ("moment", "late"),
    [
        ("2026-11-20T08:59:59+08:00", False),
        ("2026-11-20T09:00:00+08:00", False),  # at the deadline is on time
        ("2026-11-20T09:00:01+08:00", True),
        ("2026-11-20T01:00:01Z", True),  # 09:00:01 local
        ("2026-11-20T00:00:00+08:00", False),
    ],
)
def test_late_after_the_deadline_on_the_day(moment: str, late: bool) -> None:
    t = ci.timing(at(moment), NOW, SH, NINE)
    assert (t.day, t.late, t.makeup) == (date(2026, 11, 20), late, False)


def test_a_past_day_is_a_makeup_up_to_seven_days_back() -> None:
    t = ci.timing(at("2026-11-13T08:00:00+08:00"), NOW, SH, NINE)
    assert t == ci.Timing(date(2026, 11, 13), late=False, makeup=True)
    assert t.status == "pending"
    yesterday = ci.timing(at("2026-11-19T23:59:59+08:00"), NOW, SH, NINE)
    assert yesterday.makeup and yesterday.day == date(2026, 11, 19)


def test_eight_days_back_is_refused_on_at() -> None:
    with pytest.raises(DomainError) as err:
        ci.timing(at("2026-11-12T23:59:59+08:00"), NOW, SH, NINE)
    assert (err.value.code, err.value.field) == ("too_old", "at")


def test_a_future_day_is_refused_but_later_today_is_not() -> None:
    with pytest.raises(DomainError) as err:
        ci.timing(at("2026-11-21T00:00:00+08:00"), NOW, SH, NINE)
    assert (err.value.code, err.value.field) == ("future_day", "at")
    # a phone a few minutes ahead, still today: a (late) check-in of today
    assert ci.timing(at("2026-11-20T10:05:00+08:00"), NOW, SH, NINE).late


def test_naive_moments_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        ci.day_of(datetime(2026, 11, 20, 8, 0), SH)


def test_day_bounds_are_local_midnights() -> None:
    start, end = ci.day_bounds(date(2026, 11, 20), SH)
    assert start.astimezone(UTC) == datetime(2026, 11, 19, 16, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reason", "ok"),
    [
        ("手机没电", True),
        ("ok", True),
        ("病", False),
        ("..", False),
        ("  ", False),
        ("\u200b\u200b\u200b", False),
        ("\u3164\u3164", False),
        (None, False),
    ],
)
def test_a_makeup_needs_a_stated_reason(reason: str | None, ok: bool) -> None:
    if ok:
        assert ci.check_reason(reason, makeup=True) == (reason or "").strip()
    else:
        with pytest.raises(DomainError) as err:
            ci.check_reason(reason, makeup=True)
        assert (err.value.code, err.value.field) == ("reason_required", "reason")
    assert ci.check_reason(reason, makeup=False) == (reason or "").strip()


def test_only_a_pending_check_in_is_decided() -> None:
    assert ci.decide("pending", "approve") == "approved"
    assert ci.decide("pending", "reject") == "rejected"
    for status in ("accepted", "approved", "rejected"):
        with pytest.raises(InvalidTransition) as err:
            ci.decide(status, "approve")
        assert err.value.code == "not_pending"
    with pytest.raises(DomainError):
        ci.decide("pending", "maybe")


@pytest.mark.parametrize(
    ("text", "value"), [("09:00", time(9)), ("08:30", time(8, 30)), ("23:59", time(23, 59))]
)
def test_deadline_setting(text: str, value: time) -> None:
    assert ci.parse_deadline(text) == value


@pytest.mark.parametrize("text", ["9:00", "24:00", "09:60", "0900", "０９:００", "", "09:00:00"])
def test_bad_deadline_setting(text: str) -> None:
    with pytest.raises(ValueError):
        ci.parse_deadline(text)


# --- inside one's own grid --------------------------------------------------------------------

# Two adjacent grids about 6.5 km wide at 38° N (0.075° of longitude ≈ 6.57 km).
WEST = ("640181001001001", box(106.25, 38.0, 106.325, 38.10))
EAST = ("640181001001002", box(106.325, 38.0, 106.40, 38.10))
M_PER_DEG_LON = 87_800.0  # at 38° N, roughly
M_PER_DEG_LAT = 111_000.0


def test_inside_a_grid() -> None:
    got = ci.fit(106.30, 38.05, 10, [WEST])
    assert got.inside and got.grid_code == WEST[0] and got.distance_m == 0


def test_on_a_shared_edge_the_lowest_code_wins_whatever_the_order() -> None:
    for grids in ([WEST, EAST], [EAST, WEST]):
        got = ci.fit(106.325, 38.05, None, grids)
        assert got.grid_code == WEST[0]


def test_within_the_accuracy_of_the_edge_counts() -> None:
    # 30 m west of the west edge, the fix good to 40 m: counts for the grid
    lon = 106.25 - 30 / M_PER_DEG_LON
    got = ci.fit(lon, 38.05, 40, [WEST, EAST])
    assert got.inside and got.grid_code == WEST[0]
    assert 25 < got.distance_m < 35
    # the same point with a 20 m fix: outside, nearest the west grid at ~30 m
    got = ci.fit(lon, 38.05, 20, [WEST, EAST])
    assert not got.inside and got.nearest_code == WEST[0] and 25 < got.distance_m < 35


def test_the_tolerance_is_capped_at_fifty_metres() -> None:
    lat = 38.0 - 80 / M_PER_DEG_LAT  # 80 m south of both grids
    got = ci.fit(106.30, lat, 2000, [WEST, EAST])
    assert not got.inside and got.tolerance_m == 50
    assert got.nearest_code == WEST[0] and 78 < got.distance_m < 82
    assert ci.tolerance(None) == 0 and ci.tolerance(-5) == 0 and ci.tolerance(float("nan")) == 0


def test_far_away_names_the_nearest_own_grid_and_distance_in_metres() -> None:
    got = ci.fit(106.55, 38.45, 10, [WEST, EAST])  # another county, ~40 km away
    assert not got.inside and got.nearest_code == EAST[0]
    assert 35_000 < got.distance_m < 45_000


def test_no_grids_at_all() -> None:
    got = ci.fit(106.30, 38.05, 10, [])
    assert not got.inside and got.nearest_code is None


def test_a_past_day_made_there_is_that_days_check_in() -> None:
    """An offline phone's check-in of yesterday (a position, no 补签 asked) keeps its day and
    its lateness; without ``present`` the same moment is a 补签."""
    t = ci.timing(at("2026-11-19T09:10:00+08:00"), NOW, SH, NINE, present=True)
    assert t == ci.Timing(date(2026, 11, 19), late=True, makeup=False)
    assert t.status == "accepted"
    assert ci.timing(at("2026-11-19T09:10:00+08:00"), NOW, SH, NINE).makeup
    with pytest.raises(DomainError):
        ci.timing(at("2026-11-11T08:00:00+08:00"), NOW, SH, NINE, present=True)
