"""Residents (实有人口): register, edit, find, reveal, and their life events and residences.

Identity numbers are checked (GB 11643) and stored encrypted with a keyed hash; a number
already registered is a conflict (one person, one record). A resident lives in at most one
household at a time (人房关联); moving is a life event (迁入 ends the residence they had).
Every read of a resident's record is logged (``personal_data.log_reads``) in the same
transaction as the read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from server.domain import base_data as bd
from server.domain import identity
from server.domain.errors import DomainError
from server.models import Household, LifeEvent, Residence, Resident
from server.usecases import locks, policy
from server.usecases import personal_data as pd
from server.usecases.base_data import common as c
from server.usecases.base_data import duplicates as dup
from server.usecases.base_data import number_searches as searches
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict, ValidationFailed
from server.usecases.scope import mask_phone

ID_COLUMN = "residents.id_number"
PHONE_COLUMN = "residents.phone"
MAX_LIST = 200
#: The fields whose clear value an answer must never confirm (masked everywhere).
SECRET_FIELDS = ("id_number", "phone")
log = logging.getLogger("wangge.base")


def _key(ctx: Context) -> pd.DataKey:
    return pd.data_key(ctx.data_key_text)


def _today(ctx: Context) -> date:
    """Today in the county's time zone (a child born at 03:00 in Beijing is born today)."""
    return ctx.now().astimezone(ctx.calendar.tz).date()


def parse_id(ctx: Context, value: Any, field: str = "id_number") -> identity.IdNumber:
    if not isinstance(value, str):
        raise ValidationFailed("应为文本 / must be text", fields={field: "text"})
    try:
        return identity.parse_id_number(value, today=_today(ctx), field=field)
    except identity.IdentityError as err:
        raise c.domain(err) from None


def _phone(value: Any) -> str:
    text = c.text(value, "phone", 32)
    phone = pd.normalise_phone(text)
    if text and not 5 <= len(phone.lstrip("+")) <= 20:
        raise ValidationFailed(
            "电话号码无效 / not a phone number", code="bad_phone", fields={"phone": "digits"}
        )
    return phone


def _life_day(ctx: Context, value: Any, field: str, default: date, born: date | None) -> date:
    """The day of a life event (迁入, 迁出, …): it has happened (not after the county's today)
    and not before the person was born (400 ``bad_date`` naming the field)."""
    on = c.day(value, field, default)
    if on > _today(ctx) or (born is not None and on < born):
        raise ValidationFailed(
            "日期不能晚于今天，也不能早于出生日期 / the date is after today or before the birth "
            "date",
            code="bad_date",
            fields={field: "between the birth date and today"},
        )
    return on


def _agrees_with_registration(ctx: Context, number: identity.IdNumber) -> None:
    """The number given later to someone registered without one (a newborn) must be a child's
    number: its birth date within a year, as a birth registration is (``bd.check_newborn``).
    The exact date and the sex then come from the number (it is the authority, as for anyone),
    but a newborn's record never silently becomes an adult's (400 ``id_number_mismatch``)."""
    try:
        bd.check_newborn(number.birth_date, _today(ctx))
    except DomainError:
        raise ValidationFailed(
            "该号码不是新生儿的号码（出生日期不在一年内）/ not a newborn's number (its birth date "
            "is not within the last year)",
            code="id_number_mismatch",
            fields={"id_number": "a newborn's number"},
        ) from None


def set_id_number(ctx: Context, resident: Resident, number: identity.IdNumber) -> None:
    key = _key(ctx)
    resident.id_cipher = pd.encrypt(key, ID_COLUMN, number.value)
    resident.id_hash = pd.digest(key, "id", number.value)
    resident.id_mask = identity.mask_id_number(number.value)
    resident.birth_date = number.birth_date
    resident.sex = number.sex.value


def set_phone(ctx: Context, resident: Resident, phone: str) -> None:
    key = _key(ctx)
    if phone:
        resident.phone_cipher = pd.encrypt(key, PHONE_COLUMN, phone)
        resident.phone_hash = pd.digest(key, "phone", phone)
        resident.phone_mask = mask_phone(phone)
    else:
        resident.phone_cipher = None
        resident.phone_hash = None
        resident.phone_mask = ""


