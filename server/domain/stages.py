"""Stages of a case, their time limits, traffic lights and supervision cards (DESIGN §9).

A case in an open state is in one *stage*, each with its own clock:

=============  ==========================  ====================================================
stage          states                      the clock starts at
=============  ==========================  ====================================================
accept 受理    reported                    the report
dispatch 派遣  accepted                    立案 (and again after a return or a reopen)
handle 处置    dispatched, in_progress     the dispatch (its due time is the case's deadline)
verify 核查    resolved                    the resolution
=============  ==========================  ====================================================

A suspended case (挂账) is in no stage: no light, no card; resuming starts the stage again.

Limits are set per category × urgency × level × stage (:class:`StageLimit`, stored in
``stage_limits``, edited by admins); the most specific row wins, then :data:`DEFAULT_LIMITS`.
The handle stage's limit is the category's own (``categories.limit_*``, ``urgent_hours``)
unless a row names one, and an explicit deadline (a 12345 ticket's 办理时限, a leader's date)
overrides both.

The traffic light compares the time used with the limit, measured the way the limit is (working
time for ``work_hours``/``work_days``, natural time for ``hours`` and explicit deadlines): green
under 80 %, yellow from 80 % up to 100 % inclusive, red past 100 %.

Cards (督办): a stage overdue by ``yellow`` working days gets a yellow card, by ``red`` working
days a red one (:class:`CardThresholds`); a working day is a full day of office time, the ruler
of :mod:`.worktime`. No Flask and no SQL here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .fields import Urgency
from .workflow import State
from .worktime import TIME_UNITS, TimeUnit, WorkCalendar

__all__ = [
    "CARD_LABELS",
    "DEFAULT_LIMITS",
    "DEFAULT_THRESHOLDS",
    "LEVELS",
    "LIGHT_LABELS",
    "STAGE_LABELS",
    "STAGE_OF_STATE",
    "Card",
    "CardThresholds",
    "Light",
    "Stage",
    "StageLimit",
    "light",
    "parse_thresholds",
    "used_fraction",
]


class Stage(StrEnum):
    ACCEPT = "accept"
    DISPATCH = "dispatch"
    HANDLE = "handle"
    VERIFY = "verify"


STAGE_LABELS: dict[Stage, tuple[str, str]] = {
    Stage.ACCEPT: ("受理", "Acceptance"),
    Stage.DISPATCH: ("派遣", "Dispatch"),
    Stage.HANDLE: ("处置", "Handling"),
    Stage.VERIFY: ("核查", "Verification"),
}

STAGE_OF_STATE: dict[State, Stage] = {
    State.REPORTED: Stage.ACCEPT,
    State.ACCEPTED: Stage.DISPATCH,
    State.DISPATCHED: Stage.HANDLE,
    State.IN_PROGRESS: Stage.HANDLE,
    State.RESOLVED: Stage.VERIFY,
}


def stage_of(state: State | str | None) -> Stage | None:
    """The stage of a case in ``state`` (None: suspended or finished)."""
    if state is None:
        return None
    return STAGE_OF_STATE.get(State(state))


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


LIGHT_LABELS: dict[Light, tuple[str, str]] = {
    Light.GREEN: ("正常", "On time"),
    Light.YELLOW: ("临期", "Due soon"),
    Light.RED: ("超时", "Overdue"),
}


class Card(StrEnum):
    YELLOW = "yellow"
    RED = "red"


CARD_LABELS: dict[Card, tuple[str, str]] = {
    Card.YELLOW: ("黄牌督办", "Yellow card"),
    Card.RED: ("红牌督办", "Red card"),
}

#: The levels of command (DESIGN §9) a limit may name; "" in a row means every level.
LEVELS: tuple[str, ...] = ("city", "county", "town", "community")
#: Yellow from this share of the limit used.
YELLOW_FROM = 0.8


@dataclass(frozen=True)
class StageLimit:
    value: float
    unit: TimeUnit

    def __post_init__(self) -> None:
        if self.unit not in TIME_UNITS:
            raise ValueError(f"unit must be one of {TIME_UNITS}")
        if isinstance(self.value, bool) or not math.isfinite(self.value) or self.value <= 0:
            raise ValueError("a time limit must be a finite number > 0")


#: Built-in limits per stage and urgency, until an admin stores rows (handle: the category's).
DEFAULT_LIMITS: dict[tuple[Stage, Urgency], StageLimit] = {
    (Stage.ACCEPT, Urgency.NORMAL): StageLimit(4, "work_hours"),
    (Stage.ACCEPT, Urgency.URGENT): StageLimit(1, "hours"),
    (Stage.DISPATCH, Urgency.NORMAL): StageLimit(4, "work_hours"),
    (Stage.DISPATCH, Urgency.URGENT): StageLimit(1, "hours"),
    (Stage.VERIFY, Urgency.NORMAL): StageLimit(2, "work_days"),
    (Stage.VERIFY, Urgency.URGENT): StageLimit(24, "hours"),
}


def used_fraction(
    started: datetime, due: datetime, now: datetime, natural: bool, cal: WorkCalendar
) -> float:
    """The share of the stage's time used at ``now`` (1.0 at the due time), measured in natural
    time or in office time."""
    if natural:
        total = (due - started).total_seconds()
        used = (now - started).total_seconds()
    else:
        total = cal.work_micros_between(started, due)
        used = (
            cal.work_micros_between(started, now)
            if now >= started
            else -cal.work_micros_between(now, started)
        )
    if total <= 0:
        return math.inf if now > due else 1.0
    return used / total


def light(fraction: float) -> Light:
    """Green under 80 % of the limit, yellow from 80 % to 100 % inclusive, red past it."""
    if fraction < YELLOW_FROM:
        return Light.GREEN
    if fraction <= 1.0:
        return Light.YELLOW
    return Light.RED


@dataclass(frozen=True)
class CardThresholds:
    """Working days overdue for a yellow and then a red card."""

    yellow_days: int
    red_days: int


DEFAULT_THRESHOLDS: dict[Stage, CardThresholds] = {
    Stage.ACCEPT: CardThresholds(2, 5),
    Stage.DISPATCH: CardThresholds(2, 5),
    Stage.HANDLE: CardThresholds(5, 10),
    Stage.VERIFY: CardThresholds(2, 5),
}
MAX_THRESHOLD_DAYS = 365


class ThresholdError(ValueError):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def _days(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or value != int(value):
        return None
    return int(value)


def parse_thresholds(data: Mapping[str, Any]) -> dict[Stage, CardThresholds]:
    """``{stage: {yellow_days, red_days}}`` for some stages, checked: whole days,
    0 ≤ yellow < red ≤ 365. Raises :class:`ThresholdError` naming every bad field."""
    errors: dict[str, str] = {}
    out: dict[Stage, CardThresholds] = {}
    for key, item in data.items():
        try:
            stage = Stage(key)
        except ValueError:
            errors[str(key)] = "未知阶段 / unknown stage: " + ", ".join(s.value for s in Stage)
            continue
        if not isinstance(item, Mapping):
            errors[key] = "应为 {yellow_days, red_days} / must be {yellow_days, red_days}"
            continue
        unknown = set(item) - {"yellow_days", "red_days"}
        if unknown:
            errors[key] = "未知字段 / unknown fields: " + ", ".join(sorted(map(str, unknown)))
            continue
        yellow, red = _days(item.get("yellow_days")), _days(item.get("red_days"))
        bad = False
        for name, value in (("yellow_days", yellow), ("red_days", red)):
            if value is None or not 0 <= value <= MAX_THRESHOLD_DAYS:
                errors[f"{key}.{name}"] = f"应为 0–{MAX_THRESHOLD_DAYS} 的整数 / whole days 0–365"
                bad = True
        if bad:
            continue
        assert yellow is not None and red is not None
        if yellow >= red:
            errors[key] = "黄牌天数应小于红牌天数 / yellow_days must be less than red_days"
            continue
        out[stage] = CardThresholds(yellow, red)
    if errors:
        raise ThresholdError(errors)
    return out
