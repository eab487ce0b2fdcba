"""Response models of check-ins and work logs (docs/field-work.md), for the OpenAPI document and
the schemathesis run."""

from __future__ import annotations

from typing import Any

from server.api.edge import Out


class Person(Out):
    id: int
    name: str


class CheckIn(Out):
    id: int
    uuid: str
    worker: Person
    day: str
    at: str
    received_at: str | None
    grid_code: str | None
    late: bool
    makeup: bool
    reason: str
    status: str
    status_label: dict[str, str]
    decided_by: Person | None
    decided_at: str | None
    decision_note: str
    lon: float | None
    lat: float | None
    accuracy_m: float | None


class CheckInPage(Out):
    items: list[CheckIn]
    next_cursor: int | None


class WorkLogLine(Out):
    worker: Person
    date: str
    check_in_status: str | None
    patrols: int
    distance_m: float
    duration_s: int
    visits: int
    reports: int
    verifications: int
    comments: int


class WorkLogList(Out):
    date: str
    items: list[WorkLogLine]


class WorkLogEntry(Out):
    at: str
    kind: str
    label: dict[str, str]
    ref: dict[str, Any]
    text: str


class WorkLogComment(Out):
    id: int
    uuid: str
    author: Person | None
    text: str
    created_at: str


class WorkLog(Out):
    worker: Person
    date: str
    entries: list[WorkLogEntry]
    totals: dict[str, Any]
    comments: list[WorkLogComment]
