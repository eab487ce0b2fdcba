"""Places (小区/自然村 → 楼栋 → 单元 → 房屋) and the households living in rooms."""

from __future__ import annotations

from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import ColumnElement, Select, and_, or_, select

from server.domain.address_text import place_key
from server.domain.base_data import PLACE_PARENTS, PlaceKind
from server.models import Household, Place
from server.usecases import locks, policy
from server.usecases.base_data import common as c
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict, ValidationFailed

MAX_LIST = 500


def _footprint(value: Any) -> BaseGeometry | None:
    if value is None:
        return None
    try:
        geom = shape(value)
    except Exception:  # noqa: BLE001 - whatever a malformed GeoJSON makes Shapely raise
        raise ValidationFailed(
            "轮廓应为 GeoJSON 多边形 / footprint must be a GeoJSON Polygon",
            fields={"footprint": "GeoJSON Polygon"},
        ) from None
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty or not geom.is_valid:
        raise ValidationFailed(
            "轮廓应为有效的多边形 / footprint must be a valid polygon",
            fields={"footprint": "a valid Polygon"},
        )
    return geom


def _place_digest(body: dict[str, Any]) -> str:
    keys = ("kind", "parent_id", "name", "address", "lon", "lat", "grid_code", "footprint")
    return c.content_hash({k: body.get(k) for k in keys})


def create_place(ctx: Context, actor: Actor, body: dict[str, Any]) -> c.Saved[Place]:
    key = c.client_uuid(body.get("uuid"))
    digest = _place_digest(body)
    # a copy sent at once that got in first makes this one a "duplicate_place": its replay
    return c.create_once(
        ctx,
        actor,
        Place,
        key,
        digest,
        lambda: _store_place(ctx, actor, body, key, digest),
    )


def _store_place(
    ctx: Context, actor: Actor, body: dict[str, Any], key: str, digest: str
) -> c.Saved[Place]:
    kind = PlaceKind(body["kind"])
    parent = None
    if body.get("parent_id") is not None:
        parent = c.referenced(ctx, actor, Place, body["parent_id"], "parent_id",
                              "未知的上级地点 / unknown parent place", "unknown_place")  # fmt: skip
    parent_kind = PlaceKind(parent.kind) if parent else None
    if parent_kind not in PLACE_PARENTS[kind]:
        raise ValidationFailed(
            "上级地点类型不符 / this kind of place cannot hang there",
            code="bad_parent",
            fields={"parent_id": f"a {kind.value} hangs under {_names(kind)}"},
        )
    footprint = _footprint(body.get("footprint"))
    lon, lat = body.get("lon"), body.get("lat")
    if footprint is not None and lon is None:
        rep = footprint.representative_point()
        lon, lat = rep.x, rep.y
    where, field = _where(ctx, lon, lat, body.get("grid_code"), parent)
    _footprint_in_town(ctx, footprint, where)
    c.check_editable(actor, where, field)
    name = c.name(body.get("name"), "name", 100, required=True)
    locks.hold(ctx.db, locks.Scope.PLACES, [where.county_id or 0])
    _refuse_twin(ctx, actor, kind, parent, where, name)
    place = Place(
        uuid=key,
        content_hash=digest,
        kind=kind.value,
        parent_id=parent.id if parent else None,
        name=name,
        address=c.text(body.get("address"), "address", 300),
        lon=lon,
        lat=lat,
        geom=footprint if footprint is not None else (Point(lon, lat) if lon is not None else None),
        created_by_id=actor.id,
        created_at=ctx.now(),
        updated_at=ctx.now(),
        version=1,
    )
    where.copy_to(place)
    ctx.db.add(place)
    again = c.commit_new(ctx, actor, Place, key, digest)
    return c.Saved(place) if again is None else c.Saved(again, replay=True)


