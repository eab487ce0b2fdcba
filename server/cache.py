"""Per-process caches of rows that rarely change, correct across processes (issue 13).

What is cached, per database and per *topic* (``cache_epochs``, migration 0007):

- ``reference``: regions, grids, categories, departments (without geometry), the grid locator
  (``server.usecases.locating``), stage limits and card thresholds (``server.usecases.stages``);
- ``people``: the actor built from a user (region, grid assignments), users' display names;
- ``calendar``: the statutory calendar (``server.usecases.calendar``).

The invalidation contract: database triggers move a topic's number in the same transaction as
any write to its tables, whoever writes (another gunicorn process, the ``flask`` command,
``psql``). A request reads the numbers once (:func:`epochs`; for a signed-in request in the same
statement as its sign-in check, ``server.security.signed_in_user``) and every cache built at
other numbers is rebuilt before use: a change is seen by every process at its next request, not
after a delay. A topic whose row is missing is never trusted (rebuilt at each use).

The sign-in itself is never cached: every request checks its sign-in row, so a sign-out (one
or everywhere), a disabled account or a password change ends the session at once everywhere.

Within a request, after a commit that wrote a cached table (an admin edit), the numbers are
read again, so the request sees its own change. No Flask here.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from server.models import (
    CacheEpoch,
    CalendarChange,
    CalendarEntry,
    CalendarYear,
    CardThresholdRow,
    Category,
    Department,
    Grid,
    GridAssignment,
    GridPlan,
    Region,
    RoutingRule,
    StageLimitRow,
    User,
)

Epochs = dict[str, int]
T = TypeVar("T")
#: A request's session, or a bare connection (metrics jobs): both read the same numbers.
Bind = Session | Connection

#: The tables of each topic (the triggers of migration 0007 say the same for the database).
TOPICS: dict[str, tuple[type, ...]] = {
    "reference": (
        Region,
        Grid,
        GridPlan,
        Category,
        Department,
        StageLimitRow,
        CardThresholdRow,
        RoutingRule,
    ),
    "people": (User, GridAssignment),
    "calendar": (CalendarYear, CalendarEntry, CalendarChange),
}
_TOPIC_OF = {cls: topic for topic, classes in TOPICS.items() for cls in classes}
_INFO = "wangge.epochs"
_WROTE = "wangge.epochs_wrote"


def epochs_query() -> Any:
    return select(CacheEpoch.topic, CacheEpoch.n)


def epoch_columns(topics: list[str]) -> list[Any]:
    """Scalar subqueries of the topics' numbers, to read them with another query."""
    return [
        select(CacheEpoch.n).where(CacheEpoch.topic == t).scalar_subquery().label(f"epoch_{t}")
        for t in topics
    ]


def remember(db: Session, rows: Epochs) -> None:
    """Keep the numbers read (by :func:`epochs` or with the sign-in check) for this session's
    transaction."""
    db.info[_INFO] = rows


def epochs(db: Bind) -> Epochs:
    """The topics' numbers, read once per session transaction (a bare connection reads them at
    each call: one small query)."""
    if isinstance(db, Connection):
        return {t: int(n) for t, n in db.execute(epochs_query()).all()}
    got = db.info.get(_INFO)
    if got is None:
        got = {t: int(n) for t, n in db.execute(epochs_query()).all()}
        db.info[_INFO] = got
    return got  # type: ignore[no-any-return]


def _engine(db: Bind) -> Engine:
    bind = db.get_bind() if isinstance(db, Session) else db
    return bind.engine


