"""The ``metric_events`` table: a typed projection of the event trail, and its codes.

``metric_events`` holds one row per ``incident_events`` row, written by database triggers
(migration 0002) in the same transaction as the event, so it is never behind or ahead of the
trail. A row is the event, re-typed (codes, epoch microseconds, the few ``data`` keys metrics
read), plus the state of its case right after the event: a left fold of the case's trail. The
case "as of T" is the one row with ``at_us <= T < valid_to_us``, so a county month is an index
range scan instead of a replay of every event. Nothing here is new information: ``flask
metrics rebuild`` recomputes the table from the trail, and ``server.metrics.projection.check``
compares the two.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Index, Integer, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from server.domain.fields import Rating
from server.domain.levels import Level
from server.domain.workflow import Action, State
from server.models.base import Base

# Codes used in metric_events: each name's place in the domain's table (1-based), so the codes
# never spell the names again. The migration that writes the triggers keeps its own frozen copy
# of these tables; tests check that the two agree (a reordered enum would fail them).
ACTION_CODES: dict[str, int] = {a.value: i for i, a in enumerate(Action, 1)}
STATE_CODES: dict[str, int] = {s.value: i for i, s in enumerate(State, 1)}
RATING_CODES: dict[str, int] = {r.value: i for i, r in enumerate(Rating, 1)}
# Levels of command (DESIGN §9), top first: 1 city, 2 county, 3 town, 4 community.
LEVEL_CODES: dict[str, int] = {lv.value: i for i, lv in enumerate(Level, 1)}
LEVEL_NAMES: dict[int, str] = {v: k for k, v in LEVEL_CODES.items()}

OPEN_END = 9223372036854775807  # valid_to_us / ep_to_us of a case's latest row

_ATTRS = ["county_id", "town_id", "community_id", "grid_code", "category_id", "reporter_id"]


def _index(name: str, columns: list[str], where: str | None, include: list[str]) -> Index:
    kw: dict[str, Any] = {}
    if where:
        kw["postgresql_where"] = kw["sqlite_where"] = text(where)
    if include:
        kw["postgresql_include"] = include
    return Index(name, *columns, **kw)


_LATEST = f"valid_to_us = {OPEN_END}"
# The event rows the reject, verification and card families read (the predicate of their
# partial index). The queries repeat it word for word: SQLite uses a partial index only when the
# query's WHERE holds the index's terms (``action = 4`` alone does not imply ``action IN (…)``).
EVENT_ROWS = (
    f"action IN ({ACTION_CODES[Action.REJECT]}, {ACTION_CODES[Action.VERIFY]}, "
    f"{ACTION_CODES[Action.SUPERVISE]})"
)
# The same indexes as migration 0002 (which explains them); 0015 added the levels' columns
# to the cohort's and the cards to the action index.
_INDEXES: list[tuple[str, list[str], str | None, list[str]]] = [
    ("ix_metric_events_case", ["incident_id", "event_id"], None, []),
    (
        "ix_metric_events_cohort",
        ["acc_us"],
        f"{_LATEST} AND acc_us IS NOT NULL",
        [
            "incident_id",
            "at_us",
            "to_state",
            "self_h",
            "ep_dept",
            "ep_deadline_us",
            "first_disp_us",
            "last_res_us",
            "cur_rating",
            *_ATTRS,
            "hold_lv",
            "acc_hold",
            "acc_lv",
            "esc",
        ],
    ),
    (
        "ix_metric_events_report",
        ["rep_us"],
        f"{_LATEST} AND rep_us IS NOT NULL",
        ["incident_id", "at_us", "acc_us", *_ATTRS],
    ),
    (
        "ix_metric_events_episode",
        ["ep_us"],
        f"ep_to_us = {OPEN_END} AND ep_us IS NOT NULL",
        [
            "incident_id",
            "ep_id",
            "at_us",
            "ep_dept",
            "ep_deadline_us",
            "ep_returned",
            "ep_extended",
            "ep_res",
            "ep_fail",
            "ep_res_us",
            "ep_ok",
            *_ATTRS,
        ],
    ),
    ("ix_metric_events_superseded", ["valid_to_us"], f"valid_to_us < {OPEN_END}", []),
    ("ix_metric_events_ep_superseded", ["ep_to_us"], f"ep_to_us < {OPEN_END}", []),
    (
        "ix_metric_events_action_at",
        ["action", "at_us"],
        EVENT_ROWS,
        [
            "incident_id",
            "event_id",
            "actor_id",
            "to_state",
            "last_res_us",
            "ep_dept",
            *_ATTRS,
            "flag",
            "dept_id",
            "hold_id",
            "hold_lv",
        ],
    ),
]


class MetricEvent(Base):
    """One trail event and the state of its case right after it (see the module docstring).

    The row is valid from ``at_us`` until ``valid_to_us`` (the next event of the case);
    ``ep_*`` describe the dispatch episode the event belongs to (from a ``dispatch`` up to the
    next one), valid until ``ep_to_us``. Times are microseconds since 1970-01-01 UTC.
    """

    __tablename__ = "metric_events"
    __table_args__ = tuple(_index(*spec) for spec in _INDEXES)

    # --- the event ---------------------------------------------------------------------
    # = incident_events.id (no foreign key: the row is written by a trigger on that table).
    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    incident_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[int] = mapped_column(SmallInteger)  # ACTION_CODES, 0 = unknown action
    # created_at in µs since 1970 UTC, never before the case's previous event (running max)
    at_us: Mapped[int] = mapped_column(BigInteger)
    to_state: Mapped[int] = mapped_column(SmallInteger)  # STATE_CODES, 0 = unknown
    actor_id: Mapped[int | None] = mapped_column(Integer)
    dept_id: Mapped[int | None] = mapped_column(Integer)  # data.department_id
    # dispatch: data.deadline_at; approved decide_extension: data.new_deadline
    deadline_us: Mapped[int | None] = mapped_column(BigInteger)
    # verify: 1 passed / 0 rework; decide_extension: 1 approved / 0 refused; a sweep's card
    # (supervise by system): 1 yellow / 2 red, + 2 when raised on the handle stage
    flag: Mapped[int | None] = mapped_column(SmallInteger)
    rating: Mapped[int | None] = mapped_column(SmallInteger)  # rate: RATING_CODES
    # --- validity ------------------------------------------------------------------------
    valid_to_us: Mapped[int] = mapped_column(BigInteger)  # next event of the case, or OPEN_END
    ep_to_us: Mapped[int] = mapped_column(BigInteger)  # next event of the episode, or OPEN_END
    # --- the case after this event ------------------------------------------------------
    rep_us: Mapped[int | None] = mapped_column(BigInteger)  # report / self_handle
    acc_us: Mapped[int | None] = mapped_column(BigInteger)  # first accept / self_handle (立案)
    rej_us: Mapped[int | None] = mapped_column(BigInteger)  # reject
    self_h: Mapped[int] = mapped_column(SmallInteger)  # 1 if the case was self-handled
    first_disp_us: Mapped[int | None] = mapped_column(BigInteger)
    last_res_us: Mapped[int | None] = mapped_column(BigInteger)
    cur_rating: Mapped[int | None] = mapped_column(SmallInteger)  # latest rating
    # --- the dispatch episode (from the latest dispatch on) ------------------------------
    ep_id: Mapped[int | None] = mapped_column(Integer)  # event id of the dispatch
    ep_us: Mapped[int | None] = mapped_column(BigInteger)  # its time
    ep_dept: Mapped[int | None] = mapped_column(Integer)  # its department
    ep_deadline_us: Mapped[int | None] = mapped_column(BigInteger)  # effective deadline
    ep_returned: Mapped[int | None] = mapped_column(SmallInteger)  # 1 once returned
    ep_extended: Mapped[int | None] = mapped_column(SmallInteger)  # 1 once an extension approved
    ep_res: Mapped[int | None] = mapped_column(SmallInteger)  # resolutions so far
    ep_fail: Mapped[int | None] = mapped_column(SmallInteger)  # failed verifications so far
    ep_res_us: Mapped[int | None] = mapped_column(BigInteger)  # latest resolution
    # latest outcome: 1 resolve, 0 return or failed verification, NULL none yet
    ep_ok: Mapped[int | None] = mapped_column(SmallInteger)
    # --- levels of command (DESIGN §9) ----------------------------------------------------
    # the centre holding the case after this event (data.centre of the latest report or move;
    # the county when none is named) and its level (LEVEL_CODES)
    hold_id: Mapped[int | None] = mapped_column(Integer)
    hold_lv: Mapped[int | None] = mapped_column(SmallInteger)
    # the centre holding the case when it was accepted (立案) and its level; a self-handled
    # case's level is the community (the grid worker settled it on the spot)
    acc_hold: Mapped[int | None] = mapped_column(Integer)
    acc_lv: Mapped[int | None] = mapped_column(SmallInteger)
    esc: Mapped[int | None] = mapped_column(SmallInteger)  # 1 once escalated (上报上级)
    # --- the case's attributes when the event was written --------------------------------
    county_id: Mapped[int | None] = mapped_column(Integer)
    town_id: Mapped[int | None] = mapped_column(Integer)
    community_id: Mapped[int | None] = mapped_column(Integer)
    grid_code: Mapped[str | None] = mapped_column(String(15))
    category_id: Mapped[int | None] = mapped_column(Integer)
    reporter_id: Mapped[int | None] = mapped_column(Integer)
