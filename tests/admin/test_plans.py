"""Grid plan uploads: a plan with errors is refused with its report and stores nothing; a valid
one is stored as a draft and published; unreadable, oversized and odd uploads get clear 4xx."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from typing import Any

import pytest
from flask.testing import FlaskClient
from shapely.geometry import box, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select

from geo.synthetic import voronoi_partition
from server.models import Grid, GridPlan
from tests.admin.conftest import client_for
from tests.workflow.world import G1, GB, World

PLANS = "/api/v1/admin/plans"
COMMUNITY_C = box(106.25, 38.0, 106.40, 38.10)  # community 640181001001 in the test world


def geojson(cells: list[BaseGeometry], **props: Any) -> bytes:
    features = [
        {"type": "Feature", "properties": {"name": f"网格{i + 1}", "households": 400, **props},
         "geometry": mapping(c)}
        for i, c in enumerate(cells)
    ]  # fmt: skip
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def valid_cells() -> list[BaseGeometry]:
    return voronoi_partition(COMMUNITY_C, 4, seed=7)


def upload(
    c: FlaskClient, data: bytes, name: str = "新方案.geojson", **form: str
) -> tuple[int, dict[str, Any]]:
    r = c.post(
        PLANS,
        data={"file": (io.BytesIO(data), name), **form},
        content_type="multipart/form-data",
    )
    return r.status_code, r.get_json()


def _state(w: World) -> list[tuple[int, int, str, int]]:
    """(plan id, version, status, grids) of every plan."""
    with w.session() as db:
        rows = db.execute(
            select(GridPlan.id, GridPlan.version, GridPlan.status, func.count(Grid.id))
            .join(Grid, Grid.plan_id == GridPlan.id, isouter=True)
            .group_by(GridPlan.id, GridPlan.version, GridPlan.status)
            .order_by(GridPlan.id)
        ).all()
        return [(int(a), int(b), str(c), int(d)) for a, b, c, d in rows]


def test_a_plan_with_errors_is_refused_and_nothing_is_stored(any_world: World) -> None:
    w = any_world
    admin = client_for(w, "admin")
    before = _state(w)
    cells = valid_cells()
    status, body = upload(admin, geojson(cells[:-1]))  # one grid missing: a gap
    assert status == 422, body
    assert body["error"] == "plan_invalid" and "nothing stored" in body["message"]
    report = body["report"]
    assert report["valid"] is False and report["features"] == 3
    gap = next(p for p in report["errors"] if p["kind"] == "gap")
    assert gap["location"]["type"] in {"Polygon", "MultiPolygon"}
    assert "640181001001" in gap["message"]
    # Only community C is checked: county B's community is not reported as a gap.
    assert all("640104" not in p["message"] for p in report["errors"])
    # An overlap too.
    overlapping = [*cells, box(106.30, 38.02, 106.33, 38.05)]
    status, body = upload(admin, geojson(overlapping))
    assert status == 422 and "overlap" in [p["kind"] for p in body["report"]["errors"]]
    assert _state(w) == before
    assert [p["status"] for p in admin.get(PLANS).get_json()["items"]] == ["active", "active"]


@pytest.mark.parametrize("households", ["NaN", "约300户", 1e308, -5])
def test_hostile_households_are_refused_before_anything_is_stored(
    world: World, households: Any
) -> None:
    """A households attribute that is not a whole number of households is a plan error
    (bad_households, naming the grids): was a 500 (ValueError/OverflowError) or stored as is."""
    admin = client_for(world, "admin")
    before = _state(world)
    status, body = upload(admin, geojson(valid_cells(), households=households))
    assert status == 422, body
    kinds = [p["kind"] for p in body["report"]["errors"]]
    assert kinds == ["bad_households"] * 4, kinds
    assert all(len(p["features"]) == 1 for p in body["report"]["errors"])
    assert _state(world) == before


def test_a_valid_plan_is_stored_as_a_draft_then_published(any_world: World) -> None:
    w = any_world
    admin = client_for(w, "admin")
    status, body = upload(admin, geojson(valid_cells()), gap_width="0.5")
    assert status == 201, body
    plan = body["plan"]
    assert plan["status"] == "draft" and plan["version"] == 2 and plan["grid_count"] == 4
    assert plan["region"]["code"] == "640181000000" and plan["source_name"] == "新方案.geojson"
    assert plan["valid"] is True and plan["error_count"] == 0 and plan["published_at"] is None
    assert plan["created_by"]["id"] == w.users["admin"]
    assert body["report"]["valid"] is True and body["report"]["features"] == 4
    # A draft changes nothing in the field yet.
    codes = [g["code"] for g in admin.get("/api/v1/admin/grids").get_json()["items"]]
    assert G1 in codes
    listed = admin.get(PLANS).get_json()["items"]
    assert (listed[0]["id"], listed[0]["status"]) == (plan["id"], "draft")  # newest first
    detail = admin.get(f"{PLANS}/{plan['id']}").get_json()
    assert detail["plan"]["id"] == plan["id"] and detail["report"]["valid"] is True

    r = admin.post(f"{PLANS}/{plan['id']}/publish")
    assert r.status_code == 200, r.get_json()
    published = r.get_json()["plan"]
    assert published["status"] == "active" and published["published_at"] is not None
    states = {p["id"]: p for p in admin.get(PLANS).get_json()["items"]}
    old_a = next(p for p in states.values() if p["region"]["code"] == "640181000000"
                 and p["version"] == 1)  # fmt: skip
    old_b = next(p for p in states.values() if p["region"]["code"] == "640104000000")
    assert old_a["status"] == "retired" and old_a["retired_at"] is not None
    assert old_b["status"] == "active"  # another county's plan is not touched
    grids = admin.get("/api/v1/admin/grids").get_json()["items"]
    new_codes = sorted(g["code"] for g in grids)
    assert GB in new_codes and G1 not in new_codes and len(new_codes) == 5
    assert all(c.startswith("640181001001") for c in new_codes if c != GB)
    # wg1's duty is in a grid that left the active plan: the user list shows it.
    users = admin.get("/api/v1/admin/users?role=grid_worker").get_json()["items"]
    wg1 = next(u for u in users if u["username"] == "wg1")
    assert wg1["duties"][0]["grid_code"] == G1 and wg1["duties"][0]["grid_active"] is False
    # A new plan's grid takes duties; the old code does not.
    r = admin.put(
        f"/api/v1/admin/users/{w.users['wg1']}/grids",
        json={"duties": [{"grid_code": G1, "duty": "full_time"}]},
    )
    assert r.status_code == 400
    r = admin.put(
        f"/api/v1/admin/users/{w.users['wg1']}/grids",
        json={"duties": [{"grid_code": new_codes[0], "duty": "full_time"}]},
    )
    assert r.status_code == 200

    # Publishing again, or a retired plan, is a conflict; an unknown plan is 404.
    again = admin.post(f"{PLANS}/{plan['id']}/publish")
    assert again.status_code == 409 and again.get_json()["error"] == "plan_not_publishable"
    assert admin.post(f"{PLANS}/{old_a['id']}/publish").status_code == 409
    assert admin.post(f"{PLANS}/99999/publish").status_code == 404
    assert admin.get(f"{PLANS}/99999").status_code == 404


def test_publish_at_once(any_world: World) -> None:
    admin = client_for(any_world, "admin")
    status, body = upload(admin, geojson(valid_cells()), publish="1")
    assert status == 201 and body["plan"]["status"] == "active"
    active = [p for p in admin.get(PLANS).get_json()["items"] if p["status"] == "active"]
    assert sorted(p["region"]["code"] for p in active) == ["640104000000", "640181000000"]


def test_grids_outside_the_county_are_reported(world: World) -> None:
    admin = client_for(world, "admin")
    far = box(107.5, 39.5, 107.6, 39.6)  # in no community
    status, body = upload(admin, geojson([*valid_cells(), far]))
    assert status == 422
    assert "no_parent" in [p["kind"] for p in body["report"]["errors"]]
    status, body = upload(admin, geojson([far]))  # in no community at all
    assert status == 422 and [p["kind"] for p in body["report"]["errors"]] == ["no_parent"]


def test_bad_uploads(world: World) -> None:
    admin = client_for(world, "admin")
    before = _state(world)
    status, body = upload(admin, b"this is not json", "plan.geojson")
    assert status == 400 and body["error"] == "unreadable" and body["message"]
    assert "plan.geojson" in body["message"]
    status, body = upload(admin, b'{"type":"FeatureCollection","features":[]}', "empty.json")
    assert status == 400 and body["error"] == "unreadable"
    status, body = upload(admin, b"PK\x03\x04 broken", "plan.zip")
    assert status == 400 and body["error"] == "unreadable"
    status, body = upload(admin, geojson(valid_cells()), "plan.txt")
    assert status == 400 and "file" in body["fields"]
    status, body = upload(admin, geojson(valid_cells()), crs="EPSG:3857")
    assert status == 400 and "crs" in body["fields"]
    status, body = upload(admin, geojson(valid_cells()), gap_width="-1")
    assert status == 400 and "gap_width" in body["fields"]
    status, body = upload(admin, geojson(valid_cells()), publish="maybe")
    assert status == 400 and "publish" in body["fields"]
    r = admin.post(PLANS, data={"publish": "1"}, content_type="multipart/form-data")
    assert r.status_code == 400 and "file" in r.get_json()["fields"]
    r = admin.post(PLANS, json={"file": "x"})
    assert r.status_code == 400 and "file" in r.get_json()["fields"]
    assert _state(world) == before


def _coded(cells: list[BaseGeometry], codes: list[str | None]) -> bytes:
    features = [
        {"type": "Feature", "properties": {"code": code, "households": 400},
         "geometry": mapping(c)}
        for c, code in zip(cells, codes, strict=True)
    ]  # fmt: skip
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def test_supplied_codes_are_never_rewritten_without_renumber(world: World) -> None:
    """A duplicated or malformed code is a problem of the plan; renumbering is a choice."""
    admin = client_for(world, "admin")
    before = _state(world)
    cells = valid_cells()
    c = "640181001001"
    data = _coded(cells, [f"{c}007", f"{c}007", f"{c}7", None])
    status, body = upload(admin, data)
    assert status == 422, body
    kinds = {p["kind"]: p for p in body["report"]["errors"]}
    assert kinds["duplicate_code"]["features"] == [f"{c}007#1", f"{c}007#2"]
    assert kinds["bad_code"]["features"] == [f"{c}7"]
    assert kinds["bad_code"]["location"]["type"] == "Point"
    assert "编码" in kinds["bad_code"]["message"] and "malformed" in kinds["bad_code"]["message"]
    assert [x["reason"] for x in body["report"]["codes"]] == ["missing"]
    assert _state(world) == before
    status, body = upload(admin, data, renumber="maybe")
    assert status == 400 and "renumber" in body["fields"]

    status, body = upload(admin, data, renumber="1")
    assert status == 201, body
    report = body["report"]
    renumbered = [(x["feature"], x["old"], x["reason"]) for x in report["codes"]
                  if x["reason"] != "missing"]  # fmt: skip
    assert renumbered == [(f"{c}007#2", f"{c}007", "duplicate_code"),
                          (f"{c}7", f"{c}7", "bad_code")]  # fmt: skip
    warned = [p["features"] for p in report["warnings"] if p["kind"] == "code_renumbered"]
    assert warned == [[f"{c}007#2"], [f"{c}7"]]
    with world.session() as db:
        stored = sorted(
            db.scalars(select(Grid.code).where(Grid.plan_id == body["plan"]["id"])).all()
        )
    assert stored == sorted([f"{c}007", *(x["new"] for x in report["codes"])])
    assert f"{c}7" not in stored and len(set(stored)) == 4


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


_RING = {"type": "Polygon", "coordinates": [[[106.3, 38], [106.31, 38]]]}  # does not close
_OPEN_RING = {"type": "FeatureCollection",
              "features": [{"type": "Feature", "properties": {}, "geometry": _RING}]}  # fmt: skip


@pytest.mark.parametrize(
    ("data", "name", "shown"),
    [
        (b"this is not json", "街道方案.geojson", "街道方案.geojson"),
        (b"<kml><Document><Placemark><Polygon>", "plan.kml", "plan.kml"),
        (b"SQLite format 3\x00" + b"x" * 2000, "plan.gpkg", "plan.gpkg"),
        (_zip({"grids.shp": b"garbage", "grids.dbf": b"garbage"}), "shp.zip", "shp.zip/grids.shp"),
        (_zip({"in/grids.geojson": b"{not json"}), "in.zip", "in.zip/in/grids.geojson"),
        (json.dumps(_OPEN_RING).encode(), "ring.geojson", "ring.geojson"),
        (_zip({"ring.geojson": json.dumps(_OPEN_RING).encode()}), "ring.zip", "ring.zip"),
    ],
)
def test_unreadable_plans_name_the_upload_not_a_server_path(
    world: World, data: bytes, name: str, shown: str
) -> None:
    """The message names the file the admin chose (and the member of their zip), never the
    temp directory the server put it in; a ring that does not close is a 400, not a 500."""
    status, body = upload(client_for(world, "admin"), data, name)
    assert status == 400 and body["error"] == "unreadable", body
    message = body["message"]
    assert shown in message, message
    assert tempfile.gettempdir() not in message and "wangge-" not in message, message


def test_upload_size_cap(world: World) -> None:
    app = world.app
    admin = client_for(world, "admin")
    data = geojson(valid_cells())
    app.config["WANGGE_MAX_PLAN_BYTES"] = len(data) // 2
    status, body = upload(admin, data)
    assert status == 413 and body["error"] == "request_entity_too_large"
    # The plan cap is the admin's own: it may be larger than the app-wide request cap.
    app.config["WANGGE_MAX_PLAN_BYTES"] = 10 * len(data)
    app.config["MAX_CONTENT_LENGTH"] = len(data) // 2
    status, body = upload(admin, data)
    assert status == 201, body
    # ... but not for anyone else.
    status, _ = upload(client_for(world, "disp"), data)
    assert status == 413


@pytest.mark.parametrize(
    ("data", "crs"),
    [
        # lon/lat degrees declared as a Gauss-Krüger zone: they project to infinity
        (geojson([box(106.25, 38.0, 106.26, 38.01)]), "EPSG:4513"),
        # metres of zone 36 without the zone number in the eastings, declared as zone 25
        (geojson([box(500000, 4200000, 501000, 4201000)]), "EPSG:4513"),
        # a coordinate past the float range in the file itself
        (geojson([box(106.25, 38.0, 106.26, 38.01)]).replace(b"106.25", b"1e999"), ""),
    ],
)
def test_coordinates_that_do_not_fit_the_crs_are_a_400(world: World, data: bytes, crs: str) -> None:
    """A small degree-based polygon declared crs=EPSG:4513 was a 500 (GEOSException: Shell
    empty after removing invalid points, in the validation's repair). Now the CRS error the
    upload page acts on, and nothing is stored."""
    admin = client_for(world, "admin")
    before = _state(world)
    status, body = upload(admin, data, **({"crs": crs} if crs else {}))
    assert status == 400 and body["error"] == "unreadable", body
    assert "crs" in body["fields"] or "file" in body["fields"], body
    assert _state(world) == before
