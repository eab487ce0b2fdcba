"""Request models of /api/v1: what each endpoint accepts (query strings and JSON bodies).

Parsed by :func:`server.api.edge.operation`; the OpenAPI document is generated from them.
Domain rules (a category exists, a transition is allowed, a role needs a region) stay in the
use cases; these models settle types, ranges and shapes.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from server.api.edge import (
    INT32_MAX,
    INT64_MAX,
    Body,
    Id,
    Lat,
    Lon,
    LooseNumber,
    Number,
    QBool,
    QId,
    Query,
    Text,
    TolerantBody,
    UuidText,
    ascii_int,
    ascii_number,
    finite,
)
from server.domain.fields import Rating as RatingName
from server.domain.fields import Urgency as UrgencyName
from server.domain.fieldwork import CheckInStatus as CheckInStatusName
from server.domain.scorecards import ScorecardKind
from server.domain.sources import Source as SourceName
from server.domain.stages import Card as CardName
from server.domain.stages import Light as LightName
from server.domain.stages import Stage as StageName
from server.domain.vocabulary import names
from server.domain.workflow import Action
from server.domain.workflow import Role as RoleName
from server.domain.workflow import State as StateName
from server.domain.years import MAX_YEAR, MIN_YEAR

# Dates the system can hold (server.domain.years): a case, a period or a moment outside these
# years is a typo, and the calendar arithmetic (time zones, ±1 day) must never reach year 1 or
# 9999.


def _date_in_range(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise PydanticCustomError(
            "date_range", f"日期应在 {MIN_YEAR}–{MAX_YEAR} 年 / a date in {MIN_YEAR}-{MAX_YEAR}"
        )
    return value


QDay = Annotated[date, AfterValidator(_date_in_range)]


def _moment_text(value: str) -> str:
    """An ISO 8601 moment (with an offset) in the years above; kept as the client wrote it."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise PydanticCustomError("datetime", "应为 ISO 8601 时间 / an ISO 8601 moment") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise PydanticCustomError(
            "date_range", f"时间应在 {MIN_YEAR}–{MAX_YEAR} 年 / a moment in {MIN_YEAR}-{MAX_YEAR}"
        )
    return value


Moment = Annotated[Text, Field(max_length=40), AfterValidator(_moment_text)]
DeviceTime = Annotated[
    Text,
    Field(max_length=40, json_schema_extra={"format": "date-time"}),
    AfterValidator(_moment_text),
]


def _with_offset(value: str) -> str:
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PydanticCustomError("datetime", "需带时区（如 +08:00）/ needs an offset, e.g. +08:00")
    return value


#: A phone's moment that must say its zone (a check-in's day, a photo's capture time).
AwareDeviceTime = Annotated[DeviceTime, AfterValidator(_with_offset)]
RegionCode = Annotated[Text, Field(pattern=r"^[0-9]{6}([0-9]{3}){0,2}$")]
GridCode = Annotated[Text, Field(pattern=r"^[0-9]{15}$")]


def _member_of(enum: type[StrEnum]) -> AfterValidator:
    allowed = names(enum)
    expected = ", ".join(repr(v) for v in allowed)

    def check(value: str) -> str:
        if value not in allowed:
            raise PydanticCustomError(
                "literal_error", "Input should be {expected}", {"expected": expected}
            )
        return value

    return AfterValidator(check)


def _enum_schema(enum: type[StrEnum]) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(names(enum))})


