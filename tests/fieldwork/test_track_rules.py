"""The rules of a track chunk and of a patrol's summary, as plain code (server.domain.tracks)."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import box

from server.domain.tracks import (
    DROP_REASONS,
    Anchor,
    Window,
    distance_added,
    end_of_superseded,
    screen_chunk,
    summarise,
)

T0 = 1_780_000_000_000  # a start, in ms
NOW = T0 + 3_600_000
W = Window(start_ms=T0, end_ms=None, now_ms=NOW)
#: 10 m north at 38° N, in degrees
D10 = 10 / 111_050


def walk(n: int, step_s: int = 10, t0: int = T0) -> list[list[float]]:
    """n positions 10 m apart northwards, ``step_s`` seconds apart."""
    return [[t0 + i * step_s * 1000, 106.0, 38.0 + i * D10, 5.0] for i in range(n)]


def columns(pts: list[list[float]]) -> tuple[list[float], list[float], list[float]]:
    return [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts]


def test_a_clean_chunk_is_kept_whole() -> None:
    out = screen_chunk(walk(60), W)
    assert len(out) == 60
    assert out.dropped == []
    assert out.t_ms.tolist() == [T0 + i * 10_000 for i in range(60)]


def test_out_of_order_positions_are_sorted_not_dropped() -> None:
    pts = walk(5)
    shuffled = [pts[3], pts[0], pts[4], pts[1], pts[2]]
    out = screen_chunk(shuffled, W)
    assert out.dropped == []
    assert out.t_ms.tolist() == [p[0] for p in pts]
    assert out.lat.tolist() == [p[2] for p in pts]


def test_a_50_km_jump_in_a_second_is_a_teleport_and_the_walk_goes_on() -> None:
    pts = walk(4)
    jump = [pts[1][0] + 1000, 106.0, 38.0 + 50_000 / 111_050, 5.0]
    out = screen_chunk([pts[0], pts[1], jump, pts[2], pts[3]], W)
    assert out.dropped == [{"index": 2, "reason": "teleport"}]
    assert len(out) == 4  # measured from the previous kept one, the walk is plausible again


def test_a_first_fix_far_off_is_the_jump_not_the_walk_after_it() -> None:
    """A cold GPS start: the patrol's first position is 50 km off, then the walk. The first is
    dropped, not every position after it (measured from a wrong first fix, all were out of
    reach and the whole patrol was lost)."""
    pts = walk(6)
    bad = [pts[0][0] - 1000, 106.0, 38.0 + 50_000 / 111_050, 5.0]
    out = screen_chunk([bad, *pts], W)
    assert out.dropped == [{"index": 0, "reason": "teleport"}]
    assert out.t_ms.tolist() == [p[0] for p in pts]
    # one lone position after a far first one is not enough to tell which was wrong
    out = screen_chunk([bad, pts[0]], W)
    assert out.dropped == [{"index": 1, "reason": "teleport"}]


def test_teleport_from_the_stored_position_before_the_chunk() -> None:
    before = Anchor(T0 - 10_000 + 60_000, 107.0, 38.0)  # ~88 km east, 10 s earlier
    out = screen_chunk(walk(2, t0=T0 + 60_000), W, before=before)
    # the first is too far from the stored one; the second is measured from the stored one too
    assert [d["reason"] for d in out.dropped] == ["teleport", "teleport"]


def test_each_reason_in_its_order() -> None:
    pts = [
        [T0, 106.0, 38.0, 5.0],  # kept
        [T0 + 1000, math.nan, 38.0, 5.0],  # bad_value
        [T0 + 2000, 106.0, 38.0, 150.0],  # inaccurate
        [T0 - 61_000, 106.0, 38.0, 5.0],  # outside_time (before start − 1 min)
        [T0 - 59_000, 106.0, 38.0 - D10, 5.0],  # kept: within the minute before the start
        [NOW + 301_000, 106.0, 38.0, 5.0],  # outside_time (after now + 5 min)
        [T0, 106.0, 38.0 + D10, 5.0],  # duplicate of index 0
        [T0 + 3000, 200.0, 38.0, 5.0],  # bad_value (lon out of range)
        [T0 + 4000, 106.0, 38.0, -1.0],  # bad_value (negative accuracy)
        [T0 + 5000, 106.0, 38.0, 101.0],  # inaccurate beats outside_time and the rest
        "x",  # bad_value
        [T0 + 6000, 106.0, 38.0],  # bad_value: three numbers
        [T0 + 7000, True, 38.0, 5.0],  # bad_value: a boolean is not a number
        [T0 + 7000.5, 106.0, 38.0, 5.0],  # bad_value: not a whole millisecond
        [T0 + 8000, 106.0, 38.0, None],  # bad_value
        [10**30, 106.0, 38.0, 5.0],  # bad_value
    ]
    out = screen_chunk(pts, W)
    reasons = {d["index"]: d["reason"] for d in out.dropped}
    assert reasons == {
        1: "bad_value",
        2: "inaccurate",
        3: "outside_time",
        5: "outside_time",
        6: "duplicate",
        7: "bad_value",
        8: "bad_value",
        9: "inaccurate",
        10: "bad_value",
        11: "bad_value",
        12: "bad_value",
        13: "bad_value",
        14: "bad_value",
        15: "bad_value",
    }
    assert out.t_ms.tolist() == [T0 - 59_000, T0]
    assert set(reasons.values()) <= set(DROP_REASONS)
    assert [d["index"] for d in out.dropped] == sorted(reasons)


def test_after_the_end_is_outside_time_and_duplicates_of_stored_positions() -> None:
    ended = Window(start_ms=T0, end_ms=T0 + 20_000, now_ms=NOW)
    out = screen_chunk(walk(4), ended, stored_times=[T0 + 10_000])
    assert out.dropped == [
        {"index": 1, "reason": "duplicate"},
        {"index": 3, "reason": "outside_time"},
    ]
    assert out.t_ms.tolist() == [T0, T0 + 20_000]


def test_summary_of_a_closed_patrol() -> None:
    pts = walk(11)  # 100 m in 100 s
    t = [p[0] for p in pts]
    lon = [p[1] for p in pts]
    lat = [p[2] for p in pts]
    area = box(105.999, 37.999, 106.001, 38.0 + 11 * D10)
    open_ = summarise(T0, None, t, lon, lat, area)
    assert open_.points == 11
    assert open_.distance_m == pytest.approx(100.0, rel=0.01)
    assert open_.duration_s == 100
    assert open_.coverage is None
    closed = summarise(T0, T0 + 600_000, t[::-1], lon[::-1], lat[::-1], area)
    assert closed.duration_s == 600
    assert closed.distance_m == pytest.approx(100.0, rel=0.01)
    assert closed.coverage is not None and 0.3 < closed.coverage < 0.8
    empty = summarise(T0, T0 + 1000, [], [], [], area)
    assert (empty.points, empty.distance_m, empty.duration_s, empty.coverage) == (0, 0.0, 1, 0.0)
    assert summarise(T0, T0 + 1000, t, lon, lat, None).coverage is None


def test_distance_added_by_a_chunk_between_two_stored_positions() -> None:
    pts = walk(10)
    whole = summarise(T0, None, *columns(pts), None).distance_m
    before = Anchor(int(pts[2][0]), pts[2][1], pts[2][2])
    after = Anchor(int(pts[7][0]), pts[7][1], pts[7][2])
    head = summarise(T0, None, *columns(pts[:3] + pts[7:]), None)
    chunk = screen_chunk(pts[3:7], W, before=before)
    assert head.distance_m + distance_added(chunk, before, after) == pytest.approx(whole)


def test_a_superseded_patrol_ends_at_its_last_position() -> None:
    assert end_of_superseded(T0, T0 + 5000, T0 + 9000) == T0 + 5000
    assert end_of_superseded(T0, None, T0 + 9000) == T0
    assert end_of_superseded(T0, T0 + 5000, T0 + 2000) == T0 + 2000
    assert end_of_superseded(T0, T0 + 5000, T0 - 2000) == T0


def test_numbers_past_a_double_and_mixed_chunks_take_the_careful_path() -> None:
    pts = [*walk(2), [T0 + 30_000, 10**400, 38.0, 5.0], [T0 + 40_000, 106.0, 38.0, 5]]
    out = screen_chunk(pts, W)
    assert out.dropped == [{"index": 2, "reason": "bad_value"}]
    assert len(out) == 3
