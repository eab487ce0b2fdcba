"""GridLocator: inside, shared edges, nearest within tolerance, outside; bulk = single."""

from __future__ import annotations

import numpy as np
import pytest

from geo import HOW_INSIDE, HOW_NAMES, HOW_NEAREST, HOW_OUTSIDE, GridLocator
from tests.geo.conftest import STEP, X0, Y0, cell, code, make_plan

M_PER_DEG_LON = 111_320 * np.cos(np.radians(38.0))


@pytest.fixture
def locator() -> GridLocator:
    plan = make_plan()
    return GridLocator(plan.geometry.values, plan["code"].tolist(), tolerance_m=30)


def test_inside(locator: GridLocator) -> None:
    loc = locator.locate(X0 + 1.5 * STEP, Y0 + 0.5 * STEP)
    assert (loc.grid_id, loc.how, loc.distance_m) == (code(5), "inside", 0.0)


@pytest.mark.parametrize("reverse", [False, True])
def test_shared_edge_goes_to_lowest_id(reverse: bool) -> None:
    plan = make_plan()
    if reverse:
        plan = plan.iloc[::-1]
    locator = GridLocator(plan.geometry.values, plan["code"].tolist())
    edge = (X0 + STEP, Y0 + 1.5 * STEP)  # between 001 and 002
    corner = (X0 + 2 * STEP, Y0 + STEP)  # shared by 002, 003, 005, 006
    assert locator.locate(*edge).grid_id == code(1)
    assert locator.locate(*corner).grid_id == code(2)
    ids, how = locator.locate_many(np.array([edge[0], corner[0]]), np.array([edge[1], corner[1]]))
    assert ids.tolist() == [code(1), code(2)] and how.tolist() == [HOW_INSIDE, HOW_INSIDE]


def test_nearest_within_tolerance(locator: GridLocator) -> None:
    east = X0 + 3 * STEP
    near = locator.locate(east + 20 / M_PER_DEG_LON, Y0 + 0.5 * STEP)  # 20 m east of 006
    assert (near.grid_id, near.how) == (code(6), "nearest")
    assert near.distance_m == pytest.approx(20, abs=0.2)
    far = locator.locate(east + 40 / M_PER_DEG_LON, Y0 + 0.5 * STEP)  # 40 m: outside
    assert (far.grid_id, far.how) == (None, "outside")
    ids, how = locator.locate_many(
        np.array([east + 20 / M_PER_DEG_LON, east + 40 / M_PER_DEG_LON]), np.array([Y0 + 0.005] * 2)
    )
    assert ids.tolist() == [code(6), None]
    assert [HOW_NAMES[h] for h in how] == ["nearest", "outside"]


def test_nearest_south_uses_true_metres(locator: GridLocator) -> None:
    loc = locator.locate(X0 + 0.5 * STEP, Y0 - 25 / 111_000)  # 25 m south of 004
    assert (loc.grid_id, loc.how) == (code(4), "nearest")
    assert loc.distance_m == pytest.approx(25, abs=0.5)


def test_integer_ids_use_minus_one() -> None:
    plan = make_plan()
    locator = GridLocator(plan.geometry.values, [10, 20, 30, 40, 50, 60])
    ids, how = locator.locate_many(
        np.array([X0 + 0.5 * STEP, 120.0]), np.array([Y0 + 0.5 * STEP, 30.0])
    )
    assert ids.dtype == np.int64 and ids.tolist() == [40, -1]
    assert how.tolist() == [HOW_INSIDE, HOW_OUTSIDE]
    assert locator.locate(120.0, 30.0).grid_id is None


def test_bulk_equals_single_for_random_points(locator: GridLocator) -> None:
    rng = np.random.default_rng(7)
    margin = 0.0008  # about 70 m around the plan: inside, nearest and outside points
    lons = rng.uniform(X0 - margin, X0 + 3 * STEP + margin, 3000)
    lats = rng.uniform(Y0 - margin, Y0 + 2 * STEP + margin, 3000)
    # and points exactly on edges and vertices
    lons = np.concatenate([lons, X0 + STEP * rng.integers(0, 4, 200)])
    lats = np.concatenate([lats, Y0 + STEP * rng.integers(0, 3, 200)])
    ids, how = locator.locate_many(lons, lats)
    singles = [locator.locate(x, y) for x, y in zip(lons, lats, strict=True)]
    assert ids.tolist() == [s.grid_id for s in singles]
    assert [HOW_NAMES[h] for h in how] == [s.how for s in singles]
    assert {HOW_INSIDE, HOW_NEAREST, HOW_OUTSIDE} <= set(how.tolist())
    inside = how == HOW_INSIDE
    for k in np.flatnonzero(inside)[:200]:
        assert cell(*divmod_cell(ids[k])).intersects(__import__("shapely").Point(lons[k], lats[k]))


def divmod_cell(grid_code: str) -> tuple[int, int]:
    n = int(grid_code[-3:]) - 1
    return n % 3, n // 3


def test_empty_locator() -> None:
    locator = GridLocator([], [])
    assert locator.locate(106, 38).how == "outside"
    ids, how = locator.locate_many(np.array([106.0]), np.array([38.0]))
    assert how.tolist() == [HOW_OUTSIDE] and ids.tolist() == [-1]