# The vocabulary (server/domain/vocabulary.py) as request and answer fields: plain strings, one
# of the domain's names; the OpenAPI document lists them as enums.
Urgency = Annotated[str, _member_of(UrgencyName), _enum_schema(UrgencyName)]
Rating = Annotated[str, _member_of(RatingName), _enum_schema(RatingName)]
State = Annotated[str, _member_of(StateName), _enum_schema(StateName)]
Source = Annotated[str, _member_of(SourceName), _enum_schema(SourceName)]
ActionName = Annotated[str, _member_of(Action), _enum_schema(Action)]
Role = Annotated[str, _member_of(RoleName), _enum_schema(RoleName)]
Stage = Annotated[str, _member_of(StageName), _enum_schema(StageName)]
Light = Annotated[str, _member_of(LightName), _enum_schema(LightName)]
Card = Annotated[str, _member_of(CardName), _enum_schema(CardName)]
CheckInStatus = Annotated[str, _member_of(CheckInStatusName), _enum_schema(CheckInStatusName)]
PhotoIds = Annotated[list[UuidText], Field(max_length=20)]


# --- cases -------------------------------------------------------------------------------------


class ReportBody(TolerantBody):
    """POST /cases: 上报 (or 自行处置 with ``self_handle: true``). Idempotent by ``uuid``."""

    uuid: UuidText = Field(description="client-generated; a replay returns the first result")
    category_id: Id | None = None
    category_code: Annotated[Text, Field(pattern=r"^[0-9]{4}$")] | None = None
    description: Annotated[Text, Field(max_length=4000)] | None = None
    lon: Lon | None = None
    lat: Lat | None = None
    accuracy_m: Annotated[Number, Field(ge=0, le=1_000_000)] | None = None
    address: Annotated[Text, Field(max_length=300)] | None = None
    photos: PhotoIds | None = None
    device_time: DeviceTime | None = None
    urgency: Urgency | None = None
    self_handle: bool | None = None
    source: Source | None = None
    caller_name: Annotated[Text, Field(max_length=100)] | None = None
    caller_phone: Annotated[Text, Field(max_length=32)] | None = None
    contact_email: Annotated[Text, Field(max_length=200)] | None = None
    deadline: Annotated[Text, Field(max_length=40)] | None = Field(
        None,
        description="an explicit deadline for handling, applied at dispatch: ISO 8601 with an "
        "offset, in the future; overrides the category's limit (a 12345 ticket's 办理时限)",
    )


class ActionBody(TolerantBody):
    """POST /cases/{case_id}/actions: one action. Idempotent by ``uuid``."""

    uuid: UuidText
    action: ActionName
    version: Annotated[int, Field(ge=0, le=INT32_MAX)] | None = Field(
        None, description="the version the client saw: another one is a 409"
    )
    note: Annotated[Text, Field(max_length=4000)] | None = None
    reason: Annotated[Text, Field(max_length=2000)] | None = None
    passed: bool | None = None
    approved: bool | None = None
    department_id: Id | None = None
    urgency: Urgency | None = None
    rating: Rating | None = None
    duplicate_of: Id | None = None
    grid_code: GridCode | None = Field(None, description="assign_grid: the grid to put the case on")
    deadline: Annotated[Text, Field(max_length=40)] | None = Field(
        None,
        description="dispatch: an explicit deadline, ISO 8601 with an offset, in the future; "
        "overrides the category's limit (a leader's date)",
    )
    centre_id: Id | None = Field(None, description="devolve: the centre below to pass the case to")
    department_ids: Annotated[list[Id], Field(min_length=1, max_length=20)] | None = Field(
        None, description="copy: the departments to copy the case to (抄告)"
    )
    hours: Annotated[Number, Field(gt=0, le=8760)] | None = None
    days: Annotated[int, Field(ge=1, le=365)] | None = None
    photos: PhotoIds | None = None
    device_time: DeviceTime | None = None
    lon: Lon | None = None
    lat: Lat | None = None


def _states(value: list[str]) -> list[str]:
    out: list[str] = []
    allowed = set(names(StateName))
    for raw in value:
        for part in raw.split(","):
            if part and part not in allowed:
                raise PydanticCustomError("state", "未知状态 / unknown state")
            if part:
                out.append(part)
    return out


