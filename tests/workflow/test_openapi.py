"""The OpenAPI document is generated from the edge models, covers every /api/v1 endpoint and is
valid OpenAPI 3.1 (the schemathesis run in tests/api relies on all of this)."""

from __future__ import annotations

from flask import Flask


def _spec(app: Flask) -> dict:
    return app.test_client().get("/api/v1/openapi.json").get_json()


def test_openapi_lists_every_api_route(app: Flask) -> None:
    spec = _spec(app)
    assert spec["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint.startswith("openapi."):
            continue
        path = rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, (method, path)
    case_post = spec["paths"]["/api/v1/cases"]["post"]
    ref = case_post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert "uuid" in body["required"]


def test_every_view_declares_its_operation(app: Flask) -> None:
    """A new endpoint must say what it reads and answers (server.api.edge.operation)."""
    assert _spec(app)["x-undeclared"] == []


def test_ids_are_integers_and_statuses_are_declared(app: Flask) -> None:
    spec = _spec(app)
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for p in op["parameters"]:
                if p["in"] == "path" and p["name"].endswith("_id"):
                    assert p["schema"]["type"] == "integer", (path, p)
                    assert p["schema"]["maximum"] == 2**31 - 1
            codes = set(op["responses"])
            if "{" in path:
                assert "404" in codes, (method, path)
            if op.get("security"):
                assert "401" in codes, (method, path)
            if op["parameters"] or "requestBody" in op:
                assert "400" in codes, (method, path)
    act = spec["paths"]["/api/v1/cases/{case_id}/actions"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "413"} <= set(act["responses"])
    conflict = act["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert conflict.endswith("/Conflict")
    listing = spec["paths"]["/api/v1/cases"]["get"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")
    assert limit["schema"]["type"] == "integer" and limit["schema"]["minimum"] == 1
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert {"415", "429"} <= set(login["responses"])


def test_the_document_follows_the_parsing_models(app: Flask) -> None:
    """The document's body schema is the model's: a change to the model changes the document."""
    from server.api.inputs import ActionBody

    schemas = _spec(app)["components"]["schemas"]
    doc = schemas["ActionBody"]
    model = ActionBody.model_json_schema(mode="validation")
    assert set(doc["properties"]) == set(model["properties"])
    lon = doc["properties"]["lon"]["anyOf"][0]
    assert (lon["minimum"], lon["maximum"]) == (-180, 180)
    assert doc["properties"]["self_handle" if "self_handle" in doc["properties"] else "passed"]


def test_openapi_validates(app: Flask) -> None:
    from openapi_spec_validator import validate

    validate(_spec(app))


def test_docs_page(app: Flask) -> None:
    html = app.test_client().get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/cases/{case_id}/actions" in html and "openapi.json" in html
    assert "multipart/form-data" in html  # the plan upload's form
