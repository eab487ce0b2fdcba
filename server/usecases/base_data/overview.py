"""The overview of base data per grid: households, residents (registered/floating), key
groups by kind and level, and this week's visits (due/done/overdue), over the actor's
jurisdiction (a grid worker: their grids)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from server.domain import base_data as bd
from server.models import Household, KeyGroupKindRow, KeyGroupTag, Resident
from server.usecases import policy
from server.usecases.base_data import visits
from server.usecases.context import Actor, Context


@dataclass
class GridFigures:
    grid_code: str | None
    community_id: int | None = None
    households: int = 0
    registered: int = 0
    floating: int = 0
    key_groups: dict[str, dict[int, int]] = field(default_factory=dict)
    due: dict[str, int] = field(default_factory=lambda: {"due": 0, "done": 0, "overdue": 0})


def overview(ctx: Context, actor: Actor, *, grid: str | None = None) -> list[GridFigures]:
    rows: dict[str | None, GridFigures] = {}

    def at(code: str | None, community_id: int | None = None) -> GridFigures:
        if code not in rows:
            rows[code] = GridFigures(code, community_id)
        if community_id is not None:
            rows[code].community_id = community_id
        return rows[code]

    hstmt = select(Household.grid_code, Household.community_id, func.count()).where(
        policy.base_clause(actor, Household)
    )
    rstmt = select(Resident.grid_code, Resident.community_id, Resident.registration, func.count())
    rstmt = rstmt.where(
        policy.base_clause(actor, Resident), Resident.status == bd.ResidentStatus.ACTIVE.value
    )
    tstmt = (
        select(Resident.grid_code, KeyGroupKindRow.code, KeyGroupTag.level, func.count())
        .join(Resident, KeyGroupTag.resident_id == Resident.id)
        .join(KeyGroupKindRow, KeyGroupTag.kind_id == KeyGroupKindRow.id)
        .where(
            policy.base_clause(actor, Resident),
            Resident.status == bd.ResidentStatus.ACTIVE.value,
            KeyGroupTag.ended_at.is_(None),
        )
    )
    if not policy.sees_sensitive_kinds(actor):
        tstmt = tstmt.where(KeyGroupKindRow.sensitive.is_(False))
    if grid:
        hstmt = hstmt.where(Household.grid_code == grid)
        rstmt = rstmt.where(Resident.grid_code == grid)
        tstmt = tstmt.where(Resident.grid_code == grid)
    for code, community, n in ctx.db.execute(
        hstmt.group_by(Household.grid_code, Household.community_id)
    ):
        at(code, community).households += n
    for code, community, registration, n in ctx.db.execute(
        rstmt.group_by(Resident.grid_code, Resident.community_id, Resident.registration)
    ):
        row = at(code, community)
        if registration == bd.Registration.FLOATING.value:
            row.floating += n
        else:
            row.registered += n
    for code, kind, level, n in ctx.db.execute(
        tstmt.group_by(Resident.grid_code, KeyGroupKindRow.code, KeyGroupTag.level)
    ):
        at(code).key_groups.setdefault(kind, {})[level] = n
    for item in visits.due_this_week(ctx, actor, grid=grid).items:
        status = item.due.status
        if status is bd.DueStatus.LATER:
            continue
        counts = at(item.resident.grid_code).due
        counts["due"] += 1
        if status is not bd.DueStatus.DUE:
            counts[status.value] += 1
    return sorted(rows.values(), key=lambda r: r.grid_code or "")
