"""User accounts and grid duties: list, create, update, set duties.

An account keeps at least one active admin; a dispatcher or supervisor needs a region.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, or_, select

from geo.parents import is_grid_code
from server.domain import workflow as wf
from server.domain.workflow import ROLE_NAMES as ROLES
from server.models import DUTIES, Department, Grid, GridAssignment, GridPlan, Region, User
from server.models.geography import DUTY_LABELS
from server.security import MIN_PASSWORD_LENGTH, hash_password
from server.usecases import locks
from server.usecases.admin.request_body import (
    BodyReader,
    commit_unique,
    department_field,
    get_or_not_found,
    iso,
    normal_region_code,
    region_by_code,
    region_field,
)
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict, ValidationFailed

log = logging.getLogger("wangge.admin")


USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")
PHONE_RE = re.compile(r"^[0-9+\- ]{0,32}$")
ROLES_NEEDING_REGION = (wf.Role.DISPATCHER, wf.Role.SUPERVISOR)


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
        if region is not None and normal_region_code(region) is None:
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
        region = region_by_code(ctx, f.region)
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
    return get_or_not_found(ctx, User, user_id, "未知用户 / unknown user")


def get_user(ctx: Context, user_id: int) -> dict[str, Any]:
    return _one_user_json(ctx, _get_user(ctx, user_id))


def _password(inp: BodyReader) -> str | None:
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


def _role_needs(inp: BodyReader, role: str, region: Region | None, dep: Department | None) -> None:
    """What a role needs to see anything (DESIGN §1): a handler a department, a dispatcher or
    supervisor a region."""
    if role == wf.Role.HANDLER and dep is None:
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
        .where(User.role == wf.Role.ADMIN, User.active.is_(True))
        .order_by(User.id)
        .with_for_update()
    ).all()
    return len(ids)


def create_user(ctx: Context, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    inp = BodyReader(
        body,
        ("username", "display_name", "role", "password", "region_code", "department_id", "phone"),
    )
    username = inp.text("username", required=True, max_len=64)
    if username and not USERNAME_RE.match(username):
        inp.fail("username", "3–64 位字母、数字或 _ . @ - / 3-64 letters, digits, _ . @ -")
    display_name = inp.name("display_name")
    role = inp.text("role", required=True, max_len=16)
    if role and role not in ROLES:
        inp.fail("role", "应为 / one of " + ", ".join(ROLES))
    if "password" not in body:
        inp.fail("password", "必填 / required")
    pw_hash = _password(inp)
    region = region_field(ctx, inp)
    dep = department_field(ctx, inp)
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
    commit_unique(ctx, "username", duplicate)
    log.info("admin %s created user %s (%s, %s)", actor.id, user.id, username, role)
    return _one_user_json(ctx, user)


@dataclass
class UserUpdate:
    user: dict[str, Any]
    sessions_ended: bool  # True when the change ended the user's sessions (session_epoch)


def update_user(ctx: Context, actor: Actor, user_id: int, body: dict[str, Any]) -> UserUpdate:
    user = _get_user(ctx, user_id)
    inp = BodyReader(
        body,
        ("display_name", "role", "region_code", "department_id", "phone", "active", "password"),
    )
    display_name = inp.name("display_name", required=inp.has("display_name"))
    role = inp.text("role", required=inp.has("role"), max_len=16)
    if role and role not in ROLES:
        inp.fail("role", "应为 / one of " + ", ".join(ROLES))
    region = region_field(ctx, inp)
    dep = department_field(ctx, inp)
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
        user.role == wf.Role.ADMIN
        and user.active
        and (active is False or final_role != wf.Role.ADMIN)
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
    inp = BodyReader(body, ("duties",))
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
    # Requests setting one user's duties at once each read the duties before the others wrote:
    # their lists were combined (an outside audit), and the same list twice was a duplicate key.
    # The user's lock makes them one after the other; the duties are read after it.
    locks.hold_user(ctx.db, user.id)
    ctx.db.refresh(user, ["assignments"])
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
