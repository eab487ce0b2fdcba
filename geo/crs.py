"""Coordinate reference systems: parsing the ``--crs`` option, GCJ-02 and reprojection to WGS84.

WGS84 (EPSG:4326) and CGCS2000 (EPSG:4490) are treated as the same datum (they differ by a few
centimetres). GCJ-02 is the obfuscated datum of AMap/Tencent maps; its public forward formula
and an iterative inverse are implemented here with numpy.
"""

from __future__ import annotations

import re
from typing import Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS

from geo.errors import CRSError

GCJ02: Final = "gcj02"
WGS84: Final = "EPSG:4326"
CGCS2000: Final = "EPSG:4490"
#: CGCS2000 3-degree Gauss-Krüger zones: 4513-4533 (zones 25-45, zone number in the false
#: easting) and 4534-4554 (the same zones by central meridian, 75°E-135°E).
GK_ZONES: Final = range(4513, 4555)
ACCEPTED: Final = "EPSG:4326, EPSG:4490, EPSG:4513…EPSG:4554 (CGCS2000 3° Gauss-Krüger), gcj02"
ACCEPTED_ZH: Final = (
    "EPSG:4326（WGS84 经纬度）、EPSG:4490（CGCS2000 经纬度）、"
    "EPSG:4513…EPSG:4554（CGCS2000 3 度带高斯-克吕格投影）、gcj02（国测局坐标）"
)

_EPSG_RE = re.compile(r"^(?:EPSG:)?(\d{4,5})$", re.IGNORECASE)
_GCJ_NAMES = {"gcj02", "gcj-02", "gcj_02", "gcj"}

# Krasovsky 1940 ellipsoid, as used by the public GCJ-02 formula.
_A: Final = 6378245.0
_EE: Final = 0.00669342162296594323

FloatArray = npt.NDArray[np.float64]


def parse_crs(text: str | None) -> str | None:
    """Normalise a CRS option to ``"EPSG:nnnn"`` or ``"gcj02"``; ``None``/blank stays ``None``.

    Raises :class:`CRSError` for anything that is not accepted.
    """
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    if value.lower() in _GCJ_NAMES:
        return GCJ02
    match = _EPSG_RE.match(value)
    if match:
        code = int(match.group(1))
        if code in (4326, 4490) or code in GK_ZONES:
            return f"EPSG:{code}"
    raise CRSError(
        f"不支持的坐标系 {value}，可用：{ACCEPTED_ZH} / unsupported CRS: {value!r}; "
        f"accepted: {ACCEPTED}"
    )


def _out_of_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS84 (lon, lat); zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: npt.ArrayLike, lat: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """WGS84 → GCJ-02 by the public formula (vectorised; no offset outside China)."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    dlon, dlat = _gcj_delta(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 → WGS84 by fixed-point iteration of the forward formula.

    Converges to ``tol_deg`` (1e-10° ≈ 0.01 mm), far inside the 0.01 m requirement.
    """
    g_lon = np.asarray(lon, dtype=np.float64)
    g_lat = np.asarray(lat, dtype=np.float64)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iter):
        f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
        e_lon, e_lat = f_lon - g_lon, f_lat - g_lat
        w_lon = w_lon - e_lon
        w_lat = w_lat - e_lat
        if e_lon.size == 0 or max(np.abs(e_lon).max(), np.abs(e_lat).max()) < tol_deg:
            break
    return w_lon, w_lat


def _gcj02_coords_to_wgs84(coords: FloatArray) -> FloatArray:
    lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def looks_like_lonlat(gdf: gpd.GeoDataFrame) -> bool:
    """True when every coordinate is a plausible longitude/latitude."""
    if len(gdf) == 0 or gdf.geometry.is_empty.all():
        return True
    minx, miny, maxx, maxy = gdf.total_bounds
    return bool(minx >= -180.0 and maxx <= 180.0 and miny >= -90.0 and maxy <= 90.0)


def to_wgs84(gdf: gpd.GeoDataFrame, crs: str | None) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4326.

    ``crs`` (the user's option, see :func:`parse_crs`) overrides the CRS declared by the file.
    EPSG:4490 is relabelled as 4326 without moving coordinates; Gauss-Krüger zones and any other
    CRS declared by the file go through pyproj; ``gcj02`` applies the iterative inverse to every
    coordinate. With neither an option nor a declared CRS, lon/lat-looking coordinates are taken
    as EPSG:4326, anything else raises :class:`CRSError`.
    """
    option = parse_crs(crs)
    out = gdf.copy()
    if option == GCJ02:
        moved = shapely.transform(np.asarray(out.geometry.values), _gcj02_coords_to_wgs84)
        return out.set_geometry(gpd.GeoSeries(moved, index=out.index, crs=WGS84))
    source: CRS | None = CRS.from_user_input(option) if option else None
    if source is None and out.crs is not None:
        source = CRS.from_user_input(out.crs)
    if source is None:
        if looks_like_lonlat(out):
            return out.set_crs(WGS84, allow_override=True)
        raise CRSError(
            f"文件没有坐标系，且坐标不像经纬度：请指明文件的坐标系（可用：{ACCEPTED_ZH}） / the "
            f"file has no CRS and its coordinates are not lon/lat: name its CRS (accepted: "
            f"{ACCEPTED})"
        )
    epsg = source.to_epsg()
    if epsg in (4326, 4490) or (
        source.is_geographic and source.datum is not None and source.datum.name.startswith("China")
    ):
        return out.set_crs(WGS84, allow_override=True)
    out = out.set_crs(source, allow_override=True)
    return _on_the_globe(out.to_crs(WGS84), source)


def _on_the_globe(gdf: gpd.GeoDataFrame, source: CRS) -> gpd.GeoDataFrame:
    """``gdf`` reprojected from ``source``, if every coordinate came out on the globe. Degrees
    declared as a Gauss-Krüger zone (or metres of another zone) project to infinity or far off
    the earth, and the validation's geometry repair then failed with a GEOSException (a 500):
    the file's coordinates do not fit the CRS it was declared in, which is the CRS error an
    admin can act on."""
    coords = shapely.get_coordinates(np.asarray(gdf.geometry.values))
    if coords.size == 0 or (
        np.isfinite(coords).all()
        and (np.abs(coords[:, 0]) <= 180.0).all()
        and (np.abs(coords[:, 1]) <= 90.0).all()
    ):
        return gdf
    name = f"EPSG:{source.to_epsg()}" if source.to_epsg() else source.name
    raise CRSError(
        f"坐标不符合所声明的坐标系 {name}：请确认文件的坐标系（可用：{ACCEPTED_ZH}） / the "
        f"coordinates do not fit the declared CRS {name} (lon/lat degrees declared as a "
        f"projected zone, or a zone number missing from the eastings?): name the file's CRS "
        f"(accepted: {ACCEPTED})"
    )
