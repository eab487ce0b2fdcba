"""Benchmark of the console's API with 1 M cases in PostgreSQL (issue #6: p95 < 100 ms).

Creates a throw-away database on the server given by ``--pg-url`` / WANGGE_BENCH_PG_URL /
WANGGE_TEST_PG_URL, migrates it, seeds the demo county (灵武市, 320 grids, users, ~80 real
cases), then bulk-loads N cases (default 1,000,000) straight into ``incidents`` and
``incident_events`` with COPY (each case with the event trail of its state: report, accept,
dispatch, sign, resolve, verify, reject, suspend). Secondary indexes are dropped during the
load and rebuilt afterwards, then ANALYZE. It then times, through the Flask test client signed
in as the county dispatcher (who sees every case), the requests the console makes:

- the first queue page (open states, ``counts=1``) with and without filters,
- the overdue board, a search by number, by caller phone and by text,
- a case page (``GET /cases/{id}``: case, trail, photos, duplicates),
- a long-poll answer (``/changes``),

and prints p50 / p95 / max in milliseconds. The database is dropped at the end unless
``--keep`` is given.

    .venv/bin/python bench/console.py                    # 1 M cases
    .venv/bin/python bench/console.py --cases 200000 --repeat 30
"""

from __future__ import annotations

import argparse
import random
import signal
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import create_pg_database, drop_pg_database, pg_server_url  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from server import create_app  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import make_engine  # noqa: E402

STATES = {
    # (weight for cases older than 30 days, weight for recent ones)
    "closed": (83, 45),
    "rejected": (5, 4),
    "suspended": (2, 3),
    "self": (8, 8),
    "reported": (0.02, 6),
    "accepted": (0.02, 6),
    "dispatched": (0.5, 10),
    "in_progress": (1, 12),
    "resolved": (0.3, 6),
}
SOURCES = ["field"] * 80 + ["hotline"] * 17 + ["open311"] * 3
TEXTS = [
    "小区门口垃圾桶满溢，垃圾散落在人行道上",
    "早市摊贩占用人行道经营",
    "路面出现坑洞，电动车经过有危险",
    "人行道井盖破损下陷",
    "路灯连续两晚不亮",
    "行道树树枝折断压在非机动车道上",
    "工地未覆盖裸土，扬尘严重",
    "消防通道被私家车堵塞",
    "楼上漏水引发邻里纠纷",
    "公交站牌被贴满小广告",
]
INCIDENT_COLS = (
    "id, uuid, number, content_hash, source, state, version, category_id, description, address, "
    "lon, lat, accuracy_m, location, location_status, grid_id, grid_code, community_id, town_id, "
    "county_id, reporter_id, caller_name, caller_phone, contact_email, urgency, department_id, "
    "self_handled, suspended_from, last_rating, reported_at, created_at, updated_at, "
    "accepted_at, dispatched_at, deadline_at, resolved_at, closed_at, last_event_id"
)
EVENT_COLS = (
    "id, uuid, content_hash, incident_id, action, actor_id, actor_role, from_state, to_state, "
    "created_at, note, data, lon, lat, public"
)


def log(msg: str) -> None:
    print(msg, flush=True)


def create_db(server: str) -> str:
    return create_pg_database(server, f"wangge_bench_console_{uuid.uuid4().hex[:8]}")


def seed(url: str, inst: Path) -> Any:
    app = create_app(
        Settings.from_env(
            {
                "WANGGE_INSTANCE_DIR": str(inst),
                "WANGGE_DATABASE_URL": url,
                "WANGGE_SECRET_KEY": "bench",
            }
        )
    )
    app.config["TESTING"] = True
    from server.demo import seed_demo
    from server.extensions import db

    with app.app_context():
        seed_demo(db(), upload_dir=inst / "uploads")
    return app


