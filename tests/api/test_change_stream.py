"""A console's stream of changes (``GET /changes/stream``, server/api/streams.py): one request
for minutes instead of a request per change; the process checks every open stream's sign-in in
one statement per look (issue 13)."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from server.api.longpoll import PollSlots
from server.api.streams import Hub
from server.models import User
from tests.admin.conftest import client_for
from tests.workflow.world import IN_GB, World, widen


class Frames:
    """The frames of one open stream, read on a thread (a read blocks until the server
    writes)."""

    def __init__(self, client: FlaskClient, url: str) -> None:
        hub: Hub = client.application.extensions["wangge.streams"]
        before = set(hub.open())
        self.resp = client.get(url, buffered=False)
        self.status = self.resp.status_code
        self.streams = set(hub.open()) - before
        self._done = threading.Event()
        self._q: queue.Queue[tuple[str, str, str] | None] = queue.Queue()
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        try:
            for chunk in self.resp.response:
                buf += chunk
                while b"\n\n" in buf:
                    raw, buf = buf.split(b"\n\n", 1)
                    if raw.startswith(b":"):
                        self._q.put(("ping", "", ""))
                        continue
                    fields: dict[str, str] = {}
                    for line in raw.decode().split("\n"):
                        key, _, value = line.partition(": ")
                        fields[key] = value
                    if "event" in fields:
                        self._q.put((fields["event"], fields.get("id", ""), fields["data"]))
        finally:
            self._q.put(None)
            self._done.set()

    def next(self, timeout: float = 10.0) -> tuple[str, str, Any] | None:
        """The next frame other than a ping (``None``: the stream ended)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self._q.get(timeout=max(0.01, deadline - time.monotonic()))
            if got is None:
                return None
            kind, ident, data = got
            if kind != "ping":
                return kind, ident, json.loads(data)

    def items_until(self, case_id: int, timeout: float = 10.0) -> list[int]:
        """Ids of the cases sent until ``case_id`` arrives."""
        seen: list[int] = []
        deadline = time.monotonic() + timeout
        while case_id not in seen:
            frame = self.next(max(0.01, deadline - time.monotonic()))
            assert frame is not None, f"the stream ended before case {case_id}: {seen}"
            kind, ident, data = frame
            assert kind == "changes" and ident == data["cursor"], frame
            seen += [c["id"] for c in data["items"]]
        return seen

    def close(self) -> None:
        """End the stream as a client going away does: the server closes its body."""
        for s in self.streams:
            s.end()
        if self.status == 200:
            self._done.wait(10)
        self.resp.close()


@pytest.fixture
def short(any_world: World) -> Iterator[World]:
    any_world.app.config["WANGGE_STREAM_SECONDS"] = 20
    yield any_world


def _open(w: World, who: str, after: str | None = None) -> tuple[Frames, str]:
    c = client_for(w, who)
    url = "/api/v1/changes/stream" + (f"?after={after}" if after is not None else "")
    frames = Frames(c, url)
    assert frames.status == 200, frames.resp.get_data(as_text=True)
    first = frames.next()
    assert first is not None and first[0] == "changes"
    return frames, first[2]["cursor"]


def test_a_stream_sends_the_current_cursor_then_each_change_in_scope(short: World) -> None:
    w = short
    widen(w)
    county, cursor = _open(w, "disp")
    other, _ = _open(w, "dispb")
    try:
        assert cursor.isdigit()
        mine = w.report()
        theirs = w.report("wgb", IN_GB)
        assert county.items_until(mine) == [mine]  # not the other county's case
        assert other.items_until(theirs) == [theirs]
    finally:
        county.close()
        other.close()


