"""Payload requirements of workflow actions.

A rule in :data:`server.domain.workflow.RULES` names its required and optional inputs with the
*tokens* below. Each token maps to one or two payload keys and a validator. Tokens are what the
rules table and the docs show; payload keys are what the API receives.

| token          | payload key(s)        | accepted value                                         |
|----------------|-----------------------|--------------------------------------------------------|
| `reason`       | `reason`              | non-blank text, at most 2000 characters                |
| `note`         | `note`                | non-blank text, at most 4000 characters                |
| `department`   | `department_id`       | positive int or non-blank string id                    |
| `photos`       | `photos`              | non-empty list of photo ids (int or str), at most 20   |
| `rating`       | `rating`              | `satisfied`, `basically_satisfied`, `unsatisfied`      |
| `duration`     | `hours` *or* `days`   | exactly one; hours > 0 (max 8760); days a whole int > 0 |
| `passed`       | `passed`              | bool                                                   |
| `approved`     | `approved`            | bool                                                   |
| `urgency`      | `urgency`             | `normal` or `urgent` (default `normal`)                |
| `duplicate_of` | `duplicate_of`        | positive int or non-blank string case id               |
| `grid`         | `grid_code`           | a grid code: 15 digits (docs/geo.md)                   |
| `deadline`     | `deadline`            | ISO 8601 date-time with an offset (in the future)      |
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from . import years
from .errors import InvalidField, MissingField

MAX_REASON = 2000
MAX_NOTE = 4000
MAX_PHOTOS = 20
MAX_EXTENSION_HOURS = 8760.0


class Rating(StrEnum):
    """评价 of a closed case. 满意率 counts satisfied + basically_satisfied."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    UNSATISFIED = "unsatisfied"


RATING_LABELS: dict[Rating, tuple[str, str]] = {
    Rating.SATISFIED: ("满意", "Satisfied"),
    Rating.BASICALLY_SATISFIED: ("基本满意", "Basically satisfied"),
    Rating.UNSATISFIED: ("不满意", "Unsatisfied"),
}


class Urgency(StrEnum):
    """Urgency chosen at dispatch. Urgent cases run on natural hours (see worktime)."""

    NORMAL = "normal"
    URGENT = "urgent"


URGENCY_LABELS: dict[Urgency, tuple[str, str]] = {
    Urgency.NORMAL: ("一般", "Normal"),
    Urgency.URGENT: ("紧急", "Urgent"),
}

# token -> (Chinese label, English label)
TOKEN_LABELS: dict[str, tuple[str, str]] = {
    "reason": ("原因", "reason"),
    "note": ("说明", "note"),
    "department": ("处置部门", "department"),
    "photos": ("照片", "photos"),
    "rating": ("评价", "rating"),
    "duration": ("延期时长", "hours or days"),
    "passed": ("核查结果", "passed"),
    "approved": ("审批结果", "approved"),
    "urgency": ("紧急程度", "urgency"),
    "duplicate_of": ("重复案件", "duplicate of"),
    "grid": ("网格", "grid"),
    "deadline": ("办理时限", "deadline"),
    "centre": ("目标指挥中心", "target centre"),
    "departments": ("抄告部门", "departments copied"),
}


# --- what a reason must show: one rule for every stated reason in the product ----------------
#
# A character *shows* unless it is white space, a format or control character (Unicode
# categories Z*, C*: zero-width spaces, BOM, word joiner, bidi controls, soft hyphen …) or a
# letter that draws nothing (Hangul and braille fillers). Callers differ only in how much must
# show:
# - a case's reason or note (the tokens above): at least one character that shows, any kind;
# - a reason for reading or changing people's data (revealing an identity number or phone, a
#   clear export, a level change of a key group): at least STATED_REASON_MIN characters that
#   show and are letters, digits or CJK (:func:`is_stated_reason`; "..", "??" are no reason).

# Letters and marks that draw nothing (Hangul and braille fillers, the combining grapheme joiner,
# the Khmer inherent vowels): as blank as a space.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5")
STATED_REASON_MIN = 2


