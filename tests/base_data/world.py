"""Base data in the two-county world (tests/workflow/world.py, widened): in each of the grids
G1, G2 (community C, town T, county A), G3 (town T2, county A) and GB (county B) an estate, a
building, a unit, a room, a household, a resident living there (with a phone) who is in one
plain key group (独居老人, level 2) and one sensitive one (社区矫正对象, level 1), an
organisation, and a visit to the resident. Created through the use cases, as the grid worker of
each grid (wg1, wg2, wg3, wgb).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from server.domain.identity import make_credit_code, make_id_number
from server.usecases.base_data import key_groups, organisations, places, residents, visits
from tests.workflow.world import G1, G2, G3, GB, IN_G1, IN_G2, IN_G3, IN_GB, World

GRIDS = {
    "G1": (G1, IN_G1, "wg1"),
    "G2": (G2, IN_G2, "wg2"),
    "G3": (G3, IN_G3, "wg3"),
    "GB": (GB, IN_GB, "wgb"),
}
SEQ = {"G1": 1, "G2": 2, "G3": 3, "GB": 4}


def id_number(n: int, born: date = date(1950, 3, 4)) -> str:
    """A valid, fictitious identity number (region 640181, sequence n; odd: male)."""
    return make_id_number("640181", born, n)


def credit_code(n: int) -> str:
    return make_credit_code(f"91640181MA{n:07d}")


@dataclass
class Base:
    """Ids of the base-data rows, by grid name ("G1" …)."""

    estates: dict[str, int] = field(default_factory=dict)
    buildings: dict[str, int] = field(default_factory=dict)
    rooms: dict[str, int] = field(default_factory=dict)
    households: dict[str, int] = field(default_factory=dict)
    residents: dict[str, int] = field(default_factory=dict)
    id_numbers: dict[str, str] = field(default_factory=dict)
    phones: dict[str, str] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    sensitive_tags: dict[str, int] = field(default_factory=dict)
    organisations: dict[str, int] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)


def seed(w: World) -> Base:
    base = Base()
    for name, (_code, (lon, lat), worker) in GRIDS.items():
        n = SEQ[name]
        with w.session() as db:
            ctx, who = w.ctx(db), w.actor(db, worker)
            estate = places.create_place(
                ctx,
                who,
                {
                    "uuid": str(uuid.uuid4()),
                    "kind": "estate",
                    "name": f"幸福小区{name}",
                    "address": f"幸福路{n}号",
                    "lon": lon,
                    "lat": lat,
                },
            ).row
            building = places.create_place(
                ctx,
                who,
                {
                    "uuid": str(uuid.uuid4()),
                    "kind": "building",
                    "parent_id": estate.id,
                    "name": "1号楼",
                    "address": f"幸福路{n}号1号楼",
                },
            ).row
            unit = places.create_place(
                ctx,
                who,
                {
                    "uuid": str(uuid.uuid4()),
                    "kind": "unit",
                    "parent_id": building.id,
                    "name": "1单元",
                },
            ).row
            room = places.create_place(
                ctx,
                who,
                {
                    "uuid": str(uuid.uuid4()),
                    "kind": "room",
                    "parent_id": unit.id,
                    "name": "301",
                    "address": f"幸福路{n}号1号楼1单元301",
                },
            ).row
            household = places.create_household(
                ctx, who, {"uuid": str(uuid.uuid4()), "place_id": room.id, "number": f"H{n}"}
            ).row
            number = id_number(100 + n)
            phone = f"1381234{n:04d}"
            resident = residents.create_resident(
                ctx,
                who,
                {
                    "uuid": str(uuid.uuid4()),
                    "name": f"张{name}",
                    "id_number": number,
                    "phone": phone,
                    "relation": "head",
                    "household_id": household.id,
                    "moved_in_on": "2020-01-01",
                },
            ).row
            tag = key_groups.add_tag(
                ctx,
                who,
                resident.id,
                {
                    "uuid": str(uuid.uuid4()),
                    "kind_code": "elderly_alone",
                    "level": 2,
                    "since": "2024-01-01",
                },
            ).tag
            sensitive = key_groups.add_tag(
                ctx,
                who,
                resident.id,
                {
                    "uuid": str(uuid.uuid4()),
                    "kind_code": "community_correction",
                    "level": 1,
                    "since": "2024-01-01",
                },
            ).tag
            org = organisations.create(
                ctx,
                who,
                {
                    "uuid": str(uuid.uuid4()),
                    "name": f"公司{name}",
                    "credit_code": credit_code(n),
                    "kind": "enterprise",
                    "lon": lon,
                    "lat": lat,
                    "contact_phone": phone,
                },
            ).row
            visit = visits.create(
                ctx,
                who,
                {
                    "uuid": str(uuid.uuid4()),
                    "resident_id": resident.id,
                    "note": "走访",
                    "lon": lon,
                    "lat": lat,
                },
            ).visit
            base.estates[name] = estate.id
            base.buildings[name] = building.id
            base.rooms[name] = room.id
            base.households[name] = household.id
            base.residents[name] = resident.id
            base.id_numbers[name] = number
            base.phones[name] = phone
            base.tags[name] = tag.id
            base.sensitive_tags[name] = sensitive.id
            base.organisations[name] = org.id
            base.visits[name] = visit.id
    return base
