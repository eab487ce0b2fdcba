"""Report intake side by side with its bare stack, while hundreds of consoles are connected.

    .venv/bin/python bench/api_load.py [--workers 2] [--consoles 300] [--step-seconds 5]
        [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Creates a throw-away database (with PostGIS), migrates it, seeds the demo county and starts two
servers with the same gunicorn config (``gunicorn.conf.py``, same workers and worker class):

- the product, ``wsgi:app``: ``POST /api/v1/cases`` signed in as a grid worker;
- the bare stack, ``bench/bare_app.py``: Flask + a psycopg pool + one INSERT of the same body.

The load generator is ``wrk`` (compiled, C + LuaJIT; ``bench/intake.lua`` makes each body with a
fresh UUID and records the UUID of every acknowledged answer). For each stack it prints a fixed
run (``wrk -t2 -c16``) and a closed-loop search: ``-c`` is stepped 1, 2, 4, … and the
"maximum sustainable rate" is the highest throughput of a step with p99 < 100 ms and no errors.
Every step checks that each acknowledged report is in the database (rows stored beyond those
acknowledged are requests in flight when wrk stopped, at most one per connection).

While the product is loaded, ``--consoles`` consoles (``GET /api/v1/changes/stream``, as
``webapp/src/console/live.ts`` does; ``--console-mode poll``: the long poll ``GET /changes`` it
used before) run in a separate process: county dispatchers and town
dispatchers, each console checking at the end that it received every change in its scope, and
the delay from a change (its ``updated_at``) to its arrival.

Done when (issue 13): product max rate >= 0.5 x bare max rate, zero errors, acknowledged =
stored, every console got every change within 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from statistics import quantiles
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from server.db import make_engine, normalise_url  # noqa: E402

WRK = shutil.which("wrk") or "/usr/bin/wrk"
LUA = ROOT / "bench" / "intake.lua"
P99_GOAL_MS = 100.0
STEPS = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64)
BARE_DDL = (
    "CREATE TABLE IF NOT EXISTS bench_reports (id bigserial PRIMARY KEY, body jsonb NOT NULL)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"server on :{port} exited ({proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on :{port} did not start")


def login(port: int, username: str) -> tuple[str, str]:
    """(Cookie header, CSRF token) of a fresh sign-in."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        data=json.dumps({"username": username, "password": "wangge-demo"}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        body = json.loads(resp.read())
        cookies = [v.split(";", 1)[0] for k, v in resp.headers.items() if k.lower() == "set-cookie"]
    return "; ".join(cookies), body["csrf_token"]


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _backends(database: str) -> list[int]:
    """PostgreSQL backends connected to ``database`` (their titles name it)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                title = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if title.startswith("postgres:") and f" {database} " in title:
                out.append(int(d.name))
    return out


class CpuSplit:
    """Where the machine's CPU went during a phase: the server's workers, the PostgreSQL
    backends of the bench database, the load generator (wrk) and the consoles' process."""

    def __init__(self, server: subprocess.Popen[bytes], database: str) -> None:
        self.server, self.database = server, database
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        workers = _children(self.server.pid)
        return {
            "workers": sum(_proc_cpu(p) for p in workers),
            "postgres": sum(_proc_cpu(p) for p in _backends(self.database)),
            "wrk": sum(os.times()[2:4]),
        }

    def report(self, requests: int, consoles_cpu: float, wall: float) -> str:
        now = self._now()
        used = {k: now[k] - self.start[k] for k in now}
        used["consoles"] = consoles_cpu
        per = "  ".join(
            f"{k} {v:.1f} s ({1000 * v / max(requests, 1):.2f} ms/report)" for k, v in used.items()
        )
        return (
            f"  CPU over {wall:.0f} s ({os.cpu_count()} cores, {sum(used.values()):.1f} s used by"
            f" the bench): {per}"
        )


# --- one wrk run ---------------------------------------------------------------------------


@dataclass
class Run:
    connections: int
    seconds: float
    rps: float
    p50: float
    p99: float
    errors: int
    acked: list[str]

    def ok(self) -> bool:
        return self.errors == 0 and self.p99 < P99_GOAL_MS


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not m:
        return float("nan")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m.group(2)]
    return float(m.group(1)) * scale


