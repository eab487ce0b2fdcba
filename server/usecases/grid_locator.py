"""Where a report falls: grid, community, town, county (via the geo locator)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.locate import GridLocator
from server import cache
from server.models import Grid, GridPlan


@dataclass(frozen=True)
class Place:
    status: str  # inside | nearest | outside | none
    grid_id: int | None = None
    grid_code: str | None = None
    community_id: int | None = None
    town_id: int | None = None
    county_id: int | None = None
    distance_m: float = 0.0


def _build(db: Session, tolerance_m: float) -> tuple[GridLocator | None, dict[int, Place]]:
    rows = db.execute(
        select(Grid.id, Grid.code, Grid.geom, Grid.community_id)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .where(GridPlan.status == "active")
    ).all()
    if not rows:
        return None, {}
    regions = cache.reference(db).regions
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


_locators = cache.PerKey(("reference",))


def forget() -> None:
    """Rebuild at the next report (kept for callers; the epoch of ``grid_plans`` already moved)."""
    _locators.memo.clear()


def locator_for(db: Session, tolerance_m: float) -> tuple[GridLocator | None, dict[int, Place]]:
    """The locator over the active grids, rebuilt when a plan is published (or any grid or
    region changes; ``server.cache``: seen by every process at its next request)."""
    return _locators.get(db, tolerance_m, lambda: _build(db, tolerance_m))


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
    regions = cache.reference(db).regions
    region = regions.get(region_id)
    if region is None:
        return None, None, None
    ids = [int(p) for p in region.path.strip("/").split("/") if p]
    by_level = {regions[i].level: i for i in ids if i in regions}
    return by_level.get("community"), by_level.get("town"), by_level.get("county")


def home_chain(db: Session, region_id: int | None) -> tuple[int | None, int | None, int | None]:
    """Where a report with no grid lands (no point, or one outside every grid), as (community,
    town, county) ids: the reporter's region and its ancestors; for a reporter above a county
    (a city) or with no region (an Open311 key bound to none, an admin), the only county under
    it (in the database). No county (None) when there are several: the report cannot be placed,
    as no county's queue would show it (the caller refuses it)."""
    chain = region_chain(db, region_id)
    regions = cache.reference(db).regions
    if chain[2] is not None or (region_id is not None and region_id not in regions):
        return chain
    under = regions[region_id].path if region_id is not None else "/"
    counties = [r.id for r in regions.values() if r.level == "county" and r.path.startswith(under)]
    return (None, None, counties[0]) if len(counties) == 1 else (None, None, None)
