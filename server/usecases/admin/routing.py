"""Routing rules (越级, DESIGN §9): per category × urgency, the level a new case goes to first,
the departments copied (抄告), enabled or not. List and set (one rule per PUT, an upsert).

A rule's copied departments must be of the rule's level (a department's level is its region's):
a county-level rule copies county departments, a town-level rule town offices. Every change is
logged on ``wangge.admin`` with the rule before and after, and the rule keeps who changed it
last and when.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from server.domain.fields import Urgency
from server.domain.levels import CENTRE_LEVELS, LEVEL_LABELS, Level
from server.models import Category, Department, Region, RoutingRule
from server.usecases import locks
from server.usecases.admin.request_body import BodyReader
from server.usecases.context import Actor, Context

log = logging.getLogger("wangge.admin")


def rule_json(rule: RoutingRule, category: Category | None = None) -> dict[str, Any]:
    return {
        "id": rule.id,
        "category_id": rule.category_id,
        "category_code": category.code if category else None,
        "category_name": category.name if category else None,
        "urgency": rule.urgency,
        "level": rule.level,
        "level_label": LEVEL_LABELS[Level(rule.level)][0],
        "copy_department_ids": list(rule.copy_department_ids or []),
        "enabled": rule.enabled,
        "updated_at": rule.updated_at.isoformat() if rule.updated_at else None,
        "updated_by_id": rule.updated_by_id,
    }


def list_rules(ctx: Context) -> list[dict[str, Any]]:
    rows = ctx.db.execute(
        select(RoutingRule, Category)
        .join(Category, Category.id == RoutingRule.category_id)
        .order_by(Category.code, RoutingRule.urgency)
    ).all()
    return [rule_json(rule, cat) for rule, cat in rows]


def put_rule(ctx: Context, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """Create or replace the rule of (category_id, urgency)."""
    inp = BodyReader(body, ("category_id", "urgency", "level", "copy_department_ids", "enabled"))
    category_id = inp.ident("category_id")
    category = ctx.db.get(Category, category_id) if category_id is not None else None
    if category_id is None:
        inp.fail("category_id", "必填 / required")
    elif category is None or category.parent_id is None:
        inp.fail("category_id", "未知小类 / unknown minor category")
    urgency = inp.text("urgency", required=True, max_len=8)
    if urgency is not None and urgency not in {u.value for u in Urgency}:
        inp.fail("urgency", "normal | urgent")
    level = inp.text("level", required=True, max_len=16)
    if level is not None and level not in {lv.value for lv in CENTRE_LEVELS}:
        inp.fail("level", " | ".join(lv.value for lv in CENTRE_LEVELS))
        level = None
    enabled = inp.flag("enabled")
    copies = _copies(ctx, inp, level)
    inp.check()
    assert category is not None and urgency is not None and level is not None
    # Two PUTs of a rule not stored yet both inserted it (a 500 on the unique key: an outside
    # audit); one after the other, the second replaces the first's.
    locks.hold(ctx.db, locks.Scope.ROUTING_RULES, [category.id])
    rule = ctx.db.scalar(
        select(RoutingRule).where(
            RoutingRule.category_id == category.id, RoutingRule.urgency == urgency
        )
    )
    before = rule_json(rule, category) if rule is not None else None
    if rule is None:
        rule = RoutingRule(category_id=category.id, urgency=urgency)
        ctx.db.add(rule)
    rule.level = level
    rule.copy_department_ids = copies
    rule.enabled = True if enabled is None else enabled
    rule.updated_at = ctx.now()
    rule.updated_by_id = actor.id
    ctx.db.commit()
    after = rule_json(rule, category)
    log.info(
        "admin %s set routing rule %s (%s/%s): %s -> %s",
        actor.id,
        rule.id,
        category.code,
        urgency,
        before,
        after,
    )
    return after


def _copies(ctx: Context, inp: BodyReader, level: str | None) -> list[int]:
    key = "copy_department_ids"
    value = inp.body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > 20:
        inp.fail(key, "应为部门编号列表（最多 20 个）/ a list of at most 20 department ids")
        return []
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        inp.fail(key, "应为部门编号 / department ids")
        return []
    found = {
        d.id: (d, lv)
        for d, lv in ctx.db.execute(
            select(Department, Region.level)
            .outerjoin(Region, Region.id == Department.region_id)
            .where(Department.id.in_(value))
        ).all()
    }
    out: list[int] = []
    for dep_id in value:
        dep, dep_level = found.get(dep_id, (None, None))
        if dep is None or not dep.active:
            inp.fail(key, f"{dep_id}: 未知或已停用的部门 / unknown or retired department")
        elif level is not None and dep_level != level:
            inp.fail(
                key,
                f"{dep_id}: 不是{LEVEL_LABELS[Level(level)][0]}级部门 / "
                f"not a department of the {level} level",
            )
        elif dep_id not in out:
            out.append(dep_id)
    return out
