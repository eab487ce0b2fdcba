"""The ``scorecard_configs`` table: weights, targets and grade bands of the scorecards.

One JSON document per scorecard kind (``department``, ``worker``, ``dispatcher``, ``town``);
without a row the defaults of
``server.domain.scorecards`` apply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.models.base import Base
from server.models.types import UTCDateTime, utcnow


class ScorecardConfig(Base):
    """Weights, targets and grade bands of one scorecard kind (JSON, validated by the API)."""

    __tablename__ = "scorecard_configs"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
