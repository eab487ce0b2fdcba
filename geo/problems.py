"""The result of validating a grid plan: problems (errors and warnings), the codes given or
changed, and the report."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

ERROR_KINDS: Final = (
    "invalid_geometry",
    "empty",
    "not_polygon",
    "overlap",
    "gap",
    "outside_boundary",
    "no_parent",
    "duplicate_code",
    "bad_code",
    "bad_households",
    "code_moved",  # a warning when the caller confirmed the plan's codes (renumber)
    "bad_name",  # a grid name the names' rule refuses (server/usecases/grid_plan_versions.py)
)
WARNING_KINDS: Final = ("area_outlier", "households_outlier", "code_renumbered")


def geojson_location(geom: BaseGeometry | None, decimals: int = 7) -> dict[str, Any] | None:
    """A GeoJSON geometry dict for a map to show, coordinates rounded (7 decimals ≈ 1 cm)."""
    if geom is None or shapely.is_empty(geom):
        return None
    rounded = shapely.transform(geom, lambda xy: np.round(xy, decimals))
    loc: dict[str, Any] = json.loads(shapely.to_geojson(rounded))
    return loc


@dataclass
class Problem:
    """One problem: ``kind`` (see ERROR_KINDS/WARNING_KINDS), the feature ids involved, a
    Chinese-then-English message, and a GeoJSON geometry locating it (or None)."""

    kind: str
    features: list[str]
    message: str
    location: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "features": list(self.features),
            "message": self.message,
            "location": self.location,
        }


@dataclass
class ValidationReport:
    """All problems of one plan. A plan is valid when it has no errors (warnings allowed)."""

    features: int
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: Every code given or changed by coding (``geo.coding.CodeChange.to_dict``), row order.
    codes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    def kinds(self) -> list[str]:
        """Kinds of every error and warning, in report order (handy in tests and logs)."""
        return [p.kind for p in self.errors] + [p.kind for p in self.warnings]

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": self.features,
            "valid": self.valid,
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
            "codes": list(self.codes),
        }
