"""Imports sent at once: one wins, the others get the answer a file sent after it gets (the rows
already registered), never a 500 and never two copies. An outside tester sent three identical
address imports at once (each 201: three copies of the estate and its rooms) and four identical
organisation imports (one 201, three 500s on the credit code's unique index).

The checks and the store of an import that stores run under a lock of what the file can
collide with (``server/usecases/locks.py``): the places of the counties its grids are in, or the
register of identity numbers, or of credit codes. A place created through the API takes the
lock of its county and is refused beside a sibling of the same name, as the import refuses it.
The races need PostgreSQL (SQLite has one writer at a time); they skip without it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.domain.identity import make_credit_code
from server.models import Organisation, Place, Resident
from tests import factories as f
from tests.base_io.conftest import (
    ADDRESS_HEADER,
    ORG_HEADER,
    RESIDENT_HEADER,
    client_of,
    csv_bytes,
    person_id,
    seed_rooms,
    upload,
)
from tests.workflow.world import G1, World, build

DOOR = "幸福路12号"
WHO = ("admin", "disp", "wg1", "admin")


@pytest.fixture
def pg_world(pg_app: Flask) -> World:
    return build(pg_app)


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; their results in the order given."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def go(i: int) -> None:
        barrier.wait()
        out[i] = calls[i]()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def _count(w: World, model: Any, *where: Any) -> int:
    with w.session() as db:
        return int(db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _same_file_at_once(w: World, kind: str, data: bytes) -> list[tuple[int, set[str]]]:
    clients = [client_of(w, who) for who in WHO]

    def send(c: FlaskClient) -> Callable[[], tuple[int, set[str]]]:
        def call() -> tuple[int, set[str]]:
            resp = upload(c, kind, data)
            body = resp.get_json() or {}
            errors = {e["message"] for e in body.get("import", {}).get("errors", [])}
            return resp.status_code, errors or {str(body.get("error"))}

        return call

    return sorted(at_once([send(c) for c in clients]), key=lambda r: r[0])


def test_identical_address_imports_at_once_store_one_copy(pg_world: World) -> None:
    rows = [[G1, "幸福小区", "3栋", "1单元", str(r), DOOR, "", ""] for r in (101, 102, 201)]
    answers = _same_file_at_once(pg_world, "addresses", csv_bytes(ADDRESS_HEADER, rows))
    assert [a[0] for a in answers] == [201, 422, 422, 422], answers
    assert all(a[1] == {"该房屋已登记"} for a in answers[1:]), answers
    with pg_world.session() as db:
        kinds = dict(db.execute(select(Place.kind, func.count()).group_by(Place.kind)).all())
    assert kinds == {"estate": 1, "building": 1, "unit": 1, "room": 3}


def test_identical_organisation_imports_at_once_are_one_201_and_422s(pg_world: World) -> None:
    seed_rooms(client_of(pg_world, "admin"), G1, DOOR, 1)
    codes = [make_credit_code(f"91640181MA7{i}XY12" + "3") for i in range(3)]
    rows = [[f"公司{i}", code, "企业", DOOR, "", ""] for i, code in enumerate(codes)]
    answers = _same_file_at_once(pg_world, "organisations", csv_bytes(ORG_HEADER, rows))
    assert [a[0] for a in answers] == [201, 422, 422, 422], answers
    assert all(a[1] == {"该统一社会信用代码已登记"} for a in answers[1:]), answers
    assert _count(pg_world, Organisation) == 3


def test_identical_resident_imports_at_once_are_one_201_and_422s(pg_world: World) -> None:
    seed_rooms(client_of(pg_world, "admin"), G1, DOOR, 4)
    rows = [[f"居民{i}", person_id(i), "", "户籍", "户主", DOOR, "3栋", "1单元", "101"]
            for i in range(3)]  # fmt: skip
    answers = _same_file_at_once(pg_world, "residents", csv_bytes(RESIDENT_HEADER, rows))
    assert [a[0] for a in answers] == [201, 422, 422, 422], answers
    assert all(a[1] == {"该公民身份号码已登记"} for a in answers[1:]), answers
    assert _count(pg_world, Resident) == 3


def test_a_code_registered_while_an_import_stores_is_a_409_not_a_500(pg_world: World) -> None:
    """The import's lock is not taken by the API's registrations (they are short, the import
    may not be): a credit code the API stores between the import's check and its insert is
    a 409 asking to import again, and nothing of the file is stored."""
    w = pg_world
    admin = client_of(w, "admin")
    seed_rooms(admin, G1, DOOR, 1)
    code = make_credit_code("91640181MA75XY12" + "3")
    rows = [["另一公司", make_credit_code("91640181MA76XY12" + "3"), "企业", DOOR, "", ""],
            ["示例公司", code, "企业", DOOR, "", ""]]  # fmt: skip
    with f.session(w.app) as db:
        first = Organisation(uuid=str(uuid.uuid4()), name="先登记的", credit_code=code,
                             kind="enterprise", address=DOOR, version=1)  # fmt: skip
        db.add(first)
        db.flush()  # holds the code in the unique index, not yet committed
        answer: list[Any] = []
        data = csv_bytes(ORG_HEADER, rows)
        t = threading.Thread(target=lambda: answer.append(upload(admin, "organisations", data)))
        t.start()
        time.sleep(2)  # the import checked (the code is not committed) and waits on the index
        db.commit()
    t.join(60)
    (resp,) = answer
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["error"] == "import_conflict"
    assert "重新导入" in resp.get_json()["message"]
    assert _count(w, Organisation) == 1


def _unit(w: World) -> int:
    with w.session() as db:
        return int(db.scalar(select(Place.id).where(Place.kind == "unit")))


def _room(parent: int, name: str) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "kind": "room", "parent_id": parent, "name": name}


def test_the_api_refuses_a_room_registered_under_its_unit(any_world: World) -> None:
    """The import's rule: a room is registered once under its unit ("101" = "101室")."""
    w = any_world
    c = client_of(w, "disp")
    seed_rooms(client_of(w, "admin"), G1, DOOR, 1)  # 3栋 1单元 101
    unit = _unit(w)
    for name in ("101", "101室"):
        resp = c.post("/api/v1/base/places", json=_room(unit, name))
        assert resp.status_code == 409, resp.get_json()
        body = resp.get_json()
        assert body["error"] == "duplicate_place" and "已登记" in body["message"], body
        assert body["place_id"] > 0
    assert c.post("/api/v1/base/places", json=_room(unit, "102")).status_code == 201
    again = c.post("/api/v1/base/places", json=_room(unit, "102"))
    assert again.status_code == 409
    assert _count(w, Place, Place.kind == "room") == 2
    # and a file naming the room the API made is refused as registered
    rows = [[G1, "幸福小区", "3栋", "1单元", "102", DOOR, "", ""]]
    resp = upload(client_of(w, "admin"), "addresses", csv_bytes(ADDRESS_HEADER, rows))
    assert resp.status_code == 422
    assert resp.get_json()["import"]["errors"][0]["message"] == "该房屋已登记"


