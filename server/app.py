"""The application factory."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from server.api.edge import install as install_edge
from server.api.longpoll import PollSlots
from server.config import Settings
from server.csp import content_security_policy
from server.db import make_engine, make_session_factory, redact
from server.errors import register_error_handlers
from server.extensions import close_db, csrf, db, login_manager
from server.logs import install as install_log_redaction
from server.models import User
from server.models.types import utcnow
from server.schema_guard import install as install_schema_guard
from server.security import signed_in_user


class StartupError(SystemExit):
    """The app cannot start (e.g. the database is unreachable): a message, not a traceback."""


def _check_database(app: Flask, settings: Settings) -> None:
    engine = app.extensions["wangge.engine"]
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        msg = (
            f"无法连接数据库 / cannot reach the database at {redact(settings.database_url)}: "
            f"{reason}\nCheck WANGGE_DATABASE_URL (see README, Configuration)."
        )
        print(msg, file=sys.stderr)
        raise StartupError(msg) from None


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    settings = settings or Settings.from_env()
    for key, value in overrides.items():
        setattr(settings, key, value)
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    if settings.proxy_count:
        # Behind nginx every request comes from 127.0.0.1: take the client's address (and the
        # scheme) from the last WANGGE_PROXY_COUNT hops of X-Forwarded-For / -Proto, which the
        # proxies append; anything a client put further left is ignored (docs/security.md).
        n = settings.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_NAME="wangge_session",
        PERMANENT_SESSION_LIFETIME=timedelta(days=settings.session_days),
        REMEMBER_COOKIE_DURATION=timedelta(days=settings.session_days),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.cookie_secure,
        REMEMBER_COOKIE_NAME="wangge_remember",
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session; a field phone may stay offline for days
        WTF_CSRF_HEADERS=["X-CSRFToken", "X-CSRF-Token"],
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 2**20,
        JSON_AS_ASCII=False,
        WANGGE_MAX_PLAN_BYTES=settings.max_plan_bytes,
        WANGGE_LONG_POLL_SECONDS=settings.long_poll_seconds,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    app.extensions["wangge.settings"] = settings
    app.extensions["wangge.engine"] = engine
    app.extensions["wangge.poll_slots"] = PollSlots(
        settings.long_poll_per_user, settings.long_poll_total
    )
    app.extensions["wangge.clock"] = utcnow  # tests replace it (e.g. the calendar warnings)
    app.extensions["wangge.sessions"] = make_session_factory(engine)
    if settings.check_db_on_start:
        _check_database(app, settings)

    logging.basicConfig(level=logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    install_log_redaction()  # no Open311 key in the development server's request log
    app.teardown_appcontext(close_db)
    csrf.init_app(app)
    install_schema_guard(app)  # first: no request reaches a handler on an unmigrated database
    login_manager.init_app(app)
    login_manager.login_view = "pages.login_page"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        # "user:epoch:sign-in key" from the session or the remember cookie (server/security.py)
        return signed_in_user(db(), user_id)

    @login_manager.unauthorized_handler
    def _unauthorized() -> Any:
        from flask import redirect, url_for

        from server.errors import json_error

        if request.path.startswith("/api/") or request.is_json:
            return json_error(401, "unauthorized", "请先登录 / sign in first")
        return redirect(url_for("pages.login_page", next=request.full_path))

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault(
            "Content-Security-Policy",
            content_security_policy(
                settings.basemap_url, service_worker=request.path == "/app/sw.js"
            ),
        )
        if request.path.startswith("/api/"):
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    register_error_handlers(app)
    install_edge(app)  # bounded integer path ids, before the blueprints' URL rules
    _register_blueprints(app)
    _register_cli(app)

    @app.get("/healthz")
    def health() -> Response:
        """Checks the database, the schema revision and the statutory calendar."""
        from server.migrate import current_revision, head_revision

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

    return app


def _register_blueprints(app: Flask) -> None:
    from server.api import (
        admin,
        auth,
        calendar,
        cases,
        metrics,
        openapi,
        reference,
        regions,
        uploads,
    )
    from server.open311 import bp as open311_bp
    from server.pages import bp as pages

    app.register_blueprint(auth.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(uploads.bp)
    app.register_blueprint(reference.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(regions.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(calendar.bp)
    app.register_blueprint(open311_bp)
    app.register_blueprint(pages)


def _register_cli(app: Flask) -> None:
    from server.cli import register

    register(app)
