"""Service requests: which cases Open311 shows, how they look, and how a POST files one.

Only cases filed through this API with a key (those with an ``open311_requests`` row) exist for
Open311: field reports and hotline intake are the county's internal records (they may name
people, places of suspected crime or families in need) and are never listed or found here. The
case number is the ``service_request_id``; the case's UUID is the token.

What a request shows is public by construction: no reporter, caller or contact data (name,
phone, email, account_id, device_id), no internal notes — ``status_notes`` comes only from
events marked ``public`` (docs/events.md).
"""

from __future__ import annotations

import dataclasses
import re
import uuid as uuidlib
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from server.domain import workflow as wf
from server.models import Attachment, Category, Department, Incident, IncidentEvent, Region
from server.models.open311 import ApiKey, Open311Request
from server.open311.render import Open311Error
from server.open311.services import Service, describe_attributes, service_notice
from server.usecases import cases as uc
from server.usecases.context import Actor, Context
from server.usecases.errors import UseCaseError

OPEN_STATES = tuple(s.value for s in wf.State if s not in wf.TERMINAL_STATES)
CLOSED_STATES = tuple(s.value for s in wf.State if s in wf.TERMINAL_STATES)
MAX_RESULTS = 1000
#: ``service_request_id``s in one GET: 200 case numbers fit the request line gunicorn takes
#: (``limit_request_line``, 8190 bytes, its most; gunicorn.conf.py) in every form a client may
#: send them: a comma list with raw commas (15 bytes a number), with ``%2C`` (17, as Python's
#: requests writes it) or the argument repeated (34). Past the line gunicorn itself answers 414
#: in HTML, before the app could answer in Open311's form (a re-attack: 500 numbers with ``%2C``
#: were 8,563 bytes).
MAX_IDS = 200
MAX_SPAN = timedelta(days=90)
# Events whose note is the case's own description, not news about its status.
_NOT_STATUS_NOTES = (wf.Action.REPORT, wf.Action.SELF_HANDLE)


def status_of(state: str) -> str:
    return "closed" if state in CLOSED_STATES else "open"  # Open311's status, not a state


def w3c(value: datetime | None, tz: tzinfo) -> str | None:
    """A time as the spec writes them: 2026-11-23T11:18:38+08:00 (whole seconds)."""
    if value is None:
        return None
    return value.astimezone(tz).replace(microsecond=0).isoformat()


# --- reading ------------------------------------------------------------------------------


def _exposed() -> Select[Incident]:
    """The cases Open311 shows: those filed through it (see the module docstring)."""
    return select(Incident).join(Open311Request, Open311Request.incident_id == Incident.id)


def by_numbers(db: Session, numbers: list[str]) -> list[Incident]:
    """The exposed cases with these numbers, in the order asked (unknown ones left out)."""
    if not numbers:
        return []
    rows = {c.number: c for c in db.scalars(_exposed().where(Incident.number.in_(numbers)))}
    return [rows[n] for n in numbers if n in rows]


def by_token(db: Session, token: str) -> Incident | None:
    try:
        key = str(uuidlib.UUID(token))
    except ValueError:
        return None
    return db.scalar(_exposed().where(Incident.uuid == key))


def search(
    db: Session,
    *,
    service_codes: list[str] | None,
    start: datetime,
    end: datetime,
    statuses: set[str],
    limit: int = MAX_RESULTS,
) -> list[Incident]:
    stmt = _exposed().where(Open311Request.requested_at.between(start, end))
    if service_codes:
        stmt = stmt.where(
            Incident.category_id.in_(select(Category.id).where(Category.code.in_(service_codes)))
        )
    if statuses == {"open"}:
        stmt = stmt.where(Incident.state.in_(OPEN_STATES))
    elif statuses == {"closed"}:  # Open311's status
        stmt = stmt.where(Incident.state.in_(CLOSED_STATES))
    stmt = stmt.order_by(Open311Request.requested_at.desc(), Open311Request.id.desc()).limit(limit)
    return list(db.scalars(stmt))


