"""Check-in (签到) and late check-in (补签) rules, as plain code (DESIGN §11; docs/field-work.md).

- The **day** of a check-in is the county's local date of the phone's moment ``at``
  (``WANGGE_TIMEZONE``), never the server's UTC date.
- On the day itself the worker checks in **inside one of their own grids**: the position must
  lie in the grid or within ``min(accuracy_m, 50)`` metres of its edge (a fix's own uncertainty,
  capped so that a 2 km fix does not count as "in the grid"). It is ``accepted`` at once, and
  ``late`` when its local time is after the county's deadline (``WANGGE_CHECKIN_DEADLINE``,
  default 09:00).
- A check-in **made on the day and delivered later** (the phone was offline: the outbox sends it
  when the signal comes back) is an ordinary check-in of its day: it states a position and asks
  for no 补签 (no reason), and it is held to the same rules (inside an own grid; late after the
  deadline). The server cannot tell a phone that was offline from one whose clock was set back
  (nor can it on the day itself), so the answer says when it arrived (``received_at``) and the
  console shows the delay.
- A past day, at most :data:`MAX_DAYS_BACK` days back, is a 补签 (``makeup``): it needs a stated
  reason (the project's reason rule, :func:`server.domain.fields.is_stated_reason`: two letters,
  digits or CJK characters that show) and is ``pending`` until a supervisor of the grid's
  community approves or rejects it. A position is optional (the worker is not there any more).
- A future day is refused (a phone whose clock runs ahead, or a check-in made in advance).

No Flask and no SQL here; the use case (server/usecases/check_ins.py) reads the worker's grids
and stores the row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import numpy as np
import shapely

from geo.metric import LocalProjection
from server.domain.errors import DomainError, InvalidTransition
from server.domain.fields import is_stated_reason
from server.domain.fieldwork import CheckInStatus

#: How far back a 补签 may reach: today − 7 is the oldest day one may ask for.
MAX_DAYS_BACK = 7
#: The default deadline of an on-time check-in (local wall clock).
DEFAULT_DEADLINE = "09:00"
#: The most a fix's accuracy widens a grid (metres).
MAX_TOLERANCE_M = 50.0

ACCEPTED, PENDING = CheckInStatus.ACCEPTED, CheckInStatus.PENDING
APPROVED, REJECTED = CheckInStatus.APPROVED, CheckInStatus.REJECTED
#: A decision on a pending 补签 and the status it leads to.
DECISIONS = {"approve": APPROVED, "reject": REJECTED}


def parse_deadline(text: str) -> time:
    """``"09:00"`` → 09:00; ValueError for anything that is not HH:MM on a 24-hour clock."""
    value = text.strip()
    if len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        raise ValueError(f"expected HH:MM, got {text!r}")
    if not value.isascii():
        raise ValueError(f"expected ASCII digits, got {text!r}")
    hours, minutes = int(value[:2]), int(value[3:])
    if hours > 23 or minutes > 59:
        raise ValueError(f"not a time of day: {text!r}")
    return time(hours, minutes)


def day_of(moment: datetime, tz: tzinfo) -> date:
    """The county's local date of an aware moment."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(tz).date()


def day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[day 00:00, next day 00:00) on the county's wall clock, as aware datetimes."""
    return (
        datetime.combine(day, time(0), tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz),
    )


@dataclass(frozen=True)
class Timing:
    """What the moment of a check-in means: its day, and whether it is late or a 补签."""

    day: date
    late: bool
    makeup: bool

    @property
    def status(self) -> CheckInStatus:
        return PENDING if self.makeup else ACCEPTED


