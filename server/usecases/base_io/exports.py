"""Export of base data as .xlsx: residents, organisations, addresses.

Who may export (``policy.BASE_EXPORTERS``): dispatchers, supervisors and admins, each their
jurisdiction (``policy.base_clause``); grid workers carry their grids offline on the phone and
handlers see no base data. Identity numbers and phones are masked; in clear only for the roles
of ``policy.BASE_CLEAR_EXPORTERS`` and only with a reason. Every export names its exporter in the
file (the lines above the table, and the sheet 导出说明) and writes the read log: one row per
resident or organisation exported (purpose ``export``, the reason, the fields given in clear).
Addresses are not personal data; they export in the import template's columns (a round trip).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.domain import workflow as wf
from server.domain.base_data import (
    ORGANISATION_KIND_LABELS,
    REGISTRATION_LABELS,
    RELATION_LABELS,
    RESIDENT_STATUS_LABELS,
    OrganisationKind,
    PlaceKind,
    Registration,
    Relation,
    ResidentStatus,
)
from server.domain.fields import is_stated_reason
from server.domain.identity import SEX_LABELS, Sex
from server.domain.import_templates import ADDRESS_COLUMNS
from server.models import Household, Organisation, Place, Resident
from server.usecases import address_search, policy
from server.usecases.base_io import stored
from server.usecases.base_io.tabular import SheetSpec, write_xlsx
from server.usecases.context import Actor, Context
from server.usecases.errors import Forbidden, ValidationFailed
from server.usecases.personal_data import (
    Purpose,
    data_key,
    decrypt,
    log_organisation_reads,
    log_reads,
)

CHUNK = 500


class ExportKind(StrEnum):
    RESIDENTS = "residents"
    ORGANISATIONS = "organisations"
    ADDRESSES = "addresses"


EXPORT_TITLES = {
    ExportKind.RESIDENTS: ("实有人口", "residents"),
    ExportKind.ORGANISATIONS: ("单位组织", "organisations"),
    ExportKind.ADDRESSES: ("地址房屋", "addresses"),
}
#: Who may export base data at all, and who in clear (with a reason): ``server.usecases.policy``.
EXPORT_ROLES = policy.BASE_EXPORTERS
CLEAR_ROLES = policy.BASE_CLEAR_EXPORTERS
MAX_EXPORT = 500_000


@dataclass(frozen=True)
class ExportRequest:
    kind: ExportKind
    grid: str | None = None
    community_id: int | None = None
    clear: bool = False
    reason: str = ""


@dataclass
class ExportFile:
    data: bytes
    filename: str
    rows: int


def may_export(actor: Actor) -> bool:
    return actor.role in EXPORT_ROLES


def may_export_clear(actor: Actor) -> bool:
    return actor.role in CLEAR_ROLES


def _check(actor: Actor, req: ExportRequest) -> None:
    if not may_export(actor):
        raise Forbidden("无权导出基础数据 / your role may not export base data")
    if req.clear and req.kind is not ExportKind.ADDRESSES:
        if not may_export_clear(actor):
            raise Forbidden(
                "无权导出明文身份证号和电话 / your role may not export identity numbers and "
                "phones in clear",
                code="clear_not_allowed",
            )
        if not is_stated_reason(req.reason):  # zero-width or punctuation only
            raise ValidationFailed(
                "导出明文须填写理由 / a clear export needs a reason",
                code="reason_required",
                fields={"reason": "必填 / required"},
            )


def _filters(model: Any, actor: Actor, req: ExportRequest) -> list[Any]:
    where = [policy.base_clause(actor, model)]
    if req.grid:
        where.append(model.grid_code == req.grid)
    if req.community_id is not None:
        where.append(model.community_id == req.community_id)
    return where


def _about(actor: Actor, req: ExportRequest, at: datetime, tz: str, rows: int) -> list[str]:
    scope = []
    if req.grid:
        scope.append(f"网格 {req.grid}")
    if req.community_id is not None:
        scope.append(f"社区 #{req.community_id}")
    personal = req.kind is not ExportKind.ADDRESSES
    how = (
        (f"明文（理由：{req.reason.strip()}）" if req.clear else "身份证号、电话已脱敏")
        if personal
        else "不含个人信息"
    )
    role = wf.ROLE_LABELS.get(actor.role, (actor.role,))[0]  # type: ignore[call-overload]
    return [
        f"{EXPORT_TITLES[req.kind][0]}导出 · 共 {rows} 条 · {how}",
        f"导出人：{actor.display_name}（{role}，用户 #{actor.id}） · "
        f"{at.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M} · "
        f"范围：{'、'.join(scope) or '管辖范围内全部'}",
        "本文件含公民个人信息，仅限工作使用，不得外传；导出已记录在个人信息访问日志中。"
        if personal
        else "本文件为标准地址数据。",
    ]


def _label(table: dict[Any, tuple[str, str]], enum: type[StrEnum], value: str) -> str:
    try:
        return table[enum(value)][0]
    except (ValueError, KeyError):
        return value


def _places_text(db: Session, place_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted(set(place_ids))
    nodes = address_search.load_nodes(db, ids)
    return {pid: address_search.full_address(nodes, pid) for pid in ids}


def _residents(
    ctx: Context, actor: Actor, req: ExportRequest
) -> tuple[list[str], list[list[Any]], int]:
    db = ctx.db
    people = list(
        db.execute(
            select(Resident)
            .where(*_filters(Resident, actor, req))
            .order_by(Resident.grid_code, Resident.household_id, Resident.id)
            .limit(MAX_EXPORT)
        ).scalars()
    )
    homes: dict[int, int] = {}
    ids = sorted({p.household_id for p in people if p.household_id})
    for start in range(0, len(ids), CHUNK):
        for hid, pid in db.execute(
            select(Household.id, Household.place_id).where(
                Household.id.in_(ids[start : start + CHUNK])
            )
        ):
            homes[hid] = pid
    text = _places_text(db, homes.values())
    key = data_key(ctx.data_key_text)
    header = [
        "姓名", "性别", "出生日期" if req.clear else "出生年份", "公民身份号码", "联系电话",
        "户籍类别", "与户主关系",
        "住址（房屋）", "网格编码", "状态",
    ]  # fmt: skip
    rows: list[list[Any]] = []
    for p in people:
        ident = decrypt(key, stored.ID_COLUMN, p.id_cipher) if req.clear else p.id_mask
        phone = decrypt(key, stored.PHONE_COLUMN, p.phone_cipher) if req.clear else p.phone_mask
        home = text.get(homes.get(p.household_id or 0, 0), "")
        rows.append(
            [
                p.name,
                _label(SEX_LABELS, Sex, p.sex),
                # Masked: the year only (a full date beside the mask tells the number).
                (p.birth_date.isoformat() if req.clear else p.birth_date.year)
                if p.birth_date
                else "",
                ident,
                phone,
                _label(REGISTRATION_LABELS, Registration, p.registration),
                _label(RELATION_LABELS, Relation, p.relation),
                home,
                p.grid_code or "",
                _label(RESIDENT_STATUS_LABELS, ResidentStatus, p.status),
            ]
        )
    fields = "id_number,phone" if req.clear else ""
    log_reads(
        ctx, actor, people, Purpose.EXPORT, "base_io.export", reason=req.reason, fields=fields
    )
    return header, rows, len(people)


def _organisations(
    ctx: Context, actor: Actor, req: ExportRequest
) -> tuple[list[str], list[list[Any]], int]:
    db = ctx.db
    orgs = list(
        db.execute(
            select(Organisation)
            .where(*_filters(Organisation, actor, req))
            .order_by(Organisation.grid_code, Organisation.id)
            .limit(MAX_EXPORT)
        ).scalars()
    )
    key = data_key(ctx.data_key_text)
    header = [
        "单位名称",
        "统一社会信用代码",
        "单位类型",
        "门牌地址",
        "联系人",
        "联系电话",
        "网格编码",
    ]
    rows = [
        [
            o.name,
            o.credit_code or "",
            _label(ORGANISATION_KIND_LABELS, OrganisationKind, o.kind),
            o.address,
            o.contact_name,
            decrypt(key, stored.ORG_PHONE_COLUMN, o.contact_phone_cipher)
            if req.clear
            else o.contact_phone_mask,
            o.grid_code or "",
        ]
        for o in orgs
    ]
    log_organisation_reads(
        ctx,
        actor,
        orgs,
        Purpose.EXPORT,
        "base_io.export",
        reason=req.reason,
        fields="contact_phone" if req.clear else "",
    )
    return header, rows, len(orgs)


def _addresses(
    ctx: Context, actor: Actor, req: ExportRequest
) -> tuple[list[str], list[list[Any]], int]:
    """Rooms (and buildings or units without rooms) in the import template's columns."""
    db = ctx.db
    places = list(
        db.execute(
            select(Place).where(*_filters(Place, actor, req)).order_by(Place.id).limit(MAX_EXPORT)
        ).scalars()
    )
    by_id = {p.id: p for p in places}
    parents = {p.parent_id for p in places if p.parent_id}
    missing = sorted(parents - set(by_id))
    for start in range(0, len(missing), CHUNK):
        for p in db.execute(
            select(Place).where(Place.id.in_(missing[start : start + CHUNK]))
        ).scalars():
            by_id[p.id] = p
    has_children = {p.parent_id for p in places if p.parent_id}
    rows: list[list[Any]] = []
    for p in places:
        if p.kind == PlaceKind.ESTATE or p.id in has_children:
            continue
        chain: dict[str, Any] = {}
        at: Any = p
        while at is not None:
            chain[at.kind] = at
            at = by_id.get(at.parent_id) if at.parent_id else None
        building = chain.get(PlaceKind.BUILDING)
        door = building.address if building is not None else p.address
        rows.append(
            [
                p.grid_code or "",
                chain[PlaceKind.ESTATE].name if PlaceKind.ESTATE in chain else "",
                building.name if building is not None and building.name != door else "",
                chain[PlaceKind.UNIT].name if PlaceKind.UNIT in chain else "",
                p.name if p.kind == PlaceKind.ROOM else "",
                door,
                building.lon if building is not None else p.lon,
                building.lat if building is not None else p.lat,
            ]
        )
    return [c.header for c in ADDRESS_COLUMNS], rows, len(rows)


_BUILD = {
    ExportKind.RESIDENTS: _residents,
    ExportKind.ORGANISATIONS: _organisations,
    ExportKind.ADDRESSES: _addresses,
}


def export(ctx: Context, actor: Actor, req: ExportRequest, tz: str) -> ExportFile:
    """The export file; the read log is written in the caller's transaction (commit it)."""
    _check(actor, req)
    header, rows, count = _BUILD[req.kind](ctx, actor, req)
    at = ctx.now()
    about = _about(actor, req, at, tz, count)
    data = write_xlsx(
        [
            SheetSpec(EXPORT_TITLES[req.kind][0], header, rows, above=about),
            SheetSpec("导出说明", ["项目", "内容"], _notes(about), widths=[12, 80]),
        ]
    )
    local = at.astimezone(ZoneInfo(tz))
    name = f"wangge-{req.kind.value}-{local:%Y%m%d-%H%M}.xlsx"
    return ExportFile(data, name, count)


def _notes(about: Sequence[str]) -> Iterator[list[str]]:
    for i, line in enumerate(about):
        yield [("内容", "导出人", "说明")[i] if i < 3 else "", line]
