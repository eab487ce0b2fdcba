"""Key groups (重点人群/关爱对象): kinds and their levels, tags on residents, level changes
approved by the community or town."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.domain import base_data as bd
from server.models import KeyGroupKindRow, KeyGroupTag, LevelRequest, Resident
from server.usecases import locks, policy
from server.usecases import personal_data as pd
from server.usecases.base_data import common as c
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict, Forbidden, NotFound, ValidationFailed

log = logging.getLogger("wangge.admin")
#: The built-in kinds that are sensitive by law and practice: their flag cannot be lowered.
BUILTIN_SENSITIVE = frozenset(k.code for k in bd.BUILTIN_KINDS if k.sensitive)


def ensure_builtin(ctx: Context) -> None:
    """Store the built-in kinds (``BUILTIN_KINDS``) that are not stored yet: the domain table is
    the one list; an admin retires a kind rather than deleting it."""
    have = set(ctx.db.scalars(select(KeyGroupKindRow.code).where(KeyGroupKindRow.builtin)))
    missing = [k for k in bd.BUILTIN_KINDS if k.code not in have]
    if not missing:
        return
    for k in missing:
        ctx.db.add(
            KeyGroupKindRow(code=k.code, name=k.name, sensitive=k.sensitive,
                            levels=bd.levels_json(k.levels), active=True, builtin=True, version=1)
        )  # fmt: skip
    try:
        ctx.db.commit()
    except IntegrityError:  # another request stored them meanwhile
        ctx.db.rollback()


def kinds(ctx: Context) -> list[KeyGroupKindRow]:
    ensure_builtin(ctx)
    return list(ctx.db.scalars(select(KeyGroupKindRow).order_by(KeyGroupKindRow.id)))


def cycle_of(kind: KeyGroupKindRow, level: int) -> bd.Cycle | None:
    for lv in kind.levels or []:
        if lv.get("level") == level:
            return bd.Cycle(lv["cycle"])
    return None


def _level_of(kind: KeyGroupKindRow, value: Any, field: str) -> int:
    """``value`` as one of ``kind``'s levels, else 400 ``unknown_level`` on ``field``."""
    if not isinstance(value, int) or cycle_of(kind, value) is None:
        raise ValidationFailed(
            "该类别没有这个等级 / no such level for this kind",
            code="unknown_level",
            fields={field: "unknown"},
        )
    return value


