"""The Open311 GeoReport v2 endpoints under ``/open311/v2`` (docs/open311.md).

Every resource answers in XML (``.xml``, and when no format is given: XML is the format the
spec requires) or JSON (``.json``); errors come as the spec's array of ``{code, description}``
in the format the URL asked for.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, request, send_file, url_for
from werkzeug.exceptions import HTTPException

from server.api.util import context
from server.domain import years
from server.extensions import db, settings
from server.models.open311 import ApiKey
from server.open311 import keys
from server.open311 import service_requests as sr
from server.open311 import services as sv
from server.open311.render import FORMATS, Open311Error, render, render_error
from server.usecases import photos

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this discovery document or the shape of the service list last changed.
CHANGESET = "2026-11-23T00:00:00Z"
CONTACT = (
    "请联系本县网格化服务管理指挥中心 / contact the county grid management command centre "
    "(网格化服务管理指挥中心) that runs this server"
)
KEY_SERVICE = (
    "API key 由系统管理员签发，请向指挥中心申请 / API keys are issued by the system "
    "administrator of this server: ask the command centre for one"
)
ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


# --- plumbing -----------------------------------------------------------------------------


def _format_of_path(path: str) -> str:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    _, dot, ext = last.rpartition(".")
    return ext.lower() if dot and ext.lower() in FORMATS else "xml"


def _split(ident: str) -> tuple[str, str]:
    """``0101.json`` → (``0101``, ``json``); no extension → XML; another one → 400."""
    name, dot, ext = ident.rpartition(".")
    if not dot:
        return ident, "xml"
    if ext.lower() not in FORMATS:
        raise Open311Error(400, f"unsupported format .{ext}: use .xml or .json")
    return name, ext.lower()


def _fmt(ext: str | None) -> str:
    if ext is None:
        return "xml"
    if ext.lower() not in FORMATS:
        raise Open311Error(400, f"unsupported format .{ext}: use .xml or .json")
    return ext.lower()


def _arg(name: str) -> str:
    """An optional argument: empty is the same as absent (the spec's "Optional Arguments")."""
    return (request.values.get(name) or "").strip()


def _list_arg(name: str) -> list[str]:
    """A comma-delimited argument that may also be declared several times."""
    out: list[str] = []
    for value in request.values.getlist(name):
        for part in value.split(","):
            part = part.strip()
            if part and part not in out:
                out.append(part)
    return out


def _jurisdiction() -> None:
    served = settings().open311_jurisdiction.strip()
    asked = _arg("jurisdiction_id")
    if served and asked and asked.lower() != served.lower():
        raise Open311Error(404, f"jurisdiction_id {asked!r} not found: this server serves {served}")


def _resource(ident: str, field: str) -> tuple[str, str]:
    """The id and the format of a resource URL (``/services/0101.json``), in this jurisdiction.

    An empty id is a 400 that names ``field``.
    """
    value, fmt = _split(ident)
    _jurisdiction()
    if not value:
        raise Open311Error(400, f"{field} was not provided")
    return value, fmt


def _not_found(field: str, value: str) -> Open311Error:
    return Open311Error(404, f"{field} {value!r} not found")


def _tz() -> tzinfo:
    return ZoneInfo(settings().timezone)


def _media_url(photo_uuid: str) -> str:
    return url_for("open311.media", ident=f"{photo_uuid}.jpg", _external=True)


def _requests(cases: list[Any], fmt: str) -> Response:
    return render(fmt, "service_requests", sr.requests_json(db(), cases, _tz(), _media_url))


@bp.errorhandler(Open311Error)
def _open311_error(err: Open311Error) -> Response:
    return render_error(_format_of_path(request.path), err)


@bp.errorhandler(HTTPException)
def _http_error(err: HTTPException) -> Response:
    status = err.code if err.code in (403, 404) else 400
    text = f"{err.code} {err.name}: {err.description}" if err.code else str(err)
    return render_error(_format_of_path(request.path), Open311Error(status, text))


@bp.errorhandler(Exception)
def _unexpected(err: Exception) -> Response:
    current_app.logger.exception("open311: unhandled error on %s %s", request.method, request.path)
    text = "general service error (logged): please notify the administrator of this server"
    return render_error(_format_of_path(request.path), Open311Error(400, text))


@bp.before_request
def _readable_input() -> None:
    """Text PostgreSQL cannot store (NUL, unpaired surrogates) is a 400 before any query."""
    if "\x00" in request.path:
        raise Open311Error(400, "the path holds a NUL character")
    for name, value in request.values.items(multi=True):
        for text in (str(name), str(value)):
            if "\x00" in text or not _encodable(text):
                raise Open311Error(400, f"{name[:40]!r}: text with NUL or invalid characters")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@bp.after_request
def _headers(resp: Response) -> Response:
    # The data is public and no cookie is used: any web page may read it.
    if request.method in ("GET", "HEAD"):
        resp.headers.setdefault("Access-Control-Allow-Origin", "*")
    return resp


# --- discovery and services ---------------------------------------------------------------


@bp.get("/")
@bp.get("/discovery")
@bp.get("/discovery.<ext>")
def discovery(ext: str | None = None) -> Response:
    fmt = _fmt(ext)
    endpoint = {
        "specification": SPECIFICATION,
        "url": request.url_root.rstrip("/") + (bp.url_prefix or ""),
        "changeset": CHANGESET,
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    data = {
        "changeset": CHANGESET,
        "contact": CONTACT,
        "key_service": KEY_SERVICE,
        "endpoints": [endpoint],
    }
    return render(fmt, "discovery", data)


@bp.get("/services")
@bp.get("/services.<ext>")
def service_list(ext: str | None = None) -> Response:
    fmt = _fmt(ext)
    _jurisdiction()
    return render(fmt, "services", [sv.service_json(s) for s in sv.all_services(db())])


@bp.get("/services/<ident>")
def service_definition(ident: str) -> Response:
    code, fmt = _resource(ident, "service_code")
    svc = sv.find(db(), code)
    if svc is None:
        raise _not_found("service_code", code)
    return render(fmt, "service_definition", sv.definition_json(svc))


# --- requests -----------------------------------------------------------------------------

_LOST_PLUS = re.compile(r"(T\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$")


def _when(name: str, value: str, tz: tzinfo) -> datetime:
    # "+08:00" sent unencoded in a query string arrives as " 08:00".
    text = _LOST_PLUS.sub(r"\1+\2", value)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(
            400, f"{name} must be a W3C date/time such as 2026-11-01T00:00:00+08:00"
        ) from None
    if not years.in_range(when):  # the arithmetic below (± 90 days, time zones) stays sane
        raise Open311Error(
            400, f"{name} must be a date between the years {years.MIN_YEAR} and {years.MAX_YEAR}"
        )
    return when if when.tzinfo else when.replace(tzinfo=tz)


def _search() -> list[Any]:
    numbers = _list_arg("service_request_id")
    if numbers:  # overrides all other arguments
        if len(numbers) > sr.MAX_IDS:
            raise Open311Error(400, f"at most {sr.MAX_IDS} service_request_id at once")
        return sr.by_numbers(db(), numbers)
    tz = _tz()
    problems: list[str] = []
    start = end = None
    try:
        start = _when("start_date", _arg("start_date"), tz) if _arg("start_date") else None
    except Open311Error as err:
        problems += [d for _, d in err.errors]
    try:
        end = _when("end_date", _arg("end_date"), tz) if _arg("end_date") else None
    except Open311Error as err:
        problems += [d for _, d in err.errors]
    statuses = set(_list_arg("status"))
    if statuses - {"open", "closed"}:
        problems.append("status must be open, closed or both (comma delimited)")
    if start and end:
        if end < start:
            problems.append("end_date is before start_date")
        elif end - start > sr.MAX_SPAN:
            problems.append("start_date to end_date may not span more than 90 days")
    if problems:
        raise Open311Error(400, *problems)
    if start is None and end is None:
        end = context().now()
    if start is None:
        assert end is not None
        start = end - sr.MAX_SPAN
    if end is None:
        end = start + sr.MAX_SPAN
    return sr.search(
        db(),
        service_codes=_list_arg("service_code") or None,
        start=start,
        end=end,
        statuses=statuses or {"open", "closed"},
        limit=sr.MAX_RESULTS,
    )


@bp.get("/requests")
@bp.get("/requests.<ext>")
def request_list(ext: str | None = None) -> Response:
    fmt = _fmt(ext)
    _jurisdiction()
    return _requests(_search(), fmt)


@bp.get("/requests/<ident>")
def request_one(ident: str) -> Response:
    number, fmt = _resource(ident, "service_request_id")
    found = sr.by_numbers(db(), [number])
    if not found:
        raise _not_found("service_request_id", number)
    return _requests(found, fmt)


@bp.get("/tokens")
@bp.get("/tokens.<ext>")
def token_missing(ext: str | None = None) -> Response:
    _fmt(ext)
    _jurisdiction()
    raise Open311Error(400, "token was not provided")


@bp.get("/tokens/<ident>")
def token(ident: str) -> Response:
    value, fmt = _resource(ident, "token")
    case = sr.by_token(db(), value)
    if case is None:
        raise _not_found("token", value)
    return render(fmt, "service_requests", [{"service_request_id": case.number, "token": value}])


def _api_key() -> ApiKey:
    raw = _arg("api_key")
    if not raw:
        raise Open311Error(403, "api_key is missing -- can't proceed with create_request.")
    key = keys.lookup(db(), raw)
    if key is None:
        raise Open311Error(403, "Invalid api_key received -- can't proceed with create_request.")
    if key.revoked_at is not None:
        raise Open311Error(403, "api_key has been revoked -- can't proceed with create_request.")
    return key


_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]*)\](\[\])?$")


