"""Measuring lon/lat geometries in metres.

* :func:`area_m2` and :class:`LocalScale` measure in the plane of the lon/lat coordinates (an
  affine local map scaled by the WGS84 ellipsoid), so that what is a valid coverage in degrees
  stays one in metres: used for every area and width of the validator.
* :class:`LocalProjection` (pyproj, Lambert azimuthal equal-area centred on the data) gives true
  distances: used by the locator's nearest-grid search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Geod, Transformer

GeomArray = npt.NDArray[np.object_]


def or_none(ok: npt.NDArray[np.bool_], geoms: GeomArray) -> GeomArray:
    """``geoms`` with None where ``ok`` is false (STRtree and shapely's functions skip None)."""
    return np.where(ok, geoms, np.full(len(geoms), None, dtype=np.object_))


@dataclass(frozen=True)
class LocalProjection:
    """Forward (lon/lat → metres) and inverse transforms around a centre point."""

    lon0: float
    lat0: float

    @classmethod
    def around(cls, *geom_arrays: GeomArray) -> LocalProjection:
        """Centre on the bounding box of all non-empty geometries given (lon/lat)."""
        boxes = [shapely.total_bounds(a) for a in geom_arrays if len(a)]
        boxes = [b for b in boxes if np.isfinite(b).all()]
        if not boxes:
            return cls(0.0, 0.0)
        b = np.array(boxes)
        return cls(
            float((b[:, 0].min() + b[:, 2].max()) / 2), float((b[:, 1].min() + b[:, 3].max()) / 2)
        )

    @property
    def crs(self) -> CRS:
        return CRS.from_proj4(
            f"+proj=laea +lat_0={self.lat0} +lon_0={self.lon0} +datum=WGS84 +units=m +no_defs"
        )

    def _transformer(self, inverse: bool) -> Transformer:
        return _cached_transformer(self.lon0, self.lat0, inverse)

    def forward(self, geoms: GeomArray) -> GeomArray:
        """lon/lat geometries → metres."""
        t = self._transformer(False)
        out = shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
        return cast(GeomArray, out)

    def inverse(self, geoms: GeomArray) -> GeomArray:
        """metres → lon/lat geometries."""
        t = self._transformer(True)
        out = shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
        return cast(GeomArray, out)


_TRANSFORMERS: dict[tuple[float, float, bool], Transformer] = {}


def _cached_transformer(lon0: float, lat0: float, inverse: bool) -> Transformer:
    key = (lon0, lat0, inverse)
    found = _TRANSFORMERS.get(key)
    if found is None:
        laea = LocalProjection(lon0, lat0).crs
        src, dst = (laea, "EPSG:4326") if inverse else ("EPSG:4326", laea)
        found = Transformer.from_crs(src, dst, always_xy=True)
        if len(_TRANSFORMERS) > 64:
            _TRANSFORMERS.clear()
        _TRANSFORMERS[key] = found
    return found


_GEOD = Geod(ellps="WGS84")


def _radii(lat_deg: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], ...]:
    """Metres per radian of latitude (meridional radius M) and of longitude (N cos φ)."""
    phi = np.radians(lat_deg)
    w = 1.0 - _GEOD.es * np.sin(phi) ** 2
    meridional = _GEOD.a * (1.0 - _GEOD.es) / w**1.5
    normal = _GEOD.a / np.sqrt(w)
    return meridional, normal * np.cos(phi)


def area_m2(geoms: GeomArray) -> npt.NDArray[np.float64]:
    """Areas in m² of lon/lat geometries, measured in the plane of their coordinates.

    A grid plan's topology is planar in lon/lat (as GeoJSON is): a sliver between two edges
    that are collinear in degrees has no area. So the area in square degrees is scaled by the
    WGS84 ellipsoid's metres per degree at each geometry's own latitude (an affine local
    equal-area map), rather than projecting vertices, which would bend straight edges and give
    slivers a false area. For a grid of a few km the error is below 0.01 %.
    """
    arr = np.asarray(geoms, dtype=object)
    if not len(arr):
        return np.zeros(0)
    bounds = shapely.bounds(arr)
    m_lat, m_lon = _radii(np.nan_to_num((bounds[:, 1] + bounds[:, 3]) / 2.0))
    area = np.nan_to_num(shapely.area(arr)) * m_lat * m_lon * (np.pi / 180.0) ** 2
    return cast(npt.NDArray[np.float64], area)


@dataclass(frozen=True)
class LocalScale:
    """An affine map from lon/lat to metres around (lon0, lat0): straight edges stay straight,
    so coverage topology is unchanged. Used for widths (buffers) and reading order."""

    lon0: float
    lat0: float

    @classmethod
    def around(cls, *geom_arrays: GeomArray) -> LocalScale:
        centre = LocalProjection.around(*geom_arrays)
        return cls(centre.lon0, centre.lat0)

    def forward(self, geoms: GeomArray) -> GeomArray:
        m_lat, m_lon = _radii(np.array([self.lat0]))
        kx, ky = float(m_lon[0]) * np.pi / 180.0, float(m_lat[0]) * np.pi / 180.0
        offset = np.array([self.lon0, self.lat0])
        scale = np.array([kx, ky])
        return cast(GeomArray, shapely.transform(geoms, lambda xy: (xy - offset) * scale))
