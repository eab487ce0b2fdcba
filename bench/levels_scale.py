"""Levels of command at city size (issue 15): 1 M cases over two counties of one city and their
towns, each figure side by side with the bare SQL it sent.

Builds a throw-away database (PostgreSQL: ``--pg-url`` / WANGGE_BENCH_PG_URL /
WANGGE_TEST_PG_URL, a database created and dropped there; SQLite: a temporary file), migrates
it and loads 银川市 with 灵武市 and 永宁县, six towns each (every town a command centre), with
the generator of bench/metric_queries.py: N cases spread over the two years before NOW, each
with the event trail of its life (COPY on PostgreSQL, executemany on SQLite), most closed, a
few per cent stuck open at some step (the backlog the 督办 sweep is for). Four cases in five
are held by their town's centre, one by its county's; an open case has its stage clock (the
limits of server.domain.stages) and no card yet. The metric projection is folded from the
trails, the indexes built, ANALYZE run. Then, best of ``--repeat``:

- **town queue page** and **county queue page**: the console's first page of open cases
  (``GET /api/v1/cases?state=…&limit=50``) and its counts (``&limit=1&counts=1``), signed in
  as a dispatcher of that centre; the town's with ``held=1`` (the cases its centre holds) too;
- **city dashboard, month by county**: ``GET /api/v1/metrics?period=2026-10&by=county`` as
  the city's supervisor (when the metrics know a city and ``by=county``; before that, the two
  county months by town a city page has to ask for, one after the other);
- **sweep, first**: ``stages.sweep`` as of NOW over the backlog of cases never swept: one
  sweep raises at most a batch of cards (``stages.BATCH``; rolled back each time); then the
  backlog drained for real, sweep after sweep as ``flask cases sweep`` does (their sum and the
  longest); **sweep, idle**: the every-minute sweep after that;
  **sweep, a day later**: the cards a day brings (a sweep after a day's outage; rolled back);

each against **bare**: the very statements it sent (captured from the driver), replayed on a
raw DBAPI connection. Prints milliseconds and the ratio product ÷ bare.

    .venv/bin/python bench/levels_scale.py --skip-sqlite            # 1 M cases on PostgreSQL
    .venv/bin/python bench/levels_scale.py --skip-pg --cases 200000 # SQLite
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import metric_queries as mq  # noqa: E402
from _common import bare, captured, create_pg_database, drop_pg_database  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402
from sweep import sweep_once  # noqa: E402

from server import create_app, migrate  # noqa: E402
from server.config import Settings  # noqa: E402
from server.db import make_engine, normalise_url  # noqa: E402
from server.domain.stages import DEFAULT_LIMITS, Stage, stage_of  # noqa: E402
from server.domain.worktime import WorkCalendar, add_time  # noqa: E402
from server.security import hash_password  # noqa: E402

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # Friday 10:00 in Yinchuan (Beijing time)
CITY = ("640100", "银川市")
COUNTIES = (("640181", "灵武市"), ("640121", "永宁县"))
SHAPE = (6, 6, 8)  # towns per county, communities per town, grids per community
MONTH = "2026-10"
OPEN = "reported,accepted,dispatched,in_progress,resolved"
PASSWORD = "bench-levels"
COLS = (
    mq.INCIDENT_COLS
    + ", centre_id, department_id, deadline_at, stage_started_at, stage_due_at, stage_natural"
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- the data --------------------------------------------------------------------------------


@dataclass
class City:
    """What the rows need of the reference data (filled when it is loaded)."""

    ref: mq.Reference | None = None
    department_of: dict[int, int] | None = None  # category id -> its default department
    limit_of: dict[int, tuple[float, str]] | None = None  # category id -> its handle limit


CAL = WorkCalendar()


def _stage_clock(state: str, since: datetime, limit: tuple[float, str]) -> tuple[Any, Any]:
    stage = stage_of(state)
    if stage is None:
        return None, None
    if stage is Stage.HANDLE:
        value, unit = limit
    else:
        from server.domain.fields import Urgency

        lim = DEFAULT_LIMITS[(stage, Urgency.NORMAL)]
        value, unit = lim.value, lim.unit
    return since, add_time(since, value, unit, CAL)  # type: ignore[arg-type]


def make_load(city: City) -> mq.Load:
    def reference(engine: Engine) -> mq.Reference:
        ref = mq.load_reference(engine, COUNTIES, SHAPE, CITY)
        city.ref = ref
        city.department_of = {c[0]: c[3] for c in ref.categories}
        city.limit_of = {c[0]: (c[1], c[2]) for c in ref.categories}
        return ref

    def row(c: dict[str, Any]) -> tuple[Any, ...]:
        assert city.department_of is not None and city.limit_of is not None
        held_by_county = (c["id"] * 7919) % 5 == 0
        centre = c["county_id"] if held_by_county else c["town_id"]
        state = c["state"]
        dep = deadline = started = due = None
        if state in ("dispatched", "in_progress", "resolved"):
            dep = city.department_of[c["category_id"]]
        if state not in ("closed", "rejected", "suspended"):
            since = datetime.fromtimestamp(c["updated"], UTC)
            started, due = _stage_clock(state, since, city.limit_of[c["category_id"]])
            if state in ("dispatched", "in_progress"):
                deadline = due
        return (
            *mq._incident_row(c),
            centre,
            dep,
            deadline and mq._ts(deadline.timestamp()),
            started and mq._ts(started.timestamp()),
            due and mq._ts(due.timestamp()),
            False,
        )

    return mq.Load(
        reference=reference,
        cols=COLS,
        row=row,
        history={
            "start": NOW - timedelta(days=730),
            "end": NOW,
            "cut_at": NOW,
            "stuck": 0.025,
        },
    )


def finish(engine: Engine, city: City) -> dict[str, Any]:
    """Centres on, the bench's users signed in with a password; a few figures of the data."""
    assert city.ref is not None
    ref = city.ref
    pw = hash_password(PASSWORD)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE regions SET centre = true WHERE level IN ('city', 'county', 'town')")
        )
        town = ref.towns[0]
        county = ref.county_of[town]
        now = datetime(2024, 1, 1, tzinfo=UTC)
        for name, role, region in (
            ("town_dy", "dispatcher", town),
            ("county_dy", "dispatcher", county),
            ("city_dc", "supervisor", ref.city),
        ):
            conn.execute(
                text(
                    "INSERT INTO users (username, display_name, password_hash, role, region_id, "
                    "phone, active, created_at, session_epoch) "
                    "VALUES (:u, :u, :p, :r, :g, '', :a, :t, 0)"
                ),
                {"u": name, "p": pw, "r": role, "g": region, "a": True, "t": now},
            )
        rows = conn.execute(
            text("SELECT state, count(*) FROM incidents GROUP BY state ORDER BY state")
        ).all()
    return {s: int(n) for s, n in rows}


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Figure:
    label: str
    ms: float
    bare_ms: float
    note: str = ""


