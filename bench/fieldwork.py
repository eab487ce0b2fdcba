"""Benchmark of patrol tracks at county size (issue 17): a county day, 300 grid workers × 8 h at
one fix per 10 s = 864,000 positions, sent in chunks of 60 (14,400 chunks).

Each worker walks a random path in their own grid (~1.4 m/s, GPS noise, one fix in 50 too
inaccurate). Chunks go in the order a county sends them (every worker's first chunk, then every
worker's second, …), and each chunk is stored twice, one right after the other:

- **product**: through the use case (``server.usecases.patrols.add_chunk``: screening, the
  replay check, the stored positions either side, the chunk, the bulk insert, the summary,
  commit); the first ``--http-workers`` workers go through the Flask app instead (test client:
  sign-in, CSRF, the typed edge, JSON), reported apart;
- **bare**: the same kept positions as one ``executemany`` INSERT into a copy of
  ``track_points`` (same columns and index, no foreign keys), and a commit.

It prints p50/p99/max per chunk of each and the ratios, the statements a chunk costs, the end of
a patrol (summary and coverage), and one worker's day on the map (``GET
/api/v1/workers/<id>/day`` as their community's supervisor) beside the bare SELECT of that
day's positions. Targets (issue 17): p99 per chunk < 100 ms, the day < 200 ms.

    .venv/bin/python bench/fieldwork.py                       # full size, SQLite
    .venv/bin/python bench/fieldwork.py --db postgres         # full size, PostgreSQL
    .venv/bin/python bench/fieldwork.py --workers 30 --hours 2 # a quick run

PostgreSQL: ``--pg-url`` or WANGGE_BENCH_PG_URL or WANGGE_TEST_PG_URL (a server; a database
``wangge_bench_fieldwork`` is created there and dropped unless ``--keep``). SQLite:
``instance/bench-fieldwork.db``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
from _common import create_pg_database, drop_pg_database, pg_server_url  # noqa: E402
from shapely.geometry import MultiPolygon, box  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from geo.problems import ValidationReport  # noqa: E402
from server import migrate  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import make_session_factory  # noqa: E402
from server.domain import tracks as tr  # noqa: E402
from server.models import GridAssignment, Region, User  # noqa: E402
from server.security import hash_password  # noqa: E402
from server.usecases import patrols as uc  # noqa: E402
from server.usecases.context import Actor, Context  # noqa: E402
from server.usecases.grid_plan_versions import PlanCheck, publish, store_plan  # noqa: E402

DB_NAME = "wangge_bench_fieldwork"
COUNTY = "640181"
TOWNS, COMMUNITIES = 8, 6
TZ = ZoneInfo("Asia/Shanghai")
PASSWORD = "bench-password-1"
STEP = 0.01  # a grid is 0.01° square (~880 m × 1.1 km at 38° N)


# --- the county ----------------------------------------------------------------------------------


def load_county(db: Session, workers: int) -> tuple[list[int], list[tuple[float, float]], int]:
    """Regions, one grid per worker, the workers, and the supervisor of worker 0's community.
    Returns the workers' ids, their grids' south-west corners, the supervisor's id."""
    county = Region(code=COUNTY.ljust(12, "0"), name="灵武市", level="county", path="")
    db.add(county)
    db.flush()
    county.path = f"/{county.id}/"
    communities: list[Region] = []
    for t in range(TOWNS):
        town = Region(code=f"{COUNTY}{t + 1:03d}000", name=f"第{t + 1}镇", level="town",
                      parent_id=county.id, path="")  # fmt: skip
        db.add(town)
        db.flush()
        town.path = f"{county.path}{town.id}/"
        for c in range(COMMUNITIES):
            com = Region(code=f"{COUNTY}{t + 1:03d}{c + 1:03d}", name=f"第{t + 1}镇{c + 1}社区",
                         level="community", parent_id=town.id, path="")  # fmt: skip
            db.add(com)
            db.flush()
            com.path = f"{town.path}{com.id}/"
            communities.append(com)
    side = int(workers**0.5) + 1
    per = -(-workers // len(communities))
    codes, shapes, corners = [], [], []
    for g in range(workers):
        com = communities[g // per]
        x, y = 106.0 + (g % side) * STEP, 38.0 + (g // side) * STEP
        codes.append(f"{com.code}{g % per + 1:03d}")
        shapes.append(box(x, y, x + STEP, y + STEP))
        corners.append((x, y))
    frame = gpd.GeoDataFrame(
        {"code": codes, "households": [400] * workers}, geometry=shapes, crs="EPSG:4326"
    )
    publish(db, store_plan(db, PlanCheck(frame, None, ValidationReport(workers), "bench")))
    for com in communities:
        com.boundary = MultiPolygon([box(106.0, 38.0, 106.0 + side * STEP, 38.0 + side * STEP)])
    digest = hash_password(PASSWORD)
    ids = []
    for g, code in enumerate(codes):
        user = User(username=f"wg{g:03d}", display_name=f"网格员{g:03d}", password_hash=digest,
                    role="grid_worker", region_id=communities[g // per].id)  # fmt: skip
        user.assignments = [GridAssignment(grid_code=code, duty="full_time")]
        db.add(user)
        db.flush()
        ids.append(user.id)
    sup = User(username="supc", display_name="社区督查", password_hash=digest,
               role="supervisor", region_id=communities[0].id)  # fmt: skip
    db.add(sup)
    db.commit()
    return ids, corners, sup.id


def walk(rng: np.random.Generator, corner: tuple[float, float], n: int, t0_ms: int) -> np.ndarray:
    """n fixes 10 s apart of a walk at ~1.4 m/s inside the grid at ``corner``: (n, 4)."""
    heading = np.cumsum(rng.normal(0.0, 0.35, n))
    speed = np.clip(rng.normal(1.4, 0.4, n), 0.0, 3.0) * 10.0  # metres per 10 s
    m_lat, m_lon = 111_050.0, 87_700.0
    x = np.cumsum(speed * np.cos(heading)) / m_lon
    y = np.cumsum(speed * np.sin(heading)) / m_lat
    # reflect into the grid (a walk that reaches the edge turns back)
    span = STEP * 0.98
    x = np.abs(((x + span / 2) % (2 * span)) - span) + corner[0] + STEP * 0.01
    y = np.abs(((y + span / 2) % (2 * span)) - span) + corner[1] + STEP * 0.01
    x += rng.normal(0.0, 4.0 / m_lon, n)
    y += rng.normal(0.0, 4.0 / m_lat, n)
    acc = np.clip(rng.gamma(2.0, 6.0, n), 3.0, 60.0)
    acc[rng.random(n) < 0.02] = 150.0  # one fix in 50: too inaccurate
    t = t0_ms + np.arange(n, dtype=np.int64) * 10_000
    return np.column_stack([t, x, y, acc])


# --- the bare floor ------------------------------------------------------------------------------


def make_bare_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bare_points"))
        if engine.dialect.name == "postgresql":
            conn.execute(text("CREATE TABLE bare_points (LIKE track_points INCLUDING ALL)"))
        else:
            conn.execute(
                text(
                    "CREATE TABLE bare_points (id INTEGER PRIMARY KEY, patrol_id INTEGER NOT NULL,"
                    " chunk_id INTEGER NOT NULL, at DATETIME NOT NULL, lon FLOAT NOT NULL,"
                    " lat FLOAT NOT NULL, accuracy_m FLOAT)"
                )
            )
            conn.execute(
                text("CREATE INDEX ix_bare_points_patrol_at ON bare_points (patrol_id, at)")
            )


def bare_insert(raw: Any, dialect: str, patrol_id: int, chunk: int, rows: list[tuple]) -> float:
    """One executemany of the kept positions and a commit; milliseconds."""
    mark = "%s" if dialect == "postgresql" else "?"
    sql = (
        "INSERT INTO bare_points (patrol_id, chunk_id, at, lon, lat, accuracy_m) "
        f"VALUES ({', '.join([mark] * 6)})"
    )
    if dialect == "postgresql":
        params = [(patrol_id, chunk, tr.from_epoch_ms(t), x, y, a) for t, x, y, a in rows]
    else:
        params = [
            (patrol_id, chunk, tr.from_epoch_ms(t).replace(tzinfo=None).isoformat(sep=" "), x, y, a)
            for t, x, y, a in rows
        ]
    start = time.perf_counter()
    cur = raw.cursor()
    cur.executemany(sql, params)
    raw.commit()
    return (time.perf_counter() - start) * 1000


# --- figures -------------------------------------------------------------------------------------


def dist(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    s = sorted(ms)
    return {
        "n": len(s),
        "p50_ms": round(statistics.median(s), 2),
        "p99_ms": round(s[min(len(s) - 1, int(len(s) * 0.99))], 2),
        "max_ms": round(s[-1], 2),
        "mean_ms": round(statistics.fmean(s), 2),
    }


def counting(engine: Engine) -> list[int]:
    box_ = [0]

    def on(*_a: Any) -> None:
        box_[0] += 1

    event.listen(engine, "before_cursor_execute", on)
    return box_


# --- the run ---------------------------------------------------------------------------------


def run(a: argparse.Namespace) -> dict[str, Any]:
    server = pg_server_url(a.pg_url) if a.db == "postgres" else ""
    if a.db == "postgres":
        url = create_pg_database(server, DB_NAME, replace=True)
    else:
        path = ROOT / "instance" / "bench-fieldwork.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
    try:
        return measure(a, url)
    finally:
        if a.db == "postgres" and not a.keep:
            drop_pg_database(server, url)


def measure(a: argparse.Namespace, url: str) -> dict[str, Any]:
    from server.app import create_app

    instance = Path(tempfile.mkdtemp(prefix="bench-fieldwork-"))
    app = create_app(
        Settings.from_env(
            {"WANGGE_INSTANCE_DIR": str(instance), "WANGGE_DATABASE_URL": url,
             "WANGGE_SECRET_KEY": "bench", "WANGGE_APP_SWEEP_SECONDS": "0"}
        )
    )  # fmt: skip
    app.config["TESTING"] = True
    engine: Engine = app.extensions["wangge.engine"]
    db = make_session_factory(engine)()
    ids, corners, _sup = load_county(db, a.workers)
    make_bare_table(engine)

    # the day: two days ago in the county, 08:00–16:00 local
    day = (datetime.now(TZ) - timedelta(days=2)).date()
    t0 = datetime(day.year, day.month, day.day, 8, 0, tzinfo=TZ).astimezone(UTC)
    fixes = int(a.hours * 360)
    chunks = -(-fixes // 60)
    rng = np.random.default_rng(a.seed)
    paths = [walk(rng, corners[g], fixes, tr.epoch_ms(t0)) for g in range(a.workers)]

    ctx = Context(db=db)
    actors = {uid: Actor.load(db, uid) for uid in ids}
    http = {}
    for uid in ids[: a.http_workers]:
        client = app.test_client()
        name = db.scalar(select(User.username).where(User.id == uid))
        resp = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        assert resp.status_code == 200, resp.get_json()
        client.environ_base["HTTP_X_CSRFTOKEN"] = resp.get_json()["csrf_token"]
        http[uid] = client
    patrols: dict[int, str] = {}
    for g, uid in enumerate(ids):
        key = str(uuid.uuid4())
        lon, lat = float(paths[g][0, 1]), float(paths[g][0, 2])
        body = {"uuid": key, "started_at": t0.isoformat(), "lon": lon, "lat": lat}
        if uid in http:
            assert http[uid].post("/api/v1/patrols", json=body).status_code == 201
        else:
            uc.start(ctx, actors[uid], body)
        patrols[uid] = key
    patrol_ids = dict(
        db.execute(text("SELECT uuid, id FROM patrols")).all()  # type: ignore[arg-type]
    )

    raw = engine.raw_connection()
    product, via_http, bare, statements = [], [], [], []
    counter = counting(engine)
    kept_total = dropped_total = 0
    started = time.perf_counter()
    for k in range(chunks):
        for g, uid in enumerate(ids):
            pts = paths[g][k * 60 : (k + 1) * 60]
            if not len(pts):
                continue
            points = [[int(p[0]), float(p[1]), float(p[2]), float(p[3])] for p in pts]
            body = {"uuid": str(uuid.uuid4()), "seq": k, "points": points}
            before = counter[0]
            t = time.perf_counter()
            if uid in http:
                resp = http[uid].post(f"/api/v1/patrols/{patrols[uid]}/track", json=body)
                answer = resp.get_json()
                via_http.append((time.perf_counter() - t) * 1000)
            else:
                answer = uc.add_chunk(ctx, actors[uid], patrols[uid], body).answer
                product.append((time.perf_counter() - t) * 1000)
                statements.append(counter[0] - before)
            kept_total += answer["accepted"]
            dropped_total += len(answer["dropped"])
            rows = tr.screen_chunk(points, tr.Window(0, None, 2**50)).rows()
            bare.append(bare_insert(raw, engine.dialect.name, patrol_ids[patrols[uid]], k, rows))
        if a.progress and (k + 1) % max(1, chunks // 8) == 0:
            done = (k + 1) * len(ids)
            print(f"  {done:,} chunks, {time.perf_counter() - started:.0f} s, "
                  f"p99 so far {dist(product)['p99_ms']} ms", file=sys.stderr)  # fmt: skip
    ingest_s = time.perf_counter() - started
    raw.close()

    ends = []
    t_end = t0 + timedelta(hours=a.hours)
    for uid in ids:
        t = time.perf_counter()
        body = {"ended_at": t_end.isoformat()}
        if uid in http:
            assert (
                http[uid].post(f"/api/v1/patrols/{patrols[uid]}/end", json=body).status_code == 200
            )
        else:
            uc.end(ctx, actors[uid], patrols[uid], body)
        ends.append((time.perf_counter() - t) * 1000)

    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE track_points"))
            conn.execute(text("VACUUM ANALYZE patrols"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))

    # one worker's day on the map, as their community's supervisor
    sup = app.test_client()
    resp = sup.post("/api/v1/auth/login", json={"username": "supc", "password": PASSWORD})
    assert resp.status_code == 200
    worker = ids[0]
    path = f"/api/v1/workers/{worker}/day?date={day.isoformat()}"
    day_ms, bare_day_ms, size = [], [], 0
    pid = patrol_ids[patrols[worker]]
    raw = engine.raw_connection()
    mark = "%s" if engine.dialect.name == "postgresql" else "?"
    bare_sql = f"SELECT lon, lat FROM track_points WHERE patrol_id = {mark} ORDER BY at"
    for _ in range(a.day_repeats):
        t = time.perf_counter()
        r = sup.get(path)
        day_ms.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, r.get_json()
        size = len(r.data)
        t = time.perf_counter()
        cur = raw.cursor()
        cur.execute(bare_sql, (pid,))
        n_points = len(cur.fetchall())
        raw.commit()
        bare_day_ms.append((time.perf_counter() - t) * 1000)
    raw.close()
    body = r.get_json()
    out = {
        "db": a.db,
        "workers": a.workers,
        "hours": a.hours,
        "positions": a.workers * fixes,
        "chunks": len(product) + len(via_http),
        "kept": kept_total,
        "dropped": dropped_total,
        "ingest_wall_s": round(ingest_s, 1),
        "chunk_product_use_case": dist(product),
        "chunk_product_http": dist(via_http),
        "chunk_bare_executemany": dist(bare),
        "statements_per_chunk_use_case": {
            "p50": statistics.median(statements) if statements else None,
            "max": max(statements) if statements else None,
        },
        "end_of_patrol": dist(ends),
        "day_endpoint": dist(day_ms),
        "day_bare_select": dist(bare_day_ms),
        "day_points": n_points,
        "day_track_vertices": len(body["patrols"][0]["track"]["coordinates"]),
        "day_answer_bytes": size,
        "day_coverage": body["patrols"][0]["coverage"],
        "day_distance_m": body["patrols"][0]["distance_m"],
    }
    pb, bb = out["chunk_product_use_case"], out["chunk_bare_executemany"]
    if pb and bb:
        out["ratio_chunk_p50"] = round(pb["p50_ms"] / bb["p50_ms"], 1)
        out["ratio_chunk_p99"] = round(pb["p99_ms"] / bb["p99_ms"], 1)
    out["ratio_day_p50"] = round(
        out["day_endpoint"]["p50_ms"] / out["day_bare_select"]["p50_ms"], 1
    )
    db.close()
    engine.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument(
        "--pg-url",
        default=os.environ.get("WANGGE_BENCH_PG_URL") or os.environ.get("WANGGE_TEST_PG_URL", ""),
    )
    p.add_argument("--workers", type=int, default=300, help="grid workers (one grid each)")
    p.add_argument("--hours", type=float, default=8.0, help="hours of patrol, one fix per 10 s")
    p.add_argument("--http-workers", type=int, default=10,
                   help="workers whose chunks go through the Flask app")  # fmt: skip
    p.add_argument("--day-repeats", type=int, default=20)
    p.add_argument("--seed", type=int, default=17)
    p.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    p.add_argument("--progress", action="store_true")
    a = p.parse_args()
    print(json.dumps(run(a), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
