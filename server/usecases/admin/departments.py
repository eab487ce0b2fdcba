"""Departments (处置部门): list, create, update, retire."""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import func, select

from server.domain import workflow as wf
from server.models import Department, User
from server.usecases.admin.request_body import (
    BodyReader,
    commit_unique,
    get_or_not_found,
    region_field,
)
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict

log = logging.getLogger("wangge.admin")

DEPARTMENT_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


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
        .where(User.role == wf.Role.HANDLER, User.active.is_(True), User.department_id.is_not(None))
        .group_by(User.department_id)
    ).all()
    return {int(d): int(n) for d, n in rows if d is not None}


def list_departments(ctx: Context) -> list[dict[str, Any]]:
    counts = _handler_counts(ctx)
    deps = ctx.db.scalars(select(Department).order_by(Department.code))
    return [department_json(d, counts.get(d.id, 0)) for d in deps]


def _get_department(ctx: Context, dep_id: int) -> Department:
    return get_or_not_found(ctx, Department, dep_id, "未知部门 / unknown department")


def create_department(ctx: Context, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    inp = BodyReader(body, ("code", "name", "region_code"))
    code = inp.text("code", required=True, max_len=32)
    if code and not DEPARTMENT_CODE_RE.match(code):
        inp.fail("code", "只能用字母、数字、- 和 _ / letters, digits, - and _ only")
    name = inp.name("name", required=True)
    region = region_field(ctx, inp)
    inp.check()
    assert code and name
    duplicate = "部门编码已存在 / a department with this code exists"
    if ctx.db.scalar(select(Department.id).where(Department.code == code)) is not None:
        raise Conflict(duplicate, code="duplicate", fields={"code": "已存在 / exists"})
    dep = Department(code=code, name=name, region=region, active=True)
    ctx.db.add(dep)
    commit_unique(ctx, "code", duplicate)
    log.info("admin %s created department %s (%s)", actor.id, dep.id, code)
    return department_json(dep)


def update_department(
    ctx: Context, actor: Actor, dep_id: int, body: dict[str, Any]
) -> dict[str, Any]:
    dep = _get_department(ctx, dep_id)
    inp = BodyReader(body, ("name", "active"))
    name = inp.name("name", required=inp.has("name"))
    active = inp.flag("active")
    inp.check()
    if name is not None:
        dep.name = name
    if active is not None:
        dep.active = active
    ctx.db.commit()
    log.info("admin %s updated department %s: %s", actor.id, dep.id, sorted(body))
    return department_json(dep, _handler_counts(ctx).get(dep.id, 0))
