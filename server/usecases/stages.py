"""Stage clocks, traffic lights and the automatic 督办 sweep (``server.domain.stages``).

- :func:`enter` starts the clock of the stage a case has just entered (the use cases call it in
  the transaction of the action that moved the case);
- :func:`stage_json` is the stage, its due time, its light and its card as the case JSON shows;
- :func:`sweep` raises the yellow and red cards (``flask cases sweep``, and now and then the app
  itself, :func:`maybe_sweep`).

The sweep is safe to run every minute from several hosts at once. Each card is raised by a
conditional ``UPDATE`` of the case (``stage_card`` still below the new card, the same stage
clock), which on PostgreSQL locks the row: of two sweeps the second finds the card raised and
does nothing. The card's event has a UUID made from the case, the stage clock and the card, so
even a second writer past that guard would fail on the unique index rather than add a second
card. On PostgreSQL a transaction-scoped advisory lock also keeps two sweeps from doing the
same work at once (the second one returns at once, ``skipped``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select, text, update

from server import cache
from server.domain import workflow as wf
from server.domain.fields import Urgency
from server.domain.levels import Level
from server.domain.stages import (
    CARD_LABELS,
    DEFAULT_LIMITS,
    DEFAULT_THRESHOLDS,
    STAGE_LABELS,
    Card,
    CardThresholds,
    Stage,
    StageLimit,
    light,
    stage_of,
    used_fraction,
)
from server.domain.worktime import add_time
from server.models import Incident, IncidentEvent
from server.usecases.context import Actor, Context

log = logging.getLogger("wangge.sweep")

#: The actor of the cards the sweep raises (``wf.SYSTEM``: no user signs in as it).
SWEEPER = Actor(id=None, role=wf.SYSTEM, display_name="督办 sweep")
#: pg_try_advisory_xact_lock key of the sweep ("督办" in a 64-bit number).
LOCK_KEY = 0x7763_6472_7377_6570
_NS = uuidlib.UUID("0b6f7d3e-8a51-4c62-9d0e-15a7c4e2b915")
#: At most this many cards one sweep (one transaction) raises, the longest overdue first. A
#: backlog (cases never swept, a sweep stopped for days: tens of thousands of cards at a
#: million cases) drains over several short sweeps instead of one transaction that keeps
#: every case it carded locked for many seconds; ``flask cases sweep`` sweeps again until
#: nothing is left, the app's own sweep takes one batch a minute.
BATCH = 500


def case_level(ctx: Context, case: Incident) -> str:
    """The level of the command centre holding the case now (``incidents.centre_id`` →
    ``regions.level``), for its stage limits: a town centre's case uses the town's limits.
    The one place of this rule: :func:`enter` and the sweep's :func:`_fill_due` both read it
    (the sweep's SQL only compares the stored ``stage_due_at``). A case held by no centre
    (none on its line) is the county's."""
    centre = cache.reference(ctx.db).regions.get(case.centre_id) if case.centre_id else None
    return str(centre.level) if centre is not None else Level.COUNTY.value


# --- limits ----------------------------------------------------------------------------------


def limit_for(
    ctx: Context, category_code: str, urgency: str, level: str, stage: Stage
) -> StageLimit | None:
    """The stored limit of this stage, the most specific row first: this category at this
    level, this category at every level, every category at this level, every category at every
    level. None when no row names one (the caller falls back on the defaults). From the
    process's reference cache (``server.cache``): no query while nothing changed."""
    rows = cache.reference(ctx.db).stage_limits
    for code, lvl in ((category_code, level), (category_code, ""), ("", level), ("", "")):
        hit = rows.get((code, urgency, lvl, stage.value))
        if hit is not None:
            return StageLimit(hit[0], hit[1])  # type: ignore[arg-type]
    return None


def handle_limit(ctx: Context, case: Incident, urgency: str) -> StageLimit:
    """The handle stage's limit: a stored row, else the category's own limit (urgent: its
    urgent hours, in natural time)."""
    cat = cache.reference(ctx.db).categories.get(case.category_id)
    assert cat is not None
    row = limit_for(ctx, cat.code, urgency, case_level(ctx, case), Stage.HANDLE)
    if row is not None:
        return row
    if urgency == Urgency.URGENT and cat.urgent_hours:
        return StageLimit(cat.urgent_hours, "hours")
    return StageLimit(cat.limit_value, cat.limit_unit)


def stage_limit(ctx: Context, case: Incident, stage: Stage) -> StageLimit:
    """The limit of a stage other than handle for this case."""
    cat = cache.reference(ctx.db).categories.get(case.category_id)
    code = cat.code if cat is not None else ""
    urgency = case.urgency if case.urgency in tuple(Urgency) else Urgency.NORMAL
    row = limit_for(ctx, code, urgency, case_level(ctx, case), stage)
    return row or DEFAULT_LIMITS[(stage, Urgency(urgency))]


def enter(ctx: Context, case: Incident, state: wf.State | str, now: datetime) -> None:
    """Start the clock of the stage of ``state`` (clear it when the case leaves every stage).
    The handle stage is due at the case's deadline (set by the dispatch)."""
    stage = stage_of(state)
    case.stage_card = None
    if stage is None:
        case.stage_started_at = case.stage_due_at = None
        case.stage_natural = False
        return
    case.stage_started_at = now
    if stage is Stage.HANDLE:
        case.stage_due_at = case.deadline_at
        case.stage_natural = case.fixed_deadline_at is not None or (
            handle_limit(ctx, case, case.urgency).unit == "hours"
        )
        return
    limit = stage_limit(ctx, case, stage)
    case.stage_due_at = add_time(now, limit.value, limit.unit, ctx.calendar)
    case.stage_natural = limit.unit == "hours"


def stage_json(ctx: Context, case: Incident) -> dict[str, Any] | None:
    """The current stage of an open case with its clock, light and card (None: no stage)."""
    stage = stage_of(case.state)
    if stage is None or case.stage_started_at is None:
        return None
    light_name = used = None
    if case.stage_due_at is not None:
        fraction = used_fraction(
            case.stage_started_at, case.stage_due_at, ctx.now(), case.stage_natural, ctx.calendar
        )
        light_name = light(fraction).value
        used = round(fraction, 4) if fraction != float("inf") else None
    zh, en = STAGE_LABELS[stage]
    card = Card(case.stage_card) if case.stage_card else None
    return {
        "stage": stage.value,
        "label": zh,
        "label_en": en,
        "started_at": case.stage_started_at,
        "due_at": case.stage_due_at,
        "natural_time": case.stage_natural,
        "used": used,
        "light": light_name,
        "card": card.value if card else None,
        "card_label": CARD_LABELS[card][0] if card else None,
    }


# --- thresholds ------------------------------------------------------------------------------


def thresholds(ctx: Context) -> dict[Stage, CardThresholds]:
    """Every stage's card thresholds: stored rows over the defaults."""
    out = dict(DEFAULT_THRESHOLDS)
    for stage, (yellow, red) in cache.reference(ctx.db).card_thresholds.items():
        out[Stage(stage)] = CardThresholds(yellow, red)
    return out


# --- the sweep -------------------------------------------------------------------------------


@dataclass
class SweepResult:
    yellow: int = 0
    red: int = 0
    filled: int = 0
    skipped: bool = False
    full: bool = False  # the batch was used up: more cards may be due (sweep again)
    cases: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "yellow": self.yellow,
            "red": self.red,
            "filled": self.filled,
            "skipped": self.skipped,
        }


