"""Grid-plan files for the admin end-to-end tests, made from the demo county's active grids
(灵武市's: a plan lies in one county, and the demo city has a second).

``valid_plan`` writes the active plan back out (the same grids, so it validates and can be
published as the next version); ``broken_plan`` damages it in ways the validator must catch,
each at a known place: a grid removed (a gap) and a grid pushed over its neighbour (an
overlap).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import shapely
from shapely import affinity
from sqlalchemy import select

from server.db import make_engine, make_session_factory
from server.demo import COUNTY
from server.models import Grid, GridPlan


def active_grids(database_url: str) -> list[dict[str, Any]]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as db:
            rows = db.scalars(
                select(Grid)
                .join(GridPlan, Grid.plan_id == GridPlan.id)
                .where(GridPlan.status == "active", Grid.code.startswith(COUNTY[0]))
                .order_by(Grid.code)
            ).all()
            return [
                {
                    "code": g.code,
                    "name": g.name,
                    "kind": g.kind,
                    "households": g.households,
                    "geom": g.geom,
                }
                for g in rows
            ]
    finally:
        engine.dispose()


def _write(path: Path, grids: list[dict[str, Any]]) -> Path:
    features = [
        {
            "type": "Feature",
            "properties": {k: v for k, v in g.items() if k != "geom"},
            "geometry": json.loads(shapely.to_geojson(g["geom"])),
        }
        for g in grids
    ]
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
        encoding="utf-8",
    )
    return path


def write_plan(path: Path, grids: list[dict[str, Any]]) -> Path:
    """A GeoJSON plan of ``grids`` (as :func:`active_grids` gives them, changed at will)."""
    return _write(path, grids)


def valid_plan(database_url: str, path: Path) -> Path:
    return _write(path, active_grids(database_url))


def broken_plan(database_url: str, path: Path) -> tuple[Path, dict[str, str]]:
    """A plan with a gap (a grid left out) and an overlap (a grid pushed over its neighbour,
    which also leaves a gap and spills out of its community); returns the codes involved."""
    grids = active_grids(database_url)
    removed = grids.pop(10)  # → a gap where it was
    moved = grids[40]
    moved["geom"] = affinity.translate(moved["geom"], xoff=0.002)  # → overlap (and a gap)
    return _write(path, grids), {
        "removed": removed["code"],
        "moved": moved["code"],
    }
