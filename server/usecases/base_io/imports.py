"""Import of base data from a filled-in template: addresses, residents, organisations.

Every row is checked before anything is stored:

1. the cells (:mod:`.rows`: required, check digits, choices, numbers);
2. duplicates inside the file (an identity number, a credit code, a room given twice);
3. against the database: already registered (by the keyed hash of the identity number, the
   credit code, the room), unknown 门牌/楼栋/单元/房号, a building already in another grid, a
   grid or a room outside the importer's jurisdiction.

Then, by ``store``: ``all`` (the default) stores the rows only when every row is valid;
``valid`` stores the valid rows and skips the bad ones (admins only, chosen explicitly);
``none`` only checks. Storing is bulk (Core ``INSERT`` of many rows at once, ids returned in
order), in the caller's transaction: all of it or nothing. The result names every bad row
(its number in the file, the column in Chinese, why) and becomes a .xlsx on request.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from shapely.geometry import Point
from sqlalchemy import Table, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server import cache
from server.domain import workflow as wf
from server.domain.address_text import normalise, place_key
from server.domain.base_data import PlaceKind, ResidentStatus
from server.domain.import_templates import (
    INSTRUCTIONS,
    TEMPLATES,
    TITLES,
    Column,
    ImportKind,
    header_key,
    match_header,
)
from server.models import Grid, GridPlan, Household, Organisation, Place, Resident
from server.models.base_data import Residence
from server.usecases import address_search, grid_locator, locks, policy
from server.usecases.base_data import duplicates
from server.usecases.base_io import stored
from server.usecases.base_io.rows import Row, check_row
from server.usecases.base_io.tabular import (
    LIMITS,
    Limits,
    SheetSpec,
    TableError,
    read_table,
    write_xlsx,
)
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict, Forbidden, TooLarge, ValidationFailed
from server.usecases.personal_data import data_key, normalise_phone

MAX_ROWS = LIMITS.max_rows
CHUNK = 500
BATCH = 5_000
ERRORS_IN_ANSWER = 500


class StoreMode(StrEnum):
    ALL = "all"  # store only when every row is valid (the default)
    VALID = "valid"  # store the valid rows, skip the bad ones (admins, chosen explicitly)
    NONE = "none"  # check only


STORE_LABELS = {
    StoreMode.ALL: ("全部有效才保存", "store only if every row is valid"),
    StoreMode.VALID: ("只保存有效行", "store the valid rows"),
    StoreMode.NONE: ("只检查，不保存", "check only"),
}


@dataclass
class ImportResult:
    kind: ImportKind
    file_kind: str
    encoding: str | None
    encoding_label: str
    mode: StoreMode
    rows: list[Row] = field(default_factory=list)
    stored: int = 0
    created: dict[str, int] = field(default_factory=dict)  # e.g. {"room": 120, "household": 3}

    @property
    def invalid(self) -> list[Row]:
        return [r for r in self.rows if not r.ok]

    def summary(self) -> dict[str, Any]:
        bad = self.invalid
        errors = [
            {"row": r.number, "column": col, "message": msg} for r in bad for col, msg in r.errors
        ]
        return {
            "kind": self.kind.value,
            "file_kind": self.file_kind,
            "encoding": self.encoding,
            "encoding_label": self.encoding_label,
            "store": self.mode.value,
            "rows": len(self.rows),
            "valid": len(self.rows) - len(bad),
            "invalid": len(bad),
            "stored": self.stored,
            "created": self.created,
            "errors": errors[:ERRORS_IN_ANSWER],
            "errors_total": len(errors),
        }


# --- who may import where ------------------------------------------------------------------------


def may_import(actor: Actor) -> bool:
    """Importing is writing base data: the roles that may write it (their jurisdiction)."""
    return actor.role in policy.BASE_WRITERS


def _check_mode(actor: Actor, mode: StoreMode) -> None:
    if mode is StoreMode.VALID and actor.role != wf.Role.ADMIN:
        raise Forbidden(
            "只有系统管理员可以选择“只保存有效行” / only admins may store the valid rows "
            "of a file with bad rows",
            code="store_valid_admins_only",
        )


# --- reading -------------------------------------------------------------------------------------


def _has_required(kind: ImportKind) -> Callable[[list[str]], bool]:
    need = {c.zh for c in TEMPLATES[kind] if c.required}

    def test(names: list[str]) -> bool:
        return need <= {header_key(n) for n in names}

    return test


def read_rows(
    kind: ImportKind, data: bytes, encoding: str | None, limits: Limits = LIMITS
) -> tuple[Any, list[Row]]:
    """The table and its rows by column key, or a ValidationFailed (TooLarge: a limit of
    ``limits`` other than the rows) naming the file's fault."""
    try:
        table = read_table(data, encoding, is_header=_has_required(kind), limits=limits)
        index, missing = match_header(kind, table.header)
        if missing:
            raise ValidationFailed(
                f"表头缺少必填列：{'、'.join(missing)}（请使用{TITLES[kind][0]}导入模板） / "
                f"the header lacks the required columns {', '.join(missing)} (use the "
                f"{TITLES[kind][1]} template)",
                code="bad_header",
                fields={"file": "表头缺少：" + "、".join(missing)},
                encoding=table.encoding,
            )
        rows = [
            Row(number, {key: cells[i] for key, i in index.items()}) for number, cells in table.rows
        ]
    except TableError as exc:
        error = TooLarge if exc.status == 413 else ValidationFailed
        raise error(f"{exc.zh} / {exc.en}", code=exc.code, fields={exc.field: exc.zh}) from None
    return table, rows


