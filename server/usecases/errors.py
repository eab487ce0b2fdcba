"""Errors use cases raise; the API maps them to HTTP answers."""

from __future__ import annotations

from typing import Any


class UseCaseError(Exception):
    """``status`` is the HTTP status the API answers with; ``code`` is stable for clients."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}
        self.extra = extra


class ValidationFailed(UseCaseError):
    status = 400
    code = "validation_failed"


class Forbidden(UseCaseError):
    status = 403
    code = "forbidden"


class NotFound(UseCaseError):
    status = 404
    code = "not_found"


class Conflict(UseCaseError):
    status = 409
    code = "conflict"


class Unprocessable(UseCaseError):
    status = 422
    code = "unprocessable"