@dataclasses.dataclass
class _Extras:
    notes: dict[int, str]
    media: dict[int, str]
    categories: dict[int, Category]
    departments: dict[int, Department]
    regions: dict[int, Region]


def _extras(db: Session, cases: list[Incident], media_url: Callable[[str], str]) -> _Extras:
    ids = [c.id for c in cases]
    notes: dict[int, str] = {}
    media: dict[int, str] = {}
    if ids:
        for incident_id, note in db.execute(
            select(IncidentEvent.incident_id, IncidentEvent.note)
            .where(
                IncidentEvent.incident_id.in_(ids),
                IncidentEvent.public.is_(True),
                IncidentEvent.note != "",
                IncidentEvent.action.not_in(_NOT_STATUS_NOTES),
            )
            .order_by(IncidentEvent.id)
        ):
            notes[incident_id] = note  # the latest one wins
        # The first photo of a public event, unless the client sent a media_url of its own.
        for photo_case, photo_uuid in db.execute(
            select(Attachment.incident_id, Attachment.uuid)
            .join(IncidentEvent, Attachment.event_id == IncidentEvent.id)
            .where(
                Attachment.incident_id.in_(ids),
                Attachment.status == "ready",
                IncidentEvent.public.is_(True),
            )
            .order_by(Attachment.id)
        ):
            if photo_case is not None:
                media.setdefault(photo_case, media_url(photo_uuid))
        for request_case, url in db.execute(
            select(Open311Request.incident_id, Open311Request.media_url).where(
                Open311Request.incident_id.in_(ids), Open311Request.media_url != ""
            )
        ):
            media[request_case] = url

    def load(model: Any, wanted: set[int | None]) -> dict[int, Any]:
        keys = {k for k in wanted if k is not None}
        if not keys:
            return {}
        return {row.id: row for row in db.scalars(select(model).where(model.id.in_(keys)))}

    return _Extras(
        notes=notes,
        media=media,
        categories=load(Category, {c.category_id for c in cases}),
        departments=load(Department, {c.department_id for c in cases}),
        regions=load(
            Region,
            {c.community_id for c in cases}
            | {c.town_id for c in cases}
            | {c.county_id for c in cases},
        ),
    )


def _address(case: Incident, regions: dict[int, Region]) -> str:
    if case.address:
        return case.address
    names = [
        regions[i].name
        for i in (case.community_id, case.town_id, case.county_id)
        if i is not None and i in regions
    ]
    return ", ".join(names)


def requests_json(
    db: Session, cases: list[Incident], tz: tzinfo, media_url: Callable[[str], str]
) -> list[dict[str, Any]]:
    """Cases as Open311 service requests (public fields only; see the module docstring)."""
    ex = _extras(db, cases, media_url)
    out = []
    for case in cases:
        cat = ex.categories.get(case.category_id)
        dep = ex.departments.get(case.department_id) if case.department_id else None
        updated = (
            case.closed_at if case.state == wf.State.CLOSED and case.closed_at else case.updated_at
        )
        out.append(
            {
                "service_request_id": case.number,
                "status": status_of(case.state),
                "status_notes": ex.notes.get(case.id),
                "service_name": cat.name if cat else None,
                "service_code": cat.code if cat else None,
                "description": case.description or None,
                "agency_responsible": dep.name if dep else None,
                "service_notice": service_notice(cat) if cat else None,
                "requested_datetime": w3c(case.reported_at, tz),
                "updated_datetime": w3c(updated, tz),
                "expected_datetime": w3c(case.deadline_at, tz),
                "address": _address(case, ex.regions) or None,
                "address_id": None,
                "zipcode": None,
                "lat": case.lat,
                "long": case.lon,
                "media_url": ex.media.get(case.id),
            }
        )
    return out