def timing(
    at: datetime,
    now: datetime,
    tz: tzinfo,
    deadline: time,
    *,
    present: bool = False,
    max_days_back: int = MAX_DAYS_BACK,
) -> Timing:
    """The day of a check-in made at ``at`` (phone time) and received ``now``; a future day or
    one more than ``max_days_back`` days back is refused (DomainError on ``at``). ``present``:
    the phone says it was there (a position, no 补签 reason), so a past day is a check-in made
    offline on that day, not a 补签."""
    day, today = day_of(at, tz), day_of(now, tz)
    if day > today:
        raise DomainError(
            "不能为将来的日期签到", "a check-in cannot be for a future day",
            field="at", code="future_day",
        )  # fmt: skip
    back = (today - day).days
    if back > max_days_back:
        raise DomainError(
            f"补签最多可补 {max_days_back} 天内", f"a late check-in reaches at most "
            f"{max_days_back} days back", field="at", code="too_old",
        )  # fmt: skip
    if back == 0 or present:
        return Timing(day, late=at.astimezone(tz).time() > deadline, makeup=False)
    return Timing(day, late=False, makeup=True)


def check_reason(reason: str | None, makeup: bool) -> str:
    """The reason to keep: required for a 补签 (the project's reason rule), optional and kept as
    given on the day itself."""
    text = (reason or "").strip()
    if makeup and not is_stated_reason(text):
        raise DomainError(
            "补签需填写原因（至少两个字）",
            "a late check-in needs a reason (at least two letters, digits or characters)",
            field="reason",
            code="reason_required",
        )
    return text


def decide(status: str, decision: str) -> CheckInStatus:
    """The status a decision on a check-in leads to: only a ``pending`` 补签 is decided (409
    otherwise, e.g. decided twice)."""
    if decision not in DECISIONS:
        raise DomainError(
            "决定应为 approve 或 reject", "decision must be approve or reject", field="decision"
        )
    if status != PENDING:
        raise InvalidTransition(
            decision,
            status,
            message_zh="只能审批待审批的补签",
            message_en="only a pending late check-in can be decided",
            code="not_pending",
        )
    return DECISIONS[decision]


# --- in one's own grid --------------------------------------------------------------------------


@dataclass(frozen=True)
class GridFit:
    """Where a position lies among the worker's own grids: ``inside`` (the grid it counts for)
    or the ``nearest`` grid and its distance in metres from the grid's edge (0 inside)."""

    grid_code: str | None
    nearest_code: str | None
    distance_m: float
    tolerance_m: float

    @property
    def inside(self) -> bool:
        return self.grid_code is not None


def tolerance(accuracy_m: float | None) -> float:
    """How far outside a grid a fix may lie and still count: its accuracy, at most 50 m."""
    if accuracy_m is None or not math.isfinite(accuracy_m) or accuracy_m < 0:
        return 0.0
    return min(float(accuracy_m), MAX_TOLERANCE_M)


def fit(
    lon: float, lat: float, accuracy_m: float | None, grids: Sequence[tuple[str, Any]]
) -> GridFit:
    """Which of ``grids`` ((code, lon/lat polygon) pairs) the position counts for.

    Distances are measured in a local equal-area projection centred on the point (true metres,
    pyproj), all grids at once; on a tie (a shared edge) the lowest code wins, so the answer
    never depends on the order given."""
    allowed = tolerance(accuracy_m)
    if not grids:
        return GridFit(None, None, math.inf, allowed)
    order = sorted(range(len(grids)), key=lambda i: grids[i][0])
    codes = [grids[i][0] for i in order]
    geoms = np.array([grids[i][1] for i in order], dtype=object)
    proj = LocalProjection(float(lon), float(lat))
    point = proj.forward(np.array([shapely.Point(lon, lat)], dtype=object))[0]
    dist = shapely.distance(proj.forward(geoms), point)
    dist = np.where(np.isfinite(dist), dist, np.inf)
    best = int(np.argmin(dist))  # the first (lowest code) of the smallest
    metres = float(dist[best])
    nearest = codes[best] if math.isfinite(metres) else None
    if metres <= allowed:
        return GridFit(nearest, nearest, metres, allowed)
    return GridFit(None, nearest, metres, allowed)
