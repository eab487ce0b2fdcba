"""Administration: regions for pickers, departments, categories, users, grid duties and grid plans.

Plain use cases (no Flask): each one validates the whole input first, then changes the database
in one transaction and commits, so a refused request leaves nothing half-written. Reads answer
plain JSON-shaped dicts (docs/api.md, "Admin"). Every change is logged on ``wangge.admin``.

Admins are not limited to a jurisdiction (DESIGN §1: the system administrator). The region
pickers (``regions_children``/``regions_tree``) serve every signed-in user and keep to the
user's own region subtree.
"""

from __future__ import annotations

import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.exc import IntegrityError

from geo.crs import parse_crs
from geo.errors import CRSError
from geo.io import SUPPORTED_SUFFIXES
from geo.parents import is_grid_code
from server.models import (
    DUTIES,
    ROLES,
    Category,
    Department,
    Grid,
    GridAssignment,
    GridPlan,
    Incident,
    Region,
    User,
)
from server.models.catalog import LIMIT_UNITS
from server.models.geography import DUTY_LABELS
from server.security import MIN_PASSWORD_LENGTH, hash_password
from server.usecases import policy
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict, NotFound, Unprocessable, ValidationFailed
from server.usecases.gridplans import PlanCheck, PlanError, check_plan, publish, store_plan

log = logging.getLogger("wangge.admin")

#: Largest grid plan file the API accepts (the blueprint enforces it on the request body).
MAX_PLAN_BYTES = 50 * 2**20
#: Widest sliver a plan upload may ask to ignore (metres).
MAX_GAP_WIDTH_M = 100.0

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
DEPARTMENT_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
PHONE_RE = re.compile(r"^[0-9+\- ]{0,32}$")
MAJOR_RE = re.compile(r"^(?!00)\d{2}$")
MINOR_RE = re.compile(r"^\d{2}(?!00)\d{2}$")
#: Upper bounds that catch typos (a limit of 500 working days is a mistake, not a rule).
LIMIT_MAX = {"work_hours": 2000.0, "work_days": 365.0, "hours": 8760.0}
URGENT_MAX_HOURS = 720.0
REGION_CODE_LENGTHS = (6, 9, 12)
ROLES_NEEDING_REGION = ("dispatcher", "supervisor")


