"""Benchmark of the supervisor metrics (DESIGN §7: a county month by town from 1 M cases < 0.5 s).

Loads a synthetic county into a scratch database, straight into the tables (COPY on
PostgreSQL, executemany on SQLite; the event histories follow docs/events.md), then times
``server.metrics.compute`` for one month of the county by town and by grid, each in a fresh
subprocess so that its peak memory (ru_maxrss) is that of the query alone.

    .venv/bin/python bench/metric_queries.py                 # 1 M cases on PG, 100 k on SQLite
    .venv/bin/python bench/metric_queries.py --pg-cases 200000 --skip-sqlite
    .venv/bin/python bench/metric_queries.py --reuse         # keep an already loaded database

PostgreSQL: ``--pg-url`` or WANGGE_BENCH_PG_URL or WANGGE_TEST_PG_URL (a server; a database
``wangge_bench_metrics`` is created there). SQLite: ``instance/bench-metrics.db``.

The cases are spread over 24 months ending 2026-11-01 (about 42 k cases a month for 1 M);
the measured month is 2026-10, as of 2026-11-20.
"""

from __future__ import annotations

import argparse
import heapq
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import create_pg_database  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from server import migrate  # noqa: E402
from server.db import make_engine, normalise_url  # noqa: E402
from server.domain.worktime import TimeLimit, WorkCalendar, dispatch_deadline  # noqa: E402

START = datetime(2024, 11, 1, tzinfo=UTC) - timedelta(hours=8)  # local midnight, Asia/Shanghai
END = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=8)
AS_OF = datetime(2026, 11, 20, tzinfo=UTC)
MONTH_END = datetime(2026, 11, 1, tzinfo=UTC) - timedelta(hours=8)  # 2026-11-01 00:00 Beijing
PERIOD = (date(2026, 10, 1), date(2026, 10, 31))
TOWNS, COMMUNITIES, GRIDS = 12, 15, 8  # per county, per town, per community: 1,440 grids
DEPARTMENTS = 24
MAJOR, MINOR = 10, 5  # 50 minor categories
LIMITS = [(4, "work_hours"), (1, "work_days"), (3, "work_days"), (5, "work_days"), (2, "work_days")]
HOUR = 3600.0
CLOSED_STATES = ("closed", "rejected")
DB_NAME = "wangge_bench_metrics"


# --- reference data ----------------------------------------------------------------------


@dataclass
class Reference:
    towns: list[int]
    communities: list[tuple[int, int]]  # (community id, town id)
    grids: list[tuple[str, int, int, int]]  # (code, grid id, community id, town id)
    county: int
    categories: list[tuple[int, float, str, int]]  # (id, limit value, unit, default department)
    departments: list[int]
    workers: dict[str, int]  # grid code -> grid worker id
    dispatcher: int
    handlers: dict[int, int]  # department id -> handler id
    county_of: dict[int, int] = field(default_factory=dict)  # town id -> county id
    city: int | None = None


