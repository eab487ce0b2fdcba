"""Validation of a grid plan: 全覆盖、无缝隙 (full coverage, no overlaps, no gaps) and codes.

Topology runs on the lon/lat coordinates; areas and widths are measured in metres with
:func:`geo.metric.area_m2` and :class:`geo.metric.LocalScale`, never in degrees.
Everything is vectorised with Shapely 2; the only Python loops run over problems found and over
parents (communities), never over pairs of grids.
"""

from __future__ import annotations

import math
import numbers
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from geo.coding import IOU_MATCH, CodeChange, CodeMove, code_problem
from geo.metric import GeomArray, LocalScale, area_m2, or_none
from geo.parents import (
    GRID_CODE_DIGITS,
    column_codes,
    match_parents,
    parent_code_column,
)
from geo.problems import Problem, ValidationReport, geojson_location

#: Overlaps, gaps and parts outside the parent smaller than this (m²) are numerical noise.
AREA_TOLERANCE_M2 = 1.0
#: Area outlier: more than this many times, or less than 1/this, the plan's median grid area.
AREA_OUTLIER_FACTOR = 5.0
#: Households outside this range (inclusive bounds are fine) are flagged. Basic grids usually
#: hold 300-500 households; dedicated grids (kind = dedicated/专属) are exempt.
HOUSEHOLDS_RANGE = (100, 1000)
#: The most households a grid may claim: past it (or negative, fractional, or not a number at
#: all) the value is a ``bad_households`` error, not stored.
HOUSEHOLDS_MAX = 100_000
DEDICATED_KINDS = frozenset({"dedicated", "专属", "专属网格"})

_POLYGONAL = (3, 6)  # shapely type ids of Polygon and MultiPolygon
_REASON_POINT = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\]")


class BadHouseholds(ValueError):
    """A ``households`` attribute that is not a whole number of households."""


def households_value(value: Any) -> int | None:
    """A plan feature's ``households`` as an int; None when empty (null, NaN from a missing
    value, blank text). Raises :class:`BadHouseholds` for anything else that is not a whole
    number 0…HOUSEHOLDS_MAX: text ("约300户", "NaN"), fractions, negatives, 1e308, booleans."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if not (text.isascii() and text.isdigit()) or len(text) > 7:
            raise BadHouseholds(value)
        number: float | int = int(text)
    elif isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise BadHouseholds(value)
    else:
        if isinstance(value, numbers.Integral):
            number = int(value)
        else:
            number = float(value)
            if math.isnan(number):
                return None  # a missing value in a numeric column
            if not math.isfinite(number) or not number.is_integer():
                raise BadHouseholds(value)
    if not 0 <= number <= HOUSEHOLDS_MAX:
        raise BadHouseholds(value)
    return int(number)


def feature_ids(codes: Sequence[str | None]) -> list[str]:
    """Identify each feature by its code, ``#<row>`` (1-based) without one, and
    ``<code>#<row>`` when several features share a code."""
    counts: dict[str, int] = defaultdict(int)
    for code in codes:
        if code is not None:
            counts[code] += 1
    out = []
    for row, code in enumerate(codes, start=1):
        if code is None:
            out.append(f"#{row}")
        elif counts[code] > 1:
            out.append(f"{code}#{row}")
        else:
            out.append(code)
    return out


def _as_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if gdf.crs is None or gdf.crs.is_geographic:
        return gdf
    return gdf.to_crs("EPSG:4326")


def _polygonal_part(geoms: GeomArray) -> GeomArray:
    """Keep only the polygons of each geometry (intersections may add lines and points)."""
    out = np.empty(len(geoms), dtype=object)
    for i, geom in enumerate(geoms):
        if shapely.get_type_id(geom) in _POLYGONAL:
            out[i] = geom
        else:
            parts = shapely.get_parts(geom)
            out[i] = shapely.multipolygons(parts[np.isin(shapely.get_type_id(parts), _POLYGONAL)])
    return out


