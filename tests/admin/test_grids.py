"""Active grids with their duties, and the 无专职网格员 (unstaffed) flag."""

from __future__ import annotations

from typing import Any

from tests.admin.conftest import client_for
from tests.workflow.world import G1, G2, GB, World

GRIDS = "/api/v1/admin/grids"
USERS = "/api/v1/admin/users"


def _by_code(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {g["code"]: g for g in body["items"]}


def test_grids_with_duties(any_world: World) -> None:
    w = any_world
    admin = client_for(w, "admin")
    body = admin.get(GRIDS).get_json()
    grids = _by_code(body)
    assert list(grids) == [GB, G1, G2]
    g1 = grids[G1]
    assert g1["name"] == "第001网格" and g1["kind"] == "basic" and g1["households"] == 400
    assert g1["community"]["code"] == "640181001001" and g1["community"]["name"] == "第一社区"
    assert g1["town"]["code"] == "640181001000"
    assert [p["username"] for p in g1["duties"]["full_time"]] == ["wg1"]
    assert g1["duties"]["part_time"] == [] and g1["duties"]["grid_leader"] == []
    assert g1["unstaffed"] is False and grids[GB]["unstaffed"] is True
    assert body["counts"] == {"grids": 3, "unstaffed": 1} and body["next_cursor"] is None


def test_unstaffed_filter_and_region(any_world: World) -> None:
    w = any_world
    admin = client_for(w, "admin")
    assert list(_by_code(admin.get(f"{GRIDS}?unstaffed=1").get_json())) == [GB]
    # A grid leader is not a full-time grid worker; a disabled worker does not staff a grid.
    r = admin.put(
        f"{USERS}/{w.users['wg2']}/grids",
        json={"duties": [{"grid_code": G2, "duty": "grid_leader"}]},
    )
    assert r.status_code == 200
    r = admin.patch(f"{USERS}/{w.users['wg1']}", json={"active": False})
    assert r.status_code == 200
    body = admin.get(f"{GRIDS}?region=640181&unstaffed=1").get_json()
    grids = _by_code(body)
    assert list(grids) == [G1, G2]
    assert grids[G1]["duties"]["full_time"][0]["active"] is False
    assert [p["username"] for p in grids[G2]["duties"]["grid_leader"]] == ["wg2"]
    assert body["counts"] == {"grids": 2, "unstaffed": 2}
    # A town, a community, and q.
    assert list(_by_code(admin.get(f"{GRIDS}?region=640181001001").get_json())) == [G1, G2]
    assert list(_by_code(admin.get(f"{GRIDS}?region=640104001").get_json())) == [GB]
    assert list(_by_code(admin.get(f"{GRIDS}?q=002").get_json())) == [G2]


def test_bad_region(world: World) -> None:
    admin = client_for(world, "admin")
    r = admin.get(f"{GRIDS}?region=64x")
    assert r.status_code == 400 and "region" in r.get_json()["fields"]
    assert admin.get(f"{GRIDS}?region=650000").status_code == 404
