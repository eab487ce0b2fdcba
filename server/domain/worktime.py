"""Working time and deadlines (DESIGN §3, "Deadlines").

Rules (see docs/workflow.md, "Working time"):

- A *workday* is Mon–Fri except statutory holidays, plus the adjusted working Saturdays/Sundays
  (调休上班日), as the :class:`StatutoryCalendar` says. It holds the years an admin entered
  (stored in the database, loaded by ``server.usecases.calendar``) and otherwise asks the
  ``chinesecalendar`` package (``chinese_calendar.is_workday``). A year an admin entered replaces
  the package's year entirely. A year known to neither is *unknown*: we fall back to Mon–Fri and
  log one warning per year, so deadlines keep working, and :meth:`StatutoryCalendar.warnings`
  flags it (``/healthz`` says "degraded" from 1 November when next year is unknown).
  Per-calendar overrides (``extra_holidays``, ``extra_workdays``) win over both.
- *Office time* is the union of the daily periods of :class:`OfficeHours` on workdays, read on
  the wall clock of the calendar's time zone (default 08:30–12:00 and 14:00–17:30,
  Asia/Shanghai, i.e. 7 office hours a day).
- ``add_work_hours(t, h)`` is the earliest instant at which ``h`` hours of office time have
  elapsed since ``t``. Time before the next office period (evening, lunch break, weekend,
  holiday) does not count, so a case dispatched at 20:00 starts counting at 08:30 on the next
  workday. A limit that fills a period exactly ends at the period's end (12:00, 17:30).
- ``add_work_days(t, n)`` is ``add_work_hours(t, n * hours_per_day)``: the same office-clock
  position ``n`` workdays later (10:00 Tue + 1 day = 10:00 Wed), and from outside office hours
  the end of the ``n``-th workday (Fri 20:00 + 1 day = Mon 17:30). Work days are therefore
  measured with the same ruler as work hours, and ``work_hours_between`` checks both.
- ``add_natural_hours`` is plain elapsed time (urgent cases), DST-safe (done in UTC).
- Datetimes must be timezone-aware (naive ones raise ``ValueError``). Any zone is accepted;
  results come back in the zone of the datetime given.
- Bounded: no day outside the years the system holds (``server.domain.years``, 2000–2100) can
  be entered, so spans there are counted Monday to Friday in one step (not year by year, and
  without a warning per year), and a deadline (:func:`add_time`) past 2100 is refused with
  :class:`BeyondCalendar` before any walk gets there.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar

from server.domain.names import name_problem
from server.domain.years import MAX_YEAR, MIN_YEAR

log = logging.getLogger(__name__)

DEFAULT_TZ = "Asia/Shanghai"
US_PER_HOUR = 3_600_000_000
US_PER_DAY = 24 * US_PER_HOUR
Period = tuple[time, time]
TimeUnit = Literal["work_hours", "work_days", "hours"]
TIME_UNITS: tuple[TimeUnit, ...] = ("work_hours", "work_days", "hours")


def _micros(t: time) -> int:
    """Microseconds after midnight: office time is counted in whole microseconds, exactly."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


@dataclass(frozen=True)
class OfficeHours:
    """Daily office periods, sorted and non-overlapping, on the local wall clock."""

    periods: tuple[Period, ...] = ((time(8, 30), time(12, 0)), (time(14, 0), time(17, 30)))

    def __post_init__(self) -> None:
        periods = tuple((p[0], p[1]) for p in self.periods)
        object.__setattr__(self, "periods", periods)
        if not periods:
            raise ValueError("office hours need at least one period")
        previous_end = -1
        for start, end in periods:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office periods are wall-clock times without tzinfo")
            if not _micros(start) < _micros(end):
                raise ValueError(f"office period {start}-{end} is empty or reversed")
            if _micros(start) < previous_end:
                raise ValueError("office periods must be sorted and must not overlap")
            previous_end = _micros(end)

    @classmethod
    def parse(cls, spec: str | Sequence[str]) -> OfficeHours:
        """``"08:30-12:00,14:00-17:30"`` or a list of ``"HH:MM-HH:MM"`` (for configuration)."""
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        periods = []
        for item in items:
            start, _, end = item.strip().partition("-")
            periods.append((time.fromisoformat(start.strip()), time.fromisoformat(end.strip())))
        return cls(tuple(periods))

    @property
    def spans(self) -> tuple[tuple[int, int], ...]:
        """Periods as (start, end) microseconds after local midnight."""
        return tuple((_micros(a), _micros(b)) for a, b in self.periods)

    @property
    def micros_per_day(self) -> int:
        return sum(b - a for a, b in self.spans)

    @property
    def hours_per_day(self) -> float:
        return self.micros_per_day / US_PER_HOUR