def _refuse_twin(
    ctx: Context,
    actor: Actor,
    kind: PlaceKind,
    parent: Place | None,
    where: c.Location,
    name: str,
    besides: int | None = None,
) -> None:
    """A name is registered once under one parent, an estate (or a building without one) once
    in its community, compared by ``place_key`` ("101" = "101室", "3栋" = "3号楼"): the rule
    the address import checks its rows by. The caller holds the county's lock of places, so
    that two requests at once cannot both pass."""
    if parent is not None:
        siblings = select(Place.id, Place.name).where(Place.parent_id == parent.id)
    else:
        siblings = select(Place.id, Place.name).where(
            Place.parent_id.is_(None),
            Place.kind == kind.value,
            Place.community_id == where.community_id,
        )
    if besides is not None:  # a place renamed or moved is not its own twin
        siblings = siblings.where(Place.id != besides)
    key = place_key(name)
    twin = next((row for row in ctx.db.execute(siblings) if place_key(row.name) == key), None)
    if twin is None:
        return
    other = ctx.db.get(Place, twin.id)
    extra = {"place_id": twin.id} if other is not None and policy.may_see_base(actor, other) else {}
    raise Conflict(
        f"「{twin.name}」已登记 / a place named {twin.name!r} is already registered there",
        code="duplicate_place",
        fields={"name": "already registered"},
        **extra,
    )


def _footprint_in_town(ctx: Context, footprint: BaseGeometry | None, where: c.Location) -> None:
    """A footprint lies in the town of the grid the place is kept in (as a point beside a named
    grid must: ``common.place_of``); a footprint drawn in another county was kept as given."""
    if footprint is None or where.grid_code is None:
        return
    rep = footprint.representative_point()
    c.place_of(ctx, rep.x, rep.y, where.grid_code, None, "parent_id")


def _names(kind: PlaceKind) -> str:
    return " or ".join(k.value if k else "nothing" for k in sorted(PLACE_PARENTS[kind], key=str))


def _where(
    ctx: Context,
    lon: float | None,
    lat: float | None,
    grid_code: str | None,
    parent: Place | None,
) -> tuple[c.Location, str]:
    """Where a place is: its grid if named, else its point, else its parent's."""
    return c.place_of(
        ctx, lon, lat, grid_code, c.Location.of(parent) if parent else None, "parent_id"
    )


def update_place(ctx: Context, actor: Actor, place_id: int, body: dict[str, Any]) -> Place:
    place = c.editable(actor, locks.hold_row(ctx.db, Place, place_id), "place")
    same = c.holds(place, body, ("name", "address"), other=("lon", "lat", "grid_code", "footprint"))
    if not c.check_version(place, body.get("base_version"), already=same):
        return place
    renamed = False
    if "name" in body:
        name = c.name(body["name"], "name", 100, required=True)
        renamed = place_key(name) != place_key(place.name)
        place.name = name
    if "address" in body:
        place.address = c.text(body["address"], "address", 300)
    relocated = "lon" in body or "lat" in body or "grid_code" in body
    if relocated:
        lon, lat = body.get("lon", place.lon), body.get("lat", place.lat)
        where, field = _where(ctx, lon, lat, body.get("grid_code"), None)
        c.check_editable(actor, where, field)
        where.copy_to(place)
        place.lon, place.lat = lon, lat
        if (
            lon is not None
            and lat is not None
            and (place.geom is None or place.geom.geom_type == "Point")
        ):
            place.geom = Point(lon, lat)
    if "footprint" in body:
        footprint = _footprint(body["footprint"])
        _footprint_in_town(ctx, footprint, c.Location.of(place))
        place.geom = footprint or (Point(place.lon, place.lat) if place.lon is not None else None)
    if renamed or (relocated and place.parent_id is None):
        # the twin rule of a create (a rename to a sibling's name passed it), under its lock
        locks.hold(ctx.db, locks.Scope.PLACES, [place.county_id or 0])
        parent = ctx.db.get(Place, place.parent_id) if place.parent_id is not None else None
        _refuse_twin(ctx, actor, PlaceKind(place.kind), parent, c.Location.of(place), place.name,
                     besides=place.id)  # fmt: skip
    c.bump(ctx, place)
    ctx.db.commit()
    return place


