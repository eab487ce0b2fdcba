"""Grids of the active and draft plans, with their duties (admin list)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import or_, select

from server.models import DUTIES, Grid, GridAssignment, GridPlan, Region, User
from server.usecases.admin.request_body import region_parameter
from server.usecases.context import Context
from server.usecases.errors import NotFound


def list_grids(
    ctx: Context, *, region: str | None = None, unstaffed: bool = False, q: str | None = None
) -> dict[str, Any]:
    """Active grids (of a region subtree) with their duties. A grid without an active
    full-time grid worker (专职网格员) is ``unstaffed``."""
    community = Region.__table__.alias("community")
    stmt = (
        select(Grid, community.c.code, community.c.name, community.c.parent_id)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .join(community, Grid.community_id == community.c.id)
        .where(GridPlan.status == "active")
        .order_by(Grid.code)
    )
    if region:
        reg = region_parameter(ctx, region, "region")
        if reg is None:
            raise NotFound("未知区域 / unknown region")
        stmt = stmt.where(community.c.path.startswith(reg.path))
    if q:
        q = q.strip()[:100]
        stmt = stmt.where(
            or_(Grid.code.contains(q, autoescape=True), Grid.name.icontains(q, autoescape=True))
        )
    rows = ctx.db.execute(stmt).all()
    codes = [g.code for g, *_ in rows]
    towns = {
        r.id: r
        for r in ctx.db.scalars(
            select(Region).where(Region.id.in_(sorted({p for *_, p in rows if p is not None})))
        )
    }
    people: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    if codes:
        in_scope = stmt.with_only_columns(Grid.code).order_by(None)
        duty_rows = ctx.db.execute(
            select(GridAssignment.grid_code, GridAssignment.duty, User)
            .join(User, GridAssignment.user_id == User.id)
            .where(GridAssignment.grid_code.in_(in_scope))
            .order_by(User.id)
        ).all()
        for code, duty, user in duty_rows:
            people[code][duty].append(
                {
                    "user_id": user.id,
                    "username": user.username,
                    "display_name": user.display_name,
                    "role": user.role,
                    "phone": user.phone,
                    "active": user.active,
                }
            )
    items = []
    unstaffed_count = 0
    for grid, c_code, c_name, town_id in rows:
        duties = {d: people[grid.code].get(d, []) for d in DUTIES}
        is_unstaffed = not any(p["active"] for p in duties["full_time"])
        unstaffed_count += is_unstaffed
        if unstaffed and not is_unstaffed:
            continue
        town = towns.get(town_id) if town_id is not None else None
        items.append(
            {
                "id": grid.id,
                "code": grid.code,
                "name": grid.name,
                "kind": grid.kind,
                "subkind": grid.subkind,
                "households": grid.households,
                "community": {"id": grid.community_id, "code": c_code, "name": c_name},
                "town": {"id": town.id, "code": town.code, "name": town.name} if town else None,
                "duties": duties,
                "unstaffed": is_unstaffed,
            }
        )
    return {
        "items": items,
        "next_cursor": None,
        "counts": {"grids": len(rows), "unstaffed": unstaffed_count},
    }