# -- helpers ------------------------------------------------------------------------------------


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _num(value: float | None) -> float | int | None:
    """5.0 → 5 in JSON, 0.5 stays 0.5."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


class _Input:
    """Reads one JSON body field by field, collecting every problem before raising once."""

    def __init__(self, body: dict[str, Any], allowed: Iterable[str]) -> None:
        self.body = body
        self.errors: dict[str, str] = {}
        for key in body:
            if key not in allowed:
                self.errors[key] = "不支持的字段 / unknown field"

    def has(self, key: str) -> bool:
        return key in self.body

    def fail(self, key: str, problem: str) -> None:
        self.errors.setdefault(key, problem)

    def text(self, key: str, *, required: bool = False, max_len: int = 100) -> str | None:
        if key not in self.body or self.body[key] is None:
            if required:
                self.fail(key, "必填 / required")
            return None
        value = self.body[key]
        if not isinstance(value, str):
            self.fail(key, "应为文本 / must be a string")
            return None
        value = value.strip()
        if required and not value:
            self.fail(key, "必填 / required")
            return None
        if len(value) > max_len:
            self.fail(key, f"最多 {max_len} 个字符 / at most {max_len} characters")
            return None
        return value

    def flag(self, key: str) -> bool | None:
        if key not in self.body:
            return None
        value = self.body[key]
        if not isinstance(value, bool):
            self.fail(key, "应为 true 或 false / must be true or false")
            return None
        return value

    def number(self, key: str, *, required: bool = False) -> float | None:
        if key not in self.body or self.body[key] is None:
            if required:
                self.fail(key, "必填 / required")
            return None
        value = self.body[key]
        if isinstance(value, bool):
            number = math.nan
        elif isinstance(value, (int, float)):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                number = math.nan
        else:
            number = math.nan
        if not math.isfinite(number):
            self.fail(key, "应为数字 / must be a number")
            return None
        return number

    def ident(self, key: str) -> int | None:
        """An id (positive integer) or None; a present, non-null, non-id value is an error."""
        if key not in self.body or self.body[key] is None:
            return None
        value = self.body[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.fail(key, "应为编号（正整数）/ must be an id (a positive integer)")
            return None
        return value

    def check(self) -> None:
        if self.errors:
            raise ValidationFailed(
                "输入有误，请检查 / invalid input: " + ", ".join(sorted(self.errors)),
                fields=dict(self.errors),
            )


def _normal_region_code(code: str) -> str | None:
    code = code.strip()
    if code.isdigit() and len(code) in REGION_CODE_LENGTHS:
        return code.ljust(12, "0")
    return None


def _region_by_code(ctx: Context, code: str) -> Region | None:
    normal = _normal_region_code(code)
    if normal is None:
        return None
    return ctx.db.scalar(select(Region).where(Region.code == normal))


def _region_field(ctx: Context, inp: _Input, key: str = "region_code") -> Region | None:
    code = inp.text(key, max_len=12)
    if not code:
        return None
    region = _region_by_code(ctx, code)
    if region is None:
        inp.fail(key, "未知区域（6、9 或 12 位区划代码）/ unknown region (6, 9 or 12 digits)")
    return region


def _department_field(ctx: Context, inp: _Input, key: str = "department_id") -> Department | None:
    dep_id = inp.ident(key)
    if dep_id is None:
        return None
    dep = ctx.db.get(Department, dep_id)
    if dep is None:
        inp.fail(key, "未知部门 / unknown department")
        return None
    if not dep.active:
        inp.fail(key, "该部门已停用 / this department is retired")
        return None
    return dep


def _commit(ctx: Context, conflict_field: str, message: str) -> None:
    """Commit; a unique-key race becomes the same 409 the up-front check gives."""
    try:
        ctx.db.commit()
    except IntegrityError:
        ctx.db.rollback()
        raise Conflict(
            message, code="duplicate", fields={conflict_field: "已存在 / exists"}
        ) from None


# -- regions (any signed-in user) -------------------------------------------------------------


def region_json(region: Region, codes: dict[int, str]) -> dict[str, Any]:
    return {
        "id": region.id,
        "code": region.code,
        "name": region.name,
        "level": region.level,
        "parent_code": codes.get(region.parent_id) if region.parent_id else None,
    }


def _picker_roots(ctx: Context, actor: Actor) -> list[Region]:
    """The regions a user's pickers start at (the policy's jurisdiction roots, outermost first);
    [] for the whole tree. An admin's own region is only where their pickers start."""
    if actor.role == "admin":
        own = ctx.db.get(Region, actor.region_id) if actor.region_id is not None else None
        return [own] if own is not None else []
    where = policy.roots(ctx.db, actor)
    if where is None:
        return []
    top = [p for p in where if not any(p != q and p.startswith(q) for q in where)]
    return list(ctx.db.scalars(select(Region).where(Region.path.in_(top)).order_by(Region.code)))


