"""Command centres and routing (DESIGN §9, server/domain/levels.py): which centre holds a new
case, and which centres a case may move to. No Flask here.

A case's *line* is the chain of regions it lies in, from the deepest (its community, town or
county) up to the top (its city, if the installation has one). Every centre a case may be held
by is on its line: it is reported to one, and escalated, devolved or pulled up along it. A
department belongs to the centre of its region: the nearest centre at or above it (a town office
of a town without a centre belongs to the county's centre).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from server import cache
from server.domain.levels import CENTRE_LEVELS, DEFAULT_ROUTE, Level, depth
from server.models import Incident, Region

DB = Session | Connection


def regions(db: DB) -> dict[int, Any]:
    """Every region row by id (no geometry): the process's copy (server/cache.py) for a session."""
    if isinstance(db, Session):
        return cache.reference(db).regions
    cols = [c for c in Region.__table__.c if c.name != "boundary"]
    return {r.id: r for r in db.execute(select(*cols))}


def is_centre(region: Any) -> bool:
    return bool(region is not None and region.centre and region.level in CENTRE_LEVELS)


def chain(db: DB, region_id: int | None) -> list[Any]:
    """The region ``region_id`` and its ancestors, deepest first."""
    if region_id is None:
        return []
    rows = regions(db)
    region = rows.get(region_id)
    if region is None:
        return []
    ids = [int(p) for p in region.path.strip("/").split("/") if p]
    return [rows[i] for i in reversed(ids) if i in rows]


def county_in_path(db: DB, path: str) -> str:
    """The id (as text) of the county on a region path ("/9/1/5/" → "1" below city 9); the
    path's first id when no county is on it."""
    ids = [p for p in path.strip("/").split("/") if p]
    rows = regions(db)
    for rid in ids:
        region = rows.get(int(rid))
        if region is not None and region.level == Level.COUNTY:
            return rid
    return ids[0] if ids else ""


def case_line(db: DB, case: Incident) -> list[Any]:
    """The regions of the case's line, deepest first."""
    return chain(db, case.community_id or case.town_id or case.county_id)


def centres_on_line(db: DB, case: Incident) -> list[Any]:
    """The centres on the case's line, deepest first."""
    return [r for r in case_line(db, case) if is_centre(r)]


def centre_of_region(db: DB, region_id: int | None) -> int | None:
    """The centre a region's departments and people belong to: the nearest at or above it."""
    for r in chain(db, region_id):
        if is_centre(r):
            return int(r.id)
    return None


def centre_above(db: DB, case: Incident) -> Any | None:
    """The nearest centre above the one holding the case (escalate's target), or None."""
    line = centres_on_line(db, case)
    ids = [r.id for r in line]
    if case.centre_id not in ids:
        return None
    at = ids.index(case.centre_id)
    return line[at + 1] if at + 1 < len(line) else None


def centres_below(db: DB, case: Incident) -> list[Any]:
    """The centres below the one holding the case on its line (devolve's targets), nearest
    first."""
    line = centres_on_line(db, case)
    ids = [r.id for r in line]
    if case.centre_id not in ids:
        return []
    return list(reversed(line[: ids.index(case.centre_id)]))


def is_above_holder(db: DB, region_id: int | None, case: Incident) -> bool:
    """Is the centre ``region_id`` on the case's line, strictly above the holding centre?"""
    line = [r.id for r in centres_on_line(db, case)]
    if region_id not in line or case.centre_id not in line:
        return False
    return line.index(region_id) > line.index(case.centre_id)


@dataclass(frozen=True)
class Route:
    centre_id: int | None
    rule_id: int | None
    level: str
    copies: tuple[int, ...]


def route(db: Session, category_id: int, urgency: str, line_region_id: int | None) -> Route:
    """Where a new case goes: the category's routing rule (越级) per urgency when enabled, else
    the case's town. The first centre on the case's line at or above that level holds it (a
    town without a centre sends its cases to the county); with no centre at or above it, the
    nearest centre below it (a city-level rule in an installation without a city). The rule's
    copied departments that serve the case's line are copied."""
    ref = cache.reference(db)
    rule = ref.routing_rules.get((category_id, urgency))
    level = rule.level if rule is not None and rule.enabled else DEFAULT_ROUTE.value
    line = chain(db, line_region_id)
    centres = [r for r in line if is_centre(r)]
    at_or_above = [r for r in centres if depth(r.level) <= depth(level)]
    holder = at_or_above[0] if at_or_above else (centres[-1] if centres else None)
    copies: tuple[int, ...] = ()
    if rule is not None and rule.enabled and rule.copy_department_ids:
        on_line = {r.id for r in line}
        copies = tuple(
            d
            for d in rule.copy_department_ids
            if (dep := ref.departments.get(d)) is not None
            and dep.active
            and (dep.region_id is None or dep.region_id in on_line)
        )
    return Route(
        centre_id=int(holder.id) if holder is not None else None,
        rule_id=rule.id if rule is not None and rule.enabled else None,
        level=level,
        copies=copies,
    )


def centre_json(region: Any) -> dict[str, Any] | None:
    """A centre as cases show it: {id, code, name, level}."""
    if region is None:
        return None
    return {"id": region.id, "code": region.code, "name": region.name, "level": region.level}


def centres_json(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [c for r in rows if (c := centre_json(r)) is not None]