class CaseListQuery(Query):
    """GET /cases."""

    state: Annotated[list[Text], AfterValidator(_states)] = Field(
        default_factory=list, description="states, repeated or comma separated"
    )
    region: RegionCode | None = None
    grid: Annotated[Text, Field(max_length=32)] | None = None
    department: QId | None = None
    category: Annotated[Text, Field(pattern=r"^[0-9]{2}([0-9]{2})?$")] | None = None
    source: Source | None = None
    urgency: Urgency | None = None
    overdue: QBool = False
    off_grid: QBool = Field(False, description="only cases outside every grid (no grid yet)")
    q: Annotated[Text, Field(max_length=100)] | None = None
    date_from: QDay | None = Field(None, alias="from")
    date_to: QDay | None = Field(None, alias="to")
    mine: QBool = False
    held: QBool = Field(
        False, description="dispatchers, supervisors: only the cases your centre holds"
    )
    bbox: (
        Annotated[
            Text,
            Field(
                pattern=r"^-?[0-9]{1,3}(\.[0-9]+)?(,-?[0-9]{1,3}(\.[0-9]+)?){3}$",
                description="min_lon,min_lat,max_lon,max_lat",
            ),
        ]
        | None
    ) = None
    sort: Literal["-created_at", "created_at", "-updated_at", "deadline_at"] = "-created_at"
    cursor: Annotated[Text, Field(max_length=200)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000), BeforeValidator(ascii_int)] = 50
    counts: QBool = False

    @model_validator(mode="after")
    def _order(self) -> CaseListQuery:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise PydanticCustomError("range", "to 早于 from / to is before from", {"field": "to"})
        return self

    def bbox_tuple(self) -> tuple[float, float, float, float] | None:
        if not self.bbox:
            return None
        x0, y0, x1, y1 = (float(v) for v in self.bbox.split(","))
        if x0 > x1 or y0 > y1 or not all(-180 <= x <= 180 for x in (x0, x1)):
            raise _query_error("bbox", "min_lon,min_lat,max_lon,max_lat")
        if not all(-90 <= y <= 90 for y in (y0, y1)):
            raise _query_error("bbox", "min_lon,min_lat,max_lon,max_lat")
        return x0, y0, x1, y1


def _query_error(name: str, reason: str) -> Any:
    from server.errors import ApiError

    return ApiError(400, "validation_failed", f"输入有误 / invalid input: {name}", {name: reason})


class StreamQuery(Query):
    """GET /changes/stream: Server-Sent Events."""

    after: Annotated[int, Field(ge=0, le=INT64_MAX), BeforeValidator(ascii_int)] | None = Field(
        None,
        description="the cursor of the last frame received; absent: start from the current "
        "cursor (the first frame has no items)",
    )


class ChangesQuery(Query):
    """GET /changes: long poll."""

    after: Annotated[int, Field(ge=0, le=INT64_MAX), BeforeValidator(ascii_int)] | None = Field(
        None, description="the cursor of the last answer; absent: the current cursor, at once"
    )
    wait: Annotated[
        float, Field(ge=0, le=60), AfterValidator(finite), BeforeValidator(ascii_number)
    ] = Field(
        20,
        description="seconds to wait for a change; the server waits at most "
        "WANGGE_LONG_POLL_SECONDS (default 25, at most 60), and not at all beyond 2 waiting polls "
        "per user or 500 per process (it answers at once; poll again)",
    )


class GridsQuery(Query):
    region: RegionCode | None = None
    zoom: Annotated[int, Field(ge=0, le=22), BeforeValidator(ascii_int)] | None = None
    mine: QBool = False


class RegionsQuery(Query):
    parent: RegionCode | None = None


class RegionShapesQuery(Query):
    level: Annotated[
        Text,
        Field(pattern=r"^(county|town|community)(,(county|town|community))*$"),
    ] = Field("county,town,community", description="levels, comma separated")


