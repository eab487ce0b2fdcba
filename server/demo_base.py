"""The demo county's base data: addresses, buildings, households, residents, key groups, visits.

Every grid gets a 小区 (urban grids) or a 自然村 (the others) with a 门牌 on a synthetic street,
two or three buildings inside the grid, units and rooms, households in most rooms and two to
four residents each; about one resident in twelve belongs to a key group (sensitive kinds
too), and about half of those were visited in the last weeks, so 本周应访 · 已访 · 逾期 all show.
Small on purpose (~4,000 rooms, ~9,000 residents for ~320 grids): seeding stays quick.

Everyone is fictitious. Identity numbers carry a valid check digit but an obviously invented
pattern: the county's area code, a birth date, and a sequence number from 900 to 999 (the
range no 派出所 hands out in the demo county); phones are 170 0000 xxxx (a virtual-operator
block). Inserted in bulk, encrypted and hashed as the app stores them; the address-search
index is built at the end.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from server import cache
from server.domain.base_data import (
    LifeEventKind,
    PlaceKind,
    Registration,
    Relation,
    ResidentStatus,
)
from server.domain.identity import make_credit_code, make_id_number
from server.models import (
    Grid,
    GridAssignment,
    Household,
    KeyGroupKindRow,
    KeyGroupTag,
    Organisation,
    Place,
    Residence,
    Resident,
    Visit,
)
from server.models.base_data import LifeEvent
from server.models.types import utcnow
from server.usecases import address_search
from server.usecases.base_data import key_groups
from server.usecases.base_io import stored
from server.usecases.base_io.imports import _insert_returning, table_of
from server.usecases.context import Context
from server.usecases.personal_data import data_key

STREETS = [
    "灵州路",
    "朔方路",
    "枣园路",
    "长城路",
    "文化街",
    "团结路",
    "胜利街",
    "新华路",
    "建设路",
    "育才路",
    "东塔街",
    "崇兴路",
    "郝家桥路",
    "滨河路",
    "光明路",
    "振兴街",
]
ESTATES = [
    "阳光",
    "锦绣",
    "枣乡",
    "塞上",
    "明珠",
    "翠苑",
    "书香",
    "滨河",
    "盛世",
    "金色",
    "和谐",
    "康居",
]
VILLAGES = [
    "王家",
    "李家",
    "杨家",
    "马家",
    "张家",
    "刘家",
    "陈家",
    "周家",
    "新庄",
    "沙湾",
    "梧桐",
    "河滩",
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史黎贺顾毛郝龚邵万钱覃武戴孔汤庞樊兰殷"
)
GIVEN = (
    "秀兰桂英玉珍建华国强志明海燕春梅丽娟文军红霞永刚晓东丽萍俊杰子涵雨欣浩然一诺思远"
    "佳怡梓轩欣怡宇航天佑"
)
FICTITIOUS_SEQUENCE = 900  # identity-number sequences 900..999: the demo's invented range


def _name(rng: random.Random) -> str:
    n = rng.choice((1, 2, 2))
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(n))


def _born(rng: random.Random, low: int, high: int, today: date) -> date:
    age = rng.randint(low, high)
    return date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))


def seed_base_data(db: Session, rng: random.Random, data_key_text: str = "") -> str:
    """Seed the base data of every active grid that has no places yet (a second call after a
    county is added seeds that county's grids only)."""
    seeded = set(db.scalars(select(Place.grid_code).distinct()))
    key = data_key(data_key_text)
    now = utcnow()
    today = now.date()
    regions = cache.reference(db).regions
    grids = [
        g
        for g in db.scalars(select(Grid).where(Grid.valid_to.is_(None)).order_by(Grid.code))
        if g.code not in seeded
    ]
    if not grids:
        return "base data: every grid has places already; nothing seeded"
    workers: dict[str, int] = {}
    for code, uid in db.execute(select(GridAssignment.grid_code, GridAssignment.user_id)):
        workers.setdefault(code, uid)
    common = {"version": 1, "created_at": now, "updated_at": now}
    person_no = 0
    rooms: list[tuple[int, dict[str, Any]]] = []
    orgs: list[dict[str, Any]] = []
    for gi, grid in enumerate(grids):
        community = regions.get(grid.community_id)
        town = regions.get(community.parent_id) if community and community.parent_id else None
        loc = {
            "grid_code": grid.code,
            "community_id": grid.community_id,
            "town_id": town.id if town else None,
            "county_id": town.parent_id if town else None,
        }
        urban = town is not None and town.code.endswith("001000")
        street = STREETS[gi % len(STREETS)]
        number = gi // len(STREETS) + 1
        estate_name = (
            f"{ESTATES[gi % len(ESTATES)]}小区" if urban else f"{VILLAGES[gi % len(VILLAGES)]}村"
        )
        if not urban and gi >= len(VILLAGES):
            estate_name = f"{VILLAGES[gi % len(VILLAGES)]}{gi // len(VILLAGES) + 1}组"
        (estate,) = _insert_returning(
            db,
            Place,
            [
                {
                    "uuid": str(uuid.uuid4()),
                    "kind": PlaceKind.ESTATE.value,
                    "name": estate_name,
                    "address": "",
                    "active": True,
                    **loc,
                    **common,
                }
            ],
        )
        spot = grid.geom.representative_point()
        buildings = []
        for n in range(rng.randint(2, 3)):
            door = f"{street}{number}号" if urban else f"{estate_name}{number * 10 + n}号"
            lon, lat = round(spot.x + 0.0003 * n, 6), round(spot.y, 6)
            inside = grid.geom.contains(spot.__class__(lon, lat))
            buildings.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "kind": PlaceKind.BUILDING.value,
                    "parent_id": estate,
                    "name": f"{n + 1}栋" if urban else door,
                    "address": door,
                    "lon": lon if inside else round(spot.x, 6),
                    "lat": lat if inside else round(spot.y, 6),
                    "active": True,
                    **loc,
                    **common,
                }
            )
        bids = _insert_returning(db, Place, buildings)
        room_rows: list[dict[str, Any]] = []
        for bid, b in zip(bids, buildings, strict=True):
            if urban:
                units = _insert_returning(
                    db,
                    Place,
                    [
                        {
                            "uuid": str(uuid.uuid4()),
                            "kind": PlaceKind.UNIT.value,
                            "parent_id": bid,
                            "name": f"{u}单元",
                            "address": f"{b['address']}{b['name']}{u}单元",
                            "active": True,
                            **loc,
                            **common,
                        }
                        for u in (1, 2)
                    ],
                )
                for u, uid in enumerate(units, start=1):
                    for floor in (1, 2, 3):
                        for door_no in (1, 2):
                            name = f"{floor}0{door_no}"
                            room_rows.append(
                                {
                                    "uuid": str(uuid.uuid4()),
                                    "kind": PlaceKind.ROOM.value,
                                    "parent_id": uid,
                                    "name": name,
                                    "address": f"{b['address']}{b['name']}{u}单元{name}室",
                                    "active": True,
                                    **loc,
                                    **common,
                                }
                            )
            else:
                for r in (1, 2, 3):
                    room_rows.append(
                        {
                            "uuid": str(uuid.uuid4()),
                            "kind": PlaceKind.ROOM.value,
                            "parent_id": bid,
                            "name": f"{r}室",
                            "address": f"{b['address']}{r}室",
                            "active": True,
                            **loc,
                            **common,
                        }
                    )
        rooms.extend((rid, loc) for rid in _insert_returning(db, Place, room_rows))
        if gi % 6 == 0:
            first17 = f"91{_area(regions, loc)}MA{gi:07d}"
            orgs.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "name": f"{_county_name(regions, loc)}{estate_name}示例商贸有限公司",
                    "credit_code": make_credit_code(first17),
                    "kind": "enterprise",
                    "address": buildings[0]["address"],
                    "place_id": bids[0],
                    "lon": buildings[0]["lon"],
                    "lat": buildings[0]["lat"],
                    "contact_name": _name(rng),
                    "contact_phone_mask": "",
                    "active": True,
                    **loc,
                    **common,
                }
            )
    # households and residents
    occupied = [(rid, loc) for rid, loc in rooms if rng.random() < 0.85]
    hids = _insert_returning(
        db,
        Household,
        [
            {"uuid": str(uuid.uuid4()), "place_id": rid, "number": "", "note": "", **loc, **common}
            for rid, loc in occupied
        ],
    )
    people: list[dict[str, Any]] = []
    for hid, (_rid, loc) in zip(hids, occupied, strict=True):
        size = rng.choice((1, 2, 2, 3, 3, 3, 4))
        floating = rng.random() < 0.18
        for m in range(size):
            relation = (Relation.HEAD, Relation.SPOUSE, Relation.CHILD, Relation.PARENT)[min(m, 3)]
            ages = {
                Relation.HEAD: (28, 80),
                Relation.SPOUSE: (26, 78),
                Relation.CHILD: (0, 30),
                Relation.PARENT: (60, 92),
            }[relation]
            born = _born(rng, *ages, today)
            seq = FICTITIOUS_SEQUENCE + person_no % 100  # its last digit gives the sex
            ident = make_id_number(_area(regions, loc), born, seq)
            person_no += 1
            phone = f"1700000{person_no % 10000:04d}" if m < 2 else ""
            people.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "content_hash": "",
                    "name": _name(rng),
                    **stored.identity_columns(key, ident),
                    "birth_date": born,
                    "sex": "male" if int(ident[16]) % 2 else "female",
                    **stored.phone_columns(key, phone),
                    "registration": (
                        Registration.FLOATING if floating else Registration.REGISTERED
                    ).value,
                    "relation": relation.value,
                    "household_id": hid,
                    "status": ResidentStatus.ACTIVE.value,
                    **loc,
                    **common,
                }
            )
    people = _unique_ids(people)
    rids = _insert_returning(db, Resident, people)
    since = today - timedelta(days=rng.randint(200, 900))
    db.execute(
        insert(table_of(Residence)),
        [
            {
                "resident_id": rid,
                "household_id": p["household_id"],
                "started_on": since,
                "started_at": now,
            }
            for rid, p in zip(rids, people, strict=True)
        ],
    )
    db.execute(
        insert(table_of(LifeEvent)),
        [
            {
                "uuid": str(uuid.uuid4()),
                "content_hash": "",
                "resident_id": rid,
                "kind": LifeEventKind.MOVE_IN.value,
                "occurred_on": since,
                "household_id": p["household_id"],
                "note": "演示数据",
                "actor_role": "",
                "created_at": now,
            }
            for rid, p in zip(rids, people, strict=True)
        ],
    )
    # key groups and visits
    key_groups.ensure_builtin(Context(db=db))  # the built-in kinds are stored at first use
    kinds = list(db.scalars(select(KeyGroupKindRow).where(KeyGroupKindRow.active.is_(True))))
    tags: list[dict[str, Any]] = []
    visits: list[dict[str, Any]] = []
    for rid, p in zip(rids, people, strict=True):
        if rng.random() >= 0.08 or not kinds:
            continue
        age = today.year - p["birth_date"].year
        fit = [k for k in kinds if _fits(k.code, age)] or kinds
        kind = rng.choice(fit)
        level = rng.choice([lv["level"] for lv in kind.levels])
        tag_since = today - timedelta(days=rng.randint(20, 400))
        tags.append(
            {
                "uuid": str(uuid.uuid4()),
                "resident_id": rid,
                "kind_id": kind.id,
                "level": level,
                "since": tag_since,
                "note": "",
                "version": 1,
                "created_at": now,
            }
        )
        if rng.random() < 0.55:
            when = now - timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 8))
            visits.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "content_hash": uuid.uuid4().hex,
                    "resident_id": rid,
                    "household_id": p["household_id"],
                    "visitor_id": workers.get(p["grid_code"]),
                    "visited_at": when,
                    "device_time": when,
                    "note": "入户走访，情况稳定",
                    "findings": "",
                    "grid_code": p["grid_code"],
                    "community_id": p["community_id"],
                    "town_id": p["town_id"],
                    "county_id": p["county_id"],
                    "created_at": when,
                }
            )
    if tags:
        db.execute(insert(table_of(KeyGroupTag)), tags)
    if visits:
        db.execute(insert(table_of(Visit)), visits)
    if orgs:
        db.execute(insert(table_of(Organisation)), orgs)
    address_search.reindex_all(db)
    db.commit()
    return (
        f"base data: {len(rooms)} rooms, {len(hids)} households, {len(rids)} residents, "
        f"{len(tags)} key-group members, {len(visits)} visits, {len(orgs)} organisations"
    )


_CHILD_KINDS = {"left_behind_child", "key_youth"}
_OLD_KINDS = {"left_behind_elderly", "elderly_alone"}


def _area(regions: dict[int, Any], loc: dict[str, Any]) -> str:
    """The six-digit area code of the grid's county (灵武市 640181, 永宁县 640121)."""
    county = regions.get(loc["county_id"]) if loc["county_id"] else None
    return str(county.code[:6]) if county else "640181"


def _county_name(regions: dict[int, Any], loc: dict[str, Any]) -> str:
    county = regions.get(loc["county_id"]) if loc["county_id"] else None
    return str(county.name) if county else ""


def _fits(code: str, age: int) -> bool:
    if code in _CHILD_KINDS:
        return age < 18
    if code in _OLD_KINDS:
        return age >= 60
    return age >= 18


def _unique_ids(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop the rare person whose invented number repeats another's (same birth day and
    sequence): the keyed hash is unique."""
    seen: set[str] = set()
    out = []
    for p in people:
        if p["id_hash"] not in seen:
            seen.add(p["id_hash"])
            out.append(p)
    return out
