"""JSON shapes of cases, events and photos (docs/api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server import cache
from server.domain import workflow as wf
from server.domain.workflow import state_labels
from server.models import Attachment, Incident, IncidentEvent, User
from server.usecases import policy, routing, stages
from server.usecases.context import Actor, Context
from server.usecases.photos import sees_gps
from server.usecases.scope import mask_name, mask_phone, sees_caller_phone

_STATE_LABELS = state_labels()


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


_user_names = cache.PerKey(("people",))


class Lookups:
    """What serialising cases needs besides the case rows: reference rows from the process's
    cache (``server.cache``: no query while nothing changed), users' names (cached the same
    way, loaded for many cases in one query) and photo counts (one query per batch)."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.ref = cache.reference(db)
        self._names: dict[int, Any] = _user_names.get(db, "names", dict)
        self._photos: dict[int, tuple[int, str | None]] = {}
        self._numbers: dict[int, str] = {}

    def prefetch(self, cases: list[Incident]) -> None:
        self._load_users({c.reporter_id for c in cases})
        self._load_photos([c.id for c in cases if c.id not in self._photos])

    def _load_users(self, ids: set[int | None]) -> None:
        want = {i for i in ids if i is not None and i not in self._names}
        if want:
            for row in self.db.execute(select(User.id, User.display_name).where(User.id.in_(want))):
                self._names[row.id] = row

    def known_photos(self, incident_id: int, count: int, first: str | None) -> None:
        """The case's photo count and first photo, when the caller knows them already."""
        self._photos[incident_id] = (count, first)

    def _load_photos(self, ids: list[int]) -> None:
        """Photo count and the first photo of each case, in one query."""
        if not ids:
            return
        agg = (
            select(
                Attachment.incident_id.label("incident_id"),
                func.count().label("n"),
                func.min(Attachment.id).label("first"),
            )
            .where(Attachment.incident_id.in_(ids), Attachment.status == "ready")
            .group_by(Attachment.incident_id)
            .subquery()
        )
        rows = self.db.execute(
            select(agg.c.incident_id, agg.c.n, Attachment.uuid).join(
                Attachment, Attachment.id == agg.c.first
            )
        ).all()
        for i in ids:
            self._photos[i] = (0, None)
        for incident_id, n, first in rows:
            if incident_id is not None:  # never (the query asks for these cases' photos)
                self._photos[incident_id] = (int(n), first)

    def photos(self, incident_id: int) -> tuple[int, str | None]:
        if incident_id not in self._photos:
            self._load_photos([incident_id])
        return self._photos[incident_id]

    def category(self, i: int | None) -> Any:
        return self.ref.categories.get(i) if i is not None else None

    def department(self, i: int | None) -> Any:
        return self.ref.departments.get(i) if i is not None else None

    def region(self, i: int | None) -> Any:
        return self.ref.regions.get(i) if i is not None else None

    def grid(self, i: int | None) -> Any:
        return self.ref.grids.get(i) if i is not None else None

    def user(self, i: int | None) -> Any:
        if i is None:
            return None
        if i not in self._names:
            self._load_users({i})
        return self._names.get(i)

    def case_number(self, i: int | None) -> str | None:
        """The number people know a case by (a merge names its target by it, not by id)."""
        if i is None:
            return None
        if i not in self._numbers:
            number = self.db.scalar(select(Incident.number).where(Incident.id == i))
            if number is None:
                return None
            self._numbers[i] = number
        return self._numbers[i]


def _ref(obj: Any, *keys: str) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {k: getattr(obj, k) for k in keys}


