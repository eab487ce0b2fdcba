"""Visits (走访/随访) to a household or a person, and what is due this week.

A visit is recorded offline on the phone and sent with its client ``uuid`` (a replay answers
the first result). Photos are uploads of the visitor (``POST /api/v1/uploads``) named by uuid.
A visit may raise a case in the same request (``raise_case``: the case's own uuid, category,
description; it is reported at the visit's point through the ordinary report use case).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from server.domain import base_data as bd
from server.models import Attachment, Household, KeyGroupKindRow, KeyGroupTag, Resident, Visit
from server.usecases import cases as case_uc
from server.usecases import personal_data as pd
from server.usecases import photos, policy
from server.usecases.base_data import common as c
from server.usecases.base_data import key_groups
from server.usecases.context import Actor, Context
from server.usecases.errors import ValidationFailed

TZ = ZoneInfo("Asia/Shanghai")
_CASE_KEYS = ("uuid", "category_id", "category_code", "description", "address")


@dataclass
class VisitOutcome:
    visit: Visit
    photos: list[str]
    replay: bool = False


def _moment(value: Any, field: str, default: datetime | None) -> datetime | None:
    if value in (None, ""):
        return default
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed(
            "时间格式应为 ISO 8601 / ISO 8601", fields={field: "ISO 8601"}
        ) from None
    if moment.tzinfo is None:
        raise ValidationFailed("时间需带时区 / needs a time zone offset", fields={field: "offset"})
    return moment


def _photo_missing(key: str) -> ValidationFailed:
    return ValidationFailed(
        "照片未上传或已使用 / photo not uploaded, unfinished or already used",
        code="photo_missing",
        fields={"photos": key},
    )


def _check_photos(ctx: Context, actor: Actor, uuids: list[Any]) -> None:
    """Refuse, before anything is written, photos the visit could not claim (``_attach``
    claims them, and still refuses one taken in between)."""
    keys = photos.photo_keys(uuids)
    if not keys:
        return
    ready = set(ctx.db.scalars(select(Attachment.uuid).where(*photos.unclaimed(actor, keys))))
    for key in keys:
        if key not in ready:
            raise _photo_missing(key)


def _attach(ctx: Context, actor: Actor, uuids: list[Any], visit_id: int) -> list[str]:
    keys = photos.photo_keys(uuids)
    if not keys:
        return []
    done = set(
        ctx.db.scalars(
            update(Attachment)
            .where(*photos.unclaimed(actor, keys))
            .values(visit_id=visit_id)
            .returning(Attachment.uuid),
            execution_options={"synchronize_session": False},
        )
    )
    for key in keys:
        if key not in done:
            raise _photo_missing(key)
    return keys


def _replayed(ctx: Context, visit: Visit) -> VisitOutcome:
    """A create sent again: the visit it made, with the photos it kept."""
    kept = list(ctx.db.scalars(select(Attachment.uuid).where(Attachment.visit_id == visit.id)))
    return VisitOutcome(visit, kept, replay=True)


def create(ctx: Context, actor: Actor, body: dict[str, Any]) -> VisitOutcome:
    key = c.client_uuid(body.get("uuid"))
    keys = ("resident_id", "household_id", "visited_at", "lon", "lat", "note", "findings",
            "photos", "raise_case")  # fmt: skip
    digest = c.content_hash({k: body.get(k) for k in keys})
    existing = c.earlier(ctx, actor, Visit, key, digest, "visitor_id")
    if existing is not None:
        return _replayed(ctx, existing)
    resident = household = None
    if body.get("resident_id") is not None:
        resident = c.referenced(ctx, actor, Resident, body["resident_id"], "resident_id",
                                "未知人员 / unknown resident", "unknown_resident")  # fmt: skip
    if body.get("household_id") is not None:
        household = c.referenced(ctx, actor, Household, body["household_id"], "household_id",
                                 "未知住户 / unknown household", "unknown_household")  # fmt: skip
    target = resident or household
    if target is None:
        raise ValidationFailed(
            "走访对象：人员或住户 / visit a resident or a household",
            fields={"resident_id": "or household_id"},
        )
    if household is None and resident is not None and resident.household_id is not None:
        household = ctx.db.get(Household, resident.household_id)
    c.check_editable(actor, c.Location.of(target), "resident_id" if resident else "household_id")
    photo_ids = body.get("photos") or []
    # The visit's own fields are checked before a case is raised: the report commits, and a
    # visit refused after it left a case behind that nobody had asked for on its own.
    visited_at = _moment(body.get("visited_at"), "visited_at", ctx.now())
    device_time = _moment(body.get("device_time"), "device_time", None)
    note = c.text(body.get("note"), "note", 4000)
    findings = c.text(body.get("findings"), "findings", 4000)
    _check_photos(ctx, actor, photo_ids)
    case_id = None
    raise_case = body.get("raise_case")
    if raise_case:
        # The case first, through the ordinary report (idempotent by its own uuid): a visit
        # sent again after a failure links the same case, never a second one.
        report = {
            "lon": body.get("lon"),
            "lat": body.get("lat"),
            **{k: v for k, v in raise_case.items() if k in _CASE_KEYS},
        }
        case_id = case_uc.report(ctx, actor, report).case.id
    visit = Visit(
        uuid=key,
        content_hash=digest,
        resident_id=resident.id if resident else None,
        household_id=household.id if household else None,
        visitor_id=actor.id,
        visited_at=visited_at,
        device_time=device_time,
        lon=body.get("lon"),
        lat=body.get("lat"),
        note=note,
        findings=findings,
        case_id=case_id,
        created_at=ctx.now(),
    )
    c.Location.of(target).copy_to(visit)
    ctx.db.add(visit)
    try:
        ctx.db.flush()
        kept = _attach(ctx, actor, photo_ids, visit.id)
        ctx.db.commit()
    except IntegrityError:
        again = c.after_conflict(ctx, actor, Visit, key, digest, "visitor_id")
        if again is None:
            raise
        return _replayed(ctx, again)
    except Exception:
        ctx.db.rollback()
        raise
    return VisitOutcome(visit, kept)


def listing(
    ctx: Context,
    actor: Actor,
    *,
    resident: int | None = None,
    household: int | None = None,
    mine: bool = False,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[Visit], int | None]:
    stmt = select(Visit).where(policy.visits_clause(actor))
    if resident is not None:
        stmt = stmt.where(Visit.resident_id == resident)
    if household is not None:
        stmt = stmt.where(Visit.household_id == household)
    if mine:
        stmt = stmt.where(Visit.visitor_id == actor.id)
    if after is not None:
        stmt = stmt.where(Visit.id < after)
    return c.page(ctx, stmt, Visit.id.desc(), limit)


# --- due this week -----------------------------------------------------------------------------


@dataclass
class DueItem:
    tag: KeyGroupTag
    kind: KeyGroupKindRow
    resident: Resident
    cycle: bd.Cycle
    last_visit_at: datetime | None
    due: bd.Due


@dataclass
class DueWeek:
    monday: date
    sunday: date
    items: list[DueItem]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in (bd.DueStatus.DUE, bd.DueStatus.DONE, bd.DueStatus.OVERDUE)}
        for item in self.items:
            if item.due.status is not bd.DueStatus.LATER:
                out[item.due.status.value] += 1
        # 本周应访 counts all three: due now, done, and overdue.
        out["due"] += out["done"] + out["overdue"]
        return out


def _local(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def due_this_week(
    ctx: Context,
    actor: Actor,
    *,
    grid: str | None = None,
    today: date | None = None,
    endpoint: str | None = None,
) -> DueWeek:
    """Every open key-group tag of the residents the actor sees (a grid worker: their grids),
    with when it is due (:func:`server.domain.base_data.visit_due`) and its status this week.
    Given the ``endpoint`` it is answered through, each resident is logged in the read log
    (purpose list); the offline bundle logs its own reads, the overview shows only counts.

    A visit to the resident, or to their household, counts."""
    day = today or _local(ctx.now())
    monday, sunday = bd.week_of(day)
    week_start = datetime.combine(monday, time(0), TZ)
    stmt = (
        select(KeyGroupTag, KeyGroupKindRow, Resident)
        .join(KeyGroupKindRow, KeyGroupTag.kind_id == KeyGroupKindRow.id)
        .join(Resident, KeyGroupTag.resident_id == Resident.id)
        .where(
            KeyGroupTag.ended_at.is_(None),
            Resident.status == bd.ResidentStatus.ACTIVE.value,
            policy.base_clause(actor, Resident),
        )
    )
    if grid:
        stmt = stmt.where(Resident.grid_code == grid)
    rows = [
        (t, k, r)
        for t, k, r in ctx.db.execute(stmt.order_by(KeyGroupTag.id)).all()
        if key_groups.visible_tag(actor, r, k)
    ]
    resident_ids = sorted({r.id for _, _, r in rows})
    household_of = {r.id: r.household_id for _, _, r in rows}
    last_before: dict[tuple[str, int | None], datetime] = {}
    this_week: set[tuple[str, int | None]] = set()
    last_any: dict[tuple[str, int | None], datetime] = {}
    households = sorted({h for h in household_of.values() if h is not None})
    for column, ids, tag in (
        (Visit.resident_id, resident_ids, "r"),
        (Visit.household_id, households, "h"),
    ):
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            for ident, before, newest in ctx.db.execute(
                select(
                    column,
                    func.max(Visit.visited_at).filter(Visit.visited_at < week_start),
                    func.max(Visit.visited_at),
                )
                .where(column.in_(chunk))
                .group_by(column)
            ).all():
                if before is not None:
                    last_before[(tag, ident)] = before
                if newest is not None:
                    last_any[(tag, ident)] = newest
                    if newest >= week_start:
                        this_week.add((tag, ident))
    items = []
    for tag_row, kind, resident in rows:
        cycle = key_groups.cycle_of(kind, tag_row.level) or bd.Cycle.MONTHLY
        keys = [("r", resident.id)] + (
            [("h", resident.household_id)] if resident.household_id else []
        )
        befores = [last_before[k] for k in keys if k in last_before]
        latest: datetime | None = max((last_any[k] for k in keys if k in last_any), default=None)
        due = bd.visit_due(
            since=tag_row.since,
            cycle=cycle,
            last_before_week=_local(max(befores)) if befores else None,
            visited_this_week=any(k in this_week for k in keys),
            today=day,
        )
        items.append(DueItem(tag_row, kind, resident, cycle, latest, due))
    order = {
        bd.DueStatus.OVERDUE: 0,
        bd.DueStatus.DUE: 1,
        bd.DueStatus.DONE: 2,
        bd.DueStatus.LATER: 3,
    }
    items.sort(key=lambda i: (order[i.due.status], i.due.due_on, i.resident.id))
    if endpoint is not None:
        # Answered as a list of people (names, key groups): each one is a logged read.
        pd.log_reads(ctx, actor, _distinct(i.resident for i in items), pd.Purpose.LIST, endpoint)
        ctx.db.commit()
    return DueWeek(monday, sunday, items)


def _distinct(people: Iterable[Resident]) -> list[Resident]:
    return list({r.id: r for r in people}.values())
