"""Regions for pickers (any signed-in user), kept to the user's own region subtree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

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
    if actor.role == "admin":
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
    where = None if actor.role == "admin" else policy.roots(ctx.db, actor)
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
