"""Simplifying grids for the web map, keeping shared edges shared (no gaps, no overlaps)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

#: Web-Mercator tiles are 256 px wide; 360° of longitude at zoom 0.
_TILE_PX = 256


def tolerance_for_zoom(zoom: int) -> float:
    """About half a screen pixel at ``zoom``, in degrees (at the equator; smaller elsewhere)."""
    return 360.0 / (_TILE_PX * 2.0**zoom) / 2.0


def simplify_coverage(
    geoms: Sequence[BaseGeometry] | npt.NDArray[np.object_], tolerance_deg: float
) -> npt.NDArray[np.object_]:
    """Simplify a coverage together with ``shapely.coverage_simplify``: edges shared by two
    grids are simplified once, so the result stays gap- and overlap-free."""
    arr = np.asarray(geoms, dtype=object)
    if not len(arr) or tolerance_deg <= 0:
        return arr.copy()
    return np.asarray(shapely.coverage_simplify(arr, tolerance_deg), dtype=object)


def to_feature_collection(
    geoms: Sequence[BaseGeometry | None] | npt.NDArray[np.object_],
    properties: list[dict[str, Any]],
    decimals: int = 6,
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection, coordinates rounded to ``decimals`` (6 ≈ 0.1 m)."""
    arr = np.asarray(geoms, dtype=object)
    if len(arr) != len(properties):
        raise ValueError("geoms and properties differ in length")
    rounded = shapely.transform(arr, lambda xy: np.round(xy, decimals))
    texts = shapely.to_geojson(rounded)
    features = [
        {
            "type": "Feature",
            "geometry": json.loads(text) if text is not None else None,
            "properties": props,
        }
        for text, props in zip(texts, properties, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}
