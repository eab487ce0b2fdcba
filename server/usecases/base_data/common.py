"""What every base-data use case shares: locating, jurisdiction checks, versions, replays.

- **Location.** A row hangs on a place; a place is located from its coordinates (or its
  footprint's representative point) by the grid locator, or by a named grid, or inherits its
  parent's grid. The location (grid, community, town, county) is copied onto the row.
- **Versions.** An edit names ``base_version``; if the row moved on meanwhile the edit is a
  conflict (409 ``version_conflict``) that carries the row as it stands, never a silent
  overwrite. A successful edit bumps ``version`` by one. The edit reads its row held
  (``locks.hold_row``) before anything is compared, so two edits of one version sent at once
  are one edit and one conflict, not two answers of the same next version, one of them lost.
- **Replays.** A create names a client ``uuid``; the same uuid with the same content from the
  same user answers the first result again; anything else with that uuid is a conflict. The
  uuid is looked for before the create and again when it fails (:func:`create_once`), so copies
  sent at once are answered as copies sent one after the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server import cache
from server.domain import workflow as wf
from server.domain.errors import DomainError
from server.domain.fields import is_stated_reason
from server.domain.names import name_problem
from server.models import Grid, GridPlan, Household, Organisation, Place, Resident, Visit
from server.usecases import grid_locator, policy
from server.usecases.context import Actor, Context
from server.usecases.errors import (
    Conflict,
    Forbidden,
    NotFound,
    UseCaseError,
    ValidationFailed,
    from_domain,
)
from server.usecases.idempotency import client_uuid as client_uuid
from server.usecases.idempotency import content_hash as content_hash

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Location:
    grid_code: str | None = None
    community_id: int | None = None
    town_id: int | None = None
    county_id: int | None = None

    @classmethod
    def of(cls, row: Any) -> Location:
        return cls(row.grid_code, row.community_id, row.town_id, row.county_id)

    def copy_to(self, row: Any) -> None:
        row.grid_code = self.grid_code
        row.community_id = self.community_id
        row.town_id = self.town_id
        row.county_id = self.county_id


@dataclass
class Saved(Generic[T]):
    row: T
    replay: bool = False


def located_at(ctx: Context, lon: float | None, lat: float | None) -> Location | None:
    """The grid and regions of a point (None: no point, or outside every grid)."""
    if lon is None or lat is None:
        return None
    place = grid_locator.locate(ctx.db, lon, lat, ctx.locate_tolerance_m)
    if place.grid_code is None:
        return None
    return Location(place.grid_code, place.community_id, place.town_id, place.county_id)


def grid_location(ctx: Context, code: str) -> Location:
    """The location of a grid of the active plan by its code (400 naming ``grid_code``)."""
    row = ctx.db.execute(
        select(Grid.code, Grid.community_id)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .where(GridPlan.status == "active", Grid.code == code)
    ).first()
    if row is None:
        raise ValidationFailed(
            "未知网格 / unknown grid", code="unknown_grid", fields={"grid_code": "unknown"}
        )
    regions = cache.reference(ctx.db).regions
    community = regions.get(row.community_id)
    town = regions.get(community.parent_id) if community and community.parent_id else None
    county = regions.get(town.parent_id) if town and town.parent_id else None
    return Location(
        row.code, row.community_id, town.id if town else None, county.id if county else None
    )


def jurisdiction(ctx: Context, actor: Actor) -> Location:
    """Where a user's jurisdiction lies, as a row of the read log that reads no record is
    located (a number search that found nobody): a dispatcher's or supervisor's region and the
    regions above it; a grid worker's grid (with one) or what their grids share; anything else
    (an admin) nowhere, so only admins read it (``policy.base_clause``)."""
    regions = cache.reference(ctx.db).regions
    if actor.role in policy.REGIONAL:
        at: dict[str, int] = {}
        region = regions.get(actor.region_id) if actor.region_id is not None else None
        while region is not None:
            at[region.level] = region.id
            region = regions.get(region.parent_id) if region.parent_id else None
        return Location(None, at.get("community"), at.get("town"), at.get("county"))
    if actor.role == wf.Role.GRID_WORKER and actor.grid_codes:
        spots = []
        for code in sorted(actor.grid_codes):
            try:
                spots.append(grid_location(ctx, code))
            except ValidationFailed:  # a grid no longer in the active plan
                continue
        if spots:
            return Location(
                *(
                    values[0] if len(set(values)) == 1 else None
                    for values in zip(
                        *((s.grid_code, s.community_id, s.town_id, s.county_id) for s in spots),
                        strict=True,
                    )
                )
            )
    return Location()


def place_of(
    ctx: Context,
    lon: float | None,
    lat: float | None,
    grid_code: str | None,
    parent: Location | None,
    parent_field: str,
) -> tuple[Location, str]:
    """Where a new or moved row is, and the field that placed it: its grid if named, else its
    point, else its parent's (``parent_field``). A named grid and a point together must agree
    on the town: the grid of a 门牌 roster may differ from the plan's polygon near a border, but
    a point in another town (or outside every grid) beside one's own grid is a row that shows
    on the map where it is not kept (and outside the jurisdiction that may edit it there)."""
    if grid_code:
        where = grid_location(ctx, grid_code)
        if lon is not None and lat is not None:
            found = located_at(ctx, lon, lat)
            if found is None or found.town_id != where.town_id:
                raise ValidationFailed(
                    "坐标不在该网格所属乡镇（街道）内 / the point is not in the grid's town",
                    code="point_elsewhere",
                    fields={
                        "lon": f"not in the town of grid {grid_code}",
                        "grid_code": "or this grid",
                    },
                )
        return where, "grid_code"
    if lon is not None and lat is not None:
        found = located_at(ctx, lon, lat)
        if found is None:
            raise ValidationFailed(
                "位置不在任何网格内 / the point is outside every grid",
                code="outside_grids",
                fields={"lon": "outside every grid", "lat": "outside every grid"},
            )
        return found, "lon"
    if parent is not None:
        return parent, parent_field
    what = "上级地点 / a parent place" if parent_field == "parent_id" else "地点 / a place"
    zh, en = what.split(" / ")
    raise ValidationFailed(
        f"需要位置：坐标、网格或{zh} / give a point, a grid or {en}",
        fields={"lon": f"or grid_code or {parent_field}"},
    )


def check_editable(actor: Actor, where: Location, field: str) -> None:
    """A row may be put at ``where`` only inside the actor's jurisdiction (400 naming the
    field that placed it there: the place, the coordinates, the grid)."""
    if not policy.may_edit_base(actor, where):
        raise ValidationFailed(
            "不在你的辖区（网格）内 / outside your jurisdiction (grids)",
            code="outside_jurisdiction",
            fields={field: "outside your jurisdiction"},
        )


def visible(actor: Actor, row: T | None, what: str) -> T:
    """The row if the actor may see it, else 404 (a foreign row is not revealed)."""
    if row is None or not policy.may_see_base(actor, row):
        raise NotFound(f"未找到 / no such {what}")
    return row


def page(ctx: Context, stmt: Any, order: Any, limit: int) -> tuple[list[Any], int | None]:
    """One page of ``stmt``'s rows in ``order`` (an id column, ascending or descending) and
    the id to continue after, None on the last page (keyset paging)."""
    rows = list(ctx.db.scalars(stmt.order_by(order).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def referenced(
    ctx: Context, actor: Actor, model: type[T], ident: Any, field: str, message: str, code: str
) -> T:
    """The row a request body names by id in ``field``, if the actor may see it; else 400
    ``code`` (``message``: "unknown …"), the same for a row elsewhere as for none at all."""
    row = ctx.db.get(model, ident) if ident is not None else None
    if row is None or not policy.may_see_base(actor, row):
        raise ValidationFailed(message, code=code, fields={field: "unknown"})
    return row


def editable(actor: Actor, row: T | None, what: str) -> T:
    """The row if the actor may change it: 404 if they may not see it, 403 if they only may."""
    found = visible(actor, row, what)
    if not policy.may_edit_base(actor, found):
        raise Forbidden("只读 / you may read but not change this")
    return found


def check_version(row: Any, base_version: int | None, *, already: bool = False) -> bool:
    """Should the edit be applied? 409 ``version_conflict`` carrying the row as it stands if the
    edit was made on another version (``base_version`` is required for every edit). The row is
    one read with ``locks.hold_row``, held since: the version compared here is the one the
    edit's commit replaces (read without the lock, two edits at once both matched it); a life
    event instead claims its resident by a conditional update of this version. Unless
    ``already``: every field it sets already holds the value it sets (the phone's outbox sent
    it again after the answer was lost, or two people made the same change): then False,
    nothing to do, and the answer is the row as it is."""
    if base_version is None:
        raise ValidationFailed(
            "需要 base_version / base_version is required",
            fields={"base_version": "required"},
        )
    if row.version == base_version:
        return True
    if already:
        return False
    raise Conflict(
        "该记录已被他人修改，请核对后再提交 / the record was changed meanwhile: "
        "review it and try again",
        code="version_conflict",
        record=row,
    )


def holds(
    row: Any, body: dict[str, Any], plain: tuple[str, ...], *, other: tuple[str, ...] = ()
) -> bool:
    """Does ``row`` already hold every value ``body`` sets? ``plain`` fields compare as stored
    (text stripped); any field of ``other`` sent counts as a change."""
    if any(k in body for k in other):
        return False
    for key in plain:
        if key not in body:
            continue
        value = body[key]
        if isinstance(value, str):
            value = value.strip()
        if getattr(row, key) != value:
            return False
    return True


def bump(ctx: Context, row: Any) -> None:
    row.version = (row.version or 0) + 1
    if hasattr(row, "updated_at"):
        row.updated_at = ctx.now()


def replay(actor: Actor, existing: Any, digest: str, owner_id: int | None) -> Saved[Any]:
    """The answer to a create whose uuid is taken: the first result for its author with the
    same content, else a conflict that says nothing about the row."""
    if owner_id != actor.id:
        raise Conflict(
            "该 UUID 已被使用，请重新生成 / this UUID is already taken: generate a new one",
            code="idempotency_conflict",
        )
    if getattr(existing, "content_hash", digest) != digest:
        raise Conflict(
            "该 UUID 已用于不同内容 / this UUID was used for different content",
            code="idempotency_conflict",
        )
    return Saved(existing, replay=True)


#: base data located in a grid (not a worker's own check-in or comment, answered to its author)
_BASE_ROWS = (Resident, Organisation, Place, Household, Visit)


def earlier(
    ctx: Context, actor: Actor, model: Any, key: str, digest: str, owner: str = "created_by_id"
) -> Any | None:
    """The row an earlier create under client uuid ``key`` made, checked as a :func:`replay`
    (its author, in attribute ``owner``, and its content must match, else a conflict); None
    when the uuid is new."""
    existing = ctx.db.scalar(select(model).where(model.uuid == key))
    if existing is not None:
        replay(actor, existing, digest, getattr(existing, owner))
        if isinstance(existing, _BASE_ROWS):
            # The answer is the row as it stands: a row moved out of the author's jurisdiction
            # since (a resident moved to another county, a place to another town) is not shown
            # to them again, as a GET would not (404).
            visible(actor, existing, model.__tablename__)
    return existing


def create_once(
    ctx: Context,
    actor: Actor,
    model: Any,
    key: str,
    digest: str,
    store: Callable[[], R],
    answer: Callable[[Any], R] | None = None,
    owner: str = "created_by_id",
) -> R:
    """A create made under client uuid ``key``: ``answer`` (default: the row as a replay,
    :class:`Saved`) the row an earlier copy made (checked
    as :func:`earlier`: its author and content, else a conflict), else ``store`` it. A copy sent
    at the same moment may commit after the first look and before this create's own checks,
    which then find the copy's record and refuse it (a number, code or name taken, a resident
    moved on, a day checked in, a tag already held: an outside audit had 5 to 8 copies of one
    create answered 409 bar one). So, as ``cases.act`` does, when ``store`` fails the
    transaction is rolled back and the uuid looked for again: a row of the same author with
    the same content is the answer, a replay; a row of anyone else or of other content is the
    409 ``idempotency_conflict`` a copy sent later gets; no row, and the failure stands. A
    replay is never more than the sequential one: a 409 about someone else's record (a number
    registered, a code taken) is kept whenever the uuid is not this author's own."""
    first = earlier(ctx, actor, model, key, digest, owner)
    if first is None:
        try:
            return store()
        except (UseCaseError, IntegrityError):
            ctx.db.rollback()
            first = earlier(ctx, actor, model, key, digest, owner)
            if first is None:
                raise
    return answer(first) if answer is not None else Saved(first, replay=True)  # type: ignore[return-value]


