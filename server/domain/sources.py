"""Where a case comes from (``incidents.source``), and which role may say so.

A report's source feeds the by-source figures, so a reporter cannot pick any label: each role
files with the sources of its channel, the first one when the report names none. Open311 sets
``open311`` itself (a key's integration, never a user).

=============  =========================  =======================================
role           may file as                default
=============  =========================  =======================================
grid_worker    field                      field (the field app, out on the grid)
dispatcher     hotline, console           hotline (a call taken at the console)
admin          console, hotline, field    console
open311        open311                    open311
=============  =========================  =======================================
"""

from __future__ import annotations

from enum import StrEnum

from .workflow import Role


class Source(StrEnum):
    FIELD = "field"
    HOTLINE = "hotline"
    OPEN311 = "open311"
    CONSOLE = "console"


SOURCE_LABELS: dict[Source, tuple[str, str]] = {
    Source.FIELD: ("网格员上报", "Field"),
    Source.HOTLINE: ("12345 热线", "Hotline"),
    Source.OPEN311: ("Open311", "Open311"),
    Source.CONSOLE: ("控制台", "Console"),
}

# The Open311 integration files as itself: its "role" is its source's name.
OPEN311 = Source.OPEN311.value

ALLOWED_SOURCES: dict[str, tuple[str, ...]] = {
    Role.GRID_WORKER: (Source.FIELD,),
    Role.DISPATCHER: (Source.HOTLINE, Source.CONSOLE),
    Role.ADMIN: (Source.CONSOLE, Source.HOTLINE, Source.FIELD),
    OPEN311: (Source.OPEN311,),
}


def allowed_sources(role: str) -> tuple[str, ...]:
    """The sources this role may file a case with, the default first (empty: none)."""
    return ALLOWED_SOURCES.get(role, ())


def source_for(role: str, asked: str | None) -> str | None:
    """The source of a report by ``role`` naming ``asked`` (None/empty: the role's default);
    None when the role may not file with it."""
    allowed = allowed_sources(role)
    if not asked:
        return allowed[0] if allowed else None
    return asked if asked in allowed else None
