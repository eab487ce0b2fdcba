"""metric_events: the triggers fold the trail exactly as the rebuild does, whatever happens."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from functools import cache
from types import ModuleType

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Connection

from server.config import ROOT
from server.metrics import fold, projection
from server.models import IncidentEvent
from server.models import metric_events as model
from tests.metrics.support import World, session
from tests.metrics.test_worked_examples import build_example, t

#: The latest migration that installed the metric triggers: it keeps a frozen copy of the fold.
#: A migration that changes the triggers takes its place here.
FOLD_MIGRATION = "0015_metric_fold_levels.py"


@cache
def _migration() -> ModuleType:
    path = ROOT / "migrations" / "versions" / FOLD_MIGRATION
    spec = importlib.util.spec_from_file_location("wangge_fold_migration", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(conn: Connection) -> list[tuple[object, ...]]:
    cols = fold.COLUMN_LIST
    return [
        tuple(r) for r in conn.execute(text(f"SELECT {cols} FROM metric_events ORDER BY event_id"))
    ]


def test_code_tables_of_the_migration_match_the_model() -> None:
    m = _migration()
    assert m.ACTION_CODES == model.ACTION_CODES
    assert m.STATE_CODES == model.STATE_CODES
    assert m.RATING_CODES == model.RATING_CODES
    assert m.OPEN_END == model.OPEN_END
    assert [c.name for c in model.MetricEvent.__table__.columns] == m.COLUMNS


def test_the_fold_is_the_one_the_triggers_were_written_with() -> None:
    """``flask metrics rebuild``/``check`` fold with server/metrics/fold.py; the triggers run
    the SQL of the migration that installed them. They must be the same text, or a rebuild
    would write rows the triggers never would (and ``check`` would call them right)."""
    m = _migration()
    assert fold.COLUMNS == m.COLUMNS and fold.COLUMN_LIST == m.COLUMN_LIST
    for dialect in ("postgresql", "sqlite"):
        assert fold.rebuild_select(dialect) == m.rebuild_select(dialect)
        assert fold.rebuild_select(dialect, "e.incident_id = 7") == m.rebuild_select(
            dialect, "e.incident_id = 7"
        )
        assert fold.step_select(dialect) == m.step_select(dialect)
        assert fold.backfill_sql(dialect) == m.backfill_sql(dialect)
    assert fold.PG_FUNCTIONS == m.PG_FUNCTIONS
    assert fold.pg_trigger() == m.pg_trigger()
    assert fold.PG_DROP == m.PG_DROP
    assert fold.sqlite_triggers() == m.sqlite_triggers()
    assert fold.SQLITE_TRIGGER_NAMES == m.SQLITE_TRIGGER_NAMES


def test_triggers_and_rebuild_agree(mapp: Flask, world: World, conn: Connection) -> None:
    build_example(mapp, world)
    assert projection.check(conn) == []
    by_trigger = _rows(conn)
    assert len(by_trigger) == conn.execute(text("SELECT count(*) FROM incident_events")).scalar()
    projection.rebuild(conn)
    assert _rows(conn) == by_trigger


def test_an_event_appended_out_of_order_refolds_its_case(
    mapp: Flask, world: World, conn: Connection
) -> None:
    ids = build_example(mapp, world)
    db = session(mapp)
    first = (
        db.query(IncidentEvent).filter_by(incident_id=ids["A"]).order_by(IncidentEvent.id).first()
    )
    assert first is not None
    # an id below the case's other events (as a restore from backup might write)
    db.add(
        IncidentEvent(
            id=first.id + 100_000,
            incident_id=ids["B"],
            action="comment",
            actor_role="x",
            to_state="closed",
            created_at=t("11-05 10:00"),
            note="",
            data={},
        )
    )
    db.flush()
    db.add(
        IncidentEvent(
            id=first.id + 50_000,
            incident_id=ids["B"],
            action="supervise",
            actor_role="x",
            to_state="closed",
            created_at=t("11-05 11:00"),
            note="",
            data={},
        )
    )
    db.commit()
    db.close()
    assert projection.check(conn) == []


def test_changing_or_deleting_history_refolds_the_case(
    mapp: Flask, world: World, conn: Connection
) -> None:
    ids = build_example(mapp, world)
    db = session(mapp)
    resolve = db.query(IncidentEvent).filter_by(incident_id=ids["I"], action="resolve").one()
    resolve.created_at = resolve.created_at - timedelta(hours=3)  # now on time
    db.flush()
    verify = db.query(IncidentEvent).filter_by(incident_id=ids["A"], action="verify").one()
    db.delete(verify)
    db.commit()
    db.close()
    assert projection.check(conn) == []


def test_check_reports_a_tampered_projection(mapp: Flask, world: World, conn: Connection) -> None:
    build_example(mapp, world)
    conn.execute(
        text(
            "UPDATE metric_events SET to_state = 1 "
            "WHERE event_id = (SELECT max(event_id) FROM metric_events)"
        )
    )
    problems = projection.check(conn)
    assert {p["problem"] for p in problems} == {"missing_or_different", "stale_or_extra"}
    projection.rebuild(conn)
    assert projection.check(conn) == []
