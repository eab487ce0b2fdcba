"""Grid codes: community code (12 digits) + 3-digit sequence, stable across re-imports.

Codes are printed on signs and shared with other systems, so a code a plan supplies is never
rewritten unless the caller asks for it (``renumber=True``); every code given or changed is
listed (:class:`CodeChange`). Without ``renumber`` a malformed or duplicated code stays as it is
and :func:`geo.validate.validate_plan` reports it (``bad_code``, ``duplicate_code``).

Numbering rule (documented in docs/geo.md): inside a community the grids still needing a number
are cut into horizontal bands of height √(median grid area of the community), counted from the
community's northern edge; bands are numbered north→south and, within a band, grids west→east
by the longitude of their representative point (``point_on_surface``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geo.errors import GeoError
from geo.metric import GeomArray, LocalScale, area_m2, or_none
from geo.parents import (
    GRID_CODE_DIGITS,
    column_codes,
    is_grid_code,
    match_parents,
    parent_code_column,
)

#: Why a grid got a code: it had none, its code was malformed / not under its community, or
#: another feature had the same code (the first keeps it).
REASONS = ("missing", "bad_code", "duplicate_code")
#: Where the code came from: a grid of ``previous`` it matches, or the next free number.
SOURCES = ("previous_plan", "new_number")

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


@dataclass(frozen=True)
class CodeChange:
    """A grid that got a code: ``row`` (0-based), its ``old`` code (None when it had none),
    the ``new`` one, ``reason`` (:data:`REASONS`) and ``source`` (:data:`SOURCES`)."""

    row: int
    old: str | None
    new: str
    reason: str
    source: str

    @property
    def renumbered(self) -> bool:
        """A code the plan supplied was replaced (only with ``renumber=True``)."""
        return self.reason != "missing"

    def to_dict(self, feature: str) -> dict[str, Any]:
        return {
            "feature": feature,
            "row": self.row + 1,
            "old": self.old,
            "new": self.new,
            "reason": self.reason,
            "source": self.source,
        }


@dataclass(frozen=True)
class CodeMove:
    """A supplied code that ``previous`` had on another place: the grid at ``row`` (0-based)
    has ``code``, whose previous geometry ``old_geom`` overlaps it with IoU ``iou`` (below
    :data:`IOU_MATCH`); ``was`` is the previous code of the place the grid now covers (the
    previous grid it overlaps most), or None when it covers no previous grid."""

    row: int
    code: str
    iou: float
    was: str | None
    old_geom: Any


@dataclass
class Coding:
    """The coded copy of a plan and what changed (in row order); ``moved``: supplied codes
    that name another place than in ``previous`` (reported as ``code_moved``)."""

    grids: gpd.GeoDataFrame
    changes: list[CodeChange]
    moved: list[CodeMove] = field(default_factory=list)


def _moved_codes(
    codes: list[str | None],
    rows: list[int],
    gm: GeomArray,
    old_codes: list[str | None],
    old_m: GeomArray,
) -> list[CodeMove]:
    """The supplied codes (``rows``) that ``previous`` had on a place they do not cover with
    IoU ≥ IOU_MATCH. Duties follow the code, so such a plan would silently hand a worker
    another area."""
    old_at = {c: j for j, c in enumerate(old_codes) if c is not None and old_m[j] is not None}
    pairs = [(i, old_at[c]) for i in rows if (c := codes[i]) in old_at and gm[i] is not None]
    if not pairs:
        return []
    new_idx = np.array([i for i, _ in pairs])
    old_idx = np.array([j for _, j in pairs])
    inter = shapely.area(shapely.intersection(gm[new_idx], old_m[old_idx]))
    union = shapely.area(gm[new_idx]) + shapely.area(old_m[old_idx]) - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    moved = [(int(new_idx[k]), int(old_idx[k]), float(iou[k])) for k in np.flatnonzero(
        iou < IOU_MATCH
    )]  # fmt: skip
    if not moved:
        return []
    tree = shapely.STRtree(old_m)
    out = []
    for i, j, v in moved:
        hits = tree.query(gm[i], predicate="intersects")
        was = None
        if len(hits):
            areas = shapely.area(shapely.intersection(gm[i], old_m[hits]))
            best = int(hits[int(np.argmax(areas))])
            if areas.max() > 0:
                was = old_codes[best]
        out.append(CodeMove(i, str(codes[i]), v, was, old_m[j]))
    return out


def _is_sequence_code(code: str | None) -> bool:
    return is_grid_code(code) and code is not None and int(code[-SEQUENCE_DIGITS:]) > 0


def code_problem(code: str | None, parent_code: str | None) -> str | None:
    """Why a supplied ``code`` cannot stand ("bad_code"), or None when it can (or is missing).

    A code is 15 ASCII digits, its 3-digit sequence is not 000, and it starts with the code of
    the community the grid is in (when that is known)."""
    if code is None:
        return None
    if not _is_sequence_code(code):
        return "bad_code"
    if parent_code is not None and not code.startswith(parent_code):
        return "bad_code"
    return None


def code_grids(
    grids: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame,
    *,
    code_field: str = "code",
    previous: gpd.GeoDataFrame | None = None,
    parent_field: str = "parent_code",
    renumber: bool = False,
) -> Coding:
    """Code the grids of a plan; return the coded copy and every code given or changed.

    * A grid **without a code** gets one: the code of the ``previous`` grid it matches with
      IoU ≥ 0.9 (same community, not taken), else the community code + the next free 3-digit
      number. Numbers continue after the highest number seen in this plan (any well-formed
      code, even one reported as a problem) or in ``previous`` -- a retired code is never
      reissued -- in the reading order of :func:`reading_order`.
    * A **supplied** code is kept as it is -- also a malformed one (:func:`code_problem`) and
      all copies of a duplicated one, which validation then reports -- unless ``renumber`` is
      true: then those get codes the same way (a duplicate's first feature keeps the code), and
      each change is listed with its reason.

    Grids in no parent keep their (missing or invalid) code; ``validate_plan`` reports them.
    Raises :class:`GeoError` when a community would need more than 999 grids.
    """
    geoms = _geoms(grids)
    parent_geoms = _geoms(parents)
    parent_codes = column_codes(parents, parent_code_column(parents, code_field))
    supplied = column_codes(grids, code_field)
    codes = list(supplied)
    usable = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    # Topology (parents, IoU) in lon/lat; the reading order in metres.
    proj = LocalScale.around(geoms[usable], parent_geoms)
    gm = or_none(usable, geoms)
    parent_of = match_parents(
        codes, column_codes(grids, parent_field), gm, parent_codes, parent_geoms
    )

    # Every well-formed code of the file is taken (no new number may repeat one of them).
    taken: set[str] = {c for c in codes if c is not None and _is_sequence_code(c)}
    kept: set[str] = set()
    reason: dict[int, str] = {}
    for i, code in enumerate(codes):
        k = parent_of[i]
        parent_code = parent_codes[k] if k >= 0 else None
        if parent_code is None:
            continue
        if code is None:
            reason[i] = "missing"
        elif code_problem(code, parent_code) is not None:
            if renumber:
                reason[i] = "bad_code"
        elif code in kept:
            if renumber:
                reason[i] = "duplicate_code"
        else:
            kept.add(code)
    needs = list(reason)
    source: dict[int, str] = {}

    old_codes: list[str | None] = []
    moved: list[CodeMove] = []
    if previous is not None and len(previous):
        old_codes = column_codes(previous, code_field)
        taken.update(c for c in old_codes if c is not None and _is_sequence_code(c))
        old_geoms = _geoms(previous)
        old_ok = ~shapely.is_missing(old_geoms) & ~shapely.is_empty(old_geoms)
        old_m = or_none(old_ok, old_geoms)
        need_ok = [i for i in needs if usable[i]]
        in_use = {c for i, c in enumerate(codes) if c is not None and i not in reason}
        used_old: set[int] = set()
        for _, a, b in _iou_matches(gm[need_ok], old_m, IOU_MATCH):
            i, old_code = need_ok[a], old_codes[b]
            parent_code = parent_codes[parent_of[i]]
            if (
                i in source
                or b in used_old
                or old_code is None
                or not _is_sequence_code(old_code)
                or old_code in in_use
                or parent_code is None
                or not old_code.startswith(parent_code)
            ):
                continue
            codes[i] = old_code
            in_use.add(old_code)
            source[i] = "previous_plan"
            used_old.add(b)
        needs = [i for i in needs if i not in source]
        kept_rows = [i for i, c in enumerate(supplied) if c is not None and i not in reason]
        moved = _moved_codes(codes, kept_rows, gm, old_codes, old_m)

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
            source[int(i)] = "new_number"
    out = grids.copy()
    out[code_field] = codes
    changes = [
        CodeChange(i, supplied[i], str(codes[i]), reason[i], source[i]) for i in sorted(source)
    ]
    return Coding(out, changes, moved)


def assign_codes(
    grids: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame,
    *,
    code_field: str = "code",
    previous: gpd.GeoDataFrame | None = None,
    parent_field: str = "parent_code",
    renumber: bool = False,
) -> gpd.GeoDataFrame:
    """The coded copy of ``grids`` (:func:`code_grids` without the list of changes)."""
    return code_grids(
        grids,
        parents,
        code_field=code_field,
        previous=previous,
        parent_field=parent_field,
        renumber=renumber,
    ).grids
