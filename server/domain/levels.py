"""Levels of command (DESIGN §9) as ONE table: :data:`LEVELS`.

A region is at one level: 市 city → 县市区 county → 乡镇/街道 town → 社区/村 community (grids
belong to communities). A command centre is a region of a centre level (city, county, town)
whose ``centre`` flag is set (it has dispatchers): counties and cities are centres by default,
a town becomes one when its 综治中心 dispatches. Cases are held by one centre at a time
(``incidents.centre_id``) and move between centres with the routing moves of
:mod:`server.domain.workflow` (escalate, devolve, pull_up, copy). A routing rule (越级) per
category × urgency names the level a new case goes to first; without one, the case's town.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    CITY = "city"
    COUNTY = "county"
    TOWN = "town"
    COMMUNITY = "community"


LEVEL_LABELS: dict[Level, tuple[str, str]] = {
    Level.CITY: ("市", "City"),
    Level.COUNTY: ("县市区", "County"),
    Level.TOWN: ("乡镇/街道", "Town"),
    Level.COMMUNITY: ("社区/村", "Community"),
}

#: Levels that can hold a command centre, top first.
CENTRE_LEVELS: tuple[Level, ...] = (Level.CITY, Level.COUNTY, Level.TOWN)
#: Centre levels on by default (a new county or city region is a centre).
CENTRE_BY_DEFAULT: frozenset[Level] = frozenset({Level.CITY, Level.COUNTY})
#: Where a new case goes without a routing rule: its town (if the town is a centre).
DEFAULT_ROUTE = Level.TOWN


def depth(level: str) -> int:
    """0 for a city, 1 county, 2 town, 3 community (a smaller number is higher)."""
    return list(Level).index(Level(level))


def level_labels() -> dict[str, dict[str, str]]:
    return {lv.value: {"zh": zh, "en": en} for lv, (zh, en) in LEVEL_LABELS.items()}
