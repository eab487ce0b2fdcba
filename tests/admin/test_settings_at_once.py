"""Admin settings that are one row per key (a routing rule per category × urgency, a card
threshold per stage) written by several requests at the same moment: the answers of the
requests sent one after the other (the last one wins), never a 500 (an outside audit: a
duplicate key when each request saw no row and inserted one)."""

from __future__ import annotations

from functools import partial

from sqlalchemy import func, select

from server.models import CardThresholdRow, RoutingRule, StageLimitRow
from tests.admin.conftest import client_for
from tests.support import at_once
from tests.workflow.world import World


def test_a_new_routing_rule_put_at_once_is_stored_once(any_world: World) -> None:
    """Two PUTs of a rule that does not exist yet (audit: 7 of 20 were a 500)."""
    w = any_world
    clients = [client_for(w, "admin") for _ in range(2)]
    minors = ["0101", "0102", "0201", "0202", "0301"]
    for code in minors:
        rule = {"category_id": w.categories[code], "urgency": "urgent", "level": "county"}
        bodies = [rule | {"enabled": True}, rule | {"enabled": False}]
        answers = at_once(
            [
                partial(c.put, "/api/v1/admin/routing-rules", json=b)
                for c, b in zip(clients, bodies, strict=True)
            ]
        )
        assert [r.status_code for r in answers] == [200, 200], [r.get_json() for r in answers]
    with w.session() as db:
        assert db.scalar(select(func.count()).select_from(RoutingRule)) == len(minors)


def test_card_thresholds_put_at_once_are_stored_once(any_world: World) -> None:
    """Two PUTs of thresholds not stored yet (audit: 1 of 20 was a 500); the last one wins."""
    w = any_world
    clients = [client_for(w, "admin") for _ in range(2)]
    url = "/api/v1/admin/card-thresholds"
    for stage in ("accept", "dispatch", "handle", "verify"):
        bodies = [
            {stage: {"yellow_days": 1, "red_days": 3}},
            {stage: {"yellow_days": 2, "red_days": 4}},
        ]
        answers = at_once(
            [partial(c.put, url, json=b) for c, b in zip(clients, bodies, strict=True)]
        )
        assert [r.status_code for r in answers] == [200, 200], [r.get_json() for r in answers]
        with w.session() as db:
            row = db.scalar(select(CardThresholdRow).where(CardThresholdRow.stage == stage))
            assert row is not None and (row.yellow_days, row.red_days) in {(1, 3), (2, 4)}


def test_a_new_stage_limit_put_at_once_is_stored_once(any_world: World) -> None:
    """Two PUTs of a stage limit not stored yet: both 200, one row, the last one's value (the
    second was a 409 "changed meanwhile" when both inserted it)."""
    w = any_world
    clients = [client_for(w, "admin") for _ in range(2)]
    url = "/api/v1/admin/stage-limits"
    stages = ("accept", "dispatch", "handle", "verify")
    for stage in stages:
        limit = {"category_code": "0101", "urgency": "normal", "level": "county", "stage": stage,
                 "limit_unit": "work_days"}  # fmt: skip
        bodies = [limit | {"limit_value": 1}, limit | {"limit_value": 2}]
        answers = at_once(
            [partial(c.put, url, json=b) for c, b in zip(clients, bodies, strict=True)]
        )
        assert [r.status_code for r in answers] == [200, 200], [r.get_json() for r in answers]
    with w.session() as db:
        assert db.scalar(select(func.count()).select_from(StageLimitRow)) == len(stages)
