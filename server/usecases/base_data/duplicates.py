"""An identity number already registered: one rule for registering a resident (the API) and
for importing residents (``server.usecases.base_io.imports``).

A number is registered once, anywhere (one person, one record), so "already registered" has to
be answered even when the record is in another county; that answer tells that the number exists.
To keep it from becoming a way to find out other counties' residents' numbers:

- it is given only after the place the person is registered in has been checked against the
  caller's jurisdiction (so a guess needs a place the caller may edit);
- it has the same words wherever the record is (:data:`MESSAGE`); inside the caller's
  jurisdiction the API adds the record's id, outside it nothing (no id, place or name);
- every hit is a row of the read log (purpose ``search``, the matched resident, the endpoint);
  a hit outside the caller's jurisdiction carries :data:`OUTSIDE_REASON` and a warning on
  ``wangge.base``, so the other county's supervisor sees who probed their resident;
- hits outside the caller's jurisdiction are bounded per user: :data:`PROBE_LIMIT` in
  :data:`PROBE_WINDOW` (counted from the read log, so every process agrees: the mechanism is
  ``base_data.read_limits``, shared with the exact-search limit). At the limit, every
  further registration with a number and every resident import by that user is a 429
  ``too_many_duplicates`` — whether or not the number is taken, else the 429 itself would tell.
  An import whose hits would pass the limit is refused whole (its hits are still logged).

Admins see everything, so their duplicates are never outside.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from server.models import PersonalDataRead, Resident
from server.usecases import personal_data as pd
from server.usecases import policy
from server.usecases.base_data.read_limits import ReadLimit
from server.usecases.context import Actor, Context

log = logging.getLogger("wangge.base")

MESSAGE_ZH = "该公民身份号码已登记"
MESSAGE = f"{MESSAGE_ZH} / a resident with this identity number is already registered"
#: The read log's ``reason`` of a hit outside the caller's jurisdiction (what the limit counts).
OUTSIDE_REASON = "号码已在管辖范围外登记 / duplicate outside jurisdiction"
PROBE_LIMIT = 10
PROBE_WINDOW = timedelta(hours=24)
CHUNK = 500


@dataclass(frozen=True)
class Holder:
    """The resident holding a number, as the rule needs it (where they are registered)."""

    id: int
    id_hash: str
    grid_code: str | None
    community_id: int | None
    town_id: int | None
    county_id: int | None


def holders(ctx: Context, hashes: Iterable[str]) -> dict[str, Holder]:
    """The residents holding these keyed hashes, by hash."""
    wanted = sorted({h for h in hashes if h})
    out: dict[str, Holder] = {}
    for start in range(0, len(wanted), CHUNK):
        for row in ctx.db.execute(
            select(
                Resident.id,
                Resident.id_hash,
                Resident.grid_code,
                Resident.community_id,
                Resident.town_id,
                Resident.county_id,
            ).where(Resident.id_hash.in_(wanted[start : start + CHUNK]))
        ):
            out[row.id_hash] = Holder(
                row.id, row.id_hash, row.grid_code, row.community_id, row.town_id, row.county_id
            )
    return out


def _message(limit: int, hours: int) -> str:
    return (
        f"{hours} 小时内登记了过多管辖范围外已登记的公民身份号码（最多 {limit} 个），"
        f"暂停登记和导入公民身份号码，请联系上级核实 / too many identity numbers registered "
        f"outside your jurisdiction within {hours} h (at most {limit}): registering and "
        "importing identity numbers is paused; ask your supervisor"
    )


#: The rule (the mechanism: ``read_limits``): the user's hits outside their jurisdiction.
PROBES = ReadLimit(
    code="too_many_duplicates",
    limit=PROBE_LIMIT,
    window=PROBE_WINDOW,
    counted=lambda: (
        PersonalDataRead.purpose == pd.Purpose.SEARCH.value,
        PersonalDataRead.reason == OUTSIDE_REASON,
    ),
    what="duplicate identity numbers outside their jurisdiction",
    message=_message,
)


def outside_hits(ctx: Context, actor: Actor) -> int:
    """How many duplicates outside their jurisdiction ``actor`` met within the window."""
    return PROBES.used(ctx, actor)


def guard(ctx: Context, actor: Actor, endpoint: str) -> int:
    """Before looking a number up: refuse (429) a user at the limit, whatever the number.
    Returns their count of outside hits within the window. Two requests of one user at once
    each counted the other's hits as not yet made (four imports at once passed the limit nearly
    four times): the count is taken under a lock on the user's row (``read_limits``)."""
    return PROBES.guard(ctx, actor, endpoint)


def found(
    ctx: Context, actor: Actor, held: Sequence[Holder], endpoint: str, before: int
) -> list[Holder]:
    """Log the hits ``held`` (in the caller's transaction; see the module) and return those
    outside the caller's jurisdiction. ``before`` is :func:`guard`'s count: when the outside
    hits would pass the limit, the log is committed and the whole request refused (429)."""
    inside = [h for h in held if policy.may_see_base(actor, h)]
    outside = [h for h in held if not policy.may_see_base(actor, h)]
    pd.log_reads(ctx, actor, _as_read(inside), pd.Purpose.SEARCH, endpoint, fields="id_number")
    pd.log_reads(
        ctx, actor, _as_read(outside), pd.Purpose.SEARCH, endpoint,
        reason=OUTSIDE_REASON, fields="id_number",
    )  # fmt: skip
    for h in outside:
        log.warning(
            "user %s gave the identity number of resident %s outside their jurisdiction (%s)",
            actor.id, h.id, endpoint,
        )  # fmt: skip
    if outside and before + len(outside) > PROBE_LIMIT:
        ctx.db.commit()
        raise PROBES.refused(ctx, actor, endpoint, before + len(outside))
    return outside


def _as_read(held: Sequence[Holder]) -> Any:
    """Holders as the read log takes residents (it reads id and the location columns)."""
    return held
