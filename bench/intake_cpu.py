"""CPU per report, in one process: the product's ``POST /api/v1/cases`` against its bare stack
(``bench/bare_app.py``: Flask, a psycopg pool, one INSERT), both through Flask's test client on
the same throw-away PostgreSQL database (issue 13).

    .venv/bin/python bench/intake_cpu.py [--reports 300] [--rounds 3] [--profile out.prof]

Creates a database with PostGIS, migrates it and seeds the demo county (``flask db upgrade``,
``flask demo seed``), signs in as the grid worker ``wgy`` and posts reports (a fresh UUID each,
at points inside wgy's county grids, as ``bench/api_load.py`` picks them). Prints, per report:

- Python: this process's CPU (``time.process_time``) — the request's whole path in Flask,
  without gunicorn and the network (the HTTP bench, ``api_load.py``, measures those too);
- PostgreSQL: the CPU of the backends serving the bench database (``/proc/<pid>/stat``, when
  the server runs on this machine and its processes are readable);

for the product and the bare stack in alternating rounds, and their ratios; and a third row, the
product's floor: the same report refused at its body check (``lon`` not a number: 400). It goes
through Flask, the session cookie, CSRF and the body's parsing and is refused before the
sign-in check's statement and any use case: ``product - floor`` is what the sign-in check, the
report's own work and its answer cost (where cutting can pay).

Two more rows bound any rewrite: ``store``, the product's own SQL of a report (captured from a
real one) replayed by bare psycopg, no Flask and no ORM; and ``unfolded``, the same with the
metric fold's trigger off. ``floor + store`` is what a report would cost if the product's own
Python took no time (docs/operations.md, "The floor under any rewrite").

``--profile FILE`` profiles one more round of the product's reports (CPU time, cProfile; read
it with ``python -m pstats FILE``). The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from bench._common import create_pg_database, drop_pg_database  # noqa: E402
from server.db import make_engine, normalise_url  # noqa: E402

BARE_DDL = (
    "CREATE TABLE IF NOT EXISTS bench_reports (id bigserial PRIMARY KEY, body jsonb NOT NULL)"
)
_TICK = os.sysconf("SC_CLK_TCK")


class Backends:
    """CPU seconds of the PostgreSQL backends connected to one database (None if unreadable)."""

    def __init__(self, admin: Any, name: str) -> None:
        self.admin, self.name = admin, name

    def cpu(self) -> float | None:
        with self.admin.connect() as conn:
            pids = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :n"), {"n": self.name}
            ).scalars()
            total = 0.0
            for pid in pids:
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    return None
                total += (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
        return total


class Store:
    """The product's own SQL of one report, captured from a real ``POST /api/v1/cases``
    (SQLAlchemy's ``before_cursor_execute``) and replayed by bare psycopg in one transaction per
    report: the ids the product takes up front come from its own first statement, and every
    other value that must be unique (the UUIDs, the case number) is made fresh. What the
    database and the driver cost for the statements the product sends, without Flask, the ORM
    or the product's Python: the floor under any rewrite that keeps these statements."""

    def __init__(self, engine: Any, client: Any, points: Any, cats: Any, db_url: str) -> None:
        from sqlalchemy import event

        seen: list[tuple[str, Any]] = []

        def grab(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            seen.append((statement, params))

        event.listen(engine, "before_cursor_execute", grab)
        try:
            body = _bodies(points, cats, 1)[0]
            r = client.post("/api/v1/cases", json=body)
            assert r.status_code == 201, r.get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", grab)
        # the transaction's own BEGIN/COMMIT are the driver's, not statements
        self.statements = [(s, p) for s, p in seen if s.strip().upper() not in ("BEGIN", "COMMIT")]
        self.uuid = body["uuid"]
        import psycopg

        self.conn = psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://"))

    def _fresh(self, params: Any, ids: tuple[int, int] | None) -> Any:
        if not isinstance(params, dict):
            return params
        key = str(uuid.uuid4())
        out = {}
        for k, v in params.items():
            if v == self.uuid:
                v = key
            elif ids and k in ("c_id", "e_incident_id"):
                v = ids[0]
            elif ids and k in ("c_last_event_id", "e_id"):
                v = ids[1]
            elif k == "c_number":
                v = f"S{ids[0] if ids else 0:015d}{random.randrange(10**6):06d}"  # 22 of 24
            out[k] = v
        return out

    def run(self, n: int, backends: Backends, fold: bool = True) -> tuple[float, float | None]:
        """CPU per report (Python, PostgreSQL) of ``n`` replays; ``fold=False`` with the metric
        fold's trigger off (``metric_events_sync``, server/metrics_fold): what the statements
        would cost if the fold were done elsewhere (it would still cost CPU there)."""
        if not fold:
            self.conn.execute("ALTER TABLE incident_events DISABLE TRIGGER metric_events_sync")
            self.conn.commit()
        try:
            return self._run(n, backends)
        finally:
            if not fold:
                self.conn.execute("ALTER TABLE incident_events ENABLE TRIGGER metric_events_sync")
                self.conn.commit()

    def _run(self, n: int, backends: Backends) -> tuple[float, float | None]:
        pg0 = backends.cpu()
        t0 = time.process_time()
        for _ in range(n):
            ids: tuple[int, int] | None = None
            with self.conn.transaction():
                for statement, params in self.statements:
                    cur = self.conn.execute(statement, self._fresh(params, ids))
                    if statement.lstrip().upper().startswith("SELECT PG_CURRENT_XACT_ID"):
                        row = cur.fetchone()
                        assert row is not None
                        ids = int(row[1]), int(row[2])
        py = (time.process_time() - t0) * 1000 / n
        pg1 = backends.cpu()
        pg = (pg1 - pg0) * 1000 / n if pg0 is not None and pg1 is not None else None
        return py, pg

    def close(self) -> None:
        self.conn.close()


def _bodies(points: list[tuple[float, float]], cats: list[int], n: int) -> list[dict[str, Any]]:
    out = []
    for _ in range(n):
        lon, lat = random.choice(points)
        out.append(
            {
                "uuid": str(uuid.uuid4()),
                "category_id": random.choice(cats),
                "description": "负载测试上报",
                "lon": round(lon, 6),
                "lat": round(lat, 6),
                "accuracy_m": 10,
            }
        )
    return out


def _run(
    client: Any,
    path: str,
    bodies: list[dict[str, Any]],
    backends: Backends,
    prof: Any = None,
    status: int = 201,
) -> tuple[float, float | None]:
    """(Python ms, PostgreSQL ms) per request; each answer must have ``status``."""
    pg0 = backends.cpu()
    t0 = time.process_time()
    if prof is not None:
        prof.enable()
    for body in bodies:
        r = client.post(path, json=body)
        if r.status_code != status:
            raise SystemExit(f"{path}: {r.status_code} {r.get_data(as_text=True)[:300]}")
    if prof is not None:
        prof.disable()
    py = (time.process_time() - t0) * 1000 / len(bodies)
    pg1 = backends.cpu()
    pg = (pg1 - pg0) * 1000 / len(bodies) if pg0 is not None and pg1 is not None else None
    return py, pg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reports", type=int, default=300, help="reports per stack per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", help="write a cProfile of the product's reports here")
    ap.add_argument(
        "--pg",
        default=os.environ.get(
            "WANGGE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = ap.parse_args()

    server_url = normalise_url(args.pg)
    name = f"wangge_cpu_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    db_url = create_pg_database(server_url, name)  # with PostGIS, migrated
    try:
        engine = make_engine(db_url, poolclass=NullPool)
        env = {
            **os.environ,
            "WANGGE_DATABASE_URL": db_url,
            "WANGGE_INSTANCE_DIR": tempfile.mkdtemp(prefix="wangge-cpu-"),
            "WANGGE_LOGIN_MAX_FAILURES": "1000",
        }
        flask = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi"]
        subprocess.run([*flask, "demo", "seed"], env=env, cwd=ROOT, check=True, capture_output=True)
        with engine.begin() as conn:
            conn.execute(text(BARE_DDL))
            county_id = conn.execute(
                text("SELECT region_id FROM users WHERE username = 'ddy'")
            ).scalar_one()
            points = [
                (float(x), float(y))
                for x, y in conn.execute(
                    text(
                        "SELECT ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) "
                        "FROM grids g JOIN regions c ON c.id = g.community_id "
                        "JOIN regions t ON t.id = c.parent_id WHERE t.parent_id = :county"
                    ),
                    {"county": county_id},
                )
            ]
            cats = list(
                conn.execute(
                    text("SELECT id FROM categories WHERE parent_id IS NOT NULL AND active")
                ).scalars()
            )
        engine.dispose()
        os.environ.update({k: env[k] for k in ("WANGGE_DATABASE_URL", "WANGGE_INSTANCE_DIR")})
        os.environ["WANGGE_APP_SWEEP_SECONDS"] = "0"  # the sweep is not a report's cost
        import logging

        from bench import bare_app
        from server import create_app

        app = create_app()
        logging.disable(logging.WARNING)
        product = app.test_client()
        r = product.post("/api/v1/auth/login", json={"username": "wgy", "password": "wangge-demo"})
        assert r.status_code == 200, r.get_data(as_text=True)
        product.environ_base["HTTP_X_CSRFTOKEN"] = r.get_json()["csrf_token"]
        bare = bare_app.app.test_client()
        backends = Backends(admin, name)

        # warm both (caches, pools, the first statements' plans)
        _run(product, "/api/v1/cases", _bodies(points, cats, 30), backends)
        store = Store(app.extensions["wangge.engine"], product, points, cats, db_url)
        _run(bare, "/report", _bodies(points, cats, 30), backends)

        got: dict[str, list[tuple[float, float | None]]] = {
            "product": [],
            "bare": [],
            "floor": [],
            "store": [],
            "unfolded": [],
        }
        print(f"PostgreSQL db {name}; {args.reports} reports per stack per round, in process")
        print("(floor: the product's report refused at its body check, 400, before any SQL)")
        print(
            f"(store: the product's own {len(store.statements)} statements of a report, "
            "replayed by bare psycopg, no Flask)"
        )
        for i in range(args.rounds):
            for label, client, path, status in (
                ("product", product, "/api/v1/cases", 201),
                ("bare", bare, "/report", 201),
                ("floor", product, "/api/v1/cases", 400),
            ):
                bodies = _bodies(points, cats, args.reports)
                if label == "floor":
                    for b in bodies:
                        b["lon"] = "east"
                py, pg = _run(client, path, bodies, backends, status=status)
                if label == "floor":  # and the store, in the same round
                    got["store"].append(store.run(args.reports, backends))
                    got["unfolded"].append(store.run(args.reports, backends, fold=False))
                got[label].append((py, pg))
                pg_s = f"{pg:5.2f}" if pg is not None else "  n/a"
                print(f"  round {i + 1} {label:8s} Python {py:6.2f} ms   PostgreSQL {pg_s} ms")
                if label == "floor":
                    for row in ("store", "unfolded"):
                        spy, spg = got[row][-1]
                        spg_s = f"{spg:5.2f}" if spg is not None else "  n/a"
                        print(
                            f"  round {i + 1} {row:8s} Python {spy:6.2f} ms   PostgreSQL {spg_s} ms"
                        )

        def med(label: str, k: int) -> float | None:
            vals = [v[k] for v in got[label] if v[k] is not None]
            return statistics.median(vals) if vals else None  # type: ignore[type-var]

        print("\nper report (median of rounds):")
        for k, what in ((0, "Python"), (1, "PostgreSQL")):
            p, b = med("product", k), med("bare", k)
            if p is None or b is None:
                print(f"  {what:10s} n/a (backend processes not readable)")
                continue
            print(
                f"  {what:10s} product {p:6.2f} ms   bare {b:5.2f} ms   product/bare {p / b:5.1f}x"
            )
        pp, bp = med("product", 0), med("bare", 0)
        pg_p, pg_b = med("product", 1), med("bare", 1)
        if pp and bp:
            tot_p, tot_b = pp + (pg_p or 0), bp + (pg_b or 0)
            print(
                f"  total CPU  product {tot_p:6.2f} ms   bare {tot_b:5.2f} ms   "
                f"ratio (bare/product, the rate ratio on CPU-bound cores) {tot_b / tot_p:.3f}"
            )
            fp, pg_f = med("floor", 0), med("floor", 1)
            if fp:
                tot_f = fp + (pg_f or 0)
                print(
                    f"  floor      {tot_f:6.2f} ms (Flask, session, CSRF, body check); "
                    f"the sign-in check, the report's work and its answer: {tot_p - tot_f:5.2f} ms"
                )
            for row, what in (
                ("store", "the product's statements alone"),
                ("unfolded", "the same without the metric fold's trigger"),
            ):
                sp, pg_s = med(row, 0), med(row, 1)
                if sp and fp:
                    tot_s = sp + (pg_s or 0)
                    best = fp + (med("floor", 1) or 0) + tot_s
                    print(
                        f"  {row:10s} {tot_s:6.2f} ms ({what}, PostgreSQL {pg_s or 0:.2f} ms); "
                        f"floor + {row} {best:5.2f} ms, ratio {tot_b / best:.3f} (goal 0.5)"
                    )
            print(
                "  (floor + store: the product with no Python work of its own beyond Flask and "
                "bare psycopg; its ratio bounds any rewrite that keeps these statements)"
            )
        store.close()
        if args.profile:
            # a round of its own (profiling slows what it measures), CPU time rather than wall
            prof = cProfile.Profile(time.process_time)
            _run(product, "/api/v1/cases", _bodies(points, cats, args.reports), backends, prof)
            prof.dump_stats(args.profile)
            print(f"\ncProfile (CPU time) of {args.reports} product reports: {args.profile}")
        bare_app.pool.close()
        app.extensions["wangge.engine"].dispose()
    finally:
        admin.dispose()
        drop_pg_database(server_url, db_url)


if __name__ == "__main__":
    main()
