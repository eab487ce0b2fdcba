"""Regions for pickers (any signed-in user), kept to the user's own region subtree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from server.domain import workflow as wf
from server.models import Region
from server.usecases import policy
from server.usecases.admin.request_body import region_parameter
from server.usecases.context import Actor, Context
from server.usecases.errors import NotFound


def region_json(region: Region, codes: dict[int, str]) -> dict[str, Any]:
    return {
        "id": region.id,
        "code": region.code,
        "name": region.name,
        "level": region.level,
        "parent_code": codes.get(region.parent_id) if region.parent_id else None,
    }


def _picker_roots(ctx: Context, actor: Actor) -> list[Region]:
    """The regions a user's pickers start at (the policy's jurisdiction roots, outermost first);
    [] for the whole tree. An admin's own region is only where their pickers start."""
    if actor.role == wf.Role.ADMIN:
        own = ctx.db.get(Region, actor.region_id) if actor.region_id is not None else None
        return [own] if own is not None else []
    where = policy.roots(ctx.db, actor)
    if where is None:
        return []
    top = [p for p in where if not any(p != q and p.startswith(q) for q in where)]
    return list(ctx.db.scalars(select(Region).where(Region.path.in_(top)).order_by(Region.code)))


def _codes_of(ctx: Context, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return dict(ctx.db.execute(select(Region.id, Region.code).where(Region.id.in_(wanted))).all())


def regions_children(ctx: Context, actor: Actor, parent: str | None) -> list[dict[str, Any]]:
    """Children of ``parent``; without one, the user's own region and its children (no region:
    the counties). A parent outside the user's subtree does not exist for them (404)."""
    starts = _picker_roots(ctx, actor)
    if parent:
        region = region_parameter(ctx, parent, "parent")
        if region is None or not policy.may_see_region(ctx.db, actor, region):
            raise NotFound("未知区域 / unknown region")
        rows = list(
            ctx.db.scalars(
                select(Region).where(Region.parent_id == region.id).order_by(Region.code)
            )
        )
    elif len(starts) == 1:
        children = ctx.db.scalars(
            select(Region).where(Region.parent_id == starts[0].id).order_by(Region.code)
        )
        rows = [starts[0], *children]
    elif starts or policy.roots(ctx.db, actor) is not None:
        rows = starts
    else:
        rows = list(
            ctx.db.scalars(select(Region).where(Region.parent_id.is_(None)).order_by(Region.code))
        )
    codes = {r.id: r.code for r in rows}
    codes.update(_codes_of(ctx, (r.parent_id for r in rows if r.parent_id not in codes)))
    return [region_json(r, codes) for r in rows]


def regions_tree(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    """The user's region subtree (no region: every county) nested county → town → community."""
    where = None if actor.role == wf.Role.ADMIN else policy.roots(ctx.db, actor)
    stmt = select(Region).order_by(Region.code).where(policy.path_clause(Region.path, where))
    rows = list(ctx.db.scalars(stmt))
    codes = {r.id: r.code for r in rows}
    codes.update(_codes_of(ctx, (r.parent_id for r in rows if r.parent_id not in codes)))
    nodes = {r.id: {**region_json(r, codes), "children": []} for r in rows}
    top: list[dict[str, Any]] = []
    for r in rows:
        node = nodes[r.id]
        if r.parent_id in nodes:
            nodes[r.parent_id]["children"].append(node)
        else:
            top.append(node)
    return top


LEVELS = ("county", "town", "community")
# simplification tolerance (degrees) per level: the outlines orient a person, they are not
# a survey (a county ~100 m, a community ~10 m)
_TOLERANCE = {"county": 0.001, "town": 0.0003, "community": 0.0001}


def regions_collection(ctx: Context, actor: Actor, levels: Iterable[str]) -> dict[str, Any]:
    """The boundaries of the user's regions of ``levels`` as GeoJSON (name and code in the
    properties): drawn under the grids so a map orients a person without a basemap."""
    import shapely

    where = None if actor.role == wf.Role.ADMIN else policy.roots(ctx.db, actor)
    wanted = [lv for lv in LEVELS if lv in set(levels)]
    stmt = (
        select(Region)
        .where(policy.path_clause(Region.path, where), Region.level.in_(wanted))
        .where(Region.boundary.is_not(None))
        .order_by(Region.code)
    )
    rows = list(ctx.db.scalars(stmt))
    seen: set[int] = set()
    features = []
    for r in rows:
        if r.id in seen or r.boundary is None:
            continue
        seen.add(r.id)
        geom = shapely.simplify(r.boundary, _TOLERANCE.get(r.level, 0.0001))
        label = shapely.point_on_surface(r.boundary)
        features.append(
            {
                "type": "Feature",
                "id": r.id,
                "properties": {
                    "code": r.code,
                    "name": r.name,
                    "level": r.level,
                    "label_lon": round(label.x, 6),
                    "label_lat": round(label.y, 6),
                },
                "geometry": shapely.geometry.mapping(geom),
            }
        )
    return {"type": "FeatureCollection", "features": features}
