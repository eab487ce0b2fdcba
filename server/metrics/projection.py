"""``metric_events``: the trail folded into case states, which the metric queries read.

Triggers written by migration 0002 keep it in step with ``incident_events``, one row per event
in the same transaction. :func:`rebuild` recomputes it from the trail with the window-function
form of the fold (:mod:`server.metrics.fold`, of which that migration keeps a frozen copy that a
test compares), and :func:`check` lists the rows that differ from a fresh fold, so an operator
can prove, or restore, that the metrics read exactly the trail (``flask metrics check`` /
``flask metrics rebuild``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from server.metrics import fold


def columns() -> list[str]:
    return list(fold.COLUMNS)


def rebuild(conn: Connection, incident_id: int | None = None) -> int:
    """Fold the trail again into ``metric_events`` (all cases, or one); returns the row count."""
    dialect = conn.dialect.name
    where = "" if incident_id is None else f"e.incident_id = {int(incident_id)}"
    if incident_id is None:
        conn.execute(text("DELETE FROM metric_events"))
    else:
        conn.execute(
            text("DELETE FROM metric_events WHERE incident_id = :i"), {"i": int(incident_id)}
        )
    conn.execute(
        text(
            f"INSERT INTO metric_events ({fold.COLUMN_LIST}) {fold.rebuild_select(dialect, where)}"
        )
    )
    return int(conn.execute(text("SELECT count(*) FROM metric_events")).scalar_one())


def check(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Rows of ``metric_events`` that differ from a fresh fold of the trail (both directions)."""
    cols = fold.COLUMN_LIST
    fresh = fold.rebuild_select(conn.dialect.name)
    out: list[dict[str, Any]] = []
    for problem, sql in (
        (
            "missing_or_different",
            f"SELECT {cols} FROM ({fresh}) f EXCEPT SELECT {cols} FROM metric_events",
        ),
        (
            "stale_or_extra",
            f"SELECT {cols} FROM metric_events EXCEPT SELECT {cols} FROM ({fresh}) f",
        ),
    ):
        for row in conn.execute(text(f"SELECT * FROM ({sql}) d LIMIT {int(limit)}")):
            out.append({"problem": problem, **row._mapping})
    return out
