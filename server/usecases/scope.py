"""Jurisdiction: which cases an actor may see (DESIGN §1, last paragraph).

- admin: every case;
- dispatcher, supervisor: cases in their region subtree (county, town or community);
- handler: cases currently with their department;
- grid worker: cases in their grids and the cases they reported;
- an integration (``open311``): every case (it only reads public fields).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_, true

from server.models import Incident
from server.usecases.context import Actor

_LEVEL_COLUMN = {
    "county": Incident.county_id,
    "town": Incident.town_id,
    "community": Incident.community_id,
}


def visible(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause selecting the cases ``actor`` may see."""
    if actor.role in {"admin", "open311"}:
        return true()
    if actor.role in {"dispatcher", "supervisor"}:
        if actor.region_id is None or actor.region_level not in _LEVEL_COLUMN:
            return false()
        return _LEVEL_COLUMN[actor.region_level] == actor.region_id
    if actor.role == "handler":
        if actor.department_id is None:
            return false()
        return Incident.department_id == actor.department_id
    if actor.role == "grid_worker":
        clauses: list[ColumnElement[bool]] = []
        if actor.id is not None:
            clauses.append(Incident.reporter_id == actor.id)
        if actor.grid_codes:
            clauses.append(Incident.grid_code.in_(sorted(actor.grid_codes)))
        return or_(*clauses) if clauses else false()
    return false()


def can_see(actor: Actor, case: Incident) -> bool:
    if actor.role in {"admin", "open311"}:
        return True
    if actor.role in {"dispatcher", "supervisor"}:
        column = {"county": case.county_id, "town": case.town_id, "community": case.community_id}
        return actor.region_id is not None and column.get(actor.region_level or "") == (
            actor.region_id
        )
    if actor.role == "handler":
        return actor.department_id is not None and case.department_id == actor.department_id
    if actor.role == "grid_worker":
        return (actor.id is not None and case.reporter_id == actor.id) or (
            case.grid_code is not None and case.grid_code in actor.grid_codes
        )
    return False


def sees_caller_phone(actor: Actor, case: Incident) -> bool:
    """Citizens' phone numbers: the command centre, admins, and the department handling it."""
    if actor.role in {"dispatcher", "admin"}:
        return True
    return actor.role == "handler" and case.department_id == actor.department_id


def mask_phone(phone: str) -> str:
    """13812345678 → 138****5678; short numbers are fully masked."""
    digits = phone.strip()
    if len(digits) >= 8:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)


def mask_name(name: str) -> str:
    """王先生 → 王**: the family name stays, so a callback can still address the caller."""
    return name[:1] + "*" * (len(name) - 1) if name else ""