# --- helpers -------------------------------------------------------------------------------------


def _col(kind: ImportKind, key: str) -> Column:
    return next(c for c in TEMPLATES[kind] if c.key == key)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _already_stored(
    db: Session, rows: list[Row], key: str, stored_in: Any, column: Column, message: str
) -> list[Row]:
    """Fail each row whose ``values[key]`` ``stored_in`` (a model column) already holds, asked in
    chunks (an empty value is never taken), on ``column`` with ``message``; the rows still good."""
    good = [r for r in rows if r.ok]
    taken: set[Any] = set()
    for part in _chunks([r.values[key] for r in good]):
        taken.update(
            v for v in db.execute(select(stored_in).where(stored_in.in_(part))).scalars() if v
        )
    for r in good:
        if r.values[key] in taken:
            r.fail(column, message)
    return [r for r in good if r.ok]


def _duplicates(rows: list[Row], key: Callable[[Row], Any], column: Column) -> None:
    first: dict[Any, int] = {}
    for row in rows:
        if not row.ok:
            continue
        k = key(row)
        if k is None:
            continue
        if k in first:
            row.fail(column, f"与第 {first[k]} 行重复")
        else:
            first[k] = row.number


def table_of(model: Any) -> Table:
    """A model's table, for Core bulk inserts (no ORM bookkeeping per row)."""
    return cast(Table, model.__table__)


def _insert_returning(db: Session, model: Any, values: list[dict[str, Any]]) -> list[int]:
    """Insert many rows (each with a fresh ``uuid``); their ids in the order given.

    A plain Core ``executemany`` (SQLAlchemy batches it into multi-row ``VALUES`` on
    PostgreSQL; SQLite's executemany is fast as it is), then the ids read back by uuid:
    ``RETURNING`` with the order of the parameters kept ran one statement per row on SQLite."""
    table = table_of(model)
    for part in _chunks(values, BATCH):
        db.execute(insert(table), list(part))
    ids: dict[str, int] = {}
    keys = [v["uuid"] for v in values]
    for part in _chunks(keys, CHUNK):
        ids.update(
            (u, i)
            for i, u in db.execute(select(table.c.id, table.c.uuid).where(table.c.uuid.in_(part)))
        )
    return [ids[k] for k in keys]


@dataclass(frozen=True)
class GridInfo:
    grid_code: str
    community_id: int
    town_id: int | None
    county_id: int | None


def _active_grids(db: Session, codes: Iterable[str]) -> dict[str, GridInfo]:
    regions = cache.reference(db).regions
    out: dict[str, GridInfo] = {}
    for part in _chunks(sorted(set(codes))):
        for code, community_id in db.execute(
            select(Grid.code, Grid.community_id)
            .join(GridPlan, Grid.plan_id == GridPlan.id)
            .where(Grid.code.in_(list(part)), GridPlan.status == "active")
        ):
            community = regions.get(community_id)
            town = regions.get(community.parent_id) if community and community.parent_id else None
            county = regions.get(town.parent_id) if town and town.parent_id else None
            out[code] = GridInfo(
                code, community_id, town.id if town else None, county.id if county else None
            )
    return out