def _fmt_area(m2: float) -> str:
    return f"{m2 / 1e6:.3f} km²" if m2 >= 1e6 else f"{m2:.1f} m²"


class _Plan:
    """Working state of one validation run."""

    def __init__(self, grids: gpd.GeoDataFrame, code_field: str) -> None:
        grids = _as_wgs84(grids)
        self.frame = grids
        self.n = len(grids)
        self.geoms_ll: GeomArray = np.asarray(grids.geometry.values, dtype=object)
        self.codes = column_codes(grids, code_field)
        self.ids = feature_ids(self.codes)
        self._rep: GeomArray | None = None

    def rep_point(self, i: int) -> dict[str, object] | None:
        if self._rep is None:
            self._rep = shapely.point_on_surface(self.geoms_ll)
        return geojson_location(self._rep[i])


def validate_plan(
    grids: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame | None = None,
    *,
    code_field: str = "code",
    parent_field: str = "parent_code",
    households_field: str = "households",
    kind_field: str = "kind",
    gap_width_m: float = 0.0,
    make_valid: bool = False,
    area_tolerance_m2: float = AREA_TOLERANCE_M2,
) -> ValidationReport:
    """Validate a whole plan; see docs/geo.md for every rule.

    ``parents`` are the community (or town) boundaries the grids must cover exactly. With
    ``make_valid=True`` invalid geometries are repaired with ``shapely.make_valid``, reported as
    ``invalid_geometry`` *warnings*, and checked further with their repaired shape (the caller
    repairs its copy with :func:`repair_geometries`); otherwise they are errors and skipped by
    the coverage checks.
    """
    plan = _Plan(grids, code_field)
    report = ValidationReport(features=plan.n)
    errors, warnings = report.errors, report.warnings
    geoms = plan.geoms_ll.copy()
    ids = plan.ids

    # -- codes: duplicates and format --------------------------------------------------------
    rows_by_code: dict[str, list[int]] = defaultdict(list)
    for i, code in enumerate(plan.codes):
        if code is not None:
            rows_by_code[code].append(i)
    for code, rows in rows_by_code.items():
        if len(rows) > 1:
            points = shapely.multipoints(
                [p for p in shapely.point_on_surface(geoms[rows]) if p is not None]
            )
            errors.append(
                Problem(
                    "duplicate_code",
                    [ids[i] for i in rows],
                    f"编码重复：{code}（第 {'、'.join(str(i + 1) for i in rows)} 行） / duplicate "
                    f"code: {code} (rows {', '.join(str(i + 1) for i in rows)})",
                    geojson_location(points),
                )
            )

    # -- geometry: empty, not polygonal, invalid ----------------------------------------------
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing).tolist():
        message = f"几何为空：{ids[i]} / empty geometry: {ids[i]}"
        errors.append(Problem("empty", [ids[i]], message, None))
    types = shapely.get_type_id(geoms)
    not_poly = ~missing & ~np.isin(types, _POLYGONAL)
    for i in np.flatnonzero(not_poly).tolist():
        geom = geoms[i]
        where = geom if types[i] in (0, 1, 2, 4, 5) else shapely.point_on_surface(geom)
        errors.append(
            Problem(
                "not_polygon",
                [ids[i]],
                f"不是面：{ids[i]}（{geom.geom_type}） / not a polygon: {ids[i]} "
                f"({geom.geom_type})",
                geojson_location(where),
            )
        )
    polygonal = ~missing & ~not_poly
    invalid = polygonal & ~shapely.is_valid(geoms)
    usable = polygonal & ~invalid
    bad_rows = np.flatnonzero(invalid)
    stand_in: dict[int, shapely.Geometry] = {}  # repaired shapes of unrepaired grids, for gaps
    if len(bad_rows):
        reasons = shapely.is_valid_reason(geoms[bad_rows])
        repaired = shapely.make_valid(geoms[bad_rows], method="structure", keep_collapsed=False)
        for i, reason, fixed in zip(bad_rows.tolist(), reasons, repaired, strict=True):
            match = _REASON_POINT.search(str(reason))
            where = (
                shapely.Point(float(match.group(1)), float(match.group(2)))
                if match
                else shapely.point_on_surface(geoms[i])
            )
            ok_fix = (
                make_valid
                and not shapely.is_empty(fixed)
                and shapely.get_type_id(fixed) in _POLYGONAL
            )
            if not shapely.is_empty(fixed) and shapely.get_type_id(fixed) in _POLYGONAL:
                stand_in[int(i)] = fixed
            if ok_fix:
                geoms[i] = fixed
                usable[i] = True
                target, note = warnings, "已用 make_valid 修复 / repaired with make_valid"
            else:
                target, note = errors, "请修复 / please fix"
            target.append(
                Problem(
                    "invalid_geometry",
                    [ids[i]],
                    f"几何无效：{ids[i]}（{reason}），{note.split(' / ')[0]} / invalid geometry: "
                    f"{ids[i]}: {reason}; {note.split(' / ')[-1]}",
                    geojson_location(where),
                )
            )

    # -- topology in lon/lat (where the coverage is defined), measures in metres -------------
    # Overlays run on the lon/lat coordinates: a straight edge in degrees is not straight once
    # projected, so projecting first would invent slivers. Results are measured in metres.
    parent_ll: GeomArray = np.empty(0, dtype=object)
    parent_codes: list[str | None] = []
    if parents is not None:
        parents = _as_wgs84(parents)
        parent_ll = np.asarray(parents.geometry.values, dtype=object)
        parent_codes = column_codes(parents, parent_code_column(parents, code_field))
    proj = LocalScale.around(geoms[usable], parent_ll)
    grid_ll: GeomArray = np.full(plan.n, None, dtype=object)
    grid_ll[usable] = geoms[usable]
    parent_geoms = parent_ll.copy()
    parent_ok = ~shapely.is_missing(parent_geoms) & ~shapely.is_empty(parent_geoms)
    if len(parent_geoms):
        parent_geoms = np.where(
            parent_ok & ~shapely.is_valid(parent_geoms),
            shapely.make_valid(parent_geoms),
            parent_geoms,
        )
    parent_ids = [c if c is not None else f"#{k + 1}" for k, c in enumerate(parent_codes)]

    idx = np.flatnonzero(usable)
    tree = shapely.STRtree(grid_ll[idx])
    suspect = np.zeros(plan.n, dtype=bool)
    if len(idx):
        edges = shapely.coverage_invalid_edges(grid_ll[idx])
        suspect[idx] = ~shapely.is_empty(edges)

    _check_overlaps(grid_ll, idx, tree, suspect, ids, proj, area_tolerance_m2, errors)

    # -- parents: membership, codes, outside, gaps -------------------------------------------
    parent_of = np.full(plan.n, -1, dtype=np.intp)
    if parents is not None:
        parent_values = column_codes(plan.frame, parent_field)
        parent_of = match_parents(
            plan.codes,
            parent_values,
            grid_ll,
            parent_codes,
            or_none(parent_ok, parent_geoms),
        )
        for i in np.flatnonzero(usable & (parent_of < 0)).tolist():
            errors.append(
                Problem(
                    "no_parent",
                    [ids[i]],
                    f"不在任何上级区域内：{ids[i]} / in no known parent area: {ids[i]}",
                    plan.rep_point(i),
                )
            )
        _check_outside(
            grid_ll, parent_geoms, parent_of, parent_ids, ids, proj, area_tolerance_m2, errors
        )
    # An invalid grid left unrepaired still covers its (repaired) area for the gap checks, so
    # it is reported once, as invalid_geometry, not again as a gap.
    cover_ll = grid_ll.copy()
    cover_suspect = suspect.copy()
    for i, fixed in stand_in.items():
        if not usable[i]:
            cover_ll[i] = fixed
            cover_suspect[i] = True
    cover_idx = np.flatnonzero(~shapely.is_missing(cover_ll))
    cover_tree = shapely.STRtree(cover_ll[cover_idx]) if stand_in else tree
    if parents is not None:
        _check_gaps_in_parents(
            cover_ll, cover_idx, cover_tree, cover_suspect, parent_geoms, parent_ok, parent_ids,
            ids, proj, gap_width_m, area_tolerance_m2, errors,
        )  # fmt: skip
    elif len(cover_idx):
        _check_holes(
            cover_ll, cover_idx, cover_tree, cover_suspect, ids, proj, gap_width_m,
            area_tolerance_m2, errors,
        )  # fmt: skip

    for i, code in enumerate(plan.codes):
        if code is None:
            continue
        parent_code = parent_codes[parent_of[i]] if parent_of[i] >= 0 else None
        if code_problem(code, parent_code) is not None:
            rule_zh = f"{GRID_CODE_DIGITS} 位数字，序号不为 000"
            rule = f"{GRID_CODE_DIGITS} digits, sequence not 000"
            if parent_code is not None:
                rule_zh += f"，以上级编码 {parent_code} 开头"
                rule += f", starting with parent code {parent_code}"
            errors.append(
                Problem(
                    "bad_code",
                    [ids[i]],
                    f"编码不合规：{code}（应为 {rule_zh}） / malformed code: {code} "
                    f"(must be {rule})",
                    plan.rep_point(i),
                )
            )

    households = np.full(plan.n, np.nan)
    if households_field in plan.frame.columns:
        for i, raw in enumerate(plan.frame[households_field].tolist()):
            try:
                count = households_value(raw)
            except BadHouseholds:
                errors.append(
                    Problem(
                        "bad_households",
                        [ids[i]],
                        f"户数不是整数：{ids[i]} 为 {str(raw)[:40]!r}"
                        f"（应为 0–{HOUSEHOLDS_MAX:,} 或留空） / households is not a whole "
                        f"number: {ids[i]} has "
                        f"{str(raw)[:40]!r} (must be 0–{HOUSEHOLDS_MAX:,} or empty)",
                        plan.rep_point(i),
                    )
                )
                continue
            if count is not None:
                households[i] = count

    # -- warnings --------------------------------------------------------------------------------
    dedicated = np.zeros(plan.n, dtype=bool)
    if kind_field in plan.frame.columns:
        dedicated = plan.frame[kind_field].astype(str).str.strip().isin(DEDICATED_KINDS).to_numpy()
    _check_area_outliers(grid_ll, usable & ~dedicated, ids, plan, proj, warnings)
    if households_field in plan.frame.columns:
        low, high = HOUSEHOLDS_RANGE
        flagged = ~dedicated & ~np.isnan(households) & ((households < low) | (households > high))
        for i in np.flatnonzero(flagged).tolist():
            warnings.append(
                Problem(
                    "households_outlier",
                    [ids[i]],
                    f"户数异常：{ids[i]} 有 {households[i]:g} 户（常见 {low}–{high}） / households "
                    f"outlier: {ids[i]} has {households[i]:g} households (usual {low}–{high})",
                    plan.rep_point(i),
                )
            )
    return report


