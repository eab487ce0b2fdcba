"""Masking of citizens' personal data, and the old names of the case-visibility rules.

Who may see what is decided in :mod:`server.usecases.policy` (the one jurisdiction module);
``visible`` and ``can_see`` are kept here as its aliases.
"""

from __future__ import annotations

from server.domain import workflow as wf
from server.models import Incident
from server.usecases.context import Actor
from server.usecases.policy import cases_clause as visible
from server.usecases.policy import may_see_case as can_see

__all__ = ["can_see", "mask_name", "mask_phone", "sees_caller_phone", "visible"]


def sees_caller_phone(actor: Actor, case: Incident) -> bool:
    """Citizens' phone numbers: the command centre, admins, and the department handling it."""
    if actor.role in {wf.Role.DISPATCHER, wf.Role.ADMIN}:
        return True
    return actor.role == wf.Role.HANDLER and case.department_id == actor.department_id


def mask_phone(phone: str) -> str:
    """Hide at least 4 digits and at least half of them, whatever the length.

    A mobile (11 digits): 13812345678 → 138****5678 (the convention every Chinese app uses);
    any other number of 8 digits or more shows only its last 4 (62345678 → ****5678,
    0551-62345678 → ****-****5678); shorter ones are hidden entirely. Other characters (``-``,
    ``+``, spaces) stay.
    """
    text = phone.strip()
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    n = len(digits)
    if n == 11:
        shown = set(digits[:3] + digits[-4:])
    elif n >= 8:
        shown = set(digits[-4:])
    else:
        shown = set()
    return "".join(ch if (i in shown or not ch.isdigit()) else "*" for i, ch in enumerate(text))


def mask_name(name: str) -> str:
    """王先生 → 王**, 王五 → 王*: at most the first character (the family name, so a callback can
    still address the caller), never the whole name: 钱 → *."""
    if len(name) <= 1:
        return "*" * len(name)
    return name[:1] + "*" * (len(name) - 1)
