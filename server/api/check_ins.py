"""Check-ins (/api/v1/check-ins): 签到, 补签 and their approval (docs/field-work.md). Thin:
parse with the typed edge, call one use case, shape the answer.

Who may call what is ``server.usecases.policy.ENDPOINT_ROLES`` (checked before every view);
which check-ins they see and decide, the policy's field-work functions.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import select

from server.api.check_in_inputs import CheckInBody, CheckInDecisionBody, CheckInQuery
from server.api.edge import operation
from server.api.serialize import iso
from server.api.util import actor, context, gate_by_policy
from server.domain.fieldwork import CHECK_IN_STATUS_LABELS, CheckInStatus
from server.errors import error_response, use_case_error
from server.models import CheckIn, User
from server.usecases import check_ins
from server.usecases.errors import UseCaseError

bp = Blueprint("check_ins", __name__, url_prefix="/api/v1")


bp.before_request(gate_by_policy)


@bp.errorhandler(UseCaseError)
def _refused(err: UseCaseError) -> Response:
    """A 409 carries the check-in that stands (``existing``), as the caller may see it."""
    record = err.extra.pop("record", None)
    if isinstance(record, CheckIn):
        err.extra["existing"] = check_in_json([record])[0]
    context().db.rollback()
    return error_response(use_case_error(err))


def check_in_json(rows: list[CheckIn]) -> list[dict[str, Any]]:
    """Check-ins as the API answers them (the names of workers and deciders in one query)."""
    ids = sorted({r.worker_id for r in rows} | {r.decided_by_id for r in rows if r.decided_by_id})
    names: dict[int, str] = (
        dict(context().db.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
        if ids
        else {}
    )

    def person(uid: int | None) -> dict[str, Any] | None:
        return None if uid is None else {"id": uid, "name": names.get(uid, "")}

    out = []
    for r in rows:
        zh, en = CHECK_IN_STATUS_LABELS[CheckInStatus(r.status)]
        out.append(
            {
                "id": r.id,
                "uuid": r.uuid,
                "worker": person(r.worker_id),
                "day": r.day.isoformat(),
                "at": iso(r.at),
                "received_at": iso(r.received_at),
                "grid_code": r.grid_code,
                "late": r.late,
                "makeup": r.makeup,
                "reason": r.reason,
                "status": r.status,
                "status_label": {"zh": zh, "en": en},
                "decided_by": person(r.decided_by_id),
                "decided_at": iso(r.decided_at),
                "decision_note": r.decision_note or "",
                "lon": r.lon,
                "lat": r.lat,
                "accuracy_m": r.accuracy_m,
            }
        )
    return out


@bp.post("/check-ins")
@operation(
    body=CheckInBody,
    responses={200: "CheckIn", 201: "CheckIn", 403: None, 409: "Error", 422: "Error"},
)
def create(body: CheckInBody) -> Response:
    """签到 today inside one of my grids (late after the county's deadline), or 补签 a past day
    (at most 7 back) with a reason, waiting for a supervisor's approval."""
    saved = check_ins.create(context(), actor(), body.given())
    resp = jsonify(check_in_json([saved.check_in])[0])
    resp.status_code = 200 if saved.replay else 201
    if saved.replay:
        resp.headers["Idempotent-Replay"] = "true"
    return resp


@bp.get("/check-ins")
@operation(query=CheckInQuery, responses={200: "CheckInPage", 403: None})
def listing(query: CheckInQuery) -> Response:
    """My check-ins (a worker), or those in my jurisdiction (a supervisor), newest first."""
    rows, cursor = check_ins.listing(
        context(),
        actor(),
        status=query.status,
        day=query.day,
        worker_id=query.worker_id,
        cursor=query.cursor,
        limit=query.limit,
    )
    return jsonify({"items": check_in_json(rows), "next_cursor": cursor})


@bp.post("/check-ins/<int:check_in_id>/decision")
@operation(body=CheckInDecisionBody, responses={200: "CheckIn", 403: None, 404: None, 409: "Error"})
def decide(check_in_id: int, body: CheckInDecisionBody) -> Response:
    """Approve or reject a pending 补签 in my jurisdiction (never my own)."""
    row = check_ins.decide(context(), actor(), check_in_id, body.decision, body.note)
    return jsonify(check_in_json([row])[0])
