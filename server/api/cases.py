"""Cases: report, list, read, act, live changes. Thin: parsing and JSON around the use cases."""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from server.api.edge import operation
from server.api.feed import Feed, encoded
from server.api.feed import body as feed_body
from server.api.inputs import ActionBody, CaseListQuery, ChangesQuery, ReportBody, StreamQuery
from server.api.longpoll import PollSlots
from server.api.serialize import Lookups, case_json, event_json, photo_json
from server.api.streams import FRAME_CASES, Hub, Stream, changes_frame
from server.api.streams import Body as StreamBody
from server.api.util import actor, context, login_required_api, me
from server.domain import workflow as wf
from server.errors import ApiError, error_response, use_case_error
from server.models import Attachment, IncidentEvent
from server.security import key_hash, signed_in_user
from server.usecases import cases as uc
from server.usecases import queries
from server.usecases.context import Actor, Context, actor_of
from server.usecases.errors import UseCaseError

bp = Blueprint("cases", __name__, url_prefix="/api/v1")


def _answer(outcome: uc.Outcome, created: bool, ctx: Context | None = None) -> Response:
    ctx, who = ctx or context(), actor()
    look = Lookups(ctx.db)
    if outcome.photo_summary is not None:
        look.known_photos(outcome.case.id, *outcome.photo_summary)
    body: dict[str, Any] = {"case": case_json(ctx, who, outcome.case, look)}
    if outcome.replay and outcome.event is not None:
        # the case as it stands, at the version the first answer gave (docs/api.md)
        body["case"]["version"] = uc.version_left_by(ctx, outcome.event)
    if outcome.event is not None:
        photos = outcome.event_photos
        if photos is None:  # a replay: the photos the first answer had
            photos = list(
                ctx.db.scalars(select(Attachment).where(Attachment.event_id == outcome.event.id))
            )
        body["event"] = event_json(outcome.event, look, photos, who)
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


@bp.errorhandler(UseCaseError)
def _refused(err: UseCaseError) -> Response:
    """A use case's refusal; a 409 on a case (a report replayed, a stale action) carries the
    case as it stands now."""
    return error_response(use_case_error(_conflict_with_case(err)))


@bp.post("/cases")
@operation(
    body=ReportBody,
    responses={200: "CaseAnswer", 201: "CaseAnswer", 403: None, 404: None, 409: "Conflict"},
)
@login_required_api
def create_case(body: ReportBody) -> Response:
    """Report a case (上报), or self-handle it (自行处置); idempotent by ``uuid``.

    A replay answers as a GET would: 404 for a case no longer mine to see."""
    ctx = context()
    outcome = uc.report(ctx, actor(), body.given())
    return _answer(outcome, created=True, ctx=ctx)


def _filter(query: CaseListQuery) -> queries.CaseFilter:
    return queries.CaseFilter(
        states=query.state,
        region=query.region,
        grid=query.grid,
        department=query.department,
        category=query.category,
        source=query.source,
        urgency=query.urgency,
        overdue=query.overdue,
        off_grid=query.off_grid,
        q=(query.q or "").strip() or None,
        date_from=query.date_from,
        date_to=query.date_to,
        mine=query.mine,
        held=query.held,
        bbox=query.bbox_tuple(),
    )


@bp.get("/cases")
@operation(query=CaseListQuery, responses={200: "CasePage"})
@login_required_api
def list_cases(query: CaseListQuery) -> Response:
    """Cases in my jurisdiction, filtered, newest first; cursor pagination."""
    ctx, who = context(), actor()
    f = _filter(query)
    rows, next_cursor = queries.list_cases(
        ctx, who, f, sort=query.sort, cursor=query.cursor, limit=query.limit
    )
    look = Lookups(ctx.db)
    look.prefetch(rows)
    body: dict[str, Any] = {
        "items": [case_json(ctx, who, c, look) for c in rows],
        "next_cursor": next_cursor,
    }
    if query.counts:
        body["counts"] = queries.counts(ctx, who, f)
    return jsonify(body)


