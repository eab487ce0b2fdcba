"""Grid codes: community code (12 digits) + 3-digit sequence, stable across re-imports.

Numbering rule (documented in docs/geo.md): inside a community the grids still needing a number
are cut into horizontal bands of height √(median grid area of the community), counted from the
community's northern edge; bands are numbered north→south and, within a band, grids west→east
by the longitude of their representative point (``point_on_surface``).
"""

from __future__ import annotations

from collections import defaultdict

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import GeoError
from geo.metric import GeomArray, LocalScale, area_m2
from geo.parents import (
    GRID_CODE_DIGITS,
    column_codes,
    is_grid_code,
    match_parents,
    parent_code_column,
)

#: Minimum intersection-over-union for a new grid to inherit a previous grid's code.
IOU_MATCH = 0.9
SEQUENCE_DIGITS = GRID_CODE_DIGITS - 12


def _geoms(gdf: gpd.GeoDataFrame) -> GeomArray:
    if gdf.crs is not None and not gdf.crs.is_geographic:
        gdf = gdf.to_crs("EPSG:4326")
    return np.asarray(gdf.geometry.values, dtype=object)


def _iou_matches(
    new_m: GeomArray, old_m: GeomArray, threshold: float
) -> list[tuple[float, int, int]]:
    """(iou, new index, old index) for every pair with IoU ≥ threshold, best first."""
    if not len(new_m) or not len(old_m):
        return []
    tree = shapely.STRtree(old_m)
    a, b = tree.query(new_m, predicate="intersects")
    if not len(a):
        return []
    inter = shapely.area(shapely.intersection(new_m[a], old_m[b]))
    union = shapely.area(new_m[a]) + shapely.area(old_m[b]) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    keep = iou >= threshold
    found = [
        (float(v), int(i), int(j)) for v, i, j in zip(iou[keep], a[keep], b[keep], strict=True)
    ]
    return sorted(found, key=lambda t: (-t[0], t[1], t[2]))


def reading_order(points_m: GeomArray, north_edge: float, band_height: float) -> np.ndarray:
    """Indices of ``points_m`` (metres) in band order: north→south bands, west→east inside."""
    x = shapely.get_x(points_m)
    y = shapely.get_y(points_m)
    band = np.floor((north_edge - y) / band_height) if band_height > 0 else np.zeros(len(x))
    return np.lexsort((-y, x, band))


def assign_codes(
    grids: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame,
    *,
    code_field: str = "code",
    previous: gpd.GeoDataFrame | None = None,
    parent_field: str = "parent_code",
) -> gpd.GeoDataFrame:
    """Return a copy of ``grids`` with ``code_field`` filled for every grid in a parent.

    * A valid code (15 digits starting with the code of the community it is in) is kept.
    * Otherwise, a grid matching a ``previous`` grid with IoU ≥ 0.9 takes that grid's code
      (when it belongs to the same community and is not already taken).
    * Otherwise the grid gets the community code + the next free 3-digit number: numbers
      continue after the highest number taken in this plan or in ``previous`` (a retired code
      is never reissued), in the reading order of :func:`reading_order`.

    Grids in no parent keep their (missing or invalid) code; ``validate_plan`` reports them.
    Raises :class:`GeoError` when a community would need more than 999 grids.
    """
    geoms = _geoms(grids)
    parent_geoms = _geoms(parents)
    parent_codes = column_codes(parents, parent_code_column(parents, code_field))
    codes = column_codes(grids, code_field)
    usable = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    # Topology (parents, IoU) in lon/lat; the reading order in metres.
    proj = LocalScale.around(geoms[usable], parent_geoms)
    gm = np.where(usable, geoms, None)
    parent_of = match_parents(
        codes, column_codes(grids, parent_field), gm, parent_codes, parent_geoms
    )

    taken: set[str] = set()
    needs: list[int] = []
    for i, code in enumerate(codes):
        k = parent_of[i]
        parent_code = parent_codes[k] if k >= 0 else None
        if parent_code is None:
            continue
        if is_grid_code(code) and code is not None and code.startswith(parent_code):
            if code in taken:  # a duplicate keeps the code once only
                needs.append(i)
            else:
                taken.add(code)
        else:
            needs.append(i)

    old_codes: list[str | None] = []
    if previous is not None and len(previous):
        old_codes = column_codes(previous, code_field)
        taken.update(c for c in old_codes if is_grid_code(c))
        old_geoms = _geoms(previous)
        old_ok = ~shapely.is_missing(old_geoms) & ~shapely.is_empty(old_geoms)
        old_m = np.where(old_ok, old_geoms, None)
        need_ok = [i for i in needs if usable[i]]
        kept = {c for i, c in enumerate(codes) if c in taken and i not in needs}
        used_old: set[int] = set()
        done: set[int] = set()
        for _, a, b in _iou_matches(gm[need_ok], old_m, IOU_MATCH):
            i, old_code = need_ok[a], old_codes[b]
            parent_code = parent_codes[parent_of[i]]
            if (
                i in done
                or b in used_old
                or old_code is None
                or not is_grid_code(old_code)
                or old_code in kept
                or parent_code is None
                or not old_code.startswith(parent_code)
            ):
                continue
            codes[i] = old_code
            kept.add(old_code)
            done.add(i)
            used_old.add(b)
        needs = [i for i in needs if i not in done]

    next_number: dict[str, int] = defaultdict(int)
    for code in taken:
        community, seq = code[:-SEQUENCE_DIGITS], int(code[-SEQUENCE_DIGITS:])
        next_number[community] = max(next_number[community], seq)
    by_parent: dict[int, list[int]] = defaultdict(list)
    for i in needs:
        by_parent[int(parent_of[i])].append(i)
    for k, rows in sorted(by_parent.items()):
        parent_code = parent_codes[k]
        if parent_code is None or len(parent_code) != 12 or not parent_code.isdigit():
            raise GeoError(
                f"上级编码应为 12 位数字 / a parent code must be 12 digits: {parent_code!r}"
            )
        rows_arr = np.array(rows)
        ok = usable[rows_arr]
        rows_arr = rows_arr[ok]
        members = np.flatnonzero(parent_of == k)
        members = members[usable[members]]
        areas = area_m2(gm[members])
        band = float(np.sqrt(np.median(areas))) if len(areas) else 0.0
        north = float(shapely.bounds(proj.forward(parent_geoms[k : k + 1]))[0, 3])
        points_m = proj.forward(shapely.point_on_surface(gm[rows_arr]))
        order = reading_order(points_m, north, band)
        for i in rows_arr[order]:
            next_number[parent_code] += 1
            seq = next_number[parent_code]
            if seq >= 10**SEQUENCE_DIGITS:
                raise GeoError(
                    f"社区网格编号已满 / no grid numbers left in community {parent_code} (max 999)"
                )
            codes[i] = f"{parent_code}{seq:0{SEQUENCE_DIGITS}d}"
    out = grids.copy()
    out[code_field] = codes
    return out
