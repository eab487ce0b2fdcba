"""Tracks in metres: lengths against known distances, thinning within its tolerance, coverage
against areas worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from geo.tracks import (
    coverage_share,
    haversine_m,
    path_length_m,
    simplify_track,
    step_lengths_m,
)

#: metres per degree of latitude near 38° N (WGS84 meridional arc), for hand-made examples
M_PER_DEG_LAT = 111_050.0


def test_haversine_known_distances() -> None:
    # one degree of latitude on the mean sphere: 2πR/360
    assert haversine_m(106.0, 38.0, 106.0, 39.0) == pytest.approx(111_195.08, abs=0.1)
    # a quarter of the equator
    assert haversine_m(0.0, 0.0, 90.0, 0.0) == pytest.approx(math.pi / 2 * 6_371_008.8)
    # vectorised, and zero for the same place
    out = haversine_m([106.0, 106.0], [38.0, 38.0], [106.0, 106.001], [38.0, 38.0])
    assert out.shape == (2,)
    assert out[0] == 0.0
    assert out[1] == pytest.approx(111_195.08 * 0.001 * math.cos(math.radians(38.0)), rel=1e-6)


def test_path_length_sums_the_steps_in_order() -> None:
    lon = [106.0, 106.0, 106.0, 106.0]
    lat = [38.0, 38.001, 38.0, 38.002]
    steps = step_lengths_m(lon, lat)
    assert steps == pytest.approx([111.195, 111.195, 222.390], abs=0.01)
    assert path_length_m(lon, lat) == pytest.approx(444.78, abs=0.01)
    assert path_length_m([106.0], [38.0]) == 0.0
    assert path_length_m([], []) == 0.0


def test_simplify_keeps_every_position_within_the_tolerance() -> None:
    rng = np.random.default_rng(7)
    n = 2_000
    # a walk along a street with 1 m jitter, then a turn north
    t = np.linspace(0.0, 1.0, n)
    lon = 106.0 + 0.01 * np.minimum(t, 0.5) * 2
    lat = 38.0 + 0.01 * np.maximum(t - 0.5, 0.0) * 2
    lon = lon + rng.normal(0, 1 / 88_000, n)
    lat = lat + rng.normal(0, 1 / M_PER_DEG_LAT, n)
    slon, slat = simplify_track(lon, lat, 5.0)
    assert 2 < len(slon) < n / 10
    assert (slon[0], slat[0]) == (lon[0], lat[0])
    assert (slon[-1], slat[-1]) == (lon[-1], lat[-1])
    # every original position is within 5 m of the simplified line (checked in metres)
    line = LineString(np.column_stack([slon, slat]))
    pts = shapely.points(np.column_stack([lon, lat]))
    deg = shapely.distance(line, pts)
    assert (deg * M_PER_DEG_LAT).max() < 5.0 * 1.3  # degrees of longitude are shorter
    # the corner survives
    assert np.min(np.hypot(slon - 106.01, slat - 38.0)) < 10 / 88_000


def test_simplify_short_tracks_as_given() -> None:
    lon, lat = simplify_track([106.0, 106.1], [38.0, 38.0])
    assert list(lon) == [106.0, 106.1]
    assert list(lat) == [38.0, 38.0]


def _square_m(side_m: float, lon0: float = 106.0, lat0: float = 38.0) -> shapely.Polygon:
    dlat = side_m / M_PER_DEG_LAT
    dlon = side_m / (M_PER_DEG_LAT * math.cos(math.radians(lat0)))
    return box(lon0, lat0, lon0 + dlon, lat0 + dlat)


def test_coverage_of_a_square_by_a_line_through_its_middle() -> None:
    # a 1 km square; a line across its middle covers a band 100 m wide: 10 %
    sq = _square_m(1000.0)
    minx, miny, maxx, maxy = sq.bounds
    mid = (miny + maxy) / 2
    share = coverage_share([minx - 0.01, maxx + 0.01], [mid, mid], sq)
    assert share == pytest.approx(0.10, abs=0.002)


def test_coverage_of_a_point_and_of_nothing() -> None:
    sq = _square_m(1000.0)
    c = sq.centroid
    # a worker standing in the middle: a 50 m disc, π·50² of 1 km²
    share = coverage_share([c.x, c.x], [c.y, c.y], sq)
    assert share == pytest.approx(math.pi * 50**2 / 1e6, rel=0.02)
    assert coverage_share([], [], sq) == 0.0
    assert coverage_share([c.x], [c.y], None) is None
    assert coverage_share([c.x], [c.y], Point(106, 38).buffer(0)) is None


def test_coverage_of_a_multipolygon_walked_through_completely() -> None:
    a = _square_m(60.0)
    b = _square_m(60.0, lon0=106.01)
    both = shapely.union(a, b)
    assert both.geom_type == "MultiPolygon"
    # walking through the middle of the first one covers all of it (every point within 50 m)
    ca = a.centroid
    assert coverage_share([ca.x], [ca.y], both) == pytest.approx(0.5, abs=1e-3)
    cb = b.centroid
    assert coverage_share([ca.x, cb.x], [ca.y, cb.y], both) == pytest.approx(1.0)


def test_coverage_is_in_metres_at_any_latitude() -> None:
    # the same 1 km square and middle line at 60° N gives the same 10 %
    sq = _square_m(1000.0, lon0=25.0, lat0=60.0)
    minx, miny, maxx, maxy = sq.bounds
    mid = (miny + maxy) / 2
    assert coverage_share([minx, maxx], [mid, mid], sq) == pytest.approx(0.10, abs=0.003)


def test_coverage_of_a_long_crossing_walk_is_the_buffer_of_the_whole_line() -> None:
    # a day's walk in a 1 km square crosses itself all the time: buffered in pieces, the same
    rng = np.random.default_rng(3)
    sq = _square_m(1000.0)
    minx, miny, maxx, maxy = sq.bounds
    n = 3000
    lon = minx + (maxx - minx) * (0.5 + 0.45 * np.sin(np.cumsum(rng.normal(0, 0.05, n))))
    lat = miny + (maxy - miny) * (0.5 + 0.45 * np.cos(np.cumsum(rng.normal(0, 0.07, n))))
    share = coverage_share(lon, lat, sq)
    from geo.metric import LocalProjection

    proj = LocalProjection.around(np.array([sq], dtype=object))
    line, area = proj.forward(np.array([LineString(np.column_stack([lon, lat])), sq]))
    whole = shapely.area(shapely.intersection(area, shapely.buffer(line, 50.0))) / area.area
    assert share == pytest.approx(whole, abs=0.002)
    assert 0.05 < share < 1.0
