"""Point-in-grid location: which grid a reported GPS point belongs to.

Rules (docs/geo.md):

* inside: the point intersects a grid (interior or boundary). A point on an edge or vertex
  shared by several grids goes to the grid with the **lowest id** (ids compared as numbers
  when all are integers, else as strings), so the answer never depends on input order.
* nearest: in no grid, but within ``tolerance_m`` metres of one: that grid (lowest id on a
  tie), flagged ``"nearest"`` with its distance.
* outside: farther than ``tolerance_m`` from every grid.

Bulk location avoids building a Shapely point per input: at construction an STRtree lists, for
each cell of a regular bucket grid over the grids' extent, the grids whose envelope meets it;
each point then takes its bucket's candidates and is tested with the prepared polygons
(``shapely.intersects_xy``). The nearest-grid fallback uses a second STRtree in a local metric
projection (``query_nearest`` with ``max_distance`` in metres).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geo.errors import GeoError
from geo.metric import LocalProjection

HOW_OUTSIDE: Final = 0
HOW_INSIDE: Final = 1
HOW_NEAREST: Final = 2
HOW_NAMES: Final = ("outside", "inside", "nearest")

#: Points are located in chunks to bound temporary memory.
_CHUNK: Final = 262_144
#: At most this many buckets in the bucket grid.
_MAX_BUCKETS: Final = 1 << 20
# Metres per degree of latitude, rounded down: a conservative degree margin for tolerances.
_M_PER_DEG_MIN: Final = 110_000.0


@dataclass(frozen=True)
class Location:
    """Where one point falls: ``grid_id`` (None when outside), ``how`` and ``distance_m``."""

    grid_id: int | str | None
    how: str
    distance_m: float


class GridLocator:
    """Locate WGS84 points in a set of grid polygons (WGS84 lon/lat)."""

    def __init__(
        self,
        geoms: Sequence[Polygon | MultiPolygon] | npt.NDArray[np.object_],
        ids: Sequence[int | str] | npt.NDArray[np.generic],
        tolerance_m: float = 30.0,
    ) -> None:
        geom_arr = np.asarray(geoms, dtype=object)
        id_list = list(ids)
        if len(geom_arr) != len(id_list):
            raise GeoError("geoms 与 ids 数量不一致 / geoms and ids differ in length")
        keep = ~shapely.is_missing(geom_arr) & ~shapely.is_empty(geom_arr)
        geom_arr = geom_arr[keep]
        id_list = [v for v, k in zip(id_list, keep, strict=True) if k]
        numeric = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in id_list)
        if numeric:
            id_arr: npt.NDArray[np.generic] = np.array(id_list, dtype=np.int64)
        else:
            id_arr = np.array([str(v) for v in id_list], dtype=object)
        order = np.argsort(id_arr, kind="stable")  # rank = position in id order
        self.ids = id_arr[order]
        self._missing_id: int | None = -1 if numeric else None
        self.geoms = geom_arr[order]
        self.tolerance_m = float(tolerance_m)
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)
        self._extent = shapely.total_bounds(self.geoms) if len(self.geoms) else np.zeros(4)
        self._proj = LocalProjection.around(self.geoms)
        self._geoms_m = self._proj.forward(self.geoms)
        self._tree_m = shapely.STRtree(self._geoms_m)
        self._build_buckets()

    def __len__(self) -> int:
        return len(self.geoms)

    # -- construction -----------------------------------------------------------------------
    def _build_buckets(self) -> None:
        """Bucket grid (CSR): for bucket b, ``_items[_start[b]:_start[b+1]]`` are the grid ranks
        whose envelope meets it, ascending (so the first hit is the lowest id)."""
        if not len(self.geoms):
            self._nx = self._ny = 0
            self._origin = (0.0, 0.0)
            self._size = (1.0, 1.0)
            self._start = np.zeros(1, dtype=np.int64)
            self._items = np.zeros(0, dtype=np.int32)
            self._near_bucket = np.zeros(0, dtype=bool)
            self._margin = (0.0, 0.0)
            return
        bounds = shapely.bounds(self.geoms)
        minx, miny = bounds[:, 0].min(), bounds[:, 1].min()
        maxx, maxy = bounds[:, 2].max(), bounds[:, 3].max()
        # Bucket side: half the median grid envelope, capped by the bucket budget.
        side = 0.5 * float(
            np.median(np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]))
        )
        width, height = max(maxx - minx, 1e-9), max(maxy - miny, 1e-9)
        side = max(side, np.sqrt(width * height / _MAX_BUCKETS), 1e-9)
        nx = max(int(np.ceil(width / side)), 1)
        ny = max(int(np.ceil(height / side)), 1)
        sx, sy = width / nx, height / ny
        ix, iy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        x0 = minx + ix.ravel() * sx
        y0 = miny + iy.ravel() * sy
        eps = 1e-6 * min(sx, sy)  # so a point on a bucket edge meets grids of both buckets
        boxes = shapely.box(x0 - eps, y0 - eps, x0 + sx + eps, y0 + sy + eps)
        bucket, rank = self.tree.query(boxes)  # envelope test only: a superset, never misses
        # Buckets with some grid envelope within the tolerance: only their points can be "nearest"
        mx, my = self._margin = self._margin_deg()
        near_b, _ = self.tree.query(shapely.box(x0 - mx, y0 - my, x0 + sx + mx, y0 + sy + my))
        self._near_bucket = np.zeros(nx * ny, dtype=bool)
        self._near_bucket[near_b] = True
        order = np.lexsort((rank, bucket))
        self._items = rank[order].astype(np.int32)
        self._start = np.searchsorted(bucket[order], np.arange(nx * ny + 1)).astype(np.int64)
        self._nx, self._ny = nx, ny
        self._origin = (float(minx), float(miny))
        self._size = (sx, sy)

    def _margin_deg(self) -> tuple[float, float]:
        """Conservative (lon, lat) degree margins covering ``tolerance_m`` metres anywhere in the
        grids' extent (a degree of longitude shrinks towards the poles)."""
        _, miny, _, maxy = self._extent
        lat_max = min(max(abs(miny), abs(maxy)) + 1.0, 89.0)
        margin_lat = self.tolerance_m / _M_PER_DEG_MIN
        return margin_lat / np.cos(np.radians(lat_max)), margin_lat

    def _bucket_of(
        self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
        """Bucket index of each point and whether the point is inside the bucket grid."""
        (ox, oy), (sx, sy) = self._origin, self._size
        fx = (x - ox) / sx
        fy = (y - oy) / sy
        # A point exactly on the far edge of the extent belongs to the last bucket.
        ix = np.where(fx == self._nx, self._nx - 1, np.floor(fx))
        iy = np.where(fy == self._ny, self._ny - 1, np.floor(fy))
        ok = (ix >= 0) & (ix < self._nx) & (iy >= 0) & (iy < self._ny)
        bucket = np.where(ok, ix, 0).astype(np.int64) * self._ny + np.where(ok, iy, 0).astype(
            np.int64
        )
        return bucket, ok

    # -- queries --------------------------------------------------------------------------------
    def _id(self, rank: int) -> int | str:
        value = self.ids[rank]
        return int(value) if isinstance(value, np.integer) else str(value)

    def locate(self, lon: float, lat: float) -> Location:
        """Locate one point (lon, lat in WGS84)."""
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        if len(hits):
            return Location(self._id(int(hits.min())), "inside", 0.0)
        ranks, dists = self._nearest(np.array([lon], dtype=float), np.array([lat], dtype=float))
        if ranks[0] >= 0:
            return Location(self._id(int(ranks[0])), "nearest", float(dists[0]))
        return Location(None, "outside", float("nan"))

    def locate_many(
        self, lons: npt.ArrayLike, lats: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.generic], npt.NDArray[np.int8]]:
        """Locate many points at once.

        Returns ``(ids, how)``: ids of the grids (-1 for integer ids, None for string ids when
        outside) and ``how`` codes (``HOW_INSIDE``, ``HOW_NEAREST``, ``HOW_OUTSIDE``; names in
        ``HOW_NAMES``). Same answers as :meth:`locate` point by point.
        """
        x = np.ascontiguousarray(lons, dtype=np.float64).ravel()
        y = np.ascontiguousarray(lats, dtype=np.float64).ravel()
        if x.shape != y.shape:
            raise GeoError("lons 与 lats 长度不一致 / lons and lats differ in length")
        ranks = np.full(len(x), -1, dtype=np.int64)
        for lo in range(0, len(x), _CHUNK):
            hi = min(lo + _CHUNK, len(x))
            ranks[lo:hi] = self._inside(x[lo:hi], y[lo:hi])
        how = np.where(ranks >= 0, HOW_INSIDE, HOW_OUTSIDE).astype(np.int8)
        miss = np.flatnonzero(ranks < 0)
        if len(miss):
            near, _ = self._nearest(x[miss], y[miss])
            found = near >= 0
            ranks[miss[found]] = near[found]
            how[miss[found]] = HOW_NEAREST
        return self._ids_of(ranks), how

    def _ids_of(self, ranks: npt.NDArray[np.int64]) -> npt.NDArray[np.generic]:
        if not len(self.ids):
            out = np.full(len(ranks), self._missing_id, dtype=object)
            return out.astype(np.int64) if self._missing_id is not None else out
        out = self.ids[np.maximum(ranks, 0)]
        if self._missing_id is None:
            out = out.astype(object)
            out[ranks < 0] = None
        else:
            out = np.where(ranks >= 0, out, -1)
        return out

    def _inside(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> np.ndarray:
        """Lowest rank of a grid intersecting each point, -1 when none (vectorised)."""
        out = np.full(len(x), -1, dtype=np.int64)
        if not self._nx:
            return out
        all_buckets, ok = self._bucket_of(x, y)
        pts = np.flatnonzero(ok)
        bucket = all_buckets[pts]
        first = self._start[bucket]
        count = self._start[bucket + 1] - first
        pair_pt = np.repeat(np.arange(len(pts)), count)
        offsets = np.arange(len(pair_pt)) - np.repeat(np.cumsum(count) - count, count)
        cand = self._items[np.repeat(first, count) + offsets]
        hit = shapely.intersects_xy(self.geoms[cand], x[pts][pair_pt], y[pts][pair_pt])
        hit_pt, hit_rank = pair_pt[hit], cand[hit]
        # Candidates are ascending per bucket: the first hit of each point is its lowest rank.
        is_first = np.ones(len(hit_pt), dtype=bool)
        is_first[1:] = hit_pt[1:] != hit_pt[:-1]
        out[pts[hit_pt[is_first]]] = hit_rank[is_first]
        return out

    def _nearest(
        self, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Nearest grid within tolerance_m (true metres): (rank or -1, distance or nan)."""
        ranks = np.full(len(x), -1, dtype=np.int64)
        dists = np.full(len(x), np.nan)
        if not len(self.geoms) or not len(x) or self.tolerance_m <= 0:
            return ranks, dists
        # Conservative prefilter in degrees: within the margin of the grids' extent, and not in
        # a bucket that has no grid within the tolerance.
        minx, miny, maxx, maxy = self._extent
        margin_lon, margin_lat = self._margin
        maybe = (
            (x >= minx - margin_lon)
            & (x <= maxx + margin_lon)
            & (y >= miny - margin_lat)
            & (y <= maxy + margin_lat)
        )
        bucket, in_grid = self._bucket_of(x, y)
        maybe &= ~in_grid | self._near_bucket[bucket]
        near = np.flatnonzero(maybe)
        if not len(near):
            return ranks, dists
        pts_m = self._proj.forward(shapely.points(x[near], y[near]))
        (pt_idx, rank), dist = self._tree_m.query_nearest(
            pts_m, max_distance=self.tolerance_m, return_distance=True, all_matches=True
        )
        keep = dist <= self.tolerance_m
        pt_idx, rank, dist = pt_idx[keep], rank[keep], dist[keep]
        order = np.lexsort((rank, pt_idx))  # per point: lowest rank among equal distances
        pt_idx, rank, dist = pt_idx[order], rank[order], dist[order]
        first = np.ones(len(pt_idx), dtype=bool)
        first[1:] = pt_idx[1:] != pt_idx[:-1]
        ranks[near[pt_idx[first]]] = rank[first]
        dists[near[pt_idx[first]]] = dist[first]
        return ranks, dists
