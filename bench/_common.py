"""Shared set-up of the benchmarks: a real county boundary when ../shared/data is there (geo),
and a product call side by side with the bare SQL it sent (sweep, levels_scale)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shapely.geometry import MultiPolygon, Polygon, box  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from geo import read_boundaries  # noqa: E402

T = TypeVar("T")

LINGWU = ROOT.parent / "shared" / "data" / "boundaries" / "county_640181.json"


def county_boundary() -> tuple[Polygon | MultiPolygon, str]:
    """灵武市 (Lingwu, ~3,000 km²) when present, else a ~50 km box near Yinchuan."""
    if LINGWU.is_file():
        return read_boundaries(LINGWU, crs="gcj02").geometry.iloc[0], "灵武市 county_640181"
    return box(106.0, 38.0, 106.57, 38.45), "50 km box (../shared/data absent)"


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
