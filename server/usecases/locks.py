"""Locks that serialise requests where a check and the write it guards must not interleave:
one user's requests (two patrol starts of one worker; a user's duplicate identity numbers
against their limit), cases that one action reads and another changes (a merge and the case
merged into), the one row an edit checks and changes (:func:`hold_row`: its version, a level
request's status, whether a tag has ended), and what an import or a new place can collide with
or a request reads before it writes it (:func:`hold`: a setting PUT while not stored yet, a
code checked free, a major category and its minors)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum
from typing import Any, TypeVar

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.models import Incident, User

T = TypeVar("T")


def _sqlite_write_lock(db: Session) -> None:
    """SQLite's one write lock (every lock below is this one there): taken by a write that
    changes no row, so that no row trigger fires (the cache triggers of migration 0007 would
    move a cache's number); the transaction's reads after it see the other writers' commits."""
    db.execute(text("UPDATE regions SET id = id WHERE id = -1"))


def hold_user(db: Session, user_id: int) -> None:
    """Hold the user's row until the transaction ends, so that two requests of one user run
    their check-then-write one after the other and each sees the other's commit: ``SELECT …
    FOR UPDATE`` on PostgreSQL; on SQLite the database's write lock, taken by a write that
    changes no row (its reads then see the other request's commit). Not a write of the user's
    row: the ``users`` triggers (migration 0007) would move the "people" cache's number, and
    every process would load every actor again after each patrol start or photo."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(User.id).where(User.id == user_id).with_for_update())
    else:
        _sqlite_write_lock(db)


def hold_cases(db: Session, case_ids: Iterable[int]) -> None:
    """Hold the cases' rows until the transaction ends, in id order (two requests holding the
    same two cases cannot deadlock); what is read after sees the other request's commit.
    PostgreSQL: ``SELECT … FOR UPDATE``; SQLite: the database's write lock, as above."""
    if db.get_bind().dialect.name == "postgresql":
        ids = sorted(set(case_ids))
        db.execute(
            select(Incident.id).where(Incident.id.in_(ids)).order_by(Incident.id).with_for_update()
        )
    else:
        _sqlite_write_lock(db)


def hold_row(db: Session, model: type[T], ident: Any) -> T | None:
    """The row of ``model`` with primary key ``ident`` (None: there is none), held until the
    transaction ends and read as it stands: what an edit compares (the version it was made on,
    a request still pending, a tag still open) is then what it changes, and a request editing
    the same row at once waits and reads this one's commit. PostgreSQL: ``SELECT … FOR
    NO KEY UPDATE`` (what the edit's own ``UPDATE`` takes: a row hung on this one, a room on
    its building or a resident on their household, is still stored meanwhile); SQLite: the
    database's write lock first (as :func:`hold` takes it), then the read. Either way the row
    is read again even if the session held it already."""
    if db.get_bind().dialect.name == "postgresql":
        return db.get(model, ident, with_for_update={"key_share": True}, populate_existing=True)
    _sqlite_write_lock(db)
    return db.get(model, ident, populate_existing=True)


class Scope(IntEnum):
    """What one lock of :func:`hold` covers (the first key of PostgreSQL's two-key advisory
    locks; the stages sweep's one-key lock is in another space)."""

    #: the places of one county (key: its id; 0 for a place in no county): an address import,
    #: a place created through the API — "a name once under one parent" is checked under it
    PLACES = 1
    #: the identity numbers registered (key 0): a resident import (a number is registered once,
    #: anywhere, so every resident import is one after the other)
    RESIDENTS = 2
    #: the credit codes registered (key 0): an organisation import
    ORGANISATIONS = 3
    #: a major category and its minors (key: the major's code, 1-99): a minor created or
    #: reactivated (it needs an active major), the major retired (it needs no active minor)
    CATEGORIES = 4
    #: a routing rule (key: its category's id): a rule PUT, read and then inserted or replaced
    ROUTING_RULES = 5
    #: the card thresholds (key 0): a PUT of any stages
    CARD_THRESHOLDS = 6
    #: an entered calendar year (key: the year): entered, imported or removed
    CALENDAR = 7
    #: the key-group kinds' codes (key 0): a kind created (a code is taken once)
    KEY_GROUP_KINDS = 8
    #: the stage limits (key 0): a limit PUT (read, then inserted or replaced) or removed
    STAGE_LIMITS = 9


def hold(db: Session, scope: Scope, keys: Iterable[int]) -> None:
    """Hold ``scope``'s locks of ``keys`` until the transaction ends, waiting for a request
    holding any of them; what is read after sees its commit. PostgreSQL: transaction-scoped
    advisory locks, taken in order (two requests holding overlapping keys cannot deadlock).
    SQLite: the database's write lock (one writer at a time: every scope and key at once),
    taken by a write that changes nothing (its reads then see the other request's commit)."""
    if db.get_bind().dialect.name == "postgresql":
        for key in sorted(set(keys)):
            db.execute(
                text("SELECT pg_advisory_xact_lock(:scope, :key)"),
                {"scope": int(scope), "key": key},
            )
    else:
        _sqlite_write_lock(db)
