"""JSON errors for the API: a code, a clear message and, where it applies, field details."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An error the API answers with: ``{"error": code, "message": ..., "fields": {...}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return body


def json_error(status: int, code: str, message: str, **extra: Any) -> Response:
    resp = jsonify(ApiError(status, code, message, **extra).to_dict())
    resp.status_code = status
    return resp


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


HTTP_MESSAGES = {
    400: "请求无效 / bad request",
    401: "请先登录 / sign in first",
    403: "无权操作 / forbidden",
    404: "未找到 / not found",
    405: "不支持的请求方法 / method not allowed",
    409: "冲突 / conflict",
    413: "内容过大 / request too large",
    415: "不支持的内容类型 / unsupported media type",
    429: "请求过于频繁 / too many requests",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        resp = jsonify(err.to_dict())
        resp.status_code = err.status
        return resp

    @app.errorhandler(CSRFError)
    def _csrf_error(err: CSRFError) -> Response | tuple[str, int]:
        msg = "缺少或无效的 CSRF 令牌，请刷新页面后重试 / missing or invalid CSRF token: " + str(
            err.description
        )
        if _wants_json():
            return json_error(400, "csrf_failed", msg)
        return msg, 400

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> Response | HTTPException:
        if not _wants_json():
            return err
        status = err.code or 500
        code = (err.name or "error").lower().replace(" ", "_")
        message = HTTP_MESSAGES.get(status, err.name or "error")
        if err.description and status == 400:
            message = f"{message}: {err.description}"
        return json_error(status, code, message)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response | tuple[str, int]:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        msg = "服务器内部错误，已记录 / internal server error (logged)"
        if _wants_json():
            return json_error(500, "internal_error", msg)
        return msg, 500
