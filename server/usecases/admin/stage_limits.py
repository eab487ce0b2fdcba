"""Stage time limits and supervision-card thresholds (``server.domain.stages``): list, set,
remove. Every change is logged on ``wangge.admin`` with what it was before and after, and the
row keeps who changed it last and when."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from server.domain.fields import Urgency
from server.domain.stages import (
    DEFAULT_LIMITS,
    DEFAULT_THRESHOLDS,
    LEVELS,
    Stage,
    ThresholdError,
    parse_thresholds,
)
from server.models import CardThresholdRow, Category, StageLimitRow
from server.models.catalog import LIMIT_UNITS
from server.usecases import locks
from server.usecases.admin.categories import _check_limits
from server.usecases.admin.request_body import (
    BodyReader,
    commit_unique,
    get_or_not_found,
    iso,
    json_number,
)
from server.usecases.context import Actor, Context
from server.usecases.errors import ValidationFailed

log = logging.getLogger("wangge.admin")


def limit_json(row: StageLimitRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "category_code": row.category_code,
        "urgency": row.urgency,
        "level": row.level,
        "stage": row.stage,
        "limit_value": json_number(row.limit_value),
        "limit_unit": row.limit_unit,
        "updated_at": iso(row.updated_at),
        "updated_by_id": row.updated_by_id,
    }


def list_stage_limits(ctx: Context) -> dict[str, Any]:
    """The stored limits, the built-in defaults and every stage's card thresholds."""
    rows = ctx.db.scalars(
        select(StageLimitRow).order_by(
            StageLimitRow.stage,
            StageLimitRow.category_code,
            StageLimitRow.urgency,
            StageLimitRow.level,
        )
    ).all()
    stored = {r.stage: r for r in ctx.db.scalars(select(CardThresholdRow))}
    return {
        "items": [limit_json(r) for r in rows],
        "defaults": [
            {
                "stage": s.value,
                "urgency": u.value,
                "limit_value": json_number(lim.value),
                "limit_unit": lim.unit,
            }
            for (s, u), lim in DEFAULT_LIMITS.items()
        ],
        "thresholds": [_threshold_json(s, stored.get(s.value)) for s in Stage],
        "levels": list(LEVELS),
        "units": list(LIMIT_UNITS),
    }


def _threshold_json(stage: Stage, row: CardThresholdRow | None) -> dict[str, Any]:
    default = DEFAULT_THRESHOLDS[stage]
    return {
        "stage": stage.value,
        "yellow_days": row.yellow_days if row else default.yellow_days,
        "red_days": row.red_days if row else default.red_days,
        "stored": row is not None,
        "updated_at": iso(row.updated_at) if row else None,
    }


def set_stage_limit(ctx: Context, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """Create or replace the limit of one (category, urgency, level, stage)."""
    inp = BodyReader(
        body, ("category_code", "urgency", "level", "stage", "limit_value", "limit_unit")
    )
    code = inp.text("category_code", max_len=4) or ""
    urgency = inp.text("urgency", required=True, max_len=8)
    level = inp.text("level", max_len=16) or ""
    stage = inp.text("stage", required=True, max_len=16)
    value = inp.number("limit_value", required=True)
    unit = inp.text("limit_unit", required=True, max_len=16)
    if code and ctx.db.scalar(select(Category.id).where(Category.code == code)) is None:
        inp.fail("category_code", '未知类别 / unknown category ("" for every category)')
    if urgency is not None and urgency not in tuple(Urgency):
        inp.fail("urgency", "应为 / one of " + ", ".join(Urgency))
    if level and level not in LEVELS:
        inp.fail("level", "应为 / one of " + ", ".join(LEVELS) + ' ("" for every level)')
    if stage is not None and stage not in tuple(Stage):
        inp.fail("stage", "应为 / one of " + ", ".join(Stage))
    _check_limits(inp, value, unit, None)
    inp.check()
    assert urgency and stage and value is not None and unit
    # Two PUTs of a limit not stored yet both inserted it (the second was a 409 "changed
    # meanwhile"); one after the other, the last one's limit stays, as for the thresholds.
    locks.hold(ctx.db, locks.Scope.STAGE_LIMITS, [0])
    row = ctx.db.scalar(
        select(StageLimitRow).where(
            StageLimitRow.category_code == code,
            StageLimitRow.urgency == urgency,
            StageLimitRow.level == level,
            StageLimitRow.stage == stage,
        )
    )
    before = limit_json(row) if row else None
    if row is None:
        row = StageLimitRow(category_code=code, urgency=urgency, level=level, stage=stage)
        ctx.db.add(row)
    row.limit_value, row.limit_unit = value, unit
    row.updated_at, row.updated_by_id = ctx.now(), actor.id
    commit_unique(ctx, "stage", "该时限刚被他人修改，请重试 / changed meanwhile: try again")
    after = limit_json(row)
    log.info("admin %s set stage limit %s: %s -> %s", actor.id, row.id, before, after)
    return after


def delete_stage_limit(ctx: Context, actor: Actor, limit_id: int) -> None:
    locks.hold(ctx.db, locks.Scope.STAGE_LIMITS, [0])
    row = get_or_not_found(ctx, StageLimitRow, limit_id, "没有这条时限 / no such stage limit")
    before = limit_json(row)
    ctx.db.delete(row)
    ctx.db.commit()
    log.info("admin %s removed stage limit %s: %s", actor.id, limit_id, before)


def set_card_thresholds(ctx: Context, actor: Actor, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Set the thresholds of the stages named: ``{stage: {yellow_days, red_days}}``."""
    if not body:
        raise ValidationFailed(
            "请至少给出一个阶段 / name at least one stage", fields={"stage": "required"}
        )
    try:
        wanted = parse_thresholds(body)
    except ThresholdError as err:
        raise ValidationFailed(
            "督办阈值无效 / invalid card thresholds", code="invalid_thresholds", fields=err.fields
        ) from None
    # Two PUTs of a stage not stored yet both inserted it (a 500 on the unique key: an outside
    # audit); one after the other, the last one's thresholds stay.
    locks.hold(ctx.db, locks.Scope.CARD_THRESHOLDS, [0])
    stored = {r.stage: r for r in ctx.db.scalars(select(CardThresholdRow))}
    before = {s: (r.yellow_days, r.red_days) for s, r in stored.items()}
    for stage, limits in wanted.items():
        row = stored.get(stage.value)
        if row is None:
            row = CardThresholdRow(stage=stage.value)
            ctx.db.add(row)
            stored[stage.value] = row
        row.yellow_days, row.red_days = limits.yellow_days, limits.red_days
        row.updated_at, row.updated_by_id = ctx.now(), actor.id
    ctx.db.commit()
    log.info(
        "admin %s set card thresholds: %s -> %s",
        actor.id,
        before,
        {s.value: (t.yellow_days, t.red_days) for s, t in wanted.items()},
    )
    return [_threshold_json(s, stored.get(s.value)) for s in Stage]
