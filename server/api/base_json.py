"""Base data as JSON: what each role sees of a place, household, resident, organisation, visit.

Identity numbers and phones are masks here, always (a clear value only through the reveal
endpoint). Tags of sensitive key-group kinds only for those who may see them
(``key_groups.visible_tag`` → ``policy.sees_sensitive``). The offline bundle's residents are
minimised further (:func:`min_resident_json`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from server import cache
from server.domain import identity
from server.models import (
    Household,
    KeyGroupKindRow,
    KeyGroupTag,
    LevelRequest,
    LifeEvent,
    Organisation,
    PersonalDataRead,
    Place,
    Residence,
    Resident,
    Visit,
)
from server.usecases import policy
from server.usecases.base_data import key_groups
from server.usecases.base_data.visits import DueItem, DueWeek
from server.usecases.context import Actor
from server.usecases.personal_data import mask_free_text

TagPairs = list[tuple[KeyGroupTag, KeyGroupKindRow]]


def _region(db: Session, region_id: int | None) -> dict[str, Any] | None:
    if region_id is None:
        return None
    r = cache.reference(db).regions.get(region_id)
    return {"id": r.id, "code": r.code, "name": r.name} if r else None


def region_json(db: Session, region_id: int | None) -> dict[str, Any] | None:
    return _region(db, region_id)


def _located(db: Session, row: Any) -> dict[str, Any]:
    return {
        "grid_code": row.grid_code,
        "community": _region(db, row.community_id),
        "town": _region(db, row.town_id),
    }


def place_json(db: Session, p: Place) -> dict[str, Any]:
    footprint = None
    if p.geom is not None and p.geom.geom_type in ("Polygon", "MultiPolygon"):
        footprint = p.geom.__geo_interface__
    return {
        "id": p.id,
        "uuid": p.uuid,
        "kind": p.kind,
        "parent_id": p.parent_id,
        "name": p.name,
        "address": p.address,
        "lon": p.lon,
        "lat": p.lat,
        "footprint": footprint,
        "active": p.active,
        "version": p.version,
        **_located(db, p),
    }


def household_json(db: Session, h: Household) -> dict[str, Any]:
    return {
        "id": h.id,
        "uuid": h.uuid,
        "place_id": h.place_id,
        "number": h.number,
        "note": mask_free_text(h.note),
        "version": h.version,
        **_located(db, h),
    }


def tag_json(tag: KeyGroupTag, kind: KeyGroupKindRow) -> dict[str, Any]:
    cycle = key_groups.cycle_of(kind, tag.level)
    return {
        "id": tag.id,
        "uuid": tag.uuid,
        "kind_code": kind.code,
        "kind_name": kind.name,
        "sensitive": kind.sensitive,
        "level": tag.level,
        "cycle": cycle.value if cycle else None,
        "since": tag.since.isoformat(),
        "ended_at": tag.ended_at.isoformat() if tag.ended_at else None,
        "version": tag.version,
    }


def resident_json(db: Session, r: Resident, tags: TagPairs, today: date) -> dict[str, Any]:
    return {
        "id": r.id,
        "uuid": r.uuid,
        "name": r.name,
        "id_number": r.id_mask or None,  # None: a newborn without one yet
        "sex": r.sex,
        # The year only: beside the mask (first 4, last 4) and the community, a full birth date
        # leaves about one candidate for the identity number (docs/security.md, "Masks").
        "birth_year": r.birth_date.year,
        "age": identity.age_on(r.birth_date, today),
        "phone": r.phone_mask or None,
        "registration": r.registration,
        "relation": r.relation,
        "household_id": r.household_id,
        "status": r.status,
        "version": r.version,
        "tags": [tag_json(t, k) for t, k in tags],
        **_located(db, r),
    }


def min_resident_json(r: Resident, tags: TagPairs) -> dict[str, Any]:
    """For the phone's offline copy: no birth day, masks only, tags by code and level."""
    return {
        "id": r.id,
        "uuid": r.uuid,
        "name": r.name,
        "sex": r.sex,
        "birth_year": r.birth_date.year,
        "id_number": r.id_mask or None,  # None: a newborn without one yet
        "phone": r.phone_mask or None,
        "registration": r.registration,
        "relation": r.relation,
        "household_id": r.household_id,
        "status": r.status,
        "grid_code": r.grid_code,
        "version": r.version,
        "tags": [{"id": t.id, "kind_code": k.code, "level": t.level, "version": t.version}
                 for t, k in tags],
    }  # fmt: skip


def residence_json(x: Residence) -> dict[str, Any]:
    return {
        "household_id": x.household_id,
        "started_on": x.started_on.isoformat(),
        "ended_on": x.ended_on.isoformat() if x.ended_on else None,
        "current": x.ended_at is None,
    }


