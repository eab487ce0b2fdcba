"""Every action × every role × every state (and "no case yet") against a literal table.

The expectation below is written out by hand from DESIGN §3 and the brief; it is deliberately
NOT derived from ``RULES``, so a slip in the table shows up here.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from server.domain.workflow import (
    Action,
    InvalidTransition,
    Role,
    RoleNotAllowed,
    State,
    allowed_actions,
    check,
)

NEW = None  # "state" of a case that does not exist yet

# action -> (roles allowed, {from state: to state}); "same" = state unchanged
EXPECTED: dict[str, tuple[set[str], dict[str | None, str]]] = {
    "report": ({"grid_worker", "dispatcher", "admin"}, {NEW: "reported"}),
    "self_handle": ({"grid_worker"}, {NEW: "closed"}),
    "accept": ({"dispatcher"}, {"reported": "accepted"}),
    "reject": ({"dispatcher"}, {"reported": "rejected"}),
    "dispatch": ({"dispatcher"}, {"accepted": "dispatched"}),
    "sign": ({"handler"}, {"dispatched": "in_progress"}),
    "return": ({"handler"}, {"dispatched": "accepted", "in_progress": "accepted"}),
    "resolve": ({"handler"}, {"dispatched": "resolved", "in_progress": "resolved"}),
    "verify": ({"grid_worker", "dispatcher"}, {"resolved": "closed"}),
    "request_extension": ({"handler"}, {"dispatched": "same", "in_progress": "same"}),
    "decide_extension": ({"dispatcher"}, {"dispatched": "same", "in_progress": "same"}),
    "suspend": (
        {"dispatcher"},
        {
            "reported": "suspended",
            "accepted": "suspended",
            "dispatched": "suspended",
            "in_progress": "suspended",
            "resolved": "suspended",
        },
    ),
    # resume goes back to suspended_from, which the test passes as "in_progress"
    "resume": ({"dispatcher"}, {"suspended": "in_progress"}),
    "supervise": (
        {"dispatcher", "supervisor"},
        {
            "reported": "same",
            "accepted": "same",
            "dispatched": "same",
            "in_progress": "same",
            "resolved": "same",
            "suspended": "same",
        },
    ),
    "rate": ({"grid_worker", "dispatcher"}, {"closed": "same"}),
    "reopen": ({"dispatcher"}, {"closed": "accepted"}),
    "comment": (
        {"grid_worker", "dispatcher", "handler", "supervisor", "admin"},
        {
            "reported": "same",
            "accepted": "same",
            "dispatched": "same",
            "in_progress": "same",
            "resolved": "same",
            "closed": "same",
            "rejected": "same",
            "suspended": "same",
        },
    ),
    # a case outside every grid put on one (issue 14 §4): open or suspended, by the dispatcher
    "assign_grid": (
        {"dispatcher"},
        {
            "reported": "same",
            "accepted": "same",
            "dispatched": "same",
            "in_progress": "same",
            "resolved": "same",
            "suspended": "same",
        },
    ),
    # routing between command centres (DESIGN §9): before a department has the case
    "escalate": ({"dispatcher"}, {"reported": "same", "accepted": "same"}),
    "devolve": ({"dispatcher"}, {"reported": "same", "accepted": "same"}),
    "pull_up": ({"dispatcher"}, {"reported": "same", "accepted": "same"}),
    "copy": (
        {"dispatcher"},
        {
            "reported": "same",
            "accepted": "same",
            "dispatched": "same",
            "in_progress": "same",
            "resolved": "same",
            "suspended": "same",
        },
    ),
}

# a complete, valid payload for each action
PAYLOADS: dict[str, dict[str, Any]] = {
    "report": {"note": "路灯不亮"},
    "self_handle": {"note": "已清理", "photos": ["p1"]},
    "accept": {},
    "reject": {"reason": "不属于受理范围"},
    "dispatch": {"department_id": 7, "urgency": "normal"},
    "sign": {},
    "return": {"reason": "非本部门职责"},
    "resolve": {"note": "已修复", "photos": ["p2", "p3"]},
    "verify": {"passed": True},
    "request_extension": {"days": 2, "reason": "需采购材料"},
    "decide_extension": {"approved": True},
    "suspend": {"reason": "涉及历史遗留问题"},
    "resume": {},
    "supervise": {"note": "请尽快处置"},
    "rate": {"rating": "satisfied"},
    "reopen": {"reason": "群众反映问题仍未解决"},
    "comment": {"note": "补充说明"},
    "assign_grid": {"grid_code": "640181001001001"},
    "escalate": {"reason": "需要县级协调"},
    "devolve": {"centre_id": 5, "note": "请镇综治中心处置"},
    "pull_up": {},
    "copy": {"department_ids": [3, 4]},
}

STATES: list[str | None] = [
    NEW,
    "reported",
    "accepted",
    "dispatched",
    "in_progress",
    "resolved",
    "closed",
    "rejected",
    "suspended",
]
ROLES = ["grid_worker", "dispatcher", "handler", "supervisor", "admin"]


def test_tables_cover_every_action_role_and_state() -> None:
    assert set(EXPECTED) == {a.value for a in Action} == set(PAYLOADS)
    assert set(ROLES) == {r.value for r in Role}
    assert set(STATES) - {NEW} == {s.value for s in State}


@pytest.mark.parametrize(
    ("action", "role", "state"),
    list(itertools.product(list(EXPECTED), ROLES, STATES)),
)
def test_check_matches_literal_table(action: str, role: str, state: str | None) -> None:
    roles, moves = EXPECTED[action]
    current = State(state) if state is not None else None
    kwargs: dict[str, Any] = {"suspended_from": State.IN_PROGRESS, "last_rating": "unsatisfied"}

    def run() -> State:
        return check(Action(action), Role(role), current, PAYLOADS[action], **kwargs)

    if role not in roles:
        with pytest.raises(RoleNotAllowed) as refused:
            run()
        assert refused.value.code == "role_not_allowed"
    elif state not in moves:
        with pytest.raises(InvalidTransition) as invalid:
            run()
        assert type(invalid.value) is InvalidTransition
        assert invalid.value.state == state
        assert invalid.value.code == "invalid_transition"
    else:
        expected = moves[state]
        assert run() == (state if expected == "same" else expected)


@pytest.mark.parametrize(("role", "state"), list(itertools.product(ROLES, STATES)))
def test_allowed_actions_matches_literal_table(role: str, state: str | None) -> None:
    current = State(state) if state is not None else None
    expected = [a for a, (roles, moves) in EXPECTED.items() if role in roles and state in moves]
    assert [a.value for a in allowed_actions(Role(role), current)] == expected


def test_admin_only_comments_on_existing_cases() -> None:
    for state in State:
        assert allowed_actions(Role.ADMIN, state) == [Action.COMMENT]
    assert allowed_actions(Role.ADMIN, None) == [Action.REPORT]


def test_strings_are_accepted_for_action_and_role() -> None:
    assert check("accept", "dispatcher", State.REPORTED, {}) is State.ACCEPTED
    assert check("resume", "dispatcher", "suspended", {}, suspended_from="accepted") is (
        State.ACCEPTED
    )
    assert allowed_actions("handler", "dispatched") == [
        Action.SIGN,
        Action.RETURN,
        Action.RESOLVE,
        Action.REQUEST_EXTENSION,
        Action.COMMENT,
    ]


def test_assign_grid_only_for_a_case_outside_every_grid() -> None:
    from server.domain.workflow import PreconditionFailed

    payload = PAYLOADS["assign_grid"]
    assert check("assign_grid", "dispatcher", "accepted", payload, on_grid=False) == "accepted"
    with pytest.raises(PreconditionFailed) as err:
        check("assign_grid", "dispatcher", "accepted", payload, on_grid=True)
    assert err.value.code == "already_on_grid"
