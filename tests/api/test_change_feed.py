"""The change feed behind ``GET /changes`` (server/api/feed.py): one watcher per process, and a
change is released to polls only once every transaction writing when it was seen has ended, so
a commit that lands out of event-id order is not skipped (issue 13)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import bindparam, text

from server.api.feed import Feed
from server.extensions import session_factory
from tests.admin.conftest import client_for
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


def test_a_cursor_beyond_every_event_id_is_answered_not_a_500(any_world: World) -> None:
    """Event ids are 32-bit: a larger cursor (schemathesis sent 3,600,000,000 on PostgreSQL)
    was a 500 where the ids are compared; it is an empty answer at the newest cursor."""
    c = client_for(any_world, "disp")
    newest = int(c.get("/api/v1/changes?wait=0").get_json()["cursor"])
    for after in (2**31 - 1, 2**31, 3_600_000_000, 2**63 - 1):
        r = c.get(f"/api/v1/changes?after={after}&wait=0")
        assert r.status_code == 200, (after, r.status_code, r.get_data(as_text=True)[:200])
        assert r.get_json()["items"] == [], r.get_json()
        assert int(r.get_json()["cursor"]) <= newest, r.get_json()


@pytest.mark.parametrize("path", ["/api/v1/changes?wait=0&", "/api/v1/changes/stream?"])
def test_a_cursor_from_the_future_misses_no_change(
    any_world: World, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cursor newer than any change (a database restored from a backup under an open
    console, a made-up one) was echoed back, and the changes up to it were never sent: the
    answer is the newest cursor, from which the next change arrives."""
    w = any_world
    monkeypatch.setitem(w.app.config, "WANGGE_STREAM_SECONDS", 0)  # ends after its first frame
    c = client_for(w, "disp")
    newest = int(c.get("/api/v1/changes?wait=0").get_json()["cursor"])
    r = c.get(f"{path}after={newest + 1000}")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    text_ = r.get_data(as_text=True)
    if "stream" in path:
        data = [ln[5:] for ln in text_.splitlines() if ln.startswith("data:")]
        text_ = data[0]
    cursor = int(json.loads(text_)["cursor"])
    assert cursor <= newest
    case = w.report()
    feed: Feed = w.app.extensions["wangge.feed"]
    for _ in range(100):  # the feed's thread looks every half second
        got = c.get(f"/api/v1/changes?after={cursor}&wait=1").get_json()
        if got["items"]:
            break
    assert [i["id"] for i in got["items"]] == [case], (got, feed.released)


def test_each_actor_is_sent_their_own_allowed_actions(any_world: World) -> None:
    """The feed encodes a case once per variant: the actions offered are part of the variant
    (keyed by phone masking alone, the second console got the first one's actions)."""
    import json

    from server.api.feed import encoded
    from server.api.serialize import Lookups
    from server.usecases.context import Context

    w = any_world
    feed = Feed(lambda: session_factory(w.app))
    feed.look()
    start = feed.released
    w.report()
    feed.look()
    with w.session() as db:
        ctx = Context(db=db)
        got = {}
        for who in ("disp", "admin"):  # both see the phone: one masking variant
            actor = w.actor(db, who)
            picked, _ = feed.pick(actor, start)
            assert picked
            body = json.loads(encoded(picked[-1], ctx, actor, Lookups(db)))
            got[who] = body["allowed_actions"]
    assert "accept" in got["disp"] and "accept" not in got["admin"], got


def _latest(w: World, *case_ids: int) -> dict[int, int]:
    """Each case's latest event id, as stored: what a console must have been sent last."""
    with w.session() as db:
        rows = db.execute(
            text("SELECT id, last_event_id FROM incidents WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": list(case_ids)},
        ).all()
    return {int(i): int(e) for i, e in rows}


