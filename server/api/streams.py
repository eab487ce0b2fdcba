"""One stream of live changes per console, fed by the process's change feed (issue 13).

The long poll (``GET /changes``) made each change cost every open console a whole request: a
wake-up, a sign-in check, an answer and a new request with another sign-in check. With 300
consoles that was hundreds of requests a second and report intake starved. A stream
(``GET /changes/stream``, Server-Sent Events) is one request per console for minutes; the
process's :class:`Hub` does, once per look of the feed (server/api/feed.py, every half second):

- one statement that checks the sign-in of every open stream (ended, expired, disabled, password
  changed: the stream is told ``signed_out`` and closed; a changed role or region is picked up
  through the per-process actor cache, whose numbers the same statement reads);
- per actor (not per stream), the changes the actor may see and their JSON, written to each of
  that actor's streams.

A stream then costs a socket write per change it is sent, and a comment line every
``PING_SECONDS`` so that proxies and the client's watchdog know it is alive. It ends by itself
after ``WANGGE_STREAM_SECONDS`` (the console reconnects with its cursor at once), so a stream
never outlives a deploy or a changed cap for long. No Flask here: the blueprint's view is in
server/api/cases.py.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from server import cache
from server.api.feed import Feed, encoded
from server.api.feed import body as feed_body
from server.api.serialize import Lookups
from server.models import SignIn, User
from server.models.types import utcnow
from server.usecases.context import Actor, Context, actor_of

log = logging.getLogger(__name__)

#: Seconds between keep-alive comments on a quiet stream (the console gives up after 45).
PING_SECONDS = 15.0
#: Frames of at most this many cases (a burst is sent as several frames).
FRAME_CASES = 200
#: Frames per stream per look at most: a console far behind catches up over a few looks.
FRAMES_PER_LOOK = 20
#: A stream whose client reads this many frames slower than they come is ended (the console
#: reconnects with its cursor): a reader that stalls must not grow the process's memory.
MAX_QUEUED = 100
#: A response body no server ever started to send (an error after the view answered) is
#: closed after this long, so that it does not hold its slot for ever.
NEVER_STARTED_SECONDS = 30.0
#: A stream that has not come back from a write for this long (a client that stopped reading:
#: the write waits for room in the socket) is cut off, releasing its slot.
STALLED_SECONDS = 2 * 15.0 + 5

_TOPICS = list(cache.TOPICS)


def frame(event: str, data: bytes, event_id: str | None = None) -> bytes:
    """One Server-Sent Events frame (``data`` is one line of JSON)."""
    head = f"event: {event}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return head.encode() + b"data: " + data + b"\n\n"


def changes_frame(cursor: int, parts: list[bytes]) -> bytes:
    return frame("changes", feed_body(cursor, parts), str(cursor))


SIGNED_OUT = frame("signed_out", b"{}")
PING = b": ping\n\n"
#: Asks a stream to write twice, a moment apart: to a client gone away the second write fails
#: (the first one's reset has come back), and the stream ends and frees its slot.
PROBE = b": probe\n\n"


@dataclass(eq=False)
class Stream:
    """One open console stream: whose sign-in it is, where it stands, and its outbox."""

    user_id: int
    key_hash: str  # the sign-in's key hash (server/security.py)
    epoch: int  # the user's session epoch when the stream opened
    actor: Actor
    cursor: int
    out: queue.Queue[bytes | None] = field(default_factory=queue.Queue)
    closed: bool = False
    opened_at: float = field(default_factory=time.monotonic)
    started: bool = False  # the server has begun sending the body
    touched: float = field(default_factory=time.monotonic)  # the last time a write returned
    #: cuts the stream off: closes the response body (releases the stream's slot) and its
    #: socket, ending a write that waits on a client that does not read; set by :class:`Body`
    abandon: Callable[[], None] = lambda: None

    def send(self, data: bytes) -> None:
        if not self.closed:
            self.out.put(data)

    def end(self, last: bytes | None = None) -> None:
        """Send ``last`` (if any) and end the stream; nothing is sent after."""
        if not self.closed:
            self.closed = True
            if last is not None:
                self.out.put(last)
            self.out.put(None)


def _signed_in_query() -> Any:
    return (
        select(SignIn.key_hash, User, *cache.epoch_columns(_TOPICS))
        .join(User, User.id == SignIn.user_id)
        .where(
            SignIn.key_hash.in_(bindparam("keys", expanding=True)),
            SignIn.ended_at.is_(None),
            SignIn.expires_at > bindparam("now"),
        )
    )


class Hub:
    """The process's open streams, fed after each look of ``feed``.

    ``make_context`` builds the use-case context (calendar, clock, data key) around the feed's
    session for encoding cases, as a request's ``context()`` does."""

    def __init__(self, feed: Feed, make_context: Callable[[Session], Context]) -> None:
        self.feed = feed
        self.make_context = make_context
        self._streams: set[Stream] = set()
        self._lock = threading.Lock()
        feed.listeners.append(self.tick)

    def open(self) -> list[Stream]:
        with self._lock:
            return list(self._streams)

    def join(self, stream: Stream) -> None:
        with self._lock:
            self._streams.add(stream)
        self.feed.start()

    def probe(self, user_id: int) -> None:
        """Have each of the user's streams write at once: those whose client has gone (a
        closed tab, a reloaded page) find out now rather than at their next ping, 15 s on."""
        for s in self.open():
            if s.user_id == user_id:
                s.send(PROBE)

    def leave(self, stream: Stream) -> None:
        with self._lock:
            self._streams.discard(stream)

    # --- once per look, in the feed's thread ---------------------------------------------------

    def tick(self, db: Session, now: datetime | None = None) -> None:
        streams = self.open()
        if not streams:
            return
        streams = self._drop_stalled(streams)
        if not streams:
            return
        live = self.check_sign_ins(db, streams, now or utcnow())
        ctx = self.make_context(db)
        by_actor: dict[tuple[int, int], list[Stream]] = {}
        for s in live:
            by_actor.setdefault((s.user_id, s.cursor), []).append(s)
        horizon = self.feed.released
        look = Lookups(db)
        for (_, cursor), group in by_actor.items():
            if cursor >= horizon:
                continue
            # Let waiting requests run between actors: under the gevent worker this loop holds
            # the process while it encodes, and a report waiting behind it would wait it all.
            time.sleep(0)
            who = group[0].actor
            for _ in range(FRAMES_PER_LOOK):
                picked, cursor = self.feed.pick(who, cursor, FRAME_CASES)
                if picked:
                    data = changes_frame(cursor, [encoded(e, ctx, who, look) for e in picked])
                    for s in group:
                        s.send(data)
                for s in group:
                    s.cursor = cursor
                if not picked or cursor >= horizon:
                    break
        db.rollback()  # end the read transaction: nothing is held between looks

    def _drop_stalled(self, streams: list[Stream]) -> list[Stream]:
        """Cut off streams whose client does not keep up (frames piling up, or a write that has
        not returned for ``STALLED_SECONDS``) and bodies never started: their slots are
        released, and a console that is still there reconnects with its cursor."""
        kept = []
        now = time.monotonic()
        for s in streams:
            if (
                s.out.qsize() > MAX_QUEUED
                or (s.started and now - s.touched > STALLED_SECONDS)
                or (not s.started and now - s.opened_at > NEVER_STARTED_SECONDS)
            ):
                s.abandon()
            else:
                kept.append(s)
        return kept

    def check_sign_ins(self, db: Session, streams: list[Stream], now: datetime) -> list[Stream]:
        """One statement for every open stream: close those whose sign-in has ended (sign-out
        here or everywhere, expiry, a disabled account, a changed password) and refresh the
        actor of the rest (a changed role, region or grid assignment)."""
        rows = db.execute(
            _signed_in_query(), {"keys": sorted({s.key_hash for s in streams}), "now": now}
        ).all()
        if rows:
            first = rows[0]
            cache.remember(
                db, {t: int(n) for t, n in zip(_TOPICS, first[2:], strict=True) if n is not None}
            )
        users = {r[0]: r[1] for r in rows}
        kept: list[Stream] = []
        actors: dict[int, Actor] = {}
        for s in streams:
            if s.closed:  # ended, waiting for its body to finish
                continue
            user = users.get(s.key_hash)
            if (
                user is None
                or user.id != s.user_id
                or not user.active
                or (user.session_epoch != s.epoch)
            ):
                # It stays in the hub until its body ends, so that a stream stuck writing to a
                # client that does not read is still cut off (_drop_stalled).
                s.end(SIGNED_OUT)
                continue
            if user.id not in actors:
                actors[user.id] = actor_of(db, user)
            s.actor = actors[user.id]
            kept.append(s)
        return kept