def _located(p: Any) -> dict[str, Any]:
    return {
        "grid_code": p.grid_code,
        "community_id": p.community_id,
        "town_id": p.town_id,
        "county_id": p.county_id,
    }


# --- addresses -----------------------------------------------------------------------------------


@dataclass
class _Node:
    id: int | None
    kind: str
    parent: _Node | None
    name: str
    address: str
    grid: GridInfo | None
    row: int | None = None  # the file row that made it (new nodes)
    lon: float | None = None
    lat: float | None = None
    children: dict[str, _Node] = field(default_factory=dict)


def _room_address(door: str, building: str, unit: str, room: str) -> str:
    parts = [door]
    if building and place_key(building) != place_key(door):
        parts.append(building)
    if unit:
        parts.append(unit if not unit.isdigit() else f"{unit}单元")
    if room:
        parts.append(room if not room.isdigit() else f"{room}室")
    return "".join(parts)


def _check_addresses(ctx: Context, actor: Actor, rows: list[Row]) -> dict[str, Any]:
    db = ctx.db
    k = ImportKind.ADDRESSES
    good = [r for r in rows if r.ok]
    grids = _active_grids(db, {r.values["grid_code"] for r in good})
    for r in good:
        found = grids.get(r.values["grid_code"])
        if found is None:
            r.fail(_col(k, "grid_code"), "网格编码不存在（或不在现行网格方案中）")
        elif not policy.may_edit_base(actor, found):
            r.fail(_col(k, "grid_code"), "该网格不在您的管辖范围内")
        else:
            r.values["grid"] = found
    good = [r for r in good if r.ok]
    # points: inside the row's grid
    tol = ctx.locate_tolerance_m
    for r in good:
        if r.values.get("lon") is not None:
            hit = grid_locator.locate(db, r.values["lon"], r.values["lat"], tol)
            if hit.grid_code and hit.grid_code != r.values["grid_code"]:
                r.fail(_col(k, "lon"), f"坐标在网格 {hit.grid_code} 内，不在本行的网格")
            elif hit.grid_code is None:
                r.fail(_col(k, "lon"), "坐标不在任何网格内")
    good = [r for r in good if r.ok]

    # the existing tree of the communities named
    communities = sorted({r.values["grid"].community_id for r in good})
    estates: dict[tuple[int, str], _Node] = {}
    by_id: dict[int, _Node] = {}

    def node_of(p: Any, parent: _Node | None) -> _Node:
        g = GridInfo(p.grid_code, p.community_id, p.town_id, p.county_id) if p.grid_code else None
        n = _Node(p.id, p.kind, parent, p.name, p.address or "", g)
        by_id[p.id] = n
        if parent is not None:
            parent.children[place_key(p.name)] = n
        return n

    cols = (
        Place.id,
        Place.kind,
        Place.parent_id,
        Place.name,
        Place.address,
        Place.grid_code,
        Place.community_id,
        Place.town_id,
        Place.county_id,
    )
    for part in _chunks(communities):
        for p in db.execute(
            select(*cols).where(
                Place.kind == PlaceKind.ESTATE.value, Place.community_id.in_(list(part))
            )
        ):
            estates[(p.community_id, place_key(p.name))] = node_of(p, None)
    level = sorted(by_id)
    while level:
        nxt: list[int] = []
        for part in _chunks(level):
            for p in db.execute(select(*cols).where(Place.parent_id.in_(list(part)))):
                node_of(p, by_id[p.parent_id])
                nxt.append(p.id)
        level = nxt

    # each row's path, creating new nodes; a leaf given twice or already there is a duplicate
    for r in good:
        v = r.values
        g: GridInfo = v["grid"]
        ekey = (g.community_id, place_key(v["estate"]))
        estate = estates.get(ekey)
        if estate is None:
            estate = _Node(None, PlaceKind.ESTATE.value, None, v["estate"], "", g, r.number)
            estates[ekey] = estate
        bname = v["building"] or v["address"]
        building = estate.children.get(place_key(bname))
        if building is None:
            building = _Node(
                None, PlaceKind.BUILDING.value, estate, bname, v["address"], g, r.number
            )
            estate.children[place_key(bname)] = building
        else:
            if building.grid and building.grid.grid_code != g.grid_code:
                where = f"第 {building.row} 行" if building.id is None else "已登记"
                if building.id is None or policy.may_see_base(actor, building.grid):
                    why = f"{where}属于网格 {building.grid.grid_code}，不是 {g.grid_code}"
                else:  # another's grid: not which one
                    why = "已登记在其他网格，不在您的管辖范围内"
                r.fail(_col(k, "grid_code"), f"楼栋「{building.name}」{why}")
                continue
            if building.address and normalise(building.address) != normalise(v["address"]):
                r.fail(
                    _col(k, "address"),
                    f"楼栋「{building.name}」的门牌是「{building.address}」，与本行不同",
                )
                continue
        if v["lon"] is not None and building.lon is None:
            building.lon, building.lat = v["lon"], v["lat"]
        leaf = building
        if v["unit"]:
            unit = building.children.get(place_key(v["unit"]))
            if unit is None:
                unit = _Node(
                    None,
                    PlaceKind.UNIT.value,
                    building,
                    v["unit"],
                    _room_address(v["address"], bname, v["unit"], ""),
                    building.grid or g,
                    r.number,
                )
                building.children[place_key(v["unit"])] = unit
            leaf = unit
        if v["room"]:
            room = leaf.children.get(place_key(v["room"]))
            if room is not None:
                where = f"与第 {room.row} 行重复" if room.id is None else "该房屋已登记"
                r.fail(_col(k, "room"), where)
                continue
            room = _Node(
                None,
                PlaceKind.ROOM.value,
                leaf,
                v["room"],
                _room_address(v["address"], bname, v["unit"], v["room"]),
                leaf.grid or g,
                r.number,
            )
            leaf.children[place_key(v["room"])] = room
            leaf = room
        elif leaf.id is not None or (leaf.row is not None and leaf.row != r.number):
            column = "unit" if v["unit"] else "building"
            where = "已登记" if leaf.id is not None else f"与第 {leaf.row} 行重复"
            r.fail(_col(k, column), f"「{leaf.name}」{where}")
            continue
        v["leaf"] = leaf
    return {"estates": estates}