def event_json(e: LifeEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "uuid": e.uuid,
        "kind": e.kind,
        "occurred_on": e.occurred_on.isoformat(),
        "household_id": e.household_id,
        "from_household_id": e.from_household_id,
        "note": mask_free_text(e.note),
        "actor_id": e.actor_id,
        "created_at": e.created_at.isoformat(),
    }


def kind_json(k: KeyGroupKindRow) -> dict[str, Any]:
    from server.domain.base_data import CYCLE_DAYS, Cycle

    return {
        "id": k.id,
        "code": k.code,
        "name": k.name,
        "sensitive": k.sensitive,
        "active": k.active,
        "builtin": k.builtin,
        "version": k.version,
        "levels": [{**lv, "cycle_days": CYCLE_DAYS[Cycle(lv["cycle"])]} for lv in k.levels or []],
    }


def request_json(
    req: LevelRequest, tag: KeyGroupTag, kind: KeyGroupKindRow, resident: Resident | None = None
) -> dict[str, Any]:
    return {
        "id": req.id,
        "tag_id": tag.id,
        "kind_code": kind.code,
        "resident_id": tag.resident_id,
        "resident_name": resident.name if resident else None,
        "from_level": req.from_level,
        "to_level": req.to_level,
        "reason": mask_free_text(req.reason),
        "status": req.status,
        "requested_by_id": req.requested_by_id,
        "requested_at": req.requested_at.isoformat(),
        "decided_by_id": req.decided_by_id,
        "decided_at": req.decided_at.isoformat() if req.decided_at else None,
        "decision_note": mask_free_text(req.decision_note),
    }


def organisation_json(db: Session, o: Organisation) -> dict[str, Any]:
    return {
        "id": o.id,
        "uuid": o.uuid,
        "name": o.name,
        "credit_code": o.credit_code,
        "kind": o.kind,
        "address": o.address,
        "place_id": o.place_id,
        "lon": o.lon,
        "lat": o.lat,
        "contact_name": o.contact_name,
        "contact_phone": o.contact_phone_mask or None,
        "active": o.active,
        "version": o.version,
        **_located(db, o),
    }


def visit_json(v: Visit, who: Actor, photos: list[str] | None = None) -> dict[str, Any]:
    """A visit; its ``lon``/``lat`` (where the visitor stood) only for those who may see a
    worker's position (``policy.may_see_visit_position``), else null."""
    at = policy.may_see_visit_position(who, v)
    return {
        "id": v.id,
        "uuid": v.uuid,
        "resident_id": v.resident_id,
        "household_id": v.household_id,
        "visitor_id": v.visitor_id,
        "visited_at": v.visited_at.isoformat(),
        "lon": v.lon if at else None,
        "lat": v.lat if at else None,
        "note": mask_free_text(v.note),
        "findings": mask_free_text(v.findings),
        "case_id": v.case_id,
        "grid_code": v.grid_code,
        "photos": photos or [],
    }


def due_item_json(item: DueItem) -> dict[str, Any]:
    return {
        "tag_id": item.tag.id,
        "resident_id": item.resident.id,
        "resident_name": item.resident.name,
        "household_id": item.resident.household_id,
        "kind_code": item.kind.code,
        "kind_name": item.kind.name,
        "level": item.tag.level,
        "cycle": item.cycle.value,
        "last_visit_at": item.last_visit_at.isoformat() if item.last_visit_at else None,
        "due_on": item.due.due_on.isoformat(),
        "status": item.due.status.value,
    }


def due_json(week: DueWeek, *, all_items: bool = True) -> dict[str, Any]:
    items = week.items if all_items else [i for i in week.items if i.due.counts_this_week]
    return {
        "week": {"from": week.monday.isoformat(), "to": week.sunday.isoformat()},
        "counts": week.counts(),
        "items": [due_item_json(i) for i in items],
    }


def read_json(x: PersonalDataRead, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": x.id,
        "at": x.at.isoformat(),
        "actor": {"id": x.actor_id, "display_name": names.get(x.actor_id or 0, "")},
        "actor_role": x.actor_role,
        "resident_id": x.resident_id,
        # a grid worker whose patrol tracks were read (purpose ``track``; ``fields`` names the day)
        "subject": (
            {"id": x.subject_user_id, "display_name": names.get(x.subject_user_id, "")}
            if x.subject_user_id is not None
            else None
        ),
        "purpose": x.purpose,
        "endpoint": x.endpoint,
        "reason": mask_free_text(x.reason),
        "fields": x.fields,
        "count": x.count,
    }


def visible_tags(db: Session, actor: Actor, residents: list[Resident]) -> dict[int, TagPairs]:
    from server.usecases.context import Context

    return key_groups.tags_of(Context(db=db), actor, residents)
