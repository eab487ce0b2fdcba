"""The statutory calendar as data an admin extends (issue 11): a year's holidays and adjusted
working days (调休上班日), and the append-only trail of every change.

``calendar_years`` has one row per year an admin entered: that year replaces what the
chinesecalendar package says about it (see ``server.domain.worktime.StatutoryCalendar``).
``calendar_days`` are its holidays (``kind='holiday'``, with a name such as 春节) and adjusted
working days (``kind='workday'``). ``calendar_changes`` records who changed which year, when,
why, and the year's entries before and after; its largest id is the calendar's *version*, which
every process checks every few seconds to drop its cached calendar. Migration 0006 makes the
trail append-only in the database (UPDATE and DELETE are refused by triggers).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base
from server.models.types import UTCDateTime, utcnow


class CalendarYear(Base):
    """A year an admin entered (its days are in ``calendar_days``)."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class CalendarEntry(Base):
    """A statutory holiday or an adjusted working day of an entered year."""

    __tablename__ = "calendar_days"
    __table_args__ = (CheckConstraint("kind IN ('holiday','workday')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year"), index=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(50), default="")


class CalendarChange(Base):
    """One change of one year, never updated nor deleted (the trail)."""

    __tablename__ = "calendar_changes"
    __table_args__ = (CheckConstraint("action IN ('replace','import','delete')", name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    # {"holidays": [{"date", "name"}], "workdays": [...]}, or None when the year was not entered.
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
