"""Work logs (/api/v1/work-logs): a worker's day compiled from patrols, check-ins, visits,
reports and verifications, and supervisors' comments (docs/field-work.md). Thin: parse with the
typed edge, call one use case, shape the answer."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify

from server.api.check_in_inputs import WorkLogCommentBody, WorkLogQuery
from server.api.edge import operation
from server.api.serialize import iso
from server.api.util import actor, context, gate_by_policy
from server.domain import years
from server.domain.work_logs import ENTRY_KINDS
from server.errors import ApiError, error_response, use_case_error
from server.models import WorkLogComment
from server.usecases import work_logs
from server.usecases.errors import UseCaseError

bp = Blueprint("work_logs", __name__, url_prefix="/api/v1/work-logs")


bp.before_request(gate_by_policy)


@bp.errorhandler(UseCaseError)
def _refused(err: UseCaseError) -> Response:
    context().db.rollback()
    return error_response(use_case_error(err))


def _day(text: str) -> date:
    """The date of the path: YYYY-MM-DD in the years the system holds (400 otherwise)."""
    try:
        value = date.fromisoformat(text) if len(text) == 10 and text.isascii() else None
    except ValueError:
        value = None
    if value is None or not years.in_range(value):
        raise ApiError(
            400, "validation_failed", "日期应为 YYYY-MM-DD / a date as YYYY-MM-DD",
            {"date": "YYYY-MM-DD"},
        )  # fmt: skip
    return value


def _comment_json(cm: WorkLogComment, authors: dict[int, str]) -> dict[str, Any]:
    return {
        "id": cm.id,
        "uuid": cm.uuid,
        "author": {"id": cm.author_id, "name": authors.get(cm.author_id, "")},
        "text": cm.text,
        "created_at": iso(cm.created_at),
    }


@bp.get("")
@operation(query=WorkLogQuery, responses={200: "WorkLogList", 403: None})
def day_list(query: WorkLogQuery) -> Response:
    """The day of every worker in my jurisdiction (a worker: mine), in figures."""
    lines = work_logs.day_list(context(), actor(), query.day, query.region_id)
    items = [
        {
            "worker": {"id": line.worker.id, "name": line.worker.display_name},
            "date": query.day.isoformat(),
            **line.totals.as_dict(),
            "comments": line.comments,
        }
        for line in lines
    ]
    return jsonify({"date": query.day.isoformat(), "items": items})


@bp.get("/<int:worker_id>/<day>")
@operation(responses={200: "WorkLog", 400: None, 403: None, 404: None})
def worker_day(worker_id: int, day: str) -> Response:
    """One worker's day: the entries in time order, the totals and the comments."""
    found = work_logs.worker_day(context(), actor(), worker_id, _day(day))
    entries = [
        {
            "at": iso(e.at),
            "kind": e.kind.value,
            "label": dict(zip(("zh", "en"), ENTRY_KINDS[e.kind], strict=True)),
            "ref": e.ref,
            "text": e.text,
        }
        for e in found.entries
    ]
    return jsonify(
        {
            "worker": {"id": found.worker.id, "name": found.worker.display_name},
            "date": found.day.isoformat(),
            "entries": entries,
            "totals": {**found.totals.as_dict(), "comments": len(found.comments)},
            "comments": [_comment_json(cm, found.authors) for cm in found.comments],
        }
    )


@bp.post("/<int:worker_id>/<day>/comments")
@operation(
    body=WorkLogCommentBody,
    responses={200: "WorkLogComment", 201: "WorkLogComment", 403: None, 404: None, 409: "Error"},
)
def comment(worker_id: int, day: str, body: WorkLogCommentBody) -> Response:
    """Comment on a worker's day (a supervisor of the worker; append-only, idempotent by uuid)."""
    ctx, who = context(), actor()
    saved = work_logs.comment(ctx, who, worker_id, _day(day), body.given())
    resp = jsonify(_comment_json(saved.comment, {who.id or 0: who.display_name}))
    resp.status_code = 200 if saved.replay else 201
    if saved.replay:
        resp.headers["Idempotent-Replay"] = "true"
    return resp
