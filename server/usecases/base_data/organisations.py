"""Organisations (单位/两新组织) with their 统一社会信用代码 (GB 32100 check character)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.domain import base_data as bd
from server.domain import identity
from server.models import Organisation, Place
from server.usecases import locks, policy
from server.usecases import personal_data as pd
from server.usecases.base_data import common as c
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict, ValidationFailed
from server.usecases.scope import mask_phone

PHONE_COLUMN = "organisations.contact_phone"
log = logging.getLogger("wangge.base")


def _credit(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValidationFailed("应为文本 / must be text", fields={"credit_code": "text"})
    try:
        return identity.check_credit_code(value)
    except identity.CreditCodeError as err:
        raise c.domain(err) from None


def _set_phone(ctx: Context, org: Organisation, value: Any) -> None:
    phone = pd.normalise_phone(c.text(value, "contact_phone", 32))
    key = pd.data_key(ctx.data_key_text)
    org.contact_phone_cipher = pd.encrypt(key, PHONE_COLUMN, phone) if phone else None
    org.contact_phone_hash = pd.digest(key, "phone", phone) if phone else None
    org.contact_phone_mask = mask_phone(phone) if phone else ""


def _duplicate(ctx: Context, actor: Actor, credit: str | None) -> Conflict:
    """The 409 of a credit code already registered: the same words wherever the organisation
    is (no id, no place); the attempt is logged on ``wangge.base`` (organisations are not
    persons: they have no read-log rows)."""
    ctx.db.rollback()
    other = ctx.db.scalar(select(Organisation).where(Organisation.credit_code == credit))
    if other is not None:
        log.warning(
            "user %s gave the credit code of organisation %s (%s jurisdiction)",
            actor.id, other.id, "in" if policy.may_see_base(actor, other) else "outside their",
        )  # fmt: skip
    return Conflict(
        "该统一社会信用代码已登记 / an organisation with this credit code is registered",
        code="duplicate_credit_code",
        fields={"credit_code": "already registered"},
    )


def create(ctx: Context, actor: Actor, body: dict[str, Any]) -> c.Saved[Organisation]:
    key = c.client_uuid(body.get("uuid"))
    keys = ("name", "credit_code", "kind", "address", "lon", "lat", "place_id", "grid_code",
            "contact_name", "contact_phone")  # fmt: skip
    digest = c.content_hash({k: body.get(k) for k in keys})
    # a copy sent at once that got in first makes this one a "duplicate_credit_code": its replay
    return c.create_once(
        ctx,
        actor,
        Organisation,
        key,
        digest,
        lambda: _store(ctx, actor, body, key, digest),
    )


def _store(
    ctx: Context, actor: Actor, body: dict[str, Any], key: str, digest: str
) -> c.Saved[Organisation]:
    credit = _credit(body.get("credit_code"))
    place = None
    if body.get("place_id") is not None:
        place = c.referenced(ctx, actor, Place, body["place_id"], "place_id",
                             "未知地点 / unknown place", "unknown_place")  # fmt: skip
    lon, lat = body.get("lon"), body.get("lat")
    where, field = c.place_of(
        ctx, lon, lat, body.get("grid_code"), c.Location.of(place) if place else None, "place_id"
    )
    c.check_editable(actor, where, field)
    if credit and ctx.db.scalar(select(Organisation.id).where(Organisation.credit_code == credit)):
        raise _duplicate(ctx, actor, credit)
    org = Organisation(
        uuid=key,
        content_hash=digest,
        name=c.name(body.get("name"), "name", 200, required=True),
        credit_code=credit,
        kind=bd.OrganisationKind(body.get("kind") or bd.OrganisationKind.ENTERPRISE).value,
        address=c.text(body.get("address"), "address", 300),
        place_id=place.id if place else None,
        lon=lon,
        lat=lat,
        contact_name=c.name(body.get("contact_name"), "contact_name", 100),
        created_by_id=actor.id,
        created_at=ctx.now(),
        updated_at=ctx.now(),
        version=1,
    )
    _set_phone(ctx, org, body.get("contact_phone"))
    where.copy_to(org)
    ctx.db.add(org)
    try:
        again = c.commit_new(ctx, actor, Organisation, key, digest)
    except IntegrityError:
        raise _duplicate(ctx, actor, credit) from None
    return c.Saved(org) if again is None else c.Saved(again, replay=True)


def update(ctx: Context, actor: Actor, org_id: int, body: dict[str, Any]) -> Organisation:
    org = c.editable(actor, locks.hold_row(ctx.db, Organisation, org_id), "organisation")
    same = c.holds(org, body, ("name", "kind", "address", "contact_name"),
                   other=("credit_code", "contact_phone"))  # fmt: skip
    if not c.check_version(org, body.get("base_version"), already=same):
        return org
    if "name" in body:
        org.name = c.name(body["name"], "name", 200, required=True)
    credit = org.credit_code
    if "credit_code" in body:
        credit = _credit(body["credit_code"])
        taken = select(Organisation.id).where(Organisation.credit_code == credit)
        if credit and credit != org.credit_code and ctx.db.scalar(taken):
            raise _duplicate(ctx, actor, credit)
        org.credit_code = credit
    if "kind" in body:
        org.kind = bd.OrganisationKind(body["kind"]).value
    if "address" in body:
        org.address = c.text(body["address"], "address", 300)
    if "contact_name" in body:
        org.contact_name = c.name(body["contact_name"], "contact_name", 100)
    if "contact_phone" in body:
        _set_phone(ctx, org, body["contact_phone"])
    c.bump(ctx, org)
    try:
        ctx.db.commit()
    except IntegrityError:
        raise _duplicate(ctx, actor, credit) from None
    return org


def get(ctx: Context, actor: Actor, org_id: int) -> Organisation:
    return c.visible(actor, ctx.db.get(Organisation, org_id), "organisation")


def listing(
    ctx: Context,
    actor: Actor,
    *,
    grid: str | None = None,
    q: str | None = None,
    credit_code: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[Organisation], int | None]:
    stmt = select(Organisation).where(policy.base_clause(actor, Organisation))
    if grid:
        stmt = stmt.where(Organisation.grid_code == grid)
    if q and q.strip():
        stmt = stmt.where(Organisation.name.contains(q.strip(), autoescape=True))
    if credit_code:
        stmt = stmt.where(Organisation.credit_code == credit_code.strip().upper())
    if after is not None:
        stmt = stmt.where(Organisation.id > after)
    return c.page(ctx, stmt, Organisation.id, limit)
