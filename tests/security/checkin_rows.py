"""Access-matrix rows of check-ins and work logs (/api/v1/check-ins, /api/v1/work-logs), for
tests/security/test_access_matrix.py. The expected answers come from the policy's field-work
functions (``may_see_check_in``, ``may_decide_check_in``, ``may_see_work_log``,
``may_comment_work_log``), never typed here: what the actor may not see is 404, what they see
but may not act on 403."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from werkzeug.test import TestResponse

from server.models import CheckIn, Grid, GridPlan, Region
from server.usecases import policy
from tests.workflow.world import G1, G3, GB, IN_G1, IN_GB

OK = frozenset({200, 201})
SH = ZoneInfo("Asia/Shanghai")
GRID_WORKER = {"G1": (G1, "wg1"), "G3": (G3, "wg3"), "GB": (GB, "wgb")}
WORKERS = ("wg1", "wg3", "wgb")


def _today() -> date:
    return datetime.now(SH).date()


def _pending(env: Any, who: str, obj: str) -> None:
    """A fresh pending 补签 of the grid's worker (each on a day of its own), in env.check_in."""
    code, worker = GRID_WORKER[obj]
    with env.w.session() as db:
        community_id = db.scalar(
            select(Grid.community_id)
            .join(GridPlan, Grid.plan_id == GridPlan.id)
            .where(GridPlan.status == "active", Grid.code == code)
        )
        community = db.get(Region, community_id)
        assert community is not None and community.parent is not None
        town = community.parent
        row = CheckIn(
            uuid=str(uuid.uuid4()),
            content_hash="-",
            worker_id=env.w.users[worker],
            day=date(2020, 1, 1) + timedelta(days=env.next()),
            at=datetime.now(SH),
            reason="矩阵",
            status="pending",
            makeup=True,
            grid_code=code,
            community_id=community.id,
            town_id=town.id,
            county_id=town.parent_id,
        )
        db.add(row)
        db.commit()
        env.check_in = row.id


def _check_in(env: Any) -> CheckIn:
    with env.w.session() as db:
        row = db.get(CheckIn, env.check_in)
        assert row is not None
        db.expunge(row)
        return row


def _decide_expect(env: Any, who: str, obj: str) -> frozenset[int]:
    actor, row = env.actor(who), _check_in(env)
    if policy.may_decide_check_in(actor, row):
        return OK
    return frozenset({403 if policy.may_see_check_in(actor, row) else 404})


def _create_expect(env: Any, who: str, obj: str) -> frozenset[int]:
    # wg1 in its own grid: accepted (once: the matrix's only grid worker); elsewhere: 422
    return OK if obj == "G1" else frozenset({422})


def _check_ins_visible(env: Any, who: str, obj: str, resp: TestResponse) -> str | None:
    actor = env.actor(who)
    bad = []
    with env.w.session() as db:
        for item in (resp.get_json() or {}).get("items", []):
            row = db.get(CheckIn, item["id"])
            if row is None or not policy.may_see_check_in(actor, row):
                bad.append(item["id"])
    return f"check-ins outside the jurisdiction listed: {bad}" if bad else None


def _workers_visible(env: Any, who: str, obj: str, resp: TestResponse) -> str | None:
    actor = env.actor(who)
    with env.w.session() as db:
        bad = [
            i["worker"]["id"]
            for i in (resp.get_json() or {}).get("items", [])
            if not policy.may_see_work_log(db, actor, i["worker"]["id"])
        ]
    return f"work logs outside the jurisdiction listed: {bad}" if bad else None


def _log_expect(env: Any, who: str, obj: str) -> frozenset[int]:
    with env.w.session() as db:
        return OK if policy.may_see_work_log(db, env.actor(who), env.w.users[obj]) else {404}  # type: ignore[return-value]


def _comment_expect(env: Any, who: str, obj: str) -> frozenset[int]:
    actor, worker = env.actor(who), env.w.users[obj]
    with env.w.session() as db:
        if policy.may_comment_work_log(db, actor, worker):
            return OK
        return frozenset({403 if policy.may_see_work_log(db, actor, worker) else 404})


def _post(path: Callable[[Any, str], str], body: Callable[[Any, str], Any]) -> Any:
    return lambda env, who, obj: env.clients[who].post(path(env, obj), json=body(env, obj))


def rows(Row: Any) -> dict[tuple[str, str], Any]:
    """The rows, made with the matrix's ``Row`` class."""
    none = ("-",)
    where = {"G1": IN_G1, "GB": IN_GB}
    return {
        ("check_ins.create", "POST"): Row(
            ("GB", "G1"),  # outside first: after G1 the day is taken
            _post(
                lambda e, o: "/api/v1/check-ins",
                lambda e, o: {
                    "uuid": str(uuid.uuid4()),
                    "at": datetime.now(SH).isoformat(),
                    "lon": where[o][0],
                    "lat": where[o][1],
                },
            ),
            _create_expect,
        ),
        ("check_ins.listing", "GET"): Row(
            none,
            lambda e, w, o: e.clients[w].get("/api/v1/check-ins", query_string={"limit": 500}),
            None,
            _check_ins_visible,
        ),
        ("check_ins.decide", "POST"): Row(
            ("G1", "G3", "GB"),
            _post(
                lambda e, o: f"/api/v1/check-ins/{e.check_in}/decision",
                lambda e, o: {"decision": "approve", "note": "矩阵"},
            ),
            _decide_expect,
            prepare=_pending,
        ),
        ("work_logs.day_list", "GET"): Row(
            none,
            lambda e, w, o: e.clients[w].get(
                "/api/v1/work-logs", query_string={"date": _today().isoformat()}
            ),
            None,
            _workers_visible,
        ),
        ("work_logs.worker_day", "GET"): Row(
            WORKERS,
            lambda e, w, o: e.clients[w].get(f"/api/v1/work-logs/{e.w.users[o]}/{_today()}"),
            _log_expect,
        ),
        ("work_logs.comment", "POST"): Row(
            WORKERS,
            _post(
                lambda e, o: f"/api/v1/work-logs/{e.w.users[o]}/{_today()}/comments",
                lambda e, o: {"uuid": str(uuid.uuid4()), "text": "矩阵点评"},
            ),
            _comment_expect,
        ),
    }