def _app(url: str, inst: Path) -> Any:
    app = create_app(
        Settings.from_env(
            {
                "WANGGE_INSTANCE_DIR": str(inst),
                "WANGGE_DATABASE_URL": url,
                "WANGGE_SECRET_KEY": "bench",
                "WANGGE_APP_SWEEP_SECONDS": "0",
            }
        )
    )
    app.config["TESTING"] = True
    return app


def _request(app: Any, client: Any, path: str, repeat: int, note: str = "") -> Figure:
    engine = app.extensions["wangge.engine"]
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code, r.get_data(as_text=True)[:300])
    best = best_bare = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        r, seen = captured(engine, lambda: client.get(path))
        best = min(best, (time.perf_counter() - t) * 1000)
        assert r.status_code == 200
        best_bare = min(best_bare, bare(engine, seen))
    return Figure(path, best, best_bare, note)


def _client(app: Any, username: str) -> Any:
    client = app.test_client()
    r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.get_data(as_text=True)
    return client


def measure(app: Any, repeat: int, sweeps: bool = True) -> list[Figure]:
    out: list[Figure] = []
    town, county, city = (_client(app, u) for u in ("town_dy", "county_dy", "city_dc"))
    page = f"/api/v1/cases?state={OPEN}&limit=50"
    counts = f"/api/v1/cases?state={OPEN}&limit=1&counts=1"
    for who, client in (("town", town), ("county", county)):
        for label, path in ((f"{who} queue page", page), (f"{who} queue counts", counts)):
            f = _request(app, client, path, repeat)
            f.label = label
            out.append(f)
            log(f"  {label}: {f.ms:.1f} ms (bare {f.bare_ms:.1f})")
        if who == "town":
            f = _request(app, client, page + "&held=1", repeat)
            f.label = "town queue page, held=1"
            out.append(f)
    as_of = NOW.isoformat().replace("+00:00", "Z")
    dash = f"/api/v1/metrics?period={MONTH}&by=county&as_of={as_of}"
    probe = city.get(dash)
    if probe.status_code == 200:
        f = _request(app, city, dash, repeat)
        f.label = "city dashboard, month by county"
        out.append(f)
    else:
        # No city scope or by=county in the metrics yet: the two county months a city page
        # must ask for instead, one after the other (as the admin, who may name any region).
        from server.metrics import MetricsQuery, Scope, compute
        from server.usecases.context import calendar_from

        engine = app.extensions["wangge.engine"]
        cal = calendar_from("08:30-12:00,14:00-17:30", "Asia/Shanghai")
        start, end = mq.PERIOD
        best = best_bare = float("inf")

        def both() -> None:
            with engine.connect() as conn:
                for code, _ in COUNTIES:
                    q = MetricsQuery((Scope("region", code),), start, end, NOW, "town")
                    compute(conn, q, cal)

        for _ in range(repeat):
            t = time.perf_counter()
            _, seen = captured(engine, both)
            best = min(best, (time.perf_counter() - t) * 1000)
            best_bare = min(best_bare, bare(engine, seen))
        body = probe.get_json(silent=True) or {}
        why = f"{probe.status_code} {body.get('code') or body.get('error') or ''}".strip()
        out.append(
            Figure(
                "city dashboard: 2 county months by town",
                best,
                best_bare,
                f"by=county not served yet ({why})",
            )
        )
    log(f"  {out[-1].label}: {out[-1].ms:.1f} ms (bare {out[-1].bare_ms:.1f})")
    if not sweeps:
        return out
    best = best_bare = float("inf")
    result = None
    for _ in range(repeat):
        ms, result, seen = sweep_once(app, commit=False, now=NOW)
        best = min(best, ms)
        best_bare = min(best_bare, bare(app.extensions["wangge.engine"], seen))
    assert result is not None
    out.append(
        Figure(
            "sweep, first (the backlog)",
            best,
            best_bare,
            f"{result.yellow:,} yellow + {result.red:,} red cards"
            + (" (a full batch: more to come)" if result.full else ""),
        )
    )
    log(f"  {out[-1].label}: {best:.1f} ms (bare {best_bare:.1f}) {out[-1].note}")
    # The backlog for real: sweep until a sweep leaves nothing (flask cases sweep does that).
    runs, total, longest, cards = 0, 0.0, 0.0, 0
    while True:
        ms, done, _seen = sweep_once(app, commit=True, now=NOW)
        runs, total, longest = runs + 1, total + ms, max(longest, ms)
        cards += done.yellow + done.red
        if not done.full:
            break
    out.append(
        Figure(
            "backlog drained (sum of sweeps)",
            total,
            float("nan"),
            f"{cards:,} cards in {runs} sweeps, the longest {longest:.0f} ms",
        )
    )
    log(f"  {out[-1].label}: {total:.1f} ms; {out[-1].note}")
    best = best_bare = float("inf")
    for _ in range(repeat):
        ms, idle, seen = sweep_once(app, commit=True, now=NOW + timedelta(minutes=1))
        assert idle.yellow == idle.red == 0, "a second sweep raised cards"
        best = min(best, ms)
        best_bare = min(best_bare, bare(app.extensions["wangge.engine"], seen))
    out.append(Figure("sweep, idle (every minute)", best, best_bare, "nothing to raise"))
    best = best_bare = float("inf")
    for _ in range(repeat):
        ms, later, seen = sweep_once(app, commit=False, now=NOW + timedelta(days=1))
        best = min(best, ms)
        best_bare = min(best_bare, bare(app.extensions["wangge.engine"], seen))
    out.append(
        Figure(
            "sweep, a day later",
            best,
            best_bare,
            f"{later.yellow:,} yellow + {later.red:,} red cards come due in a day",
        )
    )
    return out