def _store_addresses(ctx: Context, actor: Actor, rows: list[Row], _state: dict[str, Any]) -> int:
    """Create the new estates, buildings, units and rooms of the valid rows, level by level."""
    keep: dict[int, _Node] = {}
    for r in rows:
        if r.ok and "leaf" in r.values:
            n: _Node | None = r.values["leaf"]
            while n is not None and n.id is None:
                keep[id(n)] = n
                n = n.parent
    now = ctx.now()
    created: list[int] = []
    # the first level: new nodes under a place already stored (or new estates), whatever
    # their depth — a room added to a registered unit is stored too
    level = [n for n in keep.values() if n.parent is None or n.parent.id is not None]
    while level:
        values = []
        for n in level:
            g = n.grid
            values.append(
                {
                    "uuid": str(uuidlib.uuid4()),
                    "kind": n.kind,
                    "parent_id": n.parent.id if n.parent else None,
                    "name": n.name,
                    "address": n.address,
                    "lon": n.lon,
                    "lat": n.lat,
                    "geom": Point(n.lon, n.lat) if n.lon is not None else None,
                    "active": True,
                    "grid_code": g.grid_code if g else None,
                    "community_id": g.community_id if g else None,
                    "town_id": g.town_id if g else None,
                    "county_id": g.county_id if g else None,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "created_by_id": actor.id,
                }
            )
        ids = _insert_returning(ctx.db, Place, values)
        for n, new_id in zip(level, ids, strict=True):
            n.id = new_id
        created.extend(ids)
        level = [c for n in level for c in n.children.values() if id(c) in keep]
    address_search.index_places(ctx.db, created)
    return len(created)


# --- residents and organisations: finding the place ---------------------------------------------


