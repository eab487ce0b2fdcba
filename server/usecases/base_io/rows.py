"""The checks of one import row that need no database: required cells, check digits, choices,
numbers. Each problem names its column in Chinese ("「公民身份号码」校验码错误，请核对")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from server.domain.base_data import OrganisationKind, Registration, Relation
from server.domain.identity import (
    CreditCodeError,
    IdentityError,
    check_credit_code,
    parse_id_number,
)
from server.domain.import_templates import TEMPLATES, Column, ImportKind
from server.domain.names import BIDI_CONTROLS, name_problem, unshown_control

# 户籍类别 and 与户主关系 as written in a sheet → the stored names (basedata's contract).
REGISTRATIONS = {
    "户籍": Registration.REGISTERED,
    "户籍人口": Registration.REGISTERED,
    "常住": Registration.REGISTERED,
}
REGISTRATIONS |= {
    "流动": Registration.FLOATING,
    "流动人口": Registration.FLOATING,
    "外来": Registration.FLOATING,
}
RELATIONS = {
    "户主": Relation.HEAD,
    "本人": Relation.HEAD,
    "配偶": Relation.SPOUSE,
    "妻": Relation.SPOUSE,
    "夫": Relation.SPOUSE,
    "子女": Relation.CHILD,
    "子": Relation.CHILD,
    "女": Relation.CHILD,
    "儿子": Relation.CHILD,
    "女儿": Relation.CHILD,
    "父母": Relation.PARENT,
    "父亲": Relation.PARENT,
    "母亲": Relation.PARENT,
    "孙子女": Relation.GRANDCHILD,
    "孙子": Relation.GRANDCHILD,
    "孙女": Relation.GRANDCHILD,
    "祖父母": Relation.GRANDPARENT,
    "兄弟姐妹": Relation.SIBLING,
    "其他": Relation.OTHER,
}
ORG_KINDS = {
    "企业": OrganisationKind.ENTERPRISE,
    "公司": OrganisationKind.ENTERPRISE,
    "个体": OrganisationKind.INDIVIDUAL,
    "个体工商户": OrganisationKind.INDIVIDUAL,
    "社会组织": OrganisationKind.SOCIAL_ORG,
    "机关": OrganisationKind.GOVERNMENT,
    "机关单位": OrganisationKind.GOVERNMENT,
    "事业单位": OrganisationKind.INSTITUTION,
    "机关事业单位": OrganisationKind.INSTITUTION,
    "其他": OrganisationKind.OTHER,
}
#: Columns holding a name (of a person, an estate, a building, a unit, a room, a contact): the
#: names' rule (server/domain/names.py) as the API applies it.
NAME_COLUMNS = frozenset({"name", "estate", "building", "unit", "room", "contact"})
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,30}$")
_GRID_CODE = re.compile(r"^[0-9]{15}$")
MAX_TEXT = {"name": 100, "estate": 100, "building": 50, "unit": 50, "room": 50}
MAX_TEXT |= {"address": 300, "contact": 100, "relation": 20}


@dataclass
class Row:
    """One data row: its number in the file, its cells by column key, what it became after the
    checks (``values``) and the problems (column's Chinese name, message)."""

    number: int
    cells: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, col: Column | str, message: str) -> None:
        name = col.zh if isinstance(col, Column) else col
        self.errors.append((name, message))

    @property
    def ok(self) -> bool:
        return not self.errors


def _col(kind: ImportKind, key: str) -> Column:
    return next(c for c in TEMPLATES[kind] if c.key == key)


def _common(kind: ImportKind, row: Row) -> None:
    for col in TEMPLATES[kind]:
        text = row.cells.get(col.key, "").strip()
        if "\x00" in text:
            row.fail(col, "含 NUL 字符")
            continue
        # Every cell stands on one line as the API's text does (server/domain/names.py): a
        # bidi control ("张三\u202e" reads on screen otherwise than stored), a tab, ESC or
        # another control in an address was stored as sent.
        bad = next((ch for ch in text if unshown_control(ch)), None)
        if bad in BIDI_CONTROLS:
            row.fail(
                col,
                f"含文字方向控制符 U+{ord(bad):04X}（会让内容显示得与实际不同），请删除",
            )
            continue
        if bad:
            row.fail(col, f"含控制字符 U+{ord(bad):04X}（制表符、换行、转义等），请删除")
            continue
        limit = MAX_TEXT.get(col.key)
        named = col.key in NAME_COLUMNS and limit is not None and len(text) <= limit
        if named and (bad := name_problem(text, limit or 0)):
            row.fail(col, bad.split(" / ")[0])  # a spreadsheet's messages are Chinese
            continue
        if col.required and not text:
            row.fail(col, "必填，不能为空")
        if limit and len(text) > limit:
            row.fail(col, f"过长（最多 {limit} 字）")
        row.values[col.key] = text