GOALS = {
    "town queue page": 100,
    "county queue page": 100,
    "city dashboard, month by county": 500,
    "sweep, first (the backlog)": 5000,
    "sweep, idle (every minute)": 5000,
    "sweep, a day later": 5000,
}


def report(
    db: str, n: int, states: dict[str, int], load: dict[str, Any], figs: list[Figure]
) -> None:
    opened = sum(v for k, v in states.items() if k not in ("closed", "rejected"))
    print(
        f"\n{db}: {n:,} cases over {len(COUNTIES)} counties of {CITY[1]} "
        f"({SHAPE[0]} towns each), {opened:,} open ({opened / n:.1%}); load {load}"
    )
    print(f"{'':36} {'product ms':>11} {'bare ms':>9} {'ratio':>6}  goal")
    for f in figs:
        goal = GOALS.get(f.label)
        mark = "" if goal is None else f"< {goal} {'ok' if f.ms < goal else 'MISSED'}"
        ratio = f.ms / f.bare_ms if f.bare_ms == f.bare_ms and f.bare_ms else float("nan")
        print(f"{f.label:36} {f.ms:11.1f} {f.bare_ms:9.1f} {ratio:6.2f}  {mark} {f.note}")


def run_pg(server: str, n: int, seed: int, repeat: int, keep: bool) -> None:
    name = f"wangge_bench_levels_{uuid.uuid4().hex[:8]}"
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    log(f"database {name}")
    try:
        create_pg_database(server, name)
        city = City()
        t = time.perf_counter()
        load = mq.load_pg(url, n, seed, make_load(city))
        load = {k: round(v, 1) for k, v in load.items()} | {
            "total_s": round(time.perf_counter() - t)
        }
        eng = make_engine(url, poolclass=NullPool)
        states = finish(eng, city)
        eng.dispose()
        log(f"loaded {load}; states {states}")
        with tempfile.TemporaryDirectory() as tmp:
            app = _app(url, Path(tmp))
            figs = measure(app, repeat)
            app.extensions["wangge.engine"].dispose()
        report("PostgreSQL", n, states, load, figs)
    finally:
        if keep:
            log(f"kept {url}")
        else:
            drop_pg_database(server, url)


