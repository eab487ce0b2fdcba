"""Test data for the metrics: a small county, and cases written straight into the trail.

Cases are inserted with the models (``incidents`` + ``incident_events``), not through the use
cases, so that tests control every time stamp; the database triggers of migration 0002 fill
``metric_events`` as they would in production.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from shapely.geometry import MultiPolygon, box
from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from server.models import (
    Category,
    Department,
    Grid,
    GridPlan,
    Incident,
    IncidentEvent,
    Region,
    User,
)
from server.models.metric_events import MetricEvent
from tests import factories


@dataclass
class World:
    county: Region
    towns: list[Region]
    communities: list[Region]  # communities[i] belongs to towns[i // 2]
    grids: list[str]  # grid codes; grids[i] belongs to communities[i // 2]
    grid_ids: dict[str, int]
    categories: dict[str, Category]  # by code
    departments: dict[str, Department]  # by code
    workers: list[User]  # workers[i] is assigned grids[i]
    dispatcher: User
    supervisor: User
    town_supervisor: User  # region = towns[0]
    other_supervisor: User  # another county
    handler: User  # departments["CG"]
    admin: User
    other_county: Region
    community_of: dict[str, Region] = field(default_factory=dict)

    def town_of_grid(self, code: str) -> Region:
        return self.towns[self.grids.index(code) // 4]


def _box(n: int) -> MultiPolygon:
    return MultiPolygon([box(106 + n * 0.01, 38.0, 106.009 + n * 0.01, 38.009)])


def build_world(db: Session) -> World:
    """灵武市 with 2 towns × 2 communities × 2 grids, 3 departments, 2 major categories."""
    county = factories.region(db, "640181", "灵武市", "county")
    other_county = factories.region(db, "640122", "贺兰县", "county")
    towns = [
        factories.region(db, "640181001", "城区街道", "town", county),
        factories.region(db, "640181100", "东塔镇", "town", county),
    ]
    communities = [
        factories.region(
            db, f"{towns[i // 2].code[:9]}20{i}", f"社区{i}", "community", towns[i // 2]
        )
        for i in range(4)
    ]
    plan = GridPlan(region_id=county.id, version=1, status="active", source_name="test")
    db.add(plan)
    db.flush()
    grids: list[str] = []
    grid_ids: dict[str, int] = {}
    community_of: dict[str, Region] = {}
    for i in range(8):
        comm = communities[i // 2]
        code = f"{comm.code}{i % 2 + 1:03d}"
        g = Grid(plan_id=plan.id, code=code, name=f"网格{i}", community_id=comm.id, geom=_box(i))
        db.add(g)
        db.flush()
        grids.append(code)
        grid_ids[code] = g.id
        community_of[code] = comm
    departments = {}
    for code, name in (("CG", "城管局"), ("ZJ", "住建局"), ("JT", "交通局")):
        d = Department(code=code, name=name, region_id=county.id)
        db.add(d)
        departments[code] = d
    db.flush()
    categories: dict[str, Category] = {}
    for code, name, value, unit, dep in (
        ("01", "市容环境", 5, "work_days", None),
        ("0101", "暴露垃圾", 4, "work_hours", "CG"),
        ("02", "交通设施", 5, "work_days", None),
        ("0202", "道路破损", 5, "work_days", "JT"),
    ):
        parent = categories.get(code[:2]) if len(code) == 4 else None
        c = Category(
            code=code,
            name=name,
            limit_value=value,
            limit_unit=unit,
            urgent_hours=2,
            parent_id=parent.id if parent else None,
            default_department_id=departments[dep].id if dep else None,
        )
        db.add(c)
        db.flush()
        categories[code] = c
    workers = [
        factories.user(db, f"gw{i}", "grid_worker", region=community_of[g], grids=(g,))
        for i, g in enumerate(grids)
    ]
    world = World(
        county=county,
        towns=towns,
        communities=communities,
        grids=grids,
        grid_ids=grid_ids,
        categories=categories,
        departments=departments,
        workers=workers,
        dispatcher=factories.user(db, "dispatcher", "dispatcher", region=county),
        supervisor=factories.user(db, "supervisor", "supervisor", region=county),
        town_supervisor=factories.user(db, "town_sup", "supervisor", region=towns[0]),
        other_supervisor=factories.user(db, "other_sup", "supervisor", region=other_county),
        handler=factories.user(db, "handler", "handler", department=departments["CG"]),
        admin=factories.user(db, "admin", "admin"),
        other_county=other_county,
        community_of=community_of,
    )
    db.commit()
    return world


@dataclass
class Ev:
    """One event to write: action, state after it, server time, ``data``, actor."""

    action: str
    to_state: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    actor_id: int | None = None
    actor_role: str = "x"  # "system": the sweep (its yellow and red cards)


def add_case(
    db: Session,
    world: World,
    events: list[Ev],
    *,
    grid: str | None,
    category: str = "0101",
    reporter: User | None = None,
) -> Incident:
    """Write one case and its events (in list order: the event ids follow it)."""
    comm = world.community_of.get(grid) if grid else None
    town = world.town_of_grid(grid) if grid else None
    first = events[0].at
    case = Incident(
        uuid=str(uuid.uuid4()),
        number=uuid.uuid4().hex[:16],
        content_hash="x",
        source="field",
        state=events[-1].to_state,
        category_id=world.categories[category].id,
        grid_code=grid,
        grid_id=world.grid_ids.get(grid) if grid else None,
        community_id=comm.id if comm else None,
        town_id=town.id if town else None,
        county_id=world.county.id,
        reporter_id=reporter.id if reporter else None,
        self_handled=events[0].action == "self_handle",
        reported_at=first,
        created_at=first,
        updated_at=events[-1].at,
    )
    db.add(case)
    db.flush()
    state: str | None = None
    for ev in events:
        db.add(
            IncidentEvent(
                uuid=str(uuid.uuid4()),
                incident_id=case.id,
                action=ev.action,
                actor_id=ev.actor_id,
                actor_role=ev.actor_role,
                from_state=state,
                to_state=ev.to_state,
                created_at=ev.at,
                note="",
                data=ev.data,
            )
        )
        db.flush()  # one INSERT per event, in order
        state = ev.to_state
    return case


def clear_cases(db: Session) -> None:
    db.execute(delete(MetricEvent))
    db.execute(text("DELETE FROM ratings"))
    db.execute(text("DELETE FROM attachments"))
    db.execute(delete(IncidentEvent))
    db.execute(delete(Incident))
    db.commit()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def session(app: Flask) -> Session:
    return factories.session(app)
