"""Wangge geography: reading grid files and CRSs, validating coverages, coding grids, locating
points and simplifying for the web. A plain library: no Flask, no database."""

from geo.coding import CodeChange, Coding, assign_codes, code_grids
from geo.crs import gcj02_to_wgs84, parse_crs, to_wgs84, wgs84_to_gcj02
from geo.errors import CRSError, GeoError, ReadError
from geo.io import read_boundaries, read_features
from geo.locate import HOW_INSIDE, HOW_NAMES, HOW_NEAREST, HOW_OUTSIDE, GridLocator, Location
from geo.problems import Problem, ValidationReport
from geo.simplify import simplify_coverage, to_feature_collection, tolerance_for_zoom
from geo.synthetic import build_hierarchy, voronoi_partition
from geo.validate import repair_geometries, validate_plan

__all__ = [
    "HOW_INSIDE",
    "HOW_NAMES",
    "HOW_NEAREST",
    "HOW_OUTSIDE",
    "CRSError",
    "CodeChange",
    "Coding",
    "GeoError",
    "GridLocator",
    "Location",
    "Problem",
    "ReadError",
    "ValidationReport",
    "assign_codes",
    "build_hierarchy",
    "code_grids",
    "gcj02_to_wgs84",
    "parse_crs",
    "read_boundaries",
    "read_features",
    "repair_geometries",
    "simplify_coverage",
    "to_feature_collection",
    "to_wgs84",
    "tolerance_for_zoom",
    "validate_plan",
    "voronoi_partition",
    "wgs84_to_gcj02",
]