class Memo:
    """One cached value per engine (one per app and process), rebuilt when its topics' numbers
    move. Keyed by the engine object, not its URL: a database emptied and re-made at the same
    URL (a restore, or tests that start a new app) starts its numbers again, and a copy kept by
    URL would then be taken for current."""

    def __init__(self, topics: tuple[str, ...], build: Callable[[Bind], Any]) -> None:
        self.topics = topics
        self.build = build
        self._values: weakref.WeakKeyDictionary[Engine, tuple[tuple[int | None, ...], Any]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, db: Bind) -> Any:
        if isinstance(db, Session) and db.info.get(_WROTE):
            # This transaction wrote a cached table and has not committed: build from what it
            # sees, keep nothing (a rollback would leave the cache with rows that never were).
            return self.build(db)
        now = epochs(db)
        stamp = tuple(now.get(t) for t in self.topics)
        key = _engine(db)
        hit = self._values.get(key)
        if hit is not None and hit[0] == stamp and None not in stamp:
            return hit[1]
        # No lock held while building: a build reads the database, and under gevent a lock held
        # across that wait (for a pooled connection) stalled every request behind it. Two
        # requests may build the same value at once; the later one is kept, both are correct.
        value = self.build(db)
        self._values[key] = (stamp, value)
        return value

    def clear(self) -> None:
        self._values.clear()


class Reference:
    """Regions, grids, categories and departments by id: plain rows (attributes named like the
    models' columns, no geometry), read only, shared by every thread of the process."""

    def __init__(self, db: Bind) -> None:
        def rows(model: type, skip: str = "") -> dict[int, Any]:
            cols = [c for c in model.__table__.c if c.name != skip]  # type: ignore[attr-defined]
            return {r.id: r for r in db.execute(select(*cols))}

        self.regions = rows(Region, "boundary")
        self.grids = rows(Grid, "geom")
        self.categories = rows(Category)
        self.departments = rows(Department)
        self.category_codes = {c.code: c for c in self.categories.values()}
        #: (category_code, urgency, level, stage) -> (limit_value, limit_unit); "" = every
        self.stage_limits: dict[tuple[str, str, str, str], tuple[float, str]] = {
            (r.category_code, r.urgency, r.level, r.stage): (r.limit_value, r.limit_unit)
            for r in db.execute(select(*StageLimitRow.__table__.c))  # type: ignore[attr-defined]
        }
        #: stage -> (yellow_days, red_days), the stored ones only
        self.card_thresholds: dict[str, tuple[int, int]] = {
            r.stage: (r.yellow_days, r.red_days)
            for r in db.execute(select(*CardThresholdRow.__table__.c))  # type: ignore[attr-defined]
        }
        #: (category id, urgency) -> its routing rule (server/usecases/routing.py)
        self.routing_rules = {(r.category_id, r.urgency): r for r in rows(RoutingRule).values()}
        #: grid code -> the region paths of its communities (any plan version)
        self.community_paths: dict[str, set[str]] = {}
        for g in self.grids.values():
            community = self.regions.get(g.community_id)
            if community is not None:
                self.community_paths.setdefault(g.code, set()).add(community.path)


reference_memo = Memo(("reference",), Reference)


def reference(db: Session) -> Reference:
    return reference_memo.get(db)  # type: ignore[no-any-return]


class PerKey:
    """Values computed per key (e.g. per user id), all dropped when the topics move."""

    def __init__(self, topics: tuple[str, ...]) -> None:
        self.memo = Memo(topics, lambda _db: {})

    def get(self, db: Bind, key: Any, make: Callable[[], T]) -> T:
        table: dict[Any, Any] = self.memo.get(db)
        if key not in table:
            table[key] = make()
        return table[key]  # type: ignore[no-any-return]


# --- seeing one's own writes -------------------------------------------------------------------


def _wrote(session: Session, classes: list[type]) -> None:
    if any(c in _TOPIC_OF for c in classes):
        session.info[_WROTE] = True


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _ctx: UOWTransaction) -> None:
    _wrote(session, [type(o) for o in (*session.new, *session.dirty, *session.deleted)])


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _ctx: UOWTransaction, _instances: object) -> None:
    _wrote(session, [type(o) for o in (*session.new, *session.dirty, *session.deleted)])


@event.listens_for(Session, "do_orm_execute")
def _orm_execute(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and state.bind_mapper is not None:
        _wrote(state.session, [state.bind_mapper.class_])


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        session.info.pop(_INFO, None)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_WROTE, None)
