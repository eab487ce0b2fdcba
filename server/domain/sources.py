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

SOURCES = ("field", "hotline", "console", "open311")

ALLOWED_SOURCES: dict[str, tuple[str, ...]] = {
    "grid_worker": ("field",),
    "dispatcher": ("hotline", "console"),
    "admin": ("console", "hotline", "field"),
    "open311": ("open311",),
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
