"""The OpenAPI document covers every /api/v1 endpoint and is valid OpenAPI 3."""

from __future__ import annotations

from flask import Flask


def test_openapi_lists_every_api_route(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.endpoint.startswith("openapi."):
            continue
        path = rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, (method, path)
    case_post = spec["paths"]["/api/v1/cases"]["post"]
    assert "uuid" in case_post["requestBody"]["content"]["application/json"]["schema"]["required"]


def test_openapi_validates(app: Flask) -> None:
    from openapi_spec_validator import validate

    validate(app.test_client().get("/api/v1/openapi.json").get_json())


def test_docs_page(app: Flask) -> None:
    html = app.test_client().get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/cases/{case_id}/actions" in html and "openapi.json" in html