def _psycopg_dsn(url: str) -> str:
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def bulk_load(url: str, n: int, seed_: int) -> dict[str, float]:
    import psycopg

    rng = random.Random(seed_)
    now = datetime.now(UTC)
    out: dict[str, float] = {}
    with psycopg.connect(_psycopg_dsn(url), autocommit=False) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT g.id, g.code, g.community_id, r.parent_id, ST_X(ST_PointOnSurface(g.geom)), "
            "ST_Y(ST_PointOnSurface(g.geom)) FROM grids g JOIN regions r ON r.id = g.community_id"
        )
        grids = cur.fetchall()
        cur.execute("SELECT id FROM regions WHERE level = 'county'")
        county = cur.fetchone()[0]  # type: ignore[index]
        cur.execute(
            "SELECT id, default_department_id FROM categories WHERE parent_id IS NOT NULL "
            "AND default_department_id IS NOT NULL"
        )
        cats = cur.fetchall()
        cur.execute("SELECT id FROM departments")
        deps = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT id, role, department_id FROM users")
        users = cur.fetchall()
        workers = [u[0] for u in users if u[1] == "grid_worker"]
        dispatcher = next(u[0] for u in users if u[1] == "dispatcher")
        handlers = {u[2]: u[0] for u in users if u[1] == "handler"}
        cur.execute("SELECT coalesce(max(id), 0) FROM incidents")
        case_id = cur.fetchone()[0]  # type: ignore[index]
        cur.execute("SELECT coalesce(max(id), 0) FROM incident_events")
        event_id = cur.fetchone()[0]  # type: ignore[index]

        # triggers (the metrics projection, metric_events) and secondary indexes off while
        # copying: the console's queries read incidents and incident_events only
        cur.execute("SET session_replication_role = replica")
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('incidents', 'incident_events') AND indexname NOT IN (SELECT conname FROM "
            "pg_constraint WHERE conrelid IN ('incidents'::regclass, 'incident_events'::regclass))"
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
        conn.commit()

        old_w = [w for w, _ in STATES.values()]
        new_w = [w for _, w in STATES.values()]
        names = list(STATES)
        span = 730 * 86400
        t0 = time.perf_counter()
        batch = 100_000
        done = 0
        while done < n:
            size = min(batch, n - done)
            cases: list[tuple[Any, ...]] = []
            events: list[tuple[Any, ...]] = []
            for _ in range(size):
                case_id += 1
                age = rng.random() ** 1.6 * span  # more recent cases than old ones
                created = now - timedelta(seconds=age)
                goal = rng.choices(names, weights=old_w if age > 30 * 86400 else new_w)[0]
                gid, gcode, comm, town, glon, glat = rng.choice(grids)
                cat, dep = rng.choice(cats)
                if rng.random() < 0.15:
                    dep = rng.choice(deps)
                lon = round(glon + rng.uniform(-0.0005, 0.0005), 6)
                lat = round(glat + rng.uniform(-0.0005, 0.0005), 6)
                src = "field" if goal == "self" else rng.choice(SOURCES)
                reporter = rng.choice(workers) if src == "field" else dispatcher
                phone = f"13{rng.randrange(10**9):09d}" if src == "hotline" else ""
                urgent = rng.random() < 0.05
                desc = rng.choice(TEXTS) + f"（{case_id}）"
                key = str(uuid.UUID(int=rng.getrandbits(128)))
                evs: list[tuple[str, str | None, str, int, str, float]] = []
                t = created.timestamp()

                def ev(
                    action: str,
                    frm: str | None,
                    to: str,
                    actor: int,
                    role: str,
                    evs: list[tuple[str, str | None, str, int, str, float]] = evs,
                ) -> None:
                    nonlocal t
                    t += rng.uniform(600, 6 * 3600)
                    evs.append((action, frm, to, actor, role, min(t, now.timestamp() - 1)))

                state = "reported"
                acc = dis = due = res = clo = None
                department = None
                last_rating = None
                suspended_from = None
                if goal == "self":
                    evs.append(("self_handle", None, "closed", reporter, "grid_worker", t))
                    state, acc, res, clo = "closed", created, created, created
                else:
                    evs.append(("report", None, "reported", reporter, "grid_worker", t))
                    path = {
                        "reported": [],
                        "rejected": ["reject"],
                        "accepted": ["accept"],
                        "suspended": ["accept", "suspend"],
                        "dispatched": ["accept", "dispatch"],
                        "in_progress": ["accept", "dispatch", "sign"],
                        "resolved": ["accept", "dispatch", "sign", "resolve"],
                        "closed": ["accept", "dispatch", "sign", "resolve", "verify"],
                    }[goal]
                    for step in path:
                        if step == "reject":
                            ev("reject", state, "rejected", dispatcher, "dispatcher")
                            state = "rejected"
                        elif step == "accept":
                            ev("accept", state, "accepted", dispatcher, "dispatcher")
                            state, acc = "accepted", datetime.fromtimestamp(t, UTC)
                        elif step == "suspend":
                            ev("suspend", state, "suspended", dispatcher, "dispatcher")
                            suspended_from, state = state, "suspended"
                        elif step == "dispatch":
                            ev("dispatch", state, "dispatched", dispatcher, "dispatcher")
                            state, department = "dispatched", dep
                            dis = datetime.fromtimestamp(t, UTC)
                            due = dis + timedelta(hours=rng.choice([4, 24, 72, 120]))
                        elif step == "sign":
                            who = handlers.get(dep, dispatcher)
                            ev("sign", state, "in_progress", who, "handler")
                            state = "in_progress"
                        elif step == "resolve":
                            who = handlers.get(dep, dispatcher)
                            ev("resolve", state, "resolved", who, "handler")
                            state, res = "resolved", datetime.fromtimestamp(t, UTC)
                        elif step == "verify":
                            ev("verify", state, "closed", dispatcher, "dispatcher")
                            state, clo = "closed", datetime.fromtimestamp(t, UTC)
                    if state == "closed" and src == "hotline" and rng.random() < 0.6:
                        last_rating = rng.choice(
                            ["satisfied"] * 8 + ["basically_satisfied"] * 2 + ["unsatisfied"]
                        )
                first_event = event_id + 1
                for action, frm, to, actor, role, ts in evs:
                    event_id += 1
                    events.append(
                        (
                            event_id,
                            key if action in ("report", "self_handle") else None,
                            None,
                            case_id,
                            action,
                            actor,
                            role,
                            frm,
                            to,
                            datetime.fromtimestamp(ts, UTC),
                            desc if action in ("report", "self_handle") else "",
                            "{}",
                            lon if action in ("report", "self_handle") else None,
                            lat if action in ("report", "self_handle") else None,
                            action in ("report", "self_handle", "reject", "dispatch", "verify"),
                        )
                    )
                updated = datetime.fromtimestamp(evs[-1][5], UTC)
                cases.append(
                    (
                        case_id,
                        key,
                        created.astimezone(UTC).strftime("%Y%m%d") + f"{case_id:07d}",
                        key.replace("-", ""),
                        src,
                        state,
                        len(evs),
                        cat,
                        desc,
                        "",
                        lon,
                        lat,
                        10.0,
                        f"SRID=4326;POINT({lon} {lat})",
                        "inside",
                        gid,
                        gcode,
                        comm,
                        town,
                        county,
                        reporter,
                        "来电群众" if phone else "",
                        phone,
                        "",
                        "urgent" if urgent else "normal",
                        department,
                        goal == "self",
                        suspended_from,
                        last_rating,
                        created,
                        created,
                        updated,
                        acc,
                        dis,
                        due,
                        res,
                        clo,
                        first_event + len(evs) - 1,
                    )
                )
            with cur.copy(f"COPY incidents ({INCIDENT_COLS}) FROM STDIN") as cp:
                for row in cases:
                    cp.write_row(row)
            with cur.copy(f"COPY incident_events ({EVENT_COLS}) FROM STDIN") as cp:
                for row in events:
                    cp.write_row(row)
            conn.commit()
            done += size
            log(f"  loaded {done:,} cases ({time.perf_counter() - t0:.0f} s)")
        out["copy_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        for _, ddl in indexes:
            cur.execute(ddl)
        cur.execute("SELECT setval('incidents_id_seq', (SELECT max(id) FROM incidents))")
        cur.execute(
            "SELECT setval('incident_events_id_seq', (SELECT max(id) FROM incident_events))"
        )
        conn.commit()
        out["index_s"] = time.perf_counter() - t1
    with psycopg.connect(_psycopg_dsn(url), autocommit=True) as conn:
        t2 = time.perf_counter()
        conn.execute("VACUUM ANALYZE incidents")
        conn.execute("VACUUM ANALYZE incident_events")
        out["analyze_s"] = time.perf_counter() - t2
    return out


def timings(client: Any, path: str, repeat: int) -> dict[str, float]:
    for _ in range(3):
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:300])
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, round(0.95 * len(times)) - 1)],
        "max": times[-1],
    }


