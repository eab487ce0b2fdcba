"""Case categories (major and minor, with their time limits): list, create, update."""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import func, select

from server.models import Category, Incident
from server.models.catalog import LIMIT_UNITS
from server.usecases import locks
from server.usecases.admin.request_body import (
    BodyReader,
    commit_unique,
    department_field,
    get_or_not_found,
    json_number,
)
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict

log = logging.getLogger("wangge.admin")

MAJOR_RE = re.compile(r"^(?!00)\d{2}$")
MINOR_RE = re.compile(r"^\d{2}(?!00)\d{2}$")
#: Upper bounds that catch typos (a limit of 500 working days is a mistake, not a rule).
LIMIT_MAX = {"work_hours": 2000.0, "work_days": 365.0, "hours": 8760.0}
URGENT_MAX_HOURS = 720.0


def category_json(cat: Category, majors: dict[int, Category], cases: int = 0) -> dict[str, Any]:
    major = majors.get(cat.parent_id) if cat.parent_id else None
    return {
        "id": cat.id,
        "code": cat.code,
        "name": cat.name,
        "name_en": cat.name_en,
        "level": "minor" if cat.parent_id else "major",
        "major_code": major.code if major else (cat.code[:2] if cat.parent_id else None),
        "limit_value": json_number(cat.limit_value),
        "limit_unit": cat.limit_unit,
        "urgent_hours": json_number(cat.urgent_hours),
        "default_department_id": cat.default_department_id,
        "active": cat.active,
        "case_count": cases,
    }


def _majors(ctx: Context) -> dict[int, Category]:
    return {c.id: c for c in ctx.db.scalars(select(Category).where(Category.parent_id.is_(None)))}


def _case_counts(ctx: Context, category_ids: list[int] | None = None) -> dict[int, int]:
    stmt = select(Incident.category_id, func.count()).group_by(Incident.category_id)
    if category_ids is not None:
        stmt = stmt.where(Incident.category_id.in_(category_ids))
    return {int(c): int(n) for c, n in ctx.db.execute(stmt).all()}


def list_categories(ctx: Context) -> list[dict[str, Any]]:
    majors = _majors(ctx)
    counts = _case_counts(ctx)
    return [
        category_json(c, majors, counts.get(c.id, 0))
        for c in ctx.db.scalars(select(Category).order_by(Category.code))
    ]


def _check_limits(
    inp: BodyReader, value: float | None, unit: str | None, urgent: float | None
) -> None:
    """The final limit values (after a change) must make sense together."""
    if unit is not None and unit not in LIMIT_UNITS:
        inp.fail("limit_unit", "应为 / one of " + ", ".join(LIMIT_UNITS))
        unit = None
    if value is not None:
        if value <= 0:
            inp.fail("limit_value", "应大于 0 / must be greater than 0")
        elif unit == "work_days" and not float(value).is_integer():
            inp.fail("limit_value", "工作日应为整数 / whole working days only")
        elif unit is not None and value > LIMIT_MAX[unit]:
            inp.fail("limit_value", f"最多 / at most {LIMIT_MAX[unit]:g} ({unit})")
    if urgent is not None:
        if urgent <= 0:
            inp.fail("urgent_hours", "应大于 0 / must be greater than 0")
        elif urgent > URGENT_MAX_HOURS:
            inp.fail(
                "urgent_hours", f"最多 {URGENT_MAX_HOURS:g} 小时 / at most {URGENT_MAX_HOURS:g}"
            )


def _get_category(ctx: Context, cat_id: int) -> Category:
    return get_or_not_found(ctx, Category, cat_id, "未知类别 / unknown category")


