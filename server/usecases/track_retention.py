"""Retention of GPS tracks: positions older than ``WANGGE_TRACK_RETENTION_DAYS`` are deleted
(``flask fieldwork purge``); the patrols' summaries stay (docs/field-work.md, "Retention").
No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    delete,
    update,
)
from sqlalchemy.orm import Session

from server.models.fieldwork import Patrol, TrackPoint

# --- retention -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purged:
    points: int
    patrols: int
    before: datetime


def purge(db: Session, now: datetime, retention_days: int) -> Purged:
    """Delete the positions older than ``retention_days`` (and the start positions of patrols
    that old); the patrols and their summaries stay."""
    cutoff = now - timedelta(days=retention_days)
    gone = db.execute(delete(TrackPoint).where(TrackPoint.at < cutoff))
    cleared = db.execute(
        update(Patrol)
        .where(Patrol.started_at < cutoff, Patrol.start_lon.is_not(None))
        .values(start_lon=None, start_lat=None)
    )
    points = int(gone.rowcount or 0)  # type: ignore[attr-defined]
    patrols = int(cleared.rowcount or 0)  # type: ignore[attr-defined]
    db.commit()
    return Purged(points, patrols, cutoff)