def measure(app: Any, url: str, repeat: int, seed_: int) -> list[tuple[str, str, dict[str, float]]]:
    rng = random.Random(seed_)
    eng = make_engine(url, poolclass=NullPool)
    with eng.connect() as conn:
        town = conn.execute(text("SELECT code FROM regions WHERE level='town' LIMIT 1")).scalar()
        comm = conn.execute(
            text("SELECT code FROM regions WHERE level='community' ORDER BY code DESC LIMIT 1")
        ).scalar()
        dep = conn.execute(text("SELECT id FROM departments ORDER BY id LIMIT 1")).scalar()
        max_id = conn.execute(text("SELECT max(id) FROM incidents")).scalar()
        number = conn.execute(
            text("SELECT number FROM incidents WHERE id = :i"), {"i": max_id // 2}
        ).scalar()
        phone = conn.execute(
            text("SELECT caller_phone FROM incidents WHERE caller_phone <> '' LIMIT 1")
        ).scalar()
        cursor = conn.execute(text("SELECT max(id) FROM incident_events")).scalar()
        open_ids = list(
            conn.execute(
                text(
                    "SELECT id FROM incidents WHERE state IN ('reported','accepted','dispatched',"
                    "'in_progress','resolved') ORDER BY id DESC LIMIT 500"
                )
            ).scalars()
        )
    eng.dispose()
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"username": "ddy", "password": "wangge-demo"})
    assert r.status_code == 200, r.get_data(as_text=True)
    open_states = "reported,accepted,dispatched,in_progress,resolved"
    week = (datetime.now(UTC) - timedelta(days=7)).date()
    # The console asks for the page and for the counts in two concurrent requests.
    queries = [
        ("queue page: open states", f"/cases?state={open_states}&limit=50"),
        ("queue counts: open states", f"/cases?state={open_states}&limit=1&counts=1"),
        ("queue page: reported only", "/cases?state=reported&limit=50"),
        (
            "queue page: town + category 01 + open",
            f"/cases?state={open_states}&region={town}&category=01&limit=50",
        ),
        (
            "queue counts: town + category 01",
            f"/cases?state={open_states}&region={town}&category=01&limit=1&counts=1",
        ),
        (
            "queue page: community + department + urgent",
            f"/cases?region={comm}&department={dep}&urgency=urgent&limit=50",
        ),
        ("queue page: hotline, last 7 days", f"/cases?source=hotline&from={week}&limit=50"),
        ("overdue board (overdue=1, sort=deadline_at)", "/cases?overdue=1&sort=deadline_at"),
        ("queue page: all, sort -updated_at", "/cases?sort=-updated_at&limit=50"),
        ("search: case number", f"/cases?q={number}&limit=50"),
        ("search: caller phone", f"/cases?q={phone}&limit=50"),
        ("search: text, no match (LIKE %…%)", f"/cases?q={quote('不存在的问题')}&limit=50"),
        ("changes (long poll answer)", f"/changes?after={cursor - 50}&wait=0"),
    ]
    results = []
    for label, path in queries:
        results.append((label, path, timings(client, "/api/v1" + path, repeat)))
        log(f"  {label}: p95 {results[-1][2]['p95']:.1f} ms")
    # case pages: a different case each time
    ids = [rng.choice(open_ids) for _ in range(repeat + 3)] + [
        rng.randrange(1, max_id) for _ in range(repeat + 3)
    ]
    times = []
    for i, cid in enumerate(ids):
        t = time.perf_counter()
        r = client.get(f"/api/v1/cases/{cid}")
        dt = (time.perf_counter() - t) * 1000
        assert r.status_code == 200, r.get_data(as_text=True)[:200]
        if i >= 3:
            times.append(dt)
    times.sort()
    results.append(
        (
            "case page GET /cases/{id}",
            "/cases/{id} (random ids)",
            {
                "p50": statistics.median(times),
                "p95": times[round(0.95 * len(times)) - 1],
                "max": times[-1],
            },
        )
    )
    return results