def wrk(port: int, path: str, env: dict[str, str], connections: int, seconds: float) -> Run:
    ackdir = Path(tempfile.mkdtemp(prefix="wangge-acks-"))
    threads = min(2, connections)
    out = subprocess.run(
        [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{port}{path}",
        ],
        env={**os.environ, **env, "BENCH_PATH": path, "BENCH_ACKDIR": str(ackdir)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lat = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)\s*$", out, re.M))
    if "50" not in lat:
        print(out, file=sys.stderr)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    acked = [k for f in ackdir.glob("acked-*.txt") for k in f.read_text().split()]
    shutil.rmtree(ackdir, ignore_errors=True)
    return Run(
        connections, seconds, rps, _ms(lat.get("50", "")), _ms(lat.get("99", "")), errors, acked
    )


class Store:
    """Checks acknowledged reports against the database of one stack."""

    def __init__(self, engine: Any, table: str, key: str) -> None:
        self.engine, self.table, self.key = engine, table, key
        self.acked = 0
        self.missing = 0
        self.in_flight = 0

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {self.table}")).scalar_one())

    def settle(self) -> int:
        """The row count once requests still in flight when wrk stopped have finished."""
        last, same_since = self.count(), time.monotonic()
        deadline = time.monotonic() + 15
        while time.monotonic() - same_since < 0.5 and time.monotonic() < deadline:
            time.sleep(0.1)
            now = self.count()
            if now != last:
                last, same_since = now, time.monotonic()
        return last

    def check(self, run: Run, before: int) -> str:
        self.settle()
        with self.engine.connect() as conn:
            stored = conn.execute(
                text(f"SELECT count(*) FROM {self.table} WHERE {self.key} = ANY(:keys)"),
                {"keys": run.acked},
            ).scalar_one()
        new_rows = self.count() - before
        missing = len(set(run.acked)) - stored
        extra = new_rows - stored
        self.acked += len(run.acked)
        self.missing += missing + (len(run.acked) - len(set(run.acked)))
        self.in_flight += extra
        bad = missing or extra < 0 or extra > run.connections
        return (
            f"acked {len(run.acked)} stored {stored}"
            + (f" (+{extra} in flight at stop)" if extra else "")
            + (" MISMATCH" if bad else "")
        )


def measure(
    name: str, port: int, path: str, env: dict[str, str], store: Store, args: argparse.Namespace
) -> tuple[Run, Run | None]:
    """The fixed run and the closed-loop search; answers (fixed run, best sustainable step)."""
    before = store.settle()
    fixed = wrk(port, path, env, 16, args.fixed_seconds)
    print(
        f"  {name:8s} wrk -t2 -c16 -d{args.fixed_seconds:g}s: {fixed.rps:7.1f} req/s  "
        f"p50 {fixed.p50:6.1f} ms  p99 {fixed.p99:6.1f} ms  errors {fixed.errors}  "
        f"{store.check(fixed, before)}",
        flush=True,
    )
    best: Run | None = None
    misses = 0
    for c in STEPS:
        before = store.settle()
        run = wrk(port, path, env, c, args.step_seconds)
        verdict = store.check(run, before)
        print(
            f"  {name:8s} -c{c:<3d} {run.rps:7.1f} req/s  p50 {run.p50:6.1f} ms  "
            f"p99 {run.p99:6.1f} ms  errors {run.errors}  {verdict}"
            + ("" if run.ok() else "  (p99 >= 100 ms or errors)"),
            flush=True,
        )
        if run.ok():
            misses = 0
            if best is None or run.rps > best.rps:
                best = run
        else:
            misses += 1
            if misses >= 2:
                break
    return fixed, best


# --- consoles ------------------------------------------------------------------------------


def _consoles_main(
    port: int,
    sessions: list[tuple[str, str, str]],  # (cookie, scope kind, scope id) per console
    mode: str,
    stop: Any,
    ready: Any,
    out: Any,
) -> None:
    asyncio.run(_consoles(port, sessions, mode, stop, ready, out))


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, cookie: str
) -> tuple[int, bytes]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
    return status, await reader.readexactly(length)