class UploadBody(TolerantBody):
    """POST /uploads: start (or resume) a photo upload. Phones queue it offline, so it is
    tolerant like a report; the file's own name is informational and not stored."""

    uuid: UuidText
    total_bytes: Annotated[int, Field(ge=1, le=INT32_MAX)]
    filename: Annotated[Text, Field(max_length=255)] | None = None
    # Photo evidence (docs/field-work.md): what the phone states about the picture. An old app
    # sends none of these: the photo is kept, marked without watermark (无水印).
    captured_at: AwareDeviceTime | None = Field(None, description="the phone's moment of capture")
    lon: Lon | None = Field(None, description="where it was taken (WGS 84)")
    lat: Lat | None = None
    accuracy_m: Annotated[Number, Field(ge=0, le=1_000_000)] | None = None
    watermarked: bool | None = Field(
        None, description="the app drew the watermark (time, place, grid, worker) on it"
    )
    source: Literal["field", "desk"] | None = Field(
        None,
        description="where it is uploaded from: field (the phone) or desk (the console, no "
        "watermark expected); an old app states none",
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> UploadBody:
        if (self.lon is None) != (self.lat is None):
            missing = "lat" if self.lat is None else "lon"
            raise PydanticCustomError(
                "pair", "经纬度需成对填写 / lon and lat go together", {"field": missing}
            )
        return self


class PieceQuery(Query):
    offset: Annotated[int, Field(ge=0, le=INT32_MAX), BeforeValidator(ascii_int)]


# --- sign-in (parsed by server.api.auth itself; described here) ----------------------------


class LoginBody(Body):
    username: Annotated[Text, Field(max_length=64)]
    password: Annotated[Text, Field(max_length=256)]
    remember: bool = True


class LogoutBody(Body):
    everywhere: bool = Field(False, description="end every sign-in of the user")


# --- metrics -----------------------------------------------------------------------------------

ScopeText = Annotated[
    Text,
    Field(
        pattern=r"^\s*(region|grid|department|category|worker):[0-9A-Za-z_.-]{1,40}\s*"
        r"(,\s*(region|grid|department|category|worker):[0-9A-Za-z_.-]{1,40}\s*)*$",
        description="kind:value, e.g. region:640181 or worker:12",
    ),
]


class MetricsParams(Query):
    """The period, scope and grouping every metrics endpoint reads (docs/metrics.md)."""

    error_codes: ClassVar[dict[str, str]] = {
        "from": "invalid_date",
        "to": "invalid_date",
        "period": "invalid_date",
        "as_of": "invalid_as_of",
        "scope": "invalid_scope",
        "by": "invalid_by",
        "metric": "unknown_metric",
        "part": "invalid_part",
        "group": "unknown_group",
        "kind": "invalid_kind",
        "report": "validation_failed",
    }

    scope: list[ScopeText] = Field(default_factory=list)
    date_from: QDay | None = Field(None, alias="from")
    date_to: QDay | None = Field(None, alias="to")
    period: Annotated[Text, Field(pattern=r"^[0-9]{4}-[0-9]{2}$")] | None = None
    as_of: Annotated[Text, Field(max_length=40), AfterValidator(lambda v: _as_of(v))] | None = None
    by: Annotated[Text, Field(pattern=r"^[a-z_]{1,20}$")] | None = None
    group: Annotated[Text, Field(pattern=r"^[0-9A-Za-z_.-]{1,40}$")] | None = Field(
        None, description="one group of ``by`` (drill-down)"
    )

    @model_validator(mode="after")
    def _order(self) -> MetricsParams:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise PydanticCustomError(
                "range",
                "to 早于 from / to is before from",
                {"field": "to", "code": "invalid_period"},
            )
        if self.period and not MIN_YEAR <= int(self.period[:4]) <= MAX_YEAR:
            raise PydanticCustomError(
                "date_range", f"period: {MIN_YEAR}-{MAX_YEAR}", {"field": "period"}
            )
        return self

    def args(self) -> dict[str, str | None]:
        """As the metrics service reads them (strings)."""
        return {
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "period": self.period,
            "as_of": self.as_of,
            "by": self.by,
            "group": self.group,
        }


def _as_of(value: str) -> str:
    """A date or a moment; far future years are left to the domain ("as_of_in_future")."""
    raw = value.strip()
    try:
        if len(raw) == 10:
            moment = datetime.combine(date.fromisoformat(raw), datetime.min.time())
        else:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise PydanticCustomError(
            "datetime", "应为日期或 ISO 8601 时间 / a date or moment"
        ) from None
    if not MIN_YEAR <= moment.year <= 9000:
        raise PydanticCustomError("date_range", f"as_of: {MIN_YEAR}-9000")
    return value


class MetricsCasesQuery(MetricsParams):
    metric: Annotated[Text, Field(pattern=r"^[a-z_0-9]{1,60}$")]
    part: Literal["numerator", "denominator"] = "numerator"
    offset: Annotated[int, Field(ge=0, le=10**9), BeforeValidator(ascii_int)] = 0
    limit: Annotated[int, Field(ge=1, le=1000), BeforeValidator(ascii_int)] = 100


# the domain's scorecard kinds (server/domain/scorecards.py), and the export's reports
ExportReport = Literal["metrics", ScorecardKind]


class KindQuery(Query):
    error_codes: ClassVar[dict[str, str]] = {"kind": "invalid_kind"}
    kind: ScorecardKind = "department"


class ScorecardsQuery(MetricsParams):
    kind: ScorecardKind = "department"


class ExportQuery(MetricsParams):
    report: ExportReport = "metrics"


class RecordsQuery(MetricsParams):
    """The records behind one assessment indicator of one person (``subject``: a user id)."""

    kind: ScorecardKind = "worker"
    subject: Annotated[int, Field(ge=1, le=999_999_999), BeforeValidator(ascii_int)]
    metric: Annotated[Text, Field(pattern=r"^[a-z_0-9]{1,60}$")]
    part: Literal["numerator", "denominator"] = "numerator"
    offset: Annotated[int, Field(ge=0, le=10**9), BeforeValidator(ascii_int)] = 0
    limit: Annotated[int, Field(ge=1, le=1000), BeforeValidator(ascii_int)] = 100


class ScorecardConfigBody(Body):
    """A scorecard configuration (docs/metrics.md): weights, targets and grade bands."""

    model_config = Body.model_config | {"extra": "allow"}


# --- admin -------------------------------------------------------------------------------------

Name = Annotated[Text, Field(max_length=200)]


class NewDepartment(Body):
    code: Annotated[Text, Field(max_length=32)]
    name: Name
    region_code: RegionCode | None = None


class RoutingRuleBody(Body):
    """PUT /admin/routing-rules: one rule (越级) per category × urgency."""

    category_id: Id
    urgency: Urgency
    level: Literal["city", "county", "town"]
    copy_department_ids: Annotated[list[Id], Field(max_length=20)] | None = None
    enabled: bool | None = None


class DepartmentPatch(Body):
    name: Name | None = None
    active: bool | None = None


class NewCategory(Body):
    code: Annotated[Text, Field(pattern=r"^\s*[0-9]{2}([0-9]{2})?\s*$")]
    name: Name
    name_en: Name | None = None
    limit_value: LooseNumber | None = None
    limit_unit: Annotated[Text, Field(max_length=16)] | None = None
    urgent_hours: LooseNumber | None = None
    default_department_id: Id | None = None


class CategoryPatch(Body):
    name: Name | None = None
    name_en: Name | None = None
    limit_value: LooseNumber | None = None
    limit_unit: Annotated[Text, Field(max_length=16)] | None = None
    urgent_hours: LooseNumber | None = None
    default_department_id: Id | None = None
    active: bool | None = None


class StageLimitBody(Body):
    """One stage limit: category ("" every category) × urgency × level ("" every level) × stage."""

    category_code: Annotated[Text, Field(max_length=4)] | None = None
    urgency: Annotated[Text, Field(max_length=8)] | None = None
    level: Annotated[Text, Field(max_length=16)] | None = None
    stage: Annotated[Text, Field(max_length=16)] | None = None
    limit_value: LooseNumber | None = None
    limit_unit: Annotated[Text, Field(max_length=16)] | None = None


class CardThresholdsBody(Body):
    """``{stage: {yellow_days, red_days}}`` for the stages to change (docs/workflow.md)."""

    model_config = Body.model_config | {"extra": "allow"}


class UserQuery(Query):
    role: Role | None = None
    q: Annotated[Text, Field(max_length=100)] | None = None
    active: QBool | None = None
    department: QId | None = None
    region: RegionCode | None = None
    cursor: Annotated[int, Field(ge=0, le=INT32_MAX), BeforeValidator(ascii_int)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000), BeforeValidator(ascii_int)] = 50

    def filter_args(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.role:
            out["role"] = self.role
        if self.q:
            out["q"] = self.q
        if self.active is not None:
            out["active"] = "1" if self.active else "0"
        if self.department is not None:
            out["department"] = str(self.department)
        if self.region:
            out["region"] = self.region
        return out


class NewUser(Body):
    username: Annotated[Text, Field(max_length=64)]
    display_name: Name | None = None
    role: Role
    password: Annotated[Text, Field(max_length=256)]
    region_code: RegionCode | None = None
    department_id: Id | None = None
    phone: Annotated[Text, Field(max_length=32)] | None = None


class UserPatch(Body):
    display_name: Name | None = None
    role: Role | None = None
    region_code: RegionCode | None = None
    department_id: Id | None = None
    phone: Annotated[Text, Field(max_length=32)] | None = None
    active: bool | None = None
    password: Annotated[Text, Field(max_length=256)] | None = None


class Duty(Body):
    grid_code: GridCode
    duty: Literal["full_time", "part_time", "grid_leader", "instructor"]


class DutiesBody(Body):
    duties: Annotated[list[Duty], Field(max_length=500)]


class AdminGridsQuery(Query):
    region: RegionCode | None = None
    unstaffed: QBool = False
    q: Annotated[Text, Field(max_length=100)] | None = None


PLAN_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "GeoJSON, zip or GPKG"},
        "crs": {"type": "string", "description": "e.g. EPSG:4490 or CGCS2000 3-degree zone"},
        "gap_width": {"type": "string", "description": "metres, 0-50"},
        "make_valid": {"type": "string", "enum": ["0", "1"]},
        "renumber": {"type": "string", "enum": ["0", "1"], "description": "renumber bad codes"},
        "publish": {"type": "string", "enum": ["0", "1"]},
    },
}


# --- base data in and out (server/api/base_io.py) ----------------------------------------------


class AddressSearchQuery(Query):
    q: Annotated[Text, Field(min_length=1, max_length=200)] = Field(
        description='words, a building/room or a 门牌: "幸福路 12 号", "阳光小区 3栋 502"'
    )
    limit: Annotated[int, Field(ge=1, le=100), BeforeValidator(ascii_int)] = 20


class BaseExportQuery(Query):
    grid: Annotated[Text, Field(pattern=r"^[0-9]{15}$")] | None = None
    community: QId | None = Field(None, description="a community's region id")
    clear: QBool = Field(False, description="identity numbers and phones in clear (a reason)")
    reason: Annotated[Text, Field(max_length=200)] | None = None


IMPORT_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary", "description": ".xlsx or CSV"},
        "store": {
            "type": "string",
            "enum": ["all", "valid", "none"],
            "description": "all: only if every row is valid; valid: the valid rows (admins); "
            "none: check only",
        },
        "encoding": {"type": "string", "enum": ["utf-8", "gbk", "gb18030"]},
        "answer": {"type": "string", "enum": ["json", "xlsx"]},
    },
}
