"""Errors raised by the domain rules.

Every error carries a stable machine ``code`` (for API clients and tests), a Chinese and an
English message, and the payload ``field`` it is about when there is one. ``to_dict()`` gives
the JSON body the API layer can return as is.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class of every rule violation. ``code`` is stable; messages are for people."""

    code: str = "domain_error"

    def __init__(
        self,
        message_zh: str,
        message_en: str,
        *,
        field: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(f"{message_en} ({message_zh})")
        self.message_zh = message_zh
        self.message_en = message_en
        self.field = field
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        """Bilingual message, Chinese first (the UI language)."""
        return f"{self.message_zh} / {self.message_en}"

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }
        if self.field is not None:
            body["field"] = self.field
        return body


class RoleNotAllowed(DomainError):
    """The role may never perform this action (HTTP 403)."""

    code = "role_not_allowed"

    def __init__(
        self, action: str, role: str, *, action_zh: str | None = None, role_zh: str | None = None
    ) -> None:
        super().__init__(
            f"{role_zh or role}无权执行“{action_zh or action}”",
            f"Role {role!r} may not perform {action!r}",
        )
        self.action = action
        self.role = role


class InvalidTransition(DomainError):
    """The action is not possible in the case's current state (HTTP 409)."""

    code = "invalid_transition"

    def __init__(
        self,
        action: str,
        state: str | None,
        *,
        message_zh: str | None = None,
        message_en: str | None = None,
        code: str | None = None,
    ) -> None:
        shown = state if state is not None else "(new case)"
        super().__init__(
            message_zh or f"案件当前状态为 {shown}，不能执行操作 {action}",
            message_en or f"Cannot {action} a case in state {shown!r}",
            code=code,
        )
        self.action = action
        self.state = state


class PreconditionFailed(InvalidTransition):
    """State is right but a fact about the case forbids the action (e.g. reopen needs 不满意)."""

    code = "precondition_failed"


class MissingField(DomainError):
    """A required payload field is absent or empty (HTTP 422)."""

    code = "missing_field"

    def __init__(self, field: str, label_zh: str | None = None) -> None:
        super().__init__(
            f"缺少必填项：{label_zh or field}",
            f"Missing required field: {field}",
            field=field,
        )


class InvalidField(DomainError):
    """A payload field is present but its value is not acceptable (HTTP 422)."""

    code = "invalid_field"

    def __init__(self, field: str, msg: str, msg_zh: str | None = None) -> None:
        super().__init__(
            f"{field} 无效：{msg_zh or msg}",
            f"Invalid {field}: {msg}",
            field=field,
        )
