"""Grid polygons for web maps: per region, simplified per zoom without opening gaps."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import select

from geo.simplify import simplify_coverage, to_feature_collection, tolerance_for_zoom
from server.models import Grid, GridPlan, Region
from server.usecases import policy
from server.usecases.context import Actor, Context


class UnknownRegion(LookupError):
    pass


_cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_lock = threading.Lock()
_CACHE_SIZE = 64


def grids_collection(
    ctx: Context, actor: Actor, *, region: str | None, zoom: int | None, mine: bool
) -> tuple[dict[str, Any], str]:
    """(FeatureCollection, a tag that changes when the answer would)."""
    plans = ctx.db.execute(
        select(GridPlan.id, GridPlan.published_at).where(GridPlan.status == "active")
    ).all()
    stmt = (
        select(Grid, Region)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .join(Region, Grid.community_id == Region.id)
        .where(GridPlan.status == "active")
        .order_by(Grid.code)
    )
    # The policy decides which grids this actor may see; what decides it is in the cache key
    # (and so in the ETag): two actors with different jurisdictions never share an answer.
    stmt = stmt.where(policy.grids_clause(ctx.db, actor))
    scope_key: Any = None
    if region:
        reg = ctx.db.scalar(select(Region).where(Region.code == region.ljust(12, "0")))
        if reg is None or not policy.may_see_region(ctx.db, actor, reg):
            raise UnknownRegion(region)  # outside the jurisdiction: as if it did not exist
        stmt = stmt.where(Region.path.startswith(reg.path))
        scope_key = reg.path
    if mine:
        stmt = stmt.where(Grid.code.in_(sorted(actor.grid_codes)))
        scope_key = ("mine", scope_key, tuple(sorted(actor.grid_codes)))
    tag = (tuple(map(tuple, plans)), policy.grids_key(ctx.db, actor), scope_key, zoom)
    with _lock:
        hit = _cache.get(tag)
        if hit is not None:
            _cache.move_to_end(tag)
            return hit, repr(tag)
    rows = ctx.db.execute(stmt).all()
    geoms = [g.geom for g, _ in rows]
    if zoom is not None and geoms:
        geoms = list(simplify_coverage(geoms, tolerance_for_zoom(zoom)))
    props = [
        {
            "id": g.id,
            "code": g.code,
            "name": g.name,
            "kind": g.kind,
            "community_code": r.code,
            "community_name": r.name,
            "households": g.households,
        }
        for g, r in rows
    ]
    collection = to_feature_collection(geoms, props)
    with _lock:
        _cache[tag] = collection
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return collection, repr(tag)
