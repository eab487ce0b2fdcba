"""Shared set-up of the benchmarks: a real county boundary when ../shared/data is there (geo),
a fresh migrated PostGIS database (server benches), and a product call side by side with the
bare SQL it sent (sweep, levels_scale)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shapely.geometry import MultiPolygon, Polygon, box  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from geo import read_boundaries  # noqa: E402
from server import migrate  # noqa: E402
from server.db import make_engine, normalise_url  # noqa: E402

T = TypeVar("T")

LINGWU = ROOT.parent / "shared" / "data" / "boundaries" / "county_640181.json"


def county_boundary() -> tuple[Polygon | MultiPolygon, str]:
    """灵武市 (Lingwu, ~3,000 km²) when present, else a ~50 km box near Yinchuan."""
    if LINGWU.is_file():
        return read_boundaries(LINGWU, crs="gcj02").geometry.iloc[0], "灵武市 county_640181"
    return box(106.0, 38.0, 106.57, 38.45), "50 km box (../shared/data absent)"


# --- a database to bench on --------------------------------------------------------------------


def pg_server_url(given: str | None) -> str:
    """The PostGIS server to bench on: --pg-url, else WANGGE_BENCH_PG_URL / WANGGE_TEST_PG_URL."""
    url = given or os.environ.get("WANGGE_BENCH_PG_URL") or os.environ.get("WANGGE_TEST_PG_URL")
    if not url:
        sys.exit("set --pg-url or WANGGE_BENCH_PG_URL / WANGGE_TEST_PG_URL (a PostGIS server)")
    return normalise_url(url)


def create_pg_database(server: str, name: str, *, replace: bool = False) -> str:
    """Database `name` on `server` with PostGIS, migrated to head; its URL. `replace` drops a
    database of that name first (a bench that reuses one fixed name)."""
    server = normalise_url(server)
    admin = make_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if replace:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    migrate.upgrade(url)
    return url


def drop_pg_database(server: str, url: str) -> None:
    """Drop the database `url` names (made by create_pg_database) on `server`."""
    name = make_url(url).database
    admin = make_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# --- a product call side by side with the bare SQL it sent ------------------------------------

Statement = tuple[str, Any, bool]  # (SQL as the driver got it, parameters, executemany)


def captured(engine: Engine, run: Callable[[], T]) -> tuple[T, list[Statement]]:
    """What ``run()`` returns, and every statement it sent through ``engine``."""
    seen: list[Statement] = []

    def on(_conn: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        seen.append((statement, params, many))

    event.listen(engine, "before_cursor_execute", on)
    try:
        return run(), seen
    finally:
        event.remove(engine, "before_cursor_execute", on)


def bare(
    engine: Engine, statements: list[Statement], log: Callable[[str], None] | None = None
) -> float:
    """Milliseconds to replay ``statements`` on a raw DBAPI connection of ``engine`` (psycopg
    or sqlite3), fetching every row, in a transaction rolled back: the floor a product call
    built on them can reach. ``log``: each statement's own time."""
    work = [s for s in statements if not s[0].lstrip().upper().startswith(("BEGIN", "SELECT 1"))]
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        start = time.perf_counter()
        for statement, params, many in work:
            t = time.perf_counter()
            if many and isinstance(params, list | tuple):
                cur.executemany(statement, params)
            else:
                cur.execute(statement, params if params else ())
                if cur.description is not None:
                    cur.fetchall()
            if log is not None:
                ms = (time.perf_counter() - t) * 1000
                log(f"  {ms:8.1f} ms  {' '.join(statement.split())[:110]}")
        elapsed = (time.perf_counter() - start) * 1000
        raw.rollback()
    finally:
        raw.close()
    return elapsed