def load_reference(
    engine: Engine,
    counties: tuple[tuple[str, str], ...] = (("640181", "灵武市"),),
    shape: tuple[int, int, int] = (TOWNS, COMMUNITIES, GRIDS),
    city: tuple[str, str] | None = None,
) -> Reference:
    """Regions, grids, departments, categories and users, with plain SQL (fast, no ORM): one
    county of ``shape`` (towns, communities per town, grids per community), or several under
    ``city`` (bench/levels_scale.py: two counties of 银川市). The first county is
    ``Reference.county``, where the departments, the dispatcher and the supervisor are."""
    box = "MULTIPOLYGON(((106 38,106.1 38,106.1 38.1,106 38.1,106 38)))"
    pg = engine.dialect.name == "postgresql"
    geom = "ST_GeomFromText(:g, 4326)" if pg else ":g"
    gval: Any = box
    if not pg:
        import shapely

        gval = shapely.to_wkb(shapely.from_wkt(box))
    with engine.begin() as conn:

        def ins(sql: str, **kw: Any) -> int:
            return int(conn.execute(text(sql + " RETURNING id"), kw).scalar_one())

        city_id: int | None = None
        if city is not None:
            city_id = ins(
                f"INSERT INTO regions (code, name, level, path, boundary) "
                f"VALUES (:c, :n, 'city', '', {geom})",
                c=city[0].ljust(12, "0"),
                n=city[1],
                g=gval,
            )
            conn.execute(
                text("UPDATE regions SET path = :p WHERE id = :i"),
                {"p": f"/{city_id}/", "i": city_id},
            )
        n_towns, n_communities, n_grids = shape
        towns: list[int] = []
        communities: list[tuple[int, int]] = []
        grids: list[tuple[str, int, int, int]] = []
        county_of: dict[int, int] = {}
        county_ids: list[int] = []
        now = datetime(2024, 1, 1, tzinfo=UTC)
        for ccode6, cname in counties:
            top = f"/{city_id}/" if city_id is not None else "/"
            county = ins(
                f"INSERT INTO regions (code, name, level, parent_id, path, boundary) "
                f"VALUES (:c, :n, 'county', :p, '', {geom})",
                c=ccode6.ljust(12, "0"),
                n=cname,
                p=city_id,
                g=gval,
            )
            cpath = f"{top}{county}/"
            conn.execute(
                text("UPDATE regions SET path = :p WHERE id = :i"), {"p": cpath, "i": county}
            )
            county_ids.append(county)
            plan = ins(
                "INSERT INTO grid_plans (region_id, version, status, source_name, created_at) "
                "VALUES (:r, 1, 'active', 'bench', :t)",
                r=county,
                t=now,
            )
            for t in range(n_towns):
                tcode = f"{ccode6}{100 + t:03d}"
                tid = ins(
                    f"INSERT INTO regions (code, name, level, parent_id, path, boundary) "
                    f"VALUES (:c, :n, 'town', :p, '', {geom})",
                    c=tcode + "000",
                    n=f"{cname}第{t + 1}镇",
                    p=county,
                    g=gval,
                )
                conn.execute(
                    text("UPDATE regions SET path = :p WHERE id = :i"),
                    {"p": f"{cpath}{tid}/", "i": tid},
                )
                towns.append(tid)
                county_of[tid] = county
                for c in range(n_communities):
                    ccode = f"{tcode}{200 + c:03d}"
                    cid = ins(
                        f"INSERT INTO regions (code, name, level, parent_id, path, boundary) "
                        f"VALUES (:c, :n, 'community', :p, '', {geom})",
                        c=ccode,
                        n=f"{cname}第{t + 1}镇第{c + 1}社区",
                        p=tid,
                        g=gval,
                    )
                    conn.execute(
                        text("UPDATE regions SET path = :p WHERE id = :i"),
                        {"p": f"{cpath}{tid}/{cid}/", "i": cid},
                    )
                    communities.append((cid, tid))
                    for g in range(n_grids):
                        code = f"{ccode}{g + 1:03d}"
                        gid = ins(
                            f"INSERT INTO grids (plan_id, code, name, kind, community_id, geom) "
                            f"VALUES (:p, :c, :n, 'basic', :m, {geom})",
                            p=plan,
                            c=code,
                            n=f"网格{g + 1}",
                            m=cid,
                            g=gval,
                        )
                        grids.append((code, gid, cid, tid))
        county = county_ids[0]
        departments = [
            ins(
                "INSERT INTO departments (code, name, region_id, active) VALUES (:c, :n, :r, :a)",
                c=f"D{d:02d}",
                n=f"部门{d + 1}",
                r=county,
                a=True,
            )
            for d in range(DEPARTMENTS)
        ]
        categories: list[tuple[int, float, str, int]] = []
        for m in range(MAJOR):
            major = ins(
                "INSERT INTO categories (code, name, name_en, limit_value, limit_unit, "
                "urgent_hours, active) VALUES (:c, :n, '', 5, 'work_days', 4, :a)",
                c=f"{m + 1:02d}",
                n=f"大类{m + 1}",
                a=True,
            )
            for k in range(MINOR):
                value, unit = LIMITS[(m + k) % len(LIMITS)]
                dep = departments[(m * MINOR + k) % DEPARTMENTS]
                cid = ins(
                    "INSERT INTO categories (code, name, name_en, parent_id, "
                    "default_department_id, limit_value, limit_unit, urgent_hours, active) "
                    "VALUES (:c, :n, '', :p, :d, :v, :u, 2, :a)",
                    c=f"{m + 1:02d}{k + 1:02d}",
                    n=f"小类{m + 1}-{k + 1}",
                    p=major,
                    d=dep,
                    v=value,
                    u=unit,
                    a=True,
                )
                categories.append((cid, float(value), unit, dep))

        def user(name: str, role: str, region: int | None, dep: int | None) -> int:
            return ins(
                "INSERT INTO users (username, display_name, password_hash, role, region_id, "
                "department_id, phone, active, created_at, session_epoch) "
                "VALUES (:u, :u, 'x', :r, :g, :d, '', :a, :t, 0)",
                u=name,
                r=role,
                g=region,
                d=dep,
                a=True,
                t=now,
            )

        workers = {}
        for i, (code, _gid, cid, _tid) in enumerate(grids):
            workers[code] = user(f"gw{i:05d}", "grid_worker", cid, None)
            conn.execute(
                text(
                    "INSERT INTO grid_assignments (user_id, grid_code, duty, created_at) "
                    "VALUES (:u, :g, 'full_time', :t)"
                ),
                {"u": workers[code], "g": code, "t": now},
            )
        dispatcher = user("dispatcher", "dispatcher", county, None)
        user("supervisor", "supervisor", county, None)
        handlers = {d: user(f"handler{d}", "handler", None, d) for d in departments}
    return Reference(
        towns,
        communities,
        grids,
        county,
        categories,
        departments,
        workers,
        dispatcher,
        handlers,
        county_of,
        city_id,
    )