@bp.get("/cases/<int:case_id>")
@operation(responses={200: "CaseDetail", 404: None})
@login_required_api
def get_case(case_id: int) -> Response:
    """One case with its events, photos, the actions I may take and possible duplicates."""
    ctx, who = context(), actor()
    case = uc.load_visible(ctx, who, case_id)
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
    shown = case_json(ctx, who, case, look)
    body = {
        "case": shown,
        "events": [event_json(e, look, by_event.get(e.id, []), who) for e in events],
        "photos": [photo_json(a, who) for a in atts],
        "allowed_actions": shown["allowed_actions"],
        "duplicates": [],
    }
    if who.role in {wf.Role.DISPATCHER, wf.Role.ADMIN}:
        dups = uc.possible_duplicates(ctx, who, case)
        look.prefetch(dups)
        body["duplicates"] = [case_json(ctx, who, d, look) for d in dups]
    return jsonify(body)


@bp.post("/cases/<int:case_id>/actions")
@operation(body=ActionBody, responses={200: "CaseAnswer", 403: None, 404: None, 409: "Conflict"})
@login_required_api
def act(case_id: int, body: ActionBody) -> Response:
    """Take one action on a case (one event); idempotent by ``uuid``, 409 on a stale version."""
    outcome = uc.act(context(), actor(), case_id, body.given())
    return _answer(outcome, created=False)


POLL_RETRY_SECONDS = 5


@bp.get("/changes")
@operation(query=ChangesQuery, responses={200: "Changes"})
@login_required_api
def changes(query: ChangesQuery) -> Response:
    """Long poll: cases in my scope changed after ``after`` (an event id cursor).

    Answered from the process's change feed (server/api/feed.py): a waiting poll holds no
    database connection and queries nothing; only a cursor older than the feed's buffer is
    answered from the database."""
    ctx, who = context(), actor()
    feed: Feed = current_app.extensions["wangge.feed"]
    wait = min(query.wait, float(current_app.config.get("WANGGE_LONG_POLL_SECONDS", 25)))
    ctx.db.close()  # the sign-in is checked: hold no pooled connection while waiting
    if not feed.wait_ready(10):
        raise ApiError(503, "feed_starting", "实时更新启动中 / live updates are starting")
    if query.after is None:
        return _changes_answer(feed.released, [])
    after = feed.clamp(query.after)
    if not feed.covers(after):
        rows, cursor = queries.changes(ctx, who, after, feed.released)
        look = Lookups(ctx.db)
        look.prefetch(rows)
        return jsonify(
            {"cursor": str(cursor), "items": [case_json(ctx, who, c, look) for c in rows]}
        )
    slots: PollSlots = current_app.extensions["wangge.poll_slots"]
    with slots.slot(me().id) as may_wait:
        # Beyond the caps (per user, per process) the poll answers at once: the client polls
        # again with the same cursor (server/api/longpoll.py).
        picked, cursor = feed.pick(who, after)
        waited = False
        if not picked and may_wait and wait > 0:
            deadline = time.monotonic() + wait
            while not picked and time.monotonic() < deadline:
                waited = True
                feed.wait_beyond(cursor, deadline - time.monotonic())
                picked, cursor = feed.pick(who, after)
    if waited:
        # The sign-in was checked before the wait: a sign-out, a disabled account or a changed
        # role or region during it must not be answered with cases (one query, after a wait).
        who = _still_signed_in(ctx)
        picked, cursor = feed.pick(who, after)
    look = Lookups(ctx.db)
    parts = [encoded(e, ctx, who, look) for e in picked]
    refused = not may_wait and wait > 0 and not picked
    # Refused a wait: say when to poll again, so a client does not spin (the console waits
    # this long; webapp/src/console/live.ts).
    return _changes_answer(max(after, cursor), parts, POLL_RETRY_SECONDS if refused else None)


