"""Check-ins (签到) and late check-ins (补签): create, list, decide (docs/field-work.md).

The rules are :mod:`server.domain.check_ins`; this module reads the worker's grids, keeps one
live check-in per worker and day, and stores the decision of a supervisor. A check-in is sent
from the phone's outbox with a client ``uuid``: the same uuid with the same body answers the
first result (whatever the day is by then), anything else with that uuid is a conflict.

Who: grid workers check in (their own); supervisors whose jurisdiction holds the check-in's
community list and decide them (never their own); a worker lists their own
(:mod:`server.usecases.policy`, "field work").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server import cache
from server.domain import check_ins as rules
from server.domain import workflow as wf
from server.domain.errors import DomainError
from server.domain.fields import has_visible_text
from server.models import CheckIn, Grid, GridPlan
from server.usecases import policy
from server.usecases.base_data import common as c
from server.usecases.context import Actor, Context
from server.usecases.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
    ValidationFailed,
    from_domain,
)

#: The body keys whose content a replay must repeat.
_KEYS = ("at", "lon", "lat", "accuracy_m", "reason")
MAX_REASON = 500
MAX_NOTE = 1000


@dataclass
class Saved:
    check_in: CheckIn
    replay: bool = False


@dataclass(frozen=True)
class OwnGrid:
    code: str
    name: str
    geom: Any
    location: c.Location


def own_grids(ctx: Context, actor: Actor) -> list[OwnGrid]:
    """The worker's grids in the active plan, by code."""
    if not actor.grid_codes:
        return []
    rows = ctx.db.execute(
        select(Grid.code, Grid.name, Grid.geom, Grid.community_id)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .where(GridPlan.status == "active", Grid.code.in_(sorted(actor.grid_codes)))
        .order_by(Grid.code)
    ).all()
    regions = cache.reference(ctx.db).regions
    out: list[OwnGrid] = []
    for code, name, geom, community_id in rows:
        community = regions.get(community_id)
        town = regions.get(community.parent_id) if community and community.parent_id else None
        county = regions.get(town.parent_id) if town and town.parent_id else None
        where = c.Location(
            code, community_id, town.id if town else None, county.id if county else None
        )
        out.append(OwnGrid(code, name or "", geom, where))
    return out


def _moment(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            "时间格式应为 ISO 8601 / an ISO 8601 moment", fields={"at": "ISO 8601"}
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationFailed("时间需带时区 / needs a time zone offset", fields={"at": "offset"})
    return moment


def live_on(ctx: Context, worker_id: int, day: date) -> CheckIn | None:
    """The worker's live check-in of ``day`` (any status but rejected), if there is one."""
    return ctx.db.scalar(
        select(CheckIn).where(
            CheckIn.worker_id == worker_id, CheckIn.day == day, CheckIn.status != rules.REJECTED
        )
    )


def create(ctx: Context, actor: Actor, body: dict[str, Any]) -> Saved:
    """签到 (today, inside an own grid) or 补签 (a past day, with a reason): see the module."""
    if actor.role != wf.Role.GRID_WORKER or actor.id is None:
        raise Forbidden("只有网格员可以签到 / only grid workers check in")
    key = c.client_uuid(body.get("uuid"))
    digest = c.content_hash({k: body.get(k) for k in _KEYS})
    # a copy sent at once that got in first makes this one "already checked in" (naming the
    # copy): its replay (``common.create_once``)
    return c.create_once(
        ctx,
        actor,
        CheckIn,
        key,
        digest,
        lambda: _store(ctx, actor, body, key, digest),
        lambda first: Saved(first, replay=True),
        "worker_id",
    )


def _store(ctx: Context, actor: Actor, body: dict[str, Any], key: str, digest: str) -> Saved:
    assert actor.id is not None  # a grid worker (checked by create)
    at = _moment(body.get("at"))
    lon, lat, accuracy = body.get("lon"), body.get("lat"), body.get("accuracy_m")
    if (lon is None) != (lat is None):
        missing = "lat" if lat is None else "lon"
        raise ValidationFailed(
            "经纬度需成对填写 / lon and lat go together", fields={missing: "required"}
        )
    try:
        timing = rules.timing(
            at,
            ctx.now(),
            ctx.calendar.tz,
            rules.parse_deadline(ctx.checkin_deadline),
            # made there (a position) and not asked for as a 补签: sent late by an offline phone
            present=lon is not None and not has_visible_text(str(body.get("reason") or "")),
        )
    except DomainError as err:
        raise from_domain(err) from None
    earlier_one = live_on(ctx, actor.id, timing.day)
    if earlier_one is not None:
        raise Conflict(
            "当天已签到 / already checked in for that day",
            code="already_checked_in",
            record=earlier_one,
        )
    try:
        reason = rules.check_reason(body.get("reason"), timing.makeup)
    except DomainError as err:
        raise from_domain(err) from None
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            f"原因最多 {MAX_REASON} 字 / reason too long",
            fields={"reason": f"at most {MAX_REASON}"},
        )
    grids = own_grids(ctx, actor)
    if not grids:
        raise Unprocessable(
            "你没有分配网格，无法签到 / you have no grid to check in to", code="no_grid"
        )
    shapes = [(g.code, g.geom) for g in grids]
    fit = rules.fit(lon, lat, accuracy, shapes) if lon is not None and lat is not None else None
    if not timing.makeup:
        if fit is None:
            raise ValidationFailed(
                "签到需要当前位置 / a check-in needs the current position",
                code="position_required",
                fields={"lon": "required", "lat": "required"},
            )
        if not fit.inside:
            nearest = next(g for g in grids if g.code == fit.nearest_code)
            raise Unprocessable(
                f"不在本人网格内：距最近的网格 {nearest.name or nearest.code} 约 "
                f"{round(fit.distance_m)} 米 / outside your grids: {round(fit.distance_m)} m "
                f"from the nearest one",
                code="outside_grid",
                fields={"lon": "outside your grids", "lat": "outside your grids"},
                nearest_grid={"code": nearest.code, "name": nearest.name},
                distance_m=round(fit.distance_m, 1),
                tolerance_m=fit.tolerance_m,
            )
    grid = next((g for g in grids if fit is not None and g.code == fit.grid_code), None)
    row = CheckIn(
        uuid=key,
        content_hash=digest,
        worker_id=actor.id,
        day=timing.day,
        at=at.astimezone(UTC),
        received_at=ctx.now(),
        lon=lon,
        lat=lat,
        accuracy_m=accuracy,
        late=timing.late,
        makeup=timing.makeup,
        reason=reason,
        status=timing.status,
    )
    # The grid it fell in; a 补签 away from the worker's grids belongs to their first grid's
    # community (whose supervisors decide it), without a grid of its own.
    (grid.location if grid else c.Location(None, *_rest(grids[0].location))).copy_to(row)
    ctx.db.add(row)
    try:
        ctx.db.commit()
    except IntegrityError:
        again = c.after_conflict(ctx, actor, CheckIn, key, digest, "worker_id")
        if again is not None:
            return Saved(again, replay=True)
        live = live_on(ctx, actor.id, timing.day)
        if live is None:
            raise
        raise Conflict(
            "当天已签到 / already checked in for that day", code="already_checked_in", record=live
        ) from None
    return Saved(row)