# --- case histories ------------------------------------------------------------------------


@dataclass
class Ev:
    at: float  # epoch seconds
    case: int
    action: str
    to_state: str
    from_state: str | None
    actor: int | None
    role: str
    data: str  # JSON text


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


class Simulator:
    """Plausible case histories that follow the lifecycle of docs/events.md."""

    def __init__(self, ref: Reference, seed: int) -> None:
        self.ref = ref
        self.rng = random.Random(seed)
        self.cal = WorkCalendar()

    def deadline(self, at: float, cat: tuple[int, float, str, int], urgent: bool) -> float:
        start = datetime.fromtimestamp(at, UTC)
        due = dispatch_deadline(
            start,
            self.cal,
            normal=TimeLimit(cat[1], cat[2]),  # type: ignore[arg-type]
            urgent_hours=2,
            urgent=urgent,
        )
        return due.timestamp()

    def case(self, cid: int, t: float) -> tuple[dict[str, Any], list[Ev]]:
        r = self.rng
        ref = self.ref
        code, gid, comm, town = ref.grids[r.randrange(len(ref.grids))]
        cat = ref.categories[r.randrange(len(ref.categories))]
        worker = ref.workers[code]
        disp = ref.dispatcher
        evs: list[Ev] = []
        state: str | None = None

        def add(action: str, to: str, actor: int | None, role: str, **data: Any) -> None:
            nonlocal state
            evs.append(Ev(t, cid, action, to, state, actor, role, json.dumps(data)))
            state = to

        head = {"source": "field", "category_id": cat[0], "grid_code": code}
        self_handled = r.random() < 0.15
        if self_handled:
            add("self_handle", "closed", worker, "grid_worker", **head, self_handled=True)
        else:
            add("report", "reported", worker, "grid_worker", **head)
            t += r.uniform(0.1, 6) * HOUR
            if r.random() < 0.08:
                add("reject", "rejected", disp, "dispatcher", reason="不属于受理范围")
            else:
                add("accept", "accepted", disp, "dispatcher")
                dep = cat[3]
                for _cycle in range(4):
                    t += r.uniform(0.05, 3) * HOUR
                    urgent = r.random() < 0.05
                    due = self.deadline(t, cat, urgent)
                    add(
                        "dispatch",
                        "dispatched",
                        disp,
                        "dispatcher",
                        department_id=dep,
                        urgency="urgent" if urgent else "normal",
                        deadline_at=_iso(due),
                    )
                    handler = ref.handlers[dep]
                    if r.random() < 0.05:
                        t += r.uniform(0.5, 8) * HOUR
                        add(
                            "return",
                            "accepted",
                            handler,
                            "handler",
                            reason="非本部门职责",
                            department_id=dep,
                        )
                        dep = ref.departments[r.randrange(len(ref.departments))]
                        continue
                    if r.random() < 0.9:
                        t += r.uniform(0.1, 4) * HOUR
                        add("sign", "in_progress", handler, "handler", department_id=dep)
                    if r.random() < 0.08:
                        t += r.uniform(1, 10) * HOUR
                        add(
                            "request_extension",
                            state or "",
                            handler,
                            "handler",
                            days=2,
                            reason="需协调",
                        )
                        t += r.uniform(0.5, 5) * HOUR
                        if r.random() < 0.8:
                            old = due
                            due = self.cal.add_work_days(
                                datetime.fromtimestamp(due, UTC), 2
                            ).timestamp()
                            add(
                                "decide_extension",
                                state or "",
                                disp,
                                "dispatcher",
                                approve=True,
                                old_deadline=_iso(old),
                                new_deadline=_iso(due),
                            )
                        else:
                            add(
                                "decide_extension",
                                state or "",
                                disp,
                                "dispatcher",
                                approve=False,
                                old_deadline=_iso(due),
                                reason="不同意",
                            )
                    if r.random() < 0.03:
                        t += r.uniform(1, 10) * HOUR
                        back = state or ""
                        add("suspend", "suspended", disp, "dispatcher", reason="待条件")
                        t += r.uniform(24, 300) * HOUR
                        add("resume", back, disp, "dispatcher", reason="恢复")
                    closed = False
                    for _round in range(3):
                        span = max(due - t, HOUR)
                        t += span * r.uniform(0.2, 1.35)
                        add(
                            "resolve",
                            "resolved",
                            handler,
                            "handler",
                            department_id=dep,
                            deadline_at=_iso(due),
                        )
                        t += r.uniform(0.5, 30) * HOUR
                        if r.random() < 0.9:
                            add(
                                "verify",
                                "closed",
                                worker,
                                "grid_worker",
                                passed=True,
                                department_id=dep,
                            )
                            closed = True
                            break
                        add(
                            "verify",
                            "dispatched",
                            worker,
                            "grid_worker",
                            passed=False,
                            reason="未处理到位",
                            department_id=dep,
                        )
                    if not closed:
                        break
                    if r.random() < 0.6:
                        t += r.uniform(1, 72) * HOUR
                        rating = r.choices(
                            ["satisfied", "basically_satisfied", "unsatisfied"], [75, 15, 10]
                        )[0]
                        add("rate", "closed", disp, "dispatcher", rating=rating, source="callback")
                        if rating == "unsatisfied" and r.random() < 0.3:
                            t += r.uniform(1, 24) * HOUR
                            add("reopen", "accepted", disp, "dispatcher", reason="群众不满意")
                            continue
                    break
        case = {
            "id": cid,
            "grid_code": code,
            "grid_id": gid,
            "community_id": comm,
            "town_id": town,
            "county_id": ref.county_of.get(town, ref.county),
            "category_id": cat[0],
            "reporter_id": worker,
            "self_handled": self_handled,
            "t0": evs[0].at,
        }
        return case, evs