@bp.get("/changes/stream")
@operation(query=StreamQuery, responses={200: "ChangeStream", 429: None, 503: None})
@login_required_api
def change_stream(query: StreamQuery) -> Response:
    """Server-Sent Events: cases in my scope as they change, on one request for minutes.

    Frames: ``event: changes`` with ``id:`` the cursor and ``data:`` the long poll's answer
    (``{"cursor", "items"}``; the first comes at once), ``: ping`` comments on a quiet stream,
    ``event: signed_out`` when the sign-in ends. The stream ends by itself after
    ``WANGGE_STREAM_SECONDS``; reconnect with ``after=`` the last cursor. Beyond
    ``WANGGE_STREAM_PER_USER`` / ``WANGGE_STREAM_TOTAL`` open streams: 429 with ``retry_after``
    (server/api/streams.py; docs/api.md, "Live updates")."""
    ctx, who, user = context(), actor(), me()
    feed: Feed = current_app.extensions["wangge.feed"]
    hub: Hub = current_app.extensions["wangge.streams"]
    slots: PollSlots = current_app.extensions["wangge.stream_slots"]
    if not feed.wait_ready(10):
        raise ApiError(503, "feed_starting", "实时更新启动中 / live updates are starting")
    if not slots.acquire(user.id) and not _freed(hub, slots, user.id):
        err = error_response(
            ApiError(
                429,
                "too_many_streams",
                "打开的实时连接过多，请稍后再试 / too many live streams open: try again shortly",
                retry_after=POLL_RETRY_SECONDS,
            )
        )
        err.headers["Retry-After"] = str(POLL_RETRY_SECONDS)
        return err
    try:
        after = _resume_from(query.after)
        after = None if after is None else feed.clamp(after)
        first, cursor = _first_frame(ctx, who, feed, after)
        stream = Stream(user.id, key_hash(user.sign_in_key or ""), user.session_epoch, who, cursor)
    except BaseException:
        slots.release(user.id)
        raise
    ctx.db.close()  # a stream holds no pooled connection
    seconds = float(current_app.config.get("WANGGE_STREAM_SECONDS", 300))
    resp = Response(
        StreamBody(
            hub,
            stream,
            first,
            seconds,
            lambda: slots.release(user.id),
            request.environ.get("gunicorn.socket"),
        ),
        mimetype="text/event-stream",
    )
    resp.headers["Cache-Control"] = "no-cache, no-store"
    resp.headers["X-Accel-Buffering"] = "no"  # nginx: pass each frame on at once
    return resp


def _resume_from(after: int | None) -> int | None:
    """``after``, else the ``Last-Event-ID`` a browser's own EventSource sends when it
    reconnects (the frames' ids are cursors); a header that is not a cursor is ignored."""
    if after is not None:
        return after
    last = request.headers.get("Last-Event-ID", "")
    if last.isascii() and last.isdigit() and len(last) <= 18:
        return int(last)
    return None


def _freed(hub: Hub, slots: PollSlots, user_id: int) -> bool:
    """At the cap: a console reloaded or closed a moment ago may still hold a slot (its server
    side learns the client is gone only when it next writes). Probe the user's streams, and
    take a slot if one was freed within half a second."""
    hub.probe(user_id)
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if slots.acquire(user_id):
            return True
    return False


def _first_frame(ctx: Context, who: Actor, feed: Feed, after: int | None) -> tuple[bytes, int]:
    """The stream's first frame: the current cursor (no ``after``), or what changed since."""
    if after is None:
        return changes_frame(feed.released, []), feed.released
    if not feed.covers(after):
        rows, cursor = queries.changes(ctx, who, after, feed.released)
        look = Lookups(ctx.db)
        look.prefetch(rows)
        parts = [_compact(case_json(ctx, who, c, look)) for c in rows]
        cursor = max(after, cursor)
        return changes_frame(cursor, parts), cursor
    picked, cursor = feed.pick(who, after, FRAME_CASES)
    look = Lookups(ctx.db)
    cursor = max(after, cursor)
    return changes_frame(cursor, [encoded(e, ctx, who, look) for e in picked]), cursor


def _still_signed_in(ctx: Context) -> Actor:
    user = signed_in_user(ctx.db, me().get_id())
    if user is None:
        raise ApiError(401, "unauthorized", "请先登录 / sign in first")
    return actor_of(ctx.db, user)


def _changes_answer(cursor: int, parts: list[bytes], retry_after: int | None = None) -> Response:
    return Response(feed_body(cursor, parts, retry_after), mimetype="application/json")


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