@dataclass(frozen=True)
class _P:
    """A place as the checks need it (a plain row, not an ORM object: 100,000 of them load
    in a fraction of the time)."""

    id: int
    kind: str
    parent_id: int | None
    name: str
    key: str  # place_key(name)
    address: str
    lon: float | None
    lat: float | None
    grid_code: str | None
    community_id: int | None
    town_id: int | None
    county_id: int | None


_P_COLUMNS = (
    Place.id,
    Place.kind,
    Place.parent_id,
    Place.name,
    Place.address,
    Place.lon,
    Place.lat,
    Place.grid_code,
    Place.community_id,
    Place.town_id,
    Place.county_id,
)


def _p(row: Any) -> _P:
    return _P(
        row.id,
        row.kind,
        row.parent_id,
        row.name,
        place_key(row.name),
        row.address or "",
        row.lon,
        row.lat,
        row.grid_code,
        row.community_id,
        row.town_id,
        row.county_id,
    )


NOT_FOUND = "门牌地址「{}」未登记或不在您的管辖范围内（请先导入地址）"


class _Places:
    """The places named by 门牌 in a file, and the units and rooms under them, of those the
    importer may edit: a place outside their jurisdiction is not there at all, so that every
    answer about it is the same "not registered or not yours" (no word on its buildings, units,
    rooms or grid)."""

    def __init__(self, db: Session, actor: Actor, addresses: Iterable[str]) -> None:
        self.by_address: dict[str, list[_P]] = {}
        self.children: dict[int, dict[str, _P]] = {}
        wanted = sorted({a for a in addresses if a})
        found: list[_P] = []
        for part in _chunks(wanted):
            found.extend(
                p
                for p in (
                    _p(r)
                    for r in db.execute(select(*_P_COLUMNS).where(Place.address.in_(list(part))))
                )
                if _editable(actor, p)
            )
        for p in found:
            self.by_address.setdefault(normalise(p.address), []).append(p)
        level = [p.id for p in found if p.kind in (PlaceKind.ESTATE, PlaceKind.BUILDING)]
        seen = set(level)
        while level:
            nxt: list[int] = []
            for part in _chunks(level):
                for r in db.execute(select(*_P_COLUMNS).where(Place.parent_id.in_(list(part)))):
                    p = _p(r)
                    if not _editable(actor, p):
                        continue
                    self.children.setdefault(r.parent_id, {})[p.key] = p
                    if p.id not in seen and p.kind != PlaceKind.ROOM:
                        seen.add(p.id)
                        nxt.append(p.id)
            level = nxt
        self._memo: dict[tuple[str, str, str, str], tuple[_P | None, str, str]] = {}

    def find(self, address: str, building: str, unit: str, room: str) -> tuple[_P | None, str, str]:
        """(the place, "", "") or (None, column key, why)."""
        key = (address, building, unit, room)
        if key not in self._memo:
            self._memo[key] = self._find(address, building, unit, room)
        return self._memo[key]

    def _find(
        self, address: str, building: str, unit: str, room: str
    ) -> tuple[_P | None, str, str]:
        candidates = self.by_address.get(normalise(address), [])
        if not candidates:
            return None, "address", NOT_FOUND.format(address)
        if not (building or unit or room):
            rooms = [p for p in candidates if p.kind == PlaceKind.ROOM]
            if len(rooms) == 1:
                return rooms[0], "", ""
        buildings = [p for p in candidates if p.kind == PlaceKind.BUILDING]
        at: _P
        if building:
            bkey = place_key(building)
            match = [p for p in buildings if p.key == bkey]
            if not match:
                # the building named under an estate with this 门牌
                for est in (p for p in candidates if p.kind == PlaceKind.ESTATE):
                    b = self.children.get(est.id, {}).get(bkey)
                    if b is not None:
                        match = [b]
                        break
            if not match:
                return None, "building", f"门牌「{address}」下没有楼栋「{building}」"
            at = match[0]
        elif len(buildings) == 1:
            at = buildings[0]
        elif buildings:
            return None, "building", f"门牌「{address}」下有多栋楼，请填写楼栋"
        else:
            at = candidates[0]
        if unit:
            u = self.children.get(at.id, {}).get(place_key(unit))
            if u is None:
                return None, "unit", f"「{at.name}」下没有单元「{unit}」"
            at = u
        if room:
            rm = self.children.get(at.id, {}).get(place_key(room))
            if rm is None:
                return None, "room", f"「{at.name}」下没有房号「{room}」"
            at = rm
        return at, "", ""


