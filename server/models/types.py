"""Column types that work the same on PostgreSQL/PostGIS and on plain SQLite.

``Geometry`` is a PostGIS ``geometry(<type>, 4326)`` column on PostgreSQL (via GeoAlchemy2) and a
WKB blob on SQLite, where no SpatiaLite is needed: spatial work on SQLite happens in Shapely.
Python code always sees Shapely geometries. ``UTCDateTime`` stores UTC and always returns
timezone-aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import shapely
from geoalchemy2 import Geometry as PGGeometry
from geoalchemy2 import WKBElement
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import DateTime, LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

SRID = 4326


class Geometry(TypeDecorator[BaseGeometry]):
    """A geometry column: PostGIS on PostgreSQL, WKB on SQLite."""

    impl = LargeBinary
    cache_ok = True
    # Read by GeoAlchemy2's DDL hooks: our GIST indexes are made by the migrations instead.
    spatial_index = False
    use_N_D_index = False

    def __init__(self, geometry_type: str = "GEOMETRY", srid: int = SRID) -> None:
        super().__init__()
        self.geometry_type = geometry_type.upper()
        self.srid = srid

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # GeoAlchemy2's DDL hooks call this with no dialect: answer "not managed by GeoAlchemy2".
        if dialect is not None and dialect.name == "postgresql":
            return dialect.type_descriptor(
                PGGeometry(self.geometry_type, srid=self.srid, spatial_index=False)
            )
        if dialect is None:
            return LargeBinary()
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, BaseGeometry):
            raise TypeError(f"expected a Shapely geometry, got {type(value).__name__}")
        if self.geometry_type == "MULTIPOLYGON" and isinstance(value, Polygon):
            value = MultiPolygon([value])
        if dialect.name == "postgresql":
            return shapely.to_wkb(shapely.set_srid(value, self.srid), hex=True, include_srid=True)
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseGeometry | None:
        if value is None:
            return None
        if isinstance(value, WKBElement):
            value = value.data
        if isinstance(value, memoryview):
            value = bytes(value)
        geom: BaseGeometry = shapely.from_wkb(value)
        return geom

    def __repr__(self) -> str:
        return f"Geometry({self.geometry_type!r}, srid={self.srid})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC; naive input is refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: give a timezone-aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def __repr__(self) -> str:
        return "UTCDateTime()"


def utcnow() -> datetime:
    return datetime.now(UTC)
