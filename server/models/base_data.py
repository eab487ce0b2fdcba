"""Base data (人、地、事、物、组织): places, households, residents, their residences and life
events, key groups and their level requests, organisations, visits, and the read log.

Every editable row has ``version`` (optimistic concurrency: an edit names the version it was
made on; a mismatch is a conflict) and, where a phone may create it offline, a client ``uuid``
(a replay returns the first result). Rows that hang on a place copy its grid and regions
(``grid_code``, ``community_id``, ``town_id``, ``county_id``), so jurisdiction is one indexed
comparison, as for cases. Identity numbers and phones are stored encrypted (``*_cipher``),
findable by a keyed hash (``*_hash``), shown by their mask (``*_mask``): see
``server/usecases/personal_data.py``. ``life_events`` and ``personal_data_reads`` are
append-only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.domain.base_data import (
    LevelRequestStatus,
    LifeEventKind,
    OrganisationKind,
    PlaceKind,
    Registration,
    Relation,
    ResidentStatus,
)
from server.domain.identity import Sex
from server.domain.vocabulary import sql_in
from server.models.base import Base
from server.models.types import Geometry, UTCDateTime, utcnow


class _Located:
    """The grid and regions a row is in (copied from its place)."""

    grid_code: Mapped[str | None] = mapped_column(String(15), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)


class _Edited:
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Place(_Located, _Edited, Base):
    """小区/自然村 → 楼栋 → 单元 → 房屋, one table (``kind``), with 门牌 address and grid."""

    __tablename__ = "places"
    __table_args__ = (CheckConstraint(sql_in("kind", PlaceKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(300), default="", index=True)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[BaseGeometry | None] = mapped_column(Geometry("GEOMETRY"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Household(_Located, _Edited, Base):
    """A household (户) living in a room."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id"), index=True)
    number: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Resident(_Located, _Edited, Base):
    """A person (实有人口). One current residence (``household_id``); history in residences."""

    __tablename__ = "residents"
    __table_args__ = (
        CheckConstraint(sql_in("registration", Registration), name="registration"),
        CheckConstraint(sql_in("relation", Relation), name="relation"),
        CheckConstraint(sql_in("status", ResidentStatus), name="status"),
        CheckConstraint(sql_in("sex", Sex), name="sex"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(100), index=True)
    # NULL (and the mask ""): a newborn registered before they have a number (出生登记)
    id_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_mask: Mapped[str] = mapped_column(String(18))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(8))
    phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_mask: Mapped[str] = mapped_column(String(32), default="")
    registration: Mapped[str] = mapped_column(String(16), default=Registration.REGISTERED.value)
    relation: Mapped[str] = mapped_column(String(16), default=Relation.OTHER.value)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=ResidentStatus.ACTIVE.value)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Residence(Base):
    """人房关联: a resident lived in a household from ``started_at`` until ``ended_at``."""

    __tablename__ = "residences"
    __table_args__ = (
        Index(
            "uq_residences_current",
            "resident_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LifeEvent(Base):
    """迁入 / 迁出 / 死亡 / 注销 / 恢复: append-only, never updated or deleted."""

    __tablename__ = "life_events"
    __table_args__ = (CheckConstraint(sql_in("kind", LifeEventKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_on: Mapped[date] = mapped_column(Date)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    from_household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KeyGroupKindRow(Base):
    """A kind of key group (重点人群/关爱对象): its levels and their visit cycles."""

    __tablename__ = "key_group_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)


class KeyGroupTag(Base):
    """A resident's membership of a key group at a management level."""

    __tablename__ = "key_group_tags"
    __table_args__ = (
        Index(
            "uq_key_group_tags_open",
            "resident_id",
            "kind_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    kind_id: Mapped[int] = mapped_column(ForeignKey("key_group_kinds.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    since: Mapped[date] = mapped_column(Date)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LevelRequest(Base):
    """A request to change a tag's level: decided by the community or town."""

    __tablename__ = "level_requests"
    __table_args__ = (
        CheckConstraint(sql_in("status", LevelRequestStatus), name="status"),
        Index(
            "uq_level_requests_pending",
            "tag_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("key_group_tags.id"), index=True)
    from_level: Mapped[int] = mapped_column(Integer)
    to_level: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=LevelRequestStatus.PENDING.value)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(Text, default="")


class Organisation(_Located, _Edited, Base):
    """单位/两新组织, with its 统一社会信用代码."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint(sql_in("kind", OrganisationKind), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(200), index=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(300), default="")
    place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    contact_phone_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact_phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    contact_phone_mask: Mapped[str] = mapped_column(String(32), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Visit(_Located, Base):
    """走访/随访 of a household or a person; photos are attachments with ``visit_id``."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_resident_at", "resident_id", "visited_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    findings: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PersonalDataRead(Base):
    """The read log: every read of a person's record (who, when, why, through what).
    Append-only."""

    __tablename__ = "personal_data_reads"
    __table_args__ = (
        Index("ix_personal_data_reads_resident_at", "resident_id", "at"),
        # a user's reads of the last hours: the duplicate-number limit counts them before
        # every registration and import (server/usecases/base_data/duplicates.py), and a
        # dispatcher's log grows by every read
        Index("ix_personal_data_reads_actor_at", "actor_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(16), default="")
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    #: a grid worker whose personal data (a patrol's GPS track) was read
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    endpoint: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    fields: Mapped[str] = mapped_column(String(100), default="")
    count: Mapped[int] = mapped_column(Integer, default=1)
    # Where the record read was (for a supervisor's view of the log in their jurisdiction).
    grid_code: Mapped[str | None] = mapped_column(String(15))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    county_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