def commit_new(
    ctx: Context, actor: Actor, model: Any, key: str, digest: str, owner: str = "created_by_id"
) -> Any | None:
    """Commit a create made under client uuid ``key``: None when it is stored; when a request
    with that uuid got in first, the row it made (checked as :func:`earlier` does). Any other
    integrity error is raised, after the rollback."""
    try:
        ctx.db.commit()
    except IntegrityError:
        existing = after_conflict(ctx, actor, model, key, digest, owner)
        if existing is None:
            raise
        return existing
    return None


def after_conflict(
    ctx: Context, actor: Actor, model: Any, key: str, digest: str, owner: str = "created_by_id"
) -> Any | None:
    """After an integrity error while storing a create under client uuid ``key``: roll back,
    then the row a request with that uuid made first (checked as :func:`earlier` does), or None
    when the error was about something else."""
    ctx.db.rollback()
    return earlier(ctx, actor, model, key, digest, owner)


def domain(err: DomainError) -> Exception:
    return from_domain(err)


def text(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed("应为文本 / must be text", fields={field: "text"})
    value = value.strip()
    if required and not value:
        raise ValidationFailed("必填 / required", fields={field: "required"})
    if len(value) > limit:
        raise ValidationFailed(
            f"内容过长（最多 {limit} 字）/ too long (max {limit})",
            code="too_long",
            fields={field: f"at most {limit} characters"},
        )
    return value


def name(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    """A name or label a person gives (:func:`server.domain.names.name_problem`: no control
    or bidi characters, something that shows): :func:`text`, then a 400 naming the field."""
    value = text(value, field, limit, required=required)
    if bad := name_problem(value, limit):
        raise ValidationFailed("输入有误 / invalid input: " + field, fields={field: bad})
    return value


def day(value: Any, field: str, default: date) -> date:
    if value in (None, ""):
        return default
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(
            "日期格式应为 YYYY-MM-DD / a date as YYYY-MM-DD", fields={field: "YYYY-MM-DD"}
        ) from None


def reason(value: Any, field: str = "reason", limit: int = 500) -> str:
    """A stated reason (:func:`server.domain.fields.is_stated_reason`: at least 2 letters,
    digits or CJK characters that show; "\u200b\u200b", "\u00ad\u00ad", ".." or Hangul
    fillers are no reason). 400 ``reason_required`` naming the field."""
    why = text(value, field, limit)
    if not is_stated_reason(why):
        raise ValidationFailed(
            "请说明理由（至少两个字）/ state a reason (at least 2 letters or characters)",
            code="reason_required",
            fields={field: "at least 2 letters, digits or characters"},
        )
    return why
