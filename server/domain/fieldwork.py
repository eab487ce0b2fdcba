"""Names of field work (DESIGN §11) and their zh/en labels: the statuses of a check-in.

A check-in on the day, inside one's own grid, is ``accepted`` at once; a 补签 for a past day is
``pending`` until a supervisor of the grid's community ``approved`` or ``rejected`` it (a
rejected day may be asked for again).
"""

from __future__ import annotations

from enum import StrEnum


class CheckInStatus(StrEnum):
    ACCEPTED = "accepted"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


CHECK_IN_STATUS_LABELS: dict[CheckInStatus, tuple[str, str]] = {
    CheckInStatus.ACCEPTED: ("已签到", "Checked in"),
    CheckInStatus.PENDING: ("补签待审批", "Late check-in awaiting approval"),
    CheckInStatus.APPROVED: ("补签已批准", "Late check-in approved"),
    CheckInStatus.REJECTED: ("补签已驳回", "Late check-in rejected"),
}
#: the statuses that count as "checked in" for the day
CHECKED_IN = frozenset({CheckInStatus.ACCEPTED, CheckInStatus.APPROVED})
