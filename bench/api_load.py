"""Report intake and dispatch under sustained load: gunicorn + PostgreSQL, load from this process.

    .venv/bin/python bench/api_load.py [--seconds 60] [--rate 60] [--workers 4]
        [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Creates a throw-away database (with PostGIS), migrates it, seeds the demo county, starts gunicorn
on a free loopback port, then drives a fixed request rate (open loop: requests are sent on
schedule whether or not earlier ones have answered) for ``--seconds``: grid workers report cases
(each with a client UUID) and the dispatcher accepts and dispatches them. Prints throughput,
p50/p95/p99 latency per kind, errors, and the count of acknowledged reports against the count in
the database, which must match. Goal: p99 < 100 ms with zero errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from statistics import quantiles

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from server.db import make_engine, normalise_url  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """One keep-alive connection with a signed-in session."""

    def __init__(self, port: int, username: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""
        self.csrf = ""
        status, body = self.call(
            "POST", "/api/v1/auth/login", {"username": username, "password": "wangge-demo"}
        )
        if status != 200:
            raise SystemExit(f"login {username}: {status} {body}")
        self.csrf = body["csrf_token"]

    def call(self, method: str, path: str, body: object = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json", "Cookie": self.cookie}
        if self.csrf:
            headers["X-CSRFToken"] = self.csrf
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (OSError, http.client.HTTPException):
                # The server closed an idle keep-alive connection: reconnect and send again
                # (safe: every report and action carries its UUID, so a repeat is a replay).
                self.conn.close()
                if attempt == 2:
                    raise
        for header, value in resp.getheaders():
            if header.lower() == "set-cookie":
                name_value = value.split(";", 1)[0]
                jar = dict(c.split("=", 1) for c in self.cookie.split("; ") if "=" in c)
                k, v = name_value.split("=", 1)
                jar[k] = v
                self.cookie = "; ".join(f"{a}={b}" for a, b in jar.items())
        return resp.status, (json.loads(raw) if raw else {})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--rate", type=float, default=60, help="requests per second, all kinds")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    ap.add_argument("--threads", type=int, default=16, help="load-generator threads")
    ap.add_argument(
        "--pg",
        default=os.environ.get(
            "WANGGE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = ap.parse_args()

    server_url = normalise_url(args.pg)
    name = f"wangge_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(server_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    instance = Path(tempfile.mkdtemp(prefix="wangge-bench-"))
    env = {
        **os.environ,
        "WANGGE_DATABASE_URL": db_url,
        "WANGGE_INSTANCE_DIR": str(instance),
        "WANGGE_LOGIN_MAX_FAILURES": "1000",
    }
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi"]
    port = free_port()
    server = None
    try:
        engine = make_engine(db_url, poolclass=NullPool)
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        subprocess.run(
            [*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        subprocess.run([*flask, "demo", "seed"], env=env, cwd=ROOT, check=True, capture_output=True)
        with engine.connect() as conn:
            before = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
            points = conn.execute(
                text(
                    "SELECT ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) FROM grids"
                )
            ).all()
            cats = [
                r[0]
                for r in conn.execute(text("SELECT id FROM categories WHERE parent_id IS NOT NULL"))
            ]
            dep = conn.execute(text("SELECT id FROM departments ORDER BY id LIMIT 1")).scalar_one()
        server = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "-w",
                str(args.workers),
                "-k",
                "gthread",
                "--threads",
                "4",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            env=env,
            cwd=ROOT,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        print(f"gunicorn: {args.workers} workers (gthread x4) on :{port}; PostgreSQL db {name}")
        print(f"load: {args.rate:g} req/s for {args.seconds:g} s from {args.threads} threads")

        lat: dict[str, list[float]] = {"report": [], "accept": [], "dispatch": []}
        errors: list[str] = []
        acked: set[str] = set()
        lock = threading.Lock()
        pending: list[tuple[int, int]] = []  # (case id, version) waiting for accept/dispatch
        start = time.monotonic() + 1.0
        interval = args.threads / args.rate

        def worker(n: int) -> None:
            rng = random.Random(n)
            field = Client(port, "wgy" if n % 2 else f"wgy{(n % 15) + 2:02d}")
            desk = Client(port, "ddy")
            t_next = start + n * (interval / args.threads)
            while t_next < start + args.seconds:
                delay = t_next - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                t_next += interval
                with lock:
                    job = pending.pop() if pending and rng.random() < 0.5 else None
                try:
                    if job is None:
                        x, y = rng.choice(points)
                        key = str(uuid.uuid4())
                        body = {
                            "uuid": key,
                            "category_id": rng.choice(cats),
                            "description": "负载测试上报",
                            "lon": x,
                            "lat": y,
                            "accuracy_m": 10,
                        }
                        t0 = time.perf_counter()
                        status, answer = field.call("POST", "/api/v1/cases", body)
                        dt = time.perf_counter() - t0
                        kind = "report"
                        if status in (200, 201):
                            with lock:
                                acked.add(key)
                                pending.append((answer["case"]["id"], answer["case"]["version"]))
                    else:
                        cid, version = job
                        t0 = time.perf_counter()
                        status, answer = desk.call(
                            "POST",
                            f"/api/v1/cases/{cid}/actions",
                            {"uuid": str(uuid.uuid4()), "action": "accept", "version": version},
                        )
                        lat["accept"].append(time.perf_counter() - t0)
                        if status == 200:
                            t0 = time.perf_counter()
                            status, answer = desk.call(
                                "POST",
                                f"/api/v1/cases/{cid}/actions",
                                {
                                    "uuid": str(uuid.uuid4()),
                                    "action": "dispatch",
                                    "department_id": dep,
                                    "version": answer["case"]["version"],
                                },
                            )
                        dt = time.perf_counter() - t0
                        kind = "dispatch"
                    with lock:
                        lat[kind].append(dt)
                        if status not in (200, 201):
                            errors.append(f"{kind} {status} {answer.get('error')}")
                except Exception as exc:  # noqa: BLE001 - a bench counts every failure
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    field = Client(port, "wgy")
                    desk = Client(port, "ddy")

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.threads)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - max(t0, start)
        total = sum(len(v) for v in lat.values())
        print(
            f"\nrequests: {total} in {elapsed:.1f} s = {total / elapsed:.1f} req/s; "
            f"errors: {len(errors)}"
        )
        for kind, values in lat.items():
            if len(values) < 2:
                continue
            q = quantiles(values, n=100)
            print(
                f"  {kind:9s} n={len(values):6d}  p50 {q[49] * 1000:6.1f} ms  "
                f"p95 {q[94] * 1000:6.1f} ms  p99 {q[98] * 1000:6.1f} ms  "
                f"max {max(values) * 1000:6.1f} ms"
            )
        for e in sorted(set(errors))[:10]:
            print(f"  error: {e} (x{errors.count(e)})")
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT count(*) FROM incidents WHERE uuid = ANY(:keys)"),
                {"keys": sorted(acked)},
            ).scalar_one()
            total_now = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
        new_rows = total_now - before
        verdict = "MATCH" if stored == len(acked) == new_rows else "MISMATCH"
        print(
            f"acknowledged reports: {len(acked)}; in the database: {stored} "
            f"(new rows: {new_rows}) -> {verdict}"
        )
        engine.dispose()
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
