"""The OpenAPI 3 document of /api/v1, and a readable page of it.

Paths come from the app's own URL map, so every endpoint is listed; summaries come from the view
docstrings; request bodies and the main answers have schemas written here.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "stable machine code"},
        "message": {"type": "string", "description": "中文 / English"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
        "case": {"$ref": "#/components/schemas/Case"},
    },
}
REF = {"$ref": "#/components/schemas/Ref"}
CASE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "uuid": {"type": "string", "format": "uuid"},
        "number": {"type": "string"},
        "state": {
            "type": "string",
            "enum": [
                "reported",
                "accepted",
                "dispatched",
                "in_progress",
                "resolved",
                "closed",
                "rejected",
                "suspended",
            ],
        },
        "version": {"type": "integer"},
        "source": {"type": "string", "enum": ["field", "hotline", "open311", "console"]},
        "category": REF,
        "description": {"type": "string"},
        "lon": {"type": "number", "nullable": True},
        "lat": {"type": "number", "nullable": True},
        "location_status": {"type": "string", "enum": ["inside", "nearest", "outside", "none"]},
        "grid": REF,
        "community": REF,
        "town": REF,
        "caller_phone": {"type": "string", "description": "masked unless your role needs it"},
        "department": REF,
        "deadline_at": {"type": "string", "format": "date-time", "nullable": True},
        "overdue": {"type": "boolean"},
        "time_left_hours": {"type": "number", "nullable": True},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
REPORT = {
    "type": "object",
    "required": ["uuid"],
    "properties": {
        "uuid": {"type": "string", "format": "uuid", "description": "client-generated"},
        "category_id": {"type": "integer"},
        "category_code": {"type": "string", "pattern": "^[0-9]{4}$"},
        "description": {"type": "string", "maxLength": 4000},
        "lon": {"type": "number"},
        "lat": {"type": "number"},
        "accuracy_m": {"type": "number"},
        "address": {"type": "string"},
        "photos": {"type": "array", "items": {"type": "string", "format": "uuid"}},
        "device_time": {"type": "string", "format": "date-time"},
        "urgency": {"type": "string", "enum": ["normal", "urgent"]},
        "self_handle": {"type": "boolean"},
        "caller_name": {"type": "string"},
        "caller_phone": {"type": "string"},
    },
}
ACTION = {
    "type": "object",
    "required": ["uuid", "action"],
    "properties": {
        "uuid": {"type": "string", "format": "uuid"},
        "action": {"type": "string"},
        "version": {"type": "integer", "description": "the version the client saw"},
        "note": {"type": "string"},
        "reason": {"type": "string"},
        "passed": {"type": "boolean"},
        "approved": {"type": "boolean"},
        "department_id": {"type": "integer"},
        "urgency": {"type": "string", "enum": ["normal", "urgent"]},
        "rating": {
            "type": "string",
            "enum": ["satisfied", "basically_satisfied", "unsatisfied"],
        },
        "duplicate_of": {"type": "integer"},
        "hours": {"type": "number"},
        "days": {"type": "integer"},
        "photos": {"type": "array", "items": {"type": "string", "format": "uuid"}},
        "device_time": {"type": "string", "format": "date-time"},
    },
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/cases"): REPORT,
    ("post", "/api/v1/cases/{case_id}/actions"): ACTION,
    ("post", "/api/v1/auth/login"): {
        "type": "object",
        "required": ["username", "password"],
        "properties": {
            "username": {"type": "string"},
            "password": {"type": "string"},
            "remember": {"type": "boolean"},
        },
    },
    ("post", "/api/v1/uploads"): {
        "type": "object",
        "required": ["uuid", "total_bytes"],
        "properties": {
            "uuid": {"type": "string", "format": "uuid"},
            "total_bytes": {"type": "integer"},
        },
    },
}
QUERY: dict[str, list[str]] = {
    "/api/v1/cases": [
        "state",
        "region",
        "grid",
        "department",
        "category",
        "source",
        "urgency",
        "overdue",
        "q",
        "from",
        "to",
        "mine",
        "sort",
        "cursor",
        "limit",
        "counts",
    ],
    "/api/v1/changes": ["after", "wait"],
    "/api/v1/grids.geojson": ["region", "zoom", "mine"],
    "/api/v1/metrics": ["scope", "from", "to", "period", "as_of", "by"],
    "/api/v1/metrics/cases": [
        "scope",
        "from",
        "to",
        "period",
        "as_of",
        "by",
        "metric",
        "part",
        "group",
        "offset",
        "limit",
    ],
    "/api/v1/metrics/scorecards": ["scope", "from", "to", "period", "as_of", "by", "kind"],
    "/api/v1/metrics/export.xlsx": ["scope", "from", "to", "period", "as_of", "by", "report"],
    "/api/v1/metrics/export.csv": ["scope", "from", "to", "period", "as_of", "by", "report"],
}


def _path(rule: str) -> tuple[str, list[str]]:
    names = re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", rule)
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule), names


def build_spec() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint.startswith("openapi."):
            continue
        path, params = _path(rule.rule)
        view = current_app.view_functions[rule.endpoint]
        doc = (view.__doc__ or "").strip()
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            m = method.lower()
            op: dict[str, Any] = {
                "operationId": f"{rule.endpoint}.{m}",
                "summary": doc.splitlines()[0] if doc else rule.endpoint,
                "tags": [rule.endpoint.split(".")[0]],
                "parameters": [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                    for p in params
                ]
                + [
                    {"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
                    for q in QUERY.get(path, [])
                ],
                "responses": {
                    "200": {"description": "OK"},
                    "400": {"$ref": "#/components/responses/Error"},
                    "401": {"$ref": "#/components/responses/Error"},
                    "403": {"$ref": "#/components/responses/Error"},
                    "404": {"$ref": "#/components/responses/Error"},
                    "409": {"$ref": "#/components/responses/Error"},
                },
            }
            if doc and len(doc.splitlines()) > 1:
                op["description"] = doc
            body = BODIES.get((m, path))
            if body is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                }
            if m != "get" and not path.startswith("/api/v1/auth/login"):
                op["security"] = [{"cookie": [], "csrf": []}]
            paths.setdefault(path, {})[m] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Wangge 网格化服务管理平台 API",
            "version": "1",
            "description": "See docs/api.md for the contract in words: idempotency by client "
            "UUID, case versions and 409 conflicts, cursor pagination, JSON errors.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {
                "Error": ERROR,
                "Case": CASE,
                "Ref": {
                    "type": "object",
                    "nullable": True,
                    "properties": {
                        "id": {"type": "integer"},
                        "code": {"type": "string"},
                        "name": {"type": "string"},
                    },
                },
                "Report": REPORT,
                "Action": ACTION,
            },
            "responses": {
                "Error": {
                    "description": "an error",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
            },
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": "wangge_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(build_spec())


@bp.get("/docs")
def docs_page() -> str:
    return render_template("api_docs.html", spec=build_spec())
