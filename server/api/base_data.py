"""Base data (/api/v1/base): places, households, residents, key groups, organisations, visits,
the offline bundle and the read log. Thin: parse with the typed edge, call one use case, shape
the answer (docs/base-data.md).

Who may call what is ``server.usecases.policy.ENDPOINT_ROLES`` (checked before every view here);
which records they see and change, the policy's base-data functions. A 409 ``version_conflict``
carries the record as it stands (``current``), so the phone can show the conflict.
"""

from __future__ import annotations

import gzip
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from server.api import base_json as js
from server.api.base_inputs import (
    DecideBody,
    DueQuery,
    EndTagBody,
    EventBody,
    HouseholdBody,
    HouseholdPatch,
    HouseholdQuery,
    KindBody,
    KindPatch,
    LevelRequestBody,
    LevelRequestQuery,
    OrganisationBody,
    OrganisationPatch,
    OrganisationQuery,
    PlaceBody,
    PlacePatch,
    PlaceQuery,
    ReadLogQuery,
    ResidentBody,
    ResidentPatch,
    ResidentQuery,
    RevealBody,
    TagBody,
    VisitBody,
    VisitQuery,
)
from server.api.edge import operation
from server.api.util import actor, context, gate_by_policy
from server.domain import base_data as bd
from server.errors import error_response, use_case_error
from server.models import (
    Attachment,
    Household,
    KeyGroupKindRow,
    Organisation,
    Place,
    Resident,
    User,
)
from server.usecases.base_data import common as c
from server.usecases.base_data import key_groups as kg
from server.usecases.base_data import offline, organisations, places, residents, visits
from server.usecases.base_data import overview as base_overview
from server.usecases.errors import UseCaseError

bp = Blueprint("base", __name__, url_prefix="/api/v1/base")

EDIT = {200: None, 404: None, 409: "Conflict"}


bp.before_request(gate_by_policy)


def _today() -> Any:
    return context().now().date()


def _current(row: Any) -> dict[str, Any] | None:
    """The record as the caller may see it (for a 409)."""
    ctx, who = context(), actor()
    db = ctx.db
    if isinstance(row, Place):
        return js.place_json(db, row)
    if isinstance(row, Household):
        return js.household_json(db, row)
    if isinstance(row, Resident):
        return js.resident_json(db, row, js.visible_tags(db, who, [row])[row.id], _today())
    if isinstance(row, Organisation):
        return js.organisation_json(db, row)
    if isinstance(row, KeyGroupKindRow):
        return js.kind_json(row)
    return {"id": getattr(row, "id", None), "version": getattr(row, "version", None)}


@bp.errorhandler(UseCaseError)
def _refused(err: UseCaseError) -> Response:
    record = err.extra.pop("record", None)
    if record is not None:
        err.extra["current"] = _current(record)
        context().db.rollback()
    return error_response(use_case_error(err))


def _saved(body: dict[str, Any], replay: bool) -> Response:
    resp = jsonify(body)
    resp.status_code = 200 if replay else 201
    if replay:
        resp.headers["Idempotent-Replay"] = "true"
    return resp


def _page(items: list[Any], cursor: int | None) -> Response:
    return jsonify({"items": items, "next_cursor": cursor})


# --- vocabulary and kinds ----------------------------------------------------------------------


@bp.get("/vocabulary")
@operation(responses={200: "BaseVocabulary", 403: None})
def vocabulary() -> Response:
    """The base-data vocabularies with zh/en labels, and the key-group kinds (the sensitive
    ones only for roles that may see any)."""

    def labels(table: dict[Any, tuple[str, str]]) -> dict[str, dict[str, str]]:
        return {k.value: {"zh": zh, "en": en} for k, (zh, en) in table.items()}

    kinds = [js.kind_json(k) for k in kg.kinds(context())]
    return jsonify(
        {
            "place_kinds": labels(bd.PLACE_KIND_LABELS),
            "registrations": labels(bd.REGISTRATION_LABELS),
            "relations": labels(bd.RELATION_LABELS),
            "statuses": labels(bd.RESIDENT_STATUS_LABELS),
            "life_events": labels(bd.LIFE_EVENT_LABELS),
            "organisation_kinds": labels(bd.ORGANISATION_KIND_LABELS),
            "cycles": labels(bd.CYCLE_LABELS),
            "due": labels(bd.DUE_LABELS),
            "kinds": kinds,
        }
    )


