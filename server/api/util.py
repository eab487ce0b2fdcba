"""Helpers shared by the API blueprints: JSON bodies, roles."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import request
from flask_login import current_user

from server.domain.worktime import WorkCalendar
from server.errors import ApiError
from server.extensions import db, settings
from server.models import User
from server.usecases import policy
from server.usecases.context import Actor, Context, actor_of, calendar_from

F = TypeVar("F", bound=Callable[..., Any])


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a clear 400."""
    if not request.data:
        return {}
    try:
        body = request.get_json(force=True, silent=False)
    except Exception as exc:
        raise ApiError(
            400, "malformed_json", "请求体不是有效的 JSON / body is not valid JSON"
        ) from exc
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "请求体应为 JSON 对象 / body must be a JSON object")
    return body


def me() -> User:
    if not current_user.is_authenticated:
        raise ApiError(401, "unauthorized", "请先登录 / sign in first")
    return cast(User, current_user._get_current_object())  # type: ignore[attr-defined]


def roles_required(*roles: str) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = me()
            if user.role not in roles:
                raise ApiError(
                    403,
                    "forbidden",
                    "无权操作 / your role may not do this",
                    required_roles=roles,
                )
            return fn(*args, **kwargs)

        return cast(F, wrapper)

    return deco


def gate_by_policy() -> None:
    """A blueprint's ``before_request``: signed in (401), then a role the endpoint serves (403,
    ``policy.ENDPOINT_ROLES``), before any record is read."""
    user = me()
    if request.url_rule is None or not policy.may_call(
        user.role, request.endpoint or "", request.method
    ):
        raise ApiError(403, "forbidden", "无权操作 / your role may not do this")


def login_required_api(fn: F) -> F:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        me()
        return fn(*args, **kwargs)

    return cast(F, wrapper)


def work_calendar() -> WorkCalendar:
    """The request's working calendar (office hours, time zone, statutory calendar): deadlines
    and metrics count working time on the same one."""
    cfg = settings()
    return calendar_from(cfg.office_hours, cfg.timezone, db())


def context() -> Context:
    """The use-case context for this request (session, calendar, limits)."""
    cfg = settings()
    return Context(
        db=db(),
        calendar=work_calendar(),
        upload_dir=cfg.upload_dir,
        locate_tolerance_m=cfg.locate_tolerance_m,
        duplicate_radius_m=cfg.duplicate_radius_m,
        duplicate_window_hours=cfg.duplicate_window_hours,
        max_upload_bytes=cfg.max_upload_bytes,
        pending_uploads_per_user=cfg.pending_uploads_per_user,
        pending_upload_bytes_per_user=cfg.pending_upload_bytes_per_user,
        upload_expiry_days=cfg.upload_expiry_days,
        max_image_pixels=cfg.max_image_pixels,
        image_workers=cfg.image_workers,
        data_key_text=cfg.data_key,
        checkin_deadline=cfg.checkin_deadline,
        track_retention_days=cfg.track_retention_days,
    )


def actor() -> Actor:
    """The signed-in user as a use-case actor, built once per request."""
    from flask import g

    if "actor" not in g:
        g.actor = actor_of(db(), me())
    return cast(Actor, g.actor)
