"""Open311 GeoReport v2: API keys, and what a request filed through Open311 brought along.

A key is shown once when it is made (``flask open311 create-key``); only its SHA-256 is kept,
so a leaked database does not leak working keys. A key may be bound to a county, which is where
a request lands when its location does not fall in any grid.

``open311_requests`` links each case filed through Open311 to the key that filed it and keeps
the parts of the request the case itself has no column for (``media_url``, the raw
``attribute[…]`` values, the client's ``account_id``/``device_id``). The citizen's name, phone
and email go to the case (``caller_name``, ``caller_phone``, ``contact_email``), like any other
caller's. None of the personal fields is ever returned by a GET.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.models.base import Base
from server.models.geography import Region
from server.models.types import UTCDateTime, utcnow


class ApiKey(Base):
    """A key an Open311 client sends as ``api_key`` to file requests (stored as SHA-256 only)."""

    __tablename__ = "open311_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the key
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    region: Mapped[Region | None] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class Open311Request(Base):
    """One case filed through Open311: which key filed it, and the request's extra fields."""

    __tablename__ = "open311_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("open311_api_keys.id"), index=True)
    service_code: Mapped[str] = mapped_column(String(16))
    media_url: Mapped[str] = mapped_column(String(1000), default="")
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    account_id: Mapped[str] = mapped_column(String(100), default="")
    device_id: Mapped[str] = mapped_column(String(100), default="")
    # = the case's reported_at (requested_datetime): GET requests filters and sorts on it here,
    # in this small table, instead of scanning every case of the county.
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    api_key: Mapped[ApiKey] = relationship()
