"""The demo county's base data: every grid has places, households and residents with valid,
fictitious identity numbers; key groups, visits; the address search finds them."""

from __future__ import annotations

import time

from flask import Flask
from sqlalchemy import func, select

from server.domain.identity import parse_id_number
from server.models import Grid, GridPlan, Household, KeyGroupTag, Place, Resident, Visit
from server.usecases.base_io.stored import ID_COLUMN
from server.usecases.personal_data import data_key, decrypt
from tests import factories as f


def test_demo_base_data(app: Flask) -> None:
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "base data:" in result.output
    seconds = time.perf_counter() - started
    with f.session(app) as db:
        grids = set(db.scalars(select(Grid.code).join(GridPlan).where(GridPlan.status == "active")))
        with_rooms = set(db.scalars(select(Place.grid_code).where(Place.kind == "room")))
        with_people = set(db.scalars(select(Resident.grid_code)))
        assert grids == with_rooms == with_people
        assert db.scalar(select(func.count()).select_from(Household)) > 2 * len(grids)
        key = data_key("")
        for r in db.scalars(select(Resident).limit(200)):
            ident = decrypt(key, ID_COLUMN, r.id_cipher)
            parsed = parse_id_number(ident)
            assert 900 <= int(ident[14:17]) <= 999  # the demo's invented sequence range
            assert parsed.birth_date == r.birth_date and parsed.sex.value == r.sex
            assert r.id_mask == ident[:4] + "*" * 10 + ident[-4:]
        assert db.scalar(select(func.count()).select_from(KeyGroupTag)) > 100
        assert db.scalar(select(func.count()).select_from(Visit)) > 50
        door = db.scalar(select(Place.address).where(Place.kind == "building").limit(1))
    client = app.test_client()
    f.login(client, "ddy", "wangge-demo")
    hits = client.get("/api/v1/base/addresses", query_string={"q": door}).get_json()["items"]
    assert hits and hits[0]["place"]["address"] == door and hits[0]["grid"]["code"]
    print(f"demo seed with base data: {seconds:.1f} s")
