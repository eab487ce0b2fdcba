"""Reference data: the bootstrap bundle, the workflow table and grid polygons for maps."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from server.api.auth import user_json
from server.api.edge import operation
from server.api.inputs import GridsQuery
from server.api.util import actor, context, login_required_api
from server.domain import vocabulary
from server.domain.levels import level_labels
from server.domain.workflow import rules_table
from server.errors import ApiError, error_response
from server.extensions import db, settings
from server.models import Category, Department
from server.usecases import grid_map_shapes, policy, routing

bp = Blueprint("reference", __name__, url_prefix="/api/v1")


def categories_json(include_inactive: bool = False) -> list[dict[str, Any]]:
    rows = list(db().scalars(select(Category).order_by(Category.code)))
    majors = {c.id: c for c in rows if c.parent_id is None}
    out = []
    for c in rows:
        if c.parent_id is None or (not c.active and not include_inactive):
            continue
        major = majors.get(c.parent_id)
        out.append(
            {
                "id": c.id,
                "code": c.code,
                "name": c.name,
                "name_en": c.name_en,
                "major_code": major.code if major else c.code[:2],
                "major_name": major.name if major else "",
                "limit_value": c.limit_value,
                "limit_unit": c.limit_unit,
                "urgent_hours": c.urgent_hours,
                "default_department_id": c.default_department_id,
                "active": c.active,
            }
        )
    return out


def departments_json() -> list[dict[str, Any]]:
    """The departments the signed-in user may refer to (the policy decides)."""
    session = db()
    where = policy.departments_clause(session, actor())
    return [
        {
            "id": d.id,
            "code": d.code,
            "name": d.name,
            "active": d.active,
            # the centre the department belongs to (it dispatches to it; None: every centre)
            "centre_id": routing.centre_of_region(session, d.region_id),
        }
        for d in session.scalars(select(Department).where(where).order_by(Department.code))
    ]


def workflow_json() -> dict[str, Any]:
    """Every name of the vocabulary with its zh/en labels, the open states and the rules."""
    return {
        **vocabulary.labels(),
        "open_states": vocabulary.open_state_names(),
        "levels": level_labels(),
        "rules": rules_table(),
    }


@bp.get("/workflow")
@operation(responses={200: "Workflow"}, public=True)
def workflow() -> Response:
    """The workflow table: states, actions, roles and the rules between them."""
    return jsonify(workflow_json())


@bp.get("/bootstrap")
@operation(responses={200: "Bootstrap"})
@login_required_api
def bootstrap() -> Response:
    """Everything a client caches to work offline."""
    cfg = settings()
    who = actor()
    from server.api.util import me

    return jsonify(
        {
            "user": user_json(me()),
            "csrf_token": generate_csrf(),
            "categories": categories_json(),
            "departments": departments_json(),
            "workflow": workflow_json(),
            "config": {
                "basemap_url": cfg.basemap_url,
                "basemap_attribution": cfg.basemap_attribution,
                "timezone": cfg.timezone,
                "max_photos": 6,
                "max_upload_bytes": cfg.max_upload_bytes,
                "locate_tolerance_m": cfg.locate_tolerance_m,
                "region_id": who.region_id,
            },
        }
    )


@bp.errorhandler(grid_map_shapes.UnknownRegion)
def _unknown_region(err: grid_map_shapes.UnknownRegion) -> Response:
    return error_response(ApiError(404, "not_found", "未知区域 / unknown region"))


@bp.get("/grids.geojson")
@operation(query=GridsQuery, responses={200: "GridCollection", 304: None, 403: None, 404: None})
@login_required_api
def grids_geojson(query: GridsQuery) -> Response:
    """Active grids as GeoJSON, simplified for ``zoom``; ETag + gzip."""
    ctx, who = context(), actor()
    collection, tag = grid_map_shapes.grids_collection(
        ctx, who, region=query.region, zoom=query.zoom, mine=query.mine
    )
    etag = hashlib.sha256(f"{tag}".encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        resp = Response(status=304)
        resp.set_etag(etag)
        return resp
    raw = json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode()
    resp = Response(raw, mimetype="application/geo+json")
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        resp.set_data(gzip.compress(raw, compresslevel=6))
        resp.headers["Content-Encoding"] = "gzip"
        resp.vary.add("Accept-Encoding")
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "private, no-cache"
    resp.vary.add("Cookie")  # the answer depends on who asks (the ETag too: see grid_map_shapes)
    return resp
