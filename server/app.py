"""The application factory."""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from typing import Any

from flask import Flask, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from server.api.auth import install_login
from server.api.edge import install as install_edge
from server.api.feed import Feed
from server.api.longpoll import PollSlots
from server.api.streams import Hub
from server.config import Settings
from server.csp import install_security_headers
from server.db import make_engine, make_session_factory, redact
from server.errors import register_error_handlers
from server.extensions import close_db, csrf
from server.fetch_metadata import install as install_fetch_metadata
from server.health import install as install_health
from server.logs import install as install_log_redaction
from server.models.types import utcnow
from server.schema_guard import install as install_schema_guard
from server.usecases.context import Context, calendar_from


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
        WANGGE_STREAM_SECONDS=settings.stream_seconds,
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
    # One watcher of changes per process for every console's long poll (started on first use,
    # so in each gunicorn worker after the fork).
    feed = Feed(lambda: make_session_factory(make_engine(settings.database_url, pool_size=1)))
    app.extensions["wangge.feed"] = feed
    # Every console's stream of changes, fed by the same watcher (server/api/streams.py).
    app.extensions["wangge.streams"] = Hub(
        feed,
        lambda db: Context(
            db=db,
            calendar=calendar_from(settings.office_hours, settings.timezone, db),
            data_key_text=settings.data_key,
        ),
    )
    app.extensions["wangge.stream_slots"] = PollSlots(
        settings.stream_per_user, settings.stream_total
    )
    if settings.check_db_on_start:
        _check_database(app, settings)

    logging.basicConfig(level=logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    install_log_redaction()  # no Open311 key in the development server's request log
    if not settings.data_key:
        logging.getLogger("wangge").warning(
            "WANGGE_DATA_KEY is not set: identity numbers and phones are encrypted with the "
            "PUBLIC development key and are NOT protected. Set WANGGE_DATA_KEY (and "
            "WANGGE_REQUIRE_DATA_KEY=1 in production, which refuses to start without it); "
            'docs/operations.md, "Data key".'
        )
    app.teardown_appcontext(close_db)
    csrf.init_app(app)
    install_fetch_metadata(app)  # another site's request to the API is refused (403)
    install_schema_guard(app)  # first: no request reaches a handler on an unmigrated database
    install_login(app)
    install_security_headers(app, settings.basemap_url)
    register_error_handlers(app)
    install_edge(app)  # bounded integer path ids, before the blueprints' URL rules
    _register_blueprints(app)
    from server.usecases import address_search

    address_search.install()  # places written through the ORM keep their search tokens
    install_health(app)
    install_sweep(app)
    _register_cli(app)
    return app


def install_sweep(app: Flask) -> None:
    """Now and then (``WANGGE_APP_SWEEP_SECONDS``, per process) run the 督办 sweep after a
    response has been sent, on a session of its own: cards appear even where no cron runs
    ``flask cases sweep`` (server/usecases/stages.py). At most hourly the same sweep deletes
    the unfinished uploads left idle for ``WANGGE_UPLOAD_EXPIRY_DAYS`` (``flask uploads
    expire``; server/usecases/pending_uploads.py)."""
    every = app.extensions["wangge.settings"].app_sweep_seconds
    if every <= 0:
        return
    from server.usecases import pending_uploads, stages

    def run() -> None:
        from server.api.util import context

        with app.app_context():
            stages.maybe_sweep(context, every)
        with app.app_context():  # a session of its own, whatever the 督办 sweep left
            pending_uploads.maybe_expire(context)

    @app.after_request
    def _sweep_later(response: Response) -> Response:
        if stages.sweep_due(every):
            response.call_on_close(run)
        return response


def _register_blueprints(app: Flask) -> None:
    from server.api import (
        admin,
        auth,
        base_data,
        base_io,
        calendar,
        cases,
        check_ins,
        metrics,
        openapi,
        patrols,
        reference,
        regions,
        uploads,
        work_logs,
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
    app.register_blueprint(base_data.bp)
    app.register_blueprint(base_io.bp)
    app.register_blueprint(patrols.bp)
    app.register_blueprint(check_ins.bp)
    app.register_blueprint(work_logs.bp)
    app.register_blueprint(open311_bp)
    app.register_blueprint(pages)


def _register_cli(app: Flask) -> None:
    from server.cli import register

    register(app)