def id_hash(ctx: Context, value: str) -> str:
    """The keyed hash an identity number is found by (the number is checked first)."""
    return pd.digest(_key(ctx), "id", parse_id(ctx, value).value)


def phone_hash(ctx: Context, value: str) -> str:
    return pd.digest(_key(ctx), "phone", pd.normalise_phone(value))


def _digest(body: dict[str, Any]) -> str:
    keys = (
        "name", "id_number", "born_on", "sex", "phone", "registration", "relation",
        "household_id", "moved_in_on",
    )  # fmt: skip
    return c.content_hash({k: body.get(k) for k in keys})


def _newborn(ctx: Context, body: dict[str, Any]) -> tuple[date, identity.Sex]:
    """The birth date and sex of a child registered at birth without an identity number
    (出生登记): both required, the child at most a year old (``bd.check_newborn``)."""
    if body.get("born_on") in (None, ""):
        raise ValidationFailed(
            "请填写公民身份号码（尚无号码的新生儿：填写出生日期和性别）/ give the identity number "
            "(a newborn without one: the birth date and sex)",
            code="id_number_required",
            fields={"id_number": "required"},
        )
    born = c.day(body["born_on"], "born_on", _today(ctx))
    try:
        bd.check_newborn(born, _today(ctx))
        sex = identity.Sex(str(body.get("sex")))
    except DomainError as err:
        raise c.domain(err) from None
    except ValueError:
        raise ValidationFailed(
            "请选择性别 / give the sex (male or female)", fields={"sex": "male or female"}
        ) from None
    return born, sex


def _duplicate(
    ctx: Context, actor: Actor, hashed: str, endpoint: str, before: int, searched: bool = False
) -> Conflict:
    """The 409 of a number already registered (the rule: ``base_data.duplicates``). Whoever
    holds it, the attempt is a search that found them: logged in the read log after the refused
    change is rolled back, and committed. The answer names the record only if the actor may see
    it; a record elsewhere (another county) is not described at all — the same words, no id,
    no place (docs/security.md, "Duplicates"). ``searched``: an edit's new number, also a
    search by number (``base_data.number_searches``), whose row is logged here too."""
    ctx.db.rollback()
    held = dup.holders(ctx, [hashed]).get(hashed)
    if searched:
        searches.searched(ctx, actor, ["id_number"], 0 if held is None else 1, endpoint)
        ctx.db.commit()
    extra: dict[str, Any] = {}
    if held is not None:
        outside = dup.found(ctx, actor, [held], endpoint, before)
        ctx.db.commit()
        if not outside:
            extra["resident_id"] = held.id
    return Conflict(
        dup.MESSAGE, code="duplicate_id_number", fields={"id_number": "already registered"}, **extra
    )


def _replayed(ctx: Context, actor: Actor, resident: Resident, endpoint: str) -> c.Saved[Resident]:
    """A create sent again answers the record as it stands (others may have changed it since):
    that is a read, and it is logged as one."""
    pd.log_reads(ctx, actor, [resident], pd.Purpose.VIEW, endpoint)
    ctx.db.commit()
    return c.Saved(resident, replay=True)


def create_resident(
    ctx: Context, actor: Actor, body: dict[str, Any], endpoint: str = "base.create_resident"
) -> c.Saved[Resident]:
    """Register a person, optionally living in a household from ``moved_in_on`` (a 迁入 event
    and a residence are recorded with them). Idempotent by ``uuid`` (copies sent at once too:
    ``common.create_once``)."""
    key = c.client_uuid(body.get("uuid"))
    digest = _digest(body)
    return c.create_once(
        ctx,
        actor,
        Resident,
        key,
        digest,
        lambda: _register(ctx, actor, body, key, digest, endpoint),
        lambda first: _replayed(ctx, actor, first, endpoint),
    )


