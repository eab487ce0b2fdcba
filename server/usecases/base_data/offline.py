"""A grid worker's base data for the phone (offline), and the read log.

The bundle holds the worker's grids' places, households and residents, minimised: no clear
identity number or phone (masks only), a birth year rather than a birth date, key-group tags
only of kinds the worker may see; every record with its ``version`` (edits made offline name
it as ``base_version``). Its reading is logged once per resident (purpose ``bundle``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from server.models import Household, PersonalDataRead, Place, Resident
from server.usecases import personal_data as pd
from server.usecases import policy
from server.usecases.base_data import common as c
from server.usecases.base_data import visits
from server.usecases.context import Actor, Context
from server.usecases.errors import Forbidden


@dataclass
class Bundle:
    generated_at: datetime
    grids: list[str]
    places: list[Place]
    households: list[Household]
    residents: list[Resident]
    due: visits.DueWeek


def bundle(ctx: Context, actor: Actor, endpoint: str) -> Bundle:
    if not actor.grid_codes:
        raise Forbidden("没有分配网格 / no grids assigned to you")
    places = list(
        ctx.db.scalars(select(Place).where(policy.base_clause(actor, Place)).order_by(Place.id))
    )
    households = list(
        ctx.db.scalars(
            select(Household).where(policy.base_clause(actor, Household)).order_by(Household.id)
        )
    )
    residents = list(
        ctx.db.scalars(
            select(Resident).where(policy.base_clause(actor, Resident)).order_by(Resident.id)
        )
    )
    due = visits.due_this_week(ctx, actor)
    pd.log_reads(ctx, actor, residents, pd.Purpose.BUNDLE, endpoint)
    ctx.db.commit()
    return Bundle(ctx.now(), sorted(actor.grid_codes), places, households, residents, due)


def read_log(
    ctx: Context,
    actor: Actor,
    *,
    resident: int | None = None,
    reader: int | None = None,
    before: int | None = None,
    limit: int = 100,
) -> tuple[list[PersonalDataRead], int | None]:
    """The read log in the actor's jurisdiction (where the resident read lives), newest
    first."""
    if not policy.may_read_log(actor):
        raise Forbidden("无权查看访问日志 / you may not read the access log")
    stmt = select(PersonalDataRead).where(policy.base_clause(actor, PersonalDataRead))
    if resident is not None:
        stmt = stmt.where(PersonalDataRead.resident_id == resident)
    if reader is not None:
        stmt = stmt.where(PersonalDataRead.actor_id == reader)
    if before is not None:
        stmt = stmt.where(PersonalDataRead.id < before)
    return c.page(ctx, stmt, PersonalDataRead.id.desc(), limit)
