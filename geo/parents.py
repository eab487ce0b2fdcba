"""Codes and parents: normalising codes, and finding the parent (community) of each grid."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

from geo.metric import GeomArray, or_none

GRID_CODE_DIGITS = 15
PARENT_CODE_DIGITS = 12
#: Columns tried, in order, for a parent's code when ``code_field`` is absent.
PARENT_CODE_COLUMNS = ("code", "adcode")


def normalise_code(value: Any) -> str | None:
    """A code as a string of its digits/characters; None for missing (None, NaN, blank)."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text or None


def column_codes(gdf: gpd.GeoDataFrame, column: str | None) -> list[str | None]:
    """Normalised codes of one column; all None when the column is absent."""
    if column is None or column not in gdf.columns:
        return [None] * len(gdf)
    return [normalise_code(v) for v in gdf[column].tolist()]


def parent_code_column(parents: gpd.GeoDataFrame, code_field: str) -> str | None:
    """The column that holds the parents' codes: ``code_field``, else ``code``, else ``adcode``."""
    for name in (code_field, *PARENT_CODE_COLUMNS):
        if name in parents.columns:
            return name
    return None


def is_grid_code(code: str | None) -> bool:
    """15 ASCII digits (``str.isdigit`` alone would take full-width digits and "²")."""
    return code is not None and len(code) == GRID_CODE_DIGITS and code.isascii() and code.isdigit()


def match_parents(
    codes: Sequence[str | None],
    parent_values: Sequence[str | None],
    geoms_m: GeomArray,
    parent_codes: Sequence[str | None],
    parent_geoms_m: GeomArray,
) -> npt.NDArray[np.intp]:
    """Index of each grid's parent, or -1.

    Rule, first that applies: (1) a parent whose code is a proper prefix of the grid code
    (the 12-digit community code of a 15-digit grid code; the longest prefix wins); (2) the
    parent whose code equals the grid's ``parent_field`` value; (3) the parent holding the
    largest part of the grid's area (ties: the first parent). Geometries are in metres; a
    missing geometry only matches by code.
    """
    n = len(codes)
    result = np.full(n, -1, dtype=np.intp)
    by_code = {c: k for k, c in reversed(list(enumerate(parent_codes))) if c is not None}
    lengths = sorted({len(c) for c in by_code}, reverse=True)
    for i, code in enumerate(codes):
        if code is None:
            continue
        for length in lengths:
            if length < len(code) and code[:length] in by_code:
                result[i] = by_code[code[:length]]
                break
    for i, value in enumerate(parent_values):
        if result[i] < 0 and value is not None and value in by_code:
            result[i] = by_code[value]
    todo = np.flatnonzero((result < 0) & ~shapely.is_missing(geoms_m) & ~shapely.is_empty(geoms_m))
    if len(todo) and len(parent_geoms_m):
        result[todo] = largest_overlap(geoms_m[todo], parent_geoms_m)
    return result


def largest_overlap(geoms: GeomArray, targets: GeomArray) -> npt.NDArray[np.intp]:
    """For each geometry, the index of the target covering most of its area (-1: none)."""
    out = np.full(len(geoms), -1, dtype=np.intp)
    valid_targets = ~shapely.is_missing(targets) & ~shapely.is_empty(targets)
    if not valid_targets.any() or not len(geoms):
        return out
    tree = shapely.STRtree(or_none(valid_targets, targets))
    shapely.prepare(targets[valid_targets])
    g_idx, t_idx = tree.query(geoms, predicate="intersects")
    if not len(g_idx):
        return out
    covered = shapely.covers(targets[t_idx], geoms[g_idx])
    areas = np.where(covered, shapely.area(geoms[g_idx]), 0.0)
    rest = ~covered
    if rest.any():
        areas[rest] = shapely.area(shapely.intersection(geoms[g_idx[rest]], targets[t_idx[rest]]))
    keep = areas > 0
    g_idx, t_idx, areas = g_idx[keep], t_idx[keep], areas[keep]
    order = np.lexsort((t_idx, -areas, g_idx))  # per grid: largest area, then lowest index
    g_sorted = g_idx[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = g_sorted[1:] != g_sorted[:-1]
    out[g_sorted[first]] = t_idx[order][first]
    return out


def unique_in_order(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
