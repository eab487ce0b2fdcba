"""Hand-made grid plans for the geo tests.

A community (12-digit code 640181101001) is the box 106.00–106.03 E × 38.00–38.02 N (about
2.6 km × 2.2 km, near Lingwu); its plan is a 3 × 2 grid of 0.01° squares coded 001–006
(north row 001–003 west→east, south row 004–006).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from tests.support import shared_data

COMMUNITY = "640181101001"
X0, Y0, STEP = 106.0, 38.0, 0.01


def cell(col: int, row: int) -> BaseGeometry:
    """Square ``col`` (0..2, west→east) in ``row`` (0 north, 1 south)."""
    return box(X0 + col * STEP, Y0 + (1 - row) * STEP, X0 + (col + 1) * STEP, Y0 + (2 - row) * STEP)


def code(n: int) -> str:
    return f"{COMMUNITY}{n:03d}"


def make_plan() -> gpd.GeoDataFrame:
    geoms = [cell(c, r) for r in range(2) for c in range(3)]
    return gpd.GeoDataFrame(
        {"code": [code(i + 1) for i in range(6)], "households": [400] * 6, "kind": ["basic"] * 6},
        geometry=geoms,
        crs="EPSG:4326",
    )


def make_parents() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [COMMUNITY], "name": ["测试社区"]},
        geometry=[box(X0, Y0, X0 + 3 * STEP, Y0 + 2 * STEP)],
        crs="EPSG:4326",
    )


@pytest.fixture
def plan() -> gpd.GeoDataFrame:
    return make_plan()


@pytest.fixture
def parents() -> gpd.GeoDataFrame:
    return make_parents()


def write_plan(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    """Write ``gdf`` as GeoJSON, GeoPackage, KML or a zipped Shapefile (by suffix)."""
    suffix = path.suffix.lower()
    if suffix == ".zip":
        folder = path.parent / (path.stem + "_shp")
        folder.mkdir()
        gdf.to_file(folder / "grids.shp", driver="ESRI Shapefile", engine="pyogrio")
        with zipfile.ZipFile(path, "w") as archive:
            for member in sorted(folder.iterdir()):
                archive.write(member, f"plan/{member.name}")  # a folder inside the zip
        return path
    driver = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".kml": "KML"}[suffix]
    gdf.to_file(path, driver=driver, engine="pyogrio")
    return path


@pytest.fixture
def write() -> Callable[[gpd.GeoDataFrame, Path], Path]:
    return write_plan


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """../shared/data: skipped when absent, a failure when CI is set."""
    return shared_data()
