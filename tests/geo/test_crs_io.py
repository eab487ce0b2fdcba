"""CRS parsing, GCJ-02, Gauss-Krüger, and reading files safely."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, box

from geo import CRSError, ReadError, parse_crs, read_features, to_wgs84
from geo.crs import gcj02_to_wgs84, wgs84_to_gcj02

Writer = Callable[[gpd.GeoDataFrame, Path], Path]

# Public test vectors of the GCJ-02 formula (eviltransform): (wgs lat, lon), (gcj lat, lon).
VECTORS = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]


def same_place(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, tol_deg: float = 1e-6) -> bool:
    """Same shapes within ``tol_deg`` (any ring start or orientation)."""
    return bool((shapely.hausdorff_distance(a.geometry.values, b.geometry.values) < tol_deg).all())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("EPSG:4326", "EPSG:4326"),
        ("4326", "EPSG:4326"),
        ("epsg:4490", "EPSG:4490"),
        ("EPSG:4513", "EPSG:4513"),
        ("4527", "EPSG:4527"),
        ("EPSG:4554", "EPSG:4554"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
    ],
)
def test_parse_crs(text: str | None, expected: str | None) -> None:
    assert parse_crs(text) == expected


@pytest.mark.parametrize("text", ["EPSG:3857", "4512", "EPSG:4555", "bd09", "wgs"])
def test_parse_crs_refuses(text: str) -> None:
    refused = r"不支持的坐标系 .*可用：EPSG:4326.* / unsupported CRS.*accepted: EPSG:4326"
    with pytest.raises(CRSError, match=refused):
        parse_crs(text)


@pytest.mark.parametrize(("wgs", "gcj"), VECTORS)
def test_gcj02_public_vectors(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    lon, lat = wgs84_to_gcj02(np.array([wgs[1]]), np.array([wgs[0]]))
    assert lon[0] == pytest.approx(gcj[1], abs=1e-9)
    assert lat[0] == pytest.approx(gcj[0], abs=1e-9)
    back_lon, back_lat = gcj02_to_wgs84(lon, lat)
    assert back_lon[0] == pytest.approx(wgs[1], abs=1e-9)
    assert back_lat[0] == pytest.approx(wgs[0], abs=1e-9)


def test_gcj02_round_trip_below_a_centimetre() -> None:
    rng = np.random.default_rng(42)
    lon = rng.uniform(73.5, 135.0, 20_000)
    lat = rng.uniform(18.0, 53.5, 20_000)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    offset = np.hypot((g_lon - lon) * np.cos(np.radians(lat)), g_lat - lat) * 111_320
    assert np.median(offset) > 100 and offset.max() < 1000  # GCJ-02 moves points by ~100-700 m
    b_lon, b_lat = gcj02_to_wgs84(g_lon, g_lat)
    error_m = np.hypot((b_lon - lon) * np.cos(np.radians(lat)), b_lat - lat) * 111_320
    assert error_m.max() < 0.01


def test_no_offset_outside_china() -> None:
    lon, lat = np.array([-74.0, 2.35]), np.array([40.7, 48.85])  # New York, Paris
    for f in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = f(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


def test_gauss_kruger_zone_39_file(tmp_path: Path, write: Writer, plan: gpd.GeoDataFrame) -> None:
    """EPSG:4527 = CGCS2000 3° GK zone 39 (central meridian 117°E, zone number in easting)."""
    near_beijing = plan.translate(xoff=116.5 - 106.0, yoff=39.9 - 38.0)
    original = plan.set_geometry(near_beijing)
    projected = original.to_crs("EPSG:4527")
    assert projected.total_bounds[0] > 39_000_000  # the easting carries the zone number
    path = write(projected, tmp_path / "gk.gpkg")
    back = read_features(path)
    assert back.crs.to_epsg() == 4326
    assert same_place(back, original)
    # a GK file with no .prj and the option given
    bare = projected.set_crs(None, allow_override=True)
    with pytest.warns(UserWarning, match="crs"):
        path2 = write(bare, tmp_path / "bare.zip")
    with pytest.raises(CRSError, match="请指明文件的坐标系"):
        read_features(path2)
    back2 = read_features(path2, crs="EPSG:4527")
    assert same_place(back2, original)


def test_cgcs2000_is_wgs84(plan: gpd.GeoDataFrame) -> None:
    out = to_wgs84(plan.set_crs("EPSG:4490", allow_override=True), None)
    assert out.crs.to_epsg() == 4326
    assert out.geometry.geom_equals_exact(plan.geometry, 0).all()


def test_gcj02_option_moves_every_coordinate(
    tmp_path: Path, write: Writer, plan: gpd.GeoDataFrame
) -> None:
    path = write(plan, tmp_path / "traced.geojson")
    out = read_features(path, crs="gcj02")
    assert out.crs.to_epsg() == 4326
    moved = out.geometry.iloc[0].exterior.coords[0]
    lon, lat = gcj02_to_wgs84(np.array([plan.geometry.iloc[0].exterior.coords[0][0]]),
                              np.array([plan.geometry.iloc[0].exterior.coords[0][1]]))  # fmt: skip
    assert moved == pytest.approx((lon[0], lat[0]), abs=1e-12)
    assert list(out["code"]) == list(plan["code"])  # properties kept


def test_no_crs_lonlat_is_assumed_wgs84(
    tmp_path: Path, write: Writer, plan: gpd.GeoDataFrame
) -> None:
    with pytest.warns(UserWarning, match="crs"):
        path = write(plan.set_crs(None, allow_override=True), tmp_path / "nocrs.zip")
    out = read_features(path)
    assert out.crs.to_epsg() == 4326
    assert out.geometry.iloc[0].equals(plan.geometry.iloc[0])  # same shape, any ring order


@pytest.mark.parametrize("suffix", [".geojson", ".json", ".zip", ".gpkg", ".kml"])
def test_read_every_format(
    tmp_path: Path, write: Writer, plan: gpd.GeoDataFrame, suffix: str
) -> None:
    out = read_features(write(plan, tmp_path / f"grids{suffix}"))
    assert len(out) == 6 and out.crs.to_epsg() == 4326
    assert [str(c) for c in out["code"]] == list(plan["code"])
    assert [int(h) for h in out["households"]] == [400] * 6
    assert out.geometry.iloc[4].equals(plan.geometry.iloc[4])


@pytest.mark.parametrize(
    "member", ["../evil.shp", "/etc/evil.shp", "plan/../../evil.shp", "C:\\evil.shp"]
)
def test_zip_path_traversal_refused(tmp_path: Path, member: str) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("plan/ok.txt", "x")
        archive.writestr(zipfile.ZipInfo(member), "boom")
    target = tmp_path / "evil.shp"
    with pytest.raises(ReadError, match=r"无法读取文件 / cannot read file: evil\.zip.*unsafe path"):
        read_features(path)
    assert not target.exists() and not Path("/etc/evil.shp").exists()


def test_zip_bomb_refused_before_unpacking(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("plan.shp", b"\0" * (8 * 2**20))  # 8 MB in ~8 KB
    with pytest.raises(ReadError, match=r"compression ratio: 'plan\.shp' inflates \d+ times"):
        read_features(path)
    assert path.stat().st_size < 50_000


def test_zip_without_layer(tmp_path: Path) -> None:
    path = tmp_path / "empty.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "nothing here")
    with pytest.raises(ReadError, match=r"no \.shp"):
        read_features(path)


def test_unknown_crs_option_refused(tmp_path: Path, write: Writer, plan: gpd.GeoDataFrame) -> None:
    path = write(plan, tmp_path / "grids.geojson")
    with pytest.raises(CRSError, match="unsupported CRS: 'EPSG:3857'"):
        read_features(path, crs="EPSG:3857")


@pytest.mark.parametrize(
    ("name", "content", "pattern"),
    [
        (
            "broken.geojson",
            b'{"type": "FeatureCollection", "features": [',
            "cannot read file: broken.geojson",
        ),
        ("broken.gpkg", b"not a geopackage", "cannot read file: broken.gpkg"),
        ("broken.zip", b"not a zip", "not a valid zip"),
        ("grids.csv", b"a,b\n1,2\n", "unsupported format .csv"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, pattern: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ReadError, match=pattern):
        read_features(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(
        ReadError,
        match=r"无法读取文件 / cannot read file: nope\.geojson: 文件不存在 / file not found",
    ):
        read_features(tmp_path / "nope.geojson")


def test_too_many_features_refused_before_loading(
    tmp_path: Path, write: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    cells = [box(106 + i * 0.001, 38, 106 + (i + 1) * 0.001, 38.001) for i in range(11)]
    gdf = gpd.GeoDataFrame({"code": [str(i) for i in range(11)]}, geometry=cells, crs=4326)
    path = write(gdf, tmp_path / "many.gpkg")

    def no_loading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was loaded although it has too many features")

    monkeypatch.setattr(pyogrio, "read_dataframe", no_loading)
    with pytest.raises(ReadError, match="要素过多 / too many features: 11 > 10"):
        read_features(path, max_features=10)


def test_too_many_vertices_and_bytes(tmp_path: Path, write: Writer) -> None:
    circle = Point(106, 38).buffer(0.01, quad_segs=64)
    gdf = gpd.GeoDataFrame({"code": ["1"]}, geometry=[circle], crs=4326)
    path = write(gdf, tmp_path / "round.geojson")
    with pytest.raises(ReadError, match="顶点过多 / too many vertices: 257 > 100"):
        read_features(path, max_vertices=100)
    with pytest.raises(ReadError, match="文件过大 / file too large"):
        read_features(path, max_bytes=100)


def test_projected_coordinates_without_crs_need_the_option(tmp_path: Path, write: Writer) -> None:
    gdf = gpd.GeoDataFrame({"code": ["1"]}, geometry=[box(500_000, 4_200_000, 501_000, 4_201_000)])
    with pytest.warns(UserWarning, match="crs"):
        path = write(gdf, tmp_path / "noprj.zip")
    with pytest.raises(CRSError, match=r"请指明文件的坐标系（可用：EPSG:4326.* / .*name its CRS"):
        read_features(path)