def _register(
    ctx: Context, actor: Actor, body: dict[str, Any], key: str, digest: str, endpoint: str
) -> c.Saved[Resident]:
    number: identity.IdNumber | None = None
    newborn: tuple[date, identity.Sex] | None = None
    if body.get("id_number") is not None:
        number = parse_id(ctx, body.get("id_number"))
        given = [k for k in ("born_on", "sex") if body.get(k) is not None]
        if given:  # derived from the number, never typed beside it
            raise ValidationFailed(
                "出生日期和性别由公民身份号码得出，不需填写 / the birth date and sex come from "
                "the identity number",
                fields={k: "derived from id_number" for k in given},
            )
    else:
        newborn = _newborn(ctx, body)
    household = None
    if body.get("household_id") is not None:
        household = _household(ctx, actor, body["household_id"])
    elif not body.get("grid_code"):
        raise ValidationFailed(
            "需要住户（或网格）/ give the household the person lives in (or a grid)",
            fields={"household_id": "required"},
        )
    where = c.Location.of(household) if household else c.grid_location(ctx, body["grid_code"])
    c.check_editable(actor, where, "household_id" if household else "grid_code")
    resident = Resident(
        uuid=key,
        content_hash=digest,
        name=c.name(body.get("name"), "name", 100, required=True),
        registration=bd.Registration(body.get("registration") or bd.Registration.REGISTERED).value,
        relation=bd.Relation(body.get("relation") or bd.Relation.OTHER).value,
        status=bd.ResidentStatus.ACTIVE.value,
        household_id=household.id if household else None,
        created_by_id=actor.id,
        created_at=ctx.now(),
        updated_at=ctx.now(),
        version=1,
    )
    if number is not None:
        set_id_number(ctx, resident, number)
    elif newborn is not None:
        resident.id_mask = ""
        resident.birth_date, resident.sex = newborn[0], newborn[1].value
    set_phone(ctx, resident, _phone(body.get("phone")))
    where.copy_to(resident)
    # Every check of the request comes before the number is looked up: a registration refused
    # after the lookup told a right guess (409 naming the holder) from a wrong one (400, nothing
    # stored, nothing logged), an unlimited oracle of clear identity numbers (outside audit).
    # Now a wrong guess registers a person, in the author's name, for all to see.
    on = (
        _life_day(
            ctx,
            body.get("moved_in_on"),
            "moved_in_on",
            newborn[0] if newborn else _today(ctx),
            resident.birth_date,
        )
        if household is not None
        else None
    )
    hashed = resident.id_hash
    before = dup.guard(ctx, actor, endpoint) if hashed is not None else 0
    holder = (
        ctx.db.scalar(select(Resident.uuid).where(Resident.id_hash == hashed))
        if hashed is not None
        else None
    )
    if holder == key:
        # The number is held by what this very uuid stored: a copy of this create sent at the
        # same moment (under the user's lock of ``dup.guard``, it committed first). No duplicate
        # to log: ``create_once`` answers its replay (or the uuid's conflict).
        raise Conflict(dup.MESSAGE, code="duplicate_id_number")
    if holder is not None and hashed is not None:
        raise _duplicate(ctx, actor, hashed, endpoint, before)
    ctx.db.add(resident)
    try:
        ctx.db.flush()
        if household is not None and on is not None:
            note = "出生登记 / birth registration" if newborn else ""
            event = _event(
                ctx, actor, resident, bd.LifeEventKind.MOVE_IN, on, household, None, note, None
            )
            ctx.db.add(event)
            ctx.db.flush()
            ctx.db.add(
                Residence(resident_id=resident.id, household_id=household.id, started_on=on,
                          started_at=ctx.now())
            )  # fmt: skip
        ctx.db.commit()
    except IntegrityError:
        again = c.after_conflict(ctx, actor, Resident, key, digest)
        if again is not None:
            return _replayed(ctx, actor, again, endpoint)
        if hashed is None:
            raise
        raise _duplicate(ctx, actor, hashed, endpoint, before) from None
    return c.Saved(resident)


