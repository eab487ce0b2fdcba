"""No traffic on a database whose schema is not at the head revision.

Without it an unmigrated database answered ``/healthz`` with 503 but a sign-in with a 500 and
Open311 with "general service error". Every request but ``/healthz`` now gets a 503 naming the
fix (JSON for the API and Open311, a plain page otherwise). Once the schema is at head it is not
looked at again (a deployment migrates before it starts the new code); while it is not, it is
looked at again at most every ``RECHECK_SECONDS``. ``flask db upgrade`` is unaffected: the
command line sends no request.
"""

from __future__ import annotations

import threading
import time

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from server import migrate

RECHECK_SECONDS = 3.0
MESSAGE = (
    "数据库未迁移，请运行 flask --app wsgi db upgrade / the database schema is not migrated: "
    "run flask --app wsgi db upgrade"
)


class SchemaGuard:
    def __init__(self, app: Flask) -> None:
        self.engine = app.extensions["wangge.engine"]
        self.head = migrate.head_revision()
        self.at_head = False
        self.checked = -RECHECK_SECONDS
        self._lock = threading.Lock()

    def ok(self) -> bool:
        if self.at_head:
            return True
        with self._lock:
            now = time.monotonic()
            if not self.at_head and now - self.checked >= RECHECK_SECONDS:
                self.checked = now
                try:
                    self.at_head = migrate.current_revision(self.engine) == self.head
                except SQLAlchemyError:
                    self.at_head = False
            return self.at_head

    def reset(self) -> None:
        """Look again at the next request (after an in-process upgrade)."""
        with self._lock:
            self.at_head, self.checked = False, -RECHECK_SECONDS

    def before_request(self) -> Response | None:
        if request.path == "/healthz" or self.ok():
            return None
        wants_json = request.path.startswith(("/api/", "/open311/")) or (
            request.accept_mimetypes.best == "application/json"
        )
        if wants_json:
            resp = jsonify({"error": "schema_not_migrated", "message": MESSAGE})
        else:
            resp = Response(
                f"<!doctype html><meta charset=utf-8><title>503</title><p>{MESSAGE}</p>",
                mimetype="text/html",
            )
        resp.status_code = 503
        resp.headers["Retry-After"] = "30"
        return resp


def install(app: Flask) -> SchemaGuard:
    guard = SchemaGuard(app)
    app.extensions["wangge.schema_guard"] = guard
    # Ahead of every other check (the CSRF check runs before the blueprints' own).
    app.before_request_funcs.setdefault(None, []).insert(0, guard.before_request)
    return guard