@bp.post("/kinds")
@operation(body=KindBody, responses={201: "KindAnswer", 403: None, 409: None})
def create_kind(body: KindBody) -> Response:
    """Add a key-group kind with its levels and visit cycles (admins)."""
    kind = kg.create_kind(context(), actor(), body.given())
    return _saved({"kind": js.kind_json(kind)}, False)


@bp.patch("/kinds/<int:kind_id>")
@operation(body=KindPatch, responses={200: "KindAnswer", 403: None, 404: None, 409: "Conflict"})
def update_kind(kind_id: int, body: KindPatch) -> Response:
    """Rename, retire, mark sensitive, or change the levels of a kind (admins)."""
    kind = kg.update_kind(context(), actor(), kind_id, body.given())
    return jsonify({"kind": js.kind_json(kind)})


# --- places ------------------------------------------------------------------------------------


@bp.get("/places")
@operation(query=PlaceQuery, responses={200: "PlacePage", 403: None})
def list_places(query: PlaceQuery) -> Response:
    """Places in my jurisdiction; ``q`` searches address and name words (幸福路 12 号)."""
    ctx = context()
    rows, cursor = places.list_places(
        ctx, actor(), kind=query.kind, parent=query.parent, grid=query.grid, q=query.q,
        after=query.cursor, limit=query.limit,
    )  # fmt: skip
    return _page([js.place_json(ctx.db, p) for p in rows], cursor)


@bp.post("/places")
@operation(
    body=PlaceBody, responses={200: "PlaceAnswer", 201: "PlaceAnswer", 403: None, 409: "Conflict"}
)
def create_place(body: PlaceBody) -> Response:
    """Add an estate, building, unit or room; located in a grid. Idempotent by ``uuid``. A
    name already under the parent (an estate's in the community), compared as the import
    compares names ("101" = "101室"), is a 409 ``duplicate_place``."""
    ctx = context()
    saved = places.create_place(ctx, actor(), body.given())
    return _saved({"place": js.place_json(ctx.db, saved.row)}, saved.replay)


@bp.get("/places/<int:place_id>")
@operation(responses={200: "PlaceDetail", 403: None, 404: None})
def get_place(place_id: int) -> Response:
    """A place with the children and households I may see."""
    ctx = context()
    place, children, households = places.get_place(ctx, actor(), place_id)
    return jsonify(
        {
            "place": js.place_json(ctx.db, place),
            "children": [js.place_json(ctx.db, p) for p in children],
            "households": [js.household_json(ctx.db, h) for h in households],
        }
    )


@bp.patch("/places/<int:place_id>")
@operation(body=PlacePatch, responses={200: "PlaceAnswer", 403: None, 404: None, 409: "Conflict"})
def update_place(place_id: int, body: PlacePatch) -> Response:
    """Edit a place (``base_version`` required: a stale one is a 409 with the current place)."""
    ctx = context()
    place = places.update_place(ctx, actor(), place_id, body.given())
    return jsonify({"place": js.place_json(ctx.db, place)})


# --- households --------------------------------------------------------------------------------


@bp.get("/households")
@operation(query=HouseholdQuery, responses={200: "HouseholdPage", 403: None})
def list_households(query: HouseholdQuery) -> Response:
    """Households in my jurisdiction."""
    ctx = context()
    rows, cursor = places.list_households(
        ctx, actor(), place=query.place, grid=query.grid, after=query.cursor, limit=query.limit
    )
    return _page([js.household_json(ctx.db, h) for h in rows], cursor)


