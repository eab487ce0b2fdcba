"""The metric families as SQL over ``metric_events``: which rows each family counts, and the value
each count metric takes on a row (a 0/1 flag or a count); the timed values (office time) too.

A group's number is the sum of a value over the family's rows; its drill-down is the list of
rows where the value is positive (:mod:`server.metrics.counting`, :mod:`server.metrics.drilldown`).
"""

from __future__ import annotations

from dataclasses import dataclass

from server.domain import metric_definitions as md
from server.domain.levels import Level
from server.domain.workflow import Action, State
from server.domain.worktime import WorkCalendar
from server.models.metric_events import (
    ACTION_CODES,
    EVENT_ROWS,
    LEVEL_CODES,
    OPEN_END,
    RATING_CODES,
    STATE_CODES,
)

S = STATE_CODES
A = ACTION_CODES
RATING_NAMES = {v: k for k, v in RATING_CODES.items()}
STATE_NAMES = {v: k for k, v in STATE_CODES.items()}
# A verification this long after the resolution it checks is never on time (one working day
# cannot take 400 calendar days); it bounds the calendar the database needs.
VERIFY_HORIZON_US = 400 * 86_400_000_000

# --- the families ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilySQL:
    name: str
    time: str  # the moment that puts a row in the period
    # WHERE clauses whose rows together are the family's rows for the period and T, each row
    # in exactly one (hi = min(period end, T + 1 µs)).
    branches: tuple[str, ...]
    department: str | None  # the department a row is attributed to (None: not applicable)
    worker: str  # the person a row is attributed to
    values: dict[str, str]  # metric key -> SQL value per row (a 0/1 flag or a count)
    # the command centre and its level (LEVEL_CODES) a row is attributed to (None: the
    # grouping does not apply, DESIGN §9)
    centre: str | None = None
    level: str | None = None


def _as_of(moment: str, valid_to: str) -> tuple[str, str]:
    """The row valid at T (``at_us <= T < valid_to``) of each thing whose ``moment`` is in the
    period: still its latest row (valid_to open), or a row superseded after T."""
    period = f"{moment} >= :s AND {moment} < :hi AND m.at_us <= :t"
    return (
        f"{valid_to} = {OPEN_END} AND {period}",
        f"{valid_to} < {OPEN_END} AND {valid_to} > :t AND {period}",
    )


def flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


CLOSED_ON_TIME = (
    f"m.to_state = {S[State.CLOSED]} AND (m.last_res_us IS NULL OR m.ep_deadline_us IS NULL "
    "OR m.last_res_us <= m.ep_deadline_us)"
)
OVERDUE_OPEN = (
    f"(m.to_state IN ({S[State.DISPATCHED]}, {S[State.IN_PROGRESS]}) AND m.ep_deadline_us < :t) "
    f"OR (m.to_state = {S[State.RESOLVED]} AND m.ep_deadline_us < m.last_res_us)"
)
HANDLED = f"m.to_state = {S[State.CLOSED]} AND m.first_disp_us IS NOT NULL"
# 就地化解: closed while held at town level or below — by a town's centre, or self-handled on
# the spot by the grid worker (a community's) and never dispatched since.
CLOSED_LOCALLY = (
    f"m.to_state = {S[State.CLOSED]} AND (m.hold_lv >= {LEVEL_CODES[Level.TOWN]} "
    "OR (m.self_h = 1 AND m.first_disp_us IS NULL))"
)
# A sweep's card (fold.py: flag 1 yellow, 2 red, + 2 on the handle stage).
YELLOW, RED, HANDLE_STAGE = "m.flag IN (1, 3)", "m.flag IN (2, 4)", "m.flag IN (3, 4)"
RESOLVED_ON_TIME = "m.ep_ok = 1 AND (m.ep_deadline_us IS NULL OR m.ep_res_us <= m.ep_deadline_us)"

