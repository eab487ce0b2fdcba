"""Request models of /api/v1/base (base data): what each endpoint accepts.

Types, ranges and shapes are settled here; the rules (a check digit, a jurisdiction, a life
event allowed in a status) stay in the domain and the use cases. Every body is strict: an
unknown field is a 400 naming it (docs/api.md), so a misspelt field is never silently dropped;
only the case endpoints' bodies are tolerant.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from server.api.edge import (
    INT32_MAX,
    Body,
    Id,
    Lat,
    Lon,
    QBool,
    QId,
    Query,
    Text,
    UuidText,
    ascii_int,
)
from server.api.inputs import DeviceTime, GridCode, PhotoIds, _enum_schema, _member_of
from server.domain import base_data as bd
from server.domain.names import line_problem
from server.domain.years import MAX_YEAR

PlaceKindName = Annotated[str, _member_of(bd.PlaceKind), _enum_schema(bd.PlaceKind)]
RegistrationName = Annotated[str, _member_of(bd.Registration), _enum_schema(bd.Registration)]
RelationName = Annotated[str, _member_of(bd.Relation), _enum_schema(bd.Relation)]
EventKindName = Annotated[str, _member_of(bd.LifeEventKind), _enum_schema(bd.LifeEventKind)]
OrgKindName = Annotated[str, _member_of(bd.OrganisationKind), _enum_schema(bd.OrganisationKind)]
StatusName = Annotated[str, _member_of(bd.ResidentStatus), _enum_schema(bd.ResidentStatus)]
CycleName = Annotated[str, _member_of(bd.Cycle), _enum_schema(bd.Cycle)]
RequestStatusName = Annotated[
    str, _member_of(bd.LevelRequestStatus), _enum_schema(bd.LevelRequestStatus)
]
Version = Annotated[int, Field(ge=0, le=INT32_MAX, strict=True)]


def _iso_date(value: str) -> str:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date", "应为 YYYY-MM-DD 日期 / a date as YYYY-MM-DD") from None
    if not 1890 <= day.year <= MAX_YEAR:  # birth dates reach further back than the system's
        raise PydanticCustomError(
            "date_range", f"日期应在 1890–{MAX_YEAR} 年 / a date in 1890-{MAX_YEAR}"
        )
    return value


Day = Annotated[
    Text,
    Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", json_schema_extra={"format": "date"}),
    AfterValidator(_iso_date),
]


def _one_line(value: str) -> str:
    """A name, an address, a number: no control characters (tabs, newlines, ESC …) and no
    bidirectional-text controls, which make a name read differently from what it is (the one
    rule of :mod:`server.domain.names`)."""
    if bad := line_problem(value):
        raise PydanticCustomError("control_characters", bad)
    return value


Line = Annotated[Text, AfterValidator(_one_line)]


def _readable(value: str) -> str:
    """A stated reason (it goes to the personal-data access log as written): lines and tabs,
    but no other control character (ESC colours a terminal) and no bidirectional-text control."""
    _one_line(value.replace("\n", "").replace("\t", ""))
    return value


Reason = Annotated[Text, AfterValidator(_readable)]
IdNumberText = Annotated[Text, Field(min_length=1, max_length=40)]
PhoneText = Annotated[Line, Field(max_length=32)]
Name = Annotated[Line, Field(min_length=1, max_length=100)]
Limit = Annotated[int, Field(ge=1, le=200), BeforeValidator(ascii_int)]
Level = Annotated[int, Field(ge=1, le=9, strict=True)]
Footprint = dict[str, Any]


class _Edit(Body):
    base_version: Version = Field(
        description="the record's version the edit was made on: another one is a 409"
    )


# --- places ------------------------------------------------------------------------------------


class PlaceBody(Body):
    """POST /base/places: an estate, building, unit or room. Idempotent by ``uuid``."""

    uuid: UuidText
    kind: PlaceKindName
    parent_id: Id | None = None
    name: Name
    address: Annotated[Line, Field(max_length=300)] | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    grid_code: GridCode | None = None
    footprint: Footprint | None = Field(None, description="a GeoJSON Polygon (buildings)")


class PlacePatch(_Edit):
    name: Name | None = None
    address: Annotated[Line, Field(max_length=300)] | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    grid_code: GridCode | None = None
    footprint: Footprint | None = None


class PlaceQuery(Query):
    kind: PlaceKindName | None = None
    parent: QId | None = None
    grid: GridCode | None = None
    q: Annotated[Text, Field(max_length=100)] | None = Field(
        None, description="words of the address or name (幸福路 12 号)"
    )
    cursor: QId | None = None
    limit: Limit = 100


# --- households --------------------------------------------------------------------------------


class HouseholdBody(Body):
    uuid: UuidText
    place_id: Id
    number: Annotated[Line, Field(max_length=40)] | None = None
    note: Annotated[Text, Field(max_length=2000)] | None = None


class HouseholdPatch(_Edit):
    number: Annotated[Line, Field(max_length=40)] | None = None
    note: Annotated[Text, Field(max_length=2000)] | None = None


class HouseholdQuery(Query):
    place: QId | None = None
    grid: GridCode | None = None
    cursor: QId | None = None
    limit: Limit = 100


# --- residents ---------------------------------------------------------------------------------


class ResidentBody(Body):
    """POST /base/residents. Idempotent by ``uuid``."""

    uuid: UuidText
    name: Name
    id_number: IdNumberText | None = Field(
        None,
        description="公民身份号码 (GB 11643, check digit verified); required except for a "
        "birth registration (出生登记), which gives born_on and sex instead",
    )
    born_on: Day | None = Field(
        None, description="without id_number: the birth date of a child at most a year old"
    )
    sex: Literal["male", "female"] | None = Field(None, description="without id_number")
    phone: PhoneText | None = None
    registration: RegistrationName | None = None
    relation: RelationName | None = None
    household_id: Id | None = None
    grid_code: GridCode | None = Field(None, description="without a household: the grid")
    moved_in_on: Day | None = None


class ResidentPatch(_Edit):
    name: Name | None = None
    id_number: IdNumberText | None = None
    phone: PhoneText | None = None
    registration: RegistrationName | None = None
    relation: RelationName | None = None


class ResidentQuery(Query):
    household: QId | None = None
    grid: GridCode | None = None
    q: Annotated[Text, Field(max_length=100)] | None = Field(None, description="part of a name")
    id_number: Annotated[Line, Field(max_length=40)] | None = Field(
        None,
        description="an exact identity number (found by its keyed hash; a search by number "
        "is logged, found or not, and limited per user)",
    )
    phone: Annotated[Text, Field(max_length=32)] | None = Field(
        None, description="an exact phone (as id_number)"
    )
    status: StatusName | None = None
    cursor: QId | None = None
    limit: Limit = 100


class EventBody(Body):
    """POST /base/residents/{id}/events: 迁入/迁出/死亡/注销/恢复 (append-only)."""

    uuid: UuidText
    kind: EventKindName
    occurred_on: Day | None = None
    household_id: Id | None = Field(None, description="move_in: the household moved into")
    note: Annotated[Text, Field(max_length=2000)] | None = None
    base_version: Version | None = None


class RevealBody(Body):
    reason: Annotated[Reason, Field(min_length=2, max_length=500)]
    fields: Annotated[list[Literal["id_number", "phone"]], Field(min_length=1, max_length=2)]


# --- key groups --------------------------------------------------------------------------------


class LevelSpec(Body):
    level: Level
    name: Annotated[Line, Field(max_length=40)] | None = None
    cycle: CycleName


class KindBody(Body):
    code: Annotated[Text, Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
    name: Name
    sensitive: bool = False
    levels: Annotated[list[LevelSpec], Field(min_length=1, max_length=9)]


class KindPatch(Body):
    base_version: Version
    name: Name | None = None
    sensitive: bool | None = None
    active: bool | None = None
    levels: Annotated[list[LevelSpec], Field(min_length=1, max_length=9)] | None = None


class TagBody(Body):
    uuid: UuidText
    kind_code: Annotated[Text, Field(max_length=40)]
    level: Level
    since: Day | None = None
    note: Annotated[Text, Field(max_length=2000)] | None = None


class EndTagBody(_Edit):
    reason: Annotated[Reason, Field(max_length=500)] | None = None


class LevelRequestBody(Body):
    to_level: Level
    reason: Annotated[Reason, Field(min_length=1, max_length=1000)]


class DecideBody(Body):
    approve: bool
    note: Annotated[Text, Field(max_length=1000)] | None = None


class LevelRequestQuery(Query):
    status: RequestStatusName | None = None


# --- organisations -----------------------------------------------------------------------------


class OrganisationBody(Body):
    uuid: UuidText
    name: Annotated[Line, Field(min_length=1, max_length=200)]
    credit_code: Annotated[Text, Field(max_length=40)] | None = Field(
        None, description="统一社会信用代码 (GB 32100, check character verified)"
    )
    kind: OrgKindName | None = None
    address: Annotated[Line, Field(max_length=300)] | None = None
    place_id: Id | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    grid_code: GridCode | None = None
    contact_name: Annotated[Line, Field(max_length=100)] | None = None
    contact_phone: PhoneText | None = None


class OrganisationPatch(_Edit):
    name: Annotated[Line, Field(min_length=1, max_length=200)] | None = None
    credit_code: Annotated[Text, Field(max_length=40)] | None = None
    kind: OrgKindName | None = None
    address: Annotated[Line, Field(max_length=300)] | None = None
    contact_name: Annotated[Line, Field(max_length=100)] | None = None
    contact_phone: PhoneText | None = None


class OrganisationQuery(Query):
    grid: GridCode | None = None
    q: Annotated[Text, Field(max_length=100)] | None = None
    credit_code: Annotated[Text, Field(max_length=40)] | None = None
    cursor: QId | None = None
    limit: Limit = 100


# --- visits ------------------------------------------------------------------------------------


class RaiseCase(Body):
    uuid: UuidText
    category_id: Id | None = None
    category_code: Annotated[Text, Field(pattern=r"^[0-9]{4}$")] | None = None
    description: Annotated[Text, Field(max_length=4000)] | None = None
    address: Annotated[Line, Field(max_length=300)] | None = None


class VisitBody(Body):
    """POST /base/visits. Idempotent by ``uuid``."""

    uuid: UuidText
    resident_id: Id | None = None
    household_id: Id | None = None
    visited_at: DeviceTime | None = None
    device_time: DeviceTime | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    note: Annotated[Text, Field(max_length=4000)] | None = None
    findings: Annotated[Text, Field(max_length=4000)] | None = None
    photos: PhotoIds | None = None
    raise_case: RaiseCase | None = Field(None, description="report a case from this visit")


class VisitQuery(Query):
    resident: QId | None = None
    household: QId | None = None
    mine: QBool = False
    cursor: QId | None = None
    limit: Limit = 100


class DueQuery(Query):
    grid: GridCode | None = None


class ReadLogQuery(Query):
    resident: QId | None = None
    reader: QId | None = None
    cursor: QId | None = None
    limit: Limit = 100