@bp.post("/households")
@operation(
    body=HouseholdBody,
    responses={200: "HouseholdAnswer", 201: "HouseholdAnswer", 403: None, 409: "Conflict"},
)
def create_household(body: HouseholdBody) -> Response:
    """Add a household living in a room. Idempotent by ``uuid``."""
    ctx = context()
    saved = places.create_household(ctx, actor(), body.given())
    return _saved({"household": js.household_json(ctx.db, saved.row)}, saved.replay)


@bp.get("/households/<int:household_id>")
@operation(responses={200: "HouseholdDetail", 403: None, 404: None})
def get_household(household_id: int) -> Response:
    """A household and its members (each member's read is logged)."""
    ctx, who = context(), actor()
    household = c.visible(who, ctx.db.get(Household, household_id), "household")
    members, _ = residents.list_residents(
        ctx, who, residents.ResidentQuery(household=household.id, limit=200),
        request.endpoint or "",
    )  # fmt: skip
    tags = js.visible_tags(ctx.db, who, members)
    today = _today()
    return jsonify(
        {
            "household": js.household_json(ctx.db, household),
            "members": [js.resident_json(ctx.db, r, tags[r.id], today) for r in members],
        }
    )


@bp.patch("/households/<int:household_id>")
@operation(
    body=HouseholdPatch, responses={200: "HouseholdAnswer", 403: None, 404: None, 409: "Conflict"}
)
def update_household(household_id: int, body: HouseholdPatch) -> Response:
    """Edit a household (``base_version`` required)."""
    ctx = context()
    household = places.update_household(ctx, actor(), household_id, body.given())
    return jsonify({"household": js.household_json(ctx.db, household)})


# --- residents ---------------------------------------------------------------------------------


def _residents_json(rows: list[Resident]) -> list[dict[str, Any]]:
    ctx, who = context(), actor()
    tags = js.visible_tags(ctx.db, who, rows)
    today = _today()
    return [js.resident_json(ctx.db, r, tags[r.id], today) for r in rows]


@bp.get("/residents")
@operation(query=ResidentQuery, responses={200: "ResidentPage", 403: None, 429: None})
def list_residents(query: ResidentQuery) -> Response:
    """Residents in my jurisdiction (masked); ``id_number`` and ``phone`` find exact values.
    Every resident answered is logged in the read log, and every search by number too, found
    or not; past 60 searches by number in an hour a user's next one is a 429
    ``too_many_number_searches`` (``retry_after`` seconds; admins are not limited)."""
    ctx = context()
    q = residents.ResidentQuery(
        household=query.household, grid=query.grid, q=query.q, id_number=query.id_number,
        phone=query.phone, status=query.status, after=query.cursor, limit=query.limit,
    )  # fmt: skip
    rows, cursor = residents.list_residents(ctx, actor(), q, request.endpoint or "")
    return _page(_residents_json(rows), cursor)


@bp.post("/residents")
@operation(
    body=ResidentBody,
    responses={
        200: "ResidentAnswer",
        201: "ResidentAnswer",
        403: None,
        409: "Conflict",
        429: None,
    },
)
def create_resident(body: ResidentBody) -> Response:
    """Register a resident (identity number checked, stored encrypted). Idempotent by
    ``uuid``; a number already registered is a 409 ``duplicate_id_number``; past the limit
    on such numbers outside one's jurisdiction, a 429 ``too_many_duplicates``."""
    saved = residents.create_resident(context(), actor(), body.given(), request.endpoint or "")
    return _saved({"resident": _residents_json([saved.row])[0]}, saved.replay)


@bp.get("/residents/<int:resident_id>")
@operation(responses={200: "ResidentDetail", 403: None, 404: None})
def get_resident(resident_id: int) -> Response:
    """A resident's record (masked), residences and life events. The read is logged."""
    ctx = context()
    record = residents.get_resident(ctx, actor(), resident_id, request.endpoint or "")
    return jsonify(
        {
            "resident": _residents_json([record.resident])[0],
            "residences": [js.residence_json(x) for x in record.residences],
            "events": [js.event_json(e) for e in record.events],
        }
    )


