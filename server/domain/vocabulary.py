"""The vocabulary of cases in one table: every name and its zh/en label.

The names are the enums of the domain (:mod:`.workflow`: states, actions, roles;
:mod:`.fields`: ratings, urgencies; :mod:`.sources`: sources) and their labels sit next to them.
Everything else spells them from here: the models' CHECK constraints (:func:`sql_in`), the
OpenAPI enums (``server/api/inputs.py``), the queries, the ``/bootstrap`` answer the apps label
every state, action, role, rating, urgency and source with (:func:`labels`), and the TypeScript
constants generated for the apps (``webapp/src/shared/vocabulary.ts``, by
``python -m server.api.schema``). ``tests/test_vocabulary_spelled_once.py`` greps the tree for
names spelled anywhere else.
"""

from __future__ import annotations

from enum import StrEnum

from .fields import RATING_LABELS, URGENCY_LABELS, Rating, Urgency
from .fieldwork import CHECK_IN_STATUS_LABELS, CheckInStatus
from .sources import SOURCE_LABELS, Source
from .stages import CARD_LABELS, LIGHT_LABELS, STAGE_LABELS, Card, Light, Stage
from .workflow import ROLE_LABELS, RULES, STATE_LABELS, TERMINAL_STATES, Action, Role, State

__all__ = ["KINDS", "kind_labels", "labels", "names", "sql_in"]

# kind (as sent in /bootstrap) → (the enum, its labels)
KINDS: dict[str, tuple[type[StrEnum], dict[str, tuple[str, str]]]] = {
    "states": (State, {s.value: zh_en for s, zh_en in STATE_LABELS.items()}),
    "actions": (Action, {r.action.value: (r.label_zh, r.label_en) for r in RULES}),
    "roles": (Role, {r.value: zh_en for r, zh_en in ROLE_LABELS.items()}),
    "ratings": (Rating, {r.value: zh_en for r, zh_en in RATING_LABELS.items()}),
    "urgencies": (Urgency, {u.value: zh_en for u, zh_en in URGENCY_LABELS.items()}),
    "sources": (Source, {s.value: zh_en for s, zh_en in SOURCE_LABELS.items()}),
    "stages": (Stage, {s.value: zh_en for s, zh_en in STAGE_LABELS.items()}),
    "lights": (Light, {s.value: zh_en for s, zh_en in LIGHT_LABELS.items()}),
    "cards": (Card, {s.value: zh_en for s, zh_en in CARD_LABELS.items()}),
    "check_ins": (CheckInStatus, {s.value: zh_en for s, zh_en in CHECK_IN_STATUS_LABELS.items()}),
}
for _kind, (_enum, _labels) in KINDS.items():
    assert list(_labels) == [m.value for m in _enum], f"{_kind}: one label per name, in order"


def names(enum: type[StrEnum]) -> tuple[str, ...]:
    """The names of a vocabulary, in table order."""
    return tuple(m.value for m in enum)


def kind_labels(kind: str) -> dict[str, dict[str, str]]:
    """``{name: {"zh": ..., "en": ...}}`` of one kind, in table order."""
    return {name: {"zh": zh, "en": en} for name, (zh, en) in KINDS[kind][1].items()}


def labels() -> dict[str, dict[str, dict[str, str]]]:
    """Every kind's labels (sent to the apps in ``/bootstrap`` → ``workflow``)."""
    return {kind: kind_labels(kind) for kind in KINDS}


def open_state_names() -> list[str]:
    """The states of a case not yet finished (closed or rejected), 挂账 included, in table
    order: the apps' 在办 lists."""
    return [s.value for s in State if s not in TERMINAL_STATES]


def sql_in(column: str, enum: type[StrEnum]) -> str:
    """A CHECK constraint's text: ``column IN ('a','b')`` (as the migrations wrote them)."""
    return f"{column} IN ({','.join(repr(v) for v in names(enum))})"