def _check_overlaps(
    grid_ll: GeomArray,
    idx: npt.NDArray[np.intp],
    tree: shapely.STRtree,
    suspect: npt.NDArray[np.bool_],
    ids: list[str],
    proj: LocalScale,
    tolerance: float,
    errors: list[Problem],
) -> None:
    """Pairs whose interiors overlap by more than ``tolerance`` m², each pair once.

    Only polygons that ``coverage_invalid_edges`` flags can overlap anything, so pairs are
    looked up (STRtree) from those alone.
    """
    flagged = np.flatnonzero(suspect[idx])
    if not len(flagged):
        return
    a_local, b_local = tree.query(grid_ll[idx[flagged]], predicate="intersects")
    a = idx[flagged[a_local]]
    b = idx[b_local]
    keep = a != b
    pairs = np.unique(np.sort(np.column_stack([a[keep], b[keep]]), axis=1), axis=0)
    if not len(pairs):
        return
    overlap = _polygonal_part(shapely.intersection(grid_ll[pairs[:, 0]], grid_ll[pairs[:, 1]]))
    areas = area_m2(overlap)
    big = np.flatnonzero(areas > tolerance)
    for k in big:
        shape = overlap[k]
        i, j = pairs[k]
        errors.append(
            Problem(
                "overlap",
                [ids[i], ids[j]],
                f"网格重叠：{ids[i]} 与 {ids[j]}（{_fmt_area(areas[k])}） / grids overlap: "
                f"{ids[i]} and {ids[j]} ({_fmt_area(areas[k])})",
                geojson_location(shape),
            )
        )


