"""How many ``GET /changes`` long polls may wait at once in this process.

Under the former gthread worker a waiting poll held one of gunicorn's threads for up to
``WANGGE_LONG_POLL_SECONDS``; without a bound one account opening 16 polls took every thread and
the server stopped answering (``/healthz`` took 23 s). Under the gevent worker a waiting poll is
a greenlet fed by the process's change feed (server/api/feed.py); the caps now bound sockets and
memory (500 per process by default, below the worker's 1000 connections). ``PollSlots`` grants
a wait only while the user holds fewer than ``per_user`` waits and the process fewer than
``total``. A poll refused a slot answers at once, without waiting: the client polls again (its
cursor is unchanged, nothing is lost).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class PollSlots:
    def __init__(self, per_user: int, total: int) -> None:
        self.per_user = per_user
        self.total = total
        self._lock = threading.Lock()
        self._held: Counter[int] = Counter()

    def acquire(self, user_id: int) -> bool:
        """Take a slot for ``user_id``; False (and nothing taken) when a cap is reached."""
        with self._lock:
            if self._held[user_id] >= self.per_user or self._held.total() >= self.total:
                return False
            self._held[user_id] += 1
            return True

    def release(self, user_id: int) -> None:
        with self._lock:
            self._held[user_id] -= 1
            if self._held[user_id] <= 0:
                del self._held[user_id]

    def waiting(self, user_id: int | None = None) -> int:
        with self._lock:
            return self._held.total() if user_id is None else self._held[user_id]

    @contextmanager
    def slot(self, user_id: int) -> Iterator[bool]:
        """``with slots.slot(uid) as may_wait:`` — released on leaving, if it was granted."""
        granted = self.acquire(user_id)
        try:
            yield granted
        finally:
            if granted:
                self.release(user_id)
