"""Response models of /api/v1/base (base data), for the OpenAPI document and the schemathesis
run. Identity numbers and phones are always masks in these answers (docs/base-data.md)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from server.api.edge import Out


class RegionRef(Out):
    id: int
    code: str
    name: str


class _Located(Out):
    grid_code: str | None
    community: RegionRef | None
    town: RegionRef | None


class BasePlace(_Located):
    id: int
    uuid: str
    kind: str
    parent_id: int | None
    name: str
    address: str
    lon: float | None
    lat: float | None
    footprint: dict[str, Any] | None
    version: int


class BaseHousehold(_Located):
    id: int
    uuid: str
    place_id: int
    number: str
    version: int


class BaseTag(Out):
    id: int
    kind_code: str
    level: int
    cycle: str | None
    version: int


class BaseResident(_Located):
    id: int
    uuid: str
    name: str
    id_number: str | None = Field(
        description="masked: 6401**********1234; null: a newborn registered without one yet"
    )
    sex: str
    birth_year: int = Field(
        description="the year only (with the mask, a full date would tell the number)"
    )
    age: int
    phone: str | None = Field(description="masked: 138****5678")
    registration: str
    relation: str
    household_id: int | None
    status: str
    version: int
    tags: list[BaseTag]


class BaseKind(Out):
    id: int
    code: str
    name: str
    sensitive: bool
    levels: list[dict[str, Any]]
    version: int


class BaseVocabulary(Out):
    kinds: list[BaseKind]


class KindAnswer(Out):
    kind: BaseKind


class PlacePage(Out):
    items: list[BasePlace]
    next_cursor: int | None


class PlaceAnswer(Out):
    place: BasePlace


class PlaceDetail(Out):
    place: BasePlace
    children: list[BasePlace]
    households: list[BaseHousehold]


class HouseholdPage(Out):
    items: list[BaseHousehold]
    next_cursor: int | None


class HouseholdAnswer(Out):
    household: BaseHousehold


class HouseholdDetail(Out):
    household: BaseHousehold
    members: list[BaseResident]


class ResidentPage(Out):
    items: list[BaseResident]
    next_cursor: int | None


class ResidentAnswer(Out):
    resident: BaseResident


class LifeEventOut(Out):
    id: int
    uuid: str
    kind: str
    occurred_on: str
    household_id: int | None


class ResidentDetail(Out):
    resident: BaseResident
    residences: list[dict[str, Any]]
    events: list[LifeEventOut]


class EventAnswer(Out):
    event: LifeEventOut
    resident: BaseResident


class Revealed(Out):
    id_number: str | None = None
    phone: str | None = None


class TagAnswer(Out):
    tag: BaseTag


class LevelRequestOut(Out):
    id: int
    tag_id: int
    from_level: int
    to_level: int
    status: str


class LevelRequestAnswer(Out):
    request: LevelRequestOut


class LevelRequestPage(Out):
    items: list[LevelRequestOut]


class LevelDecision(Out):
    request: LevelRequestOut
    tag: BaseTag


class BaseOrganisation(_Located):
    id: int
    uuid: str
    name: str
    credit_code: str | None
    kind: str
    contact_phone: str | None = Field(description="masked")
    version: int


class OrganisationPage(Out):
    items: list[BaseOrganisation]
    next_cursor: int | None


class OrganisationAnswer(Out):
    organisation: BaseOrganisation


class BaseVisit(Out):
    id: int
    uuid: str
    resident_id: int | None
    household_id: int | None
    visited_at: str
    lon: float | None = Field(
        None,
        description="where the visitor stood: only for the visitor and the supervisors in "
        "jurisdiction, else null (policy.may_see_visit_position)",
    )
    lat: float | None = Field(None, description="as lon")
    case_id: int | None
    photos: list[str]


class VisitAnswer(Out):
    visit: BaseVisit


class VisitPage(Out):
    items: list[BaseVisit]
    next_cursor: int | None


class DueCounts(Out):
    due: int = Field(description="本周应访 (due, done and overdue)")
    done: int = Field(description="已访")
    overdue: int = Field(description="逾期")


class DueWeek(Out):
    week: dict[str, str]
    counts: DueCounts
    items: list[dict[str, Any]]


class OfflineBundle(Out):
    generated_at: str
    grids: list[str]
    places: list[BasePlace]
    households: list[BaseHousehold]
    residents: list[dict[str, Any]]
    due: DueWeek
    kinds: list[BaseKind]


class ReadEntry(Out):
    id: int
    at: str
    actor: dict[str, Any]
    actor_role: str
    resident_id: int | None
    subject: dict[str, Any] | None = Field(
        None, description="the grid worker whose patrol tracks were read (purpose track)"
    )
    purpose: str
    endpoint: str
    reason: str
    fields: str = Field("", description='what was read; a track read: "track YYYY-MM-DD"')


class ReadPage(Out):
    items: list[ReadEntry]
    next_cursor: int | None


class GridOverview(Out):
    grid_code: str | None
    community: RegionRef | None
    households: int
    residents: int
    registered: int
    floating: int
    key_groups: int
    key_groups_by_kind: dict[str, dict[str, int]] = Field(
        description="kind code → level → residents"
    )
    visits_due: int = Field(description="本周应访 (due, done and overdue)")
    visits_done: int
    visits_overdue: int


class BaseOverview(Out):
    items: list[GridOverview]
    totals: dict[str, int]
