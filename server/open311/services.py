"""Services (the active minor categories) and their definitions (``Category.attributes``).

``Category.attributes`` is a list of attribute objects in the shape of the spec's service
definition (``code`` is required; the rest has defaults)::

    [{"code": "PLATE", "description": "车牌号 / licence plate", "datatype": "string",
      "required": true, "order": 1},
     {"code": "SIZE", "description": "面积", "datatype": "singlevaluelist",
      "values": [{"key": "s", "name": "小于1平方米"}, {"key": "l", "name": "更大"}]}]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from server.models import Category

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_TYPES = ("singlevaluelist", "multivaluelist")
MAX_VALUE = 1000

UNITS = {
    "work_hours": ("个工作小时", "working hour"),
    "work_days": ("个工作日", "working day"),
    "hours": ("小时", "hour"),
}


@dataclass(frozen=True)
class Service:
    category: Category
    major: Category | None

    @property
    def code(self) -> str:
        return self.category.code


def _active_services(db: Session, codes: list[str] | None = None) -> list[Service]:
    major = aliased(Category)
    stmt = (
        select(Category, major)
        .outerjoin(major, Category.parent_id == major.id)
        .where(Category.parent_id.is_not(None), Category.active.is_(True))
        .order_by(Category.code)
    )
    if codes is not None:
        stmt = stmt.where(Category.code.in_(codes))
    return [Service(c, m) for c, m in db.execute(stmt) if m is None or m.active]


def all_services(db: Session) -> list[Service]:
    return _active_services(db)


def find(db: Session, code: str) -> Service | None:
    found = _active_services(db, [code])
    return found[0] if found else None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def time_limit(cat: Category) -> tuple[str, str]:
    """The category's normal time limit in Chinese and in English."""
    zh, en = UNITS.get(cat.limit_unit, ("", cat.limit_unit))
    n = _number(cat.limit_value)
    return f"{n} {zh}", f"{n} {en}{'' if n == '1' else 's'}"


def service_notice(cat: Category) -> str:
    zh, en = time_limit(cat)
    return (
        f"受理后派遣至责任部门处置，一般案件时限 {zh} / once accepted, the case is dispatched to "
        f"the responsible department and handled within {en}"
    )


def service_json(svc: Service) -> dict[str, Any]:
    cat, major = svc.category, svc.major
    keywords = [cat.name_en, major.name if major else "", major.name_en if major else ""]
    description = f"{cat.name}（{cat.name_en}）" if cat.name_en else cat.name
    zh, en = time_limit(cat)
    return {
        "service_code": cat.code,
        "service_name": cat.name,
        "description": f"{description}；处置时限 {zh} / time limit {en}",
        "metadata": bool(attributes(cat)),
        "type": "realtime",
        "keywords": ", ".join(k for k in keywords if k),
        "group": major.name if major else "",
    }


def _bool(value: Any, default: bool) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return default


def attributes(cat: Category) -> list[dict[str, Any]]:
    """The category's attributes in the spec's shape and order (malformed entries skipped)."""
    raw = cat.attributes if isinstance(cat.attributes, list) else []
    out: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not str(item.get("code") or "").strip():
            continue
        datatype = str(item.get("datatype") or "string")
        if datatype not in DATATYPES:
            datatype = "string"
        order = item.get("order")
        attr: dict[str, Any] = {
            "variable": _bool(item.get("variable"), True),
            "code": str(item["code"]).strip(),
            "datatype": datatype,
            "required": _bool(item.get("required"), False),
            "datatype_description": item.get("datatype_description") or None,
            "order": order if isinstance(order, int) and not isinstance(order, bool) else i + 1,
            "description": str(item.get("description") or item["code"]),
        }
        if datatype in LIST_TYPES:
            values = item.get("values")
            attr["values"] = [
                {"key": str(v["key"]), "name": str(v.get("name") or v["key"])}
                for v in (values if isinstance(values, list) else [])
                if isinstance(v, dict) and v.get("key") is not None
            ]
        out.append(attr)
    out.sort(key=lambda a: a["order"])
    return out


def definition_json(svc: Service) -> dict[str, Any]:
    return {"service_code": svc.code, "attributes": attributes(svc.category)}


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def ascii_number(text: str) -> float:
    """A decimal number written in ASCII digits; ValueError otherwise. ``float()`` alone also
    reads ``٣٨`` (Arabic-Indic), full-width digits and ``1_0``."""
    value = text.strip()
    if not _DECIMAL.fullmatch(value):
        raise ValueError(text)
    return float(value)


def _check_value(attr: dict[str, Any], value: str) -> str | None:
    """A problem with one submitted value, or None."""
    if len(value) > MAX_VALUE:
        return f"at most {MAX_VALUE} characters"
    datatype = attr["datatype"]
    if datatype in LIST_TYPES:
        keys = {v["key"] for v in attr.get("values", [])}
        if value not in keys:
            return "not one of " + ", ".join(sorted(keys))
    elif datatype == "number":
        try:
            number = ascii_number(value)
        except ValueError:
            return "not a number"
        if not math.isfinite(number):
            return "not a finite number"
    elif datatype == "datetime":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return "not an ISO 8601 date/time"
    return None


def check_attributes(
    svc: Service, submitted: dict[str, list[str]]
) -> tuple[dict[str, Any], list[str]]:
    """Validate ``attribute[code]`` values against the definition.

    Answers the accepted values (a list for a multivaluelist, else one string) and the problems
    found (empty when the values are all right).
    """
    attrs = {a["code"]: a for a in attributes(svc.category) if a["variable"]}
    problems: list[str] = []
    values: dict[str, Any] = {}
    for code in submitted:
        if code not in attrs:
            problems.append(f"attribute[{code}]: service {svc.code} has no such attribute")
    for code, attr in attrs.items():
        given = [v.strip() for v in submitted.get(code, []) if v.strip()]
        if not given:
            if attr["required"]:
                problems.append(f"attribute[{code}] is required ({attr['description']})")
            continue
        if attr["datatype"] != "multivaluelist" and len(given) > 1:
            problems.append(f"attribute[{code}] takes one value")
            continue
        for v in given:
            problem = _check_value(attr, v)
            if problem:
                problems.append(f"attribute[{code}]={v[:50]!r}: {problem}")
        values[code] = given if attr["datatype"] == "multivaluelist" else given[0]
    return values, problems


def describe_attributes(svc: Service, values: dict[str, Any]) -> str:
    """The values as lines a dispatcher reads in the case description."""
    lines = []
    for attr in attributes(svc.category):
        if attr["code"] not in values:
            continue
        names = {v["key"]: v["name"] for v in attr.get("values", [])}
        got = values[attr["code"]]
        shown = "、".join(str(names.get(v, v)) for v in (got if isinstance(got, list) else [got]))
        lines.append(f"{attr['description']}: {shown}")
    return "\n".join(lines)