def _editable(actor: Actor, place: _P) -> bool:
    return bool(place.grid_code) and policy.may_edit_base(actor, place)


IMPORT_ENDPOINT = "base_io.run_import"


def _check_residents(ctx: Context, actor: Actor, rows: list[Row]) -> dict[str, Any]:
    """The place first (in the importer's jurisdiction), then the number against those
    registered, by the rule of ``base_data.duplicates`` (the same as the API's)."""
    db = ctx.db
    k = ImportKind.RESIDENTS
    key = data_key(ctx.data_key_text)
    good = [r for r in rows if r.ok]
    _duplicates(good, lambda r: r.values["id_number"], _col(k, "id_number"))
    good = [r for r in good if r.ok]
    places = _Places(db, actor, (r.values["address"] for r in good))
    for r in good:
        v = r.values
        place, column, why = places.find(v["address"], v["building"], v["unit"], v["room"])
        if place is None:
            r.fail(_col(k, column), why)
            continue
        if place.kind != PlaceKind.ROOM:
            r.fail(_col(k, "room"), f"「{place.name}」不是房屋：请填写单元和房号")
            continue
        v["place"] = place
    good = [r for r in good if r.ok]
    if not good:
        return {}
    before = duplicates.guard(ctx, actor, IMPORT_ENDPOINT)
    for r in good:
        r.values["id_hash"] = stored.id_hash(key, r.values["id_number"])
    held = duplicates.holders(ctx, (r.values["id_hash"] for r in good))
    hits = [r for r in good if r.values["id_hash"] in held]
    duplicates.found(ctx, actor, [held[r.values["id_hash"]] for r in hits], IMPORT_ENDPOINT, before)
    for r in hits:
        r.fail(_col(k, "id_number"), duplicates.MESSAGE_ZH)
    return {}


def _store_residents(ctx: Context, actor: Actor, rows: list[Row], _state: dict[str, Any]) -> int:
    db = ctx.db
    key = data_key(ctx.data_key_text)
    now = ctx.now()
    today = now.date()
    valid = [r for r in rows if r.ok]
    rooms = {r.values["place"].id: r.values["place"] for r in valid}
    households: dict[int, int] = {}
    for part in _chunks(sorted(rooms)):
        for hid, pid in db.execute(
            select(Household.id, Household.place_id)
            .where(Household.place_id.in_(list(part)))
            .order_by(Household.id)
        ):
            households.setdefault(pid, hid)
    new_rooms = [pid for pid in sorted(rooms) if pid not in households]
    values = [
        {
            "uuid": str(uuidlib.uuid4()),
            "place_id": pid,
            "number": "",
            "note": "",
            **_located(rooms[pid]),
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "created_by_id": actor.id,
        }
        for pid in new_rooms
    ]
    for pid, hid in zip(new_rooms, _insert_returning(db, Household, values), strict=True):
        households[pid] = hid
    people = []
    for r in valid:
        v = r.values
        phone = normalise_phone(v["phone"]) if v["phone"] else ""
        people.append(
            {
                "uuid": str(uuidlib.uuid4()),
                "content_hash": "",
                "name": v["name"],
                **stored.identity_columns(key, v["id_number"], v["id_hash"]),
                "birth_date": v["birth_date"],
                "sex": v["sex"],
                **stored.phone_columns(key, phone),
                "registration": v["registration"],
                "relation": v["relation_code"],
                "household_id": households[v["place"].id],
                "status": ResidentStatus.ACTIVE.value,
                **_located(v["place"]),
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "created_by_id": actor.id,
            }
        )
    ids = _insert_returning(db, Resident, people)
    stays = [
        {
            "resident_id": rid,
            "household_id": p["household_id"],
            "started_on": today,
            "started_at": now,
        }
        for rid, p in zip(ids, people, strict=True)
    ]
    for part in _chunks(stays, BATCH):
        db.execute(insert(table_of(Residence)), list(part))
    return len(ids)


