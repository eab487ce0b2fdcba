"""Shared set-up for the geo benchmarks: a real county boundary when ../shared/data is there."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shapely.geometry import MultiPolygon, Polygon, box  # noqa: E402

from geo import read_boundaries  # noqa: E402

LINGWU = ROOT.parent / "shared" / "data" / "boundaries" / "county_640181.json"


def county_boundary() -> tuple[Polygon | MultiPolygon, str]:
    """灵武市 (Lingwu, ~3,000 km²) when present, else a ~50 km box near Yinchuan."""
    if LINGWU.is_file():
        return read_boundaries(LINGWU, crs="gcj02").geometry.iloc[0], "灵武市 county_640181"
    return box(106.0, 38.0, 106.57, 38.45), "50 km box (../shared/data absent)"
