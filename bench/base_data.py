"""Benchmark of base data at county size (issue 16): 500,000 residents in 150,000 households.

Loads a synthetic county into a scratch database (places, households and residents straight
into the tables, identity numbers encrypted and hashed as the app does), then prints, each
beside the bare query or library call it wraps:

- exact search by identity number (the keyed hash; bare: the indexed equality alone);
- address search ("幸福路 12 号 3栋 502", "幸福路12号", "阳光3小区 5栋"; bare: the token SQL);
- a grid overview (households, residents by registration, key groups by kind and level);
- import of 100,000 residents from a CSV (every row checked; bare: executemany of the same rows);
- one worker's offline data (~500 households of a grid) as gzipped JSON.

    .venv/bin/python bench/base_data.py                       # full size, SQLite
    .venv/bin/python bench/base_data.py --scale 0.1 --db postgres
    .venv/bin/python bench/base_data.py --import-rows 20000   # a smaller import

PostgreSQL: ``--pg-url`` or WANGGE_BENCH_PG_URL or WANGGE_TEST_PG_URL (a server; a database
``wangge_bench_base`` is created there). SQLite: ``instance/bench-base.db``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import itertools
import json
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
from _common import create_pg_database  # noqa: E402
from shapely.geometry import MultiPolygon, box  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from geo.problems import ValidationReport  # noqa: E402
from server import migrate  # noqa: E402
from server.db import make_engine, make_session_factory  # noqa: E402
from server.domain import workflow as wf  # noqa: E402
from server.domain.identity import make_id_number  # noqa: E402
from server.domain.import_templates import ImportKind  # noqa: E402
from server.models import (  # noqa: E402
    Household,
    KeyGroupKindRow,
    KeyGroupTag,
    Place,
    Region,
    Resident,
    User,
)
from server.usecases import address_search  # noqa: E402
from server.usecases.base_data import overview as base_overview  # noqa: E402
from server.usecases.base_io import imports, stored  # noqa: E402
from server.usecases.context import Actor, Context  # noqa: E402
from server.usecases.grid_plan_versions import PlanCheck, publish, store_plan  # noqa: E402
from server.usecases.personal_data import data_key  # noqa: E402

DB_NAME = "wangge_bench_base"
COUNTY = "640181"
TOWNS, COMMUNITIES = 8, 6  # per county, per town
ROOMS_PER_GRID = 400  # 10 buildings x 2 units x 20 rooms
STREETS = [
    "幸福路",
    "解放街",
    "人民路",
    "建设路",
    "和平街",
    "朝阳路",
    "光明路",
    "胜利街",
    "文化路",
    "新华路",
    "长安街",
    "团结路",
    "振兴路",
    "东风路",
    "育才路",
    "黄河路",
    "灵州路",
    "枣园路",
]
ESTATES = [
    "阳光",
    "幸福",
    "锦绣",
    "花园",
    "金色",
    "翠苑",
    "明珠",
    "盛世",
    "书香",
    "枣乡",
    "塞上",
    "滨河",
]
KEY = data_key("")
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def person(i: int) -> str:
    """A fictitious identity number: area code 640181, born 1950 + (i mod 60), sequence i."""
    born = date(1950 + i % 60, 1 + (i // 60) % 12, 1 + (i // 720) % 28)
    return make_id_number(COUNTY, born, (i // 20_160) % 1000)


# --- loading -------------------------------------------------------------------------------------


def _regions(db: Session, grids: int) -> list[tuple[str, int]]:
    """The county, towns, communities and a plan of ``grids`` grids; (code, community id)."""
    county = Region(code=COUNTY.ljust(12, "0"), name="灵武市", level="county", path="")
    db.add(county)
    db.flush()
    county.path = f"/{county.id}/"
    communities: list[Region] = []
    for t in range(TOWNS):
        town = Region(
            code=f"{COUNTY}{t + 1:03d}000",
            name=f"第{t + 1}镇",
            level="town",
            parent_id=county.id,
            path="",
        )
        db.add(town)
        db.flush()
        town.path = f"{county.path}{town.id}/"
        for c in range(COMMUNITIES):
            com = Region(
                code=f"{COUNTY}{t + 1:03d}{c + 1:03d}",
                name=f"第{t + 1}镇{c + 1}社区",
                level="community",
                parent_id=town.id,
                path="",
            )
            db.add(com)
            db.flush()
            com.path = f"{town.path}{com.id}/"
            communities.append(com)
    codes, shapes, out = [], [], []
    side = int(grids**0.5) + 1
    per = -(-grids // len(communities))
    for g in range(grids):
        com = communities[g // per]
        seq = g % per + 1
        code = f"{com.code}{seq:03d}"
        x, y = 106.0 + (g % side) * 0.01, 38.0 + (g // side) * 0.01
        codes.append(code)
        shapes.append(box(x, y, x + 0.01, y + 0.01))
        out.append((code, com.id))
    frame = gpd.GeoDataFrame(
        {"code": codes, "households": [ROOMS_PER_GRID] * grids}, geometry=shapes, crs="EPSG:4326"
    )
    plan = store_plan(db, PlanCheck(frame, None, ValidationReport(grids), "bench"))
    publish(db, plan)
    for com in communities:
        com.boundary = MultiPolygon([box(106.0, 38.0, 106.0 + side * 0.01, 38.0 + side * 0.01)])
    db.flush()
    return out


def _bulk(db: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows (each with a uuid); ids in order."""
    return imports._insert_returning(db, model, rows)


