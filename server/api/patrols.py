"""Patrols and GPS tracks (/api/v1/patrols) and a worker's day on the map
(/api/v1/workers/<id>/day). Thin: parse with the typed edge, call one use case
(``server.usecases.patrols``), shape the answer (docs/field-work.md, "Patrols and tracks").

Who may call what is ``server.usecases.policy.ENDPOINT_ROLES`` (checked before every view);
whose tracks one sees, ``policy.may_see_track``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_login import current_user

from server.api.edge import operation
from server.api.patrol_io import DayQuery, PatrolEndBody, PatrolStartBody, TrackChunkBody
from server.api.util import actor, context, gate_by_policy
from server.domain.workflow import Role
from server.usecases import patrols as uc
from server.usecases import worker_days

bp = Blueprint("patrols", __name__, url_prefix="/api/v1")

WORKERS = (Role.GRID_WORKER.value,)

#: a chunk of 2,000 positions is about 120 kB of JSON
TRACK_BODY_CAP = 1 * 2**20


@bp.url_value_preprocessor
def _track_cap(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """A track chunk's own size cap (before the CSRF check reads anything): 413 beyond it."""
    if endpoint == "patrols.track" and current_user.is_authenticated:
        request.max_content_length = TRACK_BODY_CAP


bp.before_request(gate_by_policy)


def _answer(body: dict[str, Any], status: int, replay: bool) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    if replay:
        resp.headers["Idempotent-Replay"] = "true"
    return resp


def _name() -> str:
    return actor().display_name


@bp.post("/patrols")
@operation(
    body=PatrolStartBody,
    responses={201: "PatrolAnswer", 200: "PatrolAnswer", 409: "Conflict", 422: None},
    roles=WORKERS,
)
def start(body: PatrolStartBody) -> Response:
    """Start a patrol (grid workers). Idempotent by ``uuid``: the same start again answers 200;
    the same uuid with another body 409 ``idempotency_conflict``. An open patrol of the worker
    ends at its last position (``ended_previous``, with a ``notice``)."""
    out = uc.start(context(), actor(), body.given())
    answer: dict[str, Any] = {"patrol": uc.patrol_json(out.patrol, _name())}
    if out.ended_previous is not None:
        answer["ended_previous"] = uc.patrol_json(out.ended_previous, _name())
        if len(out.ended) > 1:  # patrols left open before starts were serialised
            answer["ended_also"] = [uc.patrol_json(p, _name()) for p in out.ended[:-1]]
        answer["notice"] = (
            "上一次巡查未结束，已在其最后一个位置结束 / your previous patrol was still open: "
            "it was ended at its last position"
        )
    return _answer(answer, 200 if out.replay else 201, out.replay)


@bp.post("/patrols/<patrol_uuid>/track")
@operation(body=TrackChunkBody, responses={200: "TrackChunkAnswer", 409: "Conflict"}, roles=WORKERS)
def track(patrol_uuid: str, body: TrackChunkBody) -> Response:
    """A chunk of the patrol's positions: kept ones sorted, dropped ones named with a reason.
    Sent again (same uuid and content) it answers its first answer verbatim."""
    out = uc.add_chunk(context(), actor(), patrol_uuid, body.given())
    return _answer(out.answer, 200, out.replay)


@bp.post("/patrols/<patrol_uuid>/end")
@operation(body=PatrolEndBody, responses={200: "PatrolAnswer", 409: "Conflict"}, roles=WORKERS)
def end(patrol_uuid: str, body: PatrolEndBody) -> Response:
    """End the patrol: its distance, duration and coverage. The same end again answers the
    same; another ``ended_at`` is a 409."""
    out = uc.end(context(), actor(), patrol_uuid, body.given())
    return _answer({"patrol": uc.patrol_json(out.patrol, _name())}, 200, out.replay)


@bp.get("/workers/<int:worker_id>/day")
@operation(query=DayQuery, responses={200: "WorkerDay"}, roles=(*WORKERS, Role.SUPERVISOR))
def worker_day(worker_id: int, query: DayQuery) -> Response:
    """A worker's day on the map: grids, patrols with tracks, cases, visits, check-in. Tracks
    are the worker's and their community's and town's supervisors' only; a read is logged."""
    day = worker_days.worker_day(context(), actor(), worker_id, query.date, request.path)
    return jsonify(day)
