"""Field work (DESIGN §11): patrols (巡查) with their GPS tracks, daily check-ins (签到, 补签),
and supervisors' comments on a worker's work log (工作日志).

A patrol, a chunk of its track and a check-in are made offline on the phone and sent with a
client ``uuid``; ``content_hash`` tells a replay (same body: the first answer) from a conflict.
Rows carry the grid and regions they belong to (``grid_code``, ``community_id``, ``town_id``,
``county_id``, as base data does), so jurisdiction is one indexed comparison. Cases and visits
are not linked by a stored key: one is "on a patrol" when its worker made it between the
patrol's start and end (docs/field-work.md).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.domain.fieldwork import CheckInStatus
from server.domain.vocabulary import sql_in
from server.models.base import Base
from server.models.base_data import _Located
from server.models.types import UTCDateTime, utcnow


class Patrol(_Located, Base):
    """One patrol of a grid worker: started and ended on the phone; its summary (points kept,
    distance, duration, coverage of the worker's grids) is kept up to date as chunks arrive."""

    __tablename__ = "patrols"
    __table_args__ = (Index("ix_patrols_worker_started", "worker_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_hash: Mapped[str | None] = mapped_column(String(64))
    start_lon: Mapped[float | None] = mapped_column(Float)
    start_lat: Mapped[float | None] = mapped_column(Float)
    points: Mapped[int] = mapped_column(Integer, default=0)
    distance_m: Mapped[float] = mapped_column(Float, default=0.0)
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    #: share (0–1) of the worker's grid area within 50 m of the track; None until computed
    coverage: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TrackChunk(Base):
    """One upload of a patrol's positions; ``answer`` is what the server said, replayed."""

    __tablename__ = "track_chunks"
    __table_args__ = (UniqueConstraint("patrol_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TrackPoint(Base):
    """A kept position of a patrol (WGS 84). Deleted after the retention period."""

    __tablename__ = "track_points"
    __table_args__ = (Index("ix_track_points_patrol_at", "patrol_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id", ondelete="CASCADE"))
    chunk_id: Mapped[int] = mapped_column(ForeignKey("track_chunks.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)


class CheckIn(_Located, Base):
    """A day's check-in (签到) in one's own grid, or a late one (补签) for a past day, which
    waits for the approval of a supervisor of the grid's community."""

    __tablename__ = "check_ins"
    __table_args__ = (
        CheckConstraint(sql_in("status", CheckInStatus), name="status"),
        Index(
            "uq_check_ins_worker_day_live",
            "worker_id",
            "day",
            unique=True,
            sqlite_where=text("status <> 'rejected'"),
            postgresql_where=text("status <> 'rejected'"),
        ),
        Index("ix_check_ins_day_status", "day", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    #: the phone's time of the check-in (for a 补签: when it was asked for)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    #: after the county's check-in deadline, on the day itself
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    #: a 补签 for a past day
    makeup: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=CheckInStatus.ACCEPTED.value)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(Text, default="")


class WorkLogComment(Base):
    """A supervisor's comment on a worker's day (工作日志). Append-only."""

    __tablename__ = "work_log_comments"
    __table_args__ = (Index("ix_work_log_comments_worker_day", "worker_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    worker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    day: Mapped[date] = mapped_column(Date)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
