"""Access-matrix rows of base data (/api/v1/base), for tests/security/test_access_matrix.py.

The objects are the base data of each grid (tests/base_data/world.py): G1 and G2 (town T,
county A), G3 (town T2), GB (county B). The expected answers come from the policy's base-data
functions (``may_see_base``, ``may_edit_base``, ``may_decide_level``), never typed here: a
record the actor may not see is 404 (a create naming it: 400 naming the field), one they may
see but not change is 403 (a create there: 400 ``outside_jurisdiction``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from werkzeug.test import TestResponse

from server.models import (
    Household,
    KeyGroupKindRow,
    KeyGroupTag,
    LevelRequest,
    Organisation,
    Place,
    Resident,
    Visit,
)
from server.usecases import policy
from server.usecases.base_data import key_groups, residents
from tests.base_data.world import GRIDS, id_number

G = ("G1", "G2", "G3", "GB")
OK = frozenset({200, 201})


def _row(env: Any, model: Any, ident: int) -> Any:
    with env.w.session() as db:
        row = db.get(model, ident)
        assert row is not None
        db.expunge(row)
        return row


def _sees(env: Any, who: str, model: Any, ident: int) -> bool:
    actor = env.actor(who)
    return actor is not None and policy.may_see_base(actor, _row(env, model, ident))


def _edits(env: Any, who: str, model: Any, ident: int) -> bool:
    actor = env.actor(who)
    return actor is not None and policy.may_edit_base(actor, _row(env, model, ident))


def _read(model: Any, ids: str) -> Callable[[Any, str, str], frozenset[int]]:
    def expect(env: Any, who: str, obj: str) -> frozenset[int]:
        ident = getattr(env.base, ids)[obj]
        return OK if _sees(env, who, model, ident) else frozenset({404})

    return expect


def _edit(model: Any, ids: str) -> Callable[[Any, str, str], frozenset[int]]:
    def expect(env: Any, who: str, obj: str) -> frozenset[int]:
        ident = getattr(env.base, ids)[obj]
        if not _sees(env, who, model, ident):
            return frozenset({404})
        return OK if _edits(env, who, model, ident) else frozenset({403})

    return expect


def _create(model: Any, ids: str) -> Callable[[Any, str, str], frozenset[int]]:
    """A create that names (or is located at) a record of grid ``obj``: 400 where not editable."""

    def expect(env: Any, who: str, obj: str) -> frozenset[int]:
        ident = getattr(env.base, ids)[obj]
        return OK if _edits(env, who, model, ident) else frozenset({400})

    return expect


def _version(env: Any, model: Any, ident: int) -> int:
    return int(_row(env, model, ident).version)


def _items_visible(model: Any) -> Callable[[Any, str, str, TestResponse], str | None]:
    def check(env: Any, who: str, obj: str, resp: TestResponse) -> str | None:
        bad = [
            i["id"]
            for i in (resp.get_json() or {}).get("items", [])
            if not _sees(env, who, model, i["id"])
        ]
        return f"records outside the jurisdiction listed: {bad}" if bad else None

    return check


def _grids_visible(env: Any, who: str, obj: str, resp: TestResponse) -> str | None:
    """The overview's grids are the actor's: a grid worker's own, a region's inside it."""
    actor = env.actor(who)
    seen = {i["grid_code"] for i in (resp.get_json() or {}).get("items", [])}
    allowed = set()
    for name, (code, _, _) in GRIDS.items():
        if policy.may_see_base(actor, _row(env, Resident, env.base.residents[name])):
            allowed.add(code)
    return f"grids outside the jurisdiction: {sorted(seen - allowed)}" if seen - allowed else None


def _get(path: str, ids: str) -> Callable[[Any, str, str], TestResponse]:
    return lambda env, who, obj: env.clients[who].get(path.format(getattr(env.base, ids)[obj]))


def _list(path: str) -> Callable[[Any, str, str], TestResponse]:
    return lambda env, who, obj: env.clients[who].get(path, query_string={"limit": 200})


# --- prepared objects: a fresh resident, tag or request in grid obj, made by its grid worker ---


def _fresh_resident(env: Any, obj: str) -> int:
    with env.w.session() as db:
        worker = GRIDS[obj][2]
        body = {"uuid": str(uuid.uuid4()), "name": "矩阵",
                "id_number": id_number(env.next(), date(1960, 1, 1)),
                "household_id": env.base.households[obj]}  # fmt: skip
        out = residents.create_resident(env.w.ctx(db), env.w.actor(db, worker), body)
        return int(out.row.id)


def _fresh_tag(env: Any, obj: str) -> int:
    rid = _fresh_resident(env, obj)
    with env.w.session() as db:
        worker = GRIDS[obj][2]
        out = key_groups.add_tag(env.w.ctx(db), env.w.actor(db, worker), rid, {
            "uuid": str(uuid.uuid4()), "kind_code": "disabled", "level": 2})  # fmt: skip
        return int(out.tag.id)


def _fresh_request(env: Any, obj: str) -> int:
    tag = _fresh_tag(env, obj)
    with env.w.session() as db:
        worker = GRIDS[obj][2]
        req = key_groups.request_level(env.w.ctx(db), env.w.actor(db, worker), tag,
                                       {"to_level": 1, "reason": "矩阵"})  # fmt: skip
        return int(req.id)


def _prepare(make: Callable[[Any, str], int]) -> Callable[[Any, str, str], None]:
    def prepare(env: Any, who: str, obj: str) -> None:
        env.acted[(who, "base:" + obj)] = make(env, obj)

    return prepare


def _prepared(env: Any, who: str, obj: str) -> int:
    return int(env.acted[(who, "base:" + obj)])


def _resident_of_prepared(env: Any, who: str, obj: str, model: Any) -> Resident:
    ident = _prepared(env, who, obj)
    if model is Resident:
        return _row(env, Resident, ident)
    tag_id = ident if model is KeyGroupTag else _row(env, LevelRequest, ident).tag_id
    tag = _row(env, KeyGroupTag, tag_id)
    return _row(env, Resident, tag.resident_id)


def _prepared_edit(model: Any, created: bool = True) -> Callable[[Any, str, str], frozenset[int]]:
    def expect(env: Any, who: str, obj: str) -> frozenset[int]:
        actor = env.actor(who)
        resident = _resident_of_prepared(env, who, obj, model)
        if not policy.may_see_base(actor, resident):
            return frozenset({404})
        return OK if policy.may_edit_base(actor, resident) else frozenset({403})

    return expect


def _decide_expect(env: Any, who: str, obj: str) -> frozenset[int]:
    actor = env.actor(who)
    req = _row(env, LevelRequest, _prepared(env, who, obj))
    resident = _resident_of_prepared(env, who, obj, LevelRequest)
    if not policy.may_see_base(actor, resident):
        return frozenset({404})
    return OK if policy.may_decide_level(actor, resident, req.requested_by_id) else frozenset({403})


def _post(path: Callable[[Any, str, str], str], body: Callable[[Any, str, str], dict[str, Any]]):  # type: ignore[no-untyped-def]
    return lambda env, who, obj: env.clients[who].post(
        path(env, who, obj), json=body(env, who, obj)
    )


def _patch(path: str, ids: str, model: Any, body: dict[str, Any]):  # type: ignore[no-untyped-def]
    def call(env: Any, who: str, obj: str) -> TestResponse:
        ident = getattr(env.base, ids)[obj]
        return env.clients[who].patch(
            path.format(ident), json={"base_version": _version(env, model, ident), **body}
        )

    return call


def _located_create(kind: str) -> Callable[[Any, str, str], TestResponse]:
    def call(env: Any, who: str, obj: str) -> TestResponse:
        lon, lat = GRIDS[obj][1]
        # a name of its own: an estate's name is registered once in its community
        name = f"矩阵{who}{obj}" if kind == "places" else "矩阵"
        body: dict[str, Any] = {"uuid": str(uuid.uuid4()), "name": name, "lon": lon, "lat": lat}
        if kind == "places":
            body["kind"] = "estate"
        else:
            body["kind"] = "enterprise"
        return env.clients[who].post(f"/api/v1/base/{kind}", json=body)

    return call


def _ok(env: Any, who: str, obj: str) -> frozenset[int]:
    return OK


def _kind_count(env: Any) -> int:
    with env.w.session() as db:
        return int(db.query(KeyGroupKindRow).count())


def rows(Row: Any) -> dict[tuple[str, str], Any]:
    """The rows, made with the matrix's ``Row`` class."""
    none = ("-",)
    return {
        ("base.vocabulary", "GET"): Row(none, _list("/api/v1/base/vocabulary"), _ok),
        ("base.create_kind", "POST"): Row(
            none,
            lambda e, w, o: e.clients[w].post(
                "/api/v1/base/kinds",
                json={
                    "code": f"mx_{e.next()}",
                    "name": "矩阵",
                    "levels": [{"level": 1, "cycle": "weekly"}],
                },
            ),
            _ok,
        ),
        ("base.update_kind", "PATCH"): Row(
            none,
            lambda e, w, o: e.clients[w].patch(
                "/api/v1/base/kinds/1",
                json={"base_version": _row(e, KeyGroupKindRow, 1).version, "name": "留守老人"},
            ),
            _ok,
        ),
        ("base.list_places", "GET"): Row(
            none, _list("/api/v1/base/places"), _ok, _items_visible(Place)
        ),
        ("base.get_place", "GET"): Row(
            G, _get("/api/v1/base/places/{}", "rooms"), _read(Place, "rooms")
        ),
        ("base.create_place", "POST"): Row(G, _located_create("places"), _create(Place, "estates")),
        ("base.update_place", "PATCH"): Row(
            G,
            _patch("/api/v1/base/places/{}", "rooms", Place, {"address": "幸福路"}),
            _edit(Place, "rooms"),
        ),
        ("base.list_households", "GET"): Row(
            none, _list("/api/v1/base/households"), _ok, _items_visible(Household)
        ),
        ("base.get_household", "GET"): Row(
            G, _get("/api/v1/base/households/{}", "households"), _read(Household, "households")
        ),
        ("base.create_household", "POST"): Row(
            G,
            lambda e, w, o: e.clients[w].post(
                "/api/v1/base/households",
                json={"uuid": str(uuid.uuid4()), "place_id": e.base.rooms[o]},
            ),
            _create(Place, "rooms"),
        ),
        ("base.update_household", "PATCH"): Row(
            G,
            _patch("/api/v1/base/households/{}", "households", Household, {"note": "矩阵"}),
            _edit(Household, "households"),
        ),
        ("base.list_residents", "GET"): Row(
            none, _list("/api/v1/base/residents"), _ok, _items_visible(Resident)
        ),
        ("base.get_resident", "GET"): Row(
            G, _get("/api/v1/base/residents/{}", "residents"), _read(Resident, "residents")
        ),
        ("base.create_resident", "POST"): Row(
            G,
            lambda e, w, o: e.clients[w].post(
                "/api/v1/base/residents",
                json={
                    "uuid": str(uuid.uuid4()),
                    "name": "矩阵",
                    "id_number": id_number(e.next(), date(1970, 1, 1)),
                    "household_id": e.base.households[o],
                },
            ),
            _create(Household, "households"),
        ),
        ("base.update_resident", "PATCH"): Row(
            G,
            _patch("/api/v1/base/residents/{}", "residents", Resident, {"relation": "head"}),
            _edit(Resident, "residents"),
        ),
        ("base.reveal", "POST"): Row(
            G,
            lambda e, w, o: e.clients[w].post(
                f"/api/v1/base/residents/{e.base.residents[o]}/reveal",
                json={"reason": "矩阵核实", "fields": ["id_number"]},
            ),
            _read(Resident, "residents"),
        ),
        ("base.add_event", "POST"): Row(
            G,
            lambda e, w, o: e.clients[w].post(
                f"/api/v1/base/residents/{_prepared(e, w, o)}/events",
                json={"uuid": str(uuid.uuid4()), "kind": "move_out"},
            ),
            _prepared_edit(Resident),
            prepare=_prepare(_fresh_resident),
        ),
        ("base.add_tag", "POST"): Row(
            G,
            lambda e, w, o: e.clients[w].post(
                f"/api/v1/base/residents/{_prepared(e, w, o)}/tags",
                json={"uuid": str(uuid.uuid4()), "kind_code": "disabled", "level": 3},
            ),
            _prepared_edit(Resident),
            prepare=_prepare(_fresh_resident),
        ),
        ("base.end_tag", "POST"): Row(
            G,
            lambda e, w, o: e.clients[w].post(
                f"/api/v1/base/tags/{_prepared(e, w, o)}/end",
                json={"base_version": 1, "reason": "矩阵"},
            ),
            _prepared_edit(KeyGroupTag),
            prepare=_prepare(_fresh_tag),
        ),
        ("base.request_level", "POST"): Row(
            G,
            lambda e, w, o: e.clients[w].post(
                f"/api/v1/base/tags/{_prepared(e, w, o)}/level-requests",
                json={"to_level": 1, "reason": "矩阵"},
            ),
            _prepared_edit(KeyGroupTag),
            prepare=_prepare(_fresh_tag),
        ),
        ("base.list_level_requests", "GET"): Row(none, _list("/api/v1/base/level-requests"), _ok),
        ("base.decide_level", "POST"): Row(
            G,
            lambda e, w, o: e.clients[w].post(
                f"/api/v1/base/level-requests/{_prepared(e, w, o)}/decide", json={"approve": True}
            ),
            _decide_expect,
            prepare=_prepare(_fresh_request),
        ),
        ("base.list_organisations", "GET"): Row(
            none, _list("/api/v1/base/organisations"), _ok, _items_visible(Organisation)
        ),
        ("base.get_organisation", "GET"): Row(
            G,
            _get("/api/v1/base/organisations/{}", "organisations"),
            _read(Organisation, "organisations"),
        ),
        ("base.create_organisation", "POST"): Row(
            G, _located_create("organisations"), _create(Organisation, "organisations")
        ),
        ("base.update_organisation", "PATCH"): Row(
            G,
            _patch(
                "/api/v1/base/organisations/{}", "organisations", Organisation, {"address": "矩阵"}
            ),
            _edit(Organisation, "organisations"),
        ),
        ("base.create_visit", "POST"): Row(
            G,
            lambda e, w, o: e.clients[w].post(
                "/api/v1/base/visits",
                json={
                    "uuid": str(uuid.uuid4()),
                    "resident_id": e.base.residents[o],
                    "note": "矩阵",
                },
            ),
            _create(Resident, "residents"),
        ),
        ("base.list_visits", "GET"): Row(
            none, _list("/api/v1/base/visits"), _ok, _items_visible(Visit)
        ),
        ("base.visits_due", "GET"): Row(none, _list("/api/v1/base/visits/due"), _ok),
        ("base.offline_bundle", "GET"): Row(none, _list("/api/v1/base/offline"), _ok),
        ("base.read_log", "GET"): Row(none, _list("/api/v1/base/reads"), _ok),
        ("base.overview", "GET"): Row(none, _list("/api/v1/base/overview"), _ok, _grids_visible),
    }
