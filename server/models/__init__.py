"""SQLAlchemy models. Importing this package registers every table on ``Base.metadata``."""

from server.models.address_index import AddressToken
from server.models.base import Base
from server.models.base_data import (
    Household,
    KeyGroupKindRow,
    KeyGroupTag,
    LevelRequest,
    LifeEvent,
    Organisation,
    PersonalDataRead,
    Place,
    Residence,
    Resident,
    Visit,
)
from server.models.calendar import CalendarChange, CalendarEntry, CalendarYear
from server.models.cases import Attachment, CaseCopy, Incident, IncidentEvent, Rating
from server.models.catalog import Category
from server.models.epochs import CacheEpoch
from server.models.fieldwork import CheckIn, Patrol, TrackChunk, TrackPoint, WorkLogComment
from server.models.geography import DUTIES, Grid, GridAssignment, GridPlan, Region
from server.models.metric_events import MetricEvent
from server.models.open311 import ApiKey, Open311Request
from server.models.people import Department, LoginAttempt, SignIn, User
from server.models.routing import RoutingRule
from server.models.scorecard_configs import ScorecardConfig
from server.models.stages import CardThresholdRow, StageLimitRow

__all__ = [
    "DUTIES",
    "AddressToken",
    "ApiKey",
    "Attachment",
    "Base",
    "CacheEpoch",
    "CalendarChange",
    "CalendarEntry",
    "CalendarYear",
    "CardThresholdRow",
    "CaseCopy",
    "Category",
    "CheckIn",
    "Department",
    "Grid",
    "GridAssignment",
    "GridPlan",
    "Household",
    "Incident",
    "IncidentEvent",
    "KeyGroupKindRow",
    "KeyGroupTag",
    "LevelRequest",
    "LifeEvent",
    "LoginAttempt",
    "MetricEvent",
    "Open311Request",
    "Organisation",
    "Patrol",
    "PersonalDataRead",
    "Place",
    "Rating",
    "Region",
    "Residence",
    "Resident",
    "RoutingRule",
    "ScorecardConfig",
    "SignIn",
    "StageLimitRow",
    "TrackChunk",
    "TrackPoint",
    "User",
    "Visit",
    "WorkLogComment",
]
