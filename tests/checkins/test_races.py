"""Two requests at once: the database decides (docs/field-work.md, "Check-ins"). A second
check-in for a day that slips past the lookup meets the unique index of live check-ins and is
answered 409 with the one that got in; two supervisors deciding the same 补签 at once: one wins,
the other gets 409 — by the conditional update, not by the earlier read."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from server.models import CheckIn
from server.usecases import check_ins
from server.usecases.errors import Conflict
from tests.checkins.conftest import CW, check_in, days_ago, moment, today
from tests.workflow.world import IN_G1


def _count(cw: CW) -> int:
    with cw.w.session() as db:
        return int(db.scalar(select(func.count()).select_from(CheckIn)) or 0)


def test_a_second_check_in_past_the_lookup_meets_the_unique_index(
    any_cw: CW, monkeypatch: pytest.MonkeyPatch
) -> None:
    cw = any_cw
    first = check_in(cw.client("wg1"), at=moment(days_ago(1)), reason="手机没电")
    assert first.status_code == 201
    real = check_ins.live_on
    calls: list[Any] = []

    def blind_once(ctx: Any, worker_id: int, day: Any) -> Any:
        calls.append(day)
        return None if len(calls) == 1 else real(ctx, worker_id, day)  # the race: not seen yet

    monkeypatch.setattr(check_ins, "live_on", blind_once)
    body = {"uuid": str(uuid.uuid4()), "at": moment(days_ago(1), 10), "reason": "再补一次",
            "lon": IN_G1[0], "lat": IN_G1[1]}  # fmt: skip
    r = cw.client("wg1").post("/api/v1/check-ins", json=body)
    assert r.status_code == 409, r.get_json()
    assert r.get_json()["error"] == "already_checked_in"
    assert r.get_json()["existing"]["id"] == first.get_json()["id"]
    assert _count(cw) == 1
    # the session is usable after the rollback: the same worker checks in another day
    monkeypatch.setattr(check_ins, "live_on", real)
    assert check_in(cw.client("wg1"), at=moment(days_ago(2)), reason="出差").status_code == 201


def test_two_decisions_at_once_one_wins(any_cw: CW) -> None:
    cw = any_cw
    pending = check_in(cw.client("wg1"), at=moment(days_ago(1)), reason="手机没电").get_json()
    with cw.w.session() as db:
        ctx, sup = cw.w.ctx(db), cw.w.actor(db, "sup")
        assert db.get(CheckIn, pending["id"]).status == "pending"  # type: ignore[union-attr]
        # meanwhile the community's supervisor rejects it
        r = cw.client("supc").post(f"/api/v1/check-ins/{pending['id']}/decision",
                                   json={"decision": "reject", "note": "不同意"})  # fmt: skip
        assert r.status_code == 200
        # the county supervisor's request read it as pending (this session's copy) …
        with pytest.raises(Conflict) as err:
            check_ins.decide(ctx, sup, pending["id"], "approve", None)
        assert err.value.code == "not_pending"
    with cw.w.session() as db:
        row = db.get(CheckIn, pending["id"])
        assert row is not None and row.status == "rejected"
        assert row.decided_by_id == cw.id("supc") and row.decision_note == "不同意"


def test_the_same_check_in_sent_at_once_is_one_and_replays(any_cw: CW) -> None:
    """A phone's retry of a check-in while the first copy is still being stored is that
    check-in (200, a replay), not a second one for the day (409 ``already_checked_in`` naming
    itself: the same race as a patrol's start, found by an outside audit)."""
    from concurrent.futures import ThreadPoolExecutor

    cw = any_cw
    body = {"uuid": str(uuid.uuid4()), "at": moment(days_ago(1)), "reason": "手机没电"}
    clients = [cw.client("wg1") for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda c: c.post("/api/v1/check-ins", json=body), clients))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 5 + [201], [a.get_json() for a in answers]
    assert _count(cw) == 1


def test_the_same_check_in_with_a_position_sent_at_once_is_one_and_replays(any_cw: CW) -> None:
    """The same with a position, today and (补签 made there) a past day, each copy released by
    one barrier: the copies after the first commit found it by the day's lookup and were 409
    ``already_checked_in`` naming their own uuid (an outside audit: 5 of 80)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from tests.workflow.world import IN_G2

    cw = any_cw
    cw.set_deadline("23:59")
    rounds = [("wg1", IN_G1, today(), None), ("wg2", IN_G2, today(), None)]
    rounds += [("wg1", IN_G1, days_ago(n), "手机没电") for n in (1, 2, 3)]
    for who, (lon, lat), day, reason in rounds:
        body = {"uuid": str(uuid.uuid4()), "at": moment(day, 0, 5), "lon": lon, "lat": lat,
                "accuracy_m": 10.0}  # fmt: skip
        if reason:
            body["reason"] = reason
        clients = [cw.client(who) for _ in range(8)]
        gate = Barrier(len(clients))

        def send(c: Any, b: dict[str, Any] = body, g: Barrier = gate) -> Any:
            g.wait()
            return c.post("/api/v1/check-ins", json=b)

        with ThreadPoolExecutor(len(clients)) as pool:
            answers = list(pool.map(send, clients))
        codes = sorted(a.status_code for a in answers)
        assert codes == [200] * 7 + [201], [a.get_json() for a in answers]
        assert len({a.get_json()["id"] for a in answers}) == 1
        with cw.w.session() as db:
            n = db.scalar(
                select(func.count()).select_from(CheckIn).where(CheckIn.uuid == body["uuid"])
            )
            assert n == 1


def test_a_copy_past_the_uuid_lookup_is_answered_as_the_replay(
    any_cw: CW, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race of the previous test made certain: the copy's first look for its uuid comes
    before the first copy's commit (made blind here), its day's lookup after. It looks again
    when refused: 200, the replay, not 409 ``already_checked_in`` naming its own uuid."""
    from server.usecases.base_data import common

    cw = any_cw
    cw.set_deadline("23:59")
    body = {"uuid": str(uuid.uuid4()), "at": moment(today(), 0, 5), "lon": IN_G1[0],
            "lat": IN_G1[1], "accuracy_m": 10.0}  # fmt: skip
    first = cw.client("wg1").post("/api/v1/check-ins", json=body)
    assert first.status_code == 201, first.get_json()
    real = common.earlier
    calls: list[Any] = []

    def blind_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(common, "earlier", blind_once)
    again = cw.client("wg1").post("/api/v1/check-ins", json=body)
    assert again.status_code == 200, again.get_json()
    assert again.headers["Idempotent-Replay"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert _count(cw) == 1