async def _consoles(
    port: int, sessions: list[tuple[str, str, str]], mode: str, stop: Any, ready: Any, out: Any
) -> None:
    seen: list[dict[int, float]] = [{} for _ in sessions]  # case id -> worst delay (s)
    starts: list[int] = [0] * len(sessions)
    errors: list[str] = []
    polls = [0]  # requests: long polls answered, or streams opened
    joined_at: set[int] = set()
    refused = [0]
    started = [0]

    parsed: dict[bytes, tuple[str, list[tuple[int, float]]]] = {}

    def read(data: bytes) -> tuple[str, list[tuple[int, float]]]:
        """(cursor, [(case id, updated_at)]) of a frame's data, parsed once per distinct frame:
        the consoles of one kind get the same bytes, and parsing them 300 times made this
        process, not the server, the bottleneck."""
        hit = parsed.get(data)
        if hit is None:
            answer = json.loads(data)
            hit = parsed[data] = (
                answer["cursor"],
                [
                    (
                        item["id"],
                        datetime.fromisoformat(
                            item["updated_at"].replace("Z", "+00:00")
                        ).timestamp(),
                    )
                    for item in answer["items"]
                ],
            )
            if len(parsed) > 5000:
                parsed.clear()
        return hit

    def arrived(i: int, items: list[tuple[int, float]], now: float) -> None:
        for case_id, at in items:
            delay = now - at
            if delay > seen[i].get(case_id, -1.0):
                seen[i][case_id] = delay

    def joined(i: int, cursor: str) -> None:
        if i not in joined_at:
            joined_at.add(i)
            starts[i] = int(cursor)
            started[0] += 1
            if started[0] == len(sessions):
                ready.set()

    async def console(i: int, cookie: str) -> None:
        """The console's long poll (``--console-mode poll``)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        status, body = await _get(reader, writer, "/api/v1/changes", cookie)
        cursor = json.loads(body)["cursor"]
        joined(i, cursor)
        while not stop.is_set():
            try:
                status, body = await _get(
                    reader, writer, f"/api/v1/changes?after={cursor}&wait=20", cookie
                )
            except (OSError, asyncio.IncompleteReadError) as exc:
                errors.append(type(exc).__name__)
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            polls[0] += 1
            if status != 200:
                errors.append(str(status))
                await asyncio.sleep(1)
                continue
            answer = json.loads(body)
            cursor, items = read(body)
            arrived(i, items, time.time())
            if answer.get("retry_after"):
                refused[0] += 1
                await asyncio.sleep(answer["retry_after"])
        writer.close()

    async def stream(i: int, cookie: str) -> None:
        """The console's stream (``GET /changes/stream``, webapp/src/console/live.ts): chunked
        Server-Sent Events; reconnects with its cursor when the server ends a stream."""
        cursor = ""
        while not stop.is_set():
            query = f"?after={cursor}" if cursor else ""
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(
                    f"GET /api/v1/changes/stream{query} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Cookie: {cookie}\r\nAccept: text/event-stream\r\n\r\n".encode()
                )
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                polls[0] += 1
                if status != 200:
                    errors.append(str(status))
                    refused[0] += status == 429
                    writer.close()
                    await asyncio.sleep(5 if status == 429 else 1)
                    continue
                buf = b""
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    if size == 0:
                        break
                    buf += (await reader.readexactly(size + 2))[:-2]
                    while b"\n\n" in buf:
                        raw, buf = buf.split(b"\n\n", 1)
                        fields = dict(
                            line.split(": ", 1)
                            for line in raw.decode().split("\n")
                            if ": " in line and not line.startswith(":")
                        )
                        if fields.get("event") == "changes":
                            cursor, items = read(fields["data"].encode())
                            arrived(i, items, time.time())
                            joined(i, cursor)
                        elif fields.get("event") == "signed_out":
                            errors.append("signed_out")
                writer.close()
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                errors.append(type(exc).__name__)
                await asyncio.sleep(0.5)

    if not sessions:
        ready.set()
    run = stream if mode == "stream" else console
    tasks = [asyncio.create_task(run(i, s[0])) for i, s in enumerate(sessions)]
    while not stop.is_set():
        await asyncio.sleep(0.2)
    await asyncio.sleep(0)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out.put(
        {
            "seen": [{k: v for k, v in s.items()} for s in seen],
            "starts": starts,
            "errors": errors,
            "polls": polls[0],
            "refused": refused[0],
            "cpu": time.process_time(),
        }
    )


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (both)")
    ap.add_argument("--consoles", type=int, default=300)
    ap.add_argument(
        "--county-consoles",
        type=int,
        default=60,
        help="of --consoles, how many see the whole county (the rest a town each)",
    )
    ap.add_argument("--per-user", type=int, default=10, help="consoles per console account")
    ap.add_argument(
        "--console-mode",
        choices=("stream", "poll"),
        default="stream",
        help="consoles on GET /changes/stream (the console today) or the long poll (before)",
    )
    ap.add_argument("--fixed-seconds", type=float, default=10)
    ap.add_argument("--step-seconds", type=float, default=5)
    ap.add_argument("--skip-bare", action="store_true", help="only the product (trying things)")
    ap.add_argument("--settle", type=float, default=6, help="seconds for consoles to catch up")
    ap.add_argument(
        "--pg",
        default=os.environ.get(
            "WANGGE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # clean up servers and database

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
        "WANGGE_LONG_POLL_PER_USER": str(args.per_user),
        "WANGGE_STREAM_PER_USER": str(args.per_user),
        "GUNICORN_WORKERS": str(args.workers),
    }
    flask = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi"]
    servers: list[subprocess.Popen[bytes]] = []
    try:
        engine = make_engine(db_url, poolclass=NullPool)
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        subprocess.run(
            [*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        subprocess.run([*flask, "demo", "seed"], env=env, cwd=ROOT, check=True, capture_output=True)
        with engine.begin() as conn:
            conn.execute(text(BARE_DDL))
            county = conn.execute(text("SELECT region_id FROM users WHERE username = 'ddy'"))
            county_id = county.scalar_one()
            # Points in the grids of wgy's county (the demo's city has a second county, where
            # wgy may not report: those reports were refused, counted as errors).
            points = conn.execute(
                text(
                    "SELECT ST_X(ST_PointOnSurface(g.geom)), ST_Y(ST_PointOnSurface(g.geom)) "
                    "FROM grids g JOIN regions c ON c.id = g.community_id "
                    "JOIN regions t ON t.id = c.parent_id WHERE t.parent_id = :county"
                ),
                {"county": county_id},
            ).all()
            cats = [
                r[0]
                for r in conn.execute(
                    text("SELECT id FROM categories WHERE parent_id IS NOT NULL AND active")
                )
            ]
            towns = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT id FROM regions WHERE level = 'town' AND parent_id = :county "
                        "ORDER BY id"
                    ),
                    {"county": county_id},
                )
            ]
            # Console accounts: dispatchers of the county and of each town (ddy's password).
            n_accounts = -(-args.consoles // args.per_user)
            n_county = -(-args.county_consoles // args.per_user)
            accounts: list[tuple[str, str, int]] = []
            for a in range(n_accounts):
                scope, rid = (
                    ("county", county_id) if a < n_county else ("town", towns[a % len(towns)])
                )
                accounts.append((f"console{a:03d}", scope, rid))
                conn.execute(
                    text(
                        "INSERT INTO users (username, display_name, password_hash, role, "
                        "region_id, phone, active, session_epoch, created_at) "
                        "SELECT :u, :u, password_hash, 'dispatcher', :r, '', true, 0, now() "
                        "FROM users WHERE username = 'ddy'"
                    ),
                    {"u": f"console{a:03d}", "r": rid},
                )
        lua_env = {
            "BENCH_POINTS": ";".join(f"{x:.6f},{y:.6f}" for x, y in points),
            "BENCH_CATS": ";".join(str(c) for c in cats),
        }
        conf = ["-c", str(ROOT / "gunicorn.conf.py"), "--log-level", "warning"]
        gunicorn = str(ROOT / ".venv/bin/gunicorn")
        product_port, bare_port = free_port(), free_port()
        servers.append(
            subprocess.Popen(
                [gunicorn, *conf, "-b", f"127.0.0.1:{product_port}", "wsgi:app"], env=env, cwd=ROOT
            )
        )
        servers.append(
            subprocess.Popen(
                [gunicorn, *conf, "-b", f"127.0.0.1:{bare_port}", "bench.bare_app:app"],
                env=env,
                cwd=ROOT,
            )
        )
        wait_port(product_port, servers[0])
        wait_port(bare_port, servers[1])
        from gunicorn.config import Config

        cfg = Config()
        ns: dict[str, Any] = {}
        exec(compile((ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), ns)
        worker_class = ns.get("worker_class", cfg.worker_class_str)
        print(
            f"servers: gunicorn -c gunicorn.conf.py, {args.workers} workers, worker class "
            f"{worker_class!r} (both stacks); PostgreSQL db {name}"
        )
        print(
            f"load generator: {WRK} (wrk, compiled C + LuaJIT, script bench/intake.lua), "
            f"closed loop; {os.cpu_count()} CPUs on this machine"
        )

        cookie, csrf = login(product_port, "wgy")
        product_env = {**lua_env, "BENCH_COOKIE": cookie, "BENCH_CSRF": csrf}

        print("\nbare stack (Flask + psycopg pool + one INSERT), POST /report:")
        bare_fixed, bare_best = Run(16, 0, 0, 0, 0, 0, []), None
        if not args.skip_bare:
            bare_store = Store(engine, "bench_reports", "body->>'uuid'")
            bare_split, bare_started = CpuSplit(servers[1], name), time.monotonic()
            bare_fixed, bare_best = measure("bare", bare_port, "/report", lua_env, bare_store, args)
            print(bare_split.report(bare_store.acked, 0.0, time.monotonic() - bare_started))

        # Consoles: sign in the accounts, then one process holding every long poll.
        sessions: list[tuple[str, str, str]] = []
        for username, scope, rid in accounts:
            c, _ = login(product_port, username)
            sessions += [(c, scope, str(rid))] * args.per_user
        sessions = sessions[: args.consoles]
        ctx = mp.get_context("fork")
        stop, ready, outq = ctx.Event(), ctx.Event(), ctx.Queue()
        proc = ctx.Process(
            target=_consoles_main,
            args=(product_port, sessions, args.console_mode, stop, ready, outq),
            daemon=True,
        )
        proc.start()
        if not ready.wait(60):
            raise SystemExit("consoles did not connect")
        with engine.connect() as conn:
            first_case = conn.execute(text("SELECT coalesce(max(id), 0) FROM incidents")).scalar()
        print(
            f"\nproduct POST /api/v1/cases (signed in as wgy), with {len(sessions)} consoles "
            f"on {'GET /api/v1/changes/stream' if args.console_mode == 'stream' else 'long polls'}"
            f" ({args.county_consoles} county-wide, the rest one "
            f"town each, {args.per_user} per account):"
        )
        product_store = Store(engine, "incidents", "uuid")
        split = CpuSplit(servers[0], name)
        phase_started = time.monotonic()
        prod_fixed, prod_best = measure(
            "product", product_port, "/api/v1/cases", product_env, product_store, args
        )
        time.sleep(args.settle)
        stop.set()
        result = outq.get(timeout=120)
        proc.join(30)
        cpu_line = split.report(
            product_store.acked, result["cpu"], time.monotonic() - phase_started
        )

        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, county_id, town_id FROM incidents WHERE id > :f"),
                {"f": first_case},
            ).all()
        worst: list[float] = []
        missed = 0
        consoles_missing = 0
        for i, (_, scope, rid) in enumerate(sessions):
            want = {
                r.id for r in rows if (r.county_id if scope == "county" else r.town_id) == int(rid)
            }
            got = result["seen"][i]
            lost = want - set(got)
            missed += len(lost)
            consoles_missing += bool(lost)
            worst += [got[k] for k in want if k in got]
        print("\nconsoles:")
        if worst:
            q = quantiles(worst, n=100) if len(worst) > 1 else [worst[0]] * 99
            print(
                f"  {len(sessions)} consoles, {len(rows)} changes, {len(worst)} deliveries: "
                f"delay p50 {q[49]:.2f} s  p99 {q[98]:.2f} s  max {max(worst):.2f} s; "
                f"missed {missed} (consoles missing any: {consoles_missing}); requests "
                f"{result['polls']}, refused {result['refused']}, errors "
                f"{len(result['errors'])}"
            )
        print(cpu_line)
        consoles_ok = bool(worst) and missed == 0 and max(worst) <= 5.0

        print("\nside by side (same run, same generator):")
        ratio_fixed = prod_fixed.rps / bare_fixed.rps if bare_fixed.rps else 0.0
        print(
            f"  wrk -t2 -c16: bare {bare_fixed.rps:.1f} req/s (p99 {bare_fixed.p99:.1f} ms), "
            f"product {prod_fixed.rps:.1f} req/s (p99 {prod_fixed.p99:.1f} ms): "
            f"ratio {ratio_fixed:.3f}"
        )
        b = bare_best.rps if bare_best else 0.0
        p = prod_best.rps if prod_best else 0.0
        ratio = p / b if b else 0.0
        print(
            f"  max sustainable at p99 < {P99_GOAL_MS:g} ms: bare {b:.1f} req/s "
            f"(-c{bare_best.connections if bare_best else 0}), product {p:.1f} req/s "
            f"(-c{prod_best.connections if prod_best else 0}): ratio {ratio:.3f}"
        )
        print(
            f"  product acknowledged {product_store.acked}, missing from the database "
            f"{product_store.missing}; stored while in flight at wrk's stop "
            f"{product_store.in_flight}"
        )
        done = ratio >= 0.5 and product_store.missing == 0 and consoles_ok
        print(
            f"\nissue 13 goal (>= 0.5x, zero errors, acknowledged = stored, "
            f"{len(sessions)} consoles within 5 s): {'MET' if done else 'NOT MET'}"
        )
        engine.dispose()
    finally:
        for s in servers:
            s.terminate()
        for s in servers:
            try:
                s.wait(15)
            except subprocess.TimeoutExpired:
                s.kill()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
