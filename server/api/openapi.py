"""The OpenAPI 3.1 document of /api/v1, generated, and a readable page of it.

Nothing here is written by hand per endpoint: paths come from the app's URL map, and each
operation from what its view declared with :func:`server.api.edge.operation` — the pydantic
models that parse its query string and body (``server.api.inputs``) and the models of its
answers (``server.api.outputs``). The statuses follow from the declaration: 400 when there is
input to refuse (or a CSRF token to check), 401 unless public, 403 when roles are limited, 404
with a path id, 413 with a body. A view without a declaration fails ``tests/workflow/
test_openapi.py``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import IntegerConverter, Rule

from server.api import outputs
from server.api.edge import INT32_MAX, Operation, operation_of

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

REF = "#/components/schemas/{model}"
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    304: "Not modified (ETag)",
    400: "Bad input: the fields are named (or a missing CSRF token)",
    401: "Not signed in",
    403: "Your role or jurisdiction may not do this",
    404: "No such object (or not yours to see)",
    409: "Conflict with the current state",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Understood but refused (see the report)",
    429: "Too many attempts: see Retry-After",
}


def _response_model(name: str) -> type[BaseModel]:
    model = getattr(outputs, name, None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise LookupError(f"server.api.outputs has no response model {name!r}")
    return model


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: absent is how a client says "none" (no JSON null)."""
    out = dict(schema)
    options = out.get("anyOf")
    if isinstance(options, list):
        kept = [s for s in options if s.get("type") != "null"]
        if len(kept) == 1:
            out.pop("anyOf")
            out = {**kept[0], **out}
        else:
            out["anyOf"] = kept
    if out.get("default") is None:
        out.pop("default", None)
    return out


def _path_parameters(rule: Rule) -> list[dict[str, Any]]:
    params = []
    for name in sorted(rule.arguments):
        converter = rule._converters.get(name)
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if isinstance(converter, IntegerConverter):
            schema = {"type": "integer", "minimum": 1, "maximum": INT32_MAX}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(op: Operation, defs: dict[str, Any]) -> list[dict[str, Any]]:
    if op.query is None:
        return []
    schema = op.query.model_json_schema(mode="validation", ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        p: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _without_null(prop),
        }
        if prop.get("type") == "array":
            p["style"], p["explode"] = "form", True
        if "description" in prop:
            p["description"] = prop["description"]
        params.append(p)
    return params


def _operation(
    rule: Rule, method: str, view: Any, op: Operation, defs: dict[str, Any]
) -> dict[str, Any]:
    doc = (view.__doc__ or "").strip()
    out: dict[str, Any] = {
        "operationId": f"{rule.endpoint}.{method}",
        "summary": doc.splitlines()[0] if doc else rule.endpoint,
        "tags": [rule.endpoint.split(".")[0]],
        "parameters": _path_parameters(rule) + _query_parameters(op, defs),
    }
    if doc and len(doc.splitlines()) > 1:
        out["description"] = doc
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=op.body.__name__)}}
            },
        }
    elif op.form is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": op.form}},
        }
    elif op.raw_body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {op.raw_body: {"schema": {"type": "string", "format": "binary"}}},
        }
    statuses: dict[int, Any] = dict(op.responses)
    mutating = method != "get"
    has_input = bool(out["parameters"]) or "requestBody" in out
    if has_input or (mutating and not op.public):
        statuses.setdefault(400, None)
    if not op.public:
        statuses.setdefault(401, None)
    if op.roles is not None:
        statuses.setdefault(403, None)
    if rule.arguments:
        statuses.setdefault(404, None)
    if "requestBody" in out:
        statuses.setdefault(413, None)
    out["responses"] = {str(code): _response(code, kind) for code, kind in sorted(statuses.items())}
    if mutating and not op.public:
        out["security"] = [{"cookie": [], "csrf": []}]
    elif not op.public:
        out["security"] = [{"cookie": []}]
    return out


def _response(code: int, kind: Any) -> dict[str, Any]:
    text = STATUS_TEXT.get(code, "answer")
    if code == 304:
        return {"description": text}
    if kind is None:
        kind = "Error" if code >= 400 else None
    if kind is None:
        return {"description": text}
    if kind in outputs.FILES:
        media, schema = outputs.FILES[kind]
        return {"description": text, "content": {media: {"schema": schema}}}
    media = outputs.MEDIA_TYPES.get(kind, "application/json")
    return {"description": text, "content": {media: {"schema": {"$ref": REF.format(model=kind)}}}}


def _components(ops: list[Operation]) -> dict[str, Any]:
    """JSON Schemas of every body and answer model (and what they refer to)."""
    wanted: list[tuple[type[BaseModel], Any]] = []
    seen: set[str] = set()

    def add(model: type[BaseModel], mode: str) -> None:
        if model.__name__ not in seen:
            seen.add(model.__name__)
            wanted.append((model, mode))

    add(outputs.Error, "serialization")
    for op in ops:
        if op.body is not None:
            add(op.body, "validation")
        for kind in op.responses.values():
            if isinstance(kind, str) and kind not in outputs.FILES:
                add(_response_model(kind), "serialization")
    _keys, schema = models_json_schema(wanted, ref_template=REF)
    return dict(schema.get("$defs", {}))


def build_spec() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    defs: dict[str, Any] = {}
    ops: list[Operation] = []
    missing: list[str] = []
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint.startswith("openapi."):
            continue
        view = current_app.view_functions[rule.endpoint]
        op = operation_of(view)
        if op is None:
            missing.append(rule.endpoint)
            op = Operation()
        ops.append(op)
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", f"{{{name}}}").replace(f"<{name}>", f"{{{name}}}")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            m = method.lower()
            paths.setdefault(path, {})[m] = _operation(rule, m, view, op, defs)
    schemas = {**defs, **_components(ops)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wangge 网格化服务管理平台 API",
            "version": "1",
            "description": "Generated from the models that parse the requests and shape the "
            "answers (server/api/inputs.py, outputs.py). See docs/api.md for the contract in "
            "words: idempotency by client UUID, case versions and 409 conflicts, cursor "
            "pagination, JSON errors.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "cookie": {"type": "apiKey", "in": "cookie", "name": "wangge_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
            },
        },
        "x-undeclared": sorted(missing),
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(build_spec())


@bp.get("/docs")
def docs_page() -> str:
    return render_template("api_docs.html", spec=build_spec())
