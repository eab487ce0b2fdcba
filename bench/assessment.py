"""Benchmark of the assessment (考核, issue 17): the month's scorecards of every grid worker of a
county — case metrics by worker, 漏报率 of their grids, patrols and key-group visits — against
the bare SQL that reads the same rows. Target: under 2 s.

A county of 5 towns × 10 communities × 6 grids (300 grids, one grid worker each) with the cases
of bench/metric_queries.py (``--cases`` over 24 months ending 2026-11-01), and, straight into
the tables, three months of patrols (each worker 1–2 a working day), 20 key-group members per
grid (weekly, monthly or quarterly) with half a year of visits. Measured: 2026-10, as of
2026-11-20, ``server.metrics.scorecards.scorecards(kind="worker")`` and the dispatchers' cards.

    .venv/bin/python bench/assessment.py                      # SQLite and PostgreSQL
    .venv/bin/python bench/assessment.py --skip-pg --cases 50000

PostgreSQL: ``--pg-url`` or WANGGE_BENCH_PG_URL or WANGGE_TEST_PG_URL (a database
``wangge_bench_assessment`` is created there). SQLite: ``instance/bench-assessment.db``.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import metric_queries as mq  # noqa: E402
from _common import create_pg_database, pg_server_url  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from server import migrate  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.models import KeyGroupKindRow, KeyGroupTag, Resident, Visit  # noqa: E402
from server.models.fieldwork import Patrol  # noqa: E402

SHAPE = (5, 10, 6)  # 300 grids
DB_NAME = "wangge_bench_assessment"
TZ_SHIFT = timedelta(hours=8)


def _reference(engine: Engine) -> mq.Reference:
    return mq.load_reference(engine, shape=SHAPE)


def load_field(url: str, seed: int) -> dict[str, Any]:
    """Patrols of Aug–Oct 2026, key-group members and their visits since May."""
    rng = random.Random(seed)
    engine = make_engine(url, poolclass=NullPool)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        grids = conn.execute(
            text(
                "SELECT g.code, ga.user_id, g.community_id, r.parent_id, t.parent_id "
                "FROM grids g JOIN grid_assignments ga ON ga.grid_code = g.code "
                "JOIN regions r ON r.id = g.community_id JOIN regions t ON t.id = r.parent_id"
            )
        ).all()
        kind = conn.execute(
            insert(KeyGroupKindRow).returning(KeyGroupKindRow.id),
            [
                {
                    "code": "bench",
                    "name": "重点人群",
                    "levels": [
                        {"level": 1, "name": "一级", "cycle": "weekly"},
                        {"level": 2, "name": "二级", "cycle": "monthly"},
                        {"level": 3, "name": "三级", "cycle": "quarterly"},
                    ],
                }
            ],
        ).scalar_one()
        patrols: list[dict[str, Any]] = []
        residents: list[dict[str, Any]] = []
        for code, worker, community, town, county in grids:
            where = {"grid_code": code, "community_id": community, "town_id": town}
            where["county_id"] = county
            day = date(2026, 8, 1)
            while day < date(2026, 11, 1):
                if day.weekday() < 5:
                    for _ in range(rng.choice((1, 1, 2))):
                        start = datetime(day.year, day.month, day.day, tzinfo=UTC) - TZ_SHIFT
                        start += timedelta(hours=rng.uniform(8, 16))
                        minutes = rng.uniform(20, 150)
                        patrols.append(
                            {
                                "uuid": str(uuid.uuid4()),
                                "content_hash": "x",
                                "worker_id": worker,
                                "started_at": start,
                                "ended_at": start + timedelta(minutes=minutes),
                                "points": int(minutes * 6),
                                "distance_m": minutes * rng.uniform(40, 80),
                                "duration_s": int(minutes * 60),
                                "coverage": rng.choice((None, rng.random())),
                                **where,
                            }
                        )
                day += timedelta(days=1)
            for n in range(20):
                residents.append(
                    {
                        "uuid": str(uuid.uuid4()),
                        "name": f"居民{n}",
                        "id_mask": "6401**********0000",
                        "birth_date": date(1960, 1, 1),
                        "sex": "male",
                        **where,
                    }
                )
        conn.execute(insert(Patrol), patrols)
        ids = conn.execute(
            insert(Resident).returning(Resident.id, Resident.grid_code), residents
        ).all()
        tags, visits = [], []
        for rid, code in ids:
            level = rng.choice((1, 2, 2, 3))
            cycle = {1: 7, 2: 30, 3: 91}[level]
            tags.append(
                {
                    "uuid": str(uuid.uuid4()),
                    "resident_id": rid,
                    "kind_id": kind,
                    "level": level,
                    "since": date(2026, 1, 1),
                }
            )
            moment = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(days=rng.uniform(0, cycle))
            while moment < datetime(2026, 11, 20, tzinfo=UTC):
                if rng.random() < 0.85:
                    visits.append(
                        {
                            "uuid": str(uuid.uuid4()),
                            "content_hash": "x",
                            "resident_id": rid,
                            "visited_at": moment,
                            "grid_code": code,
                        }
                    )
                moment += timedelta(days=cycle * rng.uniform(0.7, 1.2))
        conn.execute(insert(KeyGroupTag), tags)
        conn.execute(insert(Visit), visits)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return {
        "patrols": len(patrols),
        "residents": len(residents),
        "visits": len(visits),
        "field_load_s": round(time.perf_counter() - t0, 1),
    }


def _timed(run: Callable[[], Any], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return {
        "first_s": round(times[0], 3),
        "best_s": round(min(times), 3),
        "median_s": round(sorted(times)[len(times) // 2], 3),
    }


BARE = [
    # the case metrics by worker: the cohort rows of the month as of T (one of the families)
    "SELECT reporter_id, count(*), sum(CASE WHEN to_state = 6 THEN 1 ELSE 0 END) "
    "FROM metric_events WHERE acc_us >= :s AND acc_us < :e AND at_us <= :t "
    "AND valid_to_us > :t GROUP BY reporter_id",
    "SELECT reporter_id, count(*) FROM metric_events WHERE rep_us >= :s AND rep_us < :e "
    "AND at_us <= :t AND valid_to_us > :t GROUP BY reporter_id",
    # 漏报率: the same cohort joined to the grids' workers
    "SELECT ga.user_id, count(*) FROM metric_events m JOIN grid_assignments ga "
    "ON ga.grid_code = m.grid_code WHERE m.acc_us >= :s AND m.acc_us < :e AND m.at_us <= :t "
    "AND m.valid_to_us > :t GROUP BY ga.user_id",
    # patrols of the month
    "SELECT worker_id, count(*), sum(distance_m), avg(coverage) FROM patrols "
    "WHERE started_at >= :ps AND started_at < :pe GROUP BY worker_id",
    # key-group members and their visits
    "SELECT t.resident_id, t.level, max(v.visited_at) FROM key_group_tags t "
    "JOIN residents r ON r.id = t.resident_id LEFT JOIN visits v ON v.resident_id = "
    "t.resident_id AND v.visited_at < :ps GROUP BY t.resident_id, t.level",
    "SELECT resident_id, visited_at FROM visits WHERE visited_at >= :ps AND visited_at < :pe",
]


def measure(url: str, repeat: int) -> dict[str, Any]:
    from server.metrics import scorecards
    from server.metrics.office_clock import to_us
    from server.metrics.planning import MetricsQuery, Scope
    from server.usecases.context import calendar_from

    engine = make_engine(url)
    cal = calendar_from("08:30-12:00,14:00-17:30", "Asia/Shanghai")
    with engine.connect() as conn:
        county = conn.execute(
            text("SELECT code FROM regions WHERE level = 'county' ORDER BY id LIMIT 1")
        ).scalar_one()
    q = MetricsQuery((Scope("region", county),), mq.PERIOD[0], mq.PERIOD[1], mq.AS_OF)
    out: dict[str, Any] = {}
    for kind in ("worker", "dispatcher"):
        cards: list[Any] = []

        def run(kind: str = kind, cards: list[Any] = cards) -> None:
            with engine.connect() as conn:
                cards[:] = scorecards.scorecards(conn, kind, q, cal)[1]  # type: ignore[arg-type]

        out[kind] = _timed(run, repeat) | {"cards": len(cards)}
        if kind == "worker":
            scored = [c for c in cards if c.score is not None]
            out[kind]["scored"] = len(scored)
            out[kind]["mean_score"] = round(sum(c.score for c in scored) / len(scored), 2)
    start = datetime(2026, 10, 1, tzinfo=UTC) - TZ_SHIFT
    end = datetime(2026, 11, 1, tzinfo=UTC) - TZ_SHIFT
    params = {
        "s": to_us(start),
        "e": to_us(end),
        "t": to_us(mq.AS_OF),
        "ps": start if engine.dialect.name == "postgresql" else start.replace(tzinfo=None),
        "pe": end if engine.dialect.name == "postgresql" else end.replace(tzinfo=None),
    }

    def bare() -> None:
        with engine.connect() as conn:
            for sql in BARE:
                conn.execute(text(sql), params).all()

    out["bare"] = _timed(bare, repeat)
    out["ratio"] = round(out["worker"]["median_s"] / max(out["bare"]["median_s"], 1e-6), 1)
    engine.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--pg-url", default=None)
    p.add_argument("--cases", type=int, default=150_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--skip-pg", action="store_true")
    p.add_argument("--skip-sqlite", action="store_true")
    p.add_argument("--sqlite-path", default=str(ROOT / "instance" / "bench-assessment.db"))
    a = p.parse_args()
    how = mq.Load(reference=_reference)
    if not a.skip_sqlite:
        path = Path(a.sqlite_path)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        loaded = mq.load_sqlite(url, a.cases, a.seed, how)
        field = load_field(url, a.seed)
        print("sqlite", {"cases": a.cases, **loaded, **field}, flush=True)
        print("sqlite", measure(url, a.repeat), flush=True)
    if not a.skip_pg:
        url = create_pg_database(pg_server_url(a.pg_url), DB_NAME, replace=True)
        loaded = mq.load_pg(url, a.cases, a.seed, how)
        field = load_field(url, a.seed)
        print("postgresql", {"cases": a.cases, **loaded, **field}, flush=True)
        print("postgresql", measure(url, a.repeat), flush=True)


if __name__ == "__main__":
    main()
