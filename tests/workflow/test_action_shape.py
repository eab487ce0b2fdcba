"""The change feed works out the actions offered once per *shape* of actor
(``policy.action_shape``), not per console: two actors of the same role, jurisdiction and
department, but not the same person, must be offered the same actions on every case — except
grid workers, whose shape keeps who they are (only the reporter rates). If a rule ever came to
depend on who the actor is, this test says so before a console is sent another user's actions.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from server.models import Incident
from server.usecases import policy
from tests.workflow.test_offered_equals_accepted import FACTS, PLACES, STATES, _case
from tests.workflow.world import World, widen

SHAPED = ["disp", "sup", "dispb", "h1", "h2", "admin", "dispt", "ht2"]


@pytest.mark.parametrize("state", STATES)
def test_the_same_shape_is_offered_the_same_actions(world: World, state: str) -> None:
    w = world
    widen(w)
    cases = [
        _case(w, state, reporter, where, fact)
        for reporter, where in PLACES.values()
        for fact in FACTS.get(state, [""])
    ]
    with w.session() as db:
        people = set(w.users.values())
        for cid in cases:
            case = db.scalar(select(Incident).where(Incident.id == cid))
            assert case is not None
            for who in SHAPED:
                actor = w.actor(db, who)
                assert policy.action_shape(actor) == policy.action_shape(
                    replace(actor, id=12345, display_name="x")
                )
                offered = policy.allowed_actions(db, actor, case)
                then = policy.allowed_next(db, actor, case, offered)
                # as someone else of the same shape: the reporter, the extension's requester,
                # or anyone
                for other in people - {actor.id}:
                    twin = replace(actor, id=other)
                    got = policy.allowed_actions(db, twin, case)
                    assert got == offered, (state, who, other, cid)
                    assert policy.allowed_next(db, twin, case, got) == then


def test_a_grid_workers_shape_keeps_who_they_are(world: World) -> None:
    with world.session() as db:
        wg1 = world.actor(db, "wg1")
    assert policy.action_shape(wg1) != policy.action_shape(replace(wg1, id=wg1.id + 1))