FAMILIES: dict[str, FamilySQL] = {
    "report": FamilySQL(
        "report",
        "m.rep_us",
        _as_of("m.rep_us", "m.valid_to_us"),
        None,
        "m.reporter_id",
        {"reported": "1", "valid_reports": flag("m.acc_us IS NOT NULL")},
    ),
    "reject": FamilySQL(
        "reject",
        "m.at_us",
        (f"m.{EVENT_ROWS} AND m.action = {A[Action.REJECT]} AND m.at_us >= :s AND m.at_us < :hi",),
        None,
        "m.reporter_id",
        {"rejected": "1"},
    ),
    "cohort": FamilySQL(
        "cohort",
        "m.acc_us",
        _as_of("m.acc_us", "m.valid_to_us"),
        "m.ep_dept",
        "m.reporter_id",
        {
            "accepted": "1",
            "self_handled": flag("m.self_h = 1"),
            "suspended": flag(f"m.to_state = {S[State.SUSPENDED]}"),
            "due": flag(f"m.to_state <> {S[State.SUSPENDED]}"),
            "closed": flag(f"m.to_state = {S[State.CLOSED]}"),
            "closed_on_time": flag(CLOSED_ON_TIME),
            "overdue_open": flag(OVERDUE_OPEN),
            "rated": flag("m.cur_rating IS NOT NULL"),
            "satisfied": flag(
                f"m.cur_rating IN ({RATING_CODES['satisfied']}, "
                f"{RATING_CODES['basically_satisfied']})"
            ),
            "handled": flag(HANDLED),
            "escalated": flag("m.esc = 1"),
            "closed_locally": flag(CLOSED_LOCALLY),
        },
        centre="m.acc_hold",
        level="m.acc_lv",
    ),
    "dispatch": FamilySQL(
        "dispatch",
        "m.ep_us",
        _as_of("m.ep_us", "m.ep_to_us"),
        "m.ep_dept",
        "m.reporter_id",
        {
            "dispatches": "1",
            "resolved_on_time": flag(RESOLVED_ON_TIME),
            "resolutions": "m.ep_res",
            "reworks": "m.ep_fail",
            "returns": "m.ep_returned",
            "extended": "m.ep_extended",
        },
    ),
    "verification": FamilySQL(
        "verification",
        "m.at_us",
        (f"m.{EVENT_ROWS} AND m.action = {A[Action.VERIFY]} AND m.at_us >= :s AND m.at_us < :hi",),
        "m.ep_dept",
        "m.actor_id",
        {"verifications": "1"},
    ),
    "card": FamilySQL(
        "card",
        "m.at_us",
        (
            f"m.{EVENT_ROWS} AND m.action = {A[Action.SUPERVISE]} AND m.flag IS NOT NULL "
            "AND m.at_us >= :s AND m.at_us < :hi",
        ),
        f"CASE WHEN {HANDLE_STAGE} THEN m.dept_id END",
        "m.reporter_id",
        {"yellow_cards": flag(YELLOW), "red_cards": flag(RED)},
        centre="m.hold_id",
        level="m.hold_lv",
    ),
}


@dataclass(frozen=True)
class TimedValue:
    """A per-row value that needs working time: (rows it applies to, start, end, how)."""

    key: str
    family: str
    start: str
    end: str
    kind: str  # "sum": Σ office µs; "within": 1 if office µs ≤ limit


TIMED: tuple[TimedValue, ...] = (
    TimedValue("handling_us", "cohort", "m.first_disp_us", "m.last_res_us", "sum"),
    TimedValue("verified_on_time", "verification", "m.last_res_us", "m.at_us", "within"),
)
TIMED_BY_FAMILY = {t.family: t for t in TIMED}

# Which family counts each count metric.
FAMILY_OF: dict[str, str] = {key: fam.name for fam in FAMILIES.values() for key in fam.values} | {
    t.key: t.family for t in TIMED
}
assert set(md.COUNT_KEYS) <= set(FAMILY_OF), set(md.COUNT_KEYS) - set(FAMILY_OF)


def family_keys(name: str) -> list[str]:
    keys = list(FAMILIES[name].values)
    if name in TIMED_BY_FAMILY:
        keys.append(TIMED_BY_FAMILY[name].key)
    return keys


def verify_limit_us(cal: WorkCalendar) -> int:
    return md.VERIFY_LIMIT_WORKDAYS * cal.office_hours.micros_per_day
