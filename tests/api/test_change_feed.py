"""The change feed behind ``GET /changes`` (server/api/feed.py): one watcher per process, and a
change is released to polls only once every transaction writing when it was seen has ended, so
a commit that lands out of event-id order is not skipped (issue 13)."""

from __future__ import annotations

from sqlalchemy import text

from server.api.feed import Feed
from server.extensions import session_factory
from tests.workflow.world import World


def test_changes_are_released_once_earlier_writers_have_ended(any_world: World) -> None:
    w = any_world
    feed = Feed(lambda: session_factory(w.app))
    feed.look()
    feed.look()
    start = feed.released
    assert start >= 0
    with w.session() as db:
        disp = w.actor(db, "disp")
    engine = w.app.extensions["wangge.engine"]
    postgres = engine.dialect.name == "postgresql"
    writer = engine.connect()
    tx = writer.begin()
    if postgres:  # another transaction is writing (it could hold a lower event id)
        writer.execute(
            text(
                "INSERT INTO login_attempts (username, ip, at, success) "
                "VALUES ('x', 'x', now(), false)"
            )
        )
    try:
        case = w.report()
        feed.look()
        picked, cursor = feed.pick(disp, start)
        if postgres:
            assert picked == [] and cursor == start  # held back while the writer runs
        tx.commit()
        feed.look()
        picked, cursor = feed.pick(disp, start)
        assert [e.case.id for e in picked] == [case]
        assert cursor == picked[0].id > start
        assert feed.pick(disp, cursor) == ([], cursor)
    finally:
        writer.close()
