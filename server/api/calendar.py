"""The statutory calendar API (``/api/v1/calendar``): every console role reads it, admins enter
a year's holidays and adjusted working days (调休上班日), by JSON or by importing a CSV/JSON
file. Each change is recorded in the calendar trail with who, when, why and what changed.
Thin: parsing and JSON around ``server.usecases.calendar``."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from server.api.edge import Body, Text, operation
from server.api.util import me
from server.domain import workflow as wf
from server.domain.worktime import MAX_NAME, PACKAGE_YEARS, CalendarDay, CalendarInputError
from server.domain.years import MAX_YEAR
from server.errors import ApiError, error_response
from server.extensions import db, settings
from server.models import User
from server.models.types import utcnow
from server.usecases import calendar as uc

bp = Blueprint("calendar", __name__, url_prefix="/api/v1/calendar")

READ_ROLES = (wf.Role.DISPATCHER, wf.Role.HANDLER, wf.Role.SUPERVISOR, wf.Role.ADMIN)
ADMIN = (wf.Role.ADMIN,)
MAX_DAYS = 366


def _iso_date(value: Any) -> Any:
    """A date written ``YYYY-MM-DD`` (never a number, never a date-time)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError("date", "应为 YYYY-MM-DD 日期 / a date YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]


class DayIn(Body):
    date_: IsoDate = Field(alias="date")
    name: Text = Field(default="", max_length=MAX_NAME)


class YearIn(Body):
    """PUT body: the whole year (a day not listed is an ordinary day)."""

    holidays: list[DayIn] = Field(default_factory=list, max_length=MAX_DAYS)
    workdays: list[DayIn] = Field(default_factory=list, max_length=MAX_DAYS)
    reason: Text = Field(min_length=1, max_length=uc.MAX_REASON)


class ReasonIn(Body):
    reason: Text = Field(min_length=1, max_length=uc.MAX_REASON)


IMPORT_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["file", "reason"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "CSV (header date,kind,name) or JSON [{date, kind, name}], <= 256 KiB",
        },
        "reason": {"type": "string", "maxLength": uc.MAX_REASON},
    },
}


@bp.before_request
def _roles() -> None:
    """Reading: the console roles; changing: admins. Checked before any body is parsed."""
    user = me()  # 401 when signed out
    if request.method in ("GET", "HEAD"):
        if user.role not in READ_ROLES:
            raise ApiError(
                403, "forbidden", "无权查看 / your role may not see this", required_roles=READ_ROLES
            )
    elif user.role != wf.Role.ADMIN:
        raise ApiError(
            403, "forbidden", "仅限系统管理员 / admins only", required_roles=[wf.Role.ADMIN]
        )


def clock() -> datetime:
    """Now, from ``app.extensions["wangge.clock"]`` (tests set it), else the real time."""
    fn = current_app.extensions.get("wangge.clock") or utcnow
    return fn()  # type: ignore[no-any-return]


def today() -> date:
    """Today on the configured time zone's calendar."""
    from zoneinfo import ZoneInfo

    return clock().astimezone(ZoneInfo(settings().timezone)).date()


def _year(year: int) -> int:
    if not PACKAGE_YEARS.start <= year <= MAX_YEAR:
        raise ApiError(
            400,
            "validation_failed",
            f"年份应在 {PACKAGE_YEARS.start}–{MAX_YEAR} / a year {PACKAGE_YEARS.start}-{MAX_YEAR}",
            {"year": f"{PACKAGE_YEARS.start}-{MAX_YEAR}"},
        )
    return year


@bp.errorhandler(CalendarInputError)
def _invalid(err: CalendarInputError) -> Response:
    """Entries of a year that cannot be accepted: 400 naming each field."""
    first = next(iter(err.problems))
    return error_response(
        ApiError(400, "validation_failed", f"{first}: {err.problems[first]}", err.problems)
    )


def _who(user: User) -> str:
    return user.display_name or user.username


@bp.get("")
@operation(responses={200: "CalendarOverview"}, roles=READ_ROLES)
def overview() -> Response:
    """The years there are with their source (database | package | unknown) and the warnings
    (e.g. "calendar: 2027 unknown" from 1 November)."""
    return jsonify(uc.overview(db(), today()))


@bp.get("/<int:year>")
@operation(responses={200: "CalendarYear"}, roles=READ_ROLES)
def show_year(year: int) -> Response:
    """A year's holidays and adjusted working days, and where they come from."""
    return jsonify(uc.year_view(db(), _year(year)))


@bp.get("/<int:year>/changes")
@operation(responses={200: "CalendarChanges"}, roles=READ_ROLES)
def year_changes(year: int) -> Response:
    """The trail of a year, newest first: who, when, why, what was added, removed, renamed."""
    return jsonify({"items": uc.changes(db(), _year(year))})


@bp.put("/<int:year>")
@operation(body=YearIn, responses={200: "CalendarYear"}, roles=ADMIN)
def put_year(year: int, body: YearIn) -> Response:
    """Enter a year: {holidays: [{date, name}], workdays: [{date, name}], reason}. Replaces the
    package's data (or an earlier entry) for that year."""
    user = me()
    year = _year(year)
    days = [CalendarDay(d.date_, "holiday", d.name) for d in body.holidays]
    days += [CalendarDay(d.date_, "workday", d.name) for d in body.workdays]
    view = uc.replace_year(
        db(), year, days, reason=body.reason, actor_name=_who(user), actor_id=user.id
    )
    return jsonify(view)


@bp.post("/<int:year>/import")
@operation(form=IMPORT_FORM, responses={200: "CalendarYear"}, roles=ADMIN)
def import_year(year: int) -> Response:
    """Enter a year from a file (multipart ``file``: CSV ``date,kind,name`` or JSON
    ``[{date, kind, name}]``) with a ``reason`` field."""
    user = me()
    year = _year(year)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(
            400, "validation_failed", "缺少文件 / file is required", {"file": "required"}
        )
    reason = request.form.get("reason", "")
    days = uc.parse_file(upload.filename, upload.read(uc.MAX_FILE_BYTES + 1))
    view = uc.replace_year(
        db(),
        year,
        days,
        reason=reason,
        actor_name=_who(user),
        actor_id=user.id,
        action="import",
    )
    return jsonify(view)


@bp.delete("/<int:year>")
@operation(body=ReasonIn, responses={200: "CalendarYear", 404: None}, roles=ADMIN)
def delete_year(year: int, body: ReasonIn) -> Response:
    """Remove an entered year ({reason}): it goes back to the package's data, or is unknown."""
    user = me()
    year = _year(year)
    view = uc.delete_year(db(), year, reason=body.reason, actor_name=_who(user), actor_id=user.id)
    if view is None:
        raise ApiError(
            404, "not_found", f"{year} 年未录入 / {year} was not entered", {"year": "not entered"}
        )
    return jsonify(view)
