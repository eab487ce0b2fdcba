"""Case categories (2-digit major + 2-digit minor codes) with their time limits."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base
from server.models.people import Department

LIMIT_UNITS = ("work_hours", "work_days", "hours")


class Category(Base):
    """A major category (2-digit code, no limits) or a minor one (4 digits) cases are filed in."""

    __tablename__ = "categories"
    __table_args__ = (
        CheckConstraint("limit_unit IN ('work_hours','work_days','hours')", name="limit_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(4), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    default_department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    limit_value: Mapped[float] = mapped_column(Float, default=5)
    limit_unit: Mapped[str] = mapped_column(String(16), default="work_days")
    urgent_hours: Mapped[float] = mapped_column(Float, default=4)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Extra fields an Open311 service definition exposes (list of attribute dicts).
    attributes: Mapped[list[dict[str, object]] | None] = mapped_column(JSON)

    parent: Mapped[Category | None] = relationship(remote_side=[id])
    default_department: Mapped[Department | None] = relationship()
