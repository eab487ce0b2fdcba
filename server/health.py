"""``GET /healthz``: the database, the schema revision and the statutory calendar, for operators
and load balancers (docs/operations.md). 200 when all is well, 503 with the reasons otherwise."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from server.extensions import db


def health() -> Response:
    """Checks the database, the schema revision and the statutory calendar."""
    from server.migrate import current_revision, head_revision

    engine = current_app.extensions["wangge.engine"]
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", exc))[:200]
        resp = jsonify({"status": "error", "database": "unreachable", "detail": detail})
        resp.status_code = 503
        return resp
    head = head_revision()
    ok = current == head
    body: dict[str, Any] = {
        "status": "ok" if ok else "degraded",
        "database": engine.dialect.name,
        "schema": current,
        "schema_head": head,
        "reasons": [] if ok else [f"schema: {current} is not {head} (flask db upgrade)"],
    }
    if ok:
        # Serving, but an operator must act: the calendar of this or next year is unknown.
        from server.api.calendar import today
        from server.usecases.calendar import statutory_for

        body["reasons"] = statutory_for(db()).warnings(today())
        if body["reasons"]:
            body["status"] = "degraded"
    resp = jsonify(body)
    resp.status_code = 200 if ok else 503
    return resp


def install(app: Flask) -> None:
    app.add_url_rule("/healthz", "health", health, methods=["GET"])