def _rest(where: c.Location) -> tuple[int | None, int | None, int | None]:
    return where.community_id, where.town_id, where.county_id


def visible(ctx: Context, actor: Actor, check_in_id: int) -> CheckIn:
    """A check-in the actor may see, else 404 (a foreign one is not revealed)."""
    row = ctx.db.get(CheckIn, check_in_id)
    if row is None or not policy.may_see_check_in(actor, row):
        raise NotFound("未找到 / no such check-in")
    return row


def listing(
    ctx: Context,
    actor: Actor,
    *,
    status: str | None = None,
    day: date | None = None,
    worker_id: int | None = None,
    cursor: int | None = None,
    limit: int = 100,
) -> tuple[list[CheckIn], int | None]:
    """The check-ins the actor may see, newest first (keyset pages by id)."""
    stmt = select(CheckIn).where(policy.check_ins_clause(actor))
    if status is not None:
        stmt = stmt.where(CheckIn.status == status)
    if day is not None:
        stmt = stmt.where(CheckIn.day == day)
    if worker_id is not None:
        stmt = stmt.where(CheckIn.worker_id == worker_id)
    if cursor is not None:
        stmt = stmt.where(CheckIn.id < cursor)
    return c.page(ctx, stmt, CheckIn.id.desc(), limit)


def decide(
    ctx: Context, actor: Actor, check_in_id: int, decision: str, note: str | None
) -> CheckIn:
    """Approve or reject a pending 补签: a supervisor whose jurisdiction holds it, not the
    worker; 409 ``not_pending`` when it is not pending (decided already, or an ordinary one)."""
    row = visible(ctx, actor, check_in_id)
    if not policy.may_decide_check_in(actor, row):
        raise Forbidden("无权审批该补签 / you may not decide this check-in")
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise ValidationFailed(
            f"说明最多 {MAX_NOTE} 字 / note too long", fields={"note": f"at most {MAX_NOTE}"}
        )
    try:
        status = rules.decide(row.status, decision)
    except DomainError as err:
        refused = from_domain(err)
        if isinstance(refused, Conflict):
            refused.extra["record"] = row
        raise refused from None
    now = ctx.now()
    # Only while it is still pending: two supervisors deciding at once, one wins, one gets 409.
    done = ctx.db.execute(
        update(CheckIn)
        .where(CheckIn.id == row.id, CheckIn.status == rules.PENDING)
        .values(status=status, decided_by_id=actor.id, decided_at=now, decision_note=text),
        execution_options={"synchronize_session": False},
    ).rowcount  # type: ignore[attr-defined]
    ctx.db.commit()
    ctx.db.refresh(row)
    if not done:
        raise Conflict(
            "该补签已审批 / this check-in was decided meanwhile", code="not_pending", record=row
        )
    return row