def _household(
    ctx: Context, actor: Actor, household_id: Any, field: str = "household_id"
) -> Household:
    ident = household_id if isinstance(household_id, int) else None
    return c.referenced(ctx, actor, Household, ident, field,
                        "未知住户 / unknown household", "unknown_household")  # fmt: skip


def _event(
    ctx: Context,
    actor: Actor,
    resident: Resident,
    kind: bd.LifeEventKind,
    on: date,
    household: Household | None,
    from_household_id: int | None,
    note: str,
    key: str | None,
    digest: str = "",
) -> LifeEvent:
    import uuid as uuidlib

    return LifeEvent(
        uuid=key or str(uuidlib.uuid4()),
        content_hash=digest,
        resident_id=resident.id,
        kind=kind.value,
        occurred_on=on,
        household_id=household.id if household else None,
        from_household_id=from_household_id,
        note=note,
        actor_id=actor.id,
        actor_role=actor.role,
        created_at=ctx.now(),
    )


def update_resident(
    ctx: Context,
    actor: Actor,
    resident_id: int,
    body: dict[str, Any],
    endpoint: str = "base.update_resident",
) -> Resident:
    """Edit a resident's own facts (not where they live: that is a life event)."""
    resident = c.editable(actor, locks.hold_row(ctx.db, Resident, resident_id), "resident")
    if not c.check_version(
        resident, body.get("base_version"), already=_holds(actor, resident, body)
    ):
        return resident
    if "name" in body:
        resident.name = c.name(body["name"], "name", 100, required=True)
    if "registration" in body:
        resident.registration = bd.Registration(body["registration"]).value
    if "relation" in body:
        resident.relation = bd.Relation(body["relation"]).value
    if "phone" in body:
        set_phone(ctx, resident, _phone(body["phone"]))
    hashed = resident.id_hash
    before = 0
    looked_up = False
    if "id_number" in body:
        number = parse_id(ctx, body["id_number"])
        if resident.id_hash is None:
            _agrees_with_registration(ctx, number)
        hashed = pd.digest(_key(ctx), "id", number.value)
        if hashed != resident.id_hash:
            # A new number is looked up (taken: 409, naming the holder inside one's
            # jurisdiction): a search by number as ``GET ?id_number=`` is, bounded and logged.
            searches.guard(ctx, actor, endpoint)
            before = dup.guard(ctx, actor, endpoint)
            looked_up = True
            if ctx.db.scalar(select(Resident.id).where(Resident.id_hash == hashed)):
                raise _duplicate(ctx, actor, hashed, endpoint, before, searched=True)
            searches.searched(ctx, actor, ["id_number"], 0, endpoint)
            set_id_number(ctx, resident, number)
    c.bump(ctx, resident)
    try:
        ctx.db.commit()
    except IntegrityError:
        if hashed is None:
            raise
        raise _duplicate(ctx, actor, hashed, endpoint, before, searched=looked_up) from None
    return resident


def _holds(actor: Actor, resident: Resident, body: dict[str, Any]) -> bool:
    """Does the resident already hold every value the edit sets? Only the plain fields are
    compared: a stale edit that sets the identity number or the phone is always a conflict,
    else "200 with the true value, 409 with any other" would tell the clear value to whoever
    may edit (the attempt is logged)."""
    secret = sorted(k for k in SECRET_FIELDS if k in body)
    if secret and resident.version != body.get("base_version"):
        log.warning(
            "stale edit of resident %s by user %s setting %s: a conflict, whatever the values",
            resident.id, actor.id, ",".join(secret),
        )  # fmt: skip
        return False
    return c.holds(resident, body, ("name", "registration", "relation"))


# --- life events -------------------------------------------------------------------------------


@dataclass
class EventOutcome:
    event: LifeEvent
    resident: Resident
    replay: bool = False


