"""Reading grid and boundary files (GeoJSON, GeoPackage, KML, zipped Shapefile) into WGS84.

Every limit is checked before the expensive step: file size first, then the feature count from
the file's metadata (``pyogrio.read_info``), then vertices after loading.
"""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
import shapely.errors

from geo.crs import parse_crs, to_wgs84
from geo.errors import ReadError

#: What pyogrio/GDAL raise for a file they cannot read.
_OGR_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.FieldError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
    OSError,
    ValueError,
    shapely.errors.ShapelyError,  # e.g. a ring that does not close
)

#: File name suffixes read directly; ``.zip`` holds a Shapefile (or one of these).
DIRECT_SUFFIXES = (".geojson", ".json", ".gpkg", ".kml")
SUPPORTED_SUFFIXES = (*DIRECT_SUFFIXES, ".zip")

MAX_FEATURES = 200_000
MAX_VERTICES = 5_000_000
MAX_BYTES = 200 * 2**20
#: A zip's members (declared sizes, checked before anything is unpacked; Python's zipfile never
#: writes more than a member declares): how many, and how much a member above RATIO_FROM bytes
#: may inflate (a Shapefile's .dbf, space-padded, compresses some 10–50 times; a bomb of zeros
#: about 1,000).
MAX_MEMBERS = 1_000
MAX_RATIO = 200
RATIO_FROM = 2**20


def _cannot_read(path: Path | str, why: str) -> ReadError:
    return ReadError(f"无法读取文件 / cannot read file: {Path(path).name}: {why}")


#: Where the files of this process live on disk: uploads and zip members are read from there.
_TEMP_PATH = re.compile(re.escape(str(Path(tempfile.gettempdir()))) + r"[^\s'\"]*")


def _reason(exc: BaseException, path: Path, source: Path, root: Path | None = None) -> str:
    """The library's message about ``path`` with every file-system path replaced by names the
    user knows: the file they gave (``source``), or ``<their zip>/<member>``. A server's temp
    directory (where an upload or a zip's content is put) never reaches a message."""
    text = str(exc)
    shown = {str(path): source.name if root is None else f"{source.name}/{_member(path, root)}"}
    if root is not None:
        shown[str(root)] = source.name
    shown[str(source)] = source.name
    for raw, name in sorted(shown.items(), key=lambda kv: -len(kv[0])):
        for form in {raw, str(Path(raw).resolve())}:
            text = text.replace(form, name)
    return _TEMP_PATH.sub(lambda m: Path(m.group(0)).name, text)


def _member(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def _unsafe_member(name: str) -> bool:
    """True for a zip member that would land outside the extraction directory."""
    if not name or "\x00" in name:
        return True
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.drive or pure.root or ".." in pure.parts:
            return True
    return False


def _check_zip(path: Path, max_bytes: int) -> list[zipfile.ZipInfo]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _cannot_read(
            path, f"不是有效的 zip / not a valid zip ({_reason(exc, path, path)})"
        ) from exc
    with archive:
        members = archive.infolist()
    for info in members:
        if _unsafe_member(info.filename):
            raise _cannot_read(
                path,
                f"zip 内含不安全的路径 / unsafe path in zip (absolute or '..'): {info.filename!r}",
            )
        mode = info.external_attr >> 16
        if mode & 0o170000 == 0o120000:
            raise _cannot_read(path, f"zip 内含符号链接 / symlink in zip: {info.filename!r}")
    if len(members) > MAX_MEMBERS:
        raise _cannot_read(
            path, f"zip 内文件过多 / too many members in zip: {len(members)} > {MAX_MEMBERS}"
        )
    total = sum(info.file_size for info in members)
    if total > max_bytes:
        raise _cannot_read(
            path, f"解压后过大 / too large once unzipped: {total} > {max_bytes} bytes"
        )
    for info in members:
        ratio = info.file_size // max(info.compress_size, 1)
        if info.file_size > RATIO_FROM and ratio > MAX_RATIO:
            raise _cannot_read(
                path,
                f"zip 压缩比异常 / suspicious compression ratio: {info.filename!r} inflates "
                f"{ratio} times, at most {MAX_RATIO}",
            )
    return members


def _pick_from_dir(root: Path, source: Path) -> Path:
    candidates = [
        p
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__MACOSX" not in p.parts and not p.name.startswith("._")
    ]
    shapefiles = [p for p in candidates if p.suffix.lower() == ".shp"]
    others = [p for p in candidates if p.suffix.lower() in DIRECT_SUFFIXES]
    found = shapefiles or others
    if not found:
        raise _cannot_read(
            source, "zip 中没有 .shp 或其他可读文件 / no .shp (or other supported file) in zip"
        )
    if len(found) > 1:
        names = ", ".join(str(p.relative_to(root)) for p in found)
        raise _cannot_read(
            source, f"zip 中有多个图层文件，请只放一个 / more than one layer file in zip: {names}"
        )
    return found[0]


def _layers(path: Path, source: Path, root: Path | None) -> list[str]:
    try:
        layers = pyogrio.list_layers(path)
    except _OGR_ERRORS as exc:
        raise _cannot_read(source, _reason(exc, path, source, root)) from exc
    names = [str(name) for name, geom_type in layers if geom_type is not None]
    if not names:
        raise _cannot_read(source, "文件中没有几何图层 / no geometry layer in file")
    # KML folders become layers: read them all. Other formats: the first geometry layer.
    return names if path.suffix.lower() == ".kml" else names[:1]


def _read_layers(
    path: Path, source: Path, max_features: int, root: Path | None = None
) -> gpd.GeoDataFrame:
    """The layers of ``path`` (``source`` itself, or a member of the zip ``source`` unpacked
    under ``root``); every message names ``source``, never a path on the server."""
    layers = _layers(path, source, root)
    counted = 0
    for layer in layers:
        try:
            info = pyogrio.read_info(path, layer=layer, force_feature_count=True)
        except _OGR_ERRORS as exc:
            raise _cannot_read(source, _reason(exc, path, source, root)) from exc
        counted += max(int(info["features"]), 0)
        if counted > max_features:
            raise _too_many(source, counted, max_features)
    frames = []
    for layer in layers:
        try:
            frames.append(pyogrio.read_dataframe(path, layer=layer))
        except _OGR_ERRORS as exc:
            raise _cannot_read(source, _reason(exc, path, source, root)) from exc
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if path.suffix.lower() in _JSON_SUFFIXES:
        _restore_nul(path, source, frame)
    gdf = gpd.GeoDataFrame(frame, geometry=frame.geometry.name, crs=frames[0].crs)
    if len(gdf) > max_features:
        raise _too_many(source, len(gdf), max_features)
    return gdf


_JSON_SUFFIXES = (".geojson", ".json")
_ESCAPED_NUL = re.compile(rb"\\u0000")


def _restore_nul(path: Path, source: Path, frame: pd.DataFrame) -> None:
    """Put back the text GDAL cut short: it ends a property at an escaped NUL (``"a\\u0000b"``
    is read as ``"a"``), so the plan check would never see it and the rest would be silently
    lost. A GeoJSON that holds one is read again for its properties, and each string holding a
    NUL is restored in ``frame`` (row for feature) for the checks to refuse. Files without one
    (all but the hostile) cost a scan of their bytes."""
    with path.open("rb") as fh:
        if not _ESCAPED_NUL.search(fh.read()):
            return
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, RecursionError) as exc:
        raise _cannot_read(source, f"JSON 无效 / invalid JSON: {str(exc)[:200]}") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list) or len(features) != len(frame):
        raise _cannot_read(source, "含 NUL 字符 / holds NUL characters (\\u0000)")
    for row, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            continue
        for key, value in props.items():
            if isinstance(value, str) and "\x00" in value and key in frame.columns:
                frame.iat[row, frame.columns.get_loc(key)] = value