class Body:
    """The body of one stream's response: the first frame at once, then what the hub sends,
    a ping on a quiet ``PING_SECONDS``, and the end after ``seconds``.

    The stream joins the hub when the body is made (changes from then on queue up for it) and
    leaves it, releasing its slot (``on_end``), once: when the frames end, or when the server
    closes the body (a client gone away, a body never iterated) — a generator alone would not
    run its ``finally`` if it was closed before it started."""

    def __init__(
        self,
        hub: Hub,
        stream: Stream,
        first: bytes,
        seconds: float,
        on_end: Callable[[], None],
        sock: Any = None,
    ) -> None:
        self.hub, self.stream, self.first, self.on_end = hub, stream, first, on_end
        self.sock = sock  # the client's socket where the server says (gunicorn.socket)
        self.deadline = time.monotonic() + seconds
        self._ended = False
        self._end_lock = threading.Lock()
        stream.abandon = self.cut_off
        hub.join(stream)

    def __iter__(self) -> Iterator[bytes]:
        self.stream.started = True
        self.stream.touched = time.monotonic()
        try:
            yield b"retry: 3000\n\n" + self.first
            while True:
                left = self.deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    data = self.stream.out.get(timeout=min(PING_SECONDS, left))
                except queue.Empty:
                    if time.monotonic() < self.deadline:
                        yield PING
                        self.stream.touched = time.monotonic()
                    continue
                if data is None:
                    break
                if data is PROBE:
                    yield PING
                    time.sleep(0.1)
                    yield PING
                else:
                    yield data
                self.stream.touched = time.monotonic()
        finally:
            self.close()

    def cut_off(self) -> None:
        """End the stream now, even while a write to a client that does not read waits."""
        self.close()
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._end_lock:
            if self._ended:
                return
            self._ended = True
        self.stream.end()  # a frame loop still waiting ends
        self.hub.leave(self.stream)
        self.on_end()
