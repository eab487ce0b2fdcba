"""Errors use cases raise; the API maps them to HTTP answers."""

from __future__ import annotations

from typing import Any

from server.domain.errors import DomainError, InvalidTransition, RoleNotAllowed


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


class TooLarge(UseCaseError):
    """What was sent costs more than a limit allows (an upload, once unzipped or read)."""

    status = 413
    code = "too_large"


class TooMany(UseCaseError):
    """A limit on how often something may be done was reached (``retry_after`` seconds)."""

    status = 429
    code = "too_many"


class Unprocessable(UseCaseError):
    status = 422
    code = "unprocessable"


def from_domain(err: DomainError, case_id: int | None = None) -> UseCaseError:
    """The answer to a refusal of the domain: a role that may not (403), a state that does not
    allow it (409), anything else (a fact or a field) a 400 naming the field."""
    if isinstance(err, RoleNotAllowed):
        return Forbidden(err.message, code=err.code)
    if isinstance(err, InvalidTransition):
        return Conflict(err.message, code=err.code, case_id=case_id)
    fields = {err.field: err.message} if err.field else {}
    return ValidationFailed(err.message, code=err.code, fields=fields)