def _check_organisations(ctx: Context, actor: Actor, rows: list[Row]) -> dict[str, Any]:
    db = ctx.db
    k = ImportKind.ORGANISATIONS
    good = [r for r in rows if r.ok]
    _duplicates(good, lambda r: r.values["credit_code"], _col(k, "credit_code"))
    good = [r for r in good if r.ok]
    places = _Places(db, actor, (r.values["address"] for r in good))
    for r in good:
        found = places.by_address.get(normalise(r.values["address"]), [])
        order: dict[str, int] = {"building": 0, "estate": 1, "unit": 2, "room": 3}
        found = sorted(found, key=lambda p: (order.get(p.kind, 9), p.id))
        if not found:
            r.fail(_col(k, "address"), NOT_FOUND.format(r.values["address"]))
            continue
        r.values["place"] = found[0]
    _already_stored(
        db, [r for r in good if r.ok], "credit_code", Organisation.credit_code,
        _col(k, "credit_code"), "该统一社会信用代码已登记",
    )  # fmt: skip
    return {}


def _store_organisations(
    ctx: Context, actor: Actor, rows: list[Row], _state: dict[str, Any]
) -> int:
    key = data_key(ctx.data_key_text)
    now = ctx.now()
    values = []
    for r in rows:
        if not r.ok:
            continue
        v = r.values
        phone = normalise_phone(v["phone"]) if v["phone"] else ""
        values.append(
            {
                "uuid": str(uuidlib.uuid4()),
                "name": v["name"],
                "credit_code": v["credit_code"],
                "kind": v["kind_code"],
                "address": v["address"],
                "place_id": v["place"].id,
                "lon": v["place"].lon,
                "lat": v["place"].lat,
                "contact_name": v["contact"],
                **stored.phone_columns(key, phone, "contact_phone", stored.ORG_PHONE_COLUMN),
                "active": True,
                **_located(v["place"]),
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "created_by_id": actor.id,
            }
        )
    return len(_insert_returning(ctx.db, Organisation, values))


_CHECKS = {
    ImportKind.ADDRESSES: (_check_addresses, _store_addresses),
    ImportKind.RESIDENTS: (_check_residents, _store_residents),
    ImportKind.ORGANISATIONS: (_check_organisations, _store_organisations),
}


# --- the use case --------------------------------------------------------------------------------


def run_import(
    ctx: Context,
    actor: Actor,
    kind: ImportKind,
    data: bytes,
    *,
    mode: StoreMode = StoreMode.ALL,
    encoding: str | None = None,
    limits: Limits = LIMITS,
) -> ImportResult:
    """Check every row of the file; store by ``mode`` (see the module). The caller commits.
    Reading the file is bounded by ``limits`` (``tabular.Limits``)."""
    if not may_import(actor):
        raise Forbidden("无权导入基础数据 / your role may not import base data")
    _check_mode(actor, mode)
    table, rows = read_rows(kind, data, encoding, limits)
    result = ImportResult(kind, table.kind, table.encoding, table.encoding_label, mode, rows)
    today = ctx.now().date()
    for r in rows:
        check_row(kind, r, today)
    check, store = _CHECKS[kind]
    if mode is not StoreMode.NONE:
        _hold(ctx, kind, [r for r in rows if r.ok])
    state = check(ctx, actor, [r for r in rows if r.ok])
    if mode is StoreMode.NONE or (mode is StoreMode.ALL and result.invalid):
        return result
    if any(r.ok for r in rows):
        with _roomy_page_cache(ctx.db):
            try:
                with ctx.db.begin_nested():
                    result.stored = store(ctx, actor, rows, state)
            except IntegrityError:
                raise _stored_meanwhile(ctx, kind) from None
    return result


def _hold(ctx: Context, kind: ImportKind, rows: list[Row]) -> None:
    """Before an import that stores checks its rows against the database: the lock of what it
    may collide with (``locks.Scope``), so that the same file sent twice at once is stored once
    and the second is answered as a file sent after it is ("该房屋已登记"), not stored again
    (addresses have no unique index) or a 500 (the unique indexes of numbers and codes)."""
    if kind is ImportKind.ADDRESSES:
        grids = _active_grids(ctx.db, {r.values["grid_code"] for r in rows})
        counties = {g.county_id or 0 for g in grids.values()}
        locks.hold(ctx.db, locks.Scope.PLACES, counties)
    elif kind is ImportKind.RESIDENTS:
        locks.hold(ctx.db, locks.Scope.RESIDENTS, [0])
    else:
        locks.hold(ctx.db, locks.Scope.ORGANISATIONS, [0])


