"""GPS tracks in metres: path length, thinning for the web map, and coverage of an area.

Arrays in, arrays out (numpy and Shapely 2), no per-point Python loops. Lengths are great-circle
(haversine on the mean Earth radius); simplification and coverage work in a local metric plane
(:class:`geo.metric.LocalProjection`, Lambert azimuthal equal-area centred on the data: areas are
true and distances within a county's few tens of km are off by far less than a centimetre per
50 m), so a 5 m tolerance or a 50 m reach means metres on the ground at any latitude.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from geo.metric import LocalProjection

FloatArray = npt.NDArray[np.float64]

#: mean Earth radius (IUGG), metres
EARTH_RADIUS_M: Final = 6_371_008.8
#: what a track on the web map may be off by (about a pavement's width)
WEB_TOLERANCE_M: Final = 5.0
#: how far from the track a place counts as seen on a patrol
COVERAGE_REACH_M: Final = 50.0


def _f64(values: npt.ArrayLike) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distances in metres between (lon1, lat1) and (lon2, lat2), element-wise."""
    phi1, phi2 = np.radians(_f64(lat1)), np.radians(_f64(lat2))
    dphi = phi2 - phi1
    dlam = np.radians(_f64(lon2) - _f64(lon1))
    h = np.sin(dphi / 2.0) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2.0) ** 2
    out: FloatArray = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return out


def step_lengths_m(lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
    """The length of each step of a path: ``n - 1`` distances for ``n`` positions."""
    x, y = _f64(lon), _f64(lat)
    if x.size < 2:
        return np.zeros(0)
    return haversine_m(x[:-1], y[:-1], x[1:], y[1:])


def path_length_m(lon: npt.ArrayLike, lat: npt.ArrayLike) -> float:
    """The length in metres of the path through the positions in the order given."""
    return float(step_lengths_m(lon, lat).sum())


def _line_or_point(x: FloatArray, y: FloatArray) -> BaseGeometry:
    xy = np.column_stack([x, y])
    if len(xy) == 1 or (len(xy) > 1 and np.all(xy == xy[0])):
        return shapely.points(xy[0])
    return shapely.linestrings(xy)


def simplify_track(
    lon: npt.ArrayLike, lat: npt.ArrayLike, tolerance_m: float = WEB_TOLERANCE_M
) -> tuple[FloatArray, FloatArray]:
    """The track thinned for the web map: no position of the original lies further than
    ``tolerance_m`` from the simplified line (Douglas-Peucker in a local metric plane). The
    first and last positions are kept exactly; fewer than three positions come back as given."""
    x, y = _f64(lon), _f64(lat)
    if x.size < 3 or tolerance_m <= 0:
        return x.copy(), y.copy()
    line = shapely.linestrings(np.column_stack([x, y]))
    proj = LocalProjection.around(np.array([line], dtype=object))
    metric = proj.forward(np.array([line], dtype=object))
    simple = shapely.simplify(metric, tolerance_m, preserve_topology=False)
    back = proj.inverse(simple)[0]
    coords = shapely.get_coordinates(back)
    if len(coords) < 2:
        return x[[0, -1]].copy(), y[[0, -1]].copy()
    # the ends exactly as measured (the inverse projection is only exact to a few nm)
    coords[0] = (x[0], y[0])
    coords[-1] = (x[-1], y[-1])
    return coords[:, 0].copy(), coords[:, 1].copy()


#: vertices per piece of a long track when it is buffered (see :func:`_reach`)
_PIECE = 64


def _reach(track: BaseGeometry, reach_m: float) -> BaseGeometry:
    """Everything within ``reach_m`` of ``track`` (metric). A day's walk crosses itself
    thousands of times, and GEOS buffers such a line slowly (~0.3 s for 2,880 positions); the
    union of the buffers of its pieces is the same area, ten times faster."""
    coords = shapely.get_coordinates(track)
    if len(coords) <= _PIECE + 1:
        return shapely.buffer(track, reach_m, quad_segs=8)
    starts = np.arange(0, len(coords) - 1, _PIECE)
    pieces = [shapely.linestrings(coords[i : i + _PIECE + 1]) for i in starts]
    buffers = shapely.buffer(np.asarray(pieces, dtype=object), reach_m, quad_segs=8)
    return shapely.union_all(buffers)


def coverage_share(
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    area: BaseGeometry | None,
    reach_m: float = COVERAGE_REACH_M,
) -> float | None:
    """The share (0..1) of ``area`` (a lon/lat polygon or multipolygon, e.g. the union of a
    worker's grids) lying within ``reach_m`` metres of the track through the positions.

    ``None`` when there is no area to cover (none given, empty, or of no extent); 0.0 for a
    track without positions."""
    if area is None or area.is_empty:
        return None
    x, y = _f64(lon), _f64(lat)
    proj = LocalProjection.around(np.array([area], dtype=object))
    area_m = proj.forward(np.array([area], dtype=object))[0]
    total = float(shapely.area(area_m))
    if total <= 0.0:
        return None
    if x.size == 0:
        return 0.0
    track = proj.forward(np.array([_line_or_point(x, y)], dtype=object))[0]
    # a metre of thinning first: jitter while standing still adds vertices, not reach
    track = shapely.simplify(track, 1.0, preserve_topology=False)
    reach = _reach(track, reach_m)
    covered = float(shapely.area(shapely.intersection(area_m, reach)))
    return min(1.0, max(0.0, covered / total))
