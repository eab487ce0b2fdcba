"""Users, departments, sign-ins and sign-in attempts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.domain.vocabulary import sql_in
from server.domain.workflow import Role
from server.models.base import Base
from server.models.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from server.models.geography import GridAssignment, Region


class Department(Base):
    """A department or town office (专业部门, 派驻机构) that handles cases."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    region: Mapped[Region | None] = relationship()


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(sql_in("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    phone: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Bumped on password change or disable, so old sessions and remember cookies stop working.
    session_epoch: Mapped[int] = mapped_column(default=0)

    region: Mapped[Region | None] = relationship()
    department: Mapped[Department | None] = relationship()
    assignments: Mapped[list[GridAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    # Flask-Login protocol (kept here as plain properties: no Flask import in models).
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    #: The sign-in (``SignIn``) this object was signed in or loaded with: its key, set by the
    #: sign-in code and never stored (only its hash is, in ``sign_ins``).
    sign_in_key = ""

    def get_id(self) -> str:
        """What the session and the remember cookie hold: ``user:epoch:sign-in key``."""
        return f"{self.id}:{self.session_epoch}:{self.sign_in_key}"


class SignIn(Base):
    """One signed-in browser or phone. Its key is in the session and the remember cookie;
    signing out ends it (a copied cookie stops working) without touching the user's other
    sign-ins. ``session_epoch`` still ends them all (password change, disable)."""

    __tablename__ = "sign_ins"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the key, hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class LoginAttempt(Base):
    """Every sign-in attempt: the throttle counts recent failures per user name and address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean, default=False)
