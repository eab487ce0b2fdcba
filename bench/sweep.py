"""Benchmark of one 督办 sweep (``flask cases sweep``) over many cases in PostgreSQL, side by side
with the bare SQL it runs.

Creates a throw-away database on the server given by ``--pg-url`` / WANGGE_BENCH_PG_URL /
WANGGE_TEST_PG_URL, migrates it, adds a county and the catalogue, and loads N cases with
``INSERT … SELECT generate_series`` (``--open`` of them open, spread over the four stages, with
due times up to 30 days in the past or 5 in the future; the rest closed, with no stage clock).
It then times, best of ``--repeat``:

- **first sweep**: the sweep that finds the backlog and raises its cards, at most a batch
  (``stages.BATCH``; then the rest, batch by batch, for real) (conditional UPDATEs
  RETURNING the cases, the card events INSERTed — the metric triggers fold each — and the cases'
  last event), run and rolled back so each repeat does the same work;
- **bare SQL** of it: the very statements that sweep sent (captured from the driver), replayed
  on a raw psycopg cursor in a transaction that is rolled back;
- **idle sweep**: after the cards are committed, the every-minute sweep with nothing to raise,
  and its bare statements;

and prints milliseconds and the ratio sweep ÷ bare. The database is dropped at the end unless
``--keep`` is given.

    .venv/bin/python bench/sweep.py --cases 200000
    .venv/bin/python bench/sweep.py                    # 1 M cases
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import (  # noqa: E402
    Statement,
    bare,
    captured,
    create_pg_database,
    drop_pg_database,
    pg_server_url,
)
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from server import create_app  # noqa: E402
from server.api.util import context  # noqa: E402
from server.catalog_seed import seed_catalog  # noqa: E402
from server.config import Settings  # noqa: E402
from server.extensions import db  # noqa: E402
from server.models import Region  # noqa: E402
from server.usecases import stages  # noqa: E402

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # a Friday, 18:00 in Shanghai


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def create_db(server: str) -> str:
    return create_pg_database(server, f"wangge_bench_sweep_{uuid.uuid4().hex[:8]}")


LOAD = """
INSERT INTO incidents (uuid, number, content_hash, source, state, version, category_id,
    description, address, location_status, county_id, caller_name, caller_phone,
    contact_email, urgency, self_handled, reported_at, created_at, updated_at, stage_natural,
    stage_started_at, stage_due_at, department_id, deadline_at)
SELECT md5(g::text)::uuid::text, lpad(g::text, 14, '0'), md5(g::text), 'field', s.state, 1,
    :category, '', '', 'inside', :county, '', '', '', 'normal', false,
    :now - make_interval(days => 40), :now - make_interval(days => 40), :now, false,
    CASE WHEN s.state <> 'closed' THEN d.due - make_interval(hours => 4) END,
    CASE WHEN s.state <> 'closed' THEN d.due END,
    CASE WHEN s.state IN ('dispatched','in_progress','resolved') THEN :department END,
    CASE WHEN s.state IN ('dispatched','in_progress','resolved') THEN d.due END
FROM generate_series(1, :n) AS g
CROSS JOIN LATERAL (SELECT CASE WHEN (g::bigint * 7919) % 1000 >= :open_permille THEN 'closed'
    ELSE (ARRAY['reported','accepted','dispatched','in_progress','resolved'])[1 + g % 5]
    END AS state) AS s
CROSS JOIN LATERAL (SELECT :now - make_interval(mins => ((g::bigint * 104729) % (35 * 24 * 60))::int
    - 5 * 24 * 60) AS due) AS d
"""


def seed(url: str, inst: Path, n: int, open_share: float) -> Any:
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
    with app.app_context():
        session = db()
        county = Region(code="640181000000", name="灵武市", level="county", path="")
        session.add(county)
        session.flush()
        county.path = f"/{county.id}/"
        seed_catalog(session)
        session.commit()
        category = session.execute(text("SELECT id FROM categories WHERE code = '0101'")).scalar()
        department = session.execute(text("SELECT min(id) FROM departments")).scalar()
        t = time.perf_counter()
        session.execute(
            text(LOAD),
            {
                "n": n,
                "open_permille": round(open_share * 1000),
                "now": NOW,
                "category": category,
                "county": county.id,
                "department": department,
            },
        )
        session.commit()
        session.execute(text("ANALYZE incidents"))
        session.commit()
        log(f"{n:,} cases loaded in {time.perf_counter() - t:.1f} s")
    return app


def sweep_once(
    app: Any, commit: bool, now: datetime = NOW
) -> tuple[float, stages.SweepResult, list[Statement]]:
    """One sweep as of ``now`` (rolled back unless ``commit``): ms, result, its statements."""
    with app.app_context():
        ctx = context()
        ctx.clock = lambda: now
        if not commit:
            ctx.db.commit = ctx.db.rollback  # type: ignore[method-assign]
        engine = app.extensions["wangge.engine"]
        start = time.perf_counter()
        result, seen = captured(engine, lambda: stages.sweep(ctx))
        return (time.perf_counter() - start) * 1000, result, seen


def bare_ms(app: Any, statements: list[Statement], detail: bool = False) -> float:
    """The captured statements on a raw connection, in a transaction rolled back."""
    return bare(app.extensions["wangge.engine"], statements, log if detail else None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--open", type=float, default=0.2, help="share of open cases (0-1)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pg-url")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--detail", action="store_true", help="time each bare statement")
    args = ap.parse_args()
    server = pg_server_url(args.pg_url)
    url = create_db(server)
    log(f"database {make_url(url).database}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = seed(url, Path(tmp), args.cases, args.open)
            rows: list[tuple[str, float, float, str]] = []
            best_sweep = best_bare = float("inf")
            result = None
            for _ in range(args.repeat):
                ms, result, seen = sweep_once(app, commit=False)
                best_sweep = min(best_sweep, ms)
                best_bare = min(best_bare, bare_ms(app, seen, detail=args.detail))
            assert result is not None
            raised = f"{result.yellow:,} yellow + {result.red:,} red cards"
            rows.append(("first sweep", best_sweep, best_bare, raised))
            while sweep_once(app, commit=True)[1].full:  # the cards, for real, batch by batch
                pass
            best_sweep = best_bare = float("inf")
            for _ in range(args.repeat):
                ms, idle, seen = sweep_once(app, commit=True)
                assert idle.yellow == idle.red == 0, "a second sweep raised cards"
                best_sweep = min(best_sweep, ms)
                best_bare = min(best_bare, bare_ms(app, seen, detail=args.detail))
            rows.append(("idle sweep (every minute)", best_sweep, best_bare, "nothing to raise"))
            print(f"\n{args.cases:,} cases, {args.open:.0%} open; best of {args.repeat}")
            print(f"{'':28} {'sweep ms':>10} {'bare SQL ms':>12} {'ratio':>7}")
            for name, s, b, note in rows:
                print(f"{name:28} {s:10.1f} {b:12.1f} {s / b:7.2f}  {note}")
            app.extensions["wangge.engine"].dispose()
    finally:
        if args.keep:
            log(f"kept {url}")
        else:
            drop_pg_database(server, url)


if __name__ == "__main__":
    main()
