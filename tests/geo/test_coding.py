"""Grid codes: reading order, stability on re-import, never reusing a taken code."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geo import GeoError, assign_codes, validate_plan
from tests.geo.conftest import COMMUNITY, STEP, X0, Y0, cell, code


def test_new_plan_numbered_north_to_south_west_to_east(
    plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame
) -> None:
    plan["code"] = None
    shuffled = plan.iloc[[4, 1, 5, 0, 3, 2]].reset_index(drop=True)
    coded = assign_codes(shuffled, parents)
    expected = {cell(c, r).wkt: code(r * 3 + c + 1) for r in range(2) for c in range(3)}
    assert [expected[g.wkt] for g in coded.geometry] == list(coded["code"])
    assert list(coded.index) == list(range(6))  # row order kept
    assert validate_plan(coded, parents).valid


def test_valid_codes_are_kept(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    plan.loc[0, "code"] = code(42)  # valid, even if not in reading order
    plan.loc[1, "code"] = None
    plan.loc[2, "code"] = "640181999999003"  # wrong community: renumbered
    coded = assign_codes(plan, parents)
    assert coded.loc[0, "code"] == code(42)
    assert coded.loc[3:, "code"].tolist() == [code(4), code(5), code(6)]
    # new numbers continue after the highest taken (42): 002 is north-middle, 003 north-east
    assert coded.loc[1, "code"] == code(43) and coded.loc[2, "code"] == code(44)


def test_reimport_is_stable(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    previous = assign_codes(plan.assign(code=None), parents)
    again = previous.sample(frac=1, random_state=3).reset_index(drop=True)
    again.loc[again.index[:4], "code"] = None  # the new file lost some codes
    # and the geometries moved a little (re-traced): IoU stays above 0.9
    again["geometry"] = again.geometry.translate(xoff=0.0002)
    coded = assign_codes(again, parents, previous=previous)
    lookup = dict(
        zip(previous.geometry.translate(xoff=0.0002).to_wkt(), previous["code"], strict=True)
    )
    assert [lookup[w] for w in coded.geometry.to_wkt()] == list(coded["code"])


def test_new_grid_gets_a_fresh_number(plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    previous = assign_codes(plan.assign(code=None), parents)
    # grid 006 is retired; grid 005 is split into west and east halves (IoU 0.5: new grids)
    west = box(X0 + STEP, Y0, X0 + 1.5 * STEP, Y0 + STEP)
    east = box(X0 + 1.5 * STEP, Y0, X0 + 2 * STEP, Y0 + STEP)
    keep = previous.iloc[:4].assign(code=None)
    new = gpd.GeoDataFrame({"code": [None, None]}, geometry=[east, west], crs=4326)
    plan2 = gpd.GeoDataFrame(pd.concat([keep, new], ignore_index=True), crs=4326)
    coded = assign_codes(plan2, parents, previous=previous)
    assert coded["code"].tolist()[:4] == [code(1), code(2), code(3), code(4)]
    # 005 and 006 are taken (006 retired): the halves get 007 (west) and 008 (east)
    assert coded.loc[4, "code"] == code(8) and coded.loc[5, "code"] == code(7)


def test_duplicate_code_is_renumbered_once(
    plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame
) -> None:
    plan.loc[5, "code"] = code(5)
    coded = assign_codes(plan, parents)
    # the first keeps it; the second gets the next number after the highest taken (005)
    assert coded["code"].tolist() == [code(1), code(2), code(3), code(4), code(5), code(6)]


def test_grid_outside_every_parent_keeps_no_code(parents: gpd.GeoDataFrame) -> None:
    gdf = gpd.GeoDataFrame({"code": [None]}, geometry=[box(110, 30, 110.01, 30.01)], crs=4326)
    assert assign_codes(gdf, parents)["code"].tolist() == [None]


def test_full_community_refused(parents: gpd.GeoDataFrame) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": [f"{COMMUNITY}999", None]}, geometry=[cell(0, 0), cell(1, 0)], crs=4326
    )
    with pytest.raises(GeoError, match="no grid numbers left"):
        assign_codes(gdf, parents)
