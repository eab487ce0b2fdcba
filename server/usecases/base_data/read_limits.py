"""Per-user limits counted from the read log: the one mechanism behind every "at most N of these
in a window" rule on personal data (duplicates outside one's jurisdiction,
``base_data.duplicates``; exact number searches, ``base_data.number_searches``). Each rule is
one :class:`ReadLimit` in its own module; this module only counts and refuses.

- The count is of the user's rows of ``personal_data_reads`` that the rule names, within the
  window before now (the index on ``(actor_id, at)``, migration 0019): every process agrees and
  nothing else is stored.
- It is taken under a lock on the user's row (``locks.hold_user``): two requests of one user
  run their count-then-log one after the other, so requests sent at once cannot each count the
  limit as unspent.
- Admins see every record: no limit applies to them (their rows are still logged).
- A refusal is a 429 with the rule's code, its limit, window and ``retry_after`` (seconds until
  the oldest counted row leaves the window), and a warning on ``wangge.base``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from server.domain import workflow as wf
from server.models import PersonalDataRead
from server.usecases import locks
from server.usecases.context import Actor, Context
from server.usecases.errors import TooMany

log = logging.getLogger("wangge.base")


@dataclass(frozen=True)
class ReadLimit:
    """At most ``limit`` rows matching ``counted`` per user within ``window``."""

    #: the 429's ``error`` code
    code: str
    limit: int
    window: timedelta
    #: the rows counted: conditions on ``PersonalDataRead`` (besides the user and the window)
    counted: Callable[[], tuple[Any, ...]]
    #: what is counted, for the warning ("exact number searches")
    what: str
    #: the 429's message from (limit, hours)
    message: Callable[[int, int], str]

    @property
    def hours(self) -> int:
        return max(1, int(self.window.total_seconds() // 3600))

    def _rows(self, ctx: Context, actor: Actor) -> Any:
        return (
            select(func.count(), func.min(PersonalDataRead.at))
            .select_from(PersonalDataRead)
            .where(
                PersonalDataRead.actor_id == actor.id,
                PersonalDataRead.at >= ctx.now() - self.window,
                *self.counted(),
            )
        )

    def used(self, ctx: Context, actor: Actor) -> int:
        """How many counted rows ``actor`` has within the window."""
        return int(ctx.db.execute(self._rows(ctx, actor)).one()[0] or 0)

    def refused(self, ctx: Context, actor: Actor, endpoint: str, used: int) -> TooMany:
        """The 429 (and its warning) of a user at or past the limit."""
        oldest = ctx.db.execute(self._rows(ctx, actor)).one()[1]
        wait = self.window if oldest is None else oldest + self.window - ctx.now()
        retry = max(1, math.ceil(wait.total_seconds()))
        log.warning(
            "user %s refused at %s: %s %s within %s h (limit %s)",
            actor.id, endpoint, used, self.what, self.hours, self.limit,
        )  # fmt: skip
        return TooMany(
            self.message(self.limit, self.hours),
            code=self.code,
            limit=self.limit,
            window_hours=self.hours,
            retry_after=retry,
        )

    def guard(self, ctx: Context, actor: Actor, endpoint: str) -> int:
        """Before the read it limits: refuse (429) a user at the limit, whatever they ask.
        Returns their count within the window (0 for admins, who are not limited). The lock on
        the user's row is held until the caller's transaction ends."""
        if actor.role == wf.Role.ADMIN:
            return 0
        if actor.id is not None:
            locks.hold_user(ctx.db, actor.id)
        used = self.used(ctx, actor)
        if used >= self.limit:
            raise self.refused(ctx, actor, endpoint, used)
        return used
