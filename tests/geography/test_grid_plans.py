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
    assert set(report) == {"features", "valid", "errors", "warnings", "codes"}
    assert len(report["codes"]) == 12  # the file had no codes: each one given is listed
    assert {c["reason"] for c in report["codes"]} == {"missing"}
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


def _coded_cells() -> tuple[list, list[str | None]]:
    """Six grids with the codes a county printed on its signs -- and four mistakes."""
    cells = voronoi_partition(BOUNDARY, 6, seed=11)
    codes: list[str | None] = [
        COMMUNITY + "001",
        COMMUNITY + "002",
        COMMUNITY + "002",  # duplicated
        COMMUNITY + "04",  # 14 digits
        "640181001999005",  # not under its community's code
        None,  # no code: numbered, as always
    ]
    return cells, codes


def test_supplied_codes_are_reported_not_rewritten(app: Flask, tmp_path: Path) -> None:
    _world(app)
    cells, codes = _coded_cells()
    path = _write(tmp_path / "coded.geojson", cells, codes)
    code, out = _cli(app, "grids", "validate", str(path), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["valid"] is False, report
    dup = next(p for p in report["errors"] if p["kind"] == "duplicate_code")
    assert dup["features"] == [f"{COMMUNITY}002#2", f"{COMMUNITY}002#3"]
    assert dup["location"]["type"] == "MultiPoint" and "/" in dup["message"]
    bad = [p for p in report["errors"] if p["kind"] == "bad_code"]
    assert [p["features"] for p in bad] == [[COMMUNITY + "04"], ["640181001999005"]]
    assert all(p["location"]["type"] == "Point" for p in bad)
    assert "renumber" in dup["message"]
    # Nothing was renumbered: only the grid without a code got one, after the highest (002).
    assert report["codes"] == [
        {"feature": "#6", "row": 6, "old": None, "new": COMMUNITY + "003", "reason": "missing",
         "source": "new_number"}
    ]  # fmt: skip
    code, _out = _cli(app, "grids", "import", str(path), "--publish", "--format", "json")
    assert code == 1
    with f.session(app) as db:
        assert db.scalar(select(func.count(GridPlan.id))) == 0


def test_renumber_is_an_explicit_reported_choice(app: Flask, tmp_path: Path) -> None:
    _world(app)
    cells, codes = _coded_cells()
    path = _write(tmp_path / "coded.geojson", cells, codes)
    code, out = _cli(app, "grids", "validate", str(path), "--renumber", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["valid"] is True, report
    changed = [(c["old"], c["reason"]) for c in report["codes"]]
    assert changed == [
        (COMMUNITY + "002", "duplicate_code"),
        (COMMUNITY + "04", "bad_code"),
        ("640181001999005", "bad_code"),
        (None, "missing"),
    ]
    news = [c["new"] for c in report["codes"]]
    assert sorted(news) == [COMMUNITY + f"{n:03d}" for n in (3, 4, 5, 6)]  # after 002
    renumbered = [p for p in report["warnings"] if p["kind"] == "code_renumbered"]
    assert [p["features"] for p in renumbered] == [
        [f"{COMMUNITY}002#3"],
        [COMMUNITY + "04"],
        ["640181001999005"],
    ]
    assert all(" → " in p["message"] and p["location"]["type"] == "Point" for p in renumbered)
    code, out = _cli(app, "grids", "validate", str(path), "--renumber")
    assert code == 0 and f"renumbered {COMMUNITY}04: {COMMUNITY}04 -> " in out, out
    code, out = _cli(app, "grids", "import", str(path), "--renumber", "--publish")
    assert code == 0, out
    with f.session(app) as db:
        stored = sorted(g.code for g in db.scalars(select(Grid)))
    assert stored == [COMMUNITY + f"{n:03d}" for n in range(1, 7)]


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


def test_uncoded_grids_without_communities_are_a_clear_error(app: Flask, tmp_path: Path) -> None:
    """No community boundaries to number by: a message, not a KeyError traceback."""
    plain = tmp_path / "plain.geojson"
    gpd.GeoDataFrame({"households": [400]}, geometry=[BOUNDARY], crs=4326).to_file(plain)
    for path in (plain, _write(tmp_path / "nulls.geojson", [BOUNDARY])):
        result = app.test_cli_runner().invoke(args=["grids", "import", str(path)])
        assert result.exit_code == 1 and not isinstance(result.exception, KeyError), result
        assert "no community boundaries" in result.output


def test_swapped_codes_are_refused_unless_confirmed(app: Flask, tmp_path: Path) -> None:
    """A new plan where two grids supply each other's codes: duties follow the code, so a
    worker would silently cover another area. A code_moved error naming both codes; with
    --renumber (the admin's confirmation of the plan's codes) a warning, and it imports."""
    _world(app)
    cells = voronoi_partition(BOUNDARY, 6, seed=5)
    code, out = _cli(app, "grids", "import", str(_write(tmp_path / "v1.geojson", cells)),
                     "--publish", "--format", "json")  # fmt: skip
    assert code == 0, out
    with f.session(app) as db:
        by_geom = [(g.code, g.geom) for g in db.scalars(select(Grid).order_by(Grid.code))]
    (a, geom_a), (b, geom_b) = by_geom[0], by_geom[1]
    rest = by_geom[2:]
    geoms = [geom_a, geom_b] + [g for _, g in rest]
    swapped = _write(tmp_path / "v2.geojson", geoms, [b, a] + [c for c, _ in rest])
    code, out = _cli(app, "grids", "validate", str(swapped), "--format", "json")
    report = json.loads(out)
    assert code == 1 and report["valid"] is False, report
    moved = [p for p in report["errors"] if p["kind"] == "code_moved"]
    assert [p["features"] for p in moved] == [[b], [a]], report
    assert a in moved[0]["message"] and b in moved[0]["message"]
    assert "renumber" in moved[0]["message"] and report["codes"] == []
    code, out = _cli(app, "grids", "import", str(swapped), "--publish", "--format", "json")
    assert code == 1
    with f.session(app) as db:
        assert db.scalar(select(func.count(GridPlan.id))) == 1
    code, out = _cli(app, "grids", "validate", str(swapped), "--renumber", "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["valid"] is True, report
    assert [p["kind"] for p in report["warnings"]] == ["code_moved", "code_moved"]