def test_a_stream_resumes_from_a_cursor(short: World) -> None:
    """A console back with its cursor is sent what changed meanwhile (in the first frame, or
    in the next once the feed has seen it), and nothing from before the cursor."""
    w = short
    before = w.report()
    c = client_for(w, "disp")
    cursor = c.get("/api/v1/changes").get_json()["cursor"]
    deadline = time.monotonic() + 5
    while cursor == "0" and time.monotonic() < deadline:  # the feed's first look
        time.sleep(0.1)
        cursor = c.get("/api/v1/changes").get_json()["cursor"]
    case = w.report()
    frames = Frames(client_for(w, "disp"), f"/api/v1/changes/stream?after={cursor}")
    try:
        assert frames.items_until(case) == [case]
        assert before != case
    finally:
        frames.close()
    # A browser's own EventSource resumes with Last-Event-ID (the frames' ids are cursors)
    again = client_for(w, "disp")
    again.environ_base["HTTP_LAST_EVENT_ID"] = cursor
    frames = Frames(again, "/api/v1/changes/stream")
    try:
        assert frames.items_until(case) == [case]
    finally:
        frames.close()


def test_a_cursor_older_than_the_feed_is_answered_from_the_database(short: World) -> None:
    w = short
    case = w.report()
    frames = Frames(client_for(w, "disp"), "/api/v1/changes/stream?after=0")
    try:
        first = frames.next()
        assert first is not None and case in [x["id"] for x in first[2]["items"]]
    finally:
        frames.close()


def test_signing_out_ends_every_stream_of_that_sign_in(short: World) -> None:
    w = short
    c = client_for(w, "disp")
    frames = Frames(c, "/api/v1/changes/stream")
    kept, _ = _open(w, "disp")  # another sign-in of the same user stays open
    try:
        assert frames.next() is not None
        assert c.post("/api/v1/auth/logout").status_code in (200, 204)
        assert frames.next() == ("signed_out", "", {})
        assert frames.next() is None  # and the stream ends
        case = w.report()
        assert kept.items_until(case) == [case]
    finally:
        frames.close()
        kept.close()


def test_a_disabled_account_or_a_changed_password_ends_its_streams(short: World) -> None:
    w = short
    frames, _ = _open(w, "disp")
    try:
        with w.session() as db:
            db.execute(update(User).where(User.username == "disp").values(active=False))
            db.commit()
        assert frames.next() == ("signed_out", "", {})
    finally:
        frames.close()


def test_a_changed_region_is_applied_to_an_open_stream(short: World) -> None:
    """The actor is refreshed from the same statement that checks the sign-ins: a dispatcher
    moved to county B no longer receives county A's cases."""
    w = short
    widen(w)
    frames, _ = _open(w, "disp")
    try:
        with w.session() as db:
            b = db.scalar(select(User.region_id).where(User.username == "dispb"))
            db.execute(update(User).where(User.username == "disp").values(region_id=b))
            db.commit()
        time.sleep(2.5)  # a look or two of the feed
        a_case = w.report()
        b_case = w.report("wgb", IN_GB)
        assert frames.items_until(b_case) == [b_case]  # not a_case
        assert a_case < b_case
    finally:
        frames.close()


def test_streams_are_capped_per_user_and_a_closed_one_frees_its_slot(short: World) -> None:
    w = short
    slots: PollSlots = w.app.extensions["wangge.stream_slots"]
    assert (slots.per_user, slots.total) == (4, 400)  # the defaults
    opened = [_open(w, "disp")[0] for _ in range(4)]
    try:
        c = client_for(w, "disp")
        r = c.get("/api/v1/changes/stream")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "5"
        assert r.get_json()["error"] == "too_many_streams" and r.get_json()["retry_after"] == 5
        opened.append(_open(w, "sup")[0])  # another user is not refused
        opened.pop(0).close()  # one of disp's
        deadline = time.monotonic() + 5
        while slots.waiting() > 4 and time.monotonic() < deadline:  # disp's 3 and sup's
            time.sleep(0.05)
        again = Frames(c, "/api/v1/changes/stream")
        assert again.status == 200
        again.close()
    finally:
        for f in opened:
            f.close()


def test_a_stream_needs_a_sign_in(short: World) -> None:
    r = short.app.test_client().get("/api/v1/changes/stream")
    assert r.status_code == 401 and r.get_json()["error"] == "unauthorized"


