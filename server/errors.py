"""JSON errors for the API: a code, a clear message and, where it applies, field details."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from flask_wtf.csrf import CSRFError
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from server.usecases.errors import UseCaseError


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


def error_response(err: ApiError) -> Response:
    """The one JSON shape of an error answer."""
    resp = jsonify(err.to_dict())
    resp.status_code = err.status
    if err.status == 429 and isinstance(err.extra.get("retry_after"), int):
        resp.headers["Retry-After"] = str(err.extra["retry_after"])
    return resp


def json_error(status: int, code: str, message: str, **extra: Any) -> Response:
    return error_response(ApiError(status, code, message, **extra))


def use_case_error(err: UseCaseError) -> ApiError:
    """A use case's refusal as the API's answer (the status travels on the exception)."""
    return ApiError(err.status, err.code, err.message, err.fields or None, **err.extra)


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


def _where(loc: tuple[int | str, ...]) -> str:
    """``("duties", 0, "grid_code")`` → ``duties[0].grid_code``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


_MESSAGES = {
    "missing": "必填 / required",
    "string_pattern_mismatch": "格式不对 / wrong format",
    "string_type": "应为文本 / must be text",
    "int_type": "应为整数 / must be an integer",
    "int_parsing": "应为整数 / must be an integer",
    "int_from_float": "应为整数 / must be an integer",
    "float_type": "应为数字 / must be a number",
    "float_parsing": "应为数字 / must be a number",
    "bool_type": "应为 true 或 false / must be true or false",
    "bool_parsing": "应为 true 或 false / must be true or false",
    "list_type": "应为列表 / must be a list",
    "dict_type": "应为对象 / must be an object",
    "model_type": "应为对象 / must be an object",
    "model_attributes_type": "应为对象 / must be an object",
    "date_from_datetime_parsing": "应为日期 YYYY-MM-DD / a date YYYY-MM-DD",
    "date_parsing": "应为日期 YYYY-MM-DD / a date YYYY-MM-DD",
}

#: Bounds, with the bound from pydantic's ``ctx`` (its own English sentences reached the apps'
#: Chinese pages: "Value should have at most 4000 items after validation, not 100000").
_BOUND_MESSAGES = {
    "string_too_long": "最多 {max_length} 个字符 / at most {max_length} characters",
    "string_too_short": "至少 {min_length} 个字符 / at least {min_length} characters",
    "too_long": "过长，最多 {max_length} / too long, at most {max_length}",
    "too_short": "过短，至少 {min_length} / too short, at least {min_length}",
    "greater_than_equal": "应不小于 {ge} / must be at least {ge}",
    "greater_than": "应大于 {gt} / must be greater than {gt}",
    "less_than_equal": "应不大于 {le} / must be at most {le}",
    "less_than": "应小于 {lt} / must be less than {lt}",
    "literal_error": "取值无效，应为 {expected} / must be {expected}",
    "enum": "取值无效，应为 {expected} / must be {expected}",
}


def _message(item: Any) -> str:
    kind = item["type"]
    if kind in _BOUND_MESSAGES:
        try:
            return _BOUND_MESSAGES[kind].format(**(item.get("ctx") or {}))
        except (KeyError, IndexError):
            pass
    return _MESSAGES.get(kind) or str(item["msg"])


def validation_error(err: ValidationError) -> ApiError:
    """A pydantic error at the API edge as the one 400 shape, naming every bad field."""
    from server.api.edge import MODELS, Query, error_code

    in_query = issubclass(MODELS.get(err.title, object), Query)
    fields: dict[str, str] = {}
    own_code: str | None = None
    for item in err.errors(include_url=False, include_input=False):
        own_code = own_code or (item.get("ctx") or {}).get("code")
        loc, msg = tuple(item["loc"]), _message(item)
        if in_query:  # a repeated parameter is named, not its position
            loc = tuple(p for p in loc if not isinstance(p, int))
        if item["type"] == "extra_forbidden":
            msg = f"不支持的字段 / unknown field {loc[-1]}"
            loc = loc[:-1] if len(loc) > 1 else loc  # named where it is: duties[0]
        named = (item.get("ctx") or {}).get("field")  # a rule across fields names its field
        where = _where(loc) if loc or not named else str(named)
        fields.setdefault(where, msg)
    names = ", ".join(sorted(fields))
    kinds = {str(item["type"]) for item in err.errors(include_url=False, include_input=False)}
    code = "too_long" if kinds <= {"string_too_long", "too_long"} else "validation_failed"
    code = own_code or error_code(err.title, next(iter(fields), "")) or code
    return ApiError(400, code, f"输入有误 / invalid input: {names}", fields)


def register_error_handlers(app: Flask) -> None:
    """Errors become responses here, once; a blueprint adds handlers only for errors of its
    own (metrics queries, calendar entries, plan files), next to its views."""

    @app.errorhandler(ValidationError)
    def _validation_error(err: ValidationError) -> Response:
        return error_response(validation_error(err))

    @app.errorhandler(ApiError)
    def _api_error(err: ApiError) -> Response:
        return error_response(err)

    @app.errorhandler(UseCaseError)
    def _use_case_error(err: UseCaseError) -> Response:
        return error_response(use_case_error(err))

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