@bp.patch("/residents/<int:resident_id>")
@operation(
    body=ResidentPatch,
    responses={200: "ResidentAnswer", 403: None, 404: None, 409: "Conflict", 429: None},
)
def update_resident(resident_id: int, body: ResidentPatch) -> Response:
    """Edit a resident (``base_version`` required: a stale one is a 409 with the current
    record). A new ``id_number`` is looked up: a search by number, logged and limited as
    ``GET /base/residents?id_number=`` is (429 ``too_many_number_searches``)."""
    resident = residents.update_resident(
        context(), actor(), resident_id, body.given(), request.endpoint or ""
    )
    return jsonify({"resident": _residents_json([resident])[0]})


@bp.post("/residents/<int:resident_id>/events")
@operation(
    body=EventBody,
    responses={200: "EventAnswer", 201: "EventAnswer", 403: None, 404: None, 409: "Conflict"},
)
def add_event(resident_id: int, body: EventBody) -> Response:
    """迁入 / 迁出 / 死亡 / 注销 / 恢复 (append-only). Idempotent by ``uuid``."""
    out = residents.add_event(context(), actor(), resident_id, body.given())
    return _saved(
        {"event": js.event_json(out.event), "resident": _residents_json([out.resident])[0]},
        out.replay,
    )


@bp.post("/residents/<int:resident_id>/reveal")
@operation(body=RevealBody, responses={200: "Revealed", 403: None, 404: None})
def reveal(resident_id: int, body: RevealBody) -> Response:
    """The clear identity number and/or phone, for a stated reason (logged)."""
    out = residents.reveal(
        context(), actor(), resident_id, list(body.fields), body.reason, request.endpoint or ""
    )
    return jsonify(out)


# --- key-group tags and level requests ---------------------------------------------------------


@bp.post("/residents/<int:resident_id>/tags")
@operation(
    body=TagBody,
    responses={200: "TagAnswer", 201: "TagAnswer", 403: None, 404: None, 409: "Conflict"},
)
def add_tag(resident_id: int, body: TagBody) -> Response:
    """Put a resident in a key group at a level. Idempotent by ``uuid``."""
    out = kg.add_tag(context(), actor(), resident_id, body.given())
    return _saved({"tag": js.tag_json(out.tag, out.kind)}, out.replay)


@bp.post("/tags/<int:tag_id>/end")
@operation(body=EndTagBody, responses={200: "TagAnswer", 403: None, 404: None, 409: "Conflict"})
def end_tag(tag_id: int, body: EndTagBody) -> Response:
    """End a resident's membership of a key group."""
    out = kg.end_tag(context(), actor(), tag_id, body.given())
    return jsonify({"tag": js.tag_json(out.tag, out.kind)})


@bp.post("/tags/<int:tag_id>/level-requests")
@operation(
    body=LevelRequestBody,
    responses={201: "LevelRequestAnswer", 403: None, 404: None, 409: "Conflict"},
)
def request_level(tag_id: int, body: LevelRequestBody) -> Response:
    """Ask for a change of level (the community or town decides)."""
    ctx = context()
    req = kg.request_level(ctx, actor(), tag_id, body.given())
    tag, kind, resident = kg._tag(ctx, actor(), req.tag_id)
    return _saved({"request": js.request_json(req, tag, kind, resident)}, False)


@bp.get("/level-requests")
@operation(query=LevelRequestQuery, responses={200: "LevelRequestPage", 403: None})
def list_level_requests(query: LevelRequestQuery) -> Response:
    """Level requests in my jurisdiction (newest first)."""
    rows = kg.list_requests(context(), actor(), query.status, request.endpoint or "")
    return jsonify({"items": [js.request_json(r, t, k, p) for r, t, k, p in rows]})


