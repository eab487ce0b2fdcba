"""Photo uploads in pieces, and serving photos to those who may see them."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, send_file
from sqlalchemy import select

from server.api.edge import operation
from server.api.inputs import PieceQuery, UploadBody
from server.api.serialize import iso
from server.api.util import actor, context, login_required_api
from server.errors import ApiError
from server.models import Attachment, Incident, Visit
from server.usecases import photos, policy

bp = Blueprint("uploads", __name__, url_prefix="/api/v1")


def _state(att: Attachment) -> dict[str, object]:
    body: dict[str, object] = {
        "uuid": att.uuid,
        "status": att.status,
        "received_bytes": att.received_bytes,
        "total_bytes": att.total_bytes,
        "captured_at": iso(att.captured_at),
        "watermarked": bool(att.watermarked),
        "source": att.source,
    }
    if att.status == "ready":
        body.update(
            width=att.width,
            height=att.height,
            url=f"/api/v1/photos/{att.uuid}",
            thumb_url=f"/api/v1/photos/{att.uuid}/thumb",
        )
    return body


@bp.post("/uploads")
@operation(body=UploadBody, responses={200: "Upload", 201: "Upload", 409: None, 429: None})
@login_required_api
def begin(body: UploadBody) -> Response:
    """Start a photo upload (or look it up to resume it); idempotent by ``uuid``.

    A new upload beyond the user's cap on unfinished ones (``WANGGE_PENDING_UPLOADS_PER_USER``
    open, ``WANGGE_PENDING_UPLOAD_BYTES_PER_USER`` declared) is refused: 429
    ``too_many_pending_uploads`` with ``Retry-After``; a resume is always answered. An
    unfinished upload idle for ``WANGGE_UPLOAD_EXPIRY_DAYS`` is deleted: begun again, it
    answers 201 at 0 bytes."""
    evidence = photos.Evidence.of(body.given())
    begun = photos.start(context(), actor(), body.uuid, body.total_bytes, evidence)
    resp = jsonify(_state(begun.att))
    resp.status_code = 201 if begun.created else 200
    return resp


@bp.get("/uploads/<upload_uuid>")
@operation(responses={200: "Upload", 404: None})
@login_required_api
def status(upload_uuid: str) -> Response:
    """How much of an upload has arrived."""
    return jsonify(_state(photos.get(context(), actor(), upload_uuid)))


@bp.put("/uploads/<upload_uuid>")
@operation(
    query=PieceQuery,
    raw_body="application/octet-stream",
    responses={200: "Upload", 404: None, 409: None, 413: None, 415: None},
)
@login_required_api
def piece(upload_uuid: str, query: PieceQuery) -> Response:
    """Send the bytes of an upload from ``offset``; the last piece finishes it."""
    data = request.get_data(cache=False)
    att = photos.put_piece(context(), actor(), upload_uuid, query.offset, data)
    return jsonify(_state(att))


def _photo(upload_uuid: str, thumb: bool) -> Response:
    ctx, who = context(), actor()
    att = ctx.db.scalar(select(Attachment).where(Attachment.uuid == upload_uuid))
    allowed = False
    if att is not None and att.status == "ready" and att.sha256:
        case = ctx.db.get(Incident, att.incident_id) if att.incident_id is not None else None
        # the visit as the visit list shows it to this user: None when it is withheld (a visit
        # to someone in a sensitive key group, from a county dispatcher or an admin)
        visit = (
            ctx.db.scalar(select(Visit).where(Visit.id == att.visit_id, policy.visits_clause(who)))
            if att.visit_id is not None
            else None
        )
        allowed = policy.may_see_photo(who, att.uploader_id, case, visit)
    if not allowed or att is None or att.sha256 is None:
        raise ApiError(404, "not_found", "照片不存在或无权查看 / no such photo")
    path = photos.stored_path(ctx, att.sha256, thumb=thumb)
    resp = send_file(path, mimetype="image/jpeg", max_age=86400, etag=True, conditional=True)
    resp.headers["Cache-Control"] = "private, max-age=86400"
    return resp


@bp.get("/photos/<upload_uuid>")
@operation(responses={200: "JPEG", 304: None, 404: None})
@login_required_api
def photo(upload_uuid: str) -> Response:
    """A photo (JPEG) of a case or a visit I may see, or my own upload."""
    return _photo(upload_uuid, thumb=False)


@bp.get("/photos/<upload_uuid>/thumb")
@operation(responses={200: "JPEG", 304: None, 404: None})
@login_required_api
def thumb(upload_uuid: str) -> Response:
    """A photo's thumbnail (JPEG)."""
    return _photo(upload_uuid, thumb=True)
