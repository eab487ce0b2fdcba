"""The per-request database session and the Flask extensions."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app, g
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session, sessionmaker

from server.config import Settings

login_manager = LoginManager()
csrf = CSRFProtect()


def settings() -> Settings:
    return cast(Settings, current_app.extensions["wangge.settings"])


def session_factory(app: Flask | None = None) -> sessionmaker[Session]:
    app = app or current_app
    return cast(sessionmaker[Session], app.extensions["wangge.sessions"])


def db() -> Session:
    """The request's session, opened on first use and closed when the request ends."""
    if "db" not in g:
        g.db = session_factory()()
    return cast(Session, g.db)


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