def card_uuid(case_id: int, stage: Stage, started: datetime, card: Card) -> str:
    """The one UUID a card of this stage clock can have (a second card fails on it)."""
    return str(uuidlib.uuid5(_NS, f"{case_id}/{stage.value}/{started.isoformat()}/{card.value}"))


def _states(stage: Stage) -> list[str]:
    return [s.value for s in wf.State if stage_of(s) is stage]


def _fill_due(ctx: Context) -> int:
    """Due times of open stages that have none (cases opened before migration 0010)."""
    states = [s for st in (Stage.ACCEPT, Stage.DISPATCH, Stage.VERIFY) for s in _states(st)]
    rows = ctx.db.scalars(
        select(Incident).where(
            Incident.stage_due_at.is_(None),
            Incident.stage_started_at.is_not(None),
            Incident.state.in_(states),
        )
    ).all()
    for case in rows:
        stage = stage_of(case.state)
        assert stage is not None and case.stage_started_at is not None
        limit = stage_limit(ctx, case, stage)
        due = add_time(case.stage_started_at, limit.value, limit.unit, ctx.calendar)
        ctx.db.execute(
            update(Incident)
            .where(Incident.id == case.id, Incident.stage_started_at == case.stage_started_at)
            .values(stage_due_at=due, stage_natural=limit.unit == "hours")
            .execution_options(synchronize_session=False)
        )
    return len(rows)