def test_a_stream_ends_by_itself_and_holds_no_slot_after(short: World) -> None:
    w = short
    w.app.config["WANGGE_STREAM_SECONDS"] = 1
    frames, _ = _open(w, "disp")
    assert frames.next(5) is None
    slots: PollSlots = w.app.extensions["wangge.stream_slots"]
    assert slots.waiting() == 0


def test_one_look_checks_every_sign_in_in_one_statement(any_world: World) -> None:
    """The hub's cost per look does not grow in statements with the streams open: 30 streams
    of 3 users, one look: one statement checks all sign-ins (and the feed's own reads)."""
    w = any_world
    w.app.config["WANGGE_STREAM_SECONDS"] = 30
    hub: Hub = w.app.extensions["wangge.streams"]
    streams = [_open(w, who)[0] for who in ("disp", "sup", "admin") for _ in range(4)]
    try:
        deadline = time.monotonic() + 5
        while len(hub.open()) < len(streams) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(hub.open()) == len(streams)
        w.report()
        statements: list[str] = []
        engine = w.app.extensions["wangge.engine"]
        with w.session() as db:

            def count(*args: Any) -> None:
                statements.append(str(args[2]))

            event.listen(engine, "before_cursor_execute", count)
            try:
                hub.tick(db)
            finally:
                event.remove(engine, "before_cursor_execute", count)
        sign_in_checks = [s for s in statements if "sign_ins" in s]
        assert len(sign_in_checks) == 1, statements
    finally:
        for f in streams:
            f.close()


def test_a_reader_that_does_not_keep_up_is_cut_off_and_a_body_never_sent_is_closed(
    world: World,
) -> None:
    """Memory and slots stay bounded: a stream whose client has not read 100 frames, or whose
    write has not returned for STALLED_SECONDS (a client that stopped reading), is cut off (the
    console reconnects with its cursor), and a response body the server never began to send
    (an error after the view answered) releases its slot after a while."""
    from server.api import streams

    hub: Hub = world.app.extensions["wangge.streams"]
    released: list[str] = []
    with world.session() as db:
        disp = world.actor(db, "disp")

        def opened(name: str) -> tuple[streams.Stream, streams.Body]:
            s = streams.Stream(disp.id or 0, name, 0, disp, 0)
            return s, streams.Body(hub, s, b"", 60, lambda: released.append(name))

        slow, body = opened("slow")
        slow.started = True
        for _ in range(streams.MAX_QUEUED + 1):
            slow.send(b"frame")
        stuck, _ = opened("stuck")
        stuck.started = True
        stuck.touched -= streams.STALLED_SECONDS + 1
        lost, _ = opened("lost")
        lost.opened_at -= streams.NEVER_STARTED_SECONDS + 1
        fine, _ = opened("fine")
        fine.started = True
        assert set(hub.open()) == {slow, stuck, lost, fine}
        hub.tick(db)
        assert hub.open() == [fine]
        assert sorted(released) == ["lost", "slow", "stuck"]
        frames = list(body)  # what was queued is still there to send; then the end
        assert frames[1:] == [b"frame"] * (streams.MAX_QUEUED + 1)


def test_a_signed_out_stream_stuck_writing_is_still_cut_off(world: World) -> None:
    """Signed out while its write waits on a client that does not read: the stream stays
    watched until its body ends, so the stall check still frees its slot."""
    from server.api import streams

    hub: Hub = world.app.extensions["wangge.streams"]
    released: list[str] = []
    with world.session() as db:
        disp = world.actor(db, "disp")
        s = streams.Stream(disp.id or 0, "no-such-sign-in", 0, disp, 0)
        streams.Body(hub, s, b"", 60, lambda: released.append("x"))
        s.started = True
        hub.tick(db)  # the sign-in is unknown: signed_out queued
        assert s.closed and hub.open() == [s] and released == []
        s.touched -= streams.STALLED_SECONDS + 1
        hub.tick(db)
        assert hub.open() == [] and released == ["x"]