def public_photo(db: Session, photo_uuid: str) -> Attachment | None:
    """A photo Open311 may show: ready, on a public event of an exposed case."""
    return db.scalar(
        select(Attachment)
        .join(IncidentEvent, Attachment.event_id == IncidentEvent.id)
        .join(Open311Request, Attachment.incident_id == Open311Request.incident_id)
        .where(
            Attachment.uuid == photo_uuid,
            Attachment.status == "ready",
            IncidentEvent.public.is_(True),
        )
    )


# --- filing -------------------------------------------------------------------------------


@dataclasses.dataclass
class NewRequest:
    """A parsed, checked POST."""

    service: Service
    description: str
    lon: float | None
    lat: float | None
    address: str
    attributes: dict[str, Any]
    media_url: str
    caller_name: str
    caller_phone: str
    contact_email: str
    account_id: str
    device_id: str
    deadline: str = ""  # expected_datetime sent with the request: an explicit deadline


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_media_url(value: str) -> str | None:
    if len(value) > 1000:
        return "media_url is longer than 1000 characters"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "media_url must be an http(s) URL"
    return None


def check_email(value: str) -> str | None:
    if len(value) > 200 or not _EMAIL.match(value):
        return "email is not an email address"
    return None


def caller_name(first: str, last: str) -> str:
    """姓 + 名 for Chinese names (张 + 三 = 张三); "first last" otherwise."""
    if re.search(r"[\u3400-\u9fff]", first + last):
        return f"{last}{first}".strip()
    return f"{first} {last}".strip()


#: a request no county can take (``cases._unplaced``), in Open311's words
_UNPLACED = {
    "location_required": "lat and long are required: the api_key is bound to no single county "
    "(an address_string alone cannot be placed)",
    "outside_grids": "lat/long is outside every grid and the api_key is bound to no single "
    "county: nobody's queue would show the request",
}


def file(ctx: Context, key: ApiKey, req: NewRequest) -> Incident:
    """Create the case (``reported``, source ``open311``) and its Open311 record. A request
    with no grid (only an address, or a point outside every grid) lands in the county of the
    key's region, else the only county there is (``grid_locator.home_chain``, as for any
    report); with none, it is refused."""
    actor = dataclasses.replace(
        Actor.system("open311"), display_name=f"open311:{key.name}", region_id=key.region_id
    )
    text = req.description
    extra = describe_attributes(req.service, req.attributes)
    if extra:
        text = f"{text}\n\n【补充信息 / attributes】\n{extra}" if text else extra
    if req.media_url:
        text = f"{text}\n\n【媒体 / media】{req.media_url}" if text else req.media_url
    if len(text) > uc.MAX_DESCRIPTION:
        raise Open311Error(
            400, f"description with its attributes is longer than {uc.MAX_DESCRIPTION} characters"
        )
    case_uuid = str(uuidlib.uuid4())
    body: dict[str, Any] = {
        "uuid": case_uuid,
        "category_id": req.service.category.id,
        "description": text,
        "address": req.address,
        "caller_name": req.caller_name,
        "caller_phone": req.caller_phone,
        "contact_email": req.contact_email,
        "source": "open311",
    }
    if req.lon is not None and req.lat is not None:
        body.update(lon=req.lon, lat=req.lat)
    if req.deadline:
        body["deadline"] = req.deadline
    row = Open311Request(
        api_key_id=key.id,
        service_code=req.service.code,
        media_url=req.media_url,
        attributes=req.attributes or None,
        account_id=req.account_id,
        device_id=req.device_id,
    )

    def link(case: Incident) -> list[Any]:
        row.incident_id, row.requested_at = case.id, case.reported_at
        return [row]

    try:
        outcome = uc.report(ctx, actor, body, also=link)
    except UseCaseError as err:
        if err.code in _UNPLACED:
            raise Open311Error(400, _UNPLACED[err.code]) from None
        details = [f"{k}: {v}" for k, v in err.fields.items()]
        status = err.status if err.status in (403, 404) else 400
        raise Open311Error(status, err.message, *details) from None
    return outcome.case