def run_sqlite(n: int, seed: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/levels.db"
        migrate.upgrade(url)
        city = City()
        t = time.perf_counter()
        load = mq.load_sqlite(url, n, seed, make_load(city))
        load = {k: round(v, 1) for k, v in load.items()} | {
            "total_s": round(time.perf_counter() - t)
        }
        eng = make_engine(url, poolclass=NullPool)
        states = finish(eng, city)
        with eng.begin() as conn:
            conn.execute(text("ANALYZE"))
        eng.dispose()
        log(f"loaded {load}; states {states}")
        app = _app(url, Path(tmp))
        figs = measure(app, repeat)
        app.extensions["wangge.engine"].dispose()
        report("SQLite", n, states, load, figs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--pg-url", "--pg", dest="pg_url")
    ap.add_argument("--cases", type=int, default=1_000_000, help="PostgreSQL's cases")
    ap.add_argument("--sqlite-cases", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    ap.add_argument(
        "--reuse",
        metavar="URL",
        help="a database kept by --keep: measure again (the sweeps only if it holds no card)",
    )
    args = ap.parse_args()
    if args.reuse:
        with tempfile.TemporaryDirectory() as tmp:
            app = _app(normalise_url(args.reuse), Path(tmp))
            eng = app.extensions["wangge.engine"]
            with eng.connect() as conn:
                rows = conn.execute(text("SELECT state, count(*) FROM incidents GROUP BY state"))
                states = {s: int(n) for s, n in rows}
                carded = conn.execute(
                    text("SELECT count(*) FROM incidents WHERE stage_card IS NOT NULL")
                ).scalar()
            figs = measure(app, args.repeat, sweeps=not carded)
            eng.dispose()
        report(make_url(args.reuse).get_backend_name(), sum(states.values()), states, {}, figs)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still drops the database
    if not args.skip_pg:
        url = (
            args.pg_url
            or os.environ.get("WANGGE_BENCH_PG_URL")
            or os.environ.get("WANGGE_TEST_PG_URL")
        )
        if not url:
            sys.exit("set --pg-url or WANGGE_BENCH_PG_URL / WANGGE_TEST_PG_URL (or --skip-pg)")
        run_pg(normalise_url(url), args.cases, args.seed, args.repeat, args.keep)
    if not args.skip_sqlite:
        run_sqlite(args.sqlite_cases, args.seed, args.repeat)


if __name__ == "__main__":
    main()
