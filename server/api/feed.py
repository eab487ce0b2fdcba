"""Live changes for every console of a process from one watcher (issue 13).

Before, each waiting ``GET /changes`` long poll queried the database every 0.5 s on its own
thread: 300 open consoles were 600 queries a second and 300 threads. Now one :class:`Feed` per
process looks once per ``interval`` for cases whose last event is new, keeps them (a bounded
buffer of recent changes) and wakes the waiting polls; each poll picks from the buffer the cases
its actor may see (``policy.may_see_case``, the same rule as the SQL of ``queries.changes``) and
answers with JSON encoded once per case version (and masking variant) for all consoles. A
waiting poll holds no database connection and, under the gevent worker (``gunicorn.conf.py``),
no thread: it is a parked greenlet.

Event ids are taken before commit, so transactions commit out of id order: a poll told "cursor
105" would never see event 104 committed a moment later. The feed releases a change to polls
only once every transaction that was writing when the change was first seen has ended
(PostgreSQL: the transaction ids of ``pg_stat_activity`` in this database, and a look reads no
further than the highest event id handed out before that list was taken; SQLite writes one
transaction at a time, so what is seen is settled). The cursor a poll answers is the released
horizon: every change at or below it has been looked at. A cursor older than the buffer (a
console back after a long sleep) is answered from the database as before.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from server.api.serialize import Lookups, case_json
from server.models import Incident
from server.usecases import policy
from server.usecases.context import Actor, Context
from server.usecases.scope import sees_caller_phone

log = logging.getLogger(__name__)

#: Seconds between looks at the database (a change reaches consoles within about a second).
INTERVAL = 0.5
#: Changes kept for polls (older cursors are answered from the database).
KEEP = 20_000
#: A change is released at the latest this long after it was seen, even if some transaction
#: that was writing then is still open (a long bulk import must not stall every console).
MAX_SETTLE = 10.0
#: Changes fetched per look (a burst larger than this is read over the following looks).
BATCH = 2_000


_SNAPSHOT = text(
    # last_value is the next id to hand out until the sequence is first called (is_called)
    "SELECT (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
    "FROM incident_events_id_seq), "
    "ARRAY(SELECT backend_xid::text FROM pg_stat_activity "
    "WHERE datname = current_database() AND backend_xid IS NOT NULL)"
)


@dataclass
class Entry:
    """One version of one case (its ``last_event_id``), as the feed saw it."""

    id: int  # the case's last_event_id: the position in the feed
    case: Incident
    photos: tuple[int, str | None]
    #: by what varies between actors: sees the caller's phone, and the actions offered to them
    encoded: dict[tuple[object, ...], bytes] = field(default_factory=dict)
    #: the actions offered and where they lead, by the actor's shape (``policy.action_shape``)
    actions: dict[Actor, tuple[list[str], dict[str, list[str]]]] = field(default_factory=dict)


class Feed:
    """``make_sessions`` is called once, when the feed starts (in the serving process): the
    feed reads through its own engine, so waiting polls and intake never compete with it for
    pooled connections."""

    def __init__(
        self, make_sessions: Callable[[], sessionmaker[Session]], interval: float = INTERVAL
    ) -> None:
        self.make_sessions = make_sessions
        self.sessions: sessionmaker[Session] | None = None
        self.interval = interval
        self.entries: deque[Entry] = deque()
        self.floor = -1  # every change above this and at or below `released` is in entries
        self.released = -1
        self._seen: set[tuple[int, int]] = set()  # (case id, last_event_id) in entries/pending
        # looks not yet released: (when, transactions writing then, new entries, horizon)
        self._pending: list[tuple[float, set[int], list[Entry], int]] = []
        self._cond = threading.Condition()
        self._started = False
        self._stopped = threading.Event()
        self._start_lock = threading.Lock()
        self._postgres: bool | None = None
        #: called after each look with a session of the feed's own (server/api/streams.py)
        self.listeners: list[Callable[[Session], None]] = []

    # --- the watcher ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            return
        with self._start_lock:
            if self._started:
                return
            self._started = True
            self.sessions = self.make_sessions()
            threading.Thread(target=self._run, name="wangge-feed", daemon=True).start()

    def stop(self) -> None:
        """Stop looking (an app torn down in tests: its watcher must not go on reading a
        database being emptied for the next test)."""
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.look()
            except Exception:
                log.exception("live feed: looking for changes failed")
            self._stopped.wait(self.interval)

    def look(self) -> None:
        """One look: fetch what is new, release what has settled, wake waiting polls."""
        if self.sessions is None:
            self.sessions = self.make_sessions()
        with self.sessions() as db:
            if self._postgres is None:
                self._postgres = db.get_bind().dialect.name == "postgresql"
            ceiling, running = self._snapshot(db)
            below = () if ceiling is None else (Incident.last_event_id <= ceiling,)
            if self.released < 0 and not self._pending:
                # First look: start from the newest change (older cursors: the database path).
                top = int(db.scalar(select(func.max(Incident.last_event_id)).where(*below)) or 0)
                self.floor = top
                self._pending.append((time.monotonic(), running, [], top))
            else:
                scan_from = self.released if self.released >= 0 else self.floor
                rows = list(
                    db.scalars(
                        select(Incident)
                        .where(Incident.last_event_id > scan_from, *below)
                        .order_by(Incident.last_event_id)
                        .limit(BATCH)
                    )
                )
                fresh = [r for r in rows if (r.id, r.last_event_id or 0) not in self._seen]
                look = Lookups(db)
                look.prefetch(fresh)
                db.expunge_all()
                new = [Entry(int(r.last_event_id or 0), r, look.photos(r.id)) for r in fresh]
                for e in new:
                    self._seen.add((e.case.id, e.id))
                tops = [self.released, *(p[3] for p in self._pending)]
                if rows:
                    tops.append(int(rows[-1].last_event_id or 0))
                if ceiling is not None and len(rows) < BATCH:
                    tops.append(ceiling)  # every id up to it is seen, held back or void
                top = max(tops)
                self._pending.append((time.monotonic(), running, new, top))
        self._settle(running)
        if self.listeners:
            with self.sessions() as db:
                for listener in self.listeners:
                    listener(db)

    def _snapshot(self, db: Session) -> tuple[int | None, set[int]]:
        """PostgreSQL: the highest event id handed out so far (the ceiling) and then the
        transactions writing in this database (their ids), in one statement, before the rows
        are read. The look goes no further than the ceiling: an id handed out after it belongs
        to a transaction that may have begun writing after the list of writers was taken, and
        a later id committed first would otherwise carry the horizon past it (an outside test
        lost about one change in 300 that way under load). Every id up to the ceiling is
        committed and read, held by a writer listed, or rolled back. SQLite: (None, {}); one
        writer at a time, what is read is settled."""
        if not self._postgres:
            return None, set()
        ceiling, xids = db.execute(_SNAPSHOT).one()
        return int(ceiling or 0), {int(x) for x in xids or () if x}

    def _settle(self, running: set[int]) -> None:
        """Release, in order, the looks none of whose then-writing transactions still runs."""
        now = time.monotonic()
        released: list[Entry] = []
        horizon = self.released
        while self._pending:
            seen_at, was_running, batch, top = self._pending[0]
            if was_running & running and now - seen_at <= MAX_SETTLE:
                break
            self._pending.pop(0)
            released += batch
            horizon = max(horizon, top)
        if horizon > self.released:
            # A look held back for a writer is released once that writer has ended, but its
            # rows were read by a later look, which may itself be held for other writers: its
            # entries at or below the new horizon go now, or a console already past the horizon
            # would never be sent them (an outside test lost a case's latest change this way).
            # They are final: a writer of such an id was listed by the look released.
            for i, (seen_at, was_running, batch, top) in enumerate(self._pending):
                if any(e.id <= horizon for e in batch):
                    released += [e for e in batch if e.id <= horizon]
                    later = [e for e in batch if e.id > horizon]
                    self._pending[i] = (seen_at, was_running, later, top)
        if horizon == self.released and not released:
            return
        released.sort(key=lambda e: e.id)
        with self._cond:
            self.entries.extend(released)
            while len(self.entries) > KEEP:
                old = self.entries.popleft()
                self.floor = old.id
                self._seen.discard((old.case.id, old.id))
            self.released = horizon
            self._cond.notify_all()

    # --- the polls -----------------------------------------------------------------------------

    def wait_ready(self, timeout: float) -> bool:
        self.start()
        with self._cond:
            return self._cond.wait_for(lambda: self.released >= 0, timeout)

    def clamp(self, after: int) -> int:
        """A cursor no newer than this process has released. A cursor from the future (a
        database restored from a backup, a cursor of a process that looked a moment later, a
        made-up one) would otherwise be kept, and every change up to it skipped; answering from
        the released horizon at worst sends a change twice."""
        return min(after, max(self.released, 0))

    def covers(self, after: int) -> bool:
        return self.released >= 0 and after >= self.floor

    def wait_beyond(self, after: int, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.released > after, timeout)

    def pick(self, actor: Actor, after: int, limit: int = 200) -> tuple[list[Entry], int]:
        """The newest version of each case the actor may see changed after ``after``, oldest
        first, at most ``limit``; and the cursor to answer."""
        with self._cond:
            horizon = self.released
            newer = [e for e in reversed(self.entries) if e.id > after] if after < horizon else []
        newer.reverse()
        latest: dict[int, Entry] = {}
        for e in newer:
            if policy.may_see_case(actor, e.case):
                latest[e.case.id] = e  # later versions replace earlier ones
        picked = sorted(latest.values(), key=lambda e: e.id)
        if len(picked) > limit:
            picked = picked[:limit]
            return picked, picked[-1].id
        return picked, horizon


def encoded(entry: Entry, ctx: Context, actor: Actor, look: Lookups) -> bytes:
    """The case's JSON for this actor, encoded once per case version and per variant: the
    masking of the caller's phone and the actions offered (``allowed_actions``/``allowed_next``
    are this actor's; keyed by masking alone, a handler's console was sent the actions of
    whichever dispatcher polled first)."""
    sees = sees_caller_phone(actor, entry.case)
    shape = policy.action_shape(actor)
    acts = entry.actions.get(shape)
    if acts is None:
        # Working out the actions is most of the cost of a change to a console (each rule's
        # check): once per shape of actor, not per console nor per user.
        offered = policy.allowed_actions(ctx.db, actor, entry.case)
        acts = (offered, policy.allowed_next(ctx.db, actor, entry.case, offered))
        entry.actions[shape] = acts
    offered, then = acts
    key = (sees, tuple(offered), tuple(sorted((k, tuple(v)) for k, v in then.items())))
    hit = entry.encoded.get(key)
    if hit is None:
        look.known_photos(entry.case.id, *entry.photos)
        body = case_json(ctx, actor, entry.case, look, acts)
        hit = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        entry.encoded[key] = hit
    return hit


def body(cursor: int, parts: list[bytes], retry_after: int | None = None) -> bytes:
    out = b'{"cursor":"' + str(cursor).encode() + b'","items":[' + b",".join(parts) + b"]"
    if retry_after is not None:
        out += b',"retry_after":' + str(retry_after).encode()
    return out + b"}"
