"""Jurisdiction holes an outside audit reproduced (issue 11), each refused by the policy."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask.testing import FlaskClient

from server.models import Incident
from tests import factories as f
from tests.workflow.world import G1, G2, G3, GB, IN_G1, IN_G2, IN_G3, IN_GB, OUTSIDE, World

MONTH = {"from": "2020-01-01", "to": "2030-12-31"}


def _client(w: World, who: str) -> FlaskClient:
    c = w.app.test_client()
    f.login(c, who)
    return c


def _act(c: FlaskClient, case_id: int, action: str, **body: Any) -> Any:
    return c.post(
        f"/api/v1/cases/{case_id}/actions",
        json={"uuid": str(uuid.uuid4()), "action": action, **body},
    )


def _state(w: World, case_id: int) -> tuple[str, int | None, int | None]:
    with w.session() as db:
        case = db.get(Incident, case_id)
        assert case is not None
        return case.state, case.department_id, case.duplicate_of_id


def test_dispatch_to_another_countys_department_is_refused(any_wide: World) -> None:
    w = any_wide
    cid = w.case_in("accepted")
    disp = _client(w, "disp")
    r = _act(disp, cid, "dispatch", department_id=w.departments["DB"])
    assert r.status_code == 400, r.get_json()
    assert "department_id" in r.get_json()["fields"]
    # Answered exactly like a department that does not exist (nothing revealed).
    unknown = _act(disp, cid, "dispatch", department_id=10**6).get_json()
    assert r.get_json() == unknown
    # A town office of another town does not handle this town's cases either.
    r = _act(disp, cid, "dispatch", department_id=w.departments["DT2"])
    assert r.status_code == 400 and "department_id" in r.get_json()["fields"]
    assert _state(w, cid) == ("accepted", None, None)
    # The county's own department still works, and county B's handler never sees the case.
    assert _act(disp, cid, "dispatch", department_id=w.departments["D1"]).status_code == 200
    assert _client(w, "hb").get(f"/api/v1/cases/{cid}").status_code == 404


def test_duplicate_of_another_countys_case_is_refused(any_wide: World) -> None:
    w = any_wide
    mine = w.report("wg1")
    theirs = w.report("wgb", IN_GB)
    disp = _client(w, "disp")
    r = _act(disp, mine, "reject", reason="重复", duplicate_of=theirs)
    assert r.status_code == 400 and r.get_json()["fields"] == {"duplicate_of": "unknown"}
    unknown = _act(disp, mine, "reject", reason="重复", duplicate_of=10**6)
    assert unknown.get_json() == r.get_json()  # the same answer as a case that does not exist
    assert _state(w, mine) == ("reported", None, None)
    other = w.report("wg2", (106.35, 38.05))
    assert _act(disp, mine, "reject", reason="重复", duplicate_of=other).status_code == 200
    assert _state(w, mine) == ("rejected", None, other)


def _codes(resp: Any) -> set[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return {feat["properties"]["code"] for feat in resp.get_json()["features"]}


def test_grid_map_is_cached_per_jurisdiction(any_wide: World) -> None:
    w = any_wide
    admin = _client(w, "admin").get("/api/v1/grids.geojson?zoom=12")
    assert _codes(admin) == {G1, G2, G3, GB}
    # Asked right after by other jurisdictions (the cache is warm): each gets only its own.
    dispb = _client(w, "dispb").get("/api/v1/grids.geojson?zoom=12")
    assert _codes(dispb) == {GB}
    assert dispb.headers["ETag"] != admin.headers["ETag"]
    assert "Cookie" in dispb.headers["Vary"]
    assert _codes(_client(w, "disp").get("/api/v1/grids.geojson?zoom=12")) == {G1, G2, G3}
    assert _codes(_client(w, "dispt").get("/api/v1/grids.geojson?zoom=12")) == {G1, G2}
    assert _codes(_client(w, "wg1").get("/api/v1/grids.geojson?zoom=12")) == {G1, G2, G3}
    assert _codes(_client(w, "wgb").get("/api/v1/grids.geojson?zoom=12")) == {GB}
    assert _codes(_client(w, "h1").get("/api/v1/grids.geojson")) == {G1, G2, G3}
    assert _codes(_client(w, "ht2").get("/api/v1/grids.geojson")) == {G3}
    # An ETag of another jurisdiction's answer never gets a 304.
    again = _client(w, "dispb").get(
        "/api/v1/grids.geojson?zoom=12", headers={"If-None-Match": admin.headers["ETag"]}
    )
    assert again.status_code == 200 and _codes(again) == {GB}
    # ?region= of another county: as if it did not exist, for every role but admin.
    for who in ("wg1", "h1", "disp", "sup"):
        r = _client(w, who).get("/api/v1/grids.geojson?region=640104")
        assert r.status_code == 404, who
    assert _codes(_client(w, "admin").get("/api/v1/grids.geojson?region=640104")) == {GB}
    assert _codes(_client(w, "wg1").get("/api/v1/grids.geojson?mine=1")) == {G1}


def _subjects(c: FlaskClient, kind: str) -> set[str]:
    r = c.get("/api/v1/metrics/scorecards", query_string={"kind": kind, **MONTH})
    assert r.status_code == 200, r.get_json()
    return {
        item["subject"].get("username") or item["subject"]["name"] for item in r.get_json()["items"]
    }


def test_scorecards_keep_to_the_jurisdiction(any_wide: World) -> None:
    w = any_wide
    w.case_in("closed")  # wg1's case, handled by D1
    b_case = w.report("wgb", IN_GB)
    w.act("dispb", b_case, "accept")
    # A handler sees the workers of their department's cases only, never another county's.
    assert _subjects(_client(w, "h1"), "worker") == {"wg1"}
    assert _subjects(_client(w, "hb"), "worker") == set()
    workers_a = _subjects(_client(w, "sup"), "worker")
    assert "wgb" not in workers_a and {"wg1", "wg2", "wg3"} <= workers_a
    assert _subjects(_client(w, "supb"), "worker") == {"wgb"}
    assert _subjects(_client(w, "wg1"), "worker") == {"wg1"}
    # Department cards: a handler their own department only.
    assert _subjects(_client(w, "h1"), "department") <= {"城管"}


def test_metric_scopes_ask_the_policy(any_wide: World) -> None:
    w = any_wide

    def status(who: str, scope: str) -> int:
        r = _client(w, who).get("/api/v1/metrics", query_string={"scope": scope, **MONTH})
        return r.status_code

    wgb, dep_b = w.users["wgb"], w.departments["DB"]
    assert status("sup", "region:640104") == 403
    assert status("sup", f"department:{dep_b}") == 403
    assert status("sup", f"worker:{wgb}") == 403
    assert status("sup", f"grid:{GB}") == 403
    assert status("sup", f"grid:{G3}") == 200
    assert status("dispt", f"grid:{G3}") == 403  # another town
    assert status("h1", f"worker:{w.users['wg1']}") == 403
    assert status("h1", f"department:{w.departments['D2']}") == 403
    assert status("h1", "region:640104") == 403
    assert status("wg1", f"worker:{w.users['wg2']}") == 403
    assert status("wg1", f"grid:{GB}") == 403
    # Admins are not limited to a jurisdiction, even when their account names a region.
    assert status("adminb", "region:640181") == 200
    assert status("adminb", f"worker:{w.users['wg1']}") == 200


def test_a_metric_scope_does_not_tell_whether_another_countys_id_exists(any_wide: World) -> None:
    """worker:N and department:N (and region:CODE, grid:CODE) outside the caller's
    jurisdiction answered 403, one naming nothing 400 unknown_scope: a supervisor could learn
    which ids and codes exist in another county.
    Both are now the 403 outside_jurisdiction that the docs give for "not yours"; the message
    differs only by the id as sent."""
    w = any_wide
    nobody = max(w.users.values()) + 1000
    nothing = max(w.departments.values()) + 1000

    def answer(who: str, scope: str) -> tuple[int, dict[str, Any]]:
        r = _client(w, who).get("/api/v1/metrics", query_string={"scope": scope, **MONTH})
        return r.status_code, json.loads(r.get_data(as_text=True).replace(scope, "SCOPE"))

    cases = [
        ("sup", f"worker:{w.users['wgb']}", f"worker:{nobody}"),
        ("dispt", f"worker:{w.users['wg3']}", f"worker:{nobody}"),  # another town
        ("wg1", f"worker:{w.users['wg2']}", f"worker:{nobody}"),
        ("h1", f"worker:{w.users['wg1']}", f"worker:{nobody}"),
        ("sup", f"department:{w.departments['DB']}", f"department:{nothing}"),
        ("h1", f"department:{w.departments['D2']}", f"department:{nothing}"),
        # region and grid codes likewise (640104 is county B, 640199 is nothing)
        ("sup", "region:640104", "region:640199"),
        ("dispt", "region:640181", "region:640181009"),  # the county above; no such town
        ("wg1", f"grid:{GB}", "grid:640199001001001"),
    ]
    for who, foreign, unknown in cases:
        got = answer(who, foreign)
        assert got[0] == 403 and got[1]["error"] == "outside_jurisdiction", (who, got)
        assert got == answer(who, unknown), (who, foreign, unknown)
    # An admin sees every county: an id or code that names nothing is simply unknown.
    assert answer("admin", f"worker:{nobody}")[1]["error"] == "unknown_scope"
    assert answer("admin", "region:640199")[1]["error"] == "unknown_scope"


def test_replaying_anothers_report_uuid_reveals_nothing(any_wide: World) -> None:
    w = any_wide
    key = str(uuid.uuid4())
    body = {"uuid": key, "category_code": "0101", "description": "热线", "lon": IN_GB[0],
            "lat": IN_GB[1], "caller_name": "王先生", "caller_phone": "13812345678"}  # fmt: skip
    first = _client(w, "dispb").post("/api/v1/cases", json=body)
    assert first.status_code == 201
    for who in ("disp", "wg1", "h1", "admin"):
        r = _client(w, who).post("/api/v1/cases", json=body)
        assert r.status_code == 409, (who, r.get_json())
        text = r.get_data(as_text=True)
        assert r.get_json()["error"] == "idempotency_conflict" and "case" not in r.get_json()
        assert "5678" not in text and str(first.get_json()["case"]["id"]) not in text
    # The reporter's own retry still replays.
    again = _client(w, "dispb").post("/api/v1/cases", json=body)
    assert again.status_code == 200 and again.headers["Idempotent-Replay"] == "true"


def test_replaying_anothers_action_uuid_is_a_conflict(any_wide: World) -> None:
    w = any_wide
    cid = w.report("wg1")
    key = str(uuid.uuid4())
    body = {"uuid": key, "action": "accept"}
    assert _client(w, "disp").post(f"/api/v1/cases/{cid}/actions", json=body).status_code == 200
    r = _client(w, "sup").post(f"/api/v1/cases/{cid}/actions", json=body)
    assert r.status_code == 409 and "case" not in r.get_json()
    r = _client(w, "dispb").post(f"/api/v1/cases/{cid}/actions", json=body)
    assert r.status_code in (404, 409) and "case" not in r.get_json()


def test_bootstrap_offers_only_departments_one_may_dispatch_to(any_wide: World) -> None:
    w = any_wide

    def codes(who: str) -> set[str]:
        r = _client(w, who).get("/api/v1/bootstrap")
        # (The catalogue's departments have no region: they serve everywhere.)
        return {d["code"] for d in r.get_json()["departments"]} & {"D1", "D2", "DT2", "DB"}

    assert codes("disp") == {"D1", "D2", "DT2"}
    assert codes("dispt") == {"D1", "D2"}
    assert codes("dispb") == {"DB"}
    assert codes("h1") == {"D1"}
    assert codes("admin") == {"D1", "D2", "DT2", "DB"}


def test_region_pickers_and_case_filters_keep_to_the_jurisdiction(any_wide: World) -> None:
    w = any_wide
    wg1 = _client(w, "wg1")
    assert wg1.get("/api/v1/regions?parent=640104").status_code == 404
    tree = _client(w, "hb").get("/api/v1/regions/tree").get_json()["items"]
    assert [n["code"] for n in tree] == ["640104000000"]
    assert _client(w, "adminb").get("/api/v1/regions?parent=640181").status_code == 200


def test_cached_counts_follow_a_workers_new_grids(any_wide: World) -> None:
    """The case counts are cached per what the policy decides (the worker's grids too): a
    worker given another grid sees its cases counted at once, not after the cache expires."""
    w = any_wide
    w.report("wg2", (106.35, 38.05))  # a case in G2
    wg1 = _client(w, "wg1")

    def total() -> int:
        body = wg1.get("/api/v1/cases?counts=1").get_json()
        return sum(v for k, v in body["counts"].items() if k != "overdue")

    before = total()
    admin = _client(w, "admin")
    duties = [{"grid_code": g, "duty": "full_time"} for g in (G1, G2)]
    r = admin.put(f"/api/v1/admin/users/{w.users['wg1']}/grids", json={"duties": duties})
    assert r.status_code == 200, r.get_json()
    assert total() == before + 1


def _report(c: FlaskClient, where: tuple[float, float], **extra: Any) -> Any:
    body = {"uuid": str(uuid.uuid4()), "category_code": "0101", "description": "越界",
            "lon": where[0], "lat": where[1], **extra}  # fmt: skip
    return c.post("/api/v1/cases", json=body)


def test_reporting_in_another_countys_grids_is_refused(any_wide: World) -> None:
    """County B's dispatcher (hotline) and grid worker filed cases at points in county A's
    grids (201, in A's queue), and the worker then read the case's whole trail as its reporter."""
    w = any_wide
    with w.session() as db:
        before = db.query(Incident).count()
    for who, extra in (("dispb", {"source": "hotline"}), ("wgb", {})):
        r = _report(_client(w, who), IN_G1, **extra)
        assert r.status_code == 400, (who, r.status_code, r.get_json())
        body = r.get_json()
        assert body["error"] == "outside_jurisdiction" and " / " in body["message"]
        assert {"lon", "lat"} <= set(body["fields"]), body
    # A town dispatcher is refused in the county's other town.
    assert _report(_client(w, "dispt"), IN_G3).status_code == 400
    with w.session() as db:
        assert db.query(Incident).count() == before
    # Still allowed: in one's own jurisdiction; a grid worker anywhere in their county (they
    # pass by other grids, here another town's); a point outside every grid (kept, flagged);
    # admins anywhere, whatever region their account names.
    assert _report(_client(w, "dispb"), IN_GB).status_code == 201
    assert _report(_client(w, "dispt"), IN_G2).status_code == 201
    assert _report(_client(w, "wg1"), IN_G3).status_code == 201
    assert _report(_client(w, "wgb"), IN_GB).status_code == 201
    out = _report(_client(w, "wgb"), OUTSIDE)
    assert out.status_code == 201 and out.get_json()["case"]["location_status"] == "outside"
    assert _report(_client(w, "adminb"), IN_G1).status_code == 201
    assert _report(_client(w, "admin"), IN_GB).status_code == 201


def test_a_case_list_region_filter_does_not_tell_whether_a_code_exists(any_wide: World) -> None:
    """GET /cases?region= answered 200 [] for another county's (or town's) code and 400
    "unknown code" for one that names nothing: an existence oracle. Both are now the 400, as
    /regions?parent= and /grids.geojson?region= answer both alike (404)."""
    w = any_wide
    w.report("wgb", IN_GB)

    def answer(who: str, code: str) -> tuple[int, dict[str, Any]]:
        r = _client(w, who).get("/api/v1/cases", query_string={"region": code})
        return r.status_code, json.loads(r.get_data(as_text=True).replace(code, "CODE"))

    cases = [
        ("disp", "640104", "640199"),  # another county; no such county
        ("disp", "640104001", "640181009"),  # another county's town; no such town
        ("dispt", "640181", "640181009"),  # the county above the town; no such town
        ("dispt", "640181002", "640181009"),  # a sibling town
    ]
    for who, foreign, unknown in cases:
        got = answer(who, foreign)
        assert got[0] == 400 and got[1]["fields"] == {"region": "unknown code"}, (who, got)
        assert got == answer(who, unknown), (who, foreign, unknown)
    # One's own region and those below it filter as before; admins name any region.
    assert answer("disp", "640181")[0] == 200 and answer("dispt", "640181001")[0] == 200
    status, body = answer("admin", "640104")
    assert status == 200 and len(body["items"]) == 1
    assert answer("admin", "640199")[0] == 400
