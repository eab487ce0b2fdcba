"""The statutory calendar: loading it (cached per process), showing a year, and an admin's
changes with their trail. No Flask here: the API (``server/api/calendar.py``) and the CLI
(``flask calendar``) call these.

Every process keeps the :class:`StatutoryCalendar` it built, current by the ``calendar`` cache
epoch (``server.cache``: a trigger moves it on any write to the calendar tables; a request reads
it once with its sign-in check, a bare connection of a metrics job reads it at each use), so a
change made by one process is seen by every other at its next request or query.
Deadlines (use-case context) and metrics (working time) both get their :class:`WorkCalendar` from
:func:`work_calendar`, so they agree.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from server import cache
from server.domain.names import name_problem
from server.domain.worktime import (
    DAY_KINDS,
    MAX_NAME,
    PACKAGE_YEARS,
    CalendarDay,
    CalendarInputError,
    DayKind,
    OfficeHours,
    StatutoryCalendar,
    WorkCalendar,
    YearCalendar,
    text_problem,
)
from server.models import CalendarChange, CalendarEntry, CalendarYear
from server.models.types import utcnow
from server.usecases import locks

#: How long a process trusts its calendar before checking for a change.
Bind = Session | Connection


def version(db: Bind) -> int:
    """The id of the latest calendar change (0 when nothing was ever entered)."""
    return int(db.execute(select(func.max(CalendarChange.id))).scalar() or 0)


def load(db: Bind) -> StatutoryCalendar:
    """The statutory calendar: the years in the database over the chinesecalendar package."""
    v = version(db)
    rows = db.execute(
        select(CalendarEntry.year, CalendarEntry.day, CalendarEntry.kind, CalendarEntry.name)
    ).all()
    years = {int(y) for y in db.execute(select(CalendarYear.year)).scalars()}
    by_year: dict[int, list[CalendarDay]] = {y: [] for y in years}
    for year, day, kind, name in rows:
        by_year.setdefault(int(year), []).append(CalendarDay(day, cast(DayKind, kind), name))
    entered = [_year_from_rows(y, days) for y, days in by_year.items()]
    return StatutoryCalendar(entered, version=v)


def _year_from_rows(year: int, days: list[CalendarDay]) -> YearCalendar:
    holidays = tuple(sorted((d for d in days if d.kind == "holiday"), key=lambda d: d.day))
    workdays = tuple(sorted((d for d in days if d.kind == "workday"), key=lambda d: d.day))
    return YearCalendar(year, "database", holidays, workdays)


@dataclass
class _Cached:
    statutory: StatutoryCalendar
    work: dict[tuple[str, str], WorkCalendar]


def forget() -> None:
    """Reload the calendar at the next use (this process changed it)."""
    _by_epoch.memo.clear()


def _cached(db: Bind) -> _Cached:
    return _by_epoch.get(db, "calendar", lambda: _Cached(load(db), {}))


_by_epoch = cache.PerKey(("calendar",))


def statutory_for(db: Bind) -> StatutoryCalendar:
    """The current statutory calendar (a change by another process is seen at the next use)."""
    return _cached(db).statutory


def work_calendar(db: Bind, office_hours: str, tz: str) -> WorkCalendar:
    """The :class:`WorkCalendar` of deadlines and metrics: office hours, time zone and the
    current statutory calendar (one instance per version, so its per-year counts are kept)."""
    cached = _cached(db)
    key = (office_hours, tz)
    cal = cached.work.get(key)
    if cal is None:
        cal = WorkCalendar(OfficeHours.parse(office_hours), tz, statutory=cached.statutory)
        cached.work[key] = cal
    return cal


# --- showing --------------------------------------------------------------------------------


def _entries(y: YearCalendar | None) -> dict[str, list[dict[str, str]]] | None:
    if y is None:
        return None
    return {
        "holidays": [{"date": d.day.isoformat(), "name": d.name} for d in y.holidays],
        "workdays": [{"date": d.day.isoformat(), "name": d.name} for d in y.workdays],
    }


def year_view(db: Session, year: int) -> dict[str, Any]:
    """A year's calendar: its source (database | package | unknown), holidays and 调休 days."""
    cal = statutory_for(db)
    y = cal.year(year)
    row = db.get(CalendarYear, year)
    entries = _entries(y) or {"holidays": [], "workdays": []}
    return {
        "year": year,
        "source": cal.source(year),
        "known": cal.knows(year),
        **entries,
        "updated_at": row.updated_at.isoformat() if row else None,
        "updated_by": row.updated_by if row else None,
    }