def add_event(ctx: Context, actor: Actor, resident_id: int, body: dict[str, Any]) -> EventOutcome:
    """迁入 / 迁出 / 死亡 / 注销 / 恢复 (append-only). A 迁入 names the household; it ends the
    residence the person had (a move within the jurisdiction) and starts the new one."""
    key = c.client_uuid(body.get("uuid"))
    digest = c.content_hash(
        {k: body.get(k) for k in ("kind", "occurred_on", "household_id", "note")}
    )

    def replayed(existing: LifeEvent) -> EventOutcome:
        if existing.resident_id != resident_id:
            raise Conflict(
                "该 UUID 已被使用 / this UUID is already taken", code="idempotency_conflict"
            )
        resident = c.visible(actor, ctx.db.get(Resident, resident_id), "resident")
        return EventOutcome(existing, resident, replay=True)

    # A copy sent at once that got in first leaves this one's claim nothing to update: it is
    # then answered as its replay (``common.create_once``), not as an event refused.
    return c.create_once(
        ctx,
        actor,
        LifeEvent,
        key,
        digest,
        lambda: _record_event(ctx, actor, resident_id, body, key, digest),
        replayed,
        "actor_id",
    )


def _record_event(
    ctx: Context, actor: Actor, resident_id: int, body: dict[str, Any], key: str, digest: str
) -> EventOutcome:
    resident = c.editable(actor, ctx.db.get(Resident, resident_id), "resident")
    kind = bd.LifeEventKind(body["kind"])
    if body.get("base_version") is not None:
        c.check_version(resident, body["base_version"])
    try:
        rule = bd.apply_event(bd.ResidentStatus(resident.status), kind)
    except bd.LifeEventRefused as err:
        raise Conflict(err.message, code=err.code, fields={"kind": err.message_en}) from None
    on = _life_day(ctx, body.get("occurred_on"), "occurred_on", _today(ctx), resident.birth_date)
    household = None
    if rule.needs_household:
        if body.get("household_id") is None:
            raise ValidationFailed(
                "迁入需要住户 / a move-in names the household", fields={"household_id": "required"}
            )
        household = _household(ctx, actor, body["household_id"])
        c.check_editable(actor, c.Location.of(household), "household_id")
        if household.id == resident.household_id:
            raise Conflict("已住在该户 / already lives in this household", code="same_household",
                           fields={"household_id": "the current household"})  # fmt: skip
    # Claim the resident: only one event at a time moves them on. A conditional UPDATE of the
    # version (the status and version this event was decided on): a concurrent event that
    # committed first leaves nothing to update (on PostgreSQL the second UPDATE waits for the
    # first transaction and then finds the row changed), so this one is refused.
    version = resident.version
    claimed = ctx.db.execute(
        update(Resident)
        .where(
            Resident.id == resident.id,
            Resident.version == version,
            Resident.status == resident.status,
        )
        .values(version=version + 1, updated_at=ctx.now())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        ctx.db.rollback()
        raise Conflict(
            "该人员刚被他人办理了变动，请刷新后再试 / the person's record changed meanwhile "
            "(another event): reload and try again",
            code="event_not_allowed",
            fields={"kind": "the record changed meanwhile"},
        )
    from_household = resident.household_id
    event = _event(
        ctx,
        actor,
        resident,
        kind,
        on,
        household,
        from_household,
        c.text(body.get("note"), "note", 2000),
        key,
        digest,
    )
    ctx.db.add(event)
    ctx.db.flush()
    if rule.ends_residence and from_household is not None:
        ctx.db.execute(
            update(Residence)
            .where(Residence.resident_id == resident.id, Residence.ended_at.is_(None))
            .values(ended_at=ctx.now(), ended_on=on)
        )
        resident.household_id = None
    if household is not None:
        ctx.db.add(
            Residence(
                resident_id=resident.id,
                household_id=household.id,
                started_on=on,
                started_at=ctx.now(),
            )
        )
        resident.household_id = household.id
        c.Location.of(household).copy_to(resident)
    resident.status = rule.to_status.value
    resident.version = version + 1  # as claimed above
    resident.updated_at = ctx.now()
    again = c.commit_new(ctx, actor, LifeEvent, key, digest, "actor_id")
    return (
        EventOutcome(event, resident)
        if again is None
        else EventOutcome(again, resident, replay=True)
    )


# --- reading -----------------------------------------------------------------------------------


@dataclass
class ResidentRecord:
    resident: Resident
    residences: list[Residence]
    events: list[LifeEvent]


def get_resident(ctx: Context, actor: Actor, resident_id: int, endpoint: str) -> ResidentRecord:
    """A resident's record, its residences and life events; the read is logged."""
    resident = c.visible(actor, ctx.db.get(Resident, resident_id), "resident")
    residences = list(
        ctx.db.scalars(
            select(Residence).where(Residence.resident_id == resident.id).order_by(Residence.id)
        )
    )
    events = list(
        ctx.db.scalars(
            select(LifeEvent).where(LifeEvent.resident_id == resident.id).order_by(LifeEvent.id)
        )
    )
    pd.log_reads(ctx, actor, [resident], pd.Purpose.VIEW, endpoint)
    ctx.db.commit()
    return ResidentRecord(resident, residences, events)


@dataclass
class ResidentQuery:
    household: int | None = None
    grid: str | None = None
    q: str | None = None
    id_number: str | None = None
    phone: str | None = None
    status: str | None = None
    after: int | None = None
    limit: int = 100


def list_residents(
    ctx: Context, actor: Actor, query: ResidentQuery, endpoint: str
) -> tuple[list[Resident], int | None]:
    """Residents in jurisdiction, filtered; an identity number or phone is found exactly by its
    keyed hash. Every resident answered is logged (purpose list). A search by number is the
    rule of ``base_data.number_searches``: bounded per user (429), logged hit or miss, and its
    residents logged with purpose search and the numbers searched by."""
    stmt = select(Resident).where(policy.base_clause(actor, Resident))
    by: list[str] = []
    if query.id_number:
        stmt = stmt.where(Resident.id_hash == id_hash(ctx, query.id_number))
        by.append("id_number")
    if query.phone:
        stmt = stmt.where(Resident.phone_hash == phone_hash(ctx, query.phone))
        by.append("phone")
    if by:  # after the number is checked (a malformed one is a 400), before it is looked up
        searches.guard(ctx, actor, endpoint)
    if query.household is not None:
        stmt = stmt.where(Resident.household_id == query.household)
    if query.grid:
        stmt = stmt.where(Resident.grid_code == query.grid)
    if query.q and query.q.strip():
        stmt = stmt.where(Resident.name.contains(query.q.strip(), autoescape=True))
    if query.status:
        stmt = stmt.where(Resident.status == query.status)
    if query.after is not None:
        stmt = stmt.where(Resident.id > query.after)
    rows, after = c.page(ctx, stmt, Resident.id, query.limit)
    if by:
        searches.logged(ctx, actor, by, rows, endpoint)
    else:
        pd.log_reads(ctx, actor, rows, pd.Purpose.LIST, endpoint)
    ctx.db.commit()
    return rows, after


REVEALABLE = ("id_number", "phone")


def reveal(
    ctx: Context, actor: Actor, resident_id: int, fields: list[str], reason: str, endpoint: str
) -> dict[str, str]:
    """The clear identity number and/or phone of a resident, for a stated reason; logged."""
    resident = c.visible(actor, ctx.db.get(Resident, resident_id), "resident")
    why = c.reason(reason)
    wanted = [f for f in REVEALABLE if f in fields]
    if not wanted:
        raise ValidationFailed(
            "请选择要查看的字段 / name the fields", fields={"fields": "id_number or phone"}
        )
    key = _key(ctx)
    out: dict[str, str] = {}
    if "id_number" in wanted:  # "" for a newborn who has no number yet
        out["id_number"] = pd.decrypt(key, ID_COLUMN, resident.id_cipher)
    if "phone" in wanted:
        out["phone"] = pd.decrypt(key, PHONE_COLUMN, resident.phone_cipher)
    pd.log_reads(
        ctx, actor, [resident], pd.Purpose.REVEAL, endpoint, reason=why, fields=",".join(wanted)
    )
    ctx.db.commit()
    return out
