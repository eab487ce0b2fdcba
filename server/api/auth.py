"""Sign-in, sign-out and the current user (docs/security.md, "Accounts and sessions")."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from server.api.edge import operation
from server.api.inputs import LoginBody, LogoutBody
from server.api.util import json_body, me
from server.errors import ApiError, json_error
from server.extensions import csrf, db, login_manager, settings
from server.models import User
from server.security import (
    SignInResult,
    end_sign_in,
    sign_in,
    signed_in_user,
    start_sign_in,
)

bp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "region_id": user.region_id,
        "department_id": user.department_id,
        "grid_codes": sorted({a.grid_code for a in user.assignments}),
    }


def check_password(username: str, password: str) -> SignInResult:
    """The sign-in rules (password, disabled, throttle) for this request's client address."""
    cfg = settings()
    return sign_in(
        db(),
        username,
        password,
        request.remote_addr or "?",
        max_failures=cfg.login_max_failures,
        window_minutes=cfg.login_window_minutes,
    )


def begin_session(user: User, *, remember: bool) -> None:
    """Sign ``user`` in on this browser: a fresh session (the pre-sign-in session and its CSRF
    token are dropped: no session fixation, no token that outlives the sign-in) naming a new
    sign-in recorded on the server."""
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the token of this request here
    start_sign_in(
        db(),
        user,
        days=settings().session_days,
        ip=request.remote_addr or "",
        user_agent=request.user_agent.string,
    )
    login_user(user, remember=remember)


def _text(body: dict[str, Any], key: str, fields: dict[str, str]) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        fields[key] = "应为文本 / must be a string"
        return ""
    if not value.strip():
        fields[key] = "必填 / required"
    return value


@bp.post("/login")
@operation(
    body=LoginBody,
    parse=False,
    responses={200: "SignedIn", 401: None, 403: None, 415: None, 429: None},
    public=True,
)
@csrf.exempt
def login() -> Response:
    """Sign in with a JSON body ``{"username", "password", "remember"}``; answers the user and
    a new CSRF token.

    Exempt from the CSRF token (a browser has none before it signs in) but JSON only: an HTML
    form on another site can post a form or ``text/plain``, never ``application/json`` (that
    needs a CORS preflight this app never grants), so no other site can sign a browser in to an
    account of its choosing (login CSRF). The sign-in page (``/login``) posts a form with a
    token instead.
    """
    if not request.is_json:
        raise ApiError(
            415,
            "json_required",
            "请以 JSON 提交（Content-Type: application/json）/ "
            "send JSON (Content-Type: application/json)",
        )
    body = json_body()
    fields: dict[str, str] = {}
    username = _text(body, "username", fields).strip()
    password = _text(body, "password", fields)
    remember = body.get("remember", True)
    if not isinstance(remember, bool):
        fields["remember"] = "应为 true 或 false / must be true or false"
    if fields:
        raise ApiError(
            400,
            "validation_failed",
            "请填写用户名和密码 / user name and password required"
            if set(fields) <= {"username", "password"}
            else "输入有误 / invalid input: " + ", ".join(sorted(fields)),
            fields,
        )
    result = check_password(username, password)
    if result.user is None:
        status = {"throttled": 429, "disabled": 403}.get(result.error or "", 401)
        err = ApiError(status, result.error or "bad_credentials", result.message)
        if result.retry_after:
            resp = jsonify(err.to_dict())
            resp.status_code = status
            resp.headers["Retry-After"] = str(result.retry_after)
            return resp
        raise err
    begin_session(result.user, remember=remember)
    return jsonify({"user": user_json(result.user), "csrf_token": generate_csrf()})


@bp.post("/logout")
@operation(body=LogoutBody, parse=False, responses={200: "Ok"}, public=True)
def logout() -> Response:
    """End this sign-in (a copy of its cookies stops working too); other devices stay signed in.
    ``{"everywhere": true}`` ends every sign-in of the user. Answers how many ended."""
    body = json_body()
    everywhere = body.get("everywhere", False)
    if not isinstance(everywhere, bool):
        raise ApiError(
            400,
            "validation_failed",
            "everywhere 应为 true 或 false / everywhere must be true or false",
            {"everywhere": "应为 true 或 false / must be true or false"},
        )
    ended = 0
    if current_user.is_authenticated:
        ended = end_sign_in(db(), me(), everywhere=everywhere)
    logout_user()
    session.pop("csrf_token", None)
    return jsonify({"ok": True, "ended": ended})


@bp.get("/me")
@operation(responses={200: "SignedIn"})
def whoami() -> Response:
    """The signed-in user and a CSRF token."""
    return jsonify({"user": user_json(me()), "csrf_token": generate_csrf()})


@bp.get("/csrf")
@operation(responses={200: "CsrfToken"}, public=True)
def csrf_token() -> Response:
    """A CSRF token for this session (signed in or not)."""
    return jsonify({"csrf_token": generate_csrf()})


def install_login(app: Flask) -> None:
    """Flask-Login for this app: who a session or remember cookie is, and what a request that
    needs a sign-in gets without one (a JSON 401 from the API, the sign-in page otherwise)."""
    login_manager.init_app(app)
    login_manager.login_view = "pages.login_page"
    login_manager.session_protection = "basic"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(_unauthorized)


def _load_user(user_id: str) -> User | None:
    # "user:epoch:sign-in key" from the session or the remember cookie (server/security.py)
    return signed_in_user(db(), user_id)


def _unauthorized() -> ResponseReturnValue:
    if request.path.startswith("/api/") or request.is_json:
        return json_error(401, "unauthorized", "请先登录 / sign in first")
    return redirect(url_for("pages.login_page", next=request.full_path))
