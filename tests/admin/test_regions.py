"""The region pickers: children of a region and the nested tree, within the user's jurisdiction."""

from __future__ import annotations

from typing import Any

from tests import factories as f
from tests.admin.conftest import client_for
from tests.workflow.world import World

A, TA, CA = "640181000000", "640181001000", "640181001001"
B, TB, CB = "640104000000", "640104001000", "640104001001"


def _codes(items: list[dict[str, Any]]) -> list[str]:
    return [i["code"] for i in items]


def test_children_default_to_the_users_own_region(any_world: World) -> None:
    disp = client_for(any_world, "disp")
    items = disp.get("/api/v1/regions").get_json()["items"]
    assert _codes(items) == [A, TA]
    assert items[0] == {"id": items[0]["id"], "code": A, "name": "灵武市", "level": "county",
                        "parent_code": None}  # fmt: skip
    assert items[1]["parent_code"] == A and items[1]["level"] == "town"
    town = disp.get(f"/api/v1/regions?parent={TA}").get_json()["items"]
    assert _codes(town) == [CA] and town[0]["parent_code"] == TA
    # 9-digit and 6-digit codes are accepted as the padded 12-digit code.
    assert _codes(disp.get("/api/v1/regions?parent=640181001").get_json()["items"]) == [CA]
    assert disp.get(f"/api/v1/regions?parent={CA}").get_json()["items"] == []


def test_admin_without_a_region_starts_at_the_counties(any_world: World) -> None:
    admin = client_for(any_world, "admin")
    assert _codes(admin.get("/api/v1/regions").get_json()["items"]) == [B, A]
    assert _codes(admin.get(f"/api/v1/regions?parent={B}").get_json()["items"]) == [TB]


def test_another_jurisdiction_does_not_exist_for_you(world: World) -> None:
    disp = client_for(world, "disp")  # county A
    r = disp.get(f"/api/v1/regions?parent={B}")
    assert r.status_code == 404 and r.get_json()["error"] == "not_found"
    assert disp.get(f"/api/v1/regions?parent={TB}").status_code == 404
    assert client_for(world, "dispb").get(f"/api/v1/regions?parent={A}").status_code == 404


def test_a_town_user_sees_the_town_and_not_the_county(world: World) -> None:
    with world.session() as db:
        from sqlalchemy import select

        from server.models import Region

        town = db.scalar(select(Region).where(Region.code == TA))
        f.user(db, "towndisp", "dispatcher", region=town)
        db.commit()
    c = client_for(world, "towndisp")
    assert _codes(c.get("/api/v1/regions").get_json()["items"]) == [TA, CA]
    assert c.get(f"/api/v1/regions?parent={A}").status_code == 404
    tree = c.get("/api/v1/regions/tree").get_json()["items"]
    assert len(tree) == 1 and tree[0]["code"] == TA
    assert _codes(tree[0]["children"]) == [CA]


def test_a_handler_without_a_region_uses_the_departments(world: World) -> None:
    with world.session() as db:
        from server.models import Department, User

        h = db.get(User, world.users["h1"])
        assert h is not None and db.get(Department, world.departments["D1"]) is not None
        h.region_id = None
        db.commit()
    c = client_for(world, "h1")
    assert _codes(c.get("/api/v1/regions").get_json()["items"]) == [A, TA]


def test_bad_parent_code(world: World) -> None:
    r = client_for(world, "admin").get("/api/v1/regions?parent=12ab")
    assert r.status_code == 400 and "parent" in r.get_json()["fields"]
    assert client_for(world, "admin").get("/api/v1/regions?parent=999999").status_code == 404


def test_tree(any_world: World) -> None:
    tree = client_for(any_world, "admin").get("/api/v1/regions/tree").get_json()["items"]
    assert _codes(tree) == [B, A]
    a = tree[1]
    assert a["level"] == "county" and _codes(a["children"]) == [TA]
    assert _codes(a["children"][0]["children"]) == [CA]
    assert a["children"][0]["children"][0]["children"] == []
    mine = client_for(any_world, "sup").get("/api/v1/regions/tree").get_json()["items"]
    assert _codes(mine) == [A]  # a county supervisor: their county only
    gw = client_for(any_world, "wg1").get("/api/v1/regions/tree").get_json()["items"]
    assert _codes(gw) == [A]


def test_regions_need_sign_in(world: World) -> None:
    c = client_for(world, None)
    assert c.get("/api/v1/regions").status_code == 401
    assert c.get("/api/v1/regions/tree").status_code == 401