def _phone(kind: ImportKind, row: Row, key: str = "phone") -> None:
    text = row.values.get(key, "")
    if text and not _PHONE.match(text):
        row.fail(_col(kind, key), "电话号码格式不对（只能有数字、空格、-，可带 +）")


def _number(kind: ImportKind, row: Row, key: str, low: float, high: float) -> None:
    text = row.values.get(key, "")
    if not text:
        row.values[key] = None
        return
    try:
        value = float(text)
    except ValueError:
        row.fail(_col(kind, key), "应为数字")
        return
    if not (low <= value <= high) or value != value:
        row.fail(_col(kind, key), f"应在 {low} 到 {high} 之间")
        return
    row.values[key] = value


def check_address_row(row: Row) -> None:
    kind = ImportKind.ADDRESSES
    _common(kind, row)
    code = row.values.get("grid_code", "")
    if code and not _GRID_CODE.match(code):
        row.fail(_col(kind, "grid_code"), "网格编码应为 15 位数字")
    _number(kind, row, "lon", -180, 180)
    _number(kind, row, "lat", -90, 90)
    if (row.values.get("lon") is None) != (row.values.get("lat") is None):
        row.fail(_col(kind, "lat"), "经度和纬度须同时填写或同时为空")
    if row.values.get("room") and not (row.values.get("building") or row.values.get("unit")):
        pass  # a room of a courtyard (自然村的院落) hangs on the estate: allowed
    if row.values.get("unit") and not row.values.get("building"):
        row.fail(_col(kind, "building"), "填写了单元，楼栋不能为空")


def check_resident_row(row: Row, today: date) -> None:
    kind = ImportKind.RESIDENTS
    _common(kind, row)
    text = row.values.get("id_number", "")
    if text:
        try:
            ident = parse_id_number(text, today=today)
        except IdentityError as exc:
            row.fail(_col(kind, "id_number"), exc.message_zh)
        else:
            row.values["id_number"] = ident.value
            row.values["birth_date"] = ident.birth_date
            row.values["sex"] = ident.sex.value
    reg = row.values.get("residence", "")
    if reg:
        if reg not in REGISTRATIONS:
            row.fail(_col(kind, "residence"), "应为“户籍”或“流动”")
        else:
            row.values["registration"] = REGISTRATIONS[reg].value
    rel = row.values.get("relation", "")
    if rel and rel not in RELATIONS:
        row.fail(_col(kind, "relation"), "应为 " + "、".join(dict.fromkeys(RELATIONS)))
    row.values["relation_code"] = RELATIONS.get(rel, Relation.OTHER).value
    if row.values.get("unit") and not row.values.get("building"):
        row.fail(_col(kind, "building"), "填写了单元，楼栋不能为空")
    _phone(kind, row)


def check_organisation_row(row: Row) -> None:
    kind = ImportKind.ORGANISATIONS
    _common(kind, row)
    text = row.values.get("credit_code", "")
    if text:
        try:
            row.values["credit_code"] = check_credit_code(text)
        except CreditCodeError as exc:
            row.fail(_col(kind, "credit_code"), exc.message_zh)
    k = row.values.get("kind", "")
    if k and k not in ORG_KINDS:
        row.fail(_col(kind, "kind"), "应为 " + "、".join(dict.fromkeys(ORG_KINDS)))
    row.values["kind_code"] = ORG_KINDS.get(k, OrganisationKind.OTHER).value
    _phone(kind, row)


def check_row(kind: ImportKind, row: Row, today: date) -> None:
    if kind is ImportKind.ADDRESSES:
        check_address_row(row)
    elif kind is ImportKind.RESIDENTS:
        check_resident_row(row, today)
    else:
        check_organisation_row(row)