def overview(db: Session, today: date) -> dict[str, Any]:
    """The years there are (package, entered, this and next year) with their source, and the
    warnings of :meth:`StatutoryCalendar.warnings` for ``today``."""
    cal = statutory_for(db)
    years = set(PACKAGE_YEARS) | set(cal.entered) | {today.year, today.year + 1}
    return {
        "today": today.isoformat(),
        "warnings": cal.warnings(today),
        "version": cal.version,
        "package_years": [PACKAGE_YEARS.start, PACKAGE_YEARS.stop - 1],
        "years": [{"year": y, "source": cal.source(y)} for y in sorted(years)],
    }


def _diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, list[str]]:
    def flat(x: dict[str, Any] | None) -> dict[str, str]:
        out: dict[str, str] = {}
        for kind in ("holidays", "workdays"):
            for e in (x or {}).get(kind, []):
                out[e["date"]] = f"{kind[:-1]} {e['name']}".strip()
        return out

    a, b = flat(before), flat(after)
    return {
        "added": [f"{d} {b[d]}" for d in sorted(b.keys() - a.keys())],
        "removed": [f"{d} {a[d]}" for d in sorted(a.keys() - b.keys())],
        "changed": [f"{d} {a[d]} → {b[d]}" for d in sorted(a.keys() & b.keys()) if a[d] != b[d]],
    }


def changes(db: Session, year: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The trail, newest first, with what each change added, removed or renamed."""
    q = select(CalendarChange).order_by(CalendarChange.id.desc()).limit(limit)
    if year is not None:
        q = q.where(CalendarChange.year == year)
    return [
        {
            "id": c.id,
            "year": c.year,
            "at": c.at.isoformat(),
            "actor_id": c.actor_id,
            "actor": c.actor_name,
            "action": c.action,
            "reason": c.reason,
            **_diff(c.before, c.after),
            "before": c.before,
            "after": c.after,
        }
        for c in db.scalars(q)
    ]


# --- changing -------------------------------------------------------------------------------

MAX_REASON = 500


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise CalendarInputError({"reason": "请说明原因 / give a reason (e.g. the notice number)"})
    if bad := text_problem(reason):
        raise CalendarInputError({"reason": bad})
    if len(reason) > MAX_REASON:
        raise CalendarInputError(
            {"reason": f"最多 {MAX_REASON} 个字 / at most {MAX_REASON} characters"}
        )
    return reason


def replace_year(
    db: Session,
    year: int,
    days: list[CalendarDay],
    *,
    reason: str,
    actor_name: str,
    actor_id: int | None = None,
    action: str = "replace",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Make ``days`` the year's holidays and adjusted working days (replacing what the package
    or an earlier entry said), record the change, commit. :class:`CalendarInputError` names
    every bad field and nothing is saved."""
    reason = _reason(reason)
    checked = YearCalendar.build(year, days, "database")
    # Requests entering a year not entered yet each inserted it (a 500 on the duplicate key: an
    # outside audit); one after the other, the last one's days stay and each is in the trail.
    locks.hold(db, locks.Scope.CALENDAR, [year])
    before = _entries(_stored_year(db, year)) if db.get(CalendarYear, year) else None
    now = now or utcnow()
    row = db.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year)
        db.add(row)
    row.updated_at, row.updated_by = now, actor_name
    db.execute(delete(CalendarEntry).where(CalendarEntry.year == year))
    db.flush()
    for d in checked.days:
        db.add(CalendarEntry(year=year, day=d.day, kind=d.kind, name=d.name))
    db.add(
        CalendarChange(
            year=year,
            at=now,
            actor_id=actor_id,
            actor_name=actor_name,
            action=action,
            reason=reason,
            before=before,
            after=_entries(checked),
        )
    )
    db.commit()
    forget()
    return year_view(db, year)


