"""Row locks that serialise one user's requests where a check and the write it guards must not
interleave (two patrol starts of one worker; a user's duplicate identity numbers against their
limit)."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from server.models import User


def hold_user(db: Session, user_id: int) -> None:
    """Hold the user's row until the transaction ends, so that two requests of one user run
    their check-then-write one after the other and each sees the other's commit: ``SELECT …
    FOR UPDATE`` on PostgreSQL; on SQLite a write to the row takes the database's write lock
    (its reads then see the other request's commit)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(select(User.id).where(User.id == user_id).with_for_update())
    else:
        db.execute(text("UPDATE users SET id = id WHERE id = :id"), {"id": user_id})