def create_category(ctx: Context, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    inp = BodyReader(
        body,
        ("code", "name", "name_en", "limit_value", "limit_unit", "urgent_hours",
         "default_department_id"),
    )  # fmt: skip
    code = inp.text("code", required=True, max_len=4)
    major: Category | None = None
    is_minor = False
    if code:
        if MINOR_RE.match(code):
            is_minor = True
            # Its major is read under the major's lock, as a retire reads the minors (below).
            locks.hold(ctx.db, locks.Scope.CATEGORIES, [int(code[:2])])
            major = ctx.db.scalar(
                select(Category).where(Category.code == code[:2], Category.parent_id.is_(None))
            )
            if major is None:
                inp.fail("code", f"大类 {code[:2]} 不存在 / major category {code[:2]} not found")
            elif not major.active:
                inp.fail("code", f"大类 {code[:2]} 已停用 / major category {code[:2]} is retired")
        elif not MAJOR_RE.match(code):
            inp.fail("code", "大类 2 位、小类 4 位数字 / 2 digits (major) or 4 digits (minor)")
    name = inp.name("name", required=True)
    name_en = inp.name("name_en") or ""
    # A major category only groups minors: its limits are optional (cases are never filed in it).
    value = inp.number("limit_value", required=is_minor)
    unit = inp.text("limit_unit", required=is_minor, max_len=16)
    urgent = inp.number("urgent_hours", required=is_minor)
    _check_limits(inp, value, unit, urgent)
    dep = department_field(ctx, inp, "default_department_id")
    inp.check()
    assert code and name
    duplicate = "类别编码已存在 / a category with this code exists"
    if ctx.db.scalar(select(Category.id).where(Category.code == code)) is not None:
        raise Conflict(duplicate, code="duplicate", fields={"code": "已存在 / exists"})
    cat = Category(
        code=code,
        name=name,
        name_en=name_en,
        parent_id=major.id if major else None,
        limit_value=value if value is not None else 1,
        limit_unit=unit or "work_days",
        urgent_hours=urgent if urgent is not None else 1,
        default_department_id=dep.id if dep else None,
        active=True,
    )
    ctx.db.add(cat)
    commit_unique(ctx, "code", duplicate)
    log.info("admin %s created category %s (%s)", actor.id, cat.id, code)
    return category_json(cat, _majors(ctx))


def update_category(
    ctx: Context, actor: Actor, cat_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    cat = _get_category(ctx, cat_id)
    if "active" in body:
        # A major retired while a minor is created or reactivated in it: each read the other's
        # category before it was written, and the major ended retired with active minors (an
        # outside audit). Both hold the major's lock; what the checks read is read after it.
        locks.hold(ctx.db, locks.Scope.CATEGORIES, [int(cat.code[:2])])
        ctx.db.refresh(cat)
    inp = BodyReader(
        body,
        ("name", "name_en", "limit_value", "limit_unit", "urgent_hours", "default_department_id",
         "active"),
    )  # fmt: skip
    name = inp.name("name", required=inp.has("name"))
    name_en = inp.name("name_en")
    value = inp.number("limit_value", required=inp.has("limit_value"))
    unit = inp.text("limit_unit", required=inp.has("limit_unit"), max_len=16)
    urgent = inp.number("urgent_hours", required=inp.has("urgent_hours"))
    active = inp.flag("active")
    dep = department_field(ctx, inp, "default_department_id")
    # Check the combination the category would end up with (e.g. work_days with 0.5 left over).
    final_value = value if value is not None else cat.limit_value
    final_unit = unit if unit is not None else cat.limit_unit
    _check_limits(inp, final_value, final_unit, urgent)
    inp.check()
    if active is not None and active != cat.active:
        if cat.parent_id is None and not active:
            live = ctx.db.scalars(
                select(Category.code).where(Category.parent_id == cat.id, Category.active.is_(True))
            ).all()
            if live:
                raise Conflict(
                    "请先停用该大类下的小类 / retire its minor categories first: "
                    + ", ".join(live),
                    code="has_active_minors",
                    fields={"active": "active minors: " + ", ".join(live)},
                )
        if cat.parent_id is not None and active:
            major = ctx.db.get(Category, cat.parent_id, populate_existing=True)
            if major is not None and not major.active:
                raise Conflict(
                    f"请先启用大类 {major.code} / reactivate major category {major.code} first",
                    code="major_retired",
                    fields={"active": "major category retired"},
                )
    if name is not None:
        cat.name = name
    if name_en is not None:
        cat.name_en = name_en
    if value is not None:
        cat.limit_value = value
    if unit is not None:
        cat.limit_unit = unit
    if urgent is not None:
        cat.urgent_hours = urgent
    if "default_department_id" in body:
        cat.default_department_id = dep.id if dep else None
    if active is not None:
        cat.active = active
    ctx.db.commit()
    log.info("admin %s updated category %s: %s", actor.id, cat.id, sorted(body))
    return category_json(cat, _majors(ctx), _case_counts(ctx, [cat.id]).get(cat.id, 0))
