"""Who is acting, and what a use case needs from its surroundings (no Flask here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from server import cache
from server.config import Settings
from server.domain.levels import Level
from server.domain.worktime import OfficeHours, WorkCalendar
from server.models import Region, User
from server.models.types import utcnow


@dataclass(frozen=True)
class Actor:
    """The person (or system) taking an action, with their jurisdiction."""

    id: int | None
    role: str
    display_name: str = ""
    region_id: int | None = None
    region_level: str | None = None
    region_path: str | None = None
    department_id: int | None = None
    grid_codes: frozenset[str] = frozenset()
    #: a city-level actor: the counties of the city (a case is in the city by its county)
    counties: frozenset[int] = frozenset()

    @classmethod
    def of(cls, db: Session, user: User) -> Actor:
        region = db.get(Region, user.region_id) if user.region_id else None
        counties: frozenset[int] = frozenset()
        if region is not None and region.level == Level.CITY:
            counties = frozenset(
                db.scalars(select(Region.id).where(Region.parent_id == region.id)).all()
            )
        return cls(
            id=user.id,
            role=user.role,
            display_name=user.display_name or user.username,
            region_id=region.id if region else None,
            region_level=region.level if region else None,
            region_path=region.path if region else None,
            department_id=user.department_id,
            grid_codes=frozenset(a.grid_code for a in user.assignments),
            counties=counties,
        )

    @classmethod
    def system(cls, name: str) -> Actor:
        """An integration acting without a user (e.g. ``open311``)."""
        return cls(id=None, role=name, display_name=name)

    @classmethod
    def load(cls, db: Session, user_id: int) -> Actor:
        user = db.scalar(select(User).where(User.id == user_id))
        if user is None:
            raise LookupError(f"no user {user_id}")
        return cls.of(db, user)


_actors = cache.PerKey(("people", "reference"))


def actor_of(db: Session, user: User) -> Actor:
    """:meth:`Actor.of`, kept per process until a user, an assignment or a region changes
    (``server.cache``)."""
    return _actors.get(db, user.id, lambda: Actor.of(db, user))


@dataclass
class Context:
    """The session and the settings a use case runs with."""

    db: Session
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    upload_dir: Path = Path("instance/uploads")
    # the settings' defaults (server/config.py), for a context made outside a request
    locate_tolerance_m: float = Settings.locate_tolerance_m
    duplicate_radius_m: float = Settings.duplicate_radius_m
    duplicate_window_hours: float = Settings.duplicate_window_hours
    max_upload_bytes: int = Settings.max_upload_bytes
    #: unfinished uploads per user: at most this many open, this many bytes declared in all
    pending_uploads_per_user: int = Settings.pending_uploads_per_user
    pending_upload_bytes_per_user: int = Settings.pending_upload_bytes_per_user
    #: an unfinished upload idle this many days is deleted (``WANGGE_UPLOAD_EXPIRY_DAYS``)
    upload_expiry_days: int = Settings.upload_expiry_days
    max_image_pixels: int = Settings.max_image_pixels
    image_workers: int = Settings.image_workers
    clock: Callable[[], datetime] = utcnow
    #: a check-in after this local time of its day is late (``WANGGE_CHECKIN_DEADLINE``)
    checkin_deadline: str = Settings.checkin_deadline
    #: a patrol started longer ago takes no more positions nor an end
    #: (``WANGGE_TRACK_RETENTION_DAYS``: its positions are purged)
    track_retention_days: int = Settings.track_retention_days
    #: the key of personal data at rest (``WANGGE_DATA_KEY``; "": the development key)
    data_key_text: str = ""

    def now(self) -> datetime:
        return self.clock()


def calendar_from(
    office_hours: str, tz: str, db: Session | Connection | None = None
) -> WorkCalendar:
    """The one factory of working calendars, for deadlines and for metrics alike.

    With ``db``: office hours, time zone and the statutory calendar stored there (the years an
    admin entered over the chinesecalendar package), cached per process and reloaded at the
    first use after a change by any process (``server.usecases.calendar``). Without: the
    package alone (tests, benches).
    """
    if db is None:
        return _package_calendar(office_hours, tz)
    from server.usecases.calendar import work_calendar

    return work_calendar(db, office_hours, tz)


@lru_cache(maxsize=8)
def _package_calendar(office_hours: str, tz: str) -> WorkCalendar:
    return WorkCalendar(OfficeHours.parse(office_hours), tz)
