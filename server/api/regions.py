"""The region tree for pickers and filters: any signed-in user, within their jurisdiction."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from server.api.edge import operation
from server.api.inputs import RegionShapesQuery, RegionsQuery
from server.api.util import actor, context, login_required_api
from server.usecases.admin import regions as uc_regions

bp = Blueprint("regions", __name__, url_prefix="/api/v1")


@bp.get("/regions")
@operation(query=RegionsQuery, responses={200: "Regions", 403: None, 404: None})
@login_required_api
def children(query: RegionsQuery) -> Response:
    """Children of ``parent``; without it, the user's own region and its children."""
    items = uc_regions.regions_children(context(), actor(), query.parent)
    return jsonify({"items": items})


@bp.get("/regions.geojson")
@operation(query=RegionShapesQuery, responses={200: None})
@login_required_api
def shapes(query: RegionShapesQuery) -> Response:
    """Boundaries of my county, towns and communities (``level``), names at a label point: the
    maps draw them under the grids, so they orient a person without a basemap."""
    body = uc_regions.regions_collection(context(), actor(), query.level.split(","))
    resp = jsonify(body)
    resp.mimetype = "application/geo+json"
    resp.headers["Cache-Control"] = "private, max-age=300"
    return resp


@bp.get("/regions/tree")
@operation(responses={200: "Regions"})
@login_required_api
def tree() -> Response:
    """The user's regions nested county → towns → communities."""
    return jsonify({"items": uc_regions.regions_tree(context(), actor())})