def get_place(
    ctx: Context, actor: Actor, place_id: int
) -> tuple[Place, list[Place], list[Household]]:
    place = c.visible(actor, ctx.db.get(Place, place_id), "place")
    children = list(
        ctx.db.scalars(
            select(Place)
            .where(Place.parent_id == place.id, policy.base_clause(actor, Place))
            .order_by(Place.name, Place.id)
            .limit(MAX_LIST)
        )
    )
    households = list(
        ctx.db.scalars(
            select(Household)
            .where(Household.place_id == place.id, policy.base_clause(actor, Household))
            .order_by(Household.id)
        )
    )
    return place, children, households


def search_clause(q: str) -> ColumnElement[bool]:
    """Every word of ``q`` in the name or the address ("幸福路 12 号" finds 幸福路12号)."""
    words = [w for w in q.replace("号", " 号 ").split() if w]
    clauses = [
        or_(Place.address.contains(w, autoescape=True), Place.name.contains(w, autoescape=True))
        for w in words
    ]
    return and_(*clauses)


def list_places(
    ctx: Context,
    actor: Actor,
    *,
    kind: str | None = None,
    parent: int | None = None,
    grid: str | None = None,
    q: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[Place], int | None]:
    stmt: Select[Place] = select(Place).where(policy.base_clause(actor, Place))
    if kind:
        stmt = stmt.where(Place.kind == kind)
    if parent is not None:
        stmt = stmt.where(Place.parent_id == parent)
    if grid:
        stmt = stmt.where(Place.grid_code == grid)
    if q and q.strip():
        stmt = stmt.where(search_clause(q.strip()))
    if after is not None:
        stmt = stmt.where(Place.id > after)
    return c.page(ctx, stmt, Place.id, limit)


# --- households --------------------------------------------------------------------------------


def _household_digest(body: dict[str, Any]) -> str:
    return c.content_hash({k: body.get(k) for k in ("place_id", "number", "note")})


def create_household(ctx: Context, actor: Actor, body: dict[str, Any]) -> c.Saved[Household]:
    key = c.client_uuid(body.get("uuid"))
    digest = _household_digest(body)
    return c.create_once(
        ctx,
        actor,
        Household,
        key,
        digest,
        lambda: _store_household(ctx, actor, body, key, digest),
    )


def _store_household(
    ctx: Context, actor: Actor, body: dict[str, Any], key: str, digest: str
) -> c.Saved[Household]:
    room = c.referenced(ctx, actor, Place, body.get("place_id"), "place_id",
                        "未知房屋 / unknown room", "unknown_place")  # fmt: skip
    if room.kind not in (PlaceKind.ROOM.value, PlaceKind.BUILDING.value):
        raise ValidationFailed(
            "住户应登记在房屋 / a household lives in a room",
            code="bad_place",
            fields={"place_id": "a room"},
        )
    c.check_editable(actor, c.Location.of(room), "place_id")
    household = Household(
        uuid=key,
        content_hash=digest,
        place_id=room.id,
        number=c.text(body.get("number"), "number", 40),
        note=c.text(body.get("note"), "note", 2000),
        created_by_id=actor.id,
        created_at=ctx.now(),
        updated_at=ctx.now(),
        version=1,
    )
    c.Location.of(room).copy_to(household)
    ctx.db.add(household)
    again = c.commit_new(ctx, actor, Household, key, digest)
    return c.Saved(household) if again is None else c.Saved(again, replay=True)


def update_household(
    ctx: Context, actor: Actor, household_id: int, body: dict[str, Any]
) -> Household:
    household = c.editable(actor, locks.hold_row(ctx.db, Household, household_id), "household")
    same = c.holds(household, body, ("number", "note"))
    if not c.check_version(household, body.get("base_version"), already=same):
        return household
    if "number" in body:
        household.number = c.text(body["number"], "number", 40)
    if "note" in body:
        household.note = c.text(body["note"], "note", 2000)
    c.bump(ctx, household)
    ctx.db.commit()
    return household


def list_households(
    ctx: Context,
    actor: Actor,
    *,
    place: int | None = None,
    grid: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[Household], int | None]:
    stmt = select(Household).where(policy.base_clause(actor, Household))
    if place is not None:
        stmt = stmt.where(Household.place_id == place)
    if grid:
        stmt = stmt.where(Household.grid_code == grid)
    if after is not None:
        stmt = stmt.where(Household.id > after)
    return c.page(ctx, stmt, Household.id, limit)