_warned_years: set[int] = set()


def _fallback(day: date) -> bool:
    """Mon–Fri, with one warning per year: the year has no statutory calendar. Only for a year
    an admin could enter (2000–2100): beyond them there is nothing to do about it."""
    if day.year not in _warned_years and MIN_YEAR <= day.year <= MAX_YEAR:
        _warned_years.add(day.year)
        log.warning(
            "no statutory calendar for %d (chinesecalendar %s knows %d-%d, and no admin has "
            "entered it): treating Mon-Fri as workdays; enter that year's holidays "
            "(flask calendar import, or the console's calendar page)",
            day.year,
            getattr(chinese_calendar, "__version__", "?"),
            PACKAGE_YEARS.start,
            PACKAGE_YEARS.stop - 1,
        )
    return day.weekday() < 5


@lru_cache(maxsize=16384)
def statutory_workday(day: date) -> bool:
    """``chinese_calendar.is_workday`` with the Mon–Fri fallback for unknown years (cached).
    A year the package does not hold is not asked (the package checks every date against all
    its holidays: 0.1 ms a day, a minute for the days of a few centuries)."""
    if day.year not in PACKAGE_YEARS:
        return _fallback(day)
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return _fallback(day)


def _package_years() -> range:
    from chinese_calendar.constants import holidays

    return range(min(holidays).year, max(holidays).year + 1)


#: The years the installed chinesecalendar package knows (2004-2026 for 1.11.0).
PACKAGE_YEARS = _package_years()

DayKind = Literal["holiday", "workday"]
DAY_KINDS: tuple[DayKind, ...] = ("holiday", "workday")
YearSource = Literal["database", "package", "unknown"]
#: From this (month, day) on, an unknown next year is a warning (the State Council publishes the
#: next year's holidays in November or December).
WARN_FROM = (11, 1)
MAX_NAME = 50


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None: NUL characters and unpaired surrogates
    (PostgreSQL refuses both; SQLite would store them). The same rule as the API's edge."""
    if "\x00" in value:
        return "不能含 NUL 字符 / must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "不是有效的 Unicode 文本 / not valid Unicode text"
    return None


@dataclass(frozen=True)
class CalendarDay:
    """A statutory holiday (``kind="holiday"``, e.g. 春节) or an adjusted working day
    (``kind="workday"``, 调休上班日) of one year."""

    day: date
    kind: DayKind
    name: str = ""


class CalendarInputError(ValueError):
    """Entries of a year that cannot be accepted: ``problems`` maps a field to a message."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True)
class YearCalendar:
    """One year's holidays and adjusted working days, sorted by date."""

    year: int
    source: Literal["database", "package"]
    holidays: tuple[CalendarDay, ...] = ()
    workdays: tuple[CalendarDay, ...] = ()

    @classmethod
    def build(
        cls, year: int, days: Iterable[CalendarDay], source: Literal["database", "package"]
    ) -> YearCalendar:
        """Check and sort a year's entries; :class:`CalendarInputError` names each bad one
        (``holidays[2].date``, ``workdays[0].name``, ...)."""
        problems: dict[str, str] = {}
        if not PACKAGE_YEARS.start <= year <= MAX_YEAR:
            problems["year"] = (
                f"年份应在 {PACKAGE_YEARS.start}–{MAX_YEAR} / a year "
                f"{PACKAGE_YEARS.start}-{MAX_YEAR}"
            )
        seen: dict[date, str] = {}
        index = {"holiday": 0, "workday": 0}
        out: dict[str, list[CalendarDay]] = {"holiday": [], "workday": []}
        for entry in days:
            if entry.kind not in DAY_KINDS:
                raise CalendarInputError({"kind": "应为 holiday 或 workday / holiday or workday"})
            where = f"{entry.kind}s[{index[entry.kind]}]"
            index[entry.kind] += 1
            name = entry.name.strip()
            if entry.day.year != year:
                problems[f"{where}.date"] = (
                    f"{entry.day.isoformat()} 不在 {year} 年内 / is not in {year}"
                )
            elif entry.day in seen:
                problems[f"{where}.date"] = (
                    f"{entry.day.isoformat()} 已列为 {seen[entry.day]} / is already listed as "
                    f"a {seen[entry.day]}"
                    if seen[entry.day] != entry.kind
                    else f"{entry.day.isoformat()} 重复 / is listed twice"
                )
            elif entry.kind == "workday" and entry.day.weekday() < 5:
                problems[f"{where}.date"] = (
                    f"{entry.day.isoformat()} 是周一至周五，本来就上班 / is a Monday-Friday, "
                    "a working day anyway"
                )
            if entry.kind == "holiday" and not name:
                problems[f"{where}.name"] = "节日名称必填 / a holiday needs a name"
            if bad := name_problem(name, MAX_NAME):
                problems[f"{where}.name"] = bad
            seen.setdefault(entry.day, entry.kind)
            out[entry.kind].append(CalendarDay(entry.day, entry.kind, name))
        if problems:
            raise CalendarInputError(problems)
        return cls(
            year,
            source,
            tuple(sorted(out["holiday"], key=lambda d: d.day)),
            tuple(sorted(out["workday"], key=lambda d: d.day)),
        )

    @property
    def days(self) -> tuple[CalendarDay, ...]:
        return tuple(sorted(self.holidays + self.workdays, key=lambda d: d.day))


