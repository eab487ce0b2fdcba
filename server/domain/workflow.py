"""The case lifecycle (DESIGN §3) as ONE table: :data:`RULES`.

Each :class:`Rule` says who may do an action, from which states, to which state, and what the
action must carry. :func:`check` is the only gate: the use cases call it before appending an
event, and it either returns the new state or raises a :class:`~server.domain.errors.DomainError`.

What the table does *not* decide (the caller does, with the database at hand): jurisdiction
(is this grid worker assigned to the case's grid? is this handler in the dispatched department?),
whether an extension request is pending, whether the case was already rated, and concurrency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import (
    DomainError,
    InvalidField,
    InvalidTransition,
    MissingField,
    PreconditionFailed,
    RoleNotAllowed,
)
from .fields import TOKENS, Rating, Urgency, validate_payload

__all__ = [
    "OPEN_STATES",
    "ROLE_LABELS",
    "ROLE_NAMES",
    "ROUTABLE_STATES",
    "RULES",
    "RULES_BY_ACTION",
    "STATE_LABELS",
    "SYSTEM",
    "TERMINAL_STATES",
    "WORKING_STATES",
    "Action",
    "DomainError",
    "InvalidField",
    "InvalidTransition",
    "MissingField",
    "PreconditionFailed",
    "Rating",
    "Role",
    "RoleNotAllowed",
    "Rule",
    "State",
    "Urgency",
    "action_labels",
    "allowed_actions",
    "check",
    "permit",
    "role_labels",
    "rule_for",
    "rules_markdown",
    "rules_table",
    "state_labels",
]


class State(StrEnum):
    REPORTED = "reported"
    ACCEPTED = "accepted"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Role(StrEnum):
    GRID_WORKER = "grid_worker"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


ROLE_NAMES: tuple[str, ...] = tuple(r.value for r in Role)

#: The actor role of what the system does by itself (the sweep's automatic 督办 cards, a rule
#: with ``by_system``). Not a :class:`Role`: nobody signs in as it (as ``open311`` names its
#: integration, server/domain/sources.py).
SYSTEM = "system"


class Action(StrEnum):
    REPORT = "report"
    SELF_HANDLE = "self_handle"
    ACCEPT = "accept"
    REJECT = "reject"
    DISPATCH = "dispatch"
    SIGN = "sign"
    RETURN = "return"
    RESOLVE = "resolve"
    VERIFY = "verify"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    SUSPEND = "suspend"
    RESUME = "resume"
    SUPERVISE = "supervise"
    RATE = "rate"
    REOPEN = "reopen"
    COMMENT = "comment"
    ASSIGN_GRID = "assign_grid"
    # routing between command centres (DESIGN §9, server/domain/levels.py)
    ESCALATE = "escalate"
    DEVOLVE = "devolve"
    PULL_UP = "pull_up"
    COPY = "copy"


OPEN_STATES: frozenset[State] = frozenset(
    {
        State.REPORTED,
        State.ACCEPTED,
        State.DISPATCHED,
        State.IN_PROGRESS,
        State.RESOLVED,
    }
)
TERMINAL_STATES: frozenset[State] = frozenset({State.CLOSED, State.REJECTED})
# With a department, a deadline running (overdue is counted on these).
WORKING_STATES: frozenset[State] = frozenset({State.DISPATCHED, State.IN_PROGRESS})
# Not yet with a department: a centre may still pass the case up or down.
ROUTABLE_STATES: frozenset[State] = frozenset({State.REPORTED, State.ACCEPTED})

STATE_LABELS: dict[State, tuple[str, str]] = {
    State.REPORTED: ("待受理", "Awaiting acceptance"),
    State.ACCEPTED: ("待派遣", "Awaiting dispatch"),
    State.DISPATCHED: ("待签收", "Awaiting sign-for"),
    State.IN_PROGRESS: ("处置中", "In progress"),
    State.RESOLVED: ("待核查", "Awaiting verification"),
    State.CLOSED: ("已结案", "Closed"),
    State.REJECTED: ("不予立案", "Rejected"),
    State.SUSPENDED: ("挂账", "Suspended"),
}

ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.GRID_WORKER: ("网格员", "Grid worker"),
    Role.DISPATCHER: ("受理/派遣员", "Dispatcher"),
    Role.HANDLER: ("处置人员", "Handler"),
    Role.SUPERVISOR: ("督查/领导", "Supervisor"),
    Role.ADMIN: ("系统管理员", "Administrator"),
}


@dataclass(frozen=True)
class Rule:
    """One row of the lifecycle table.

    ``from_states`` None: the action creates the case (there is no current state).
    ``to_state`` None: the state does not change (unless ``restores_previous``).
    ``decision``: the yes/no payload token (``passed``/``approved``) that picks the outcome;
    when it is false the case goes to ``fail_to_state`` (if set) and ``requires_on_fail`` apply.
    ``restores_previous``: the case returns to the state it was suspended from (resume).
    ``by_system``: the system takes it too, by itself, with the actor role :data:`SYSTEM`
    (supervise: the sweep's yellow and red cards, server/usecases/stages.py).
    """

    action: Action
    roles: frozenset[Role]
    from_states: frozenset[State] | None
    to_state: State | None
    requires: frozenset[str]
    label_zh: str
    label_en: str
    optional: frozenset[str] = frozenset()
    decision: str | None = None
    fail_to_state: State | None = None
    requires_on_fail: frozenset[str] = frozenset()
    restores_previous: bool = False
    by_system: bool = False

    def __post_init__(self) -> None:
        unknown = (self.requires | self.optional | self.requires_on_fail) - TOKENS
        if unknown:
            raise ValueError(f"{self.action}: unknown requirement tokens {sorted(unknown)}")
        if self.decision is not None and self.decision not in self.requires:
            raise ValueError(f"{self.action}: decision token must be required")


def _r(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


def _s(*states: State) -> frozenset[State]:
    return frozenset(states)


def _t(*tokens: str) -> frozenset[str]:
    return frozenset(tokens)


_G, _D, _H, _S, _A = (
    Role.GRID_WORKER,
    Role.DISPATCHER,
    Role.HANDLER,
    Role.SUPERVISOR,
    Role.ADMIN,
)

RULES: tuple[Rule, ...] = (
    Rule(Action.REPORT, _r(_G, _D, _A), None, State.REPORTED, _t(),
         "上报", "Report", optional=_t("note", "photos")),
    Rule(Action.SELF_HANDLE, _r(_G), None, State.CLOSED, _t("note", "photos"),
         "自行处置", "Self-handle"),
    Rule(Action.ACCEPT, _r(_D), _s(State.REPORTED), State.ACCEPTED, _t(),
         "立案", "Accept", optional=_t("note")),
    Rule(Action.REJECT, _r(_D), _s(State.REPORTED), State.REJECTED, _t("reason"),
         "不予立案", "Reject", optional=_t("duplicate_of", "note")),
    Rule(Action.DISPATCH, _r(_D), _s(State.ACCEPTED), State.DISPATCHED, _t("department"),
         "派遣", "Dispatch", optional=_t("urgency", "note", "deadline")),
    Rule(Action.SIGN, _r(_H), _s(State.DISPATCHED), State.IN_PROGRESS, _t(),
         "签收", "Sign for", optional=_t("note")),
    Rule(Action.RETURN, _r(_H), WORKING_STATES, State.ACCEPTED, _t("reason"),
         "退回", "Return", optional=_t("photos")),
    Rule(Action.RESOLVE, _r(_H), WORKING_STATES, State.RESOLVED, _t("note", "photos"),
         "处置反馈", "Resolve"),
    Rule(Action.VERIFY, _r(_G, _D), _s(State.RESOLVED), State.CLOSED, _t("passed"),
         "核查", "Verify", optional=_t("note", "photos"), decision="passed",
         fail_to_state=State.DISPATCHED, requires_on_fail=_t("reason")),
    Rule(Action.REQUEST_EXTENSION, _r(_H), WORKING_STATES, None, _t("duration", "reason"),
         "申请延期", "Request extension"),
    Rule(Action.DECIDE_EXTENSION, _r(_D), WORKING_STATES, None, _t("approved"),
         "延期审批", "Decide extension", optional=_t("duration", "note"),
         decision="approved", requires_on_fail=_t("reason")),
    Rule(Action.SUSPEND, _r(_D), OPEN_STATES, State.SUSPENDED, _t("reason"),
         "挂账", "Suspend"),
    Rule(Action.RESUME, _r(_D), _s(State.SUSPENDED), None, _t(),
         "解除挂账", "Resume", optional=_t("note"), restores_previous=True),
    Rule(Action.SUPERVISE, _r(_D, _S), OPEN_STATES | {State.SUSPENDED}, None, _t("note"),
         "督办", "Supervise", by_system=True),
    Rule(Action.RATE, _r(_G, _D), _s(State.CLOSED), None, _t("rating"),
         "评价/回访", "Rate", optional=_t("note")),
    Rule(Action.REOPEN, _r(_D), _s(State.CLOSED), State.ACCEPTED, _t("reason"),
         "重办", "Reopen"),
    Rule(Action.COMMENT, _r(_G, _D, _H, _S, _A), frozenset(State), None, _t("note"),
         "备注", "Comment", optional=_t("photos")),
    Rule(Action.ASSIGN_GRID, _r(_D), OPEN_STATES | {State.SUSPENDED}, None, _t("grid"),
         "划入网格", "Assign to grid", optional=_t("note")),
    # Routing (DESIGN §9): the case changes centre, not state. Which centre may move it where
    # is jurisdiction (server/usecases/policy.py): the holding centre escalates, devolves and
    # copies; a centre above it pulls it up.
    Rule(Action.ESCALATE, _r(_D), ROUTABLE_STATES, None, _t("reason"),
         "上报上级", "Escalate"),
    Rule(Action.DEVOLVE, _r(_D), ROUTABLE_STATES, None, _t("centre", "note"),
         "交办", "Devolve"),
    Rule(Action.PULL_UP, _r(_D), ROUTABLE_STATES, None, _t(),
         "上提", "Pull up", optional=_t("note")),
    Rule(Action.COPY, _r(_D), OPEN_STATES | {State.SUSPENDED}, None, _t("departments"),
         "抄告", "Copy to departments", optional=_t("note")),
)  # fmt: skip

RULES_BY_ACTION: dict[Action, Rule] = {rule.action: rule for rule in RULES}
assert len(RULES_BY_ACTION) == len(Action), "one rule per action"


def rule_for(action: Action | str) -> Rule:
    """The rule of an action; an unknown action name is an :class:`InvalidField`."""
    try:
        return RULES_BY_ACTION[Action(action)]
    except ValueError:
        raise InvalidField("action", f"unknown action {action!r}", f"未知操作 {action}") from None


def _permits_state(rule: Rule, state: State | None) -> bool:
    if rule.from_states is None:
        return state is None
    return state is not None and state in rule.from_states


def allowed_actions(role: Role | str, state: State | str | None) -> list[Action]:
    """Actions ``role`` may attempt on a case in ``state`` (None: creating a case), in table order.

    Table-only: conditions the table cannot see (reopen needs an 不满意 rating, jurisdiction,
    a pending extension request) are left to :func:`check` and the caller.
    """
    role = Role(role)
    state = State(state) if state is not None else None
    return [r.action for r in RULES if role in r.roles and _permits_state(r, state)]


def permit(
    action: Action | str,
    role: Role | str,
    state: State | str | None,
    *,
    last_rating: str | None = None,
    on_grid: bool = False,
) -> Rule:
    """May ``role`` take ``action`` on a case in ``state``, whatever it carries? Its rule if so.

    Checks, in this order: the role (:class:`RoleNotAllowed`), the current state
    (:class:`InvalidTransition`; ``state`` None means the case does not exist yet), then the
    facts the caller passes (:class:`PreconditionFailed`: ``last_rating`` must be
    ``unsatisfied`` for reopen; ``on_grid`` false for assign_grid). The payload is
    :func:`check`'s.
    """
    rule = rule_for(action)
    role = Role(role)
    state = State(state) if state is not None else None
    if role not in rule.roles:
        raise RoleNotAllowed(
            rule.action.value, role.value, action_zh=rule.label_zh, role_zh=ROLE_LABELS[role][0]
        )
    if not _permits_state(rule, state):
        shown = STATE_LABELS[state][0] if state is not None else "尚未上报"
        raise InvalidTransition(
            rule.action.value,
            state.value if state is not None else None,
            message_zh=f"案件当前状态为“{shown}”，不能执行“{rule.label_zh}”",
        )

    if rule.action is Action.ASSIGN_GRID and on_grid:
        raise PreconditionFailed(
            rule.action.value,
            state.value if state is not None else None,
            message_zh="案件已在网格内，无需划入",
            message_en="The case is already on a grid",
            code="already_on_grid",
        )
    if rule.action is Action.REOPEN and last_rating != Rating.UNSATISFIED:
        raise PreconditionFailed(
            rule.action.value,
            state.value if state is not None else None,
            message_zh="只有评价为“不满意”的已结案案件才能重办",
            message_en="Only a closed case rated 'unsatisfied' can be reopened",
            code="reopen_requires_unsatisfied",
        )
    return rule


def check(
    action: Action | str,
    role: Role | str,
    state: State | str | None,
    payload: Mapping[str, Any],
    *,
    suspended_from: State | str | None = None,
    last_rating: str | None = None,
    on_grid: bool = False,
) -> State:
    """Validate one action and return the case's state after it.

    :func:`permit` first (role, state, facts), then the payload (:class:`MissingField` /
    :class:`InvalidField`).

    ``suspended_from`` (resume only) is the state the case was in when it was suspended; the
    caller reads it from the event trail. Its absence is a programming error (``ValueError``).
    """
    rule = permit(action, role, state, last_rating=last_rating, on_grid=on_grid)
    state = State(state) if state is not None else None
    validate_payload(payload, rule.requires, rule.optional)
    failed = rule.decision is not None and payload.get(rule.decision) is False
    if failed and rule.requires_on_fail:
        validate_payload(payload, rule.requires_on_fail)

    if rule.restores_previous:
        if suspended_from is None or State(suspended_from) not in OPEN_STATES:
            raise ValueError("resume needs suspended_from, the open state before suspension")
        return State(suspended_from)
    if failed and rule.fail_to_state is not None:
        return rule.fail_to_state
    if rule.to_state is not None:
        return rule.to_state
    assert state is not None  # only creating rules have from_states None, and they move
    return state


# --- labels and tables for the UI and the docs -------------------------------------------


def state_labels() -> dict[str, dict[str, str]]:
    return {s.value: {"zh": zh, "en": en} for s, (zh, en) in STATE_LABELS.items()}


def action_labels() -> dict[str, dict[str, str]]:
    return {r.action.value: {"zh": r.label_zh, "en": r.label_en} for r in RULES}


def role_labels() -> dict[str, dict[str, str]]:
    return {r.value: {"zh": zh, "en": en} for r, (zh, en) in ROLE_LABELS.items()}


def _ordered_states(states: frozenset[State]) -> list[str]:
    return [s.value for s in State if s in states]


def _ordered_roles(roles: frozenset[Role]) -> list[str]:
    return [r.value for r in Role if r in roles]


def rules_table() -> list[dict[str, Any]]:
    """The table as JSON-able dicts (served to the UI; the docs table is made from it)."""
    return [
        {
            "action": r.action.value,
            "label_zh": r.label_zh,
            "label_en": r.label_en,
            "roles": _ordered_roles(r.roles),
            "from_states": None if r.from_states is None else _ordered_states(r.from_states),
            "to_state": None if r.to_state is None else r.to_state.value,
            "requires": sorted(r.requires),
            "optional": sorted(r.optional),
            "decision": r.decision,
            "fail_to_state": None if r.fail_to_state is None else r.fail_to_state.value,
            "requires_on_fail": sorted(r.requires_on_fail),
            "restores_previous": r.restores_previous,
            "by_system": r.by_system,
        }
        for r in RULES
    ]


def _to_cell(r: Rule) -> str:
    if r.restores_previous:
        return "state before suspension"
    target = "(unchanged)" if r.to_state is None else f"`{r.to_state.value}`"
    if r.fail_to_state is not None:
        return f"{target} if {r.decision}, else `{r.fail_to_state.value}`"
    return target


def _requires_cell(r: Rule) -> str:
    parts = [f"`{t}`" for t in sorted(r.requires)]
    parts += [f"`{t}` if not {r.decision}" for t in sorted(r.requires_on_fail)]
    return ", ".join(parts) or "—"


def rule_row(r: Rule) -> str:
    """One markdown row of the lifecycle table (docs/workflow.md holds these verbatim)."""
    if r.from_states is None:
        from_cell = "(new case)"
    elif r.from_states == frozenset(State):
        from_cell = "any"
    else:
        from_cell = ", ".join(f"`{s}`" for s in _ordered_states(r.from_states))
    cells = [
        f"`{r.action.value}`",
        f"{r.label_zh} {r.label_en}",
        ", ".join(_ordered_roles(r.roles) + ([SYSTEM] if r.by_system else [])),
        from_cell,
        _to_cell(r),
        _requires_cell(r),
        ", ".join(f"`{t}`" for t in sorted(r.optional)) or "—",
    ]
    return "| " + " | ".join(cells) + " |"


def rules_markdown() -> str:
    """The lifecycle table as markdown, as pasted into docs/workflow.md."""
    head = (
        "| action | label | roles | from | to | requires | optional |\n"
        "|---|---|---|---|---|---|---|"
    )
    return "\n".join([head, *(rule_row(r) for r in RULES)]) + "\n"
