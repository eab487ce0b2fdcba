"""Address search: "幸福路 12 号", "阳光小区 3栋 502", a 门牌 → places, grid and community.

The index is ``address_tokens`` (token, place_id): the tokens (:mod:`server.domain.address_text`)
of each place's text with its ancestors' (a room holds its estate's, building's and unit's
names and 门牌). A query is cut into tokens the same way; a place matches when it holds them
all. The query starts from the rarest token (each token's posting list is counted up to a cap
through the primary key) and probes the others by primary key, so the cost follows the
smallest list, not the size of the county; the same SQL on SQLite and PostgreSQL (no
extension).

The index is derived: places written through the ORM are indexed at flush
(:func:`install`), bulk inserts call :func:`index_places`, and ``flask addresses reindex``
rebuilds it all (:func:`reindex_all`, then :func:`refresh_statistics`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    delete,
    event,
    exists,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.orm import Session, aliased

from server import cache
from server.db import is_postgres
from server.domain.address_text import query_tokens, selectivity_class, tokens
from server.models import Grid, GridPlan
from server.models.address_index import AddressToken
from server.models.base_data import Place
from server.usecases import policy
from server.usecases.context import Actor

KIND_DEPTH = {"estate": 0, "building": 1, "unit": 2, "room": 3}
KIND_LABELS = {"estate": "小区/自然村", "building": "楼栋", "unit": "单元", "room": "房屋"}
COUNT_CAP = 2000
SHORT = 300  # a posting list this short drives a search without counting the others
CHUNK = 500


# --- the index -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Node:
    id: int
    parent_id: int | None
    name: str
    address: str
    kind: str


def load_nodes(db: Session, ids: Iterable[int]) -> dict[int, _Node]:
    """The places ``ids`` and all their ancestors."""
    nodes: dict[int, _Node] = {}
    want = {i for i in ids if i is not None}
    while want:
        batch = sorted(want)
        want = set()
        for start in range(0, len(batch), CHUNK):
            part = batch[start : start + CHUNK]
            for pid, parent, name, address, kind in db.execute(
                select(Place.id, Place.parent_id, Place.name, Place.address, Place.kind).where(
                    Place.id.in_(part)
                )
            ):
                nodes[pid] = _Node(pid, parent, name or "", address or "", kind)
                if parent is not None and parent not in nodes:
                    want.add(parent)
        want -= set(nodes)
    return nodes


def place_text(nodes: dict[int, _Node], place_id: int) -> str:
    """A place's searchable text: its ancestors' and its own names and 门牌, root first."""
    parts: list[str] = []
    seen: set[int] = set()
    at: int | None = place_id
    while at is not None and at in nodes and at not in seen:
        seen.add(at)
        node = nodes[at]
        parts.append(f"{node.name} {node.address}")
        at = node.parent_id
    return " ".join(reversed(parts))


def index_places(db: Session, place_ids: Iterable[int]) -> int:
    """(Re)write the tokens of these places (not of their descendants); the number of token
    rows written."""
    ids = sorted(set(place_ids))
    if not ids:
        return 0
    nodes = load_nodes(db, ids)
    rows: list[dict[str, Any]] = []
    for pid in ids:
        if pid in nodes:
            depth = KIND_DEPTH.get(nodes[pid].kind, 9)
            rows.extend(
                {"token": t, "depth": depth, "place_id": pid}
                for t in tokens(place_text(nodes, pid))
            )
    for start in range(0, len(ids), CHUNK):
        db.execute(
            delete(AddressToken).where(AddressToken.place_id.in_(ids[start : start + CHUNK]))
        )
    for start in range(0, len(rows), 10_000):
        db.execute(insert(AddressToken), rows[start : start + 10_000])
    return len(rows)


def descendants(db: Session, place_ids: Iterable[int]) -> list[int]:
    """The places under these ones (not themselves)."""
    out: list[int] = []
    level = sorted(set(place_ids))
    while level:
        nxt: list[int] = []
        for start in range(0, len(level), CHUNK):
            nxt.extend(
                db.execute(
                    select(Place.id).where(Place.parent_id.in_(level[start : start + CHUNK]))
                ).scalars()
            )
        out.extend(nxt)
        level = nxt
    return out


def reindex_all(db: Session, batch: int = 20_000) -> int:
    """Rebuild the whole index (``flask addresses reindex``); the number of token rows. The
    caller commits, then calls :func:`refresh_statistics`."""
    db.execute(delete(AddressToken))
    total = 0
    last = 0
    while True:
        ids = list(
            db.execute(
                select(Place.id).where(Place.id > last).order_by(Place.id).limit(batch)
            ).scalars()
        )
        if not ids:
            return total
        total += index_places(db, ids)
        last = ids[-1]


def refresh_statistics(db: Session) -> str:
    """Fresh planner statistics for the index just rebuilt and committed; the statement run.

    A rebuild deletes every token row and writes them all again: until (auto)vacuum comes by,
    PostgreSQL plans the search from the old counts (the token counts of migration 0016 are what
    makes it probe instead of hash) and its index-only counts read the heap, every row being
    new. ``VACUUM (ANALYZE)`` fixes both at once; it cannot run in a transaction, so it runs on
    a connection of its own in autocommit. SQLite: ``ANALYZE`` (its planner reads
    ``sqlite_stat1`` once it exists, and stale counts there are as bad)."""
    if is_postgres(db):
        statement = "VACUUM (ANALYZE) address_tokens"
        engine = db.get_bind().engine
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(statement))
        return statement
    statement = "ANALYZE address_tokens"
    db.execute(text(statement))
    db.commit()
    return statement


_TEXT_FIELDS = ("name", "address", "parent_id")


def _after_flush(session: Session, _ctx: Any) -> None:
    touched: set[int] = set()
    renamed: set[int] = set()
    for obj in session.new:
        if isinstance(obj, Place) and obj.id is not None:
            touched.add(obj.id)
    for obj in session.dirty:
        if isinstance(obj, Place) and obj.id is not None:
            state = obj.__dict__.get("_sa_instance_state")
            changed = state is not None and any(
                state.attrs[f].history.has_changes() for f in _TEXT_FIELDS
            )
            if changed:
                touched.add(obj.id)
                renamed.add(obj.id)
    if not touched:
        return
    ids = touched | set(descendants(session, renamed)) if renamed else touched
    index_places(session, ids)


_installed = False


def install() -> None:
    """Index places written through the ORM at every flush (once per process)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        _installed = True