def _stored_meanwhile(ctx: Context, kind: ImportKind) -> Conflict:
    """The 409 of a unique number or code that a registration through the API stored after the
    import checked it (the API does not wait for imports: they may take a minute). Nothing of
    the file is stored; what the checks logged (the read log of numbers found) is kept."""
    ctx.db.commit()
    return Conflict(
        f"导入期间有本文件中的记录在别处登记，未保存任何{TITLES[kind][0]}，请重新导入 / a record "
        f"of this file was registered elsewhere while it was imported; no {TITLES[kind][1]} "
        "were stored: import the file again",
        code="import_conflict",
    )


#: SQLite's page cache while an import stores its rows (KiB; the app's connections have 32 MiB):
#: 100,000 residents into a county of 500,000 insert at random places of the indexes on uuid,
#: id_hash and phone_hash, and a small cache writes the same pages out again and again
#: (bench/base_data.py: 46 s → 36 s). Pages are taken as used; the setting is restored after.
IMPORT_CACHE_KIB = 512 * 1024


@contextmanager
def _roomy_page_cache(db: Session) -> Iterator[None]:
    if db.get_bind().dialect.name != "sqlite":
        yield
        return
    before = db.execute(text("PRAGMA cache_size")).scalar()
    db.execute(text(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}"))
    try:
        yield
    finally:
        db.execute(text(f"PRAGMA cache_size={int(before or -32768)}"))


def result_workbook(result: ImportResult, actor: Actor, at: datetime, tz: str) -> bytes:
    """The result file: every row with 结果 and 错误原因 (bad rows shaded), then one line per
    problem on the sheet 错误明细."""
    from zoneinfo import ZoneInfo

    cols = TEMPLATES[result.kind]
    s = result.summary()
    stored = (
        f"已保存 {s['stored']} 条"
        if s["stored"]
        else ("未保存（有错误行）" if s["invalid"] else "未保存（只检查）")
    )
    above = [
        f"{TITLES[result.kind][0]}导入结果 · {STORE_LABELS[result.mode][0]}",
        f"共 {s['rows']} 行：有效 {s['valid']} 行，错误 {s['invalid']} 行；{stored}",
        f"文件：{result.file_kind.upper()}"
        + (f"，编码 {result.encoding_label}" if result.encoding else ""),
        f"导入人：{actor.display_name} · {at.astimezone(ZoneInfo(tz)):%Y-%m-%d %H:%M}",
    ]

    def all_rows() -> Iterable[list[Any]]:
        for r in result.rows:
            reason = "；".join(f"「{c}」{m}" for c, m in r.errors)
            yield [r.number, "错误" if r.errors else "通过", reason] + [
                r.cells.get(c.key, "") for c in cols
            ]

    def problems() -> Iterable[list[Any]]:
        for r in result.rows:
            for c, m in r.errors:
                yield [r.number, c, m]

    return write_xlsx(
        [
            SheetSpec(
                "导入结果",
                ["行号", "结果", "错误原因"] + [c.zh for c in cols],
                all_rows(),
                above=above,
                widths=[8, 8, 48] + [16] * len(cols),
                marked_column=2,
            ),
            SheetSpec("错误明细", ["行号", "列", "原因"], problems(), widths=[8, 18, 60]),
        ]
    )


def template_workbook(kind: ImportKind) -> bytes:
    """The empty template: instructions above the header (stars mark required columns), and
    a sheet 填写说明 with each column's meaning and an example."""
    cols = TEMPLATES[kind]
    return write_xlsx(
        [
            SheetSpec(
                TITLES[kind][0],
                [c.header for c in cols],
                [],
                above=[INSTRUCTIONS],
                widths=[max(12, len(c.zh) * 3) for c in cols],
            ),
            SheetSpec(
                "填写说明",
                ["列", "必填", "示例", "说明"],
                [[c.zh, "是" if c.required else "", c.example, c.note] for c in cols],
                widths=[18, 6, 24, 40],
            ),
        ]
    )
