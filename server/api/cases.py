"""Cases: report, list, read, act, live changes. Thin: parsing and JSON around the use cases."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import select

from server.api.serialize import Lookups, case_json, event_json, photo_json
from server.api.util import actor, context, json_body, login_required_api, use_case_error
from server.domain.workflow import Action, allowed_actions
from server.models import Attachment, IncidentEvent
from server.usecases import cases as uc
from server.usecases import queries
from server.usecases.errors import UseCaseError

bp = Blueprint("cases", __name__, url_prefix="/api/v1")


def _answer(outcome: uc.Outcome, created: bool) -> Response:
    ctx, who = context(), actor()
    look = Lookups(ctx.db)
    body: dict[str, Any] = {"case": case_json(ctx, who, outcome.case, look)}
    if outcome.event is not None:
        photos = list(
            ctx.db.scalars(select(Attachment).where(Attachment.event_id == outcome.event.id))
        )
        body["event"] = event_json(outcome.event, look, photos)
    resp = jsonify(body)
    resp.status_code = 201 if created and not outcome.replay else 200
    if outcome.replay:
        resp.headers["Idempotent-Replay"] = "true"
    return resp


def _conflict_with_case(err: UseCaseError) -> UseCaseError:
    """Add the case's current state to a 409, so the client can show what happened."""
    case_id = err.extra.pop("case_id", None)
    if err.status == 409 and case_id:
        ctx = context()
        ctx.db.rollback()
        try:
            case = uc.load_visible(ctx, actor(), case_id)
            err.extra["case"] = case_json(ctx, actor(), case, Lookups(ctx.db))
        except UseCaseError:
            pass
    return err


@bp.post("/cases")
@login_required_api
def create_case() -> Response:
    try:
        outcome = uc.report(context(), actor(), json_body())
    except UseCaseError as err:
        raise use_case_error(_conflict_with_case(err)) from None
    return _answer(outcome, created=True)


@bp.get("/cases")
@login_required_api
def list_cases() -> Response:
    ctx, who = context(), actor()
    try:
        f = queries.CaseFilter.parse(request.args)
        limit = request.args.get("limit", "50")
        rows, next_cursor = queries.list_cases(
            ctx,
            who,
            f,
            sort=request.args.get("sort", "-created_at"),
            cursor=request.args.get("cursor") or None,
            limit=int(limit) if limit.isdigit() else 50,
        )
        look = Lookups(ctx.db)
        look.prefetch(rows)
        body: dict[str, Any] = {
            "items": [case_json(ctx, who, c, look) for c in rows],
            "next_cursor": next_cursor,
        }
        if request.args.get("counts") in {"1", "true"}:
            body["counts"] = queries.counts(ctx, who, f)
    except UseCaseError as err:
        raise use_case_error(err) from None
    return jsonify(body)


@bp.get("/cases/<int:case_id>")
@login_required_api
def get_case(case_id: int) -> Response:
    ctx, who = context(), actor()
    try:
        case = uc.load_visible(ctx, who, case_id)
    except UseCaseError as err:
        raise use_case_error(err) from None
    look = Lookups(ctx.db)
    events = list(
        ctx.db.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == case.id)
            .order_by(IncidentEvent.id)
        )
    )
    atts = list(ctx.db.scalars(select(Attachment).where(Attachment.incident_id == case.id)))
    by_event: dict[int | None, list[Attachment]] = {}
    for a in atts:
        by_event.setdefault(a.event_id, []).append(a)
    allowed = [
        a.value
        for a in allowed_actions(who.role, case.state)
        if a not in (Action.REPORT, Action.SELF_HANDLE)
    ]
    body = {
        "case": case_json(ctx, who, case, look),
        "events": [event_json(e, look, by_event.get(e.id, [])) for e in events],
        "photos": [photo_json(a) for a in atts],
        "allowed_actions": allowed,
        "duplicates": [],
    }
    if who.role in {"dispatcher", "admin"}:
        dups = uc.possible_duplicates(ctx, who, case)
        look.prefetch(dups)
        body["duplicates"] = [case_json(ctx, who, d, look) for d in dups]
    return jsonify(body)


@bp.post("/cases/<int:case_id>/actions")
@login_required_api
def act(case_id: int) -> Response:
    try:
        outcome = uc.act(context(), actor(), case_id, json_body())
    except UseCaseError as err:
        raise use_case_error(_conflict_with_case(err)) from None
    return _answer(outcome, created=False)


@bp.get("/changes")
@login_required_api
def changes() -> Response:
    """Long poll: cases in my scope changed after ``after`` (an event id cursor)."""
    ctx, who = context(), actor()
    after_raw = request.args.get("after", "")
    wait = min(max(float(request.args.get("wait", "20") or 0), 0), 25)
    if not after_raw:
        return jsonify({"cursor": str(queries.latest_cursor(ctx)), "items": []})
    if not after_raw.isdigit():
        raise use_case_error(
            queries.ValidationFailed("游标无效 / bad cursor", fields={"after": "a cursor"})
        )
    after = int(after_raw)
    deadline = time.monotonic() + wait
    while True:
        rows, cursor = queries.changes(ctx, who, after)
        if rows or time.monotonic() >= deadline:
            break
        ctx.db.rollback()  # end the read transaction so the next look sees new commits
        time.sleep(0.5)
    look = Lookups(ctx.db)
    look.prefetch(rows)
    return jsonify({"cursor": str(cursor), "items": [case_json(ctx, who, c, look) for c in rows]})
