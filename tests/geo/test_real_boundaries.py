"""Real county boundaries (GCJ-02, ../shared/data): generated plans validate, broken ones fail.

Skipped when ../shared/data is absent, a failure when CI is set.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import affinity
from shapely.geometry import Polygon, shape

from geo import read_boundaries, validate_plan, voronoi_partition

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def lingwu(data_dir: Path) -> gpd.GeoDataFrame:
    county = read_boundaries(data_dir / "boundaries" / "county_640181.json", crs="gcj02")
    assert county.crs.to_epsg() == 4326 and county["adcode"].tolist() == [640181]
    return county


@pytest.fixture(scope="module")
def lingwu_grids(lingwu: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    cells = voronoi_partition(lingwu.geometry.iloc[0], 150, seed=11)
    codes = [f"640181000000{i + 1:03d}" for i in range(len(cells))]
    return gpd.GeoDataFrame({"code": codes}, geometry=cells, crs=4326)


def test_gcj02_boundary_moved_to_wgs84(data_dir: Path, lingwu: gpd.GeoDataFrame) -> None:
    raw = gpd.read_file(data_dir / "boundaries" / "county_640181.json")
    shift = raw.geometry.iloc[0].centroid.distance(lingwu.geometry.iloc[0].centroid)
    assert 0.001 < shift < 0.01  # a few hundred metres, as GCJ-02 is offset


def test_generated_plan_is_valid(lingwu: gpd.GeoDataFrame, lingwu_grids: gpd.GeoDataFrame) -> None:
    report = validate_plan(lingwu_grids, lingwu, code_field="code")
    assert report.errors == [], report.errors[:3]


@pytest.mark.parametrize(("away", "kind"), [(1.0, "overlap"), (-1.0, "gap")])
def test_moved_vertex(
    lingwu: gpd.GeoDataFrame, lingwu_grids: gpd.GeoDataFrame, away: float, kind: str
) -> None:
    """Move a vertex of an interior grid 30 % of the way away from (or towards) its centre:
    the grid then overlaps its neighbours (or leaves a gap), right at that vertex."""
    grids = lingwu_grids.copy()
    geoms = np.asarray(grids.geometry.values)
    interior = np.flatnonzero(
        ~shapely.intersects(geoms, lingwu.geometry.iloc[0].boundary)
        & (shapely.get_type_id(geoms) == 3)
    )
    i = int(interior[0])
    ring = np.asarray(geoms[i].exterior.coords)
    centre = np.asarray(geoms[i].centroid.coords[0])
    ring[0] = ring[0] + away * 0.3 * (ring[0] - centre)
    ring[-1] = ring[0]
    grids.loc[i, "geometry"] = Polygon(ring)
    report = validate_plan(grids, lingwu)
    assert report.errors and {p.kind for p in report.errors} == {kind}, report.errors
    vertex = shapely.Point(ring[0])
    assert min(shape(p.location).distance(vertex) for p in report.errors) < 1e-6
    if kind == "overlap":
        assert all(p.features[0] == grids.loc[i, "code"] or p.features[1] == grids.loc[i, "code"]
                   for p in report.errors)  # fmt: skip
    else:
        assert all(grids.loc[i, "code"] in p.features for p in report.errors)


def test_dropped_grid_is_a_gap(lingwu: gpd.GeoDataFrame, lingwu_grids: gpd.GeoDataFrame) -> None:
    dropped = lingwu_grids.iloc[40]
    grids = lingwu_grids.drop(index=40).reset_index(drop=True)
    [gap] = validate_plan(grids, lingwu).errors
    assert gap.kind == "gap"
    assert (
        shape(gap.location).symmetric_difference(dropped.geometry).area
        < 1e-3 * dropped.geometry.area
    )
    assert set(gap.features) == set(
        lingwu_grids.loc[
            lingwu_grids.touches(dropped.geometry) & (lingwu_grids.index != 40), "code"
        ]
    )


def test_grown_border_grid_sticks_out(
    lingwu: gpd.GeoDataFrame, lingwu_grids: gpd.GeoDataFrame
) -> None:
    grids = lingwu_grids.copy()
    border = np.flatnonzero(grids.intersects(lingwu.geometry.iloc[0].boundary))
    i = int(border[0])
    grids.loc[i, "geometry"] = affinity.scale(grids.geometry.iloc[i], 1.3, 1.3)
    report = validate_plan(grids, lingwu)
    assert {p.kind for p in report.errors} == {"outside_boundary", "overlap"}
    [outside] = [p for p in report.errors if p.kind == "outside_boundary"]
    assert outside.features == [grids.loc[i, "code"]]
    sticking_out = shape(outside.location)
    assert sticking_out.intersection(lingwu.geometry.iloc[0]).area < 1e-3 * sticking_out.area


def test_yinchuan_districts_as_parents(data_dir: Path) -> None:
    districts = read_boundaries(data_dir / "boundaries" / "city_640100.json", crs="gcj02")
    assert len(districts) == 6
    frames = []
    for k, row in enumerate(districts.itertuples()):
        cells = voronoi_partition(row.geometry, 25, seed=k)
        frames.append(
            gpd.GeoDataFrame(
                {"code": [None] * len(cells), "parent_code": [str(row.adcode)] * len(cells)},
                geometry=cells,
                crs=4326,
            )
        )
    grids = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)
    report = validate_plan(grids, districts)
    assert report.errors == [], report.errors[:3]

    # grid 0 claims the wrong district: it lies outside that parent (its own district is still
    # covered, so no gap: a spill-over is reported once, where it comes from)
    wrong = str(districts["adcode"].iloc[1])
    grids.loc[0, "parent_code"] = wrong
    errors = validate_plan(grids, districts).errors
    assert [(p.kind, p.features) for p in errors] == [("outside_boundary", ["#1"])]

    # a grid far from every district has no parent
    grids.loc[0, "parent_code"] = None
    grids.loc[0, "geometry"] = affinity.translate(grids.geometry.iloc[0], xoff=5.0)
    errors = validate_plan(grids, districts).errors
    assert ("no_parent", ["#1"]) in [(p.kind, p.features) for p in errors]
