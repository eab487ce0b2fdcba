"""Lists, filters, cursor pagination, counts and live changes."""

from __future__ import annotations

import threading
import time

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from tests import factories as f
from tests.workflow.world import G2, IN_G2, World


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def test_cursor_pagination_walks_every_case_once(world: World) -> None:
    ids = {world.report() for _ in range(7)}
    c = _client(world, "disp")
    seen: list[int] = []
    cursor = ""
    while True:
        body = c.get(f"/api/v1/cases?limit=3&cursor={cursor}").get_json()
        seen += [x["id"] for x in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)  # newest first


def test_filters_and_counts(world: World) -> None:
    a = world.case_in("dispatched")
    b = world.report(who="disp", where=IN_G2, caller_phone="13900001111")
    c = _client(world, "disp")
    body = c.get("/api/v1/cases?state=dispatched&counts=1").get_json()
    assert [x["id"] for x in body["items"]] == [a]
    assert body["counts"]["dispatched"] == 1 and body["counts"]["reported"] == 1
    assert [x["id"] for x in c.get(f"/api/v1/cases?grid={G2}").get_json()["items"]] == [b]
    assert [x["id"] for x in c.get("/api/v1/cases?q=0001111").get_json()["items"]] == [b]
    assert c.get("/api/v1/cases?source=hotline").get_json()["items"][0]["id"] == b
    assert c.get("/api/v1/cases?state=bogus").status_code == 400
    r = c.get("/api/v1/cases?from=2026-02-01&to=2026-01-01")
    assert r.status_code == 400 and "to" in r.get_json()["fields"]
    # A grid worker cannot search by a citizen's phone number.
    assert _client(world, "wg2").get("/api/v1/cases?q=0001111").get_json()["items"] == []


def test_mine_for_grid_worker_and_handler(world: World) -> None:
    a = world.case_in("dispatched")
    world.report(who="disp", where=IN_G2)
    wg1 = _client(world, "wg1").get("/api/v1/cases?mine=1").get_json()["items"]
    assert [x["id"] for x in wg1] == [a]
    h1 = _client(world, "h1").get("/api/v1/cases?mine=1").get_json()["items"]
    assert [x["id"] for x in h1] == [a]


def test_changes_long_poll_wakes_on_a_new_case(world: World) -> None:
    c = _client(world, "disp")
    cursor = c.get("/api/v1/changes").get_json()["cursor"]
    found: dict = {}

    def poll() -> None:
        t0 = time.monotonic()
        found["body"] = c.get(f"/api/v1/changes?after={cursor}&wait=10").get_json()
        found["seconds"] = time.monotonic() - t0

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.8)
    cid = world.report()
    t.join(timeout=15)
    assert [x["id"] for x in found["body"]["items"]] == [cid]
    assert found["seconds"] < 5
    # Out of scope: another county's dispatcher is not woken by it.
    other = _client(world, "dispb")
    body = other.get(f"/api/v1/changes?after={cursor}&wait=0").get_json()
    assert body["items"] == []


def test_changes_across_two_server_processes(world: World) -> None:
    """Two app instances on one database (as two gunicorn workers): a change made through one
    reaches a console polling the other."""
    from server import create_app

    second = create_app(world.app.extensions["wangge.settings"])
    c2 = second.test_client()
    f.login(c2, "disp")
    cursor = c2.get("/api/v1/changes").get_json()["cursor"]
    c1 = _client(world, "wg1")
    r = c1.post("/api/v1/cases", json={"uuid": "6f0b1c84-9d1f-4a64-8b9e-4c2b8f5c2a11",
                "category_code": "0101", "lon": 106.3, "lat": 38.05})  # fmt: skip
    body = c2.get(f"/api/v1/changes?after={cursor}&wait=5").get_json()
    assert [x["id"] for x in body["items"]] == [r.get_json()["case"]["id"]]


def test_bbox_filter_and_photo_summary(world: World) -> None:
    inside = world.report(where=(106.30, 38.05), photos=[world.photo("wg1")])
    world.report(where=(106.36, 38.05))
    c = _client(world, "disp")
    items = c.get("/api/v1/cases?bbox=106.29,38.04,106.31,38.06").get_json()["items"]
    assert [x["id"] for x in items] == [inside]
    assert items[0]["photo_count"] == 1 and items[0]["thumb_url"].endswith("/thumb")
    assert c.get(items[0]["thumb_url"]).status_code == 200
    assert c.get("/api/v1/cases?bbox=1,2,3").status_code == 400


def test_counts_follow_every_change(world: World) -> None:
    c = _client(world, "disp")
    cid = world.report()
    assert c.get("/api/v1/cases?counts=1").get_json()["counts"]["reported"] == 1
    world.act("disp", cid, "accept")
    counts = c.get("/api/v1/cases?counts=1").get_json()["counts"]
    assert counts["reported"] == 0 and counts["accepted"] == 1


@pytest.mark.parametrize("how", ["sign_out", "disable"])
def test_a_waiting_poll_answers_nothing_once_its_sign_in_ended(world: World, how: str) -> None:
    """The sign-in is checked before the wait: a sign-out (from another tab, or everywhere) or a
    disabled account during the wait was answered with the new case in full (an attacker's
    finding). After a wait the sign-in is checked again: 401, no case."""
    from sqlalchemy import update

    from server.models import SignIn, User

    c = _client(world, "disp")
    cursor = c.get("/api/v1/changes").get_json()["cursor"]
    found: dict = {}

    def poll() -> None:
        found["r"] = c.get(f"/api/v1/changes?after={cursor}&wait=10")

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.8)
    with world.session() as db:
        uid = db.scalar(select(User.id).where(User.username == "disp"))
        if how == "sign_out":
            db.execute(
                update(SignIn).where(SignIn.user_id == uid).values(ended_at=SignIn.created_at)
            )
        else:
            db.execute(update(User).where(User.id == uid).values(active=False))
        db.commit()
    world.report(description="after the sign-in ended")
    t.join(timeout=15)
    r = found["r"]
    assert r.status_code == 401, r.get_data(as_text=True)[:300]
    assert "after the sign-in ended" not in r.get_data(as_text=True)