def _check_outside(
    grid_ll: GeomArray,
    parent_geoms: GeomArray,
    parent_of: npt.NDArray[np.intp],
    parent_ids: list[str],
    ids: list[str],
    proj: LocalScale,
    tolerance: float,
    errors: list[Problem],
) -> None:
    rows = np.flatnonzero((parent_of >= 0) & ~shapely.is_missing(grid_ll))
    if not len(rows):
        return
    their_parents = parent_geoms[parent_of[rows]]
    shapely.prepare(parent_geoms[~shapely.is_missing(parent_geoms)])
    rows = rows[~shapely.covers(their_parents, grid_ll[rows])]
    if not len(rows):
        return
    outside = _polygonal_part(shapely.difference(grid_ll[rows], parent_geoms[parent_of[rows]]))
    areas = area_m2(outside)
    big = np.flatnonzero(areas > tolerance)
    for k in big:
        i, shape = rows[k], outside[k]
        errors.append(
            Problem(
                "outside_boundary",
                [ids[i]],
                f"超出上级边界：{ids[i]} 超出 {parent_ids[parent_of[i]]} {_fmt_area(areas[k])} / "
                f"outside its parent boundary: {ids[i]} extends "
                f"{_fmt_area(areas[k])} beyond {parent_ids[parent_of[i]]}",
                geojson_location(shape),
            )
        )


