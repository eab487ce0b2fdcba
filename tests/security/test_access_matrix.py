"""The access matrix: every endpoint × every role × own and foreign objects (issue 11).

The rows come from the app's ``url_map``: every (endpoint, method) must have a row here and an
entry in :data:`server.usecases.policy.ENDPOINT_ROLES`, or the test fails (add both when you
add an endpoint). Each row says which objects to try (cases, regions, grids, departments, users,
photos, uploads, metric scopes of the own jurisdiction, another grid, another department,
another town and another county) and how to call the endpoint; the *expected* answer is never
typed here: it comes from the policy module (who may call the endpoint, may this actor see or
refer to this object) and, for case actions, the workflow table. List answers are checked item
by item against the policy too (no case, grid, region, department or worker outside it).

Identities: signed out, a grid worker, a county and a town dispatcher, a handler, a supervisor,
an admin without a region and one whose account names county B. The world is
``tests.workflow.world.widen`` (two counties, two towns in county A).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from server.domain import scorecards as scoring
from server.domain import workflow as wf
from server.models import Attachment, Department, Grid, GridPlan, Incident, Region
from server.usecases import grid_locator, policy
from server.usecases.context import Actor
from tests import factories as f
from tests.base_data.world import Base
from tests.base_data.world import seed as seed_base
from tests.security import base_rows, checkin_rows, patrol_rows
from tests.workflow.world import G1, G2, G3, GB, IN_G1, IN_G2, IN_G3, IN_GB, World, build, widen

IDENTITIES = ("anon", "wg1", "disp", "dispt", "h1", "sup", "admin", "adminb")
OK = frozenset({200, 201, 204, 302, 304})
PERIOD = {"from": "2020-01-01", "to": "2030-12-31"}
NONE = ("-",)


def _public(status: int) -> bool:
    return status < 500 and status not in (401, 403)


@dataclass
class Env:
    w: World
    clients: dict[str, FlaskClient] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)
    photos: dict[str, str] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)  # identity → an upload of theirs
    other_upload: tuple[str, int] = ("", 0)  # wg2's unattached upload: uuid, size
    replay_body: dict[str, Any] = field(default_factory=dict)  # wgb's report
    plans: dict[str, int] = field(default_factory=dict)
    acted: dict[tuple[str, str], int] = field(default_factory=dict)
    base: Base = field(default_factory=Base)  # base data in every grid (tests/base_data)
    seq: int = 0

    def next(self) -> int:
        self.seq += 1
        return self.seq

    def actor(self, who: str) -> Actor | None:
        if who == "anon":
            return None
        with self.w.session() as db:
            return self.w.actor(db, who)

    def fresh(self, who: str) -> FlaskClient:
        c = self.w.app.test_client()
        if who != "anon":
            f.login(c, who)
        else:
            token = c.get("/api/v1/auth/csrf").get_json()["csrf_token"]
            c.environ_base["HTTP_X_CSRFTOKEN"] = token
        return c


# --- the world ---------------------------------------------------------------------------------


def _setup(app: Flask) -> Env:
    w = widen(build(app))
    env = Env(w, base=seed_base(w))
    deps = w.departments

    def dispatched(
        who: str, where: tuple[float, float], dispatcher: str, dep: str, **kw: Any
    ) -> int:
        cid = w.report(who, where, **kw)
        w.act(dispatcher, cid, "accept")
        w.act(dispatcher, cid, "dispatch", department_id=deps[dep])
        return cid

    env.photos["photo@G1"] = w.photo("wg1")
    env.photos["photo@B"] = w.photo("wgb")
    env.cases["case@G1/D1"] = dispatched(
        "wg1", IN_G1, "disp", "D1", photos=[env.photos["photo@G1"]]
    )
    env.cases["case@G2"] = w.report("wg2", IN_G2)
    env.cases["case@G1/D2"] = dispatched("disp", IN_G1, "disp", "D2")
    env.cases["case@T2/DT2"] = dispatched("wg3", IN_G3, "disp", "DT2")
    env.cases["case@B/DB"] = dispatched("wgb", IN_GB, "dispb", "DB", photos=[env.photos["photo@B"]])
    env.photos["upload:wg2"] = w.photo("wg2")
    with w.session() as db:
        att = db.scalar(select(Attachment).where(Attachment.uuid == env.photos["upload:wg2"]))
        assert att is not None
        env.other_upload = (att.uuid, att.total_bytes)
        env.plans = {
            ("A" if p.region_id != _region_id(db, "640104") else "B"): p.id
            for p in db.scalars(select(GridPlan).where(GridPlan.status == "active"))
        }
    key = str(uuid.uuid4())
    env.replay_body = {"uuid": key, "category_code": "0101", "description": "热线",
                       "lon": IN_GB[0], "lat": IN_GB[1], "caller_phone": "13812345678"}  # fmt: skip
    assert env.fresh("dispb").post("/api/v1/cases", json=env.replay_body).status_code == 201
    _base_places(w)
    for who in IDENTITIES:
        env.clients[who] = env.fresh(who)
        if who != "anon":
            key = str(uuid.uuid4())
            r = env.clients[who].post("/api/v1/uploads", json={"uuid": key, "total_bytes": 10})
            assert r.status_code == 201, r.get_json()
            env.uploads[who] = key
    return env


# base data in and out: a building with a room in G1 and one in county B's GB
BASE_DOORS = {"G1": ("矩阵路1号", G1), "GB": ("矩阵路2号", GB)}


def _address_csv(grid: str, door: str, room: str = "101") -> bytes:
    head = "网格编码*,小区/自然村*,楼栋,单元,房号,门牌地址*,经度,纬度\n"
    return (head + f"{grid},矩阵小区,1栋,1单元,{room},{door},,\n").encode()


def _base_places(w: World) -> None:
    from server.domain.import_templates import ImportKind
    from server.usecases.base_io import imports

    with w.session() as db:
        for door, grid in BASE_DOORS.values():
            imports.run_import(w.ctx(db), w.actor(db, "admin"), ImportKind.ADDRESSES,
                               _address_csv(grid, door))  # fmt: skip
        db.commit()


@dataclass(frozen=True)
class _At:
    grid_code: str
    community_id: int | None
    town_id: int | None
    county_id: int | None


def _base_at(env: Env, obj: str) -> _At:
    from server.models import Place

    with env.w.session() as db:
        p = db.scalar(select(Place).where(Place.grid_code == BASE_DOORS[obj][1]).limit(1))
        assert p is not None
        return _At(BASE_DOORS[obj][1], p.community_id, p.town_id, p.county_id)


def _base_sees(env: Env, who: str, obj: str) -> bool:
    actor = env.actor(who)
    return actor is not None and policy.may_see_base(actor, _base_at(env, obj))


def _search_check(env: Env, who: str, obj: str, resp: TestResponse) -> str | None:
    items = (resp.get_json() or {}).get("items", [])
    if bool(items) != _base_sees(env, who, obj):
        return f"{len(items)} places found; the policy says visible={_base_sees(env, who, obj)}"
    return None


def _import_call(env: Env, who: str, obj: str) -> TestResponse:
    door, grid = BASE_DOORS[obj]
    data = _address_csv(grid, door, room=str(200 + env.next()))
    return env.clients[who].post(
        "/api/v1/base/imports/addresses",
        data={"file": (io.BytesIO(data), "a.csv"), "store": "none"},
    )


def _import_expect(env: Env, who: str, obj: str) -> frozenset[int]:
    actor = env.actor(who)
    assert actor is not None
    return _one(200 if policy.may_edit_base(actor, _base_at(env, obj)) else 422)


def _export_check(env: Env, who: str, obj: str, resp: TestResponse) -> str | None:
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(resp.data)).worksheets[0]
    rows = list(ws.iter_rows(min_row=5, values_only=True))  # three lines, then the header
    door, grid = BASE_DOORS[obj]
    if any(r[0] != grid for r in rows):
        return f"rooms of other grids exported: {sorted({r[0] for r in rows} - {grid})}"
    mine = sum(1 for r in rows if r[5] == door)
    want = 1 if _base_sees(env, who, obj) else 0
    return None if mine == want else f"{mine} rooms at {door} exported, the policy says {want}"


def _region_id(db: Any, code: str) -> int:
    rid = db.scalar(select(Region.id).where(Region.code == code.ljust(12, "0")))
    assert rid is not None
    return int(rid)


# --- what the policy expects ---------------------------------------------------------------------


def _case(env: Env, cid: int) -> Incident:
    with env.w.session() as db:
        case = db.get(Incident, cid)
        assert case is not None
        db.expunge(case)
        return case


def _sees_case(env: Env, who: str, cid: int) -> bool:
    actor = env.actor(who)
    return actor is not None and policy.may_see_case(actor, _case(env, cid))


def _region(env: Env, code: str) -> Region:
    with env.w.session() as db:
        r = db.scalar(select(Region).where(Region.code == code.ljust(12, "0")))
        assert r is not None
        db.expunge(r)
        return r


def _sees_region(env: Env, who: str, code: str) -> bool:
    actor = env.actor(who)
    assert actor is not None
    with env.w.session() as db:
        return policy.may_see_region(db, actor, _region(env, code))


def _names_scope(env: Env, who: str, scope: str) -> bool:
    actor = env.actor(who)
    assert actor is not None
    if actor.role == "admin":
        return True
    kind, _, value = scope.partition(":")
    with env.w.session() as db:
        return policy.may_name_scope(db, actor, kind, value)


def _action_status(env: Env, who: str, action: wf.Action, cid: int, refer_ok: bool) -> int:
    """The answer the policy and the workflow table give ``who`` taking ``action`` on a case."""
    actor = env.actor(who)
    assert actor is not None
    case = _case(env, cid)
    if not policy.may_see_case(actor, case):
        return 404
    if action not in wf.allowed_actions(actor.role, case.state):
        return 403
    try:
        policy.check_act_on_case(actor, action, case)
    except Exception:  # noqa: BLE001 - Forbidden
        return 403
    return 200 if refer_ok else 400


# --- the rows ------------------------------------------------------------------------------------

Call = Callable[[Env, str, str], TestResponse]
Expect = Callable[[Env, str, str], frozenset[int]]
Check = Callable[[Env, str, str, TestResponse], str | None]


@dataclass
class Row:
    objects: tuple[str, ...]
    call: Call
    expect: Expect | None = None  # None: OK (or, for an ANYONE endpoint, any non-refusal)
    check: Check | None = None
    fresh_client: bool = False
    prepare: Callable[[Env, str, str], None] | None = None
    same_as_signed_out: bool = False  # the cookie identity must not change the answer


def _get(path: str, **params: Any) -> Call:
    return lambda env, who, obj: env.clients[who].get(path, query_string=params)


def _ok(env: Env, who: str, obj: str) -> frozenset[int]:
    return OK


def _one(status: int) -> frozenset[int]:
    return frozenset({status})


def _visible_items(key: str = "items") -> Check:
    def check(env: Env, who: str, obj: str, resp: TestResponse) -> str | None:
        ids = [item["id"] for item in (resp.get_json() or {}).get(key, [])]
        bad = [i for i in ids if not _sees_case(env, who, i)]
        return f"cases outside the jurisdiction listed: {bad}" if bad else None

    return check


def _stream_call(env: Env, who: str, obj: str) -> TestResponse:
    """The stream from cursor 0 (its first frame lists every visible case), ended after a
    moment so the whole answer can be read."""
    env.w.app.config["WANGGE_STREAM_SECONDS"] = 0.2
    return env.clients[who].get("/api/v1/changes/stream", query_string={"after": "0"})


def _stream_items(env: Env, who: str, obj: str, resp: TestResponse) -> str | None:
    if resp.status_code != 200:
        return None
    ids = [
        item["id"]
        for line in resp.get_data(as_text=True).splitlines()
        if line.startswith("data: ")
        for item in json.loads(line[6:]).get("items", [])
    ]
    bad = [i for i in ids if not _sees_case(env, who, i)]
    return f"cases outside the jurisdiction streamed: {bad}" if bad else None


def _case_obj(env: Env, obj: str) -> int:
    return env.cases[obj]


CASES = ("case@G1/D1", "case@G2", "case@G1/D2", "case@T2/DT2", "case@B/DB")
REGIONS = ("640181", "640181001", "640181002", "640104")
DEPS = ("D1", "D2", "DT2", "DB")
GRIDS = (G1, G2, G3, GB)
WORKERS = ("wg1", "wg2", "wg3", "wgb")


def _scope(env: Env, obj: str) -> str:
    kind, _, value = obj.partition(":")
    if kind == "department":
        return f"department:{env.w.departments[value]}"
    if kind == "worker":
        return f"worker:{env.w.users[value]}"
    return obj


SCOPES = (
    "-",
    *(f"region:{r}" for r in REGIONS),
    *(f"grid:{g}" for g in GRIDS),
    *(f"department:{d}" for d in DEPS),
    *(f"worker:{u}" for u in WORKERS),
)
FEW_SCOPES = ("-", "region:640104", "department:DB", "worker:wgb", f"grid:{GB}")


def _metrics_call(path: str, **extra: Any) -> Call:
    def call(env: Env, who: str, obj: str) -> TestResponse:
        params: dict[str, Any] = {**PERIOD, **extra}
        if obj != "-":
            params["scope"] = _scope(env, obj)
        return env.clients[who].get(path, query_string=params)

    return call


def _metrics_expect(env: Env, who: str, obj: str) -> frozenset[int]:
    return OK if obj == "-" or _names_scope(env, who, _scope(env, obj)) else _one(403)


def _worker_cards_check(env: Env, who: str, obj: str, resp: TestResponse) -> str | None:
    actor = env.actor(who)
    assert actor is not None
    bad = []
    with env.w.session() as db:
        where = policy.roots(db, actor)
        for item in resp.get_json()["items"]:
            uid = item["subject"]["id"]
            paths = policy.user_paths(db, uid)
            mine = actor.role != "grid_worker" or uid == actor.id
            if not mine or not any(policy.inside(p, where) for p in paths):
                bad.append(uid)
    return f"workers outside the jurisdiction: {bad}" if bad else None


def _act_prepare(env: Env, who: str, obj: str) -> None:
    """The case acted on: a fixed one to comment on, a fresh one to dispatch or reject."""
    variant, _, target = obj.partition(":")
    if variant == "comment":
        cid = env.cases[target]
    elif variant == "dispatch":
        cid = env.w.case_in("accepted")
    else:
        cid = env.w.report("wg1", IN_G1)
    env.acted[(who, obj)] = cid


def _act_call(env: Env, who: str, obj: str) -> TestResponse:
    variant, _, target = obj.partition(":")
    cid = env.acted[(who, obj)]
    body: dict[str, Any] = {"uuid": str(uuid.uuid4()), "action": variant}
    if variant == "comment":
        body["note"] = "看过"
    elif variant == "dispatch":
        body["department_id"] = env.w.departments[target]
    else:
        body.update(action="reject", reason="重复", duplicate_of=env.cases[target])
    return env.clients[who].post(f"/api/v1/cases/{cid}/actions", json=body)


def _act_expect(env: Env, who: str, obj: str) -> frozenset[int]:
    variant, _, target = obj.partition(":")
    cid = env.acted[(who, obj)]
    actor = env.actor(who)
    assert actor is not None
    if variant == "comment":
        return _one(_action_status(env, who, wf.Action.COMMENT, cid, True))
    if variant == "dispatch":
        with env.w.session() as db:
            dep = db.get(Department, env.w.departments[target])
            assert dep is not None
            ok = policy.may_refer_department(db, actor, dep, _case(env, cid))
        return _one(_action_status(env, who, wf.Action.DISPATCH, cid, ok))
    ok = policy.may_refer_case(actor, _case(env, cid), _case(env, env.cases[target]))
    return _one(_action_status(env, who, wf.Action.REJECT, cid, ok))


def _create_call(env: Env, who: str, obj: str) -> TestResponse:
    if obj == "replay:case@B":
        return env.clients[who].post("/api/v1/cases", json=env.replay_body)
    body = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "矩阵",
            "lon": IN_G1[0], "lat": IN_G1[1]}  # fmt: skip
    return env.clients[who].post("/api/v1/cases", json=body)


def _create_expect(env: Env, who: str, obj: str) -> frozenset[int]:
    actor = env.actor(who)
    assert actor is not None
    if obj == "replay:case@B":
        with env.w.session() as db:
            case = db.scalar(select(Incident).where(Incident.uuid == env.replay_body["uuid"]))
            assert case is not None
            return _one(200 if policy.may_replay_report(actor, case) else 409)
    if wf.Action.REPORT not in wf.allowed_actions(actor.role, None):
        return _one(403)
    with env.w.session() as db:
        place = grid_locator.locate(db, IN_G1[0], IN_G1[1], 0)
        where = place.community_id or place.town_id or place.county_id
        return _one(201 if policy.may_report_in(db, actor, where) else 400)


def _grids_check(env: Env, who: str, obj: str, resp: TestResponse) -> str | None:
    actor = env.actor(who)
    assert actor is not None
    with env.w.session() as db:
        allowed = set(
            db.scalars(
                select(Grid.code)
                .join(Region, Grid.community_id == Region.id)
                .where(policy.grids_clause(db, actor))
            )
        )
    codes = {feat["properties"]["code"] for feat in resp.get_json()["features"]}
    return f"grids outside the jurisdiction: {sorted(codes - allowed)}" if codes - allowed else None


def _grids_call(env: Env, who: str, obj: str) -> TestResponse:
    params = {} if obj == "-" else {"mine": "1"} if obj == "mine" else {"region": obj}
    return env.clients[who].get("/api/v1/grids.geojson", query_string=params)


def _grids_expect(env: Env, who: str, obj: str) -> frozenset[int]:
    if obj in ("-", "mine"):
        return OK
    return OK if _sees_region(env, who, obj) else _one(404)


def _tree_check(env: Env, who: str, obj: str, resp: TestResponse) -> str | None:
    bad: list[str] = []

    def walk(nodes: list[dict[str, Any]]) -> None:
        for n in nodes:
            if not _sees_region(env, who, n["code"]) and env.actor(who).role != "admin":  # type: ignore[union-attr]
                bad.append(n["code"])
            walk(n.get("children", []))

    walk(resp.get_json()["items"])
    return f"regions outside the jurisdiction: {bad}" if bad else None


def _shapes_check(env: Env, who: str, obj: str, resp: TestResponse) -> str | None:
    if env.actor(who).role == "admin":  # type: ignore[union-attr]
        return None
    codes = [f["properties"]["code"] for f in resp.get_json()["features"]]
    bad = [c for c in codes if not _sees_region(env, who, c)]
    return f"region outlines outside the jurisdiction: {bad}" if bad else None


def _departments_check(env: Env, who: str, obj: str, resp: TestResponse) -> str | None:
    actor = env.actor(who)
    assert actor is not None
    with env.w.session() as db:
        allowed = set(db.scalars(select(Department.id).where(policy.departments_clause(db, actor))))
    got = {d["id"] for d in resp.get_json()["departments"]}
    return (
        f"departments outside the jurisdiction: {sorted(got - allowed)}" if got - allowed else None
    )


def _photo_call(thumb: bool) -> Call:
    def call(env: Env, who: str, obj: str) -> TestResponse:
        suffix = "/thumb" if thumb else ""
        return env.clients[who].get(f"/api/v1/photos/{env.photos[obj]}{suffix}")

    return call


def _photo_expect(env: Env, who: str, obj: str) -> frozenset[int]:
    actor = env.actor(who)
    assert actor is not None
    with env.w.session() as db:
        att = db.scalar(select(Attachment).where(Attachment.uuid == env.photos[obj]))
        assert att is not None
        case = db.get(Incident, att.incident_id) if att.incident_id else None
        return OK if policy.may_see_photo(actor, att.uploader_id, case) else _one(404)


def _upload_uuid(env: Env, who: str, obj: str) -> str:
    # (Signed out: any well-formed UUID; the answer must be 401 before anything is looked up.)
    return env.uploads.get(who, str(uuid.uuid4())) if obj == "own" else env.other_upload[0]


def _upload_expect(env: Env, who: str, obj: str, refused: int = 404) -> frozenset[int]:
    """Another user's upload answers as an unknown one (404: its existence is not revealed);
    beginning an upload with a UUID someone else took is refused (403)."""
    actor = env.actor(who)
    assert actor is not None
    uploader = actor.id if obj == "own" else env.w.users["wg2"]
    return OK if policy.may_use_upload(actor, uploader) else _one(refused)


def _begin_call(env: Env, who: str, obj: str) -> TestResponse:
    key, size = (str(uuid.uuid4()), 10) if obj == "new" else env.other_upload
    return env.clients[who].post("/api/v1/uploads", json={"uuid": key, "total_bytes": size})


def _begin_expect(env: Env, who: str, obj: str) -> frozenset[int]:
    return OK if obj == "new" else _upload_expect(env, who, "other", refused=403)


def _piece_call(env: Env, who: str, obj: str) -> TestResponse:
    return env.clients[who].put(
        f"/api/v1/uploads/{_upload_uuid(env, who, obj)}?offset=0",
        data=b"x",
        content_type="application/octet-stream",
    )


def _admin_json(
    method: str, path: Callable[[Env, str], str], body: Callable[[Env, str], Any]
) -> Call:
    def call(env: Env, who: str, obj: str) -> TestResponse:
        return env.clients[who].open(path(env, obj), method=method, json=body(env, obj))

    return call


def _stage_limit_id(env: Env) -> int:
    """A fresh stored stage limit (each call its own category × urgency × level × stage)."""
    from server.models import StageLimitRow

    with env.w.session() as db:
        taken = set(db.execute(select(StageLimitRow.urgency, StageLimitRow.level,
                                      StageLimitRow.stage)).tuples())  # fmt: skip
        free = next(
            (u, lv, st)
            for st in ("accept", "dispatch", "handle", "verify")
            for lv in ("", "city", "county", "town", "community")
            for u in ("normal", "urgent")
            if (u, lv, st) not in taken
        )
        row = StageLimitRow(category_code="0101", urgency=free[0], level=free[1], stage=free[2],
                            limit_value=3, limit_unit="work_hours")  # fmt: skip
        db.add(row)
        db.commit()
        return row.id


def _dep_id(env: Env, obj: str) -> int:
    return env.w.departments[obj]


def _user_id(env: Env, obj: str) -> int:
    return env.w.users[obj]


def _same_duties(env: Env, obj: str) -> dict[str, Any]:
    grid = {"wg1": G1, "wgb": GB}[obj]
    return {"duties": [{"grid_code": grid, "duty": "full_time"}]}


def _cat_id(env: Env) -> int:
    return env.w.categories["0101"]


def _refused_for_content(env: Env, who: str, obj: str) -> frozenset[int]:
    return frozenset({400, 409})


ROWS: dict[tuple[str, str], Row] = {
    # Anyone, signed in or not (the answer must never be a refusal nor an error).
    ("health", "GET"): Row(NONE, _get("/healthz")),
    ("static", "GET"): Row(NONE, _get("/static/missing.txt")),
    ("pages.index", "GET"): Row(NONE, _get("/")),
    ("pages.field_app", "GET"): Row(("/app/", "/app/cases/1"), lambda e, w, o: e.clients[w].get(o)),
    ("pages.console_app", "GET"): Row(
        ("/console/", "/console/cases/1"), lambda e, w, o: e.clients[w].get(o)
    ),
    ("pages.assets", "GET"): Row(NONE, _get("/assets/missing.js")),
    ("pages.login_page", "GET"): Row(NONE, _get("/login")),
    ("pages.login_page", "POST"): Row(
        NONE,
        lambda e, w, o: e.clients[w].post(
            "/login", data={"username": "wg2", "password": f.PASSWORD}
        ),
        fresh_client=True,
    ),
    ("openapi.openapi_json", "GET"): Row(NONE, _get("/api/v1/openapi.json")),
    ("openapi.docs_page", "GET"): Row(NONE, _get("/api/v1/docs")),
    ("reference.workflow", "GET"): Row(NONE, _get("/api/v1/workflow")),
    ("auth.csrf_token", "GET"): Row(NONE, _get("/api/v1/auth/csrf")),
    ("auth.login", "POST"): Row(
        NONE,
        lambda e, w, o: e.clients[w].post(
            "/api/v1/auth/login", json={"username": "wg2", "password": f.PASSWORD}
        ),
        fresh_client=True,
    ),
    ("auth.logout", "POST"): Row(
        NONE, lambda e, w, o: e.clients[w].post("/api/v1/auth/logout"), fresh_client=True
    ),
    ("open311.discovery", "GET"): Row(
        ("/open311/v2/", "/open311/v2/discovery", "/open311/v2/discovery.xml"),
        lambda e, w, o: e.clients[w].get(o),
        same_as_signed_out=True,
    ),
    ("open311.service_list", "GET"): Row(
        ("/open311/v2/services", "/open311/v2/services.json"), lambda e, w, o: e.clients[w].get(o)
    ),
    ("open311.service_definition", "GET"): Row(NONE, _get("/open311/v2/services/0101.json")),
    ("open311.request_list", "GET"): Row(
        ("/open311/v2/requests", "/open311/v2/requests.json"), lambda e, w, o: e.clients[w].get(o)
    ),
    ("open311.request_one", "GET"): Row(
        CASES,
        lambda e, w, o: e.clients[w].get(
            f"/open311/v2/requests/{_case(e, e.cases[o]).number}.json"
        ),
    ),
    ("open311.request_create", "POST"): Row(
        ("/open311/v2/requests", "/open311/v2/requests.json"),
        lambda e, w, o: e.clients[w].post(
            o, data={"service_code": "0101", "lat": 38.05, "long": 106.3}
        ),
    ),
    ("open311.media", "GET"): Row(
        ("photo@G1", "photo@B"),
        lambda e, w, o: e.clients[w].get(f"/open311/v2/media/{e.photos[o]}"),
    ),
    ("open311.token_missing", "GET"): Row(
        ("/open311/v2/tokens", "/open311/v2/tokens.json"), lambda e, w, o: e.clients[w].get(o)
    ),
    ("open311.token", "GET"): Row(NONE, _get(f"/open311/v2/tokens/{uuid.uuid4()}.json")),
    **{
        ("open311.unknown", m): Row(
            NONE, lambda e, w, o, m=m: e.clients[w].open("/open311/v2/nothing", method=m)
        )
        for m in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
    # Signed in.
    ("auth.whoami", "GET"): Row(NONE, _get("/api/v1/auth/me"), _ok),
    ("reference.bootstrap", "GET"): Row(NONE, _get("/api/v1/bootstrap"), _ok, _departments_check),
    ("reference.grids_geojson", "GET"): Row(
        ("-", "mine", *REGIONS), _grids_call, _grids_expect, _grids_check
    ),
    ("regions.children", "GET"): Row(
        ("-", *REGIONS),
        lambda e, w, o: e.clients[w].get(
            "/api/v1/regions", query_string={} if o == "-" else {"parent": o}
        ),
        lambda e, w, o: OK if o == "-" or _sees_region(e, w, o) else _one(404),
    ),
    ("regions.tree", "GET"): Row(NONE, _get("/api/v1/regions/tree"), _ok, _tree_check),
    ("regions.shapes", "GET"): Row(NONE, _get("/api/v1/regions.geojson"), _ok, _shapes_check),
    ("cases.create_case", "POST"): Row(
        ("report@G1", "replay:case@B"), _create_call, _create_expect
    ),
    ("cases.list_cases", "GET"): Row(
        ("-", "region=640104", "region=640181002", "department=DB", f"grid={GB}", "mine=1"),
        lambda e, w, o: e.clients[w].get(
            "/api/v1/cases?limit=200&"
            + (o.replace("DB", str(e.w.departments["DB"])) if o != "-" else "")
        ),
        # a region outside the jurisdiction answers like one that names nothing (400)
        lambda e, w, o: (
            OK
            if not o.startswith("region=") or _sees_region(e, w, o.partition("=")[2])
            else _one(400)
        ),
        _visible_items(),
    ),
    ("cases.get_case", "GET"): Row(
        CASES,
        lambda e, w, o: e.clients[w].get(f"/api/v1/cases/{e.cases[o]}"),
        lambda e, w, o: OK if _sees_case(e, w, e.cases[o]) else _one(404),
    ),
    ("cases.act", "POST"): Row(
        (
            *(f"comment:{c}" for c in CASES),
            *(f"dispatch:{d}" for d in DEPS),
            *(f"duplicate:{c}" for c in CASES),
        ),
        _act_call,
        _act_expect,
        prepare=_act_prepare,
    ),
    ("cases.changes", "GET"): Row(
        NONE, _get("/api/v1/changes", after="0", wait="0"), _ok, _visible_items()
    ),
    ("cases.change_stream", "GET"): Row(NONE, _stream_call, _ok, _stream_items),
    ("uploads.begin", "POST"): Row(("new", "taken:wg2"), _begin_call, _begin_expect),
    ("uploads.status", "GET"): Row(
        ("own", "other:wg2"),
        lambda e, w, o: e.clients[w].get(f"/api/v1/uploads/{_upload_uuid(e, w, o)}"),
        lambda e, w, o: _upload_expect(e, w, o.partition(":")[0]),
    ),
    ("uploads.piece", "PUT"): Row(
        ("own", "other:wg2"),
        lambda e, w, o: _piece_call(e, w, o.partition(":")[0]),
        lambda e, w, o: _upload_expect(e, w, o.partition(":")[0]),
    ),
    ("uploads.photo", "GET"): Row(
        ("photo@G1", "photo@B", "upload:wg2"), _photo_call(False), _photo_expect
    ),
    ("uploads.thumb", "GET"): Row(
        ("photo@G1", "photo@B", "upload:wg2"), _photo_call(True), _photo_expect
    ),
    ("metrics.metrics", "GET"): Row(SCOPES, _metrics_call("/api/v1/metrics"), _metrics_expect),
    ("metrics.cases", "GET"): Row(
        SCOPES, _metrics_call("/api/v1/metrics/cases", metric="accepted"), _metrics_expect
    ),
    ("metrics.indicator_records", "GET"): Row(
        FEW_SCOPES,
        _metrics_call("/api/v1/metrics/records", metric="missed_report_rate", subject=1),
        _metrics_expect,
    ),
    ("metrics.scorecard_list", "GET"): Row(
        ("-",), _metrics_call("/api/v1/metrics/scorecards", kind="worker"), _ok, _worker_cards_check
    ),
    ("metrics.export_csv", "GET"): Row(
        FEW_SCOPES, _metrics_call("/api/v1/metrics/export.csv"), _metrics_expect
    ),
    ("metrics.export_xlsx", "GET"): Row(
        FEW_SCOPES, _metrics_call("/api/v1/metrics/export.xlsx", report="worker"), _metrics_expect
    ),
    ("metrics.definitions", "GET"): Row(NONE, _get("/api/v1/metrics/definitions"), _ok),
    ("metrics.scorecard_config", "GET"): Row(NONE, _get("/api/v1/metrics/scorecards/config"), _ok),
    ("metrics.scorecard_config_put", "PUT"): Row(
        NONE,
        lambda e, w, o: e.clients[w].put(
            "/api/v1/metrics/scorecards/config?kind=worker",
            json=scoring.default_scorecard("worker").to_json(),
        ),
        _ok,
    ),
    ("metrics.scorecard_config_reset", "DELETE"): Row(
        NONE,
        lambda e, w, o: e.clients[w].delete("/api/v1/metrics/scorecards/config?kind=worker"),
        _ok,
    ),
    # The statutory calendar (installation-wide): read by the console roles, changed by admins
    # (bodies that are refused for their content: the matrix is about who may ask).
    ("calendar.overview", "GET"): Row(NONE, _get("/api/v1/calendar"), _ok),
    ("calendar.show_year", "GET"): Row(NONE, _get("/api/v1/calendar/2026"), _ok),
    ("calendar.year_changes", "GET"): Row(NONE, _get("/api/v1/calendar/2026/changes"), _ok),
    ("calendar.put_year", "PUT"): Row(
        NONE,
        lambda e, w, o: e.clients[w].put("/api/v1/calendar/2031", json={}),
        _refused_for_content,
    ),
    ("calendar.import_year", "POST"): Row(
        NONE,
        lambda e, w, o: e.clients[w].post("/api/v1/calendar/2031/import"),
        _refused_for_content,
    ),
    ("calendar.delete_year", "DELETE"): Row(
        NONE,
        lambda e, w, o: e.clients[w].delete("/api/v1/calendar/2031", json={"reason": "矩阵"}),
        lambda e, w, o: frozenset({404}),  # 2031 was never entered
    ),
    # Admin only; admins are not limited to a jurisdiction: own and foreign objects alike.
    ("admin.list_departments", "GET"): Row(NONE, _get("/api/v1/admin/departments"), _ok),
    ("admin.list_categories", "GET"): Row(NONE, _get("/api/v1/admin/categories"), _ok),
    ("admin.list_users", "GET"): Row(NONE, _get("/api/v1/admin/users"), _ok),
    ("admin.list_stage_limits", "GET"): Row(NONE, _get("/api/v1/admin/stage-limits"), _ok),
    ("admin.set_stage_limit", "PUT"): Row(
        NONE,
        lambda e, w, o: e.clients[w].put(
            "/api/v1/admin/stage-limits",
            json={
                "category_code": "0102",
                "urgency": "normal",
                "level": "town",
                "stage": "verify",
                "limit_value": 8,
                "limit_unit": "work_hours",
            },
        ),
        _ok,
    ),
    ("admin.delete_stage_limit", "DELETE"): Row(
        NONE,
        lambda e, w, o: e.clients[w].delete(f"/api/v1/admin/stage-limits/{_stage_limit_id(e)}"),
        _ok,
    ),
    ("admin.set_card_thresholds", "PUT"): Row(
        NONE,
        lambda e, w, o: e.clients[w].put(
            "/api/v1/admin/card-thresholds", json={"handle": {"yellow_days": 5, "red_days": 10}}
        ),
        _ok,
    ),
    ("admin.list_grids", "GET"): Row(
        ("-", "640104"),
        lambda e, w, o: e.clients[w].get(
            "/api/v1/admin/grids", query_string={} if o == "-" else {"region": o}
        ),
        _ok,
    ),
    ("admin.list_plans", "GET"): Row(NONE, _get("/api/v1/admin/plans"), _ok),
    ("admin.get_plan", "GET"): Row(
        ("A", "B"), lambda e, w, o: e.clients[w].get(f"/api/v1/admin/plans/{e.plans[o]}"), _ok
    ),
    ("admin.get_user", "GET"): Row(
        ("wg1", "wgb"), lambda e, w, o: e.clients[w].get(f"/api/v1/admin/users/{e.w.users[o]}"), _ok
    ),
    ("admin.create_department", "POST"): Row(
        NONE,
        lambda e, w, o: e.clients[w].post(
            "/api/v1/admin/departments",
            json={"code": f"MX{e.next()}", "name": "矩阵", "region_code": "640104"},
        ),
        _ok,
    ),
    ("admin.update_department", "PATCH"): Row(
        ("D1", "DB"),
        _admin_json(
            "PATCH",
            lambda e, o: f"/api/v1/admin/departments/{_dep_id(e, o)}",
            lambda e, o: {"active": True},
        ),
        _ok,
    ),
    ("admin.list_routing_rules", "GET"): Row(NONE, _get("/api/v1/admin/routing-rules"), _ok),
    ("admin.put_routing_rule", "PUT"): Row(
        ("D1", "DB"),
        _admin_json(
            "PUT",
            lambda e, o: "/api/v1/admin/routing-rules",
            lambda e, o: {
                "category_id": e.w.categories["0105"],
                "urgency": "normal",
                "level": "county",
                "copy_department_ids": [_dep_id(e, o)],
                "enabled": False,
            },
        ),
        _ok,
    ),
    ("admin.create_category", "POST"): Row(
        NONE,
        lambda e, w, o: e.clients[w].post(
            "/api/v1/admin/categories",
            json={
                "code": f"01{50 + e.next()}",
                "name": "矩阵",
                "limit_value": 4,
                "limit_unit": "work_hours",
                "urgent_hours": 2,
            },
        ),
        _ok,
    ),
    ("admin.update_category", "PATCH"): Row(
        NONE,
        _admin_json(
            "PATCH",
            lambda e, o: f"/api/v1/admin/categories/{_cat_id(e)}",
            lambda e, o: {"active": True},
        ),
        _ok,
    ),
    ("admin.create_user", "POST"): Row(
        ("640181", "640104"),
        lambda e, w, o: e.clients[w].post(
            "/api/v1/admin/users",
            json={
                "username": f"mx{e.next()}",
                "role": "supervisor",
                "password": "矩阵-password-1",
                "region_code": o,
            },
        ),
        _ok,
    ),
    ("admin.update_user", "PATCH"): Row(
        ("wg1", "wgb"),
        _admin_json(
            "PATCH",
            lambda e, o: f"/api/v1/admin/users/{_user_id(e, o)}",
            lambda e, o: {"display_name": o},
        ),
        _ok,
    ),
    ("admin.set_duties", "PUT"): Row(
        ("wg1", "wgb"),
        _admin_json(
            "PUT", lambda e, o: f"/api/v1/admin/users/{_user_id(e, o)}/grids", _same_duties
        ),
        _ok,
    ),
    ("admin.upload_plan", "POST"): Row(
        NONE,
        lambda e, w, o: e.clients[w].post(
            "/api/v1/admin/plans", data={"file": (io.BytesIO(b"not a plan"), "plan.geojson")}
        ),
        _refused_for_content,
    ),
    ("base_io.search_addresses", "GET"): Row(
        ("G1", "GB"),
        lambda e, w, o: e.clients[w].get(
            "/api/v1/base/addresses", query_string={"q": BASE_DOORS[o][0]}
        ),
        _ok,
        _search_check,
    ),
    ("base_io.import_template", "GET"): Row(
        NONE, _get("/api/v1/base/imports/residents/template"), _ok
    ),
    ("base_io.run_import", "POST"): Row(("G1", "GB"), _import_call, _import_expect),
    ("base_io.export", "GET"): Row(
        ("G1", "GB"),
        lambda e, w, o: e.clients[w].get(f"/api/v1/base/exports/addresses?grid={BASE_DOORS[o][1]}"),
        _ok,
        _export_check,
    ),
    ("admin.publish_plan", "POST"): Row(
        ("A", "B"),
        lambda e, w, o: e.clients[w].post(f"/api/v1/admin/plans/{e.plans[o]}/publish"),
        _refused_for_content,
    ),
}


ROWS.update(base_rows.rows(Row))
ROWS.update(patrol_rows.rows(Row))
ROWS.update(checkin_rows.rows(Row))


def _expected(
    env: Env, key: tuple[str, str], row: Row, who: str, obj: str
) -> frozenset[int] | None:
    """None: an endpoint open to anyone (any answer but a refusal or an error)."""
    role = None if who == "anon" else env.actor(who).role  # type: ignore[union-attr]
    allowed = policy.ENDPOINT_ROLES[key]
    if allowed is policy.ANYONE:
        return None
    if not policy.may_call(role, *key):
        return _one(401) if role is None else _one(403)
    return (row.expect or _ok)(env, who, obj)


def test_every_endpoint_has_a_row_and_a_policy(any_app: Flask) -> None:
    endpoints = {
        (rule.endpoint, m)
        for rule in any_app.url_map.iter_rules()
        for m in rule.methods or ()
        if m not in ("HEAD", "OPTIONS")
    }
    assert sorted(endpoints - set(policy.ENDPOINT_ROLES)) == [], "endpoints missing in the policy"
    assert sorted(endpoints - set(ROWS)) == [], "endpoints without an access-matrix row"
    assert sorted(set(ROWS) - endpoints) == [], "rows for endpoints that no longer exist"


def test_access_matrix(any_app: Flask, capsys: Any) -> None:
    env = _setup(any_app)
    cells, violations = 0, []
    signed_out: dict[tuple[tuple[str, str], str], int] = {}
    for key, row in ROWS.items():
        for who in IDENTITIES:
            for obj in row.objects:
                client = env.clients[who]
                if row.fresh_client:
                    env.clients[who] = env.fresh(who)
                if row.prepare is not None:
                    row.prepare(env, who, obj)
                expected = _expected(env, key, row, who, obj)  # before the call changes things
                try:
                    resp = row.call(env, who, obj)
                finally:
                    env.clients[who] = client
                cells += 1
                status = resp.status_code
                # Open311 answers by API key, never by the cookie: as for someone signed out.
                if row.same_as_signed_out or key[0].startswith("open311."):
                    if who == "anon":
                        signed_out[(key, obj)] = status
                    expected = _one(signed_out[(key, obj)])
                problem = None
                if expected is None:
                    if not _public(status):
                        problem = f"{status} (open to anyone)"
                elif status >= 500:
                    problem = f"{status}"
                elif status not in expected:
                    problem = f"{status}, policy says {sorted(expected)}"
                elif row.check is not None and status == 200:
                    problem = row.check(env, who, obj, resp)
                if problem:
                    body = resp.get_data()[:160].decode("utf-8", "replace").replace("\n", " ")
                    violations.append(f"{key[1]} {key[0]} as {who} on {obj}: {problem} {body}")
    summary = (
        f"access matrix: {len(ROWS)} endpoints, {len(IDENTITIES)} identities, "
        f"{cells} cells, {len(violations)} violations"
    )
    with capsys.disabled():
        print("\n" + summary)
        for v in violations:
            print("  " + v)
    assert not violations, summary + "\n" + "\n".join(violations)
