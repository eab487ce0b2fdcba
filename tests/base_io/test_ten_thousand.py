"""10,000 rows with 3 bad: the 3 named, nothing stored; "store the valid rows": exactly the
9,997 others. On SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from server.models import Resident
from tests.base_io.conftest import (
    RESIDENT_HEADER,
    bad_check,
    client_of,
    csv_bytes,
    person_id,
    seed_rooms,
    upload,
)
from tests.workflow.world import G1, World

DOOR = "幸福路12号"


def test_ten_thousand_rows_three_bad(any_world: World) -> None:
    w = any_world
    c = client_of(w, "admin")
    seed_rooms(c, G1, DOOR, 400, units=2)
    rows = [
        [f"居民{i}", person_id(i), "", "户籍" if i % 2 else "流动", "其他", DOOR, "3栋",
         f"{i % 2 + 1}单元", str(100 * ((i % 400) // 4 + 1) + (i % 400) % 4 + 1)]
        for i in range(10_000)
    ]  # fmt: skip
    rows[17][1] = bad_check(rows[17][1])
    rows[4321][5] = "幸福路99号"
    rows[9998][1] = rows[5][1]
    data = csv_bytes(RESIDENT_HEADER, rows)
    resp = upload(c, "residents", data)
    assert resp.status_code == 422
    body = resp.get_json()["import"]
    assert sorted(e["row"] for e in body["errors"]) == [19, 4323, 10000]
    assert (body["rows"], body["invalid"], body["stored"]) == (10_000, 3, 0)
    with w.session() as db:
        assert db.scalar(select(func.count()).select_from(Resident)) == 0
    resp = upload(c, "residents", data, store="valid")
    assert resp.status_code == 201
    assert resp.get_json()["import"]["stored"] == 9_997
    with w.session() as db:
        names = set(db.scalars(select(Resident.name)))
    assert len(names) == 9_997
    assert not names & {"居民17", "居民4321", "居民9998"}
