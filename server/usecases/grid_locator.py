"""Where a report falls: grid, community, town, county (via the geo locator)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo.locate import GridLocator
from server.models import Grid, GridPlan, Region


@dataclass(frozen=True)
class Place:
    status: str  # inside | nearest | outside | none
    grid_id: int | None = None
    grid_code: str | None = None
    community_id: int | None = None
    town_id: int | None = None
    county_id: int | None = None
    distance_m: float = 0.0


@dataclass
class _Cached:
    key: tuple[object, ...]
    locator: GridLocator | None
    places: dict[int, Place]


_cache: dict[str, _Cached] = {}
_lock = threading.Lock()


def _signature(db: Session) -> tuple[object, ...]:
    row = db.execute(
        select(
            func.count(GridPlan.id), func.max(GridPlan.id), func.max(GridPlan.published_at)
        ).where(GridPlan.status == "active")
    ).one()
    return tuple(row)


def _build(db: Session, tolerance_m: float) -> tuple[GridLocator | None, dict[int, Place]]:
    rows = db.execute(
        select(Grid.id, Grid.code, Grid.geom, Grid.community_id)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .where(GridPlan.status == "active")
    ).all()
    if not rows:
        return None, {}
    regions = {r.id: r for r in db.scalars(select(Region))}
    places: dict[int, Place] = {}
    for gid, code, _geom, community_id in rows:
        community = regions.get(community_id)
        town = regions.get(community.parent_id) if community and community.parent_id else None
        county = regions.get(town.parent_id) if town and town.parent_id else None
        places[gid] = Place(
            "inside",
            gid,
            code,
            community_id,
            town.id if town else None,
            county.id if county else None,
        )
    locator = GridLocator([r[2] for r in rows], [r[0] for r in rows], tolerance_m=tolerance_m)
    return locator, places


#: How long a process trusts its locator before checking for a newly published plan.
SIGNATURE_TTL = 2.0
_checked: dict[str, tuple[float, tuple[object, ...]]] = {}


def forget() -> None:
    """Look for a new plan at the next report (called when this process publishes one)."""
    _checked.clear()


def locator_for(db: Session, tolerance_m: float) -> tuple[GridLocator | None, dict[int, Place]]:
    """The locator over the active grids, rebuilt when a plan is published (seen within
    ``SIGNATURE_TTL`` seconds by every process)."""
    bind = db.get_bind()
    url = str(bind.engine.url) if hasattr(bind, "engine") else str(bind)
    now = time.monotonic()
    seen = _checked.get(url)
    if seen is None or now - seen[0] > SIGNATURE_TTL:
        seen = (now, _signature(db))
        _checked[url] = seen
    key = (*seen[1], tolerance_m)
    cached = _cache.get(url)
    if cached is None or cached.key != key:
        with _lock:
            cached = _cache.get(url)
            if cached is None or cached.key != key:
                locator, places = _build(db, tolerance_m)
                cached = _Cached(key, locator, places)
                _cache[url] = cached
    return cached.locator, cached.places


def locate(db: Session, lon: float | None, lat: float | None, tolerance_m: float) -> Place:
    if lon is None or lat is None:
        return Place("none")
    locator, places = locator_for(db, tolerance_m)
    if locator is None:
        return Place("outside")
    found = locator.locate(lon, lat)
    if found.grid_id is None:
        return Place("outside", distance_m=found.distance_m)
    base = places[int(found.grid_id)]
    return Place(
        found.how,
        base.grid_id,
        base.grid_code,
        base.community_id,
        base.town_id,
        base.county_id,
        found.distance_m,
    )


def region_chain(db: Session, region_id: int | None) -> tuple[int | None, int | None, int | None]:
    """(community, town, county) ids of a region and its ancestors, by its materialised path."""
    if region_id is None:
        return None, None, None
    region = db.get(Region, region_id)
    if region is None:
        return None, None, None
    ids = [int(p) for p in region.path.strip("/").split("/") if p]
    levels = dict(db.execute(select(Region.id, Region.level).where(Region.id.in_(ids))).all())
    by_level = {levels[i]: i for i in ids if i in levels}
    return by_level.get("community"), by_level.get("town"), by_level.get("county")