def _raise(
    ctx: Context,
    stage: Stage,
    card: Card,
    days: int,
    cutoff: datetime,
    now: datetime,
    sequence: str | None,
    limit: int,
) -> list[int]:
    """Raise ``card`` on the cases of ``stage`` due at or before ``cutoff`` that do not hold
    it yet, at most ``limit`` of them (the longest overdue): one conditional UPDATE of the
    cases and one INSERT of their card events.

    ``sequence`` (PostgreSQL: the sequence of ``incident_events.id``): the UPDATE takes each
    card event's id from it and stores it as the case's ``last_event_id`` at once, so a case
    is written once per card. Without it (SQLite) a third statement sets ``last_event_id``."""
    # The yellow pass runs first, so a case past both cut-offs holds a yellow card by the red
    # pass (each pass reads one partial index: an idle sweep reads nothing).
    below: ColumnElement[bool] = (
        Incident.stage_card.is_(None)
        if card is Card.YELLOW
        else Incident.stage_card == Card.YELLOW.value
    )
    values: dict[str, Any] = {
        "stage_card": card.value,
        "version": Incident.version + 1,
        "updated_at": now,
    }
    if sequence is not None:
        values["last_event_id"] = literal_column(f"nextval('{sequence}')")
    due = (below, Incident.stage_due_at <= cutoff, Incident.state.in_(_states(stage)))
    first = select(Incident.id).where(*due).order_by(Incident.stage_due_at).limit(limit)
    rows = ctx.db.execute(
        update(Incident)
        .where(*due, Incident.id.in_(first.scalar_subquery()))
        .values(**values)
        .returning(
            Incident.id,
            Incident.state,
            Incident.stage_started_at,
            Incident.stage_due_at,
            Incident.department_id,
            Incident.last_event_id,
        )
        .execution_options(synchronize_session=False)
    ).all()
    if not rows:
        return []
    zh = CARD_LABELS[card][0]
    stage_zh = STAGE_LABELS[stage][0]
    events = [
        {
            "uuid": card_uuid(r.id, stage, r.stage_started_at, card),
            "incident_id": r.id,
            "action": wf.Action.SUPERVISE.value,
            "actor_id": None,
            "actor_role": SWEEPER.role,
            "from_state": r.state,
            "to_state": r.state,
            "created_at": now,
            "note": f"{zh}：{stage_zh}超期 {days} 个工作日 / {card.value} card: "
            f"{stage.value} stage overdue by {days} working days",
            "data": {
                "card": card.value,
                "stage": stage.value,
                "due_at": r.stage_due_at.isoformat(),
                "overdue_days": days,
                "department_id": r.department_id,
            },
            "public": False,
        }
        | ({"id": r.last_event_id} if sequence is not None else {})
        for r in rows
    ]
    ctx.db.execute(IncidentEvent.__table__.insert(), events)  # type: ignore[attr-defined]
    ids = [r.id for r in rows]
    if sequence is None:
        # Each case's last event is its card (the case's row is locked by the UPDATE above).
        latest = (
            select(func.max(IncidentEvent.id))
            .where(IncidentEvent.incident_id == Incident.id)
            .correlate(Incident)
            .scalar_subquery()
        )
        ctx.db.execute(
            update(Incident)
            .where(Incident.id.in_(ids))
            .values(last_event_id=latest)
            .execution_options(synchronize_session=False)
        )
    return ids


def sweep(ctx: Context, batch: int | None = None) -> SweepResult:
    """Raise the cards due now, at most ``batch`` (:data:`BATCH`) of them, in one transaction
    (idempotent: a second run raises none; ``full`` says the batch was used up)."""
    db = ctx.db
    budget = batch or BATCH
    now = ctx.now()
    result = SweepResult()
    try:
        sequence = None
        if db.get_bind().dialect.name == "postgresql":
            got = db.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            if not got:
                db.rollback()
                result.skipped = True
                return result
            sequence = db.scalar(text("SELECT pg_get_serial_sequence('incident_events', 'id')"))
        result.filled = _fill_due(ctx)
        day_us = ctx.calendar.office_hours.micros_per_day
        for stage, limits in thresholds(ctx).items():
            for card, days in ((Card.YELLOW, limits.yellow_days), (Card.RED, limits.red_days)):
                if budget <= 0:
                    result.full = True
                    break
                cutoff = ctx.calendar.sub_work_micros(now, days * day_us)
                ids = _raise(ctx, stage, card, days, cutoff, now, sequence, budget)
                budget -= len(ids)
                result.cases += ids
                if card is Card.YELLOW:
                    result.yellow += len(ids)
                else:
                    result.red += len(ids)
        result.full = result.full or budget <= 0
        db.commit()
    except Exception:
        db.rollback()
        raise
    if result.yellow or result.red:
        log.info("sweep: %s yellow, %s red card(s)", result.yellow, result.red)
    return result


_last_sweep = -math.inf
_sweep_lock = threading.Lock()


def sweep_due(every: float) -> bool:
    """Whether this process last swept ``every`` seconds ago or more (no lock: a hint)."""
    return time.monotonic() - _last_sweep >= every


def maybe_sweep(make_ctx: Callable[[], Context], every: float) -> SweepResult | None:
    """Sweep unless this process did within ``every`` seconds or is sweeping now; never waits
    for another sweep (on PostgreSQL another host's sweep makes this one return ``skipped``)
    and never fails the caller."""
    global _last_sweep
    if not _sweep_lock.acquire(blocking=False):
        return None
    try:
        if not sweep_due(every):
            return None
        _last_sweep = time.monotonic()
        return sweep(make_ctx())
    except Exception:  # the app goes on; the next sweep (or cron's) tries again
        log.exception("sweep failed")
        return None
    finally:
        _sweep_lock.release()
