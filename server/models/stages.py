"""Stage time limits and supervision-card thresholds (``server.domain.stages``), edited by admins.

``stage_limits``: one row per category (``category_code``, "" for every category) × urgency ×
level ("" for every level) × stage; the most specific row wins. ``card_thresholds``: per stage,
the working days overdue for a yellow and a red card; without a row the domain's defaults apply.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.domain.fields import Urgency
from server.domain.stages import Stage
from server.domain.vocabulary import sql_in
from server.models.base import Base
from server.models.types import UTCDateTime, utcnow


class StageLimitRow(Base):
    __tablename__ = "stage_limits"
    __table_args__ = (
        UniqueConstraint("category_code", "urgency", "level", "stage"),
        CheckConstraint(sql_in("stage", Stage), name="stage"),
        CheckConstraint(sql_in("urgency", Urgency), name="urgency"),
        CheckConstraint("limit_unit IN ('work_hours','work_days','hours')", name="limit_unit"),
        CheckConstraint("limit_value > 0", name="limit_value"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(String(4), default="")
    urgency: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(16), default="")
    stage: Mapped[str] = mapped_column(String(16))
    limit_value: Mapped[float] = mapped_column(Float)
    limit_unit: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CardThresholdRow(Base):
    __tablename__ = "card_thresholds"
    __table_args__ = (
        CheckConstraint(sql_in("stage", Stage), name="stage"),
        CheckConstraint("yellow_days >= 0 AND yellow_days < red_days", name="days"),
    )

    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    yellow_days: Mapped[int] = mapped_column(Integer)
    red_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
