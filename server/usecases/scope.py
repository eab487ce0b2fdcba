"""Masking of citizens' personal data, and the old names of the case-visibility rules.

Who may see what is decided in :mod:`server.usecases.policy` (the one jurisdiction module);
``visible`` and ``can_see`` are kept here as its aliases.
"""

from __future__ import annotations

from server.models import Incident
from server.usecases.context import Actor
from server.usecases.policy import cases_clause as visible
from server.usecases.policy import may_see_case as can_see

__all__ = ["can_see", "mask_name", "mask_phone", "sees_caller_phone", "visible"]


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
