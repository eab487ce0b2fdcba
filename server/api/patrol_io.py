"""Request and response models of /api/v1/patrols and /api/v1/workers/<id>/day (patrols and
GPS tracks, docs/field-work.md). The phone sends these bodies from its outbox, perhaps from an
older app version: unknown fields are ignored (``TolerantBody``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from server.api.edge import INT32_MAX, Lat, Lon, Out, Query, TolerantBody, UuidText
from server.api.inputs import DeviceTime, GridCode, QDay
from server.domain.tracks import MAX_POINTS

#: a position as the phone sends it: [t_ms, lon, lat, accuracy_m]; a value that is not a finite
#: number in range drops that position (reason ``bad_value``), not the chunk
TrackPoint = Annotated[
    list[Any],
    Field(
        json_schema_extra={
            "description": "[t_ms (Unix epoch ms), lon, lat, accuracy_m]",
            "items": {"type": "number"},
            "minItems": 4,
            "maxItems": 4,
        }
    ),
]


class PatrolStartBody(TolerantBody):
    """POST /patrols: a patrol starts (grid workers). Idempotent by ``uuid``."""

    uuid: UuidText
    started_at: DeviceTime
    lon: Lon | None = None
    lat: Lat | None = None
    grid_code: GridCode | None = None


class TrackChunkBody(TolerantBody):
    """POST /patrols/<uuid>/track: up to 2,000 positions. Idempotent by ``uuid``."""

    uuid: UuidText
    seq: Annotated[int, Field(ge=0, le=INT32_MAX, strict=True)]
    points: Annotated[list[TrackPoint], Field(max_length=MAX_POINTS)]


class PatrolEndBody(TolerantBody):
    """POST /patrols/<uuid>/end."""

    ended_at: DeviceTime


class DayQuery(Query):
    date: QDay


# --- answers ---------------------------------------------------------------------------------


class WorkerRef(Out):
    id: int
    name: str


class PatrolOut(Out):
    uuid: str
    worker: WorkerRef
    grid_code: str | None
    started_at: str
    ended_at: str | None
    points: int
    distance_m: float
    duration_s: int
    coverage: float | None = Field(description="share 0–1 of the worker's grids within 50 m")


class PatrolAnswer(Out):
    patrol: PatrolOut
    ended_previous: PatrolOut | None = None
    ended_also: list[PatrolOut] | None = Field(
        None, description="other open patrols this start ended (left open by an older version)"
    )
    notice: str | None = None


class DroppedPoint(Out):
    index: int
    reason: str


class TrackChunkAnswer(Out):
    chunk: str
    seq: int
    accepted: int
    dropped: list[DroppedPoint]
    patrol: PatrolOut


class DayPatrol(PatrolOut):
    track: dict[str, Any] | None = Field(description="GeoJSON LineString, thinned to ~5 m")
    track_hidden: bool = Field(
        description="the track is not the reader's to see (a patrol in another town's grid)"
    )


class WorkerDay(Out):
    worker: WorkerRef
    date: str
    grids: dict[str, Any]
    patrols: list[DayPatrol]
    cases: list[dict[str, Any]]
    visits: list[dict[str, Any]]
    check_in: dict[str, Any] | None
    totals: dict[str, Any]
