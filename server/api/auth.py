"""Sign-in, sign-out and the current user."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask_login import login_user, logout_user
from flask_wtf.csrf import generate_csrf

from server.api.util import json_body, me
from server.errors import ApiError
from server.extensions import csrf, db, settings
from server.models import User
from server.security import sign_in

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


@bp.post("/login")
@csrf.exempt
def login() -> Response:
    """Sign in with ``{"username", "password", "remember"}``; answers the user and a CSRF token.

    Exempt from CSRF (there is no session to protect yet); every later state change needs the
    token in the ``X-CSRFToken`` header.
    """
    body = json_body() if request.is_json or request.data else {}
    form = request.form
    username = str(body.get("username", form.get("username", ""))).strip()
    password = str(body.get("password", form.get("password", "")))
    remember = bool(body.get("remember", form.get("remember", True)))
    fields = {}
    if not username:
        fields["username"] = "必填 / required"
    if not password:
        fields["password"] = "必填 / required"
    if fields:
        raise ApiError(
            400,
            "validation_failed",
            "请填写用户名和密码 / user name and password required",
            fields,
        )
    cfg = settings()
    result = sign_in(
        db(),
        username,
        password,
        request.remote_addr or "?",
        max_failures=cfg.login_max_failures,
        window_minutes=cfg.login_window_minutes,
    )
    if result.user is None:
        status = {"throttled": 429, "disabled": 403}.get(result.error or "", 401)
        err = ApiError(status, result.error or "bad_credentials", result.message)
        if result.retry_after:
            resp = jsonify(err.to_dict())
            resp.status_code = status
            resp.headers["Retry-After"] = str(result.retry_after)
            return resp
        raise err
    login_user(result.user, remember=remember)
    return jsonify({"user": user_json(result.user), "csrf_token": generate_csrf()})


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    return jsonify({"ok": True})


@bp.get("/me")
def whoami() -> Response:
    return jsonify({"user": user_json(me()), "csrf_token": generate_csrf()})


@bp.get("/csrf")
def csrf_token() -> Response:
    return jsonify({"csrf_token": generate_csrf()})