def test_a_change_whose_writer_began_after_the_look_started_is_not_skipped(
    any_world: World,
) -> None:
    """The race an outside test found under load (about one change in 300 lost): a transaction
    takes an event id and starts writing just after the feed listed the writers; another takes
    a later id and commits before the feed reads the rows. The horizon went past the first id,
    whose commit then landed below it and was never sent. The look now stops at the highest
    id handed out before it listed the writers."""
    w = any_world
    engine = w.app.extensions["wangge.engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time: there is no such race")
    first = w.report()
    late = engine.connect()
    tx = late.begin()

    class Racing(Feed):
        armed = False

        def _snapshot(self, db: Any) -> Any:
            got = super()._snapshot(db)
            if self.armed:
                self.armed = False
                # after the writers were listed: one starts writing (an older id) …
                late.execute(
                    text(
                        "UPDATE incidents SET last_event_id = nextval('incident_events_id_seq'), "
                        "version = version + 1 WHERE id = :id"
                    ),
                    {"id": first},
                )
                # … and a later one commits before the rows are read
                self.second = w.report()
            return got

    feed = Racing(lambda: session_factory(w.app))
    feed.look()
    feed.look()
    start = feed.released
    with w.session() as db:
        disp = w.actor(db, "disp")
    try:
        feed.armed = True
        feed.look()
        tx.commit()
        for _ in range(3):
            feed.look()
        picked, cursor = feed.pick(disp, start)
        got = {e.case.id: e.id for e in picked}
        want = _latest(w, first, feed.second)
        assert got == want, (got, want, start, cursor)
    finally:
        late.close()


def test_a_held_change_read_by_a_later_held_look_is_released_with_its_horizon(
    any_world: World,
) -> None:
    """A look held for writer T is released once T has ended; T's own change is read by the
    next look, held in its turn for another writer U. T's change must go out with the horizon
    that covers it, not after it (a console past that horizon never got it)."""
    w = any_world
    engine = w.app.extensions["wangge.engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time: nothing is held back")
    a = w.report()
    feed = Feed(lambda: session_factory(w.app))
    feed.look()
    feed.look()
    start = feed.released
    with w.session() as db:
        disp = w.actor(db, "disp")
    t, u = engine.connect(), engine.connect()
    try:
        tt = t.begin()
        t.execute(
            text(
                "UPDATE incidents SET last_event_id = nextval('incident_events_id_seq'), "
                "version = version + 1 WHERE id = :id"
            ),
            {"id": a},
        )
        b = w.report()
        feed.look()  # held: T writes
        tu = u.begin()
        u.execute(
            text(
                "INSERT INTO login_attempts (username, ip, at, success) "
                "VALUES ('u', 'u', now(), false)"
            )
        )
        tt.commit()
        feed.look()  # the first look goes; this one (which read T's change) is held for U
        first, cursor = feed.pick(disp, start)
        tu.commit()
        feed.look()
        feed.look()
        then, _ = feed.pick(disp, cursor)
        got = {e.case.id: e.id for e in [*first, *then]}
        want = _latest(w, a, b)
        assert got == want, (got, want, start, cursor)
    finally:
        t.close()
        u.close()


def test_a_cursor_older_than_the_buffer_is_answered_no_further_than_the_feed(
    any_world: World,
) -> None:
    """A console back after a long sleep is answered from the database. That answer went up to
    the newest committed change, past a lower id still being written, whose commit then
    landed below the cursor and was never sent. It now stops at the feed's released horizon."""
    w = any_world
    engine = w.app.extensions["wangge.engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite writes one transaction at a time: there is no such race")
    feed: Feed = w.app.extensions["wangge.feed"]
    c = client_for(w, "disp")
    first = w.report()
    assert feed.wait_ready(10) and not feed.covers(0)  # after=0 is answered from the database
    late = engine.connect()
    try:
        tx = late.begin()
        late.execute(  # a writer holds a lower id …
            text(
                "UPDATE incidents SET last_event_id = nextval('incident_events_id_seq'), "
                "version = version + 1 WHERE id = :id"
            ),
            {"id": first},
        )
        second = w.report()  # … while a later one commits
        r = c.get("/api/v1/changes?after=0&wait=0").get_json()
        cursor = int(r["cursor"])
        tx.commit()
    finally:
        late.close()
    want = _latest(w, first, second)
    assert cursor < want[first], (cursor, want)
    got: dict[int, int] = {}
    for _ in range(40):  # the feed's thread looks every half second
        r = c.get(f"/api/v1/changes?after={cursor}&wait=1").get_json()
        cursor = int(r["cursor"])
        got.update({int(i["id"]): int(i["version"]) for i in r["items"]})
        if first in got and second in got:
            break
    assert first in got and second in got, (got, want)