def _union(geoms: GeomArray, exact_coverage: bool) -> shapely.Geometry:
    return shapely.coverage_union_all(geoms) if exact_coverage else shapely.union_all(geoms)


def _gap_parts(
    gaps: GeomArray, proj: LocalScale, gap_width_m: float, tolerance: float
) -> tuple[GeomArray, npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Split gap geometries (lon/lat) into polygons and drop slivers: smaller than
    ``tolerance`` m², or gone when shrunk by ``gap_width_m / 2`` metres.
    Returns the parts, the index of the gap each comes from, and their areas in m²."""
    parts, source = shapely.get_parts(gaps, return_index=True)
    poly = shapely.get_type_id(parts) == 3
    parts, source = parts[poly], source[poly]
    areas = area_m2(parts)
    keep = areas > tolerance
    if gap_width_m > 0:
        keep &= ~shapely.is_empty(shapely.buffer(proj.forward(parts), -gap_width_m / 2.0))
    return parts[keep], source[keep], areas[keep]


def _in_zh(where: str) -> str:
    """ " in 640181001001" → "（640181001001 内）" (the Chinese half of a gap message)."""
    return f"（{where[4:]} 内）" if where.startswith(" in ") else ""


def _report_gaps(
    parts: GeomArray,
    areas: npt.NDArray[np.float64],
    where: list[str],
    grid_ll: GeomArray,
    tree: shapely.STRtree,
    idx: npt.NDArray[np.intp],
    ids: list[str],
    errors: list[Problem],
) -> None:
    if not len(parts):
        return
    p_idx, g_local = tree.query(parts, predicate="intersects")
    neighbours: dict[int, list[int]] = defaultdict(list)
    for p, g in zip(p_idx, g_local, strict=True):
        neighbours[int(p)].append(int(idx[g]))
    for k, shape in enumerate(parts):
        rows = sorted(neighbours.get(k, []))
        names = ", ".join(ids[i] for i in rows) or "-"
        errors.append(
            Problem(
                "gap",
                [ids[i] for i in rows],
                f"网格间有缝隙{_in_zh(where[k])}：{_fmt_area(areas[k])}（邻接 {names}） / gap not "
                f"covered by any grid{where[k]}: {_fmt_area(areas[k])} (next to {names})",
                geojson_location(shape),
            )
        )


def _check_gaps_in_parents(
    grid_ll: GeomArray,
    idx: npt.NDArray[np.intp],
    tree: shapely.STRtree,
    suspect: npt.NDArray[np.bool_],
    parent_geoms: GeomArray,
    parent_ok: npt.NDArray[np.bool_],
    parent_ids: list[str],
    ids: list[str],
    proj: LocalScale,
    gap_width_m: float,
    tolerance: float,
    errors: list[Problem],
) -> None:
    """Each parent minus the union of every grid that touches it (a grid of a neighbouring
    parent that spills over is an ``outside_boundary`` there, not a gap here)."""
    ks = np.flatnonzero(parent_ok)
    if not len(ks):
        return
    p_idx, g_local = tree.query(parent_geoms[ks], predicate="intersects")
    order = np.argsort(p_idx, kind="stable")
    p_idx, g_local = p_idx[order], g_local[order]
    starts = np.searchsorted(p_idx, np.arange(len(ks)))
    ends = np.searchsorted(p_idx, np.arange(len(ks)), side="right")
    gaps = np.empty(len(ks), dtype=object)
    for n, k in enumerate(ks):
        members = idx[g_local[starts[n] : ends[n]]]
        if not len(members):
            gaps[n] = parent_geoms[k]
            continue
        covered = _union(grid_ll[members], exact_coverage=not suspect[members].any())
        gaps[n] = shapely.difference(parent_geoms[k], covered)
    parts, source, areas = _gap_parts(gaps, proj, gap_width_m, tolerance)
    where = [f" in {parent_ids[ks[s]]}" for s in source]
    _report_gaps(parts, areas, where, grid_ll, tree, idx, ids, errors)


def _check_holes(
    grid_ll: GeomArray,
    idx: npt.NDArray[np.intp],
    tree: shapely.STRtree,
    suspect: npt.NDArray[np.bool_],
    ids: list[str],
    proj: LocalScale,
    gap_width_m: float,
    tolerance: float,
    errors: list[Problem],
) -> None:
    """Without parents: holes enclosed by the grids (interior rings of their union)."""
    covered = _union(grid_ll[idx], exact_coverage=not suspect.any())
    polys = shapely.get_parts(covered)
    n_rings = shapely.get_num_interior_rings(polys)
    holes: list[shapely.Geometry] = []
    for poly, count in zip(polys, n_rings, strict=True):
        holes.extend(shapely.polygons(shapely.get_interior_ring(poly, j)) for j in range(count))
    if not holes:
        return
    parts, _, areas = _gap_parts(np.array(holes, dtype=np.object_), proj, gap_width_m, tolerance)
    _report_gaps(parts, areas, [""] * len(parts), grid_ll, tree, idx, ids, errors)


def _check_area_outliers(
    grid_ll: GeomArray,
    rows_mask: npt.NDArray[np.bool_],
    ids: list[str],
    plan: _Plan,
    proj: LocalScale,
    warnings: list[Problem],
) -> None:
    rows = np.flatnonzero(rows_mask)
    if len(rows) < 5:
        return
    areas = area_m2(grid_ll[rows])
    median = float(np.median(areas))
    if median <= 0:
        return
    ratio = areas / median
    for k in np.flatnonzero((ratio > AREA_OUTLIER_FACTOR) | (ratio < 1 / AREA_OUTLIER_FACTOR)):
        i = rows[k]
        warnings.append(
            Problem(
                "area_outlier",
                [ids[i]],
                f"面积异常：{ids[i]} 为 {_fmt_area(areas[k])}，是中位数 {_fmt_area(median)} 的 "
                f"{ratio[k]:.1f} 倍 / area outlier: {ids[i]} is {_fmt_area(areas[k])}, "
                f"{ratio[k]:.1f}× the median {_fmt_area(median)}",
                plan.rep_point(i),
            )
        )


def repair_geometries(grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy with invalid polygons repaired by ``shapely.make_valid`` (structure method), as
    ``validate_plan(..., make_valid=True)`` assumes."""
    geoms = np.asarray(grids.geometry.values, dtype=object)
    bad = ~shapely.is_missing(geoms) & ~shapely.is_valid(geoms)
    fixed = geoms.copy()
    fixed[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    return grids.set_geometry(gpd.GeoSeries(fixed, index=grids.index, crs=grids.crs))


_REASON_TEXT = {
    "bad_code": "编码不合规 / malformed code",
    "duplicate_code": "编码重复 / duplicate code",
}


def report_codes(
    report: ValidationReport,
    supplied: Sequence[str | None],
    grids: gpd.GeoDataFrame,
    changes: Sequence[CodeChange],
    moved: Sequence[CodeMove] = (),
    *,
    confirmed: bool = False,
) -> None:
    """Add the coding of a plan to its report: every change in ``report.codes`` (features named
    by the codes the file ``supplied``), one ``code_renumbered`` warning, located in the
    grid, for each supplied code that was replaced (``renumber=True`` only), and one
    ``code_moved`` problem for each supplied code the previous version had on another place
    (:attr:`geo.coding.Coding.moved`): an error, unless the caller ``confirmed`` the plan's
    codes (the upload's ``renumber`` option), then a warning."""
    ids = feature_ids(supplied)
    report.codes = [c.to_dict(ids[c.row]) for c in changes]
    geoms = np.asarray(_as_wgs84(grids).geometry.values, dtype=object)
    for m in moved:
        now_at = shapely.point_on_surface(geoms[m.row])
        was_at = shapely.point_on_surface(m.old_geom)
        place = (
            f"原为 {m.was} 的区域 / the area that was {m.was}" if m.was else "新区域 / a new area"
        )
        problem = Problem(
            "code_moved",
            [ids[m.row]],
            f"编码换了地方 / code moved: {m.code} 原在另一处，现用于{place} "
            f"(重合度 IoU {m.iou:.2f} < {IOU_MATCH}); 按编码分配的职责会随之转到新区域 / "
            f"{m.code} was elsewhere and now names {place}: the duties that follow the code "
            "would move with it",
            geojson_location(shapely.multipoints([was_at, now_at])),
        )
        (report.warnings if confirmed else report.errors).append(problem)
    renumbered = [c for c in changes if c.renumbered]
    if not renumbered:
        return
    points = shapely.point_on_surface(geoms[[c.row for c in renumbered]])
    for c, point in zip(renumbered, points, strict=True):
        report.warnings.append(
            Problem(
                "code_renumbered",
                [ids[c.row]],
                f"编码已重新编号：{c.old} → {c.new}（{_REASON_TEXT[c.reason].split(' / ')[0]}） / "
                f"code renumbered: {c.old} → {c.new} ({_REASON_TEXT[c.reason].split(' / ')[-1]})",
                geojson_location(point),
            )
        )