def _too_many(source: Path, count: int, limit: int) -> ReadError:
    return _cannot_read(
        source, f"要素过多 / too many features: {count} > {limit}，请拆分文件 / split the file"
    )


def read_features(
    path: str | Path,
    crs: str | None = None,
    *,
    max_features: int = MAX_FEATURES,
    max_vertices: int = MAX_VERTICES,
    max_bytes: int = MAX_BYTES,
) -> gpd.GeoDataFrame:
    """Read a grid file into a GeoDataFrame in EPSG:4326, properties kept as columns.

    ``crs`` (see :func:`geo.crs.parse_crs`) overrides the CRS declared by the file. Raises
    :class:`ReadError` for an unreadable, unsafe or oversized file and :class:`CRSError` for an
    unknown or missing CRS.
    """
    option = parse_crs(crs)  # refuse a bad option before touching the file
    source = Path(path)
    if not source.is_file():
        raise _cannot_read(source, "文件不存在 / file not found")
    suffix = source.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _cannot_read(
            source,
            f"不支持的格式 / unsupported format {suffix or '(none)'}; "
            f"可用 / accepted: {', '.join(SUPPORTED_SUFFIXES)}",
        )
    size = source.stat().st_size
    if size > max_bytes:
        raise _cannot_read(source, f"文件过大 / file too large: {size} > {max_bytes} bytes")
    if suffix == ".zip":
        _check_zip(source, max_bytes)
        with tempfile.TemporaryDirectory(prefix="wangge-geo-") as tmp:
            root = Path(tmp)
            try:
                with zipfile.ZipFile(source) as archive:
                    archive.extractall(root)
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                raise _cannot_read(source, _reason(exc, root, source, root)) from exc
            gdf = _read_layers(_pick_from_dir(root, source), source, max_features, root)
    else:
        gdf = _read_layers(source, source, max_features)
    geoms = np.asarray(gdf.geometry.values)
    vertices = int(shapely.get_num_coordinates(geoms).sum())
    if vertices > max_vertices:
        raise _cannot_read(
            source, f"顶点过多 / too many vertices: {vertices} > {max_vertices}，请简化 / simplify"
        )
    if shapely.has_z(geoms).any():
        gdf = gdf.set_geometry(gpd.GeoSeries(shapely.force_2d(geoms), index=gdf.index, crs=gdf.crs))
    return to_wgs84(gdf, option)


def read_boundaries(path: str | Path, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read a parent (community/town) boundary file; same rules as :func:`read_features`."""
    return read_features(path, crs)
