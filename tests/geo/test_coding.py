"""Grid codes: reading order, stability on re-import, never reusing a taken code, and never
rewriting a supplied code unless asked (``renumber``), each change listed."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geo import GeoError, assign_codes, validate_plan
from geo.coding import CodeChange, code_grids, code_problem
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
    plan.loc[2, "code"] = "640181999999003"  # wrong community: kept as it is, reported
    coding = code_grids(plan, parents)
    coded = coding.grids
    assert coded.loc[0, "code"] == code(42)
    assert coded.loc[2, "code"] == "640181999999003"
    assert coded.loc[3:, "code"].tolist() == [code(4), code(5), code(6)]
    # a new number continues after the highest taken (42)
    assert coded.loc[1, "code"] == code(43)
    assert coding.changes == [CodeChange(1, None, code(43), "missing", "new_number")]
    assert [p.kind for p in validate_plan(coded, parents).errors] == ["bad_code"]


def test_renumber_replaces_bad_codes_and_lists_them(
    plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame
) -> None:
    plan.loc[0, "code"] = code(42)
    plan.loc[1, "code"] = None
    plan.loc[2, "code"] = "640181999999003"  # wrong community
    coding = code_grids(plan, parents, renumber=True)
    coded = coding.grids
    assert coded.loc[0, "code"] == code(42)
    assert coded.loc[3:, "code"].tolist() == [code(4), code(5), code(6)]
    # new numbers continue after the highest taken (42): 002 is north-middle, 003 north-east
    assert coded.loc[1, "code"] == code(43) and coded.loc[2, "code"] == code(44)
    assert coding.changes == [
        CodeChange(1, None, code(43), "missing", "new_number"),
        CodeChange(2, "640181999999003", code(44), "bad_code", "new_number"),
    ]
    assert [c.renumbered for c in coding.changes] == [False, True]
    assert validate_plan(coded, parents).valid
    # assign_codes is the same without the list
    assert assign_codes(plan, parents, renumber=True)["code"].tolist() == coded["code"].tolist()


@pytest.mark.parametrize(
    "bad",
    [
        "64018110100100",  # 14 digits
        "6401811010010011",  # 16 digits
        "64018110100100A",
        "６４０１８１１０１００１００７",  # full-width digits
        "64018110100100²",  # a superscript is a "digit" to str.isdigit
        f"{COMMUNITY}000",  # sequences start at 001
    ],
)
def test_malformed_codes(bad: str, plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> None:
    assert code_problem(bad, COMMUNITY) == "bad_code"
    plan.loc[3, "code"] = bad
    kept = code_grids(plan, parents)
    assert kept.grids.loc[3, "code"] == bad and kept.changes == []
    report = validate_plan(kept.grids, parents)
    assert [(p.kind, p.features) for p in report.errors] == [("bad_code", [bad])]
    fixed = code_grids(plan, parents, renumber=True)
    assert fixed.changes == [CodeChange(3, bad, code(7), "bad_code", "new_number")]
    assert validate_plan(fixed.grids, parents).valid


def test_code_problem() -> None:
    assert code_problem(None, COMMUNITY) is None  # missing: coded, not an error
    assert code_problem(code(1), COMMUNITY) is None
    assert code_problem(code(1), None) is None  # parent unknown: the format only
    assert code_problem("640181999999003", COMMUNITY) == "bad_code"


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


def test_duplicate_code_is_kept_and_reported(
    plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame
) -> None:
    plan.loc[5, "code"] = code(5)
    coding = code_grids(plan, parents)
    assert coding.changes == []
    assert coding.grids["code"].tolist() == [code(1), code(2), code(3), code(4), code(5), code(5)]
    report = validate_plan(coding.grids, parents)
    assert [(p.kind, p.features) for p in report.errors] == [
        ("duplicate_code", [f"{code(5)}#5", f"{code(5)}#6"])
    ]


def test_duplicate_code_is_renumbered_once(
    plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame
) -> None:
    plan.loc[5, "code"] = code(5)
    coding = code_grids(plan, parents, renumber=True)
    # the first keeps it; the second gets the next number after the highest taken (005)
    assert coding.grids["code"].tolist() == [code(1), code(2), code(3), code(4), code(5), code(6)]
    assert coding.changes == [CodeChange(5, code(5), code(6), "duplicate_code", "new_number")]


def test_a_missing_code_never_repeats_a_supplied_one(
    plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame
) -> None:
    """Even a code reported as a problem is "taken": the new number comes after it."""
    plan.loc[0, "code"] = code(9)
    plan.loc[1, "code"] = code(9)  # duplicate, left as it is
    plan.loc[2, "code"] = None
    coded = assign_codes(plan, parents)
    assert coded.loc[2, "code"] == code(10)


def test_grid_outside_every_parent_keeps_no_code(parents: gpd.GeoDataFrame) -> None:
    gdf = gpd.GeoDataFrame({"code": [None]}, geometry=[box(110, 30, 110.01, 30.01)], crs=4326)
    assert assign_codes(gdf, parents)["code"].tolist() == [None]


def test_full_community_refused(parents: gpd.GeoDataFrame) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": [f"{COMMUNITY}999", None]}, geometry=[cell(0, 0), cell(1, 0)], crs=4326
    )
    with pytest.raises(GeoError, match="no grid numbers left"):
        assign_codes(gdf, parents)


def test_a_supplied_code_on_another_place_is_a_code_moved_error(
    plan: gpd.GeoDataFrame, parents: gpd.GeoDataFrame
) -> None:
    """Two grids swap codes (A on B's old place, B on A's): duties follow the code, so a
    worker would silently cover another area. An error naming both places, unless confirmed."""
    from geo.validate import report_codes

    previous = assign_codes(plan.assign(code=None), parents)
    swapped = previous.copy()
    a, b = previous.loc[0, "code"], previous.loc[1, "code"]
    swapped.loc[0, "code"], swapped.loc[1, "code"] = b, a
    coding = code_grids(swapped, parents, previous=previous)
    assert [(m.row, m.code, m.was) for m in coding.moved] == [(0, b, a), (1, a, b)]
    assert coding.changes == [] and list(coding.grids["code"]) == list(swapped["code"])
    report = validate_plan(coding.grids, parents)
    report_codes(report, list(swapped["code"]), coding.grids, coding.changes, coding.moved)
    moved = [p for p in report.errors if p.kind == "code_moved"]
    assert [p.features for p in moved] == [[b], [a]] and not report.valid
    assert a in moved[0].message and b in moved[0].message
    assert moved[0].location is not None and moved[0].location["type"] == "MultiPoint"
    # Confirmed (the renumber option): the same finding, as a warning.
    report = validate_plan(coding.grids, parents)
    report_codes(report, list(swapped["code"]), coding.grids, coding.changes, coding.moved,
                 confirmed=True)  # fmt: skip
    assert report.valid and [p.kind for p in report.warnings] == ["code_moved"] * 2
    # The same codes on (nearly) the same places are no move.
    same = previous.copy()
    same["geometry"] = previous.geometry.translate(xoff=0.00002)
    assert code_grids(same, parents, previous=previous).moved == []
