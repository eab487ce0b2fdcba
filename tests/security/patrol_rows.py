"""Access-matrix rows of patrols and tracks (/api/v1/patrols, /api/v1/workers/<id>/day), for
tests/security/test_access_matrix.py.

Objects: ``own`` (a patrol the caller started; only grid workers have one) and ``other`` (a
patrol of wg2) for the patrol endpoints; the workers wg1, wg2 (community C), wg3 (town T2) and
wgb (county B) for a worker's day. Expected answers come from ``policy.may_see_track`` and
``policy.may_see_user``: another's patrol is 404; a day whose tracks the actor may not see is
403 for a supervisor who sees the worker otherwise, else 404.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from server.models import GridAssignment
from server.usecases import grid_locator, patrols, policy
from tests import factories as f

OK = frozenset({200, 201})
WORKERS = ("wg1", "wg2", "wg3", "wgb")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _patrols(env: Any) -> dict[str, str]:
    """who → an open patrol of theirs (made once per identity; wg2's for ``other``)."""
    found: dict[str, str] = env.__dict__.setdefault("patrols", {})
    return found


def _patrol_of(env: Any, who: str) -> str:
    patrols = _patrols(env)
    if who not in patrols:
        c = env.w.app.test_client()
        f.login(c, who)
        key = str(uuid.uuid4())
        # each fresh one 40 minutes before the last (ended at now − 1 min): patrols of one
        # worker never overlap (409 patrol_overlap)
        made: dict[str, int] = env.__dict__.setdefault("patrols_made", {})
        made[who] = made.get(who, 0) + 1
        back = timedelta(minutes=30 + 40 * (made[who] - 1))
        resp = c.post("/api/v1/patrols", json={"uuid": key, "started_at": _iso(_now() - back)})
        assert resp.status_code == 201, resp.get_json()
        patrols[who] = key
    return patrols[who]


def _target(env: Any, who: str, obj: str) -> str:
    if obj == "other":
        return _patrol_of(env, "wg2")
    actor = env.actor(who)
    if actor is not None and actor.role == "grid_worker":
        return _patrol_of(env, who)
    return str(uuid.uuid4())  # a caller refused by role never gets this far


def _own_only(env: Any, who: str, obj: str) -> frozenset[int]:
    return OK if obj == "own" else frozenset({404})


def _track(env: Any, who: str, obj: str) -> Any:
    key = _target(env, who, obj)
    t = int((_now() - timedelta(minutes=20)).timestamp() * 1000) + env.next() * 1000
    return env.clients[who].post(
        f"/api/v1/patrols/{key}/track",
        json={"uuid": str(uuid.uuid4()), "seq": env.next(), "points": [[t, 106.3, 38.05, 5]]},
    )


def _end(env: Any, who: str, obj: str) -> Any:
    key = _target(env, who, obj)
    if obj == "own":
        _patrols(env).pop(who, None)  # the next call starts a fresh one
    return env.clients[who].post(
        f"/api/v1/patrols/{key}/end", json={"ended_at": _iso(_now() - timedelta(minutes=1))}
    )


def _start(env: Any, who: str, obj: str) -> Any:
    """A patrol days back, ended at once (it overlaps none of the rows' own patrols)."""
    key = str(uuid.uuid4())
    at = _iso(_now() - timedelta(days=6) + timedelta(seconds=env.next()))
    resp = env.clients[who].post("/api/v1/patrols", json={"uuid": key, "started_at": at})
    if resp.status_code == 201:
        env.clients[who].post(f"/api/v1/patrols/{key}/end", json={"ended_at": at})
    return resp


def _worker_id(env: Any, name: str) -> int:
    return int(env.w.users[name])


def _day_expect(env: Any, who: str, obj: str) -> frozenset[int]:
    actor = env.actor(who)
    assert actor is not None
    worker = _worker_id(env, obj)
    if actor.id == worker:
        return OK
    with env.w.session() as db:
        codes = db.scalars(select(GridAssignment.grid_code).where(GridAssignment.user_id == worker))
        chains = [grid_locator.region_chain(db, patrols.grid_community(db, c)) for c in codes]
        homes = [(community, town) for community, town, _county in chains]
        if any(policy.may_see_track(actor, worker, c, t) for c, t in homes):
            return OK
        if actor.role == "supervisor" and policy.may_see_user(db, actor, worker):
            return frozenset({403})
    return frozenset({404})


def _day(env: Any, who: str, obj: str) -> Any:
    day = _now().date().isoformat()
    return env.clients[who].get(f"/api/v1/workers/{_worker_id(env, obj)}/day?date={day}")


def rows(Row: Any) -> dict[tuple[str, str], Any]:
    """The rows, made with the matrix's ``Row`` class."""
    return {
        ("patrols.start", "POST"): Row(("-",), _start),
        ("patrols.track", "POST"): Row(("own", "other"), _track, _own_only),
        ("patrols.end", "POST"): Row(("own", "other"), _end, _own_only),
        ("patrols.worker_day", "GET"): Row(WORKERS, _day, _day_expect),
    }
