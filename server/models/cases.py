"""Incidents (cases), their append-only event trail, attachments and ratings.

The ``incidents`` row is the current state, kept in step with the trail by the use cases in one
transaction. ``incident_events`` is never updated or deleted: metrics are computed from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import false as sql_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.domain.fields import Rating as RatingName
from server.domain.fields import Urgency
from server.domain.vocabulary import sql_in
from server.domain.workflow import State
from server.models.base import Base
from server.models.catalog import Category
from server.models.geography import Grid, Region
from server.models.people import Department, User
from server.models.types import Geometry, UTCDateTime, utcnow

_UNCARDED = "stage_card IS NULL AND stage_due_at IS NOT NULL"
_YELLOW = "stage_card = 'yellow'"
_UNFILLED = "stage_due_at IS NULL AND stage_started_at IS NOT NULL"


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(sql_in("state", State), name="state"),
        CheckConstraint(sql_in("urgency", Urgency), name="urgency"),
        Index("ix_incidents_state_id", "state", "id"),
        Index("ix_incidents_county_created", "county_id", "created_at"),
        Index("ix_incidents_town_created", "town_id", "created_at"),
        Index("ix_incidents_department_state", "department_id", "state"),
        Index("ix_incidents_deadline_open", "deadline_at", "state"),
        # The queue, its counts and the overdue board within a county, town or community.
        Index("ix_incidents_county_state_deadline", "county_id", "state", "deadline_at"),
        Index("ix_incidents_town_state_deadline", "town_id", "state", "deadline_at"),
        Index("ix_incidents_community_state_deadline", "community_id", "state", "deadline_at"),
        Index("ix_incidents_county_updated", "county_id", "updated_at"),
        # The sweep: stages past a cut-off without a card, or with a yellow one; and stage
        # clocks without a due time (cases opened before migration 0010). Partial: an idle
        # sweep reads nothing of the cases it carded before or of finished ones.
        Index(
            "ix_incidents_stage_uncarded",
            "stage_due_at",
            postgresql_where=text(_UNCARDED),
            sqlite_where=text(_UNCARDED),
        ),
        Index(
            "ix_incidents_stage_yellow",
            "stage_due_at",
            postgresql_where=text(_YELLOW),
            sqlite_where=text(_YELLOW),
        ),
        Index(
            "ix_incidents_stage_unfilled",
            "id",
            postgresql_where=text(_UNFILLED),
            sqlite_where=text(_UNFILLED),
        ),
        # A centre's own queue (the cases it holds now).
        Index("ix_incidents_centre_state", "centre_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), default="field")
    state: Mapped[str] = mapped_column(String(16), default=State.REPORTED.value)
    version: Mapped[int] = mapped_column(Integer, default=1)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    location: Mapped[BaseGeometry | None] = mapped_column(Geometry("POINT"))
    location_status: Mapped[str] = mapped_column(String(16), default="none")
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    county_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    # The command centre that holds the case now (set at report by the routing rule, moved by
    # escalate / devolve / pull_up; the trail records every move).
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    # Departments the case was copied to (抄告): read access for their handlers. The rows of
    # ``case_copies`` say the same for queries.
    copied_department_ids: Mapped[list[int] | None] = mapped_column(JSON)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    caller_name: Mapped[str] = mapped_column(String(100), default="")
    caller_phone: Mapped[str] = mapped_column(String(32), default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    self_handled: Mapped[bool] = mapped_column(Boolean, default=False)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    suspended_from: Mapped[str | None] = mapped_column(String(16))
    pending_extension: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_rating: Mapped[str | None] = mapped_column(String(24))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_event_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # The current stage's clock (server.domain.stages; the stage itself follows the state):
    # when it started, when it is due, whether it runs on natural time, the card it holds.
    stage_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stage_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stage_natural: Mapped[bool] = mapped_column(Boolean, default=False)
    stage_card: Mapped[str | None] = mapped_column(String(8))
    # A deadline set from outside (a 12345 ticket's 办理时限, a leader's date): the handle
    # stage's deadline at every dispatch instead of the category's limit.
    fixed_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Optimistic locking: every UPDATE checks ``version`` (a concurrent writer loses with
    # StaleDataError). The use cases bump it by exactly one per event themselves.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}

    category: Mapped[Category] = relationship()
    grid: Mapped[Grid | None] = relationship()
    community: Mapped[Region | None] = relationship(foreign_keys=[community_id])
    town: Mapped[Region | None] = relationship(foreign_keys=[town_id])
    centre: Mapped[Region | None] = relationship(foreign_keys=[centre_id])
    department: Mapped[Department | None] = relationship()
    reporter: Mapped[User | None] = relationship()


class IncidentEvent(Base):
    """One action on a case: who, role, server time, device time, note, photos, place."""

    __tablename__ = "incident_events"
    __table_args__ = (
        Index("ix_incident_events_incident_id", "incident_id", "id"),
        Index("ix_incident_events_action_created", "action", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    action: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_role: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    public: Mapped[bool] = mapped_column(Boolean, default=False)

    incident: Mapped[Incident] = relationship()
    actor: Mapped[User | None] = relationship()


class CaseCopy(Base):
    """A case copied (抄告) to a department: its handlers may read it (usecases/policy.py)."""

    __tablename__ = "case_copies"
    __table_args__ = (
        UniqueConstraint("incident_id", "department_id"),
        Index("ix_case_copies_department_incident", "department_id", "incident_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("incident_events.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Attachment(Base):
    """A photo, stored once by content hash; linked to a case and the event that brought it."""

    __tablename__ = "attachments"
    __table_args__ = (
        # the unfinished uploads: a user's count (the cap on pending uploads) and the idle
        # ones the expiry deletes (server/usecases/pending_uploads.py), never the photos
        Index(
            "ix_attachments_unfinished",
            "uploader_id",
            "touched_at",
            sqlite_where=text("status = 'uploading'"),
            postgresql_where=text("status = 'uploading'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="uploading")
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("incident_events.id"), index=True)
    #: a photo of a base-data visit (走访) instead of a case
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    total_bytes: Mapped[int] = mapped_column(Integer, default=0)
    received_bytes: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    mime: Mapped[str] = mapped_column(String(32), default="image/jpeg")
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int | None] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    gps_lon: Mapped[float | None] = mapped_column(Float)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    #: photo evidence as the phone stated it (the re-encoded canvas carries no EXIF): when and
    #: where the picture was taken, and whether the app drew its watermark (an old app: no)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    captured_lon: Mapped[float | None] = mapped_column(Float)
    captured_lat: Mapped[float | None] = mapped_column(Float)
    captured_accuracy_m: Mapped[float | None] = mapped_column(Float)
    watermarked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql_false())
    #: where it was uploaded from, as the app stated it: ``field`` (the phone), ``desk`` (the
    #: console: no phone took it, so no watermark is expected); None: not stated (an old app)
    source: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the last sign of life of an unfinished upload: its begin, a resume (a begin again) or a
    #: piece; one idle for ``WANGGE_UPLOAD_EXPIRY_DAYS`` is deleted
    touched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=utcnow)


class Rating(Base):
    """满意 / 基本满意 / 不满意, from the reporter, a hotline callback or Open311."""

    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint(sql_in("value", RatingName), name="value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("incident_events.id"))
    value: Mapped[str] = mapped_column(String(24))
    rater_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(16), default="reporter")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
