"""Finding a resident by a full number (``GET /base/residents?id_number=`` or ``?phone=``): one
rule for every search that matches a whole identity number or phone.

An exact search answers masks, but whether it finds someone tells whether the number is theirs:
with the mask (``170****5094``: 10,000 candidates; an identity number's mask with the birth year
and sex: a few thousand) a user could try every candidate and learn the clear value without the
reason and the log row a reveal asks for. An outside audit did that in 60 s. So:

- every number search is logged, hit or miss: one row for the search itself (purpose
  ``search``, no resident, ``fields`` the numbers searched by — ``phone``, ``id_number`` or
  both —, ``count`` how many residents it found, 0 for none; located at the searcher's
  jurisdiction, ``common.jurisdiction``, so their supervisor reads it), and one row per resident
  found (purpose ``search``, the same ``fields``);
- an edit that gives a resident a new identity number (``PATCH /base/residents/{id}``) looks
  the number up too (taken: a 409 naming the holder inside one's jurisdiction), so it is a
  number search by this rule: logged (endpoint ``base.update_resident``, ``count`` 1 when taken)
  and counted. A registration (``POST``) is not: a number not taken there is a person added to
  the register for everyone to see, not a silent miss, and a day's registrations sent at once
  from a phone's outbox would meet the limit. Nor is an import (a file of hundreds of residents
  is real work). Their hits are logged with ``fields`` ``id_number`` and bounded outside one's
  jurisdiction by the duplicate rule (``base_data.duplicates``); the misses of a check-only
  import (``store=none``) are not logged — a residual (docs/security.md, "Searches by number");
- number searches are bounded per user: :data:`SEARCH_LIMIT` in :data:`SEARCH_WINDOW`, counted
  from the read log's search rows (the mechanism is ``read_limits``, shared with the duplicate
  rule). At the limit every further number search by that user is a 429
  ``too_many_number_searches`` — found or not, else the 429 itself would tell — with a warning
  on ``wangge.base``; searches by name, grid or household are not counted.

Why 60 an hour: a grid worker looks a person up by number when a caller or a visit gives one —
a few a day, a busy desk perhaps one a minute for a while; 60 in an hour is more than that and
far below the thousands a guess needs (one phone's 10,000 candidates take 7 days at 60 an hour,
each search a row their supervisor reads). Admins see every record: they are not limited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from server.models import PersonalDataRead, Resident
from server.usecases import personal_data as pd
from server.usecases.base_data import common as c
from server.usecases.base_data.read_limits import ReadLimit
from server.usecases.context import Actor, Context

SEARCH_LIMIT = 60
SEARCH_WINDOW = timedelta(hours=1)
#: The numbers a resident is found by, in the order ``fields`` names them.
NUMBERS = ("id_number", "phone")
#: Every ``fields`` value a search row can carry.
FIELD_VALUES = ("id_number", "phone", "id_number,phone")


def _message(limit: int, hours: int) -> str:
    return (
        f"{hours} 小时内按号码查找人员过多（最多 {limit} 次），请稍后再试；如需核实，请联系上级 / "
        f"too many searches by identity number or phone within {hours} h (at most {limit}): "
        "try again later, or ask your supervisor"
    )


SEARCHES = ReadLimit(
    code="too_many_number_searches",
    limit=SEARCH_LIMIT,
    window=SEARCH_WINDOW,
    counted=lambda: (
        PersonalDataRead.purpose == pd.Purpose.SEARCH.value,
        PersonalDataRead.resident_id.is_(None),
        PersonalDataRead.organisation_id.is_(None),
        PersonalDataRead.fields.in_(FIELD_VALUES),
    ),
    what="searches by identity number or phone",
    message=_message,
)


def guard(ctx: Context, actor: Actor, endpoint: str) -> int:
    """Before the search: refuse (429) a user at the limit, whatever the number. Returns their
    count of number searches within the window."""
    return SEARCHES.guard(ctx, actor, endpoint)


def searched(ctx: Context, actor: Actor, by: Sequence[str], found: int, endpoint: str) -> None:
    """Log the row of one search by the numbers ``by`` that found ``found`` residents (in the
    caller's transaction), without the residents' own rows (the caller logs those)."""
    fields = ",".join(n for n in NUMBERS if n in by)
    pd.log_search(ctx, actor, c.jurisdiction(ctx, actor), endpoint, fields=fields, found=found)


def logged(
    ctx: Context, actor: Actor, by: Sequence[str], found: Sequence[Resident], endpoint: str
) -> None:
    """Log one search by the numbers ``by`` that found ``found``: its row and one per resident
    found (in the caller's transaction: the answer and its log are committed together)."""
    searched(ctx, actor, by, len(found), endpoint)
    fields = ",".join(n for n in NUMBERS if n in by)
    pd.log_reads(ctx, actor, found, pd.Purpose.SEARCH, endpoint, fields=fields)