def _shows(ch: str) -> bool:
    return unicodedata.category(ch)[0] not in "ZC" and ch not in _BLANK_LETTERS


def visible_count(value: str, *, words_only: bool = False) -> int:
    """How many characters of ``value`` show something; ``words_only``: only the letters,
    digits and CJK characters among them (punctuation and symbols do not count)."""
    return sum(
        1 for ch in value if _shows(ch) and (not words_only or unicodedata.category(ch)[0] in "LN")
    )


def has_visible_text(value: str) -> bool:
    """Whether ``value`` shows anything: a reason of zero-width, format, control or filler
    characters only (\u200b, \ufeff, \u2060, \u180e, \u3164 …) is as empty as spaces."""
    return any(_shows(ch) for ch in value)


def is_stated_reason(value: str) -> bool:
    """Whether ``value`` states a reason for reading or changing people's data: at least
    :data:`STATED_REASON_MIN` letters, digits or CJK characters that show."""
    return visible_count(value, words_only=True) >= STATED_REASON_MIN


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not has_visible_text(value))


def _given(payload: Mapping[str, Any], key: str, token: str, required: bool) -> bool:
    """Whether ``key`` carries a value; an absent one is an error only where it is required."""
    if not _absent(payload.get(key)):
        return True
    if required:
        raise MissingField(key, TOKEN_LABELS[token][0])
    return False


def _text(key: str, limit: int) -> Callable[[Mapping[str, Any], bool], None]:
    def validate(payload: Mapping[str, Any], required: bool) -> None:
        if not _given(payload, key, key, required):
            return
        value = payload[key]
        if not isinstance(value, str):
            raise InvalidField(key, "must be text", "必须是文本")
        if len(value) > limit:
            raise InvalidField(key, f"at most {limit} characters", f"最多 {limit} 个字符")

    return validate


def _is_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value > 0
    return isinstance(value, str) and bool(value.strip())


def _identifier(key: str, token: str) -> Callable[[Mapping[str, Any], bool], None]:
    def validate(payload: Mapping[str, Any], required: bool) -> None:
        if not _given(payload, key, token, required):
            return
        value = payload[key]
        if not _is_id(value):
            raise InvalidField(key, "must be a positive integer or an id", "必须是有效编号")

    return validate


def _photos(payload: Mapping[str, Any], required: bool) -> None:
    value = payload.get("photos")
    if value is None or (isinstance(value, (list, tuple)) and not value):
        if required:
            raise MissingField("photos", "照片（至少一张）")
        return
    if not isinstance(value, (list, tuple)):
        raise InvalidField("photos", "must be a list of photo ids", "必须是照片编号列表")
    if len(value) > MAX_PHOTOS:
        raise InvalidField("photos", f"at most {MAX_PHOTOS} photos", f"最多 {MAX_PHOTOS} 张")
    if not all(_is_id(p) for p in value):
        raise InvalidField("photos", "every item must be a photo id", "每一项都必须是照片编号")


def _choice(key: str, allowed: type[StrEnum]) -> Callable[[Mapping[str, Any], bool], None]:
    values = [m.value for m in allowed]

    def validate(payload: Mapping[str, Any], required: bool) -> None:
        if not _given(payload, key, key, required):
            return
        value = payload[key]
        if value not in values:
            shown = ", ".join(values)
            raise InvalidField(key, f"must be one of {shown}", f"必须是 {shown} 之一")

    return validate


def _flag(key: str) -> Callable[[Mapping[str, Any], bool], None]:
    def validate(payload: Mapping[str, Any], required: bool) -> None:
        value = payload.get(key)
        if value is None:
            if required:
                raise MissingField(key, TOKEN_LABELS[key][0])
            return
        if not isinstance(value, bool):
            raise InvalidField(key, "must be true or false", "必须是 true 或 false")

    return validate


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _duration(payload: Mapping[str, Any], required: bool) -> None:
    hours, days = payload.get("hours"), payload.get("days")
    if hours is None and days is None:
        if required:
            raise MissingField("hours", TOKEN_LABELS["duration"][0])
        return
    if hours is not None and days is not None:
        raise InvalidField("hours", "give hours or days, not both", "只能填写小时数或天数之一")
    if hours is not None:
        if not _number(hours) or not 0 < hours <= MAX_EXTENSION_HOURS:
            raise InvalidField(
                "hours",
                f"must be a number above 0 and at most {MAX_EXTENSION_HOURS:g}",
                f"必须是大于 0 且不超过 {MAX_EXTENSION_HOURS:g} 的数",
            )
        return
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= 365:
        raise InvalidField("days", "must be a whole number from 1 to 365", "必须是 1 到 365 的整数")