def _codes_of(ctx: Context, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    return dict(ctx.db.execute(select(Region.id, Region.code).where(Region.id.in_(wanted))).all())


def regions_children(ctx: Context, actor: Actor, parent: str | None) -> list[dict[str, Any]]:
    """Children of ``parent``; without one, the user's own region and its children (no region:
    the counties). A parent outside the user's subtree does not exist for them (404)."""
    starts = _picker_roots(ctx, actor)
    if parent:
        if _normal_region_code(parent) is None:
            raise ValidationFailed(
                "区划代码应为 6、9 或 12 位数字 / a region code has 6, 9 or 12 digits",
                fields={"parent": "6, 9 or 12 digits"},
            )
        region = _region_by_code(ctx, parent)
        if region is None or not policy.may_see_region(ctx.db, actor, region):
            raise NotFound("未知区域 / unknown region")
        rows = list(
            ctx.db.scalars(
                select(Region).where(Region.parent_id == region.id).order_by(Region.code)
            )
        )
    elif len(starts) == 1:
        children = ctx.db.scalars(
            select(Region).where(Region.parent_id == starts[0].id).order_by(Region.code)
        )
        rows = [starts[0], *children]
    elif starts or policy.roots(ctx.db, actor) is not None:
        rows = starts
    else:
        rows = list(
            ctx.db.scalars(select(Region).where(Region.parent_id.is_(None)).order_by(Region.code))
        )
    codes = {r.id: r.code for r in rows}
    codes.update(_codes_of(ctx, (r.parent_id for r in rows if r.parent_id not in codes)))
    return [region_json(r, codes) for r in rows]


def regions_tree(ctx: Context, actor: Actor) -> list[dict[str, Any]]:
    """The user's region subtree (no region: every county) nested county → town → community."""
    where = None if actor.role == "admin" else policy.roots(ctx.db, actor)
    stmt = select(Region).order_by(Region.code).where(policy.path_clause(Region.path, where))
    rows = list(ctx.db.scalars(stmt))
    codes = {r.id: r.code for r in rows}
    codes.update(_codes_of(ctx, (r.parent_id for r in rows if r.parent_id not in codes)))
    nodes = {r.id: {**region_json(r, codes), "children": []} for r in rows}
    top: list[dict[str, Any]] = []
    for r in rows:
        node = nodes[r.id]
        if r.parent_id in nodes:
            nodes[r.parent_id]["children"].append(node)
        else:
            top.append(node)
    return top


# -- departments --------------------------------------------------------------------------------


def department_json(dep: Department, handlers: int = 0) -> dict[str, Any]:
    return {
        "id": dep.id,
        "code": dep.code,
        "name": dep.name,
        "region_code": dep.region.code if dep.region else None,
        "region_name": dep.region.name if dep.region else None,
        "active": dep.active,
        "handler_count": handlers,
    }


def _handler_counts(ctx: Context) -> dict[int, int]:
    rows = ctx.db.execute(
        select(User.department_id, func.count())
        .where(User.role == "handler", User.active.is_(True), User.department_id.is_not(None))
        .group_by(User.department_id)
    ).all()
    return {int(d): int(n) for d, n in rows if d is not None}


def list_departments(ctx: Context) -> list[dict[str, Any]]:
    counts = _handler_counts(ctx)
    deps = ctx.db.scalars(select(Department).order_by(Department.code))
    return [department_json(d, counts.get(d.id, 0)) for d in deps]


def _get_department(ctx: Context, dep_id: int) -> Department:
    dep = ctx.db.get(Department, dep_id)
    if dep is None:
        raise NotFound("未知部门 / unknown department")
    return dep


def create_department(ctx: Context, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    inp = _Input(body, ("code", "name", "region_code"))
    code = inp.text("code", required=True, max_len=32)
    if code and not DEPARTMENT_CODE_RE.match(code):
        inp.fail("code", "只能用字母、数字、- 和 _ / letters, digits, - and _ only")
    name = inp.text("name", required=True)
    region = _region_field(ctx, inp)
    inp.check()
    assert code and name
    duplicate = "部门编码已存在 / a department with this code exists"
    if ctx.db.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise Conflict(duplicate, code="duplicate", fields={"code": "已存在 / exists"})
    dep = Department(code=code, name=name, region=region, active=True)
    ctx.db.add(dep)
    _commit(ctx, "code", duplicate)
    log.info("admin %s created department %s (%s)", actor.id, dep.id, code)
    return department_json(dep)


def update_department(
    ctx: Context, actor: Actor, dep_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    dep = _get_department(ctx, dep_id)
    inp = _Input(body, ("name", "active"))
    name = inp.text("name", required=inp.has("name"))
    active = inp.flag("active")
    inp.check()
    if name is not None:
        dep.name = name
    if active is not None:
        dep.active = active
    ctx.db.commit()
    log.info("admin %s updated department %s: %s", actor.id, dep.id, sorted(body))
    return department_json(dep, _handler_counts(ctx).get(dep.id, 0))


# -- categories ---------------------------------------------------------------------------------


def category_json(cat: Category, majors: dict[int, Category], cases: int = 0) -> dict[str, Any]:
    major = majors.get(cat.parent_id) if cat.parent_id else None
    return {
        "id": cat.id,
        "code": cat.code,
        "name": cat.name,
        "name_en": cat.name_en,
        "level": "minor" if cat.parent_id else "major",
        "major_code": major.code if major else (cat.code[:2] if cat.parent_id else None),
        "limit_value": _num(cat.limit_value),
        "limit_unit": cat.limit_unit,
        "urgent_hours": _num(cat.urgent_hours),
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


def _check_limits(inp: _Input, value: float | None, unit: str | None, urgent: float | None) -> None:
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
    cat = ctx.db.get(Category, cat_id)
    if cat is None:
        raise NotFound("未知类别 / unknown category")
    return cat


def create_category(ctx: Context, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    inp = _Input(
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
            major = ctx.db.scalar(
                select(Category).where(Category.code == code[:2], Category.parent_id.is_(None))
            )
            if major is None:
                inp.fail("code", f"大类 {code[:2]} 不存在 / major category {code[:2]} not found")
            elif not major.active:
                inp.fail("code", f"大类 {code[:2]} 已停用 / major category {code[:2]} is retired")
        elif not MAJOR_RE.match(code):
            inp.fail("code", "大类 2 位、小类 4 位数字 / 2 digits (major) or 4 digits (minor)")
    name = inp.text("name", required=True)
    name_en = inp.text("name_en") or ""
    # A major category only groups minors: its limits are optional (cases are never filed in it).
    value = inp.number("limit_value", required=is_minor)
    unit = inp.text("limit_unit", required=is_minor, max_len=16)
    urgent = inp.number("urgent_hours", required=is_minor)
    _check_limits(inp, value, unit, urgent)
    dep = _department_field(ctx, inp, "default_department_id")
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
    _commit(ctx, "code", duplicate)
    log.info("admin %s created category %s (%s)", actor.id, cat.id, code)
    return category_json(cat, _majors(ctx))


def update_category(
    ctx: Context, actor: Actor, cat_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    cat = _get_category(ctx, cat_id)
    inp = _Input(
        body,
        ("name", "name_en", "limit_value", "limit_unit", "urgent_hours", "default_department_id",
         "active"),
    )  # fmt: skip
    name = inp.text("name", required=inp.has("name"))
    name_en = inp.text("name_en")
    value = inp.number("limit_value", required=inp.has("limit_value"))
    unit = inp.text("limit_unit", required=inp.has("limit_unit"), max_len=16)
    urgent = inp.number("urgent_hours", required=inp.has("urgent_hours"))
    active = inp.flag("active")
    dep = _department_field(ctx, inp, "default_department_id")
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
            major = ctx.db.get(Category, cat.parent_id)
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


# -- users --------------------------------------------------------------------------------------


def _active_grids(ctx: Context, codes: Iterable[str] | None = None) -> dict[str, str]:
    """code → name of grids in an active plan (only ``codes`` when given)."""
    stmt = (
        select(Grid.code, Grid.name)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .where(GridPlan.status == "active")
    )
    if codes is not None:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        stmt = stmt.where(Grid.code.in_(wanted))
    return {str(c): str(n) for c, n in ctx.db.execute(stmt).all()}


def user_json(user: User, grids: dict[str, str]) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "region_id": user.region_id,
        "region_code": user.region.code if user.region else None,
        "region_name": user.region.name if user.region else None,
        "department_id": user.department_id,
        "department_name": user.department.name if user.department else None,
        "phone": user.phone,
        "active": user.active,
        "created_at": iso(user.created_at),
        "duties": [
            {
                "grid_code": a.grid_code,
                "duty": a.duty,
                "duty_label": DUTY_LABELS.get(a.duty, a.duty),
                "grid_name": grids.get(a.grid_code),
                "grid_active": a.grid_code in grids,
            }
            for a in sorted(user.assignments, key=lambda a: (a.grid_code, a.duty))
        ],
    }


def _one_user_json(ctx: Context, user: User) -> dict[str, Any]:
    return user_json(user, _active_grids(ctx, (a.grid_code for a in user.assignments)))


@dataclass
class UserFilter:
    role: str | None = None
    q: str | None = None
    active: bool | None = None
    department_id: int | None = None
    region: str | None = None

    @classmethod
    def parse(cls, args: dict[str, str]) -> UserFilter:
        fields: dict[str, str] = {}
        role = (args.get("role") or "").strip() or None
        if role is not None and role not in ROLES:
            fields["role"] = "应为 / one of " + ", ".join(ROLES)
        active_raw = (args.get("active") or "").strip().lower()
        active: bool | None = None
        if active_raw in {"1", "true"}:
            active = True
        elif active_raw in {"0", "false"}:
            active = False
        elif active_raw:
            fields["active"] = "1 or 0"
        dep_raw = (args.get("department") or "").strip()
        if dep_raw and not dep_raw.isdigit():
            fields["department"] = "a department id"
        region = (args.get("region") or "").strip() or None
        if region is not None and _normal_region_code(region) is None:
            fields["region"] = "6, 9 or 12 digits"
        if fields:
            raise ValidationFailed("筛选条件无效 / bad filter", fields=fields)
        q = (args.get("q") or "").strip()[:100] or None
        return cls(role, q, active, int(dep_raw) if dep_raw else None, region)


def list_users(
    ctx: Context, f: UserFilter, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], str | None]:
    """Users by id, ``limit`` (≤ 200) at a time; ``cursor`` is the last id of the page before."""
    limit = max(1, min(limit, 200))
    stmt = select(User)
    if f.role:
        stmt = stmt.where(User.role == f.role)
    if f.active is not None:
        stmt = stmt.where(User.active.is_(f.active))
    if f.department_id is not None:
        stmt = stmt.where(User.department_id == f.department_id)
    if f.region:
        region = _region_by_code(ctx, f.region)
        if region is None:
            stmt = stmt.where(false())
        else:
            inside = select(Region.id).where(Region.path.startswith(region.path))
            stmt = stmt.where(User.region_id.in_(inside))
    if f.q:
        stmt = stmt.where(
            or_(
                User.username.icontains(f.q, autoescape=True),
                User.display_name.icontains(f.q, autoescape=True),
                User.phone.icontains(f.q, autoescape=True),
            )
        )
    if cursor:
        if not cursor.isdigit():
            raise ValidationFailed("游标无效 / bad cursor", fields={"cursor": "invalid"})
        stmt = stmt.where(User.id > int(cursor))
    rows = list(ctx.db.scalars(stmt.order_by(User.id).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = str(rows[-1].id)
    grids = _active_grids(ctx, (a.grid_code for u in rows for a in u.assignments))
    return [user_json(u, grids) for u in rows], next_cursor


def _get_user(ctx: Context, user_id: int) -> User:
    user = ctx.db.get(User, user_id)
    if user is None:
        raise NotFound("未知用户 / unknown user")
    return user


def get_user(ctx: Context, user_id: int) -> dict[str, Any]:
    return _one_user_json(ctx, _get_user(ctx, user_id))


def _password(inp: _Input) -> str | None:
    """The new password's hash (or None when absent or refused)."""
    if "password" not in inp.body:
        return None
    value = inp.body["password"]
    if not isinstance(value, str):
        inp.fail("password", "应为文本 / must be a string")
        return None
    if len(value) > 256:
        inp.fail("password", "最多 256 个字符 / at most 256 characters")
        return None
    try:
        return hash_password(value)
    except ValueError:
        inp.fail(
            "password",
            f"至少 {MIN_PASSWORD_LENGTH} 位 / at least {MIN_PASSWORD_LENGTH} characters",
        )
        return None


def _role_needs(inp: _Input, role: str, region: Region | None, dep: Department | None) -> None:
    """What a role needs to see anything (DESIGN §1): a handler a department, a dispatcher or
    supervisor a region."""
    if role == "handler" and dep is None:
        inp.fail("department_id", "处置人员须属于一个部门 / a handler needs a department")
    if role in ROLES_NEEDING_REGION and region is None:
        inp.fail("region_code", "受理员和督查须有管辖区域 / this role needs a region")


def _active_admins(ctx: Context) -> int:
    """How many active admins there are, their rows locked until the transaction ends.

    Two admins disabling or demoting each other at once must not both succeed: on PostgreSQL
    (READ COMMITTED) both would count two admins. ``FOR UPDATE`` (rows in id order, so two such
    transactions cannot deadlock) makes the second wait for the first and then re-check the
    rows, so it counts the admins that remain. SQLite writes one transaction at a time (and
    SQLAlchemy leaves ``FOR UPDATE`` out there)."""
    ids = ctx.db.scalars(
        select(User.id)
        .where(User.role == "admin", User.active.is_(True))
        .order_by(User.id)
        .with_for_update()
    ).all()
    return len(ids)


def create_user(ctx: Context, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    inp = _Input(
        body,
        ("username", "display_name", "role", "password", "region_code", "department_id", "phone"),
    )
    username = inp.text("username", required=True, max_len=64)
    if username and not USERNAME_RE.match(username):
        inp.fail("username", "3–64 位字母、数字或 _ . @ - / 3-64 letters, digits, _ . @ -")
    display_name = inp.text("display_name")
    role = inp.text("role", required=True, max_len=16)
    if role and role not in ROLES:
        inp.fail("role", "应为 / one of " + ", ".join(ROLES))
    if "password" not in body:
        inp.fail("password", "必填 / required")
    pw_hash = _password(inp)
    region = _region_field(ctx, inp)
    dep = _department_field(ctx, inp)
    phone = inp.text("phone", max_len=32) or ""
    if phone and not PHONE_RE.match(phone):
        inp.fail("phone", "只能包含数字、+、- 和空格 / digits, +, - and spaces only")
    if role in ROLES and not any(k in inp.errors for k in ("region_code", "department_id")):
        _role_needs(inp, role, region, dep)
    inp.check()
    assert username and role and pw_hash
    duplicate = "用户名已存在 / this user name is taken"
    if ctx.db.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(duplicate, code="duplicate", fields={"username": "已存在 / exists"})
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=pw_hash,
        role=role,
        region=region,
        department=dep,
        phone=phone,
        active=True,
        session_epoch=0,
    )
    ctx.db.add(user)
    _commit(ctx, "username", duplicate)
    log.info("admin %s created user %s (%s, %s)", actor.id, user.id, username, role)
    return _one_user_json(ctx, user)


@dataclass
class UserUpdate:
    user: dict[str, Any]
    sessions_ended: bool  # True when the change ended the user's sessions (session_epoch)


def update_user(ctx: Context, actor: Actor, user_id: int, body: dict[str, Any]) -> UserUpdate:
    user = _get_user(ctx, user_id)
    inp = _Input(
        body,
        ("display_name", "role", "region_code", "department_id", "phone", "active", "password"),
    )
    display_name = inp.text("display_name", required=inp.has("display_name"))
    role = inp.text("role", required=inp.has("role"), max_len=16)
    if role and role not in ROLES:
        inp.fail("role", "应为 / one of " + ", ".join(ROLES))
    region = _region_field(ctx, inp)
    dep = _department_field(ctx, inp)
    phone = inp.text("phone", max_len=32)
    if phone and not PHONE_RE.match(phone):
        inp.fail("phone", "只能包含数字、+、- 和空格 / digits, +, - and spaces only")
    active = inp.flag("active")
    pw_hash = _password(inp)
    final_role = role if role in ROLES else user.role
    final_region = region if "region_code" in body else user.region
    final_dep = dep if "department_id" in body else user.department
    if not any(k in inp.errors for k in ("role", "region_code", "department_id")) and (
        {"role", "region_code", "department_id"} & set(body)
    ):
        _role_needs(inp, final_role, final_region, final_dep)
    inp.check()
    loses_admin = (
        user.role == "admin" and user.active and (active is False or final_role != "admin")
    )
    if loses_admin and user.id == actor.id:
        raise Conflict(
            "不能停用自己或取消自己的管理员角色 / you cannot disable yourself or drop your own "
            "admin role",
            code="self_lockout",
            fields={"active" if active is False else "role": "yourself"},
        )
    if loses_admin and _active_admins(ctx) <= 1:
        raise Conflict(
            "至少要保留一名启用的管理员 / at least one active admin must remain",
            code="last_admin",
        )
    ends_sessions = (active is False and user.active) or pw_hash is not None
    if display_name is not None:
        user.display_name = display_name
    if role is not None:
        user.role = role
    if "region_code" in body:
        user.region = region
    if "department_id" in body:
        user.department = dep
    if phone is not None:
        user.phone = phone
    if active is not None:
        user.active = active
    if pw_hash is not None:
        user.password_hash = pw_hash
    if ends_sessions:
        user.session_epoch = (user.session_epoch or 0) + 1
    ctx.db.commit()
    changed = sorted(k for k in body if k != "password") + (["password"] if pw_hash else [])
    log.info("admin %s updated user %s: %s", actor.id, user.id, changed)
    return UserUpdate(_one_user_json(ctx, user), bool(ends_sessions))


def set_duties(ctx: Context, actor: Actor, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Replace the user's grid duties with ``{"duties": [{"grid_code", "duty"}]}``."""
    user = _get_user(ctx, user_id)
    inp = _Input(body, ("duties",))
    raw = body.get("duties")
    wanted: list[tuple[int, str, str]] = []  # (index in the list, grid code, duty)
    if not isinstance(raw, list):
        inp.fail("duties", "应为列表 / must be a list of {grid_code, duty}")
        raw = []
    for i, item in enumerate(raw):
        key = f"duties[{i}]"
        if not isinstance(item, dict):
            inp.fail(key, "应为 {grid_code, duty} / must be an object {grid_code, duty}")
            continue
        extra = sorted(set(item) - {"grid_code", "duty"})
        if extra:
            inp.fail(key, "不支持的字段 / unknown fields: " + ", ".join(extra))
        code, duty = item.get("grid_code"), item.get("duty")
        code = code.strip() if isinstance(code, str) else None
        if not is_grid_code(code):
            inp.fail(f"{key}.grid_code", "应为 15 位网格编码 / a 15-digit grid code")
        if duty not in DUTIES:
            inp.fail(f"{key}.duty", "应为 / one of " + ", ".join(DUTIES))
        if code and is_grid_code(code) and duty in DUTIES:
            wanted.append((i, code, str(duty)))
    known = _active_grids(ctx, (c for _, c, _ in wanted))
    for i, code, _ in wanted:
        if code not in known:
            inp.fail(
                f"duties[{i}].grid_code",
                f"现行网格方案中没有网格 {code} / no grid {code} in the active plan",
            )
    inp.check()
    target = {(code, duty) for _, code, duty in wanted}
    current = {(a.grid_code, a.duty): a for a in user.assignments}
    for pair, assignment in current.items():
        if pair not in target:
            user.assignments.remove(assignment)
    for code, duty in sorted(target - set(current)):
        user.assignments.append(GridAssignment(grid_code=code, duty=duty))
    ctx.db.commit()
    log.info("admin %s set duties of user %s: %s", actor.id, user.id, sorted(target))
    return _one_user_json(ctx, user)


# -- grids --------------------------------------------------------------------------------------


def list_grids(
    ctx: Context, *, region: str | None = None, unstaffed: bool = False, q: str | None = None
) -> dict[str, Any]:
    """Active grids (of a region subtree) with their duties. A grid without an active
    full-time grid worker (专职网格员) is ``unstaffed``."""
    community = Region.__table__.alias("community")
    stmt = (
        select(Grid, community.c.code, community.c.name, community.c.parent_id)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .join(community, Grid.community_id == community.c.id)
        .where(GridPlan.status == "active")
        .order_by(Grid.code)
    )
    if region:
        if _normal_region_code(region) is None:
            raise ValidationFailed(
                "区划代码应为 6、9 或 12 位数字 / a region code has 6, 9 or 12 digits",
                fields={"region": "6, 9 or 12 digits"},
            )
        reg = _region_by_code(ctx, region)
        if reg is None:
            raise NotFound("未知区域 / unknown region")
        stmt = stmt.where(community.c.path.startswith(reg.path))
    if q:
        q = q.strip()[:100]
        stmt = stmt.where(
            or_(Grid.code.contains(q, autoescape=True), Grid.name.icontains(q, autoescape=True))
        )
    rows = ctx.db.execute(stmt).all()
    codes = [g.code for g, *_ in rows]
    towns = {
        r.id: r
        for r in ctx.db.scalars(
            select(Region).where(Region.id.in_(sorted({p for *_, p in rows if p is not None})))
        )
    }
    people: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    if codes:
        in_scope = stmt.with_only_columns(Grid.code).order_by(None)
        duty_rows = ctx.db.execute(
            select(GridAssignment.grid_code, GridAssignment.duty, User)
            .join(User, GridAssignment.user_id == User.id)
            .where(GridAssignment.grid_code.in_(in_scope))
            .order_by(User.id)
        ).all()
        for code, duty, user in duty_rows:
            people[code][duty].append(
                {
                    "user_id": user.id,
                    "username": user.username,
                    "display_name": user.display_name,
                    "role": user.role,
                    "phone": user.phone,
                    "active": user.active,
                }
            )
    items = []
    unstaffed_count = 0
    for grid, c_code, c_name, town_id in rows:
        duties = {d: people[grid.code].get(d, []) for d in DUTIES}
        is_unstaffed = not any(p["active"] for p in duties["full_time"])
        unstaffed_count += is_unstaffed
        if unstaffed and not is_unstaffed:
            continue
        town = towns.get(town_id) if town_id is not None else None
        items.append(
            {
                "id": grid.id,
                "code": grid.code,
                "name": grid.name,
                "kind": grid.kind,
                "subkind": grid.subkind,
                "households": grid.households,
                "community": {"id": grid.community_id, "code": c_code, "name": c_name},
                "town": {"id": town.id, "code": town.code, "name": town.name} if town else None,
                "duties": duties,
                "unstaffed": is_unstaffed,
            }
        )
    return {
        "items": items,
        "next_cursor": None,
        "counts": {"grids": len(rows), "unstaffed": unstaffed_count},
    }


# -- grid plans ---------------------------------------------------------------------------------


def plan_json(
    plan: GridPlan,
    region: Region | None,
    grids: int,
    creator: User | None,
) -> dict[str, Any]:
    report = plan.report or {}
    errors = report.get("errors") or []
    warnings = report.get("warnings") or []
    return {
        "id": plan.id,
        "region": {"id": region.id, "code": region.code, "name": region.name} if region else None,
        "version": plan.version,
        "status": plan.status,
        "source_name": plan.source_name,
        "grid_count": grids,
        "valid": bool(report.get("valid", False)),
        "error_count": len(errors) if isinstance(errors, list) else 0,
        "warning_count": len(warnings) if isinstance(warnings, list) else 0,
        "created_at": iso(plan.created_at),
        "created_by": {"id": creator.id, "display_name": creator.display_name or creator.username}
        if creator
        else None,
        "published_at": iso(plan.published_at),
        "retired_at": iso(plan.retired_at),
    }


def _plans_json(ctx: Context, plans: list[GridPlan]) -> list[dict[str, Any]]:
    ids = [p.id for p in plans]
    counts: dict[int, int] = {}
    if ids:
        counts = {
            int(pid): int(n)
            for pid, n in ctx.db.execute(
                select(Grid.plan_id, func.count())
                .where(Grid.plan_id.in_(ids))
                .group_by(Grid.plan_id)
            ).all()
        }
    regions = {p.region_id: ctx.db.get(Region, p.region_id) for p in plans}
    users = {p.created_by_id: ctx.db.get(User, p.created_by_id) for p in plans if p.created_by_id}
    return [
        plan_json(
            p,
            regions.get(p.region_id),
            counts.get(p.id, 0),
            users.get(p.created_by_id) if p.created_by_id else None,
        )
        for p in plans
    ]


def list_plans(ctx: Context) -> list[dict[str, Any]]:
    plans = list(ctx.db.scalars(select(GridPlan).order_by(GridPlan.id.desc())))
    return _plans_json(ctx, plans)


def get_plan(ctx: Context, plan_id: int) -> dict[str, Any]:
    plan = ctx.db.get(GridPlan, plan_id)
    if plan is None:
        raise NotFound("未知网格方案 / unknown grid plan")
    return {"plan": _plans_json(ctx, [plan])[0], "report": plan.report}


@dataclass
class PlanOptions:
    crs: str | None = None
    gap_width_m: float = 0.0
    make_valid: bool = False
    publish: bool = False
    renumber: bool = False  # replace malformed and duplicated codes (each one reported)

    @classmethod
    def parse(cls, form: dict[str, str]) -> PlanOptions:
        """``crs``, ``gap_width``, ``make_valid``, ``publish``, ``renumber`` from form fields."""
        fields: dict[str, str] = {}
        crs_raw = (form.get("crs") or "").strip() or None
        crs: str | None = None
        try:
            crs = parse_crs(crs_raw)
        except CRSError as exc:
            fields["crs"] = str(exc)
        gap = 0.0
        gap_raw = (form.get("gap_width") or "").strip()
        if gap_raw:
            try:
                gap = float(gap_raw)
            except ValueError:
                gap = math.nan
            if not math.isfinite(gap) or gap < 0 or gap > MAX_GAP_WIDTH_M:
                fields["gap_width"] = f"0–{MAX_GAP_WIDTH_M:g} 米 / metres"
        flags = {}
        for key in ("make_valid", "publish", "renumber"):
            raw = (form.get(key) or "").strip().lower()
            if raw in {"", "0", "false", "no", "off"}:
                flags[key] = False
            elif raw in {"1", "true", "yes", "on"}:
                flags[key] = True
            else:
                fields[key] = "1 or 0"
        if fields:
            raise ValidationFailed("选项无效 / bad options: " + ", ".join(fields), fields=fields)
        return cls(crs, gap, flags["make_valid"], flags["publish"], flags["renumber"])


def upload_suffix(filename: str) -> str:
    """The file type of an upload by its name, or a 400."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValidationFailed(
            "不支持的文件类型 / unsupported file type; 可用 / accepted: "
            + ", ".join(SUPPORTED_SUFFIXES),
            fields={"file": ", ".join(SUPPORTED_SUFFIXES)},
        )
    return suffix


def check_upload(ctx: Context, path: Path, source_name: str, options: PlanOptions) -> PlanCheck:
    """Read, code and validate an uploaded plan file (see ``gridplans.check_plan``).
    Raises ``geo.errors.GeoError`` when unreadable."""
    check = check_plan(
        ctx.db,
        path,
        crs=options.crs,
        gap_width_m=options.gap_width_m,
        make_valid=options.make_valid,
        renumber=options.renumber,
    )
    check.source_name = source_name
    return check


@dataclass
class PlanUpload:
    plan: dict[str, Any] | None  # None: not stored (the report has errors)
    report: dict[str, Any]


def upload_plan(
    ctx: Context, actor: Actor, path: Path, source_name: str, options: PlanOptions
) -> PlanUpload:
    """Check a plan file; store it as a draft when it has no errors (and publish it when asked).

    A plan with errors stores nothing and leaves the active plan as it was."""
    check = check_upload(ctx, path, source_name, options)
    report = check.report.to_dict()
    if not check.report.valid:
        ctx.db.rollback()
        return PlanUpload(None, report)
    try:
        # The communities come from the database: nothing to upsert (parents=None).
        plan = store_plan(
            ctx.db,
            PlanCheck(check.grids, None, check.report, source_name[:300]),
            created_by=actor.id,
        )
        if options.publish:
            publish(ctx.db, plan, now=ctx.now())
        ctx.db.commit()
    except PlanError as exc:
        ctx.db.rollback()
        raise Unprocessable(str(exc), code="plan_invalid", report=report) from None
    except IntegrityError:
        ctx.db.rollback()
        raise Conflict(
            "另一个方案正在同时保存，请重试 / another plan was stored at the same time: retry",
            code="concurrent_upload",
        ) from None
    log.info(
        "admin %s stored grid plan %s (v%s, %s) from %s",
        actor.id, plan.id, plan.version, plan.status, source_name,
    )  # fmt: skip
    return PlanUpload(_plans_json(ctx, [plan])[0], report)


def publish_plan(ctx: Context, actor: Actor, plan_id: int) -> dict[str, Any]:
    plan = ctx.db.get(GridPlan, plan_id)
    if plan is None:
        raise NotFound("未知网格方案 / unknown grid plan")
    try:
        publish(ctx.db, plan, now=ctx.now())
        ctx.db.commit()
    except PlanError as exc:
        ctx.db.rollback()
        raise Conflict(str(exc), code="plan_not_publishable") from None
    log.info("admin %s published grid plan %s (v%s)", actor.id, plan.id, plan.version)
    return _plans_json(ctx, [plan])[0]
