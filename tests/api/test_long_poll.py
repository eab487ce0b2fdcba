"""Long polls cannot take every thread: caps per user and per process (server/api/longpoll.py)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from server.api.longpoll import PollSlots
from server.models import User
from tests import factories as f
from tests.workflow.world import World


def test_slots_cap_per_user_and_in_all() -> None:
    slots = PollSlots(per_user=2, total=3)
    assert slots.acquire(1) and slots.acquire(1)
    assert not slots.acquire(1)  # a third wait by the same user: refused
    assert slots.acquire(2)
    assert not slots.acquire(3)  # the process is full: another user is refused too
    assert (slots.waiting(1), slots.waiting()) == (2, 3)
    slots.release(1)
    assert slots.acquire(3) and not slots.acquire(1)
    slots.release(2)
    assert slots.acquire(1)


def test_a_refused_slot_is_not_held() -> None:
    slots = PollSlots(per_user=1, total=1)
    with slots.slot(7) as first:
        with slots.slot(7) as second:
            assert first and not second
        assert slots.waiting(7) == 1  # leaving the refused one released nothing
    assert slots.waiting() == 0
    with slots.slot(7) as again:
        assert again


def test_one_user_cannot_hold_more_than_two_waiting_polls(world: World) -> None:
    world.app.config["WANGGE_LONG_POLL_SECONDS"] = 4
    slots: PollSlots = world.app.extensions["wangge.poll_slots"]
    assert (slots.per_user, slots.total) == (2, 500)  # the defaults
    with f.session(world.app) as db:
        uid = db.scalar(select(User.id).where(User.username == "disp"))
    assert uid is not None
    clients = [world.app.test_client() for _ in range(3)]
    for c in clients:
        f.login(c, "disp")
    cursor = clients[0].get("/api/v1/changes").get_json()["cursor"]
    url = f"/api/v1/changes?after={cursor}&wait=60"
    codes: list[int] = []
    waiting = [
        threading.Thread(target=lambda c=c: codes.append(c.get(url).status_code))
        for c in clients[:2]
    ]
    for t in waiting:
        t.start()
    deadline = time.monotonic() + 10
    while slots.waiting(uid) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slots.waiting(uid) == 2
    r = clients[2].get(url)  # the third answers at once, without waiting
    # ... and says when to poll again, so that a client does not spin
    assert r.status_code == 200
    assert r.get_json() == {"cursor": cursor, "items": [], "retry_after": 5}
    assert all(t.is_alive() for t in waiting)  # it did not wait for the two polls' 4 s
    for t in waiting:
        t.join(15)
    assert codes == [200, 200] and slots.waiting() == 0