def case_json(
    ctx: Context,
    actor: Actor,
    case: Incident,
    look: Lookups,
    actions: tuple[list[str], dict[str, list[str]]] | None = None,
) -> dict[str, Any]:
    """A case as ``actor`` sees it. ``actions``: the actions offered to the actor and where they
    lead (``allowed_actions``, ``allowed_next``), when the caller has worked them out already."""
    now = ctx.now()
    overdue = bool(
        case.deadline_at
        and case.state in (wf.State.DISPATCHED, wf.State.IN_PROGRESS)
        and case.deadline_at < now
    )
    time_left: float | None = None
    if case.deadline_at and case.state in (wf.State.DISPATCHED, wf.State.IN_PROGRESS):
        if case.urgency == "urgent":
            time_left = (case.deadline_at - now).total_seconds() / 3600
        elif case.deadline_at >= now:
            time_left = ctx.calendar.work_hours_between(now, case.deadline_at)
        else:
            time_left = -ctx.calendar.work_hours_between(case.deadline_at, now)
        time_left = round(time_left, 2)
    reporter = look.user(case.reporter_id)
    n_photos, first_photo = look.photos(case.id)
    sees_contact = sees_caller_phone(actor, case)
    if actions is None:
        offered = policy.allowed_actions(ctx.db, actor, case)
        then = policy.allowed_next(ctx.db, actor, case, offered)
    else:
        offered, then = actions
    return {
        "id": case.id,
        "uuid": case.uuid,
        "number": case.number,
        "state": case.state,
        "state_label": _STATE_LABELS[case.state]["zh"],
        "version": case.version,
        "source": case.source,
        "category": _ref(look.category(case.category_id), "id", "code", "name"),
        "description": case.description,
        "address": case.address,
        "lon": case.lon,
        "lat": case.lat,
        "accuracy_m": case.accuracy_m,
        "location_status": case.location_status,
        "grid": _ref(look.grid(case.grid_id), "id", "code", "name"),
        "community": _ref(look.region(case.community_id), "id", "code", "name"),
        "town": _ref(look.region(case.town_id), "id", "code", "name"),
        "centre": routing.centre_json(look.region(case.centre_id)),
        "centres_below": routing.centres_json(routing.centres_below(ctx.db, case))
        if wf.Action.DEVOLVE in offered
        else [],
        "copied_departments": [
            {"id": d.id, "name": d.name}
            for i in case.copied_department_ids or ()
            if (d := look.department(i)) is not None
        ],
        "reporter": {"id": reporter.id, "display_name": reporter.display_name}
        if reporter
        else None,
        "caller_name": case.caller_name if sees_contact else mask_name(case.caller_name),
        "caller_phone": case.caller_phone if sees_contact else mask_phone(case.caller_phone),
        "urgency": case.urgency,
        "department": _ref(look.department(case.department_id), "id", "name"),
        "deadline_at": iso(case.deadline_at),
        "fixed_deadline_at": iso(case.fixed_deadline_at),
        "stage": _stage(ctx, case),
        "overdue": overdue,
        "time_left_hours": time_left,
        "self_handled": case.self_handled,
        "pending_extension": case.pending_extension,
        "last_rating": case.last_rating,
        "duplicate_of": case.duplicate_of_id,
        "duplicate_of_number": look.case_number(case.duplicate_of_id),
        "photo_count": n_photos,
        "thumb_url": f"/api/v1/photos/{first_photo}/thumb" if first_photo else None,
        "reported_at": iso(case.reported_at),
        "created_at": iso(case.created_at),
        "updated_at": iso(case.updated_at),
        "last_event_id": case.last_event_id,
        "allowed_actions": offered,
        "allowed_next": then,
    }


def _stage(ctx: Context, case: Incident) -> dict[str, Any] | None:
    view = stages.stage_json(ctx, case)
    if view is not None:
        view["started_at"], view["due_at"] = iso(view["started_at"]), iso(view["due_at"])
    return view


def photo_json(att: Attachment, who: Actor) -> dict[str, Any]:
    """A photo; ``gps`` (the picture's EXIF position) and ``captured_lon``/``captured_lat``
    (the position the phone stated at upload) only for those who need the capture point
    (``photos.sees_gps``); ``captured_at`` and ``watermarked`` for everyone who sees it."""
    sees = sees_gps(who, att)
    shows_gps = att.gps_lon is not None and sees
    stated = att.captured_lon is not None and sees
    return {
        "uuid": att.uuid,
        "url": f"/api/v1/photos/{att.uuid}",
        "thumb_url": f"/api/v1/photos/{att.uuid}/thumb",
        "width": att.width,
        "height": att.height,
        "taken_at": iso(att.taken_at),
        "gps": [att.gps_lon, att.gps_lat] if shows_gps else None,
        "captured_at": iso(att.captured_at),
        "watermarked": bool(att.watermarked),
        "source": att.source,
        "captured_lon": att.captured_lon if stated else None,
        "captured_lat": att.captured_lat if stated else None,
    }


def event_json(
    event: IncidentEvent, look: Lookups, photos: list[Attachment], who: Actor
) -> dict[str, Any]:
    actor = look.user(event.actor_id)
    return {
        "id": event.id,
        "uuid": event.uuid,
        "action": event.action,
        "actor": {"id": actor.id, "display_name": actor.display_name} if actor else None,
        "actor_role": event.actor_role,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "created_at": iso(event.created_at),
        "device_time": iso(event.device_time),
        "note": event.note,
        "data": event.data,
        "lon": event.lon,
        "lat": event.lat,
        "photos": [photo_json(p, who) for p in photos],
    }
