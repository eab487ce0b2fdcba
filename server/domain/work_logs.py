"""The work log (工作日志): a grid worker's day compiled from what they did (DESIGN §11).

Nothing of it is stored: the day is read from the trail — the check-in, the patrols started that
day, the visits made, the cases reported and the cases verified (the ``verify`` events by the
worker) — and put in time order. Supervisors' comments are the only rows of its own.

The kinds of entry, with their labels, are one table (:data:`ENTRY_KINDS`); the apps show the
labels the server sends. No Flask and no SQL here (server/usecases/work_logs.py reads the rows).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class EntryKind(StrEnum):
    CHECK_IN = "check_in"
    PATROL_START = "patrol_start"
    PATROL_END = "patrol_end"
    VISIT = "visit"
    REPORT = "report"
    VERIFY = "verify"


ENTRY_KINDS: dict[EntryKind, tuple[str, str]] = {
    EntryKind.CHECK_IN: ("签到", "Check-in"),
    EntryKind.PATROL_START: ("开始巡查", "Patrol started"),
    EntryKind.PATROL_END: ("结束巡查", "Patrol ended"),
    EntryKind.VISIT: ("走访", "Visit"),
    EntryKind.REPORT: ("上报", "Report"),
    EntryKind.VERIFY: ("核查", "Verification"),
}
#: Order of entries at the same moment (a patrol ends before the next one starts).
_ORDER = {kind: i for i, kind in enumerate(ENTRY_KINDS)}
_ORDER[EntryKind.PATROL_END] = -1


@dataclass(frozen=True)
class Entry:
    """One line of the day: when, what, a reference to the record, and a short text."""

    at: datetime
    kind: EntryKind
    ref: dict[str, Any]
    text: str


@dataclass
class Totals:
    """The day in figures (the list of work logs shows these per worker)."""

    check_in_status: str | None = None
    patrols: int = 0
    distance_m: float = 0.0
    duration_s: int = 0
    visits: int = 0
    reports: int = 0
    verifications: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "check_in_status": self.check_in_status,
            "patrols": self.patrols,
            "distance_m": round(self.distance_m, 1),
            "duration_s": self.duration_s,
            "visits": self.visits,
            "reports": self.reports,
            "verifications": self.verifications,
        }


def timeline(entries: Iterable[Entry]) -> list[Entry]:
    """The entries in time order; at the same moment in table order (an end before a start),
    then by reference, so that the answer never depends on the order the rows were read."""
    return sorted(entries, key=lambda e: (e.at, _ORDER[e.kind], sorted(e.ref.items())))


def verify_text(passed: Any) -> str:
    """The words of a verification's result."""
    if passed is True:
        return "通过 / passed"
    if passed is False:
        return "未通过 / not passed"
    return ""