def histories(
    ref: Reference,
    n: int,
    seed: int,
    start: datetime = START,
    end: datetime = END,
    cut_at: datetime = AS_OF,
    stuck: float = 0.0,
) -> Iterator[tuple[str, Any]]:
    """Yields ("case", row) and ("event", Ev) in server-time order, cut at ``cut_at``.

    ``stuck``: the share of cases whose trail stops early, at a random open step (a backlog
    that never moved on: the cases the 督办 sweep is for, bench/levels_scale.py)."""
    rng = random.Random(seed)
    span = end.timestamp() - start.timestamp()
    starts = sorted(start.timestamp() + rng.random() * span for _ in range(n))
    sim = Simulator(ref, seed + 1)
    pending: list[tuple[float, int, Ev]] = []
    seq = 0
    cut = cut_at.timestamp()
    for i, t0 in enumerate(starts, start=1):
        case, evs = sim.case(i, t0)
        evs = [e for e in evs if e.at <= cut]
        if stuck and rng.random() < stuck:
            open_steps = [k for k, e in enumerate(evs) if e.to_state not in CLOSED_STATES]
            if open_steps:
                evs = evs[: rng.choice(open_steps) + 1]
        last = evs[-1]
        case["state"] = last.to_state
        case["updated"] = last.at
        yield "case", case
        for e in evs:
            seq += 1
            heapq.heappush(pending, (e.at, seq, e))
        while pending and pending[0][0] <= t0:
            yield "event", heapq.heappop(pending)[2]
    while pending:
        yield "event", heapq.heappop(pending)[2]