# --- the search ----------------------------------------------------------------------------------


def _driver(db: Session, toks: Sequence[str]) -> str | None:
    """The token to drive a search from: the rarest, counted through the primary key up to
    :data:`COUNT_CAP`, in the order of :func:`selectivity_class` and stopping at the first whose
    list is short (:data:`SHORT`); None when a token is in no place at all."""
    best, best_n = None, COUNT_CAP + 1
    for t in sorted(toks, key=selectivity_class):
        capped = select(literal(1)).where(AddressToken.token == t).limit(COUNT_CAP).subquery()
        n = int(db.execute(select(func.count()).select_from(capped)).scalar_one())
        if n == 0:
            return None
        if n < best_n:
            best, best_n = t, n
        if n <= SHORT:
            break
    return best


def matching_ids(
    db: Session, toks: Sequence[str], limit: int, where: ColumnElement[bool] | None = None
) -> list[int]:
    """The ids of at most ``limit`` places holding every token, shallowest first, that pass
    ``where`` (a clause on ``Place``). Drives from the rarest token's posting list in its
    (depth, place_id) order and probes the others by primary key, so it stops at ``limit``."""
    if not toks:
        return []
    driver = _driver(db, toks)
    if driver is None:
        return []
    first = aliased(AddressToken)
    stmt = select(first.place_id).where(first.token == driver)
    for t in sorted((t for t in toks if t != driver), key=selectivity_class):
        other = aliased(AddressToken)
        stmt = stmt.where(exists().where(other.token == t, other.place_id == first.place_id))
    if where is not None:
        stmt = stmt.join(Place, Place.id == first.place_id).where(where)
    stmt = stmt.order_by(first.depth, first.place_id).limit(limit)
    return list(db.execute(stmt).scalars())


