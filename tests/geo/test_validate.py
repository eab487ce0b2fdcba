"""One hand-made broken plan per problem kind: exact kind, features and location."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box, shape

from geo import read_features, repair_geometries, validate_plan
from geo.problems import ERROR_KINDS, WARNING_KINDS, Problem
from tests.geo.conftest import COMMUNITY, STEP, X0, Y0, cell, code

Writer = Callable[[gpd.GeoDataFrame, Path], Path]


def only(problems: list[Problem], kind: str) -> list[Problem]:
    return [p for p in problems if p.kind == kind]


def location(problem: Problem) -> Any:
    assert problem.location is not None
    geom = shape(problem.location)
    assert geom.is_valid and not geom.is_empty
    return geom


def test_valid_plan(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    report = validate_plan(plan, parents)
    assert report.valid, report.to_dict()
    assert report.to_dict() == {
        "features": 6,
        "valid": True,
        "errors": [],
        "warnings": [],
        "codes": [],
    }
    assert validate_plan(plan).valid


def test_overlap(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    # grid 001 grows 0.002° east into 002 (a 0.002° × 0.01° strip ≈ 175 m × 1110 m)
    plan.loc[0, "geometry"] = box(X0, Y0 + STEP, X0 + STEP + 0.002, Y0 + 2 * STEP)
    report = validate_plan(plan, parents)
    [problem] = report.errors
    assert problem.kind == "overlap"
    assert problem.features == [code(1), code(2)]
    assert problem.message.startswith("网格重叠：") and " / grids overlap: " in problem.message
    strip = box(X0 + STEP, Y0 + STEP, X0 + STEP + 0.002, Y0 + 2 * STEP)
    assert location(problem).symmetric_difference(strip).area < 1e-10
    area_m2 = float(problem.message.split("(")[1].split(" ")[0])
    assert 180_000 < area_m2 < 200_000  # 175.5 m × 1113 m


def test_touching_edges_and_contained_grid(parents: gpd.GeoDataFrame) -> None:
    big = box(X0, Y0, X0 + 3 * STEP, Y0 + 2 * STEP)
    small = box(X0 + 0.001, Y0 + 0.001, X0 + 0.002, Y0 + 0.002)
    gdf = gpd.GeoDataFrame({"code": [code(1), code(2)]}, geometry=[big, small], crs=4326)
    [problem] = validate_plan(gdf, parents).errors
    assert (problem.kind, problem.features) == ("overlap", [code(1), code(2)])
    assert location(problem).equals(small)


def test_gap_and_gap_width(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    # grid 005 (south middle) shrinks by 0.001° on its east side: a ≈ 88 m wide strip is bare
    plan.loc[4, "geometry"] = box(X0 + STEP, Y0, X0 + 2 * STEP - 0.001, Y0 + STEP)
    report = validate_plan(plan, parents)
    [problem] = report.errors
    assert problem.kind == "gap"
    assert problem.features == [code(2), code(3), code(5), code(6)]  # the grids around it
    assert COMMUNITY in problem.message
    gap = box(X0 + 2 * STEP - 0.001, Y0, X0 + 2 * STEP, Y0 + STEP)
    assert location(problem).symmetric_difference(gap).area < 1e-10
    # narrower than gap_width_m: a sliver, ignored
    assert validate_plan(plan, parents, gap_width_m=100).valid
    assert not validate_plan(plan, parents, gap_width_m=50).valid


def test_hole_without_parents(plan: gpd.GeoDataFrame) -> None:
    hole = box(X0 + 0.004, Y0 + 0.004, X0 + 0.006, Y0 + 0.006)
    plan.loc[3, "geometry"] = cell(0, 1).difference(hole)
    [problem] = validate_plan(plan).errors
    assert (problem.kind, problem.features) == ("gap", [code(4)])
    assert location(problem).equals(hole)


def test_outside_boundary(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    # grid 003 (north-east) sticks 0.001° out of the community to the east
    plan.loc[2, "geometry"] = box(X0 + 2 * STEP, Y0 + STEP, X0 + 3 * STEP + 0.001, Y0 + 2 * STEP)
    [problem] = validate_plan(plan, parents).errors
    assert (problem.kind, problem.features) == ("outside_boundary", [code(3)])
    out = box(X0 + 3 * STEP, Y0 + STEP, X0 + 3 * STEP + 0.001, Y0 + 2 * STEP)
    assert location(problem).symmetric_difference(out).area < 1e-10


def test_no_parent(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    far = box(107.0, 39.0, 107.01, 39.01)
    extra = gpd.GeoDataFrame({"code": [None]}, geometry=[far], crs=4326)
    grids = gpd.GeoDataFrame(
        __import__("pandas").concat([plan, extra], ignore_index=True), crs=4326
    )
    [problem] = validate_plan(grids, parents).errors
    assert (problem.kind, problem.features) == ("no_parent", ["#7"])
    assert far.contains(location(problem))


def test_duplicate_code(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    plan.loc[5, "code"] = code(5)
    [problem] = validate_plan(plan, parents).errors
    assert problem.kind == "duplicate_code"
    assert problem.features == [f"{code(5)}#5", f"{code(5)}#6"]
    points = location(problem)
    assert points.geom_type == "MultiPoint" and len(points.geoms) == 2
    assert cell(1, 1).contains(points.geoms[0]) and cell(2, 1).contains(points.geoms[1])


@pytest.mark.parametrize("bad", ["64018110100101", "6401811010010AA", "640181102001001"])
def test_bad_code(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, bad: str) -> None:
    plan.loc[1, "code"] = bad
    [problem] = validate_plan(plan, parents).errors
    assert (problem.kind, problem.features) == ("bad_code", [bad])
    assert cell(1, 0).contains(location(problem))


def test_bad_code_without_parents(plan: gpd.GeoDataFrame) -> None:
    plan.loc[1, "code"] = "123"
    [problem] = validate_plan(plan).errors
    assert (problem.kind, problem.features) == ("bad_code", ["123"])


def test_invalid_geometry(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    # a bow-tie over grid 004: its two triangles cross at the middle of the cell
    x0, y0 = X0, Y0
    bowtie = Polygon([(x0, y0), (x0 + STEP, y0 + STEP), (x0 + STEP, y0), (x0, y0 + STEP)])
    plan.loc[3, "geometry"] = bowtie
    report = validate_plan(plan, parents)
    # the bow-tie covers two of the four triangles of its cell: the other two are gaps
    assert [p.kind for p in report.errors] == ["invalid_geometry", "gap", "gap"]
    problem = report.errors[0]
    assert (problem.kind, problem.features) == ("invalid_geometry", [code(4)])
    assert "Self-intersection" in problem.message
    assert location(problem).distance(Point(x0 + STEP / 2, y0 + STEP / 2)) < 1e-9

    repaired = validate_plan(plan, parents, make_valid=True)
    assert [p.kind for p in repaired.warnings] == ["invalid_geometry"]
    assert [p.kind for p in repaired.errors] == ["gap", "gap"]
    fixed = repair_geometries(plan)
    assert fixed.geometry.is_valid.all()


def test_empty_and_none(plan: gpd.GeoDataFrame) -> None:
    plan.loc[0, "geometry"] = Polygon()
    plan.loc[1, "geometry"] = None
    errors = validate_plan(plan).errors
    assert [(p.kind, p.features) for p in errors] == [("empty", [code(1)]), ("empty", [code(2)])]
    assert all(p.location is None for p in errors)


def test_not_polygon(plan: gpd.GeoDataFrame) -> None:
    line = LineString([(X0, Y0), (X0 + STEP, Y0 + STEP)])
    plan.loc[5, "geometry"] = line
    [problem] = validate_plan(plan).errors
    assert (problem.kind, problem.features) == ("not_polygon", [code(6)])
    assert location(problem).equals(line)


def test_features_without_codes_use_row_numbers(plan: gpd.GeoDataFrame) -> None:
    plan["code"] = None
    plan.loc[0, "geometry"] = box(X0, Y0 + STEP, X0 + STEP + 0.002, Y0 + 2 * STEP)
    [problem] = validate_plan(plan).errors
    assert problem.features == ["#1", "#2"]


def test_area_outlier(plan: gpd.GeoDataFrame) -> None:
    # split grid 006 into a tiny grid and the rest: the tiny one is < 1/5 of the median
    tiny = box(X0 + 2 * STEP, Y0, X0 + 2 * STEP + 0.001, Y0 + 0.001)
    rest = cell(2, 1).difference(tiny)
    plan.loc[5, "geometry"] = rest
    extra = gpd.GeoDataFrame({"code": [code(7)], "households": [400]}, geometry=[tiny], crs=4326)
    grids = gpd.GeoDataFrame(__import__("pandas").concat([plan, extra], ignore_index=True))
    report = validate_plan(grids)
    assert report.valid
    [warning] = report.warnings
    assert (warning.kind, warning.features) == ("area_outlier", [code(7)])
    assert tiny.contains(location(warning))
    grids.loc[6, "kind"] = "dedicated"  # a 专属网格 (a school) may be small
    assert validate_plan(grids).warnings == []


def test_households_outlier(plan: gpd.GeoDataFrame) -> None:
    plan.loc[0, "households"] = 1500
    plan.loc[1, "households"] = 50
    plan.loc[2, "households"] = None
    report = validate_plan(plan)
    assert report.valid
    assert [(w.kind, w.features) for w in report.warnings] == [
        ("households_outlier", [code(1)]),
        ("households_outlier", [code(2)]),
    ]
    assert "1500" in report.warnings[0].message


def test_households_that_are_not_a_whole_number_are_errors(plan: gpd.GeoDataFrame) -> None:
    """Text, NaN-as-text, 1e308, negatives and fractions are refused (they used to reach the
    database: a 500, or a negative count stored without a word); empty values are fine."""
    bad = ["NaN", "约300户", 1e308, -5, 400.5, True]
    plan["households"] = plan["households"].astype(object)
    for i, value in enumerate(bad):
        plan.at[i, "households"] = value
    report = validate_plan(plan)
    assert not report.valid
    found = [(p.kind, p.features) for p in report.errors if p.kind == "bad_households"]
    assert found == [("bad_households", [code(i + 1)]) for i in range(6)]
    assert "约300户" in report.errors[1].message and report.errors[1].location is not None
    # Empty, blank and whole numbers (also as text or 400.0) are fine; no outlier warning for
    # a refused value.
    for i, value in enumerate([None, " ", "400", 400.0, float("nan"), 0]):
        plan.at[i, "households"] = value
    report = validate_plan(plan)
    assert report.valid, report.errors
    assert [w.features for w in report.warnings] == [[code(6)]]  # 0 households: an outlier


def test_kinds_are_the_documented_ones() -> None:
    assert len(ERROR_KINDS) == 12 and len(WARNING_KINDS) == 3


def test_projected_input_is_handled(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    assert validate_plan(plan.to_crs(4527), parents).valid


@pytest.mark.parametrize("suffix", [".geojson", ".zip", ".gpkg", ".kml"])
def test_broken_files_in_every_format(
    tmp_path: Path, write: Writer, plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, suffix: str
) -> None:
    """Overlap, gap, duplicate and invalid geometry survive each file format."""
    plan.loc[0, "geometry"] = box(X0, Y0 + STEP, X0 + STEP + 0.002, Y0 + 2 * STEP)  # overlap
    plan.loc[4, "geometry"] = box(X0 + STEP, Y0, X0 + 2 * STEP - 0.001, Y0 + STEP)  # gap
    plan.loc[2, "code"] = code(2)  # duplicate
    bowtie = Polygon([(X0, Y0), (X0 + STEP, Y0 + STEP), (X0 + STEP, Y0), (X0, Y0 + STEP), (X0, Y0)])
    plan.loc[3, "geometry"] = bowtie  # invalid
    path = write(plan, tmp_path / f"plan{suffix}")
    grids = read_features(path)
    assert len(grids) == 6
    report = validate_plan(grids, parents)
    kinds = sorted({p.kind for p in report.errors})
    assert kinds == ["duplicate_code", "gap", "invalid_geometry", "overlap"]
    [overlap] = only(report.errors, "overlap")
    assert overlap.features == [code(1), f"{code(2)}#2"]
    [dup] = only(report.errors, "duplicate_code")
    assert dup.features == [f"{code(2)}#2", f"{code(2)}#3"]
    json_ready = report.to_dict()
    assert json_ready["valid"] is False
    assert all(
        shapely.from_geojson(__import__("json").dumps(p["location"])) for p in json_ready["errors"]
    )
