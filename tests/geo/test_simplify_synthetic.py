"""Coverage simplification for the web, and synthetic Voronoi plans."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, box

from geo import (
    build_hierarchy,
    simplify_coverage,
    to_feature_collection,
    tolerance_for_zoom,
    validate_plan,
    voronoi_partition,
)

BOUNDARY = Point(106.3, 38.1).buffer(0.2, quad_segs=32).difference(box(106.3, 38.1, 106.6, 38.4))


def test_voronoi_partition_is_a_coverage_of_the_boundary() -> None:
    cells = np.array(voronoi_partition(BOUNDARY, 200, seed=1), dtype=object)
    assert len(cells) == 200
    assert shapely.coverage_is_valid(cells)
    assert shapely.is_valid(cells).all()
    union = shapely.coverage_union_all(cells)
    assert union.symmetric_difference(BOUNDARY).area < 1e-12
    again = voronoi_partition(BOUNDARY, 200, seed=1)
    assert all(a.equals_exact(b, 0) for a, b in zip(cells, again, strict=True))
    assert not all(
        a.equals(b) for a, b in zip(cells, voronoi_partition(BOUNDARY, 200, seed=2), strict=True)
    )


def test_simplify_keeps_the_coverage() -> None:
    cells = np.array(voronoi_partition(BOUNDARY, 100, seed=4), dtype=object)
    simple = simplify_coverage(cells, tolerance_for_zoom(10))
    assert shapely.coverage_is_valid(simple)
    assert shapely.get_num_coordinates(simple).sum() < shapely.get_num_coordinates(cells).sum()
    assert shapely.coverage_union_all(simple).symmetric_difference(BOUNDARY).area < 1e-4


def test_tolerance_for_zoom() -> None:
    assert tolerance_for_zoom(0) == pytest.approx(360 / 256 / 2)
    assert tolerance_for_zoom(14) == pytest.approx(tolerance_for_zoom(13) / 2)


def test_feature_collection_rounds_to_six_decimals() -> None:
    fc = to_feature_collection(
        [box(106.12345678, 38.1, 106.2, 38.2), None], [{"code": "a"}, {"code": "b"}]
    )
    assert fc["type"] == "FeatureCollection"
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    assert [106.123457, 38.1] in ring
    assert fc["features"][1] == {"type": "Feature", "geometry": None, "properties": {"code": "b"}}


def test_build_hierarchy_codes_and_coverage() -> None:
    towns, communities, grids = build_hierarchy(
        BOUNDARY, "640181", [("001", "城关街道"), ("101", "郝家桥镇")], 3, 8, seed=5
    )
    assert towns["code"].tolist() == ["640181001", "640181101"]
    assert communities["code"].tolist()[:3] == ["640181001001", "640181001002", "640181001003"]
    assert communities["code"].tolist()[3:] == ["640181101200", "640181101201", "640181101202"]
    assert len(grids) == 48 and grids["code"].str.len().eq(15).all() and grids["code"].is_unique
    assert all(g[:12] == p for g, p in zip(grids["code"], grids["parent_code"], strict=True))
    for layer in (towns, communities, grids):
        assert shapely.coverage_is_valid(np.asarray(layer.geometry.values))
    assert validate_plan(grids, communities).valid
    # communities cover their towns exactly (codes are not grid codes: not checked here)
    assert validate_plan(communities, towns, code_field="-").valid