def _levels(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise ValidationFailed("至少一个等级 / at least one level", fields={"levels": "required"})
    out = []
    seen: set[int] = set()
    for i, lv in enumerate(value):
        level, cycle = lv.get("level"), lv.get("cycle")
        if not isinstance(level, int) or level in seen or not 1 <= level <= 9:
            raise ValidationFailed(
                "等级应为 1–9 且不重复 / levels 1-9, each once",
                fields={f"levels[{i}].level": "1-9, once"},
            )
        if cycle not in bd.CYCLE_DAYS:
            raise ValidationFailed(
                "未知周期 / unknown cycle",
                fields={f"levels[{i}].cycle": "weekly, biweekly, monthly or quarterly"},
            )
        seen.add(level)
        out.append(
            {
                "level": level,
                "name": c.name(lv.get("name") or f"{level}级", f"levels[{i}].name", 40),
                "cycle": cycle,
            }
        )
    return sorted(out, key=lambda lv: lv["level"])


def create_kind(ctx: Context, actor: Actor, body: dict[str, Any]) -> KeyGroupKindRow:
    ensure_builtin(ctx)
    code = c.text(body.get("code"), "code", 40, required=True)
    # Creations of one code at once each saw it free (a 500 on the unique key: an outside
    # audit); one after the other, the code is taken for all but the first.
    locks.hold(ctx.db, locks.Scope.KEY_GROUP_KINDS, [0])
    if ctx.db.scalar(select(KeyGroupKindRow.id).where(KeyGroupKindRow.code == code)):
        raise Conflict(
            "代码已存在 / this code exists", code="duplicate_code", fields={"code": "taken"}
        )
    kind = KeyGroupKindRow(
        code=code,
        name=c.name(body.get("name"), "name", 100, required=True),
        sensitive=bool(body.get("sensitive", False)),
        levels=_levels(body.get("levels")),
        active=True,
        builtin=False,
        version=1,
    )
    ctx.db.add(kind)
    ctx.db.commit()
    log.info(
        "admin %s created key-group kind %s (%s, sensitive=%s)",
        actor.id, kind.id, kind.code, kind.sensitive,
    )  # fmt: skip
    return kind


def update_kind(ctx: Context, actor: Actor, kind_id: int, body: dict[str, Any]) -> KeyGroupKindRow:
    kind = locks.hold_row(ctx.db, KeyGroupKindRow, kind_id)
    if kind is None:
        raise NotFound("未找到 / no such kind")
    c.check_version(kind, body.get("base_version"))
    before = {"name": kind.name, "sensitive": kind.sensitive, "active": kind.active,
              "levels": kind.levels}  # fmt: skip
    if (
        "sensitive" in body
        and not body["sensitive"]
        and kind.sensitive
        and (kind.builtin or kind.code in BUILTIN_SENSITIVE)
    ):
        log.warning(
            "admin %s tried to lower the sensitive flag of built-in kind %s (%s): refused",
            actor.id, kind.id, kind.code,
        )  # fmt: skip
        raise Conflict(
            "内置敏感人群类别不能改为非敏感 / a built-in sensitive kind stays sensitive",
            code="builtin_sensitive",
            fields={"sensitive": "a built-in sensitive kind stays sensitive"},
        )
    if "name" in body:
        kind.name = c.name(body["name"], "name", 100, required=True)
    if "sensitive" in body:
        kind.sensitive = bool(body["sensitive"])
    if "active" in body:
        kind.active = bool(body["active"])
    if "levels" in body:
        kind.levels = _levels(body["levels"])
    kind.version += 1
    ctx.db.commit()
    changed = {k: (v, getattr(kind, k)) for k, v in before.items() if getattr(kind, k) != v}
    log.info(
        "admin %s updated key-group kind %s (%s) to version %s: %s",
        actor.id, kind.id, kind.code, kind.version, changed,
    )  # fmt: skip
    return kind


def visible_tag(actor: Actor, resident: Resident, kind: KeyGroupKindRow) -> bool:
    """Does the actor see this tag (a sensitive kind only where :func:`policy.sees_sensitive`)?"""
    return not kind.sensitive or policy.sees_sensitive(actor, resident)


def tags_of(
    ctx: Context, actor: Actor, residents: list[Resident]
) -> dict[int, list[tuple[KeyGroupTag, KeyGroupKindRow]]]:
    """The open tags the actor may see, per resident."""
    ids = [r.id for r in residents]
    out: dict[int, list[tuple[KeyGroupTag, KeyGroupKindRow]]] = {i: [] for i in ids}
    if not ids:
        return out
    by_id = {r.id: r for r in residents}
    for i in range(0, len(ids), 500):
        rows = ctx.db.execute(
            select(KeyGroupTag, KeyGroupKindRow)
            .join(KeyGroupKindRow, KeyGroupTag.kind_id == KeyGroupKindRow.id)
            .where(KeyGroupTag.resident_id.in_(ids[i : i + 500]), KeyGroupTag.ended_at.is_(None))
            .order_by(KeyGroupTag.id)
        ).all()
        for tag, kind in rows:
            if visible_tag(actor, by_id[tag.resident_id], kind):
                out[tag.resident_id].append((tag, kind))
    return out


@dataclass
class TagOutcome:
    tag: KeyGroupTag
    kind: KeyGroupKindRow
    replay: bool = False


def _kind_by_code(ctx: Context, code: Any) -> KeyGroupKindRow:
    ensure_builtin(ctx)
    kind = ctx.db.scalar(select(KeyGroupKindRow).where(KeyGroupKindRow.code == code))
    if kind is None or not kind.active:
        raise ValidationFailed(
            "未知人群类别 / unknown key-group kind",
            code="unknown_kind",
            fields={"kind_code": "unknown"},
        )
    return kind


def add_tag(ctx: Context, actor: Actor, resident_id: int, body: dict[str, Any]) -> TagOutcome:
    key = c.client_uuid(body.get("uuid"))
    digest = c.content_hash({k: body.get(k) for k in ("kind_code", "level", "since", "note")})

    def replayed(existing: KeyGroupTag) -> TagOutcome:
        # not shown again once the resident is outside the author's jurisdiction (404)
        c.visible(actor, ctx.db.get(Resident, existing.resident_id), "resident")
        kind = ctx.db.get(KeyGroupKindRow, existing.kind_id)
        assert kind is not None
        return TagOutcome(existing, kind, replay=True)

    # a copy sent at once that got in first makes this one "already tagged": its replay
    return c.create_once(
        ctx,
        actor,
        KeyGroupTag,
        key,
        digest,
        lambda: _store_tag(ctx, actor, resident_id, body, key, digest),
        replayed,
    )


def _store_tag(
    ctx: Context, actor: Actor, resident_id: int, body: dict[str, Any], key: str, digest: str
) -> TagOutcome:
    resident = c.editable(actor, ctx.db.get(Resident, resident_id), "resident")
    kind = _kind_by_code(ctx, body.get("kind_code"))
    if not visible_tag(actor, resident, kind):
        raise Forbidden("无权登记该类人群 / you may not keep this kind of key group")
    level = _level_of(kind, body.get("level"), "level")
    tag = KeyGroupTag(
        uuid=key,
        content_hash=digest,
        resident_id=resident.id,
        kind_id=kind.id,
        level=level,
        since=c.day(body.get("since"), "since", ctx.now().date()),
        note=c.text(body.get("note"), "note", 2000),
        created_by_id=actor.id,
        created_at=ctx.now(),
        version=1,
    )
    ctx.db.add(tag)
    try:
        ctx.db.commit()
    except IntegrityError:
        ctx.db.rollback()
        raise Conflict(
            "已在该人群中 / already tagged with this kind",
            code="already_tagged",
            fields={"kind_code": "already tagged"},
        ) from None
    return TagOutcome(tag, kind)


def _tag(
    ctx: Context, actor: Actor, tag_id: int, *, hold: bool = False
) -> tuple[KeyGroupTag, KeyGroupKindRow, Resident]:
    """The tag, its kind and resident, if the actor sees them (else 404). ``hold``: the tag is
    read held to the commit (``locks.hold_row``), for a change that depends on it as it stands
    (ended or not, its level): an end, a level request and a decision at once are then one
    after the other."""
    tag = locks.hold_row(ctx.db, KeyGroupTag, tag_id) if hold else ctx.db.get(KeyGroupTag, tag_id)
    resident = ctx.db.get(Resident, tag.resident_id) if tag else None
    kind = ctx.db.get(KeyGroupKindRow, tag.kind_id) if tag else None
    if tag is None or resident is None or kind is None:
        raise NotFound("未找到 / no such tag")
    if not policy.may_see_base(actor, resident) or not visible_tag(actor, resident, kind):
        raise NotFound("未找到 / no such tag")
    return tag, kind, resident


def end_tag(ctx: Context, actor: Actor, tag_id: int, body: dict[str, Any]) -> TagOutcome:
    tag, kind, resident = _tag(ctx, actor, tag_id, hold=True)
    c.editable(actor, resident, "resident")
    c.check_version(tag, body.get("base_version"))
    if tag.ended_at is not None:
        raise Conflict("已结束 / already ended", code="tag_ended")
    tag.ended_at = ctx.now()
    reason = c.text(body.get("reason"), "reason", 500)
    tag.note = (tag.note + "\n" if tag.note else "") + f"结束 / ended: {reason}"
    tag.version += 1
    ctx.db.commit()
    return TagOutcome(tag, kind)


def request_level(ctx: Context, actor: Actor, tag_id: int, body: dict[str, Any]) -> LevelRequest:
    """Ask for a change of the tag's level: 409 ``tag_ended`` once it has ended — read with the
    tag held, so an end sent at the same moment is either seen (the request refused) or waits
    for the request's commit (then ends the tag; the request is then never approved:
    :func:`decide_level`)."""
    tag, kind, resident = _tag(ctx, actor, tag_id, hold=True)
    c.editable(actor, resident, "resident")
    to_level = _level_of(kind, body.get("to_level"), "to_level")
    if to_level == tag.level:
        raise ValidationFailed(
            "等级未变 / the same level", code="same_level", fields={"to_level": "the current level"}
        )
    if tag.ended_at is not None:
        raise Conflict("已结束 / the tag has ended", code="tag_ended")
    req = LevelRequest(
        tag_id=tag.id,
        from_level=tag.level,
        to_level=to_level,
        reason=c.reason(body.get("reason"), "reason", 1000),
        status=bd.LevelRequestStatus.PENDING.value,
        requested_by_id=actor.id,
        requested_at=ctx.now(),
    )
    ctx.db.add(req)
    try:
        ctx.db.commit()
    except IntegrityError:
        ctx.db.rollback()
        raise Conflict(
            "已有待审批的申请 / a request is already pending", code="request_pending"
        ) from None
    return req


def decide_level(
    ctx: Context, actor: Actor, request_id: int, body: dict[str, Any]
) -> tuple[LevelRequest, KeyGroupTag]:
    """Approve or decline a pending request (409 ``already_decided`` once decided). The
    request and then its tag are read held to the commit (``locks.hold_row``): of decisions
    sent at once, one is taken and the others see it; before, each saw the request pending and
    all were answered 200, the last status stored beside the first's level. An approval of a
    tag that has ended since the request is 409 ``tag_ended`` (an ended tag's level stays what
    it was); a decline is still taken, to close the request."""
    req = locks.hold_row(ctx.db, LevelRequest, request_id)
    if req is None:
        raise NotFound("未找到 / no such request")
    tag, _kind, resident = _tag(ctx, actor, req.tag_id, hold=True)
    if not policy.may_decide_level(actor, resident, req.requested_by_id):
        if actor.id == req.requested_by_id:
            raise Forbidden("不能审批自己的申请 / you cannot decide your own request")
        raise Forbidden("由社区或街道（乡镇）审批 / the community or town decides")
    if req.status != bd.LevelRequestStatus.PENDING.value:
        raise Conflict("已审批 / already decided", code="already_decided")
    approve = body.get("approve")
    if not isinstance(approve, bool):
        raise ValidationFailed("approve 应为 true 或 false", fields={"approve": "true or false"})
    if approve and tag.ended_at is not None:
        raise Conflict("已结束 / the tag has ended", code="tag_ended")
    req.status = (
        bd.LevelRequestStatus.APPROVED if approve else bd.LevelRequestStatus.DECLINED
    ).value
    req.decided_by_id = actor.id
    req.decided_at = ctx.now()
    req.decision_note = c.text(body.get("note"), "note", 1000)
    if approve:
        tag.level = req.to_level
        tag.version += 1
    ctx.db.commit()
    return req, tag


def list_requests(
    ctx: Context, actor: Actor, status: str | None, endpoint: str
) -> list[tuple[LevelRequest, KeyGroupTag, KeyGroupKindRow, Resident]]:
    """Level requests in jurisdiction (newest first, at most 500); each resident named in the
    answer is logged in the read log (purpose list)."""
    stmt = (
        select(LevelRequest, KeyGroupTag, KeyGroupKindRow, Resident)
        .join(KeyGroupTag, LevelRequest.tag_id == KeyGroupTag.id)
        .join(KeyGroupKindRow, KeyGroupTag.kind_id == KeyGroupKindRow.id)
        .join(Resident, KeyGroupTag.resident_id == Resident.id)
        .where(policy.base_clause(actor, Resident))
    )
    if status:
        stmt = stmt.where(LevelRequest.status == status)
    rows = ctx.db.execute(stmt.order_by(LevelRequest.id.desc()).limit(500)).all()
    out = [(r, t, k, p) for r, t, k, p in rows if visible_tag(actor, p, k)]
    people = list({p.id: p for _r, _t, _k, p in out}.values())
    pd.log_reads(ctx, actor, people, pd.Purpose.LIST, endpoint)
    ctx.db.commit()
    return out