def _ts(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


INCIDENT_COLS = (
    "id, uuid, number, content_hash, source, state, version, category_id, description, address, "
    "location_status, grid_id, grid_code, community_id, town_id, county_id, reporter_id, "
    "caller_name, caller_phone, contact_email, urgency, self_handled, reported_at, created_at, "
    "updated_at"
)
EVENT_COLS = (
    "id, incident_id, action, actor_id, actor_role, from_state, to_state, created_at, note, data, "
    "public"
)


def _incident_row(c: dict[str, Any]) -> tuple[Any, ...]:
    t0 = _ts(c["t0"])
    return (
        c["id"],
        f"bench-{c['id']}",
        f"B{c['id']:010d}",
        "h",
        "field",
        c["state"],
        1,
        c["category_id"],
        "",
        "",
        "inside",
        c["grid_id"],
        c["grid_code"],
        c["community_id"],
        c["town_id"],
        c["county_id"],
        c["reporter_id"],
        "",
        "",
        "",
        "normal",
        c["self_handled"],
        t0,
        t0,
        _ts(c["updated"]),
    )


def _event_row(eid: int, e: Ev) -> tuple[Any, ...]:
    return (
        eid,
        e.case,
        e.action,
        e.actor,
        e.role,
        e.from_state,
        e.to_state,
        _ts(e.at),
        "",
        e.data,
        False,
    )


# --- loading -------------------------------------------------------------------------------


def _copy_text(rows: list[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    for row in rows:
        out.write(
            "\t".join(
                "\\N" if v is None else ("t" if v is True else "f" if v is False else str(v))
                for v in row
            )
        )
        out.write("\n")
    return out.getvalue()


@dataclass
class Load:
    """How to load: the reference data, the incidents' columns and row, the histories' span
    (bench/levels_scale.py loads two counties with their holding centres and stage clocks)."""

    reference: Callable[[Engine], Reference] = load_reference
    cols: str = INCIDENT_COLS
    row: Callable[[dict[str, Any]], tuple[Any, ...]] = _incident_row
    history: dict[str, Any] = field(default_factory=dict)


def load_pg(url: str, n: int, seed: int, how: Load | None = None) -> dict[str, float]:
    how = how or Load()
    engine = make_engine(url, poolclass=NullPool)
    ref = how.reference(engine)
    t = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        # Bulk load as an initial import would: no per-row trigger and no secondary indexes
        # while copying; the projection is back-filled and the indexes built afterwards.
        index_sql = [
            r[0]
            for r in cur.execute(
                "SELECT indexdef FROM pg_indexes WHERE tablename IN "
                "('incidents', 'incident_events', 'metric_events') AND indexname NOT LIKE 'pk_%'"
                " AND indexname NOT LIKE 'gix_%'"
            ).fetchall()
        ]
        names = [
            r[0]
            for r in cur.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename IN "
                "('incidents', 'incident_events', 'metric_events') AND indexname NOT LIKE 'pk_%'"
                " AND indexname NOT LIKE 'gix_%'"
            ).fetchall()
        ]
        for name in names:
            cons = cur.execute(
                "SELECT conname, conrelid::regclass::text FROM pg_constraint WHERE conname = %s",
                (name,),
            ).fetchone()
            if cons:
                cur.execute(f'ALTER TABLE {cons[1]} DROP CONSTRAINT "{cons[0]}"')
            else:
                cur.execute(f'DROP INDEX "{name}"')
        cur.execute("ALTER TABLE incident_events DISABLE TRIGGER metric_events_sync")
        raw.commit()
        cases: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        eid = 0

        def flush(force: bool = False) -> None:
            force = force or len(events) >= 200_000  # an event's case must be there first
            if cases and (force or len(cases) >= 50_000):
                with cur.copy(f"COPY incidents ({how.cols}) FROM STDIN") as cp:
                    cp.write(_copy_text(cases))
                cases.clear()
            if events and (force or len(events) >= 200_000):
                with cur.copy(f"COPY incident_events ({EVENT_COLS}) FROM STDIN") as cp:
                    cp.write(_copy_text(events))
                events.clear()

        for kind, item in histories(ref, n, seed, **how.history):
            if kind == "case":
                cases.append(how.row(item))
            else:
                eid += 1
                events.append(_event_row(eid, item))
            flush()
        flush(force=True)
        raw.commit()
        loaded = time.perf_counter() - t
        t = time.perf_counter()
        from server.metrics.projection import rebuild

        cur.execute("ALTER TABLE incident_events ENABLE TRIGGER metric_events_sync")
        raw.commit()
        rebuild_sql_conn = engine.connect()
        with rebuild_sql_conn.begin():
            rebuild(rebuild_sql_conn)
        rebuild_sql_conn.close()
        projected = time.perf_counter() - t
        t = time.perf_counter()
        for sql in index_sql:
            cur.execute(sql)
        cur.execute("SELECT setval(pg_get_serial_sequence('incidents', 'id'), %s)", (n,))
        cur.execute("SELECT setval(pg_get_serial_sequence('incident_events', 'id'), %s)", (eid,))
        raw.commit()
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        cur.execute("VACUUM ANALYZE")
        indexed = time.perf_counter() - t
    finally:
        raw.close()
        engine.dispose()
    return {"events": eid, "load_s": loaded, "project_s": projected, "index_s": indexed}


def load_sqlite(url: str, n: int, seed: int, how: Load | None = None) -> dict[str, float]:
    how = how or Load()
    engine = make_engine(url, poolclass=NullPool)
    ref = how.reference(engine)
    t = time.perf_counter()
    raw = engine.raw_connection()
    eid = 0
    try:
        cur = raw.cursor()
        cases: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        ci = (
            "INSERT INTO incidents ("
            + how.cols
            + ") VALUES ("
            + ", ".join("?" * len(how.cols.split(",")))
            + ")"
        )
        ei = (
            "INSERT INTO incident_events ("
            + EVENT_COLS
            + ") VALUES ("
            + ", ".join("?" * len(EVENT_COLS.split(",")))
            + ")"
        )
        for kind, item in histories(ref, n, seed, **how.history):
            if kind == "case":
                cases.append(how.row(item))
            else:
                if cases:
                    cur.executemany(ci, cases)
                    cases.clear()
                eid += 1
                events.append(_event_row(eid, item))
                if len(events) >= 50_000:
                    cur.executemany(ei, events)
                    events.clear()
        cur.executemany(ci, cases)
        cur.executemany(ei, events)  # the metric_events trigger fires for every row
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return {"events": eid, "load_s": time.perf_counter() - t}


# --- measuring -----------------------------------------------------------------------------


def run_query(url: str, by: str, repeat: int, as_of: datetime = AS_OF) -> dict[str, Any]:
    """One measurement, in this (fresh) process: timings and peak memory."""
    from server.metrics import MetricsQuery, Scope, compute
    from server.usecases.context import calendar_from

    engine = make_engine(url)
    cal = calendar_from("08:30-12:00,14:00-17:30", "Asia/Shanghai")
    with engine.connect() as conn:
        county = conn.execute(
            text("SELECT code FROM regions WHERE level = 'county' ORDER BY id LIMIT 1")
        ).scalar_one()
    q = MetricsQuery(
        scopes=(Scope("region", county),),
        start=PERIOD[0],
        end=PERIOD[1],
        as_of=as_of,
        by=by,
    )

    def rss_mb() -> float:
        """Peak resident memory of this process (VmHWM: unlike ru_maxrss, it does not carry
        the parent's peak over fork and exec)."""
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    with engine.connect() as conn:  # open the pool; the app keeps connections open too
        conn.execute(text("SELECT 1"))
    baseline = rss_mb()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        with engine.connect() as conn:
            result = compute(conn, q, cal)
        times.append(time.perf_counter() - t)
    peak = rss_mb()
    # Python allocations of one more run, measured apart (tracemalloc slows Python down).
    tracemalloc.start()
    with engine.connect() as conn:
        compute(conn, q, cal)
    _cur, peak_py = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    total = result.total
    engine.dispose()
    return {
        "by": by,
        "as_of": as_of.isoformat(),
        "groups": len(result.groups),
        "first_s": round(times[0], 4),
        "best_s": round(min(times), 4),
        "median_s": round(sorted(times)[len(times) // 2], 4),
        "peak_rss_mb": round(peak, 1),
        "rss_growth_mb": round(peak - baseline, 1),
        "peak_python_alloc_mb": round(peak_py / 2**20, 2),
        "cohort": total["accepted"],
        "dispatches": total["dispatches"],
        "closure_rate": round(total["closure_rate"], 4),
    }


def measure(url: str, by: str, repeat: int, as_of: datetime = AS_OF) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--run",
            url,
            "--by",
            by,
            "--repeat",
            str(repeat),
            "--as-of",
            as_of.isoformat(),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _pg_bench_url(server_url: str) -> str:
    return make_url(normalise_url(server_url)).set(database=DB_NAME).render_as_string(False)


def _loaded(url: str, n: int) -> bool:
    try:
        engine = make_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM incidents")).scalar_one()
        engine.dispose()
        return int(count) == n
    except Exception:  # noqa: BLE001
        return False


def prepare_pg(server_url: str, n: int, seed: int, reuse: bool) -> tuple[str, dict[str, Any]]:
    url = _pg_bench_url(server_url)
    if reuse and _loaded(url, n):
        return url, {"reused": True}
    url = create_pg_database(server_url, DB_NAME, replace=True)
    return url, load_pg(url, n, seed)


def prepare_sqlite(path: Path, n: int, seed: int, reuse: bool) -> tuple[str, dict[str, Any]]:
    url = f"sqlite:///{path}"
    if reuse and path.exists() and _loaded(url, n):
        return url, {"reused": True}
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(url)
    return url, load_sqlite(url, n, seed)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--pg-url",
        default=os.environ.get("WANGGE_BENCH_PG_URL") or os.environ.get("WANGGE_TEST_PG_URL") or "",
    )
    p.add_argument("--pg-cases", type=int, default=1_000_000)
    p.add_argument("--sqlite-cases", type=int, default=100_000)
    p.add_argument("--sqlite-path", default=str(ROOT / "instance" / "bench-metrics.db"))
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--reuse", action="store_true", help="keep a database already loaded")
    p.add_argument("--skip-pg", action="store_true")
    p.add_argument("--skip-sqlite", action="store_true")
    p.add_argument("--load-only", action="store_true", help="load, do not measure")
    p.add_argument("--run", help=argparse.SUPPRESS)
    p.add_argument("--by", default="town", help=argparse.SUPPRESS)
    p.add_argument("--as-of", default=AS_OF.isoformat(), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        moment = datetime.fromisoformat(args.as_of)
        print(json.dumps(run_query(args.run, args.by, args.repeat, moment)))
        return
    report: dict[str, Any] = {}
    if not args.skip_pg:
        if not args.pg_url:
            sys.exit("set --pg-url or WANGGE_TEST_PG_URL (or pass --skip-pg)")
        t = time.perf_counter()
        url, info = prepare_pg(args.pg_url, args.pg_cases, args.seed, args.reuse)
        info["prepare_s"] = round(time.perf_counter() - t, 1)
        print(f"PostgreSQL: {args.pg_cases:,} cases ready {info}", flush=True)
        report["postgresql"] = {"cases": args.pg_cases, "load": info}
        for by in () if args.load_only else ("town", "grid"):
            r = measure(url, by, args.repeat)
            report["postgresql"][by] = r
            print(f"  PostgreSQL county month by {by}: {r}", flush=True)
        if not args.load_only:
            # the same month as of its last moment (reproducing a past report)
            r = measure(url, "town", args.repeat, MONTH_END)
            report["postgresql"]["town_as_of_month_end"] = r
            print(f"  PostgreSQL county month by town, as of its end: {r}", flush=True)
    if not args.skip_sqlite:
        t = time.perf_counter()
        url, info = prepare_sqlite(Path(args.sqlite_path), args.sqlite_cases, args.seed, args.reuse)
        info["prepare_s"] = round(time.perf_counter() - t, 1)
        print(f"SQLite: {args.sqlite_cases:,} cases ready {info}", flush=True)
        report["sqlite"] = {"cases": args.sqlite_cases, "load": info}
        for by in () if args.load_only else ("town", "grid"):
            r = measure(url, by, args.repeat)
            report["sqlite"][by] = r
            print(f"  SQLite county month by {by}: {r}", flush=True)
    goals = {"town": 0.5, "grid": 1.0, "town_as_of_month_end": 0.5}
    for db, res in report.items():
        for by, goal in goals.items():
            if by in res:
                ok = "OK" if res[by]["best_s"] < goal else "SLOW"
                print(
                    f"{db:10s} by {by:5s}: first {res[by]['first_s']:.3f} s, best "
                    f"{res[by]['best_s']:.3f} s (goal < {goal} s on PostgreSQL) {ok}; peak RSS "
                    f"{res[by]['peak_rss_mb']} MB (+{res[by]['rss_growth_mb']} MB over the "
                    f"process before querying; Python allocations "
                    f"{res[by]['peak_python_alloc_mb']} MB)"
                )
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
