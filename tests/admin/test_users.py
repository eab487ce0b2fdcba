"""Users and their grid duties: create, list, change, disable (ends sessions), replace duties."""

from __future__ import annotations

from functools import partial
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.models import GridAssignment, User
from tests import factories as f
from tests.admin.conftest import client_for
from tests.support import at_once
from tests.workflow.world import G1, G2, GB, World

USERS = "/api/v1/admin/users"


def _user_count(w: World) -> int:
    with w.session() as db:
        return int(db.scalar(select(func.count()).select_from(User)) or 0)


def _duties(w: World, name: str) -> set[tuple[str, str]]:
    with w.session() as db:
        rows = db.execute(
            select(GridAssignment.grid_code, GridAssignment.duty).where(
                GridAssignment.user_id == w.users[name]
            )
        ).all()
        return {(str(c), str(d)) for c, d in rows}


def _new(admin: FlaskClient, **body: Any) -> Any:
    data = {"username": "zhang.san", "display_name": "张三", "role": "grid_worker",
            "password": "long-enough-1", **body}  # fmt: skip
    return admin.post(USERS, json=data)


def test_create_list_and_sign_in(any_world: World) -> None:
    w = any_world
    admin = client_for(w, "admin")
    r = _new(admin, region_code="640181", phone="13800001111")
    assert r.status_code == 201, r.get_json()
    user = r.get_json()["user"]
    assert user["role"] == "grid_worker" and user["region_code"] == "640181000000"
    assert user["display_name"] == "张三" and user["active"] and user["duties"] == []
    assert "password" not in user and "password_hash" not in user
    r = admin.post(USERS, json={"username": "li.si", "role": "handler",
                                "password": "long-enough-2",
                                "department_id": w.departments["D2"]})  # fmt: skip
    assert r.status_code == 201 and r.get_json()["user"]["department_name"] == "住建"
    assert r.get_json()["user"]["display_name"] == "li.si"
    # The new user can sign in with the password the admin gave.
    c = w.app.test_client()
    assert f.login(c, "zhang.san", "long-enough-1")["user"]["role"] == "grid_worker"
    # Lists: filters and duties.
    items = admin.get(f"{USERS}?role=grid_worker").get_json()["items"]
    assert {u["username"] for u in items} == {"wg1", "wg2", "zhang.san"}
    wg1 = next(u for u in items if u["username"] == "wg1")
    assert wg1["duties"] == [{"grid_code": G1, "duty": "full_time", "duty_label": "专职网格员",
                              "grid_name": "第001网格", "grid_active": True}]  # fmt: skip
    assert [u["username"] for u in admin.get(f"{USERS}?q=ZHANG").get_json()["items"]] == [
        "zhang.san"
    ]
    assert [u["username"] for u in admin.get(f"{USERS}?q=0000111").get_json()["items"]] == [
        "zhang.san"
    ]
    assert admin.get(f"{USERS}?q=%25").get_json()["items"] == []  # % is not a wildcard
    deps = admin.get(f"{USERS}?department={w.departments['D1']}").get_json()["items"]
    assert [u["username"] for u in deps] == ["h1"]
    region_b = admin.get(f"{USERS}?region=640104").get_json()["items"]
    assert [u["username"] for u in region_b] == ["dispb"]


