"""Request models of check-ins (/api/v1/check-ins) and work logs (/api/v1/work-logs)
(docs/field-work.md). Types, ranges and shapes only; the rules (the day, the grid, the reason,
who decides) are the use cases' and the domain's."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from server.api.base_inputs import Reason
from server.api.edge import (
    INT32_MAX,
    Body,
    Lat,
    Lon,
    Number,
    QId,
    Query,
    TolerantBody,
    UuidText,
    ascii_int,
)
from server.api.inputs import AwareDeviceTime, CheckInStatus, QDay

Accuracy = Annotated[Number, Field(ge=0, le=1_000_000)]


class CheckInBody(TolerantBody):
    """POST /check-ins: 签到 (today, with the position) or 补签 (a past day, with a reason).
    Sent from the phone's outbox: idempotent by ``uuid``."""

    uuid: UuidText = Field(description="client-generated; a replay returns the first result")
    at: AwareDeviceTime = Field(description="the phone's moment; its local date is the day")
    lon: Lon | None = None
    lat: Lat | None = None
    accuracy_m: Accuracy | None = None
    reason: Annotated[Reason, Field(max_length=500)] | None = Field(
        None, description="required for a past day (补签): two letters, digits or characters"
    )

    @model_validator(mode="after")
    def _both_or_neither(self) -> CheckInBody:
        if (self.lon is None) != (self.lat is None):
            missing = "lat" if self.lat is None else "lon"
            raise PydanticCustomError(
                "pair", "经纬度需成对填写 / lon and lat go together", {"field": missing}
            )
        return self


class CheckInQuery(Query):
    status: CheckInStatus | None = None
    day: QDay | None = Field(None, alias="date")
    worker_id: QId | None = None
    cursor: Annotated[int, Field(ge=0, le=INT32_MAX), BeforeValidator(ascii_int)] | None = None
    limit: Annotated[int, Field(ge=1, le=500), BeforeValidator(ascii_int)] = 100


class CheckInDecisionBody(Body):
    """A supervisor's decision, from the console (online): an unknown field is refused."""

    decision: Literal["approve", "reject"]
    note: Annotated[Reason, Field(max_length=1000)] | None = None


class WorkLogQuery(Query):
    day: QDay = Field(alias="date")
    region_id: QId | None = None


class WorkLogCommentBody(Body):
    """A supervisor's comment, from the console (online): an unknown field is refused."""

    uuid: UuidText
    text: Annotated[Reason, Field(min_length=1, max_length=2000)]
