"""Regions (county → town → community), grid plans, grids and grid duties."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy import false as sql_false
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.domain.levels import CENTRE_BY_DEFAULT, Level
from server.domain.vocabulary import sql_in
from server.models.base import Base
from server.models.types import Geometry, UTCDateTime, utcnow

if TYPE_CHECKING:
    from server.models.people import User

DUTIES = ("full_time", "part_time", "grid_leader", "instructor")
DUTY_LABELS = {
    "full_time": "专职网格员",
    "part_time": "兼职网格员",
    "grid_leader": "网格长",
    "instructor": "网格指导员",
}


def _centre_by_default(context: DefaultExecutionContext) -> bool:
    return context.get_current_parameters().get("level") in CENTRE_BY_DEFAULT


class Region(Base):
    """A city (4-digit code padded to 12), county (6 → 12), town (9 → 12) or community
    (12-digit code). ``centre``: the region has a command centre (server/domain/levels.py)."""

    __tablename__ = "regions"
    __table_args__ = (CheckConstraint(sql_in("level", Level), name="level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    boundary: Mapped[BaseGeometry | None] = mapped_column(Geometry("MULTIPOLYGON"))
    # Materialised path of ids ("/1/5/23/") so a subtree is one indexed prefix query.
    path: Mapped[str] = mapped_column(String(200), index=True)
    centre: Mapped[bool] = mapped_column(
        Boolean, default=_centre_by_default, server_default=sql_false()
    )

    parent: Mapped[Region | None] = relationship(remote_side=[id])


class GridPlan(Base):
    """One version of the grid plan of a region (usually the county). One is active."""

    __tablename__ = "grid_plans"
    __table_args__ = (
        UniqueConstraint("region_id", "version"),
        CheckConstraint("status IN ('draft','active','retired')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    source_name: Mapped[str] = mapped_column(String(300), default="")
    report: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Grid(Base):
    """A grid polygon of one plan version. Codes are stable across versions."""

    __tablename__ = "grids"
    __table_args__ = (
        UniqueConstraint("plan_id", "code"),
        CheckConstraint("kind IN ('basic','dedicated')", name="kind"),
        Index("ix_grids_code_valid", "code", "valid_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("grid_plans.id"), index=True)
    code: Mapped[str] = mapped_column(String(15))
    name: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(16), default="basic")
    subkind: Mapped[str | None] = mapped_column(String(16))
    community_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    households: Mapped[int | None] = mapped_column(Integer)
    geom: Mapped[BaseGeometry] = mapped_column(Geometry("MULTIPOLYGON"))
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())

    community: Mapped[Region] = relationship()
    plan: Mapped[GridPlan] = relationship()


class GridAssignment(Base):
    """A user's duty in a grid, by the grid's stable code (survives new plan versions)."""

    __tablename__ = "grid_assignments"
    __table_args__ = (
        UniqueConstraint("user_id", "grid_code", "duty"),
        CheckConstraint(
            "duty IN ('full_time','part_time','grid_leader','instructor')", name="duty"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    duty: Mapped[str] = mapped_column(String(16), default="full_time")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="assignments")