def test_user_list_pages(world: World) -> None:
    admin = client_for(world, "admin")
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        body = admin.get(f"{USERS}?limit=3&cursor={cursor}").get_json()
        seen += [u["username"] for u in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == _user_count(world) == 8
    r = admin.get(f"{USERS}?cursor=abc")
    assert r.status_code == 400 and "cursor" in r.get_json()["fields"]
    r = admin.get(f"{USERS}?role=boss")
    assert r.status_code == 400 and "role" in r.get_json()["fields"]
    assert admin.get(f"{USERS}/99999").status_code == 404


BAD_USERS: list[tuple[dict[str, Any], str]] = [
    ({"username": "ab"}, "username"),
    ({"username": "has space"}, "username"),
    ({"username": None}, "username"),
    ({"role": "boss"}, "role"),
    ({"role": None}, "role"),
    ({"password": "short"}, "password"),
    ({"password": None}, "password"),
    ({"password": 12345678}, "password"),
    ({"role": "handler"}, "department_id"),  # a handler needs a department
    ({"role": "handler", "department_id": 99999}, "department_id"),
    ({"role": "dispatcher"}, "region_code"),  # a dispatcher needs a region
    ({"role": "supervisor", "region_code": "640199"}, "region_code"),
    ({"phone": "call me"}, "phone"),
    ({"display_name": "x" * 101}, "display_name"),
    ({"grids": [G1]}, "grids"),
]


def test_bad_user_input_writes_nothing(world: World) -> None:
    admin = client_for(world, "admin")
    before = _user_count(world)
    for extra, field in BAD_USERS:
        r = _new(admin, **extra)
        body = r.get_json()
        assert r.status_code == 400, (extra, body)
        assert body["error"] == "validation_failed" and field in body["fields"], (extra, body)
    r = _new(admin, username="wg1")
    assert r.status_code == 409 and r.get_json()["error"] == "duplicate"
    assert "username" in r.get_json()["fields"]
    r = admin.post(USERS, json={})
    assert r.status_code == 400
    assert {"username", "role", "password"} <= set(r.get_json()["fields"])
    assert _user_count(world) == before


def test_disabling_ends_sessions(any_world: World) -> None:
    w = any_world
    admin, wg2 = client_for(w, "admin"), client_for(w, "wg2")
    assert wg2.get("/api/v1/auth/me").status_code == 200
    r = admin.patch(f"{USERS}/{w.users['wg2']}", json={"active": False})
    assert r.status_code == 200
    assert r.get_json()["user"]["active"] is False and r.get_json()["sessions_ended"] is True
    assert wg2.get("/api/v1/auth/me").status_code == 401
    assert wg2.get("/api/v1/bootstrap").status_code == 401
    r = w.app.test_client().post(
        "/api/v1/auth/login", json={"username": "wg2", "password": f.PASSWORD}
    )
    assert r.status_code == 403 and r.get_json()["error"] == "disabled"
    # Enabling again lets them sign in (the old session stays ended).
    assert admin.patch(f"{USERS}/{w.users['wg2']}", json={"active": True}).status_code == 200
    assert wg2.get("/api/v1/auth/me").status_code == 401
    f.login(w.app.test_client(), "wg2")


def test_password_change_ends_sessions(any_world: World) -> None:
    w = any_world
    admin, disp = client_for(w, "admin"), client_for(w, "disp")
    r = admin.patch(f"{USERS}/{w.users['disp']}", json={"password": "brand-new-pass"})
    assert r.status_code == 200 and r.get_json()["sessions_ended"] is True
    assert disp.get("/api/v1/auth/me").status_code == 401
    bad = w.app.test_client().post(
        "/api/v1/auth/login", json={"username": "disp", "password": f.PASSWORD}
    )
    assert bad.status_code == 401
    # The new password works; a phone change then ends nothing.
    disp = w.app.test_client()
    f.login(disp, "disp", "brand-new-pass")
    r = admin.patch(f"{USERS}/{w.users['disp']}", json={"phone": "0951-1234567"})
    assert r.status_code == 200 and r.get_json()["sessions_ended"] is False
    assert disp.get("/api/v1/auth/me").status_code == 200


def test_an_admin_changing_their_own_password_stays_signed_in(world: World) -> None:
    admin = client_for(world, "admin")
    r = admin.patch(f"{USERS}/{world.users['admin']}", json={"password": "new-admin-pass"})
    assert r.status_code == 200 and r.get_json()["sessions_ended"] is True
    assert admin.get("/api/v1/admin/departments").status_code == 200


def test_admin_cannot_lock_themselves_out(world: World) -> None:
    admin = client_for(world, "admin")
    me = world.users["admin"]
    r = admin.patch(f"{USERS}/{me}", json={"active": False})
    assert r.status_code == 409 and r.get_json()["error"] == "self_lockout"
    r = admin.patch(f"{USERS}/{me}", json={"role": "dispatcher", "region_code": "640181"})
    assert r.status_code == 409 and r.get_json()["error"] == "self_lockout"
    with world.session() as db:
        u = db.get(User, me)
        assert u is not None and u.active and u.role == "admin" and u.region_id is None


def test_the_last_admin_stays(world: World) -> None:
    with world.session() as db:
        f.user(db, "admin2", "admin")
        db.commit()
    admin2 = client_for(world, "admin2")
    admin = world.users["admin"]
    r = admin2.patch(f"{USERS}/{admin}", json={"active": False})
    assert r.status_code == 200  # admin2 remains
    # admin2 is now the only active admin and cannot disable themselves.
    uid2 = admin2.get("/api/v1/auth/me").get_json()["user"]["id"]
    assert admin2.patch(f"{USERS}/{uid2}", json={"active": False}).status_code == 409


def test_role_and_region_changes(any_world: World) -> None:
    w = any_world
    admin = client_for(w, "admin")
    uid = w.users["wg2"]
    r = admin.patch(f"{USERS}/{uid}", json={"role": "handler"})
    assert r.status_code == 400 and "department_id" in r.get_json()["fields"]
    r = admin.patch(
        f"{USERS}/{uid}", json={"role": "handler", "department_id": w.departments["D1"]}
    )
    assert r.status_code == 200 and r.get_json()["user"]["role"] == "handler"
    r = admin.patch(f"{USERS}/{uid}", json={"department_id": None})
    assert r.status_code == 400 and "department_id" in r.get_json()["fields"]
    r = admin.patch(f"{USERS}/{w.users['disp']}", json={"region_code": None})
    assert r.status_code == 400 and "region_code" in r.get_json()["fields"]
    r = admin.patch(f"{USERS}/{w.users['disp']}", json={"region_code": "640181001"})
    assert r.status_code == 200 and r.get_json()["user"]["region_code"] == "640181001000"
    for body, field in [({"username": "x"}, "username"), ({"active": 0}, "active"),
                        ({"password": "short"}, "password"), ({"role": "boss"}, "role"),
                        ({"display_name": ""}, "display_name")]:  # fmt: skip
        r = admin.patch(f"{USERS}/{uid}", json=body)
        assert r.status_code == 400 and field in r.get_json()["fields"], body
    assert admin.patch(f"{USERS}/99999", json={"phone": "1"}).status_code == 404


def test_duties_are_replaced(any_world: World) -> None:
    w = any_world
    admin = client_for(w, "admin")
    url = f"{USERS}/{w.users['wg1']}/grids"
    r = admin.put(url, json={"duties": [
        {"grid_code": G2, "duty": "full_time"},
        {"grid_code": G2, "duty": "grid_leader"},
        {"grid_code": GB, "duty": "instructor"},
        {"grid_code": G2, "duty": "full_time"},  # repeated: once
    ]})  # fmt: skip
    assert r.status_code == 200, r.get_json()
    duties = r.get_json()["user"]["duties"]
    assert [(d["grid_code"], d["duty"]) for d in duties] == [
        (GB, "instructor"), (G2, "full_time"), (G2, "grid_leader")
    ]  # sorted by grid code  # fmt: skip
    assert _duties(w, "wg1") == {(G2, "full_time"), (G2, "grid_leader"), (GB, "instructor")}
    # The field app sees the new grids at once.
    me = client_for(w, "wg1").get("/api/v1/auth/me").get_json()["user"]
    assert me["grid_codes"] == [GB, G2]
    assert admin.put(url, json={"duties": []}).status_code == 200
    assert _duties(w, "wg1") == set()


def test_duties_set_at_once_leave_one_list(any_world: World) -> None:
    """Four admins (or tabs) setting one user's duties at the same moment: one list is stored,
    the last to run, as if sent one after the other. Before, each request read the duties
    before the others wrote: different lists were combined (an outside audit: 6-8 duties
    instead of 2, 10 of 10 runs) and the same list twice was a 500 (a duplicate key)."""
    w = any_world
    url = f"{USERS}/{w.users['wg1']}/grids"
    lists = [[(G1, "full_time"), (G2, "full_time")], [(GB, "full_time"), (G1, "grid_leader")],
             [(G2, "grid_leader"), (GB, "grid_leader")],
             [(G1, "instructor"), (G2, "instructor")]]  # fmt: skip
    clients = [client_for(w, "admin") for _ in lists]

    def put(client: FlaskClient, duties: list[tuple[str, str]]) -> Any:
        r = client.put(url, json={"duties": [{"grid_code": g, "duty": d} for g, d in duties]})
        if r.status_code != 200:
            return r.status_code, r.get_json()
        return 200, {(d["grid_code"], d["duty"]) for d in r.get_json()["user"]["duties"]}

    for _ in range(3):
        answers = at_once([partial(put, c, d) for c, d in zip(clients, lists, strict=True)])
        assert [s for s, _ in answers] == [200] * 4, answers
        assert _duties(w, "wg1") in [set(d) for d in lists]
        # each answer is the list it stored (the last to run is the one that stays)
        assert [a for _, a in answers] == [set(d) for d in lists]
        same = at_once([partial(put, c, lists[0]) for c in clients])
        assert same == [(200, set(lists[0]))] * 4
        assert _duties(w, "wg1") == set(lists[0])


def test_bad_duties_change_nothing(world: World) -> None:
    admin = client_for(world, "admin")
    url = f"{USERS}/{world.users['wg1']}/grids"
    bad: list[tuple[Any, str]] = [
        ({}, "duties"),
        ({"duties": G1}, "duties"),
        ({"duties": [G1]}, "duties[0]"),
        ({"duties": [{"grid_code": G1, "duty": "boss"}]}, "duties[0].duty"),
        ({"duties": [{"grid_code": "6401810010010", "duty": "full_time"}]}, "duties[0].grid_code"),
        ({"duties": [{"grid_code": G1, "duty": "full_time"},
                     {"grid_code": "640181001001999", "duty": "full_time"}]},
         "duties[1].grid_code"),  # not in the active plan
        ({"duties": [{"grid_code": G1, "duty": "full_time", "x": 1}]}, "duties[0]"),
        ({"duties": [], "extra": 1}, "extra"),
    ]  # fmt: skip
    for body, field in bad:
        r = admin.put(url, json=body)
        assert r.status_code == 400, (body, r.get_json())
        assert field in r.get_json()["fields"], (body, r.get_json())
    assert _duties(world, "wg1") == {(G1, "full_time")}
    assert admin.put(f"{USERS}/99999/grids", json={"duties": []}).status_code == 404


def test_two_admins_disabling_each_other_at_once_leave_one_on_postgres(
    pg_app: Any, monkeypatch: Any
) -> None:
    """A real race on PostgreSQL (READ COMMITTED): admin and admin2 disable each other at the
    same moment. Both used to count two active admins and both succeed: no admin left. The
    admin rows are locked while counting, so one wins and the other gets 409 last_admin.

    Each request waits (≤ 3 s) after counting for the other to count too, so the race happens
    every time; with the lock, the second one is held in its count until the first commits."""
    import contextlib
    import threading

    from server.usecases.admin import users as uc_admin
    from tests.workflow.world import build

    w = build(pg_app)
    with w.session() as db:
        f.user(db, "admin2", "admin")
        db.commit()
        ids = {u.username: u.id for u in db.scalars(select(User).where(User.role == "admin"))}
    clients = {"admin": client_for(w, "admin"), "admin2": client_for(w, "admin2")}
    counted = threading.Barrier(2)
    count = uc_admin._active_admins

    def count_then_wait(ctx: Any) -> int:
        n = count(ctx)
        with contextlib.suppress(threading.BrokenBarrierError):
            counted.wait(timeout=3)
        return n

    monkeypatch.setattr(uc_admin, "_active_admins", count_then_wait)
    start = threading.Barrier(2)
    results: dict[str, tuple[int, Any]] = {}

    def go(who: str, other: str) -> None:
        start.wait()
        r = clients[who].patch(f"{USERS}/{ids[other]}", json={"active": False})
        results[who] = (r.status_code, r.get_json())

    threads = [
        threading.Thread(target=go, args=("admin", "admin2")),
        threading.Thread(target=go, args=("admin2", "admin")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(s for s, _ in results.values())
    assert statuses == [200, 409], results
    assert [b["error"] for s, b in results.values() if s == 409] == ["last_admin"]
    with w.session() as db:
        active = db.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", User.active)
        )
    assert active == 1