@lru_cache(maxsize=64)
def package_year(year: int) -> YearCalendar | None:
    """The year as the chinesecalendar package has it (Chinese names), or None."""
    if year not in PACKAGE_YEARS:
        return None
    from chinese_calendar.constants import Holiday, holidays, workdays

    def chinese(value: str) -> str:
        try:
            return str(Holiday(value).chinese)
        except ValueError:
            return value

    days = [CalendarDay(d, "holiday", chinese(n)) for d, n in holidays.items() if d.year == year]
    days += [CalendarDay(d, "workday", chinese(n)) for d, n in workdays.items() if d.year == year]
    return YearCalendar(
        year,
        "package",
        tuple(sorted((d for d in days if d.kind == "holiday"), key=lambda d: d.day)),
        tuple(sorted((d for d in days if d.kind == "workday"), key=lambda d: d.day)),
    )


class StatutoryCalendar:
    """Which days are statutory workdays: the years an admin entered (``entered``, from the
    database), else the chinesecalendar package, else Mon–Fri for an *unknown* year (flagged by
    :meth:`warnings`). Immutable; ``version`` identifies the data it was built from (the last
    change id of the calendar trail)."""

    def __init__(self, entered: Iterable[YearCalendar] = (), *, version: int = 0) -> None:
        self.entered: Mapping[int, YearCalendar] = {y.year: y for y in entered}
        self.version = version
        self._days: dict[date, bool] = {}
        for y in self.entered.values():
            for d in y.holidays:
                self._days[d.day] = False
            for d in y.workdays:
                self._days[d.day] = True

    def __repr__(self) -> str:
        return f"StatutoryCalendar(entered={sorted(self.entered)}, version={self.version})"

    def source(self, year: int) -> YearSource:
        if year in self.entered:
            return "database"
        if year in PACKAGE_YEARS:
            return "package"
        return "unknown"

    def knows(self, year: int) -> bool:
        return self.source(year) != "unknown"

    def year(self, year: int) -> YearCalendar | None:
        """The year's holidays and adjusted working days, or None for an unknown year."""
        return self.entered.get(year) or package_year(year)

    def is_workday(self, day: date) -> bool:
        flag = self._days.get(day)
        if flag is not None:
            return flag
        if day.year in self.entered:
            return day.weekday() < 5
        return statutory_workday(day)

    def warnings(self, today: date) -> list[str]:
        """What an operator must do: "calendar: 2027 unknown" when this year is unknown, or
        from 1 November when next year is."""
        out = []
        if not self.knows(today.year):
            out.append(f"calendar: {today.year} unknown")
        if (today.month, today.day) >= WARN_FROM and not self.knows(today.year + 1):
            out.append(f"calendar: {today.year + 1} unknown")
        return out


#: The package alone (no admin entries): the default of :class:`WorkCalendar`.
PACKAGE_CALENDAR = StatutoryCalendar()