@bp.post("/level-requests/<int:request_id>/decide")
@operation(body=DecideBody, responses={200: "LevelDecision", 403: None, 404: None, 409: "Conflict"})
def decide_level(request_id: int, body: DecideBody) -> Response:
    """Approve or decline a level change (a community or town, not the requester)."""
    ctx = context()
    req, tag = kg.decide_level(ctx, actor(), request_id, body.given())
    kind = ctx.db.get(KeyGroupKindRow, tag.kind_id)
    assert kind is not None
    return jsonify({"request": js.request_json(req, tag, kind), "tag": js.tag_json(tag, kind)})


# --- organisations -----------------------------------------------------------------------------


@bp.get("/organisations")
@operation(query=OrganisationQuery, responses={200: "OrganisationPage", 403: None})
def list_organisations(query: OrganisationQuery) -> Response:
    """Organisations in my jurisdiction."""
    ctx = context()
    rows, cursor = organisations.listing(
        ctx, actor(), grid=query.grid, q=query.q, credit_code=query.credit_code,
        after=query.cursor, limit=query.limit,
    )  # fmt: skip
    return _page([js.organisation_json(ctx.db, o) for o in rows], cursor)


@bp.post("/organisations")
@operation(
    body=OrganisationBody,
    responses={200: "OrganisationAnswer", 201: "OrganisationAnswer", 403: None, 409: "Conflict"},
)
def create_organisation(body: OrganisationBody) -> Response:
    """Register an organisation (credit code checked). Idempotent by ``uuid``."""
    ctx = context()
    saved = organisations.create(ctx, actor(), body.given())
    return _saved({"organisation": js.organisation_json(ctx.db, saved.row)}, saved.replay)


@bp.get("/organisations/<int:org_id>")
@operation(responses={200: "OrganisationAnswer", 403: None, 404: None})
def get_organisation(org_id: int) -> Response:
    """One organisation."""
    ctx = context()
    return jsonify(
        {"organisation": js.organisation_json(ctx.db, organisations.get(ctx, actor(), org_id))}
    )


@bp.patch("/organisations/<int:org_id>")
@operation(
    body=OrganisationPatch,
    responses={200: "OrganisationAnswer", 403: None, 404: None, 409: "Conflict"},
)
def update_organisation(org_id: int, body: OrganisationPatch) -> Response:
    """Edit an organisation (``base_version`` required)."""
    ctx = context()
    org = organisations.update(ctx, actor(), org_id, body.given())
    return jsonify({"organisation": js.organisation_json(ctx.db, org)})


# --- visits ------------------------------------------------------------------------------------


@bp.post("/visits")
@operation(
    body=VisitBody, responses={200: "VisitAnswer", 201: "VisitAnswer", 403: None, 409: "Conflict"}
)
def create_visit(body: VisitBody) -> Response:
    """Record a visit (走访) to a resident or household, with photos; may raise a case.
    Idempotent by ``uuid``."""
    who = actor()
    out = visits.create(context(), who, body.given())
    return _saved({"visit": js.visit_json(out.visit, who, out.photos)}, out.replay)


@bp.get("/visits")
@operation(query=VisitQuery, responses={200: "VisitPage", 403: None})
def list_visits(query: VisitQuery) -> Response:
    """Visits in my jurisdiction, newest first; where each was made (``lon``/``lat``) only
    for its visitor and the supervisors in jurisdiction (null for everyone else)."""
    ctx, who = context(), actor()
    rows, cursor = visits.listing(
        ctx, who, resident=query.resident, household=query.household, mine=query.mine,
        after=query.cursor, limit=query.limit,
    )  # fmt: skip
    ids = [v.id for v in rows]
    photos: dict[int, list[str]] = {}
    if ids:
        for vid, key in ctx.db.execute(
            select(Attachment.visit_id, Attachment.uuid).where(Attachment.visit_id.in_(ids))
        ):
            photos.setdefault(vid or 0, []).append(key)
    return _page([js.visit_json(v, who, photos.get(v.id)) for v in rows], cursor)