def _attributes(problems: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if "\x00" in request.path:
        raise Open311Error(400, "the path holds a NUL character")
    for name, value in request.values.items(multi=True):
        if not name.startswith("attribute"):
            continue
        m = _ATTRIBUTE.match(name)
        if m is None or not m.group(1).strip():
            problems.append(f"{name[:60]}: write attributes as attribute[code]=value")
            continue
        out.setdefault(m.group(1).strip(), []).append(str(value))
    return out


def _coordinates(problems: list[str]) -> tuple[float | None, float | None]:
    lat_s, lon_s = _arg("lat"), _arg("long")
    if not lat_s and not lon_s:
        return None, None
    if not lat_s or not lon_s:
        problems.append("lat and long must be sent together")
        return None, None
    try:
        lat, lon = sv.ascii_number(lat_s), sv.ascii_number(lon_s)
    except ValueError:
        problems.append("lat and long must be decimal degrees (WGS84)")
        return None, None
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        problems.append("lat must be within ±90 and long within ±180 (WGS84)")
        return None, None
    return lon, lat


def _limited(name: str, limit: int, problems: list[str]) -> str:
    value = _arg(name)
    if len(value) > limit:
        problems.append(f"{name} is longer than {limit} characters")
    return value


def _parse_post(svc: sv.Service) -> sr.NewRequest:
    problems: list[str] = []
    lon, lat = _coordinates(problems)
    address = _limited("address_string", 300, problems)
    if lon is None and not address and not problems:
        if _arg("address_id"):
            problems.append(
                "address_id is not supported by this server: send lat & long or address_string"
            )
        else:
            problems.append("a location is required: lat & long, or address_string")
    submitted = _attributes(problems)
    values, attribute_problems = sv.check_attributes(svc, submitted)
    problems += attribute_problems
    description = request.values.get("description") or ""
    if len(description) > 4000:
        problems.append("description is longer than 4000 characters")
    media_url = _arg("media_url")
    if media_url and (problem := sr.check_media_url(media_url)):
        problems.append(problem)
    email = _arg("email")
    if email and (problem := sr.check_email(email)):
        problems.append(problem)
    first, last = _limited("first_name", 50, problems), _limited("last_name", 50, problems)
    phone = _limited("phone", 32, problems)
    account_id = _limited("account_id", 100, problems)
    device_id = _limited("device_id", 100, problems)
    # An extension of GeoReport v2: the 办理时限 a hotline ticket arrives with (the same name
    # as the answer's expected_datetime), W3C/ISO 8601 with an offset.
    deadline = _limited("expected_datetime", 40, problems)
    if problems:
        raise Open311Error(400, *problems)
    return sr.NewRequest(
        service=svc,
        description=description.strip(),
        lon=lon,
        lat=lat,
        address=address,
        attributes=values,
        media_url=media_url,
        caller_name=sr.caller_name(first, last),
        caller_phone=phone,
        contact_email=email,
        account_id=account_id,
        device_id=device_id,
        deadline=deadline,
    )


@bp.post("/requests")
@bp.post("/requests.<ext>")
def request_create(ext: str | None = None) -> Response:
    fmt = _fmt(ext)
    if request.is_json:
        raise Open311Error(
            400, "send the request as application/x-www-form-urlencoded, as the spec says"
        )
    key = _api_key()
    _jurisdiction()
    code = _arg("service_code")
    if not code:
        raise Open311Error(400, "service_code was not provided")
    svc = sv.find(db(), code)
    if svc is None:
        raise _not_found("service_code", code)
    new = _parse_post(svc)
    case = sr.file(context(), key, new)
    answer = {
        "service_request_id": case.number,
        "service_notice": sv.service_notice(svc.category),
        "account_id": new.account_id or None,
    }
    return render(fmt, "service_requests", [answer])


# --- photos of public events, and everything else ------------------------------------------


@bp.get("/media/<ident>")
def media(ident: str) -> Response:
    name, _, ext = ident.rpartition(".")
    att = sr.public_photo(db(), name) if ext.lower() == "jpg" else None
    if att is None or att.sha256 is None:
        raise Open311Error(404, "no such media")
    path = photos.stored_path(context(), att.sha256)
    resp = send_file(path, mimetype="image/jpeg", max_age=86400, etag=True, conditional=True)
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp


@bp.route("/<path:rest>", methods=ALL_METHODS)
def unknown(rest: str) -> Response:
    adapter = current_app.url_map.bind_to_environ(request.environ)
    for method in ("GET", "POST"):
        if method == request.method:
            continue
        try:
            endpoint, _ = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != "open311.unknown":
            raise Open311Error(400, f"{request.method} is not supported here: use {method}")
    raise Open311Error(404, f"no such resource: {request.path}")
