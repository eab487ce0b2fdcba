"""Response models of /api/v1: the shapes the views answer with (docs/api.md).

Views build plain dicts (``server.api.serialize``, the use cases); these models describe them
for the generated OpenAPI document, and the schemathesis run in ``tests/api`` checks every
answer against them. Extra keys are allowed (a client ignores what it does not know); the keys
named here are promised, with their types.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from server.api.edge import Out
from server.api.inputs import ActionName, Card, Light, Rating, Role, Source, Stage, State, Urgency

Ident = int
NullableStr = str | None


class Error(Out):
    """Every error: a stable code, a bilingual message, the bad fields."""

    error: str = Field(description="stable machine code, e.g. validation_failed")
    message: str = Field(description="中文 / English")
    fields: dict[str, str] | None = Field(None, description="field → problem")


class Ref(Out):
    id: Ident
    code: str | None = None
    name: str | None = None


class CentreRef(Out):
    """A command centre (a region with dispatchers, DESIGN §9)."""

    id: Ident
    code: str
    name: str
    level: Literal["city", "county", "town"]


class UserRef(Out):
    id: Ident
    display_name: str


class CaseStage(Out):
    """The stage a case is in (受理/派遣/处置/核查), its clock, traffic light and card."""

    stage: Stage
    label: str
    label_en: str
    started_at: str | None
    due_at: str | None
    natural_time: bool = Field(description="the limit counts natural time (else office time)")
    used: float | None = Field(description="share of the limit used (1.0 at the due time)")
    light: Light | None = Field(
        description="green under 80% of the limit, yellow to 100%, red past it"
    )
    card: Card | None = Field(description="督办 card raised by the sweep")
    card_label: str | None


class Case(Out):
    id: Ident
    uuid: str
    number: str
    state: State
    version: int
    source: Source
    category: Ref | None
    description: str | None
    address: str | None
    lon: float | None
    lat: float | None
    accuracy_m: float | None
    location_status: str
    grid: Ref | None
    community: Ref | None
    town: Ref | None
    centre: CentreRef | None = Field(description="the command centre holding the case now")
    copied_departments: list[Ref] = Field(description="departments the case was copied to (抄告)")
    centres_below: list[CentreRef] = Field(
        description="the centres you may devolve the case to (when devolve is offered)"
    )
    reporter: UserRef | None
    caller_name: str | None = Field(description="masked unless your role needs it")
    caller_phone: str | None = Field(description="masked 138****1234 unless your role needs it")
    urgency: Urgency
    department: Ref | None
    deadline_at: str | None
    fixed_deadline_at: str | None = Field(
        None, description="a deadline set from outside (filing or dispatch): overrides the limit"
    )
    stage: CaseStage | None = Field(None, description="null when suspended or finished")
    overdue: bool
    time_left_hours: float | None
    self_handled: bool
    pending_extension: dict[str, Any] | None
    last_rating: Rating | None
    duplicate_of: Ident | None
    duplicate_of_number: str | None = Field(description="the merged-into case's number")
    photo_count: int
    thumb_url: str | None
    reported_at: str | None
    created_at: str | None
    updated_at: str | None
    allowed_actions: list[ActionName] = Field(
        description="the actions you may take on the case now (server/usecases/policy.py)"
    )
    allowed_next: dict[State, list[ActionName]] = Field(
        description="for each state an allowed action leads to, the actions allowed there "
        "(the field app offers these after actions queued offline)"
    )


class Photo(Out):
    uuid: str
    url: str
    thumb_url: str
    width: int | None = None
    height: int | None = None
    captured_at: str | None = Field(None, description="the phone's capture moment, as stated")
    watermarked: bool = Field(False, description="the app drew its watermark (else 无水印)")
    source: Literal["field", "desk"] | None = Field(
        None, description="uploaded from the phone (field) or the console (desk); null: not stated"
    )
    captured_lon: float | None = Field(None, description="only for those who see capture points")
    captured_lat: float | None = None


class Event(Out):
    id: Ident
    uuid: str | None
    action: ActionName
    actor: UserRef | None
    actor_role: str | None
    from_state: State | None
    to_state: State | None
    created_at: str
    device_time: str | None
    note: str | None
    data: dict[str, Any] | None
    lon: float | None
    lat: float | None
    photos: list[Photo]


class CaseAnswer(Out):
    case: Case
    event: Event | None = None


class Conflict(Error):
    case: Case | None = Field(None, description="the case as it is now")


class CasePage(Out):
    items: list[Case]
    next_cursor: str | None
    counts: dict[str, int] | None = Field(None, description="with counts=1")


class CaseDetail(Out):
    case: Case
    events: list[Event]
    photos: list[Photo]
    allowed_actions: list[ActionName]
    duplicates: list[Case]


class Changes(Out):
    cursor: str
    items: list[Case]
    retry_after: int | None = Field(
        None, description="seconds to wait before polling again (the server refused a wait)"
    )


class Upload(Out):
    uuid: str
    status: str
    received_bytes: int
    total_bytes: int | None = None
    captured_at: str | None = None
    watermarked: bool = False
    source: Literal["field", "desk"] | None = None
    width: int | None = None
    height: int | None = None
    url: str | None = None
    thumb_url: str | None = None


class Region(Out):
    id: Ident
    code: str
    name: str
    level: str


class Regions(Out):
    items: list[dict[str, Any]]


class Label(Out):
    zh: str
    en: str


class RuleRow(Out):
    action: ActionName
    label_zh: str
    label_en: str
    roles: list[Role]
    from_states: list[State] | None
    to_state: State | None
    requires: list[str]
    optional: list[str]
    decision: str | None
    fail_to_state: State | None
    requires_on_fail: list[str]
    restores_previous: bool
    by_system: bool = Field(False, description="the system takes it too (the 督办 sweep)")


class Workflow(Out):
    """The vocabulary (server/domain/vocabulary.py) with its labels, and the workflow table:
    the apps label every state, action, role, rating, urgency and source from here."""

    states: dict[State, Label]
    actions: dict[ActionName, Label]
    roles: dict[Role, Label]
    ratings: dict[Rating, Label]
    urgencies: dict[Urgency, Label]
    sources: dict[Source, Label]
    stages: dict[Stage, Label]
    lights: dict[Light, Label]
    cards: dict[Card, Label]
    open_states: list[State]
    levels: dict[str, Label] = Field(description="levels of command: city, county, town, community")
    rules: list[RuleRow]


class AuthUser(Out):
    id: Ident
    username: str
    display_name: str
    role: Role
    region_id: Ident | None
    department_id: Ident | None
    grid_codes: list[str]


class SignedIn(Out):
    user: AuthUser
    csrf_token: str


class CsrfToken(Out):
    csrf_token: str


class Ok(Out):
    ok: bool


class Bootstrap(Out):
    user: AuthUser
    csrf_token: str
    categories: list[dict[str, Any]]
    departments: list[dict[str, Any]]
    workflow: Workflow
    config: dict[str, Any]


class GridCollection(Out):
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]]


# --- metrics -----------------------------------------------------------------------------------


class Period(Out):
    from_: str = Field(alias="from")
    to: str


class Metrics(Out):
    period: Period
    as_of: str
    scope: Any
    by: str | None
    total: dict[str, Any]
    groups: list[dict[str, Any]]


class MetricDefinitions(Out):
    metrics: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    groupings: list[dict[str, Any]]
    scopes: list[str]
    scorecards: dict[str, Any]
    scorecard_kinds: list[dict[str, Any]]


class MetricCases(Out):
    period: Period
    metric: str
    part: str
    count: int | float | None
    total_items: int
    offset: int
    limit: int
    items: list[dict[str, Any]]


class MetricRecords(Out):
    period: Period
    kind: str
    subject: int
    metric: str
    part: str
    counted: str
    count: int | float | None
    total_items: int
    offset: int
    limit: int
    items: list[dict[str, Any]]


class Scorecards(Out):
    period: Period
    kind: str
    config: dict[str, Any]
    items: list[dict[str, Any]]


class ScorecardConfig(Out):
    pass


# --- admin -------------------------------------------------------------------------------------


class Department(Out):
    id: Ident
    code: str
    name: str
    active: bool


class Departments(Out):
    items: list[Department]


class RoutingRule(Out):
    id: Ident
    category_id: Ident
    category_code: str | None
    category_name: str | None
    urgency: Urgency
    level: Literal["city", "county", "town"]
    level_label: str
    copy_department_ids: list[Ident]
    enabled: bool
    updated_at: str | None
    updated_by_id: Ident | None


class RoutingRules(Out):
    items: list[RoutingRule]


class RoutingRuleAnswer(Out):
    rule: RoutingRule


class DepartmentAnswer(Out):
    department: Department


class Category(Out):
    id: Ident
    code: str
    name: str
    active: bool


class Categories(Out):
    items: list[Category]


class CategoryAnswer(Out):
    category: Category


class StageLimit(Out):
    id: Ident
    category_code: str = Field(description='"" for every category')
    urgency: Urgency
    level: str = Field(description='"" for every level')
    stage: Stage
    limit_value: float
    limit_unit: str


class StageLimitAnswer(Out):
    limit: StageLimit


class CardThreshold(Out):
    stage: Stage
    yellow_days: int
    red_days: int
    stored: bool = Field(description="false: the built-in default")


class CardThresholds(Out):
    thresholds: list[CardThreshold]


class StageLimits(Out):
    items: list[StageLimit]
    defaults: list[dict[str, Any]]
    thresholds: list[CardThreshold]
    levels: list[str]
    units: list[str]


class AdminUser(Out):
    id: Ident
    username: str
    display_name: str
    role: str
    active: bool


class UserPage(Out):
    items: list[AdminUser]
    next_cursor: str | None


class UserAnswer(Out):
    user: AdminUser


class UserUpdate(Out):
    user: AdminUser
    sessions_ended: bool


class AdminGrids(Out):
    pass


class Plan(Out):
    id: Ident
    status: str


class Plans(Out):
    items: list[Plan]


class PlanDetail(Out):
    plan: Plan | None = None


class PlanAnswer(Out):
    plan: Plan


class PlanUpload(Out):
    plan: Plan
    report: dict[str, Any]


class PlanInvalid(Error):
    report: dict[str, Any]


# --- the statutory calendar --------------------------------------------------------------------


class CalendarOverview(Out):
    today: str
    warnings: list[Any]
    years: list[dict[str, Any]]


class CalendarDay(Out):
    date: str
    name: str


class CalendarYear(Out):
    year: int
    source: str
    known: bool
    holidays: list[CalendarDay]
    workdays: list[CalendarDay]
    updated_at: str | None
    updated_by: str | None


class CalendarChanges(Out):
    items: list[dict[str, Any]]


# Responses that are not JSON: (media type, JSON Schema).
FILES: dict[str, tuple[str, dict[str, Any]]] = {
    "JPEG": ("image/jpeg", {"type": "string", "format": "binary"}),
    "XLSX": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        {"type": "string", "format": "binary"},
    ),
    "CSV": ("text/csv", {"type": "string"}),
    # Server-Sent Events, each event described (OpenAPI before 3.2: the schema is one event):
    # `changes` carries a Changes object as its data (server/api/streams.py); `: ping`
    # comments carry no event
    "ChangeStream": (
        "text/event-stream",
        {
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"enum": ["changes", "signed_out"]},
                "id": {"type": "string", "description": "the cursor (changes)"},
                "retry": {"type": "integer"},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "description": "changes: a Changes object; signed_out: {}",
                },
            },
        },
    ),
}
MEDIA_TYPES: dict[str, str] = {"GridCollection": "application/geo+json"}


# Base data (/api/v1/base): server/api/base_outputs.py
from server.api.base_outputs import (  # noqa: E402, F401
    BaseOverview,
    BaseVocabulary,
    DueWeek,
    EventAnswer,
    HouseholdAnswer,
    HouseholdDetail,
    HouseholdPage,
    KindAnswer,
    LevelDecision,
    LevelRequestAnswer,
    LevelRequestPage,
    OfflineBundle,
    OrganisationAnswer,
    OrganisationPage,
    PlaceAnswer,
    PlaceDetail,
    PlacePage,
    ReadPage,
    ResidentAnswer,
    ResidentDetail,
    ResidentPage,
    Revealed,
    TagAnswer,
    VisitAnswer,
    VisitPage,
)

# --- base data in and out (server/api/base_io.py) ----------------------------------------------


class AddressHit(Out):
    place: dict[str, Any]
    grid: dict[str, Any] | None
    community: dict[str, Any] | None
    town: dict[str, Any] | None


class AddressHits(Out):
    items: list[AddressHit]
    tokens: list[str]
    truncated: bool


class ImportRowError(Out):
    row: int
    column: str
    message: str


class ImportSummary(Out):
    kind: str
    file_kind: str
    encoding: str | None
    encoding_label: str
    store: str
    rows: int
    valid: int
    invalid: int
    stored: int
    created: dict[str, int]
    errors: list[ImportRowError]
    errors_total: int


class ImportAnswer(Out):
    import_: ImportSummary = Field(alias="import")


# Check-ins and work logs (/api/v1/check-ins, /api/v1/work-logs): server/api/check_in_outputs.py
from server.api.check_in_outputs import (  # noqa: E402, F401
    CheckIn,
    CheckInPage,
    WorkLog,
    WorkLogComment,
    WorkLogList,
)

# Patrols and tracks (/api/v1/patrols, /api/v1/workers/<id>/day): server/api/patrol_io.py
from server.api.patrol_io import (  # noqa: E402, F401
    PatrolAnswer,
    TrackChunkAnswer,
    WorkerDay,
)