@bp.get("/visits/due")
@operation(query=DueQuery, responses={200: "DueWeek", 403: None})
def visits_due(query: DueQuery) -> Response:
    """This week's visits: 本周应访 · 已访 · 逾期, and each key-group member's due day."""
    week = visits.due_this_week(
        context(), actor(), grid=query.grid, endpoint=request.endpoint or ""
    )
    return jsonify(js.due_json(week))


@bp.get("/overview")
@operation(query=DueQuery, responses={200: "BaseOverview", 403: None})
def overview(query: DueQuery) -> Response:
    """Per grid of my jurisdiction: households, residents (registered/floating), key groups by
    kind and level (sensitive kinds only for roles that may see them), this week's visits."""
    ctx = context()
    rows = base_overview.overview(ctx, actor(), grid=query.grid)
    items = [
        {
            "code": r.grid_code,
            "name": r.grid_code,
            "grid_code": r.grid_code,
            "community": js.region_json(ctx.db, r.community_id),
            "households": r.households,
            "residents": r.registered + r.floating,
            "registered": r.registered,
            "floating": r.floating,
            "key_groups": sum(n for v in r.key_groups.values() for n in v.values()),
            "key_groups_by_kind": {k: {str(lv): n for lv, n in sorted(v.items())}
                                   for k, v in sorted(r.key_groups.items())},
            "visits_due": r.due["due"],
            "visits_done": r.due["done"],
            "visits_overdue": r.due["overdue"],
        }
        for r in rows
    ]  # fmt: skip
    keys = ("households", "residents", "registered", "floating", "key_groups", "visits_due",
            "visits_done", "visits_overdue")  # fmt: skip
    totals: dict[str, int] = {k: 0 for k in keys}
    for item in items:
        for k in keys:
            value = item[k]
            totals[k] += value if isinstance(value, int) else 0
    return jsonify({"items": items, "totals": totals})


# --- offline bundle and read log ---------------------------------------------------------------


@bp.get("/offline")
@operation(responses={200: "OfflineBundle", 403: None})
def offline_bundle() -> Response:
    """My grids' places, households and residents (minimised, with versions) and this week's
    visits, for the phone. The read is logged."""
    ctx, who = context(), actor()
    b = offline.bundle(ctx, who, request.endpoint or "")
    tags = js.visible_tags(ctx.db, who, b.residents)
    kinds = [js.kind_json(k) for k in kg.kinds(ctx)]
    resp = jsonify(
        {
            "generated_at": b.generated_at.isoformat(),
            "grids": b.grids,
            "places": [js.place_json(ctx.db, p) for p in b.places],
            "households": [js.household_json(ctx.db, h) for h in b.households],
            "residents": [js.min_resident_json(r, tags[r.id]) for r in b.residents],
            "due": js.due_json(b.due, all_items=False),
            "kinds": kinds,
        }
    )
    # The largest answer a phone downloads (~0.5 MB of JSON for 500 households, ~60 KB gzipped):
    # compressed here, not left to a proxy that may not be there (as the grid map's GeoJSON).
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        resp.set_data(gzip.compress(resp.get_data(), compresslevel=6))
        resp.headers["Content-Encoding"] = "gzip"
        resp.vary.add("Accept-Encoding")
    return resp


@bp.get("/reads")
@operation(query=ReadLogQuery, responses={200: "ReadPage", 403: None})
def read_log(query: ReadLogQuery) -> Response:
    """Who read which person's record, when, why and through what (supervisors: their
    jurisdiction; admins)."""
    ctx = context()
    rows, cursor = offline.read_log(
        ctx, actor(), resident=query.resident, reader=query.reader, before=query.cursor,
        limit=query.limit,
    )  # fmt: skip
    ids = sorted({u for r in rows for u in (r.actor_id, r.subject_user_id) if u})
    names = {
        uid: name or username
        for uid, name, username in ctx.db.execute(
            select(User.id, User.display_name, User.username).where(User.id.in_(ids))
        )
    }
    return _page([js.read_json(r, names) for r in rows], cursor)
