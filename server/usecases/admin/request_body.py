"""Reading an admin request body: every field checked, every problem collected, raised once.

Shared by the admin use cases (:mod:`server.usecases.admin`); also the lookups of a region or
a department named in a body, and the commit that turns a unique-key race into a 409.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.domain.names import name_problem
from server.models import Department, Region
from server.usecases.context import Context
from server.usecases.errors import Conflict, NotFound, ValidationFailed

M = TypeVar("M")

REGION_CODE_LENGTHS = (6, 9, 12)


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def json_number(value: float | None) -> float | int | None:
    """5.0 → 5 in JSON, 0.5 stays 0.5."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


class BodyReader:
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

    def name(self, key: str, *, required: bool = False, max_len: int = 100) -> str | None:
        """A name or label a person gives (:func:`server.domain.names.name_problem`: no control
        or bidi characters, something that shows, at most ``max_len`` characters)."""
        value = self.text(key, required=required, max_len=max_len)
        if value and (bad := name_problem(value, max_len)):
            self.fail(key, bad)
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


def normal_region_code(code: str) -> str | None:
    code = code.strip()
    if code.isdigit() and len(code) in REGION_CODE_LENGTHS:
        return code.ljust(12, "0")
    return None


def region_by_code(ctx: Context, code: str) -> Region | None:
    normal = normal_region_code(code)
    if normal is None:
        return None
    return ctx.db.scalar(select(Region).where(Region.code == normal))


def region_parameter(ctx: Context, code: str, name: str) -> Region | None:
    """The region a query parameter names by its 6-, 9- or 12-digit code (None: no such region);
    a malformed code is a 400 naming the parameter."""
    if normal_region_code(code) is None:
        raise ValidationFailed(
            "区划代码应为 6、9 或 12 位数字 / a region code has 6, 9 or 12 digits",
            fields={name: "6, 9 or 12 digits"},
        )
    return region_by_code(ctx, code)


def region_field(ctx: Context, inp: BodyReader, key: str = "region_code") -> Region | None:
    code = inp.text(key, max_len=12)
    if not code:
        return None
    region = region_by_code(ctx, code)
    if region is None:
        inp.fail(key, "未知区域（6、9 或 12 位区划代码）/ unknown region (6, 9 or 12 digits)")
    return region


def department_field(
    ctx: Context, inp: BodyReader, key: str = "department_id"
) -> Department | None:
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


def get_or_not_found(ctx: Context, model: type[M], ident: int, message: str) -> M:
    """The row of ``model`` with this id, or a 404 saying ``message``."""
    row = ctx.db.get(model, ident)
    if row is None:
        raise NotFound(message)
    return row


def commit_unique(ctx: Context, conflict_field: str, message: str) -> None:
    """Commit; a unique-key race becomes the same 409 the up-front check gives."""
    try:
        ctx.db.commit()
    except IntegrityError:
        ctx.db.rollback()
        raise Conflict(
            message, code="duplicate", fields={conflict_field: "已存在 / exists"}
        ) from None