def _require_aware(value: datetime, name: str = "datetime") -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


class BeyondCalendar(ValueError):
    """A deadline that would lie past the years the system holds (after 2100): the caller
    answers 400 naming its field."""


def _weekdays(first: date, stop: date) -> int:
    """Mondays to Fridays d with ``first <= d < stop``, counted at once."""
    full, rest = divmod((stop - first).days, 7)
    start = first.weekday()
    return full * 5 + sum((start + i) % 7 < 5 for i in range(rest))


class WorkCalendar:
    """Statutory workdays + office hours in one time zone. Cheap to call a million times:
    workday lookups are cached, and spans of many days use per-year cumulative counts."""

    def __init__(
        self,
        office_hours: OfficeHours | None = None,
        tz: str | tzinfo = DEFAULT_TZ,
        *,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        statutory: StatutoryCalendar | None = None,
    ) -> None:
        self.office_hours = office_hours or OfficeHours()
        self.statutory = statutory or PACKAGE_CALENDAR
        self.tz: tzinfo = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.extra_holidays = frozenset(extra_holidays)
        self.extra_workdays = frozenset(extra_workdays)
        if self.extra_holidays & self.extra_workdays:
            raise ValueError("a date cannot be both an extra holiday and an extra workday")
        self._spans = self.office_hours.spans
        self._day_us = self.office_hours.micros_per_day
        self._cumulative: dict[int, list[int]] = {}
        # The days any calendar can say something of (the years the system holds, the package's,
        # any entered): outside them every day is Monday to Friday but for the overrides.
        years = [MIN_YEAR, MAX_YEAR, PACKAGE_YEARS.start, PACKAGE_YEARS.stop - 1]
        years += list(self.statutory.entered)
        self._known = (date(min(years), 1, 1), date(max(years) + 1, 1, 1))
        #: a walk of workdays (adding office time) stops with BeyondCalendar at this day
        self._walk_end = date(MAX_YEAR + 1, 1, 1)

    def __repr__(self) -> str:
        return f"WorkCalendar({self.office_hours!r}, tz={self.tz!s}, {self.statutory!r})"

    # --- days ------------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        if isinstance(day, datetime):
            _require_aware(day)
            day = day.astimezone(self.tz).date()
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        return self.statutory.is_workday(day)

    def _year_counts(self, year: int) -> list[int]:
        """counts[i] = workdays in the year strictly before its i-th day (0-based)."""
        counts = self._cumulative.get(year)
        if counts is None:
            first = date(year, 1, 1)
            length = (date(year + 1, 1, 1) - first).days
            counts = [0] * (length + 1)
            for i in range(length):
                counts[i + 1] = counts[i] + self.is_workday(first + timedelta(days=i))
            self._cumulative[year] = counts
        return counts

    def _plain_workdays(self, first: date, stop: date) -> int:
        """Workdays in ``[first, stop)`` outside every calendar: Monday to Friday with the
        overrides, in one step however many years it spans."""
        count = _weekdays(first, stop)
        count += sum(first <= d < stop and d.weekday() >= 5 for d in self.extra_workdays)
        return count - sum(first <= d < stop and d.weekday() < 5 for d in self.extra_holidays)

    def workdays_between(self, first: date, stop: date) -> int:
        """Number of workdays d with ``first <= d < stop`` (0 if stop <= first). Bounded:
        years outside every calendar (a deadline in 9998 that an old release let through) are
        counted at once, never year by year."""
        if stop <= first:
            return 0
        lo, hi = self._known
        outside = 0
        if first < lo:
            outside += self._plain_workdays(first, min(stop, lo))
            first = min(stop, lo)
        if stop > hi:
            outside += self._plain_workdays(max(first, hi), stop)
            stop = max(first, hi)
        if stop <= first:
            return outside
        return outside + self._known_workdays(first, stop)

    def _known_workdays(self, first: date, stop: date) -> int:
        span = (stop - first).days
        if span <= 7:
            return sum(self.is_workday(first + timedelta(days=i)) for i in range(span))
        total = 0
        day = first
        while day.year < stop.year:
            counts = self._year_counts(day.year)
            total += counts[-1] - counts[day.timetuple().tm_yday - 1]
            day = date(day.year + 1, 1, 1)
        if day == stop:  # up to a 1 January: nothing of that year
            return total
        counts = self._year_counts(day.year)
        return total + counts[stop.timetuple().tm_yday - 1] - counts[day.timetuple().tm_yday - 1]

    def next_workday(self, day: date) -> date:
        """The first workday strictly after ``day``."""
        day += timedelta(days=1)
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    # --- office time -------------------------------------------------------------------

    def _office_within(self, lo: int, hi: int) -> int:
        """Office microseconds between two clock positions of one day."""
        return sum(max(0, min(hi, b) - max(lo, a)) for a, b in self._spans)

    def _local(self, value: datetime) -> tuple[date, int]:
        _require_aware(value)
        local = value.astimezone(self.tz)
        return local.date(), _micros(local.time())

    def _at(self, day: date, micros: int, like: datetime) -> datetime:
        local = datetime.combine(day, time(0), tzinfo=self.tz) + timedelta(microseconds=micros)
        return local.astimezone(like.tzinfo)

    def is_office_time(self, moment: datetime) -> bool:
        day, secs = self._local(moment)
        return self.is_workday(day) and any(a <= secs < b for a, b in self._spans)

    def work_hours_between(self, start: datetime, end: datetime) -> float:
        """Office hours on workdays from ``start`` to ``end``; 0 if ``end <= start``."""
        return self.work_micros_between(start, end) / US_PER_HOUR

    def work_micros_between(self, start: datetime, end: datetime) -> int:
        """Like :meth:`work_hours_between`, exactly, in whole microseconds."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end <= start:
            return 0
        d1, s1 = self._local(start)
        d2, s2 = self._local(end)
        if d1 == d2:
            return self._office_within(s1, s2) if self.is_workday(d1) else 0
        total = 0
        if self.is_workday(d1):
            total += self._office_within(s1, US_PER_DAY)
        if self.is_workday(d2):
            total += self._office_within(0, s2)
        return total + self.workdays_between(d1 + timedelta(days=1), d2) * self._day_us

    def add_work_hours(self, start: datetime, hours: float) -> datetime:
        """Earliest instant at which ``hours`` office hours have elapsed since ``start``."""
        _require_aware(start, "start")
        if not math.isfinite(hours) or hours < 0:
            raise ValueError("hours must be a finite number >= 0")
        return self.add_work_micros(start, round(hours * US_PER_HOUR))

    def add_work_micros(self, start: datetime, micros: int) -> datetime:
        """Like :meth:`add_work_hours`, exactly, for whole microseconds."""
        _require_aware(start, "start")
        if micros < 0:
            raise ValueError("micros must be >= 0")
        if micros == 0:
            return start
        remaining = micros
        day, secs = self._local(start)
        while True:
            if day >= self._walk_end:
                raise BeyondCalendar(f"{micros} µs of office time after {start} is past {MAX_YEAR}")
            if self.is_workday(day):
                for a, b in self._spans:
                    if b <= secs:
                        continue
                    begin = max(secs, a)
                    if remaining <= b - begin:
                        return self._at(day, begin + remaining, start)
                    remaining -= b - begin
                # skip whole workdays in one step, keeping at least a part for the last day
                whole = -(-remaining // self._day_us) - 1
                day = self._skip_workdays(day, whole)
                remaining -= whole * self._day_us
            day = self.next_workday(day)
            secs = 0

    def sub_work_micros(self, end: datetime, micros: int) -> datetime:
        """The latest instant ``t`` with ``work_micros_between(t, end) >= micros``: the inverse of
        :meth:`add_work_micros`, walking back (the sweep's "overdue by n working days" cut-off:
        a stage due at or before it is overdue by at least that much office time)."""
        _require_aware(end, "end")
        if micros < 0:
            raise ValueError("micros must be >= 0")
        if micros == 0:
            return end
        remaining = micros
        day, secs = self._local(end)
        while True:
            if self.is_workday(day):
                for a, b in reversed(self._spans):
                    if a >= secs:
                        continue
                    stop = min(secs, b)
                    if remaining <= stop - a:
                        return self._at(day, stop - remaining, end)
                    remaining -= stop - a
                # whole workdays back in one step, keeping at least a part for the last day
                whole = -(-remaining // self._day_us) - 1
                for _ in range(whole):
                    day = self.previous_workday(day)
                remaining -= whole * self._day_us
            day = self.previous_workday(day)
            secs = US_PER_DAY

    def previous_workday(self, day: date) -> date:
        """The last workday strictly before ``day``."""
        day -= timedelta(days=1)
        while not self.is_workday(day):
            day -= timedelta(days=1)
        return day

    def _skip_workdays(self, day: date, count: int) -> date:
        """The ``count``-th workday after ``day`` (``day`` itself when count is 0), or the first
        day past the years the system holds if it lies beyond them (the caller refuses it)."""
        for _ in range(count):
            day = self.next_workday(day)
            if day >= self._walk_end:
                break
        return day

    def add_work_days(self, start: datetime, days: int) -> datetime:
        """``days`` full office days of office time after ``start`` (see module docstring)."""
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ValueError("days must be a whole number >= 0")
        return self.add_work_hours(start, days * self.office_hours.hours_per_day)

    @staticmethod
    def add_natural_hours(start: datetime, hours: float) -> datetime:
        """Plain elapsed time, computed in UTC so DST jumps are counted as they happen."""
        _require_aware(start, "start")
        if not math.isfinite(hours) or hours < 0:
            raise ValueError("hours must be a finite number >= 0")
        return (start.astimezone(UTC) + timedelta(hours=hours)).astimezone(start.tzinfo)


@dataclass(frozen=True)
class TimeLimit:
    """A category's time limit, e.g. ``TimeLimit(4, "work_hours")``, ``TimeLimit(5, "work_days")``,
    ``TimeLimit(2, "hours")`` (natural hours, for urgent cases)."""

    value: float
    unit: TimeUnit = field(default="work_hours")

    def __post_init__(self) -> None:
        if self.unit not in TIME_UNITS:
            raise ValueError(f"unit must be one of {TIME_UNITS}")
        if isinstance(self.value, bool) or not math.isfinite(self.value) or self.value <= 0:
            raise ValueError("a time limit must be a finite number > 0")
        if self.unit == "work_days" and self.value != int(self.value):
            raise ValueError("work_days must be a whole number")

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


def add_time(start: datetime, amount: float, unit: TimeUnit, cal: WorkCalendar) -> datetime:
    """``start`` plus ``amount`` of ``unit`` on ``cal``; :class:`BeyondCalendar` when that
    lies past the years the system holds (every deadline, extension and stage clock is one of
    these, so none ever passes 2100)."""
    if unit not in TIME_UNITS:
        raise ValueError(f"unit must be one of {TIME_UNITS}")
    if unit == "work_days" and amount != int(amount):
        raise ValueError("work_days must be a whole number")
    try:
        if unit == "work_hours":
            out = cal.add_work_hours(start, amount)
        elif unit == "work_days":
            out = cal.add_work_days(start, int(amount))
        else:
            out = cal.add_natural_hours(start, amount)
    except OverflowError:  # natural hours past year 9999
        out = None
    if out is None or out.astimezone(cal.tz).year > MAX_YEAR:
        raise BeyondCalendar(f"{start.isoformat()} + {amount:g} {unit} is past {MAX_YEAR}")
    return out


def deadline(start: datetime, limit: TimeLimit, cal: WorkCalendar) -> datetime:
    """The deadline of a case dispatched at ``start`` under ``limit``."""
    return add_time(start, limit.value, limit.unit, cal)


def dispatch_deadline(
    dispatched_at: datetime,
    cal: WorkCalendar,
    *,
    normal: TimeLimit,
    urgent_hours: float | None = None,
    urgent: bool = False,
) -> datetime:
    """Deadline at dispatch: an urgent case uses the category's urgent limit in natural hours
    (falling back to ``normal`` when the category has none)."""
    if urgent and urgent_hours is not None:
        return deadline(dispatched_at, TimeLimit(urgent_hours, "hours"), cal)
    return deadline(dispatched_at, normal, cal)


def extend(current: datetime, amount: float, unit: TimeUnit, cal: WorkCalendar) -> datetime:
    """The deadline after an approved extension of ``amount`` ``unit`` (延期).

    The extension is added to the current deadline, not to the approval time, with the same
    rules as the original limit: extending a 17:30 deadline by 2 work hours gives 10:30 on the
    next workday.
    """
    if isinstance(amount, bool) or not math.isfinite(amount) or amount <= 0:
        raise ValueError("an extension must be a finite number > 0")
    return add_time(current, amount, unit, cal)
