"""Routing rules (越级, DESIGN §9): per category × urgency, the level a new case goes to first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.domain.fields import Urgency
from server.domain.levels import CENTRE_LEVELS, Level
from server.domain.vocabulary import sql_in
from server.models.base import Base
from server.models.types import UTCDateTime, utcnow


class RoutingRule(Base):
    """A new case of ``category_id`` and ``urgency`` goes first to the centre of ``level`` on its
    line (when enabled), and is copied to ``copy_department_ids`` (departments of that level).
    Edited by admins (server/usecases/admin/routing.py); every change is logged."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        UniqueConstraint("category_id", "urgency"),
        CheckConstraint(sql_in("urgency", Urgency), name="urgency"),
        CheckConstraint(
            f"level IN ({','.join(repr(lv.value) for lv in CENTRE_LEVELS)})", name="level"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"))
    urgency: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(16), default=Level.TOWN.value)
    copy_department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