def test_a_rename_to_a_siblings_name_is_refused_too(any_world: World) -> None:
    """The twin rule held for a create only: PATCH renamed room 102 to "101" beside 101."""
    w = any_world
    c = client_of(w, "disp")
    seed_rooms(client_of(w, "admin"), G1, DOOR, 1)  # 3栋 1单元 101
    unit = _unit(w)
    made = c.post("/api/v1/base/places", json=_room(unit, "102"))
    assert made.status_code == 201, made.get_json()
    room = made.get_json()["place"]
    for name in ("101", "101室"):
        resp = c.patch(f"/api/v1/base/places/{room['id']}",
                       json={"name": name, "base_version": room["version"]})  # fmt: skip
        assert resp.status_code == 409, resp.get_json()
        assert resp.get_json()["error"] == "duplicate_place"
    # its own name in another spelling, and a free name, are fine
    same = c.patch(f"/api/v1/base/places/{room['id']}",
                   json={"name": "102室", "base_version": room["version"]})  # fmt: skip
    assert same.status_code == 200, same.get_json()
    version = same.get_json()["place"]["version"]
    free = c.patch(f"/api/v1/base/places/{room['id']}",
                   json={"name": "103", "base_version": version})  # fmt: skip
    assert free.status_code == 200 and free.get_json()["place"]["name"] == "103"
    with w.session() as db:
        names = set(db.scalars(select(Place.name).where(Place.parent_id == unit)))
    assert names == {"101", "103"}


def test_the_same_room_through_the_api_at_once_is_stored_once(pg_world: World) -> None:
    w = pg_world
    seed_rooms(client_of(w, "admin"), G1, DOOR, 1)
    unit = _unit(w)
    clients = [client_of(w, who) for who in WHO]
    answers = at_once(
        [lambda c=c: c.post("/api/v1/base/places", json=_room(unit, "301")).status_code
         for c in clients]
    )  # fmt: skip
    assert sorted(answers) == [201, 409, 409, 409], answers
    assert _count(w, Place, Place.name == "301") == 1
