"""Grid plans end to end: the CLI contract, publishing versions, stable codes, map GeoJSON."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import geopandas as gpd
from flask import Flask
from shapely.geometry import box
from sqlalchemy import func, select

from geo.synthetic import voronoi_partition
from server.models import Grid, GridPlan
from tests import factories as f

COMMUNITY = "640181001001"
BOUNDARY = box(106.30, 38.00, 106.34, 38.03)


def _world(app: Flask) -> None:
    with f.session(app) as db:
        a = f.region(db, "640181", "灵武市", "county")
        t = f.region(db, "640181001", "城区街道", "town", a)
        c = f.region(db, COMMUNITY, "第一社区", "community", t)
        c.boundary = BOUNDARY
        f.user(db, "disp", "dispatcher", region=a)
        f.user(db, "wg", "grid_worker", region=a, grids=(COMMUNITY + "001",))
        db.commit()


def _write(path: Path, geoms: list, codes: list[str | None] | None = None) -> Path:
    gdf = gpd.GeoDataFrame(
        {"code": codes or [None] * len(geoms), "households": [400] * len(geoms)},
        geometry=geoms,
        crs="EPSG:4326",
    )
    gdf.to_file(path, driver="GeoJSON")
    return path


def _cli(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def test_validate_contract_exit_codes(app: Flask, tmp_path: Path) -> None:
    _world(app)
    cells = voronoi_partition(BOUNDARY, 12, seed=3)
    good = _write(tmp_path / "good.geojson", cells)
    code, out = _cli(app, "grids", "validate", str(good), "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["valid"] is True and report["features"] == 12
    assert set(report) == {"features", "valid", "errors", "warnings"}
    # Drop one grid: a gap in the community.
    bad = _write(tmp_path / "bad.geojson", cells[1:])
    code, out = _cli(app, "grids", "validate", str(bad), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["valid"] is False
    gap = next(p for p in report["errors"] if p["kind"] == "gap")
    assert gap["location"]["type"] in {"Polygon", "MultiPolygon", "Point"} and gap["message"]
    # Unreadable file: exit 2 and a clear message.
    junk = tmp_path / "junk.geojson"
    junk.write_text("{not geojson")
    code, out = _cli(app, "grids", "validate", str(junk), "--format", "json")
    assert code == 2 and json.loads(out)["error"] == "unreadable"
    code, out = _cli(app, "grids", "validate", str(good), "--crs", "EPSG:9999", "--format", "json")
    assert code == 2


def test_import_publish_versions_and_stable_codes(app: Flask, tmp_path: Path) -> None:
    _world(app)
    cells = voronoi_partition(BOUNDARY, 10, seed=5)
    first = _write(tmp_path / "v1.geojson", cells)
    code, out = _cli(app, "grids", "import", str(first), "--publish", "--format", "json")
    assert code == 0, out
    with f.session(app) as db:
        v1 = {g.code: g.geom for g in db.scalars(select(Grid))}
        assert len(v1) == 10 and all(c.startswith(COMMUNITY) for c in v1)
    # Re-import the same plan without codes, rows shuffled: codes come back the same.
    second = _write(tmp_path / "v2.geojson", list(reversed(cells)))
    code, out = _cli(app, "grids", "import", str(second), "--publish", "--format", "json")
    assert code == 0, out
    with f.session(app) as db:
        plans = list(db.scalars(select(GridPlan).order_by(GridPlan.version)))
        assert [(p.version, p.status) for p in plans] == [(1, "retired"), (2, "active")]
        active = {
            g.code: g.geom for g in db.scalars(select(Grid).where(Grid.plan_id == plans[1].id))
        }
        assert set(active) == set(v1)
        assert all(active[c].equals_exact(v1[c], 1e-9) for c in v1)
        assert plans[0].retired_at is not None
        # Old versions are kept, so a case keeps the grid row it was reported in.
        assert db.scalar(select(func.count(Grid.id))) == 20


def test_plan_with_errors_is_not_stored(app: Flask, tmp_path: Path) -> None:
    _world(app)
    cells = voronoi_partition(BOUNDARY, 8, seed=9)
    overlapping = [*cells, cells[0].buffer(0.001)]
    path = _write(tmp_path / "overlap.geojson", overlapping)
    code, _out = _cli(app, "grids", "import", str(path), "--publish", "--format", "json")
    assert code == 1
    with f.session(app) as db:
        assert db.scalar(select(func.count(GridPlan.id))) == 0
        assert db.scalar(select(func.count(Grid.id))) == 0


def test_grids_geojson_etag_gzip_and_mine(app: Flask, tmp_path: Path) -> None:
    _world(app)
    path = _write(tmp_path / "v1.geojson", voronoi_partition(BOUNDARY, 10, seed=5))
    assert _cli(app, "grids", "import", str(path), "--publish")[0] == 0
    c = app.test_client()
    f.login(c, "disp")
    r = c.get("/api/v1/grids.geojson?zoom=12", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    fc = json.loads(gzip.decompress(r.data))
    assert len(fc["features"]) == 10
    assert {"code", "name", "community_name"} <= set(fc["features"][0]["properties"])
    again = c.get("/api/v1/grids.geojson?zoom=12", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    # Simplified geometries still tile the community: no gaps, no overlaps.
    import shapely
    from shapely.geometry import shape

    parts = [shape(ft["geometry"]) for ft in fc["features"]]
    assert shapely.coverage_is_valid(parts)
    w = app.test_client()
    f.login(w, "wg")
    mine = w.get("/api/v1/grids.geojson?mine=1").get_json()
    assert [ft["properties"]["code"] for ft in mine["features"]] == [COMMUNITY + "001"]
    assert c.get("/api/v1/grids.geojson?region=999999").status_code == 404
    assert c.get("/api/v1/grids.geojson?zoom=99").status_code == 400