def delete_year(
    db: Session,
    year: int,
    *,
    reason: str,
    actor_name: str,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Remove an entered year (it goes back to the package, or becomes unknown); None if the
    year was not entered."""
    reason = _reason(reason)
    locks.hold(db, locks.Scope.CALENDAR, [year])
    row = db.get(CalendarYear, year)
    if row is None:
        return None
    before = _entries(_stored_year(db, year))
    db.execute(delete(CalendarEntry).where(CalendarEntry.year == year))
    db.delete(row)
    db.add(
        CalendarChange(
            year=year,
            at=now or utcnow(),
            actor_id=actor_id,
            actor_name=actor_name,
            action="delete",
            reason=reason,
            before=before,
            after=None,
        )
    )
    db.commit()
    forget()
    return year_view(db, year)


def _stored_year(db: Session, year: int) -> YearCalendar:
    rows = db.execute(
        select(CalendarEntry.day, CalendarEntry.kind, CalendarEntry.name).where(
            CalendarEntry.year == year
        )
    ).all()
    return _year_from_rows(year, [CalendarDay(d, cast(DayKind, k), n) for d, k, n in rows])


# --- files ----------------------------------------------------------------------------------

MAX_FILE_BYTES = 256 * 1024


def parse_days(items: list[Any], field: str = "days") -> list[CalendarDay]:
    """``[{"date": "2027-02-06", "kind": "holiday", "name": "春节"}, ...]`` to days; a bad item
    raises :class:`CalendarInputError` naming it (``days[3].date``)."""
    out: list[CalendarDay] = []
    problems: dict[str, str] = {}
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if not isinstance(item, dict):
            problems[where] = "应为 {date, kind, name} / an object {date, kind, name}"
            continue
        raw_date, kind, name = item.get("date"), item.get("kind"), item.get("name", "")
        try:
            if not isinstance(raw_date, str) or len(raw_date.strip()) != 10:
                raise ValueError
            day = date.fromisoformat(raw_date.strip())
        except ValueError:
            problems[f"{where}.date"] = "应为 YYYY-MM-DD / a date YYYY-MM-DD"
            continue
        if kind not in DAY_KINDS:
            problems[f"{where}.kind"] = "应为 holiday 或 workday / holiday or workday"
            continue
        if name is None:
            name = ""
        if not isinstance(name, str):
            problems[f"{where}.name"] = "应为文本 / text"
            continue
        if bad := name_problem(name.strip(), MAX_NAME):
            problems[f"{where}.name"] = bad
            continue
        out.append(CalendarDay(day, cast(DayKind, kind), name))
    if problems:
        raise CalendarInputError(problems)
    return out


#: A calendar file is a list of flat objects (depth 2, or 3 as {"days": [...]}); deeper nesting
#: is refused before json.loads, whose recursion would otherwise end in a RecursionError.
MAX_JSON_DEPTH = 20


def _json_depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_file(filename: str, content: bytes) -> list[CalendarDay]:
    """A CSV (header ``date,kind,name``) or JSON (a list of ``{date, kind, name}``, or an
    object ``{"days": [...]}``) calendar file."""
    shown = filename[-80:]

    def bad_file(reason: str) -> CalendarInputError:
        return CalendarInputError({"file": f"{shown}: {reason}"})

    if len(content) > MAX_FILE_BYTES:
        raise bad_file(f"文件过大 / larger than {MAX_FILE_BYTES} bytes")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise bad_file("应为 UTF-8 文本 / must be UTF-8 text") from None
    stripped = text.lstrip()
    if filename.lower().endswith(".json") or stripped.startswith(("[", "{")):
        if _json_depth(stripped) > MAX_JSON_DEPTH:
            raise bad_file(f"JSON 嵌套过深 / JSON nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise bad_file(f"JSON 无效 / invalid JSON: {str(exc)[:200]}") from None
        if isinstance(data, dict):
            data = data.get("days")
        if not isinstance(data, list):
            raise bad_file("应为 [{date, kind, name}] / a list of {date, kind, name}")
        return _some(parse_days(data), bad_file)
    try:
        reader = csv.DictReader(io.StringIO(text))
        fields = [f.strip() for f in reader.fieldnames or []]
        if not {"date", "kind"} <= set(fields):
            raise bad_file("CSV 首行应为 date,kind,name / the CSV header must be date,kind,name")
        rows = [
            {(k or "").strip(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
            for row in reader
        ]
    except csv.Error as exc:
        raise bad_file(f"CSV 无效 / invalid CSV: {str(exc)[:200]}") from None
    return _some(parse_days([r for r in rows if any(r.values())]), bad_file)


def _some(
    days: list[CalendarDay], bad_file: Callable[[str], CalendarInputError]
) -> list[CalendarDay]:
    """A file that lists no day (a header alone, a broken first line, ``[]``) is a mistake, not
    a year without holidays: importing it would make the year ``known`` with nothing in it.
    (A year can still be emptied on purpose by ``PUT`` with empty lists and a reason.)"""
    if not days:
        raise bad_file("文件中没有日期 / the file lists no days (date,kind,name rows)")
    return days
