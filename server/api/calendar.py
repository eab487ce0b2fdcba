"""The statutory calendar API (``/api/v1/calendar``): every console role reads it, admins enter
a year's holidays and adjusted working days (调休上班日), by JSON or by importing a CSV/JSON
file. Each change is recorded in the calendar trail with who, when, why and what changed.
Thin: parsing and JSON around ``server.usecases.calendar``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from server.api.util import me
from server.domain.worktime import MAX_NAME, PACKAGE_YEARS, CalendarDay, CalendarInputError
from server.errors import ApiError
from server.extensions import db, settings
from server.models import User
from server.models.types import utcnow
from server.usecases import calendar as uc

bp = Blueprint("calendar", __name__, url_prefix="/api/v1/calendar")

READ_ROLES = ("dispatcher", "handler", "supervisor", "admin")
MAX_YEAR = 2100
MAX_DAYS = 366


class DayIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    day: date = Field(alias="date")
    name: str = Field(default="", max_length=MAX_NAME)


class YearIn(BaseModel):
    """PUT body: the whole year (what is not listed is an ordinary day)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    holidays: list[DayIn] = Field(default_factory=list, max_length=MAX_DAYS)
    workdays: list[DayIn] = Field(default_factory=list, max_length=MAX_DAYS)
    reason: str = Field(min_length=1, max_length=uc.MAX_REASON)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str = Field(min_length=1, max_length=uc.MAX_REASON)


def clock() -> datetime:
    """Now, from ``app.extensions["wangge.clock"]`` (tests set it), else the real time."""
    fn = current_app.extensions.get("wangge.clock") or utcnow
    return fn()  # type: ignore[no-any-return]


def today() -> date:
    """Today on the configured time zone's calendar."""
    from zoneinfo import ZoneInfo

    return clock().astimezone(ZoneInfo(settings().timezone)).date()


def _reader() -> User:
    user = me()  # 401 when signed out
    if user.role not in READ_ROLES:
        raise ApiError(
            403, "forbidden", "无权查看 / your role may not see this", required_roles=READ_ROLES
        )
    return user


def _admin() -> User:
    user = me()
    if user.role != "admin":
        raise ApiError(403, "forbidden", "仅限系统管理员 / admins only", required_roles=["admin"])
    return user


def _year(year: int) -> int:
    if not PACKAGE_YEARS.start <= year <= MAX_YEAR:
        raise ApiError(
            400,
            "validation_failed",
            f"年份应在 {PACKAGE_YEARS.start}–{MAX_YEAR} / a year {PACKAGE_YEARS.start}-{MAX_YEAR}",
            {"year": f"{PACKAGE_YEARS.start}-{MAX_YEAR}"},
        )
    return year


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


_MESSAGES = {
    "missing": "必填 / required",
    "extra_forbidden": "未知字段 / unknown field",
    "string_too_short": "不能为空 / must not be empty",
    "string_type": "应为文本 / must be text",
    "list_type": "应为列表 / must be a list",
    "model_type": "应为对象 / must be an object",
    "too_long": "条目过多 / too many items",
}


def _message(kind: str, english: str) -> str:
    if kind.startswith("date"):
        return "应为 YYYY-MM-DD 日期 / a date YYYY-MM-DD"
    return _MESSAGES.get(kind, f"输入无效 / {english}")


def _body(model: type[BaseModel]) -> Any:
    """The JSON body parsed by ``model``, or a 400 naming each bad field."""
    raw = request.get_data(cache=True)
    try:
        return model.model_validate_json(raw or b"{}")
    except PydanticValidationError as exc:
        fields: dict[str, str] = {}
        for e in exc.errors(include_url=False, include_input=False):
            if e["type"] == "json_invalid":
                raise ApiError(
                    400, "malformed_json", "请求体不是有效的 JSON / body is not valid JSON"
                ) from None
            fields.setdefault(_field(tuple(e["loc"])), _message(e["type"], e["msg"]))
        first = next(iter(fields))
        raise ApiError(400, "validation_failed", f"{first}: {fields[first]}", fields) from None


def _invalid(err: CalendarInputError) -> ApiError:
    first = next(iter(err.problems))
    return ApiError(400, "validation_failed", f"{first}: {err.problems[first]}", err.problems)


def _who(user: User) -> str:
    return user.display_name or user.username


@bp.get("")
def overview() -> Response:
    """The years there are with their source (database | package | unknown) and the warnings
    (e.g. "calendar: 2027 unknown" from 1 November)."""
    _reader()
    return jsonify(uc.overview(db(), today()))


@bp.get("/<int:year>")
def show_year(year: int) -> Response:
    """A year's holidays and adjusted working days, and where they come from."""
    _reader()
    return jsonify(uc.year_view(db(), _year(year)))


@bp.get("/<int:year>/changes")
def year_changes(year: int) -> Response:
    """The trail of a year, newest first: who, when, why, what was added, removed, renamed."""
    _reader()
    return jsonify({"items": uc.changes(db(), _year(year))})


@bp.put("/<int:year>")
def put_year(year: int) -> Response:
    """Enter a year: {holidays: [{date, name}], workdays: [{date, name}], reason}. Replaces the
    package's data (or an earlier entry) for that year."""
    user = _admin()
    year = _year(year)
    body: YearIn = _body(YearIn)
    days = [CalendarDay(d.day, "holiday", d.name) for d in body.holidays]
    days += [CalendarDay(d.day, "workday", d.name) for d in body.workdays]
    try:
        view = uc.replace_year(
            db(), year, days, reason=body.reason, actor_name=_who(user), actor_id=user.id
        )
    except CalendarInputError as err:
        raise _invalid(err) from None
    return jsonify(view)


@bp.post("/<int:year>/import")
def import_year(year: int) -> Response:
    """Enter a year from a file (multipart ``file``: CSV ``date,kind,name`` or JSON
    ``[{date, kind, name}]``) with a ``reason`` field."""
    user = _admin()
    year = _year(year)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(
            400, "validation_failed", "缺少文件 / file is required", {"file": "required"}
        )
    reason = request.form.get("reason", "")
    try:
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
    except CalendarInputError as err:
        raise _invalid(err) from None
    return jsonify(view)


@bp.delete("/<int:year>")
def delete_year(year: int) -> Response:
    """Remove an entered year ({reason}): it goes back to the package's data, or is unknown."""
    user = _admin()
    year = _year(year)
    body: ReasonIn = _body(ReasonIn)
    try:
        view = uc.delete_year(
            db(), year, reason=body.reason, actor_name=_who(user), actor_id=user.id
        )
    except CalendarInputError as err:
        raise _invalid(err) from None
    if view is None:
        raise ApiError(
            404, "not_found", f"{year} 年未录入 / {year} was not entered", {"year": "not entered"}
        )
    return jsonify(view)