# Indexes the migrations lack that the console's queries want on PostgreSQL (see the report).
ADVISED = [
    # counts per state and the overdue count inside a jurisdiction: index-only scans
    "CREATE INDEX ix_incidents_county_state_deadline ON incidents (county_id, state, deadline_at)",
    "CREATE INDEX ix_incidents_town_state_deadline ON incidents (town_id, state, deadline_at)",
    "CREATE INDEX ix_incidents_community_state_deadline "
    "ON incidents (community_id, state, deadline_at)",
    # the queue sorted by recent activity
    "CREATE INDEX ix_incidents_county_updated ON incidents (county_id, updated_at)",
    # search: number prefix, text / address / caller phone substrings (pg_trgm works on CJK)
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_incidents_number_pattern ON incidents (number varchar_pattern_ops)",
    "CREATE INDEX ix_incidents_description_trgm ON incidents USING gin (description gin_trgm_ops)",
    "CREATE INDEX ix_incidents_address_trgm ON incidents USING gin (address gin_trgm_ops)",
    "CREATE INDEX ix_incidents_caller_phone_trgm "
    "ON incidents USING gin (caller_phone gin_trgm_ops)",
]


def add_advised(url: str) -> float:
    import psycopg

    t = time.perf_counter()
    with psycopg.connect(_psycopg_dsn(url), autocommit=True) as conn:
        for ddl in ADVISED:
            conn.execute(ddl)
        conn.execute("VACUUM ANALYZE incidents")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pg-url")
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    ap.add_argument(
        "--no-advised", action="store_true", help="do not time again with the advised indexes"
    )
    args = ap.parse_args()
    # a kill (SIGTERM) still drops the database
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = pg_server_url(args.pg_url)
    url = create_db(server)
    log(f"database {make_url(url).database}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            app = seed(url, Path(tmp))
            log(f"demo county seeded in {time.perf_counter() - t:.1f} s")
            load = bulk_load(url, args.cases, args.seed)
            log(
                f"{args.cases:,} cases loaded: COPY {load['copy_s']:.0f} s, indexes "
                f"{load['index_s']:.0f} s, analyze {load['analyze_s']:.0f} s"
            )
            log("as migrated:")
            base = measure(app, url, args.repeat, args.seed)
            advised: list[tuple[str, str, dict[str, float]]] = []
            if not args.no_advised:
                log(f"advised indexes built in {add_advised(url):.0f} s; again:")
                advised = measure(app, url, args.repeat, args.seed)
            app.extensions["wangge.engine"].dispose()
        goal = 100.0
        print()
        print(f"Console API on PostgreSQL, {args.cases:,} cases, {args.repeat} runs each (ms);")
        print(f"goal p95 < {goal:.0f}. 'advised' = with the indexes in ADVISED (bench/console.py)")
        head = f"{'request':46} {'p50':>7} {'p95':>7} {'max':>7}"
        if advised:
            head += f"   {'advised p50':>11} {'p95':>7} {'max':>7}"
        print(head)
        for i, (label, _, r) in enumerate(base):
            line = f"{label:46} {r['p50']:7.1f} {r['p95']:7.1f} {r['max']:7.1f}"
            line += "  " if r["p95"] < goal else " !"
            if advised:
                a = advised[i][2]
                line += f" {a['p50']:11.1f} {a['p95']:7.1f} {a['max']:7.1f}"
                line += "" if a["p95"] < goal else " !"
            print(line)
    finally:
        if args.keep:
            log(f"kept: {url}")
        else:
            drop_pg_database(server, url)


if __name__ == "__main__":
    main()
