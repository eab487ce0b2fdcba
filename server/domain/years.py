"""The years the system holds (docs/api.md, "Conventions"): every date and moment it takes in or
computes — a filter, a period, a case's deadline, an extension, a calendar year — lies in
:data:`MIN_YEAR`–:data:`MAX_YEAR`. Outside them a value is a typo, and the calendar arithmetic
(time zones, ±1 day, walking workdays) must never reach year 1 or 9999. The one place of this
rule: the API's edge, the deadline rules and the working-time arithmetic all read it here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

MIN_YEAR: Final = 2000
MAX_YEAR: Final = 2100


def in_range(value: date | datetime | int) -> bool:
    """Is the year of ``value`` (a date, a moment or a year) one the system holds?"""
    year = value if isinstance(value, int) else value.year
    return MIN_YEAR <= year <= MAX_YEAR