MAX_COPIES = 20


def _id_list(key: str, token: str) -> Callable[[Mapping[str, Any], bool], None]:
    def validate(payload: Mapping[str, Any], required: bool) -> None:
        value = payload.get(key)
        if value is None or (isinstance(value, (list, tuple)) and not value):
            if required:
                raise MissingField(key, TOKEN_LABELS[token][0])
            return
        if not isinstance(value, (list, tuple)):
            raise InvalidField(key, "must be a list of ids", "必须是编号列表")
        if len(value) > MAX_COPIES:
            raise InvalidField(key, f"at most {MAX_COPIES}", f"最多 {MAX_COPIES} 个")
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
            raise InvalidField(key, "every item must be an id", "每一项都必须是编号")

    return validate


def _grid_code(payload: Mapping[str, Any], required: bool) -> None:
    if not _given(payload, "grid_code", "grid", required):
        return
    value = payload["grid_code"]
    if not isinstance(value, str) or not (value.strip().isdigit() and len(value.strip()) == 15):
        raise InvalidField("grid_code", "must be a 15-digit grid code", "必须是 15 位网格编码")


def parse_deadline(value: Any) -> datetime:
    """An explicit deadline: ISO 8601 with a time-zone offset (``Z`` or ``+08:00``), as an
    aware datetime; :class:`InvalidField` otherwise. Whether it is in the future is the
    caller's check (it knows the time)."""
    if not isinstance(value, str):
        raise InvalidField("deadline", "must be an ISO 8601 date-time", "必须是 ISO 8601 时间")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidField(
            "deadline", "must be an ISO 8601 date-time", "必须是 ISO 8601 时间"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidField(
            "deadline", "needs a time zone offset (e.g. +08:00)", "需带时区（如 +08:00）"
        )
    if not years.in_range(parsed):
        raise InvalidField(
            "deadline",
            f"must be a year {years.MIN_YEAR}–{years.MAX_YEAR}",
            f"年份应在 {years.MIN_YEAR}–{years.MAX_YEAR} 之间",
        )
    return parsed


def _deadline(payload: Mapping[str, Any], required: bool) -> None:
    if _given(payload, "deadline", "deadline", required):
        parse_deadline(payload["deadline"])


VALIDATORS: dict[str, Callable[[Mapping[str, Any], bool], None]] = {
    "reason": _text("reason", MAX_REASON),
    "note": _text("note", MAX_NOTE),
    "department": _identifier("department_id", "department"),
    "photos": _photos,
    "rating": _choice("rating", Rating),
    "duration": _duration,
    "passed": _flag("passed"),
    "approved": _flag("approved"),
    "urgency": _choice("urgency", Urgency),
    "duplicate_of": _identifier("duplicate_of", "duplicate_of"),
    "grid": _grid_code,
    "deadline": _deadline,
    "centre": _identifier("centre_id", "centre"),
    "departments": _id_list("department_ids", "departments"),
}

TOKENS = frozenset(VALIDATORS)


def validate_payload(
    payload: Mapping[str, Any],
    required: frozenset[str],
    optional: frozenset[str] = frozenset(),
) -> None:
    """Check required tokens are present and valid, optional ones valid when present.

    Tokens are checked in a fixed (sorted) order so the first error reported is stable.
    Keys the action does not know are ignored: the use case decides what else it stores.
    """
    for token in sorted(required):
        VALIDATORS[token](payload, True)
    for token in sorted(optional - required):
        VALIDATORS[token](payload, False)