def _grid_names(db: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = db.execute(
        select(Grid.code, Grid.name)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .where(Grid.code.in_(sorted(codes)), GridPlan.status == "active")
    )
    return {code: name for code, name in rows}


def search(db: Session, actor: Actor, q: str, limit: int = 20) -> dict[str, Any]:
    """The places matching ``q`` inside the actor's jurisdiction, shallowest first (an estate
    or a building before its rooms), each with its grid, community and town; ``truncated``
    when there are more than ``limit``."""
    toks = query_tokens(q)
    if not toks:
        return {"items": [], "tokens": [], "truncated": False}
    ids = matching_ids(db, toks, limit + 1, policy.base_clause(actor, Place))
    truncated = len(ids) > limit
    ids = ids[:limit]
    items: list[dict[str, Any]] = []
    if ids:
        found = {p.id: p for p in db.execute(select(Place).where(Place.id.in_(ids))).scalars()}
        rows = [found[i] for i in ids if i in found]
        nodes = load_nodes(db, [p.id for p in rows])
        coords = _coordinates(db, rows, nodes)
        grids = _grid_names(db, {p.grid_code for p in rows if p.grid_code})
        regions = cache.reference(db).regions
        for p in rows:
            community = regions.get(p.community_id) if p.community_id else None
            town = regions.get(p.town_id) if p.town_id else None
            lon, lat = coords.get(p.id, (None, None))
            items.append(
                {
                    "place": {
                        "id": p.id,
                        "kind": p.kind,
                        "kind_label": KIND_LABELS.get(p.kind, p.kind),
                        "name": p.name,
                        "address": p.address,
                        "full_address": full_address(nodes, p.id),
                        "lon": lon,
                        "lat": lat,
                    },
                    "grid": (
                        {"code": p.grid_code, "name": grids.get(p.grid_code, "")}
                        if p.grid_code
                        else None
                    ),
                    "community": (
                        {"id": community.id, "code": community.code, "name": community.name}
                        if community
                        else None
                    ),
                    "town": (
                        {"id": town.id, "code": town.code, "name": town.name} if town else None
                    ),
                }
            )
    return {"items": items, "tokens": toks, "truncated": truncated}


def full_address(nodes: dict[int, _Node], place_id: int) -> str:
    """The display address: the nearest 门牌 up the tree, then the names of the places below
    it ("幸福路12号 3栋 2单元 502")."""
    chain: list[_Node] = []
    at: int | None = place_id
    while at is not None and at in nodes and len(chain) < 10:
        chain.append(nodes[at])
        at = nodes[at].parent_id
    chain.reverse()
    cut = max((i for i, n in enumerate(chain) if n.address), default=-1)
    parts = [chain[cut].address] if cut >= 0 else []
    start = cut + 1 if cut >= 0 else 0
    for node in chain[start:]:
        if node.name and not (parts and node.name in parts[0]):
            parts.append(node.name)
    return " ".join(parts)


def _coordinates(
    db: Session, rows: Sequence[Any], nodes: dict[int, _Node]
) -> dict[int, tuple[float | None, float | None]]:
    """Each place's point, else its nearest ancestor's (a room has none of its own)."""
    ids = set(nodes)
    points: dict[int, tuple[float, float]] = {}
    for start in range(0, len(ids), CHUNK):
        part = sorted(ids)[start : start + CHUNK]
        for pid, lon, lat in db.execute(
            select(Place.id, Place.lon, Place.lat).where(Place.id.in_(part))
        ):
            if lon is not None and lat is not None:
                points[pid] = (lon, lat)
    out: dict[int, tuple[float | None, float | None]] = {}
    for p in rows:
        at: int | None = p.id
        while at is not None and at not in points and at in nodes:
            at = nodes[at].parent_id
        out[p.id] = points[at] if at is not None and at in points else (None, None)
    return out