def load(db: Session, households: int, residents: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    grids = max(1, households // ROOMS_PER_GRID)
    t0 = time.perf_counter()
    grid_rows = _regions(db, grids)
    regions = {r.id: r for r in db.scalars(select(Region))}
    located: dict[str, dict[str, Any]] = {}
    for code, cid in grid_rows:
        town = regions[cid].parent_id
        located[code] = {
            "grid_code": code,
            "community_id": cid,
            "town_id": town,
            "county_id": regions[town].parent_id if town else None,
        }
    common = {"version": 1, "created_at": NOW, "updated_at": NOW, "active": True}
    rooms: list[tuple[int, str]] = []  # (room id, grid code)
    for gi, (code, _cid) in enumerate(grid_rows):
        street = STREETS[gi % len(STREETS)]
        estate_name = f"{ESTATES[gi % len(ESTATES)]}{gi // len(ESTATES) + 1}小区"
        loc = located[code]
        lon, lat = 106.005 + (gi % (int(grids**0.5) + 1)) * 0.01, 38.005
        (estate,) = _bulk(
            db,
            Place,
            [
                {
                    "uuid": str(uuid.uuid4()),
                    "kind": "estate",
                    "name": estate_name,
                    "address": "",
                    **loc,
                    **common,
                }
            ],
        )
        door = f"{street}{gi // len(STREETS) + 1}号"
        bids = _bulk(
            db,
            Place,
            [
                {
                    "uuid": str(uuid.uuid4()),
                    "kind": "building",
                    "parent_id": estate,
                    "name": f"{b}栋",
                    "address": door,
                    "lon": lon,
                    "lat": lat,
                    **loc,
                    **common,
                }
                for b in range(1, 11)
            ],
        )
        units = [(bid, u) for bid in bids for u in (1, 2)]
        uids = _bulk(
            db,
            Place,
            [
                {
                    "uuid": str(uuid.uuid4()),
                    "kind": "unit",
                    "parent_id": bid,
                    "name": f"{u}单元",
                    "address": f"{door}{bi // 2 + 1}栋{u}单元",
                    **loc,
                    **common,
                }
                for bi, (bid, u) in enumerate(units)
            ],
        )
        room_rows = []
        for ui, uid in enumerate(uids):
            for r in range(20):
                name = f"{r // 2 + 1}0{r % 2 + 1}"
                room_rows.append(
                    {
                        "uuid": str(uuid.uuid4()),
                        "kind": "room",
                        "parent_id": uid,
                        "name": name,
                        "address": f"{door}{ui // 2 + 1}栋{ui % 2 + 1}单元{name}室",
                        **loc,
                        **common,
                    }
                )
        rooms.extend((rid, code) for rid in _bulk(db, Place, room_rows))
        if len(rooms) >= households:
            break
    rooms = rooms[:households]
    t_places = time.perf_counter() - t0
    t0 = time.perf_counter()
    tokens = address_search.reindex_all(db)
    t_tokens = time.perf_counter() - t0
    t0 = time.perf_counter()
    del common["active"]
    hids = _bulk(
        db,
        Household,
        [
            {
                "uuid": str(uuid.uuid4()),
                "place_id": rid,
                "number": "",
                "note": "",
                **located[code],
                **common,
            }
            for rid, code in rooms
        ],
    )
    people: list[dict[str, Any]] = []
    for i in range(residents):
        h = i % len(hids)
        ident = person(i)
        phone = f"139{i:08d}"
        people.append(
            {
                "uuid": str(uuid.uuid4()),
                "name": f"居民{i}",
                **stored.identity_columns(KEY, ident),
                "birth_date": date(int(ident[6:10]), int(ident[10:12]), int(ident[12:14])),
                "sex": "male" if int(ident[16]) % 2 else "female",
                **stored.phone_columns(KEY, phone),
                "registration": "floating" if rng.random() < 0.2 else "registered",
                "relation": "head" if i < len(hids) else "other",
                "household_id": hids[h],
                "status": "active",
                **located[rooms[h][1]],
                **common,
            }
        )
        if len(people) == 50_000:
            _bulk(db, Resident, people)
            people = []
    if people:
        _bulk(db, Resident, people)
    from server.usecases.base_data import key_groups

    key_groups.ensure_builtin(Context(db=db, upload_dir=Path("/tmp")))
    kinds = list(db.scalars(select(KeyGroupKindRow.id)))
    rids = list(db.scalars(select(Resident.id).order_by(Resident.id)))
    tags = [
        {
            "uuid": str(uuid.uuid4()),
            "resident_id": rid,
            "kind_id": rng.choice(kinds),
            "level": rng.randint(1, 3),
            "since": date(2025, 1, 1),
            "note": "",
            "version": 1,
            "created_at": NOW,
        }
        for rid in rids
        if rng.random() < 0.05
    ]
    _bulk(db, KeyGroupTag, tags)
    t_people = time.perf_counter() - t0
    db.commit()
    return {
        "grids": len(grid_rows),
        "rooms": len(rooms),
        "residents": residents,
        "tags": len(tags),
        "tokens": tokens,
        "load_places_s": round(t_places, 1),
        "index_tokens_s": round(t_tokens, 1),
        "load_people_s": round(t_people, 1),
    }


# --- measuring -----------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], n: int) -> dict[str, float]:
    fn()  # warm
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    return {
        "median_ms": round(statistics.median(ts), 2),
        "p95_ms": round(ts[int(len(ts) * 0.95) - 1], 2),
    }


def ratio(section: dict[str, Any], app: str = "app", bare: str = "bare") -> None:
    """Add ``ratio_median``: the product's median over the bare query's."""
    a, b = section.get(app), section.get(bare)
    if isinstance(a, dict) and isinstance(b, dict) and b.get("median_ms"):
        section[f"ratio_{app}_median"] = round(a["median_ms"] / b["median_ms"], 2)


def actor_of(
    db: Session, role: str, region_level: str = "county", grid: str | None = None
) -> Actor:
    region = db.scalar(select(Region).where(Region.level == region_level).limit(1))
    assert region is not None
    name = f"bench-{role}-{region_level}"
    user = db.scalar(select(User).where(User.username == name))
    if user is None:
        user = User(
            username=name, display_name=name, password_hash="x", role=role, region_id=region.id
        )
        db.add(user)
        db.flush()
    return Actor(
        id=user.id,
        role=role,
        display_name=name,
        region_id=region.id,
        region_level=region.level,
        region_path=region.path,
        grid_codes=frozenset({grid}) if grid else frozenset(),
    )


def measure(db: Session, n_residents: int, import_rows: int, rng: random.Random) -> dict[str, Any]:
    out: dict[str, Any] = {}
    disp = actor_of(db, wf.Role.DISPATCHER)
    bench_ctx = Context(db=db, upload_dir=Path("/tmp"))
    ids = [person(rng.randrange(n_residents)) for _ in range(200)]
    it = itertools.cycle(ids)

    def by_id_bare() -> Any:
        h = stored.id_hash(KEY, next(it))
        return db.execute(text("SELECT id FROM residents WHERE id_hash = :h"), {"h": h}).scalar()

    def by_id_app() -> Any:
        """basedata's use case: the keyed hash, the jurisdiction, the read log (committed)."""
        from server.usecases.base_data.residents import ResidentQuery, list_residents

        q = ResidentQuery(id_number=next(it), limit=20)
        return list_residents(bench_ctx, disp, q, "bench")

    out["id_search"] = {"bare": timed(by_id_bare, 150), "app": timed(by_id_app, 150)}
    ratio(out["id_search"])
    doors = list(
        db.scalars(select(Place.address).where(Place.kind == "building").distinct().limit(300))
    )
    queries = [
        f"{d} {rng.randint(1, 10)}栋 {rng.randint(1, 10)}0{rng.randint(1, 2)}" for d in doors[:100]
    ]
    queries += [d.replace("路", "路 ").replace("街", "街 ") for d in doors[:100]]
    estates = list(db.scalars(select(Place.name).where(Place.kind == "estate").limit(300)))
    queries += [f"{estates[i % len(estates)]} {rng.randint(1, 10)}栋" for i in range(100)]
    qi = itertools.cycle(queries)

    def addr_bare() -> Any:
        return address_search.matching_ids(db, address_search.query_tokens(next(qi)), 21)

    def addr_app() -> Any:
        return address_search.search(db, disp, next(qi), 20)

    out["address_search"] = {"bare": timed(addr_bare, 200), "app": timed(addr_app, 200)}
    ratio(out["address_search"])
    sample = address_search.search(db, disp, queries[0], 3)["items"]
    out["address_search"]["example"] = {
        "q": queries[0],
        "first": sample[0]["place"]["full_address"] if sample else None,
        "grid": sample[0]["grid"] if sample else None,
    }
    grid = db.scalar(select(Place.grid_code).where(Place.kind == "room").limit(1))
    gi = {"g": grid}
    bare_sql = [
        "SELECT count(*) FROM households WHERE grid_code = :g",
        "SELECT registration, count(*) FROM residents WHERE grid_code = :g "
        "AND status = 'active' GROUP BY registration",
        "SELECT k.code, t.level, count(*) FROM key_group_tags t "
        "JOIN residents r ON r.id = t.resident_id JOIN key_group_kinds k ON k.id = t.kind_id "
        "WHERE r.grid_code = :g AND t.ended_at IS NULL GROUP BY k.code, t.level",
    ]

    def overview_bare() -> Any:
        return [db.execute(text(s), gi).all() for s in bare_sql]

    out["grid_overview"] = {"bare": timed(overview_bare, 50)}
    grid_worker = actor_of(db, wf.Role.GRID_WORKER, "community", grid)
    db.commit()

    def overview_app() -> Any:
        """GET /base/overview's use case for one grid: the grid worker's own, and a county
        dispatcher's with ``grid=`` (both with this week's visits due, which bare has not)."""
        return base_overview.overview(bench_ctx, grid_worker)

    def overview_county_grid() -> Any:
        return base_overview.overview(bench_ctx, disp, grid=grid)

    def overview_county() -> Any:
        return base_overview.overview(bench_ctx, disp)

    out["grid_overview"]["app"] = timed(overview_app, 30)
    out["grid_overview"]["app_county_dispatcher_one_grid"] = timed(overview_county_grid, 30)
    out["grid_overview"]["app_whole_county"] = timed(overview_county, 3)
    ratio(out["grid_overview"])
    ratio(out["grid_overview"], "app_county_dispatcher_one_grid")

    # offline data of one worker: the grid's places, households and residents (masked)
    def bundle() -> bytes:
        places = db.execute(
            select(
                Place.id,
                Place.uuid,
                Place.kind,
                Place.parent_id,
                Place.name,
                Place.address,
                Place.lon,
                Place.lat,
                Place.version,
            ).where(Place.grid_code == grid)
        ).all()
        hh = db.execute(
            select(
                Household.id,
                Household.uuid,
                Household.place_id,
                Household.number,
                Household.version,
            ).where(Household.grid_code == grid)
        ).all()
        rs = db.execute(
            select(
                Resident.id,
                Resident.uuid,
                Resident.name,
                Resident.sex,
                Resident.birth_date,
                Resident.id_mask,
                Resident.phone_mask,
                Resident.registration,
                Resident.relation,
                Resident.household_id,
                Resident.status,
                Resident.version,
            ).where(Resident.grid_code == grid)
        ).all()
        doc = {
            "places": [dict(r._mapping) for r in places],
            "households": [dict(r._mapping) for r in hh],
            "residents": [
                {**dict(r._mapping), "birth_year": r.birth_date.year, "birth_date": None}
                for r in rs
            ],
        }
        return json.dumps(doc, ensure_ascii=False, default=str).encode()

    raw = bundle()
    packed = gzip.compress(raw)
    hh_n = db.scalar(select(func.count()).select_from(Household).where(Household.grid_code == grid))
    out["offline_bundle"] = {
        "households": hh_n,
        "json_bytes": len(raw),
        "gzip_bytes": len(packed),
        "build": timed(bundle, 10),
    }
    worker = actor_of(db, wf.Role.GRID_WORKER, "community", grid)
    db.commit()

    def app_bundle() -> bytes:
        """basedata's bundle as GET /base/offline answers it (server/api/base_data.py)."""
        from server.api import base_json as js
        from server.usecases.base_data import key_groups as kg
        from server.usecases.base_data import offline

        b = offline.bundle(bench_ctx, worker, "bench")
        tags = js.visible_tags(db, worker, b.residents)
        doc = {
            "generated_at": b.generated_at.isoformat(),
            "grids": b.grids,
            "places": [js.place_json(db, p) for p in b.places],
            "households": [js.household_json(db, h) for h in b.households],
            "residents": [js.min_resident_json(r, tags[r.id]) for r in b.residents],
            "due": js.due_json(b.due, all_items=False),
            "kinds": [js.kind_json(k) for k in kg.kinds(bench_ctx)],
        }
        return json.dumps(doc, ensure_ascii=False, default=str).encode()

    try:
        app_raw = app_bundle()
        out["offline_bundle"]["app_json_bytes"] = len(app_raw)
        out["offline_bundle"]["app_gzip_bytes"] = len(gzip.compress(app_raw))
        out["offline_bundle"]["app_build"] = timed(app_bundle, 5)
    except Exception as exc:  # noqa: BLE001 - a figure missing, not the whole run
        out["offline_bundle"]["app"] = f"n/a ({type(exc).__name__}: {exc})"
    if import_rows:
        out["import"] = bench_import(db, import_rows, n_residents)
    return out


def bench_import(db: Session, n: int, offset: int) -> dict[str, Any]:
    """Import ``n`` new residents into existing rooms (CSV, every row checked) vs. a bare
    executemany of the same rows (encrypted, no checks), both rolled back."""
    rooms = db.execute(
        select(Place.id, Place.name, Place.parent_id)
        .where(Place.kind == "room")
        .limit(max(1, n // 3))
    ).all()
    parents = {
        p.id: p
        for p in db.execute(
            select(Place.id, Place.name, Place.parent_id, Place.address).where(
                Place.id.in_({r.parent_id for r in rooms})
            )
        )
    }
    bld = {
        b.id: b
        for b in db.execute(
            select(Place.id, Place.name, Place.address).where(
                Place.id.in_({u.parent_id for u in parents.values()})
            )
        )
    }
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "姓名*",
            "公民身份号码*",
            "联系电话",
            "户籍类别*",
            "与户主关系",
            "门牌地址*",
            "楼栋",
            "单元",
            "房号",
        ]
    )
    for i in range(n):
        room = rooms[i % len(rooms)]
        unit = parents[room.parent_id]
        b = bld[unit.parent_id]
        w.writerow(
            [
                f"新居民{i}",
                person(offset + i),
                f"137{i:08d}",
                "流动",
                "其他",
                b.address,
                b.name,
                unit.name,
                room.name,
            ]
        )
    data = buf.getvalue().encode()
    admin = actor_of(db, wf.Role.ADMIN)
    db.commit()
    ctx = Context(db=db, upload_dir=Path("/tmp"))
    t = time.perf_counter()
    result = imports.run_import(ctx, admin, ImportKind.RESIDENTS, data)
    db.flush()
    app_s = time.perf_counter() - t
    n_stored, invalid = result.stored, len(result.invalid)
    db.rollback()
    t = time.perf_counter()
    rows = [
        {
            "uuid": str(uuid.uuid4()),
            "name": f"新居民{i}",
            **stored.identity_columns(KEY, person(offset + i)),
            "birth_date": date(1980, 1, 1),
            "sex": "male",
            "registration": "floating",
            "relation": "other",
            "status": "active",
        }
        for i in range(n)
    ]
    with imports._roomy_page_cache(db):  # the page cache the import has (SQLite)
        db.execute(insert(Resident.__table__), rows)
        db.flush()
    bare_s = time.perf_counter() - t
    db.rollback()
    return {
        "rows": n,
        "stored": n_stored,
        "invalid": invalid,
        "app_s": round(app_s, 1),
        "bare_executemany_s": round(bare_s, 1),
        "ratio_app_bare": round(app_s / bare_s, 2) if bare_s else None,
        "csv_bytes": len(data),
    }


# --- databases -----------------------------------------------------------------------------------


def prepare(kind: str, pg_server: str) -> str:
    if kind == "sqlite":
        path = ROOT / "instance" / "bench-base.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        return url
    return create_pg_database(pg_server, DB_NAME, replace=True)


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--scale", type=float, default=1.0, help="1.0 = 500,000 residents, 150,000 households"
    )
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("WANGGE_BENCH_PG_URL") or os.environ.get("WANGGE_TEST_PG_URL", ""),
    )
    p.add_argument("--import-rows", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    households, residents = int(150_000 * a.scale), int(500_000 * a.scale)
    url = prepare(a.db, a.pg_url)
    engine = make_engine(url)
    if a.db == "postgres":
        with engine.begin() as conn:
            conn.execute(text("SET synchronous_commit = off"))
    db = make_session_factory(engine)()
    t = time.perf_counter()
    loaded = load(db, households, residents, a.seed)
    loaded["load_total_s"] = round(time.perf_counter() - t, 1)
    db.commit()
    if a.db == "postgres":
        # What autovacuum does to freshly loaded tables: statistics, and the visibility map
        # without which an index-only scan (the address-token counts) reads the heap too.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        db.execute(text("ANALYZE"))
        db.commit()
    figures = measure(db, residents, a.import_rows, random.Random(a.seed))
    print(
        json.dumps(
            {"db": a.db, "scale": a.scale, "loaded": loaded, **figures},
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
