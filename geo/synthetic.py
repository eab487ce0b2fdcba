"""Synthetic grid plans: Voronoi partitions of real boundaries, for tests, benches and demos.

Every partition is built by noding all cell edges together with the boundary and polygonizing
once, so neighbouring cells share exactly the same vertices (a valid coverage in the sense of
``shapely.coverage_is_valid``) and their union is the boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias, cast

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from geo.coding import assign_codes
from geo.errors import GeoError
from geo.metric import GeomArray

Polygonal: TypeAlias = Polygon | MultiPolygon


def random_points_in(boundary: Polygonal, n: int, rng: np.random.Generator) -> GeomArray:
    """``n`` uniform random points strictly inside ``boundary`` (rejection sampling)."""
    shapely.prepare(boundary)
    minx, miny, maxx, maxy = boundary.bounds
    found: list[np.ndarray] = []
    count = 0
    for _ in range(1000):
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(max(2 * n, 64), 2))
        inside = xy[shapely.contains_xy(boundary, xy[:, 0], xy[:, 1])]
        found.append(inside)
        count += len(inside)
        if count >= n:
            break
    else:
        raise GeoError("无法在边界内取点 / could not sample points inside the boundary")
    return cast(GeomArray, shapely.points(np.concatenate(found)[:n]))


def _renode(cells: GeomArray, boundary: Polygonal | None = None) -> GeomArray:
    """Node all cell edges (and the boundary's) together, polygonize, and give each face back
    to the cell containing its interior point. Faces outside ``boundary`` are dropped."""
    lines = list(shapely.boundary(cells))
    if boundary is not None:
        lines.append(shapely.boundary(boundary))
    noded = shapely.union_all(np.array(lines, dtype=object))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    inner = shapely.point_on_surface(faces)
    if boundary is not None:
        shapely.prepare(boundary)
        keep = shapely.contains(boundary, inner)
        faces, inner = faces[keep], inner[keep]
    tree = shapely.STRtree(cells)
    face_idx, cell_idx = tree.query(inner, predicate="within")
    order = np.lexsort((face_idx, cell_idx))
    face_idx, cell_idx = face_idx[order], cell_idx[order]
    out = np.empty(len(cells), dtype=object)
    for c in range(len(cells)):
        mine = faces[face_idx[cell_idx == c]] if len(cell_idx) else faces[:0]
        if len(mine) == 0:
            out[c] = Polygon()
        elif len(mine) == 1:
            out[c] = mine[0]
        else:
            out[c] = shapely.coverage_union_all(mine)
    return out


def _cells(points: GeomArray, boundary: Polygonal) -> GeomArray:
    """Voronoi cells of ``points`` (unclipped), in the order of the points."""
    regions = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=boundary)
    cells = shapely.get_parts(regions)
    # voronoi_polygons does not keep the input order: sort the cells back to their seeds.
    pt_idx, cell_idx = shapely.STRtree(cells).query(points, predicate="within")
    ordered = np.empty(len(points), dtype=object)
    ordered[pt_idx] = cells[cell_idx]
    return ordered


def _relax(points: GeomArray, boundary: Polygonal) -> GeomArray:
    """One Lloyd step: move each seed to the centre of its clipped cell (kept inside)."""
    clipped = shapely.intersection(_cells(points, boundary), boundary)
    moved = shapely.centroid(clipped)
    inside = shapely.contains(boundary, moved)
    return cast(GeomArray, np.where(inside, moved, shapely.point_on_surface(clipped)))


def voronoi_partition(boundary: Polygonal, n: int, seed: int, *, relax: int = 2) -> list[Polygonal]:
    """Split ``boundary`` into ``n`` Voronoi cells around random seed points.

    ``relax`` Lloyd iterations make the cells more even in size, like real grids.

    The result is a valid coverage of ``boundary`` (no overlaps, no gaps, shared edges with the
    same vertices). A cell cut in several pieces by a concave boundary stays one MultiPolygon.
    Cells come in the order of their seed points; the same seed gives the same partition.
    """
    if n < 1:
        raise GeoError("n 必须 ≥ 1 / n must be at least 1")
    if not shapely.is_valid(boundary):
        boundary = shapely.make_valid(boundary, method="structure", keep_collapsed=False)
    if n == 1:
        return [boundary]
    points = random_points_in(boundary, n, np.random.default_rng(seed))
    shapely.prepare(boundary)
    for _ in range(relax):
        points = _relax(points, boundary)
    parts = _renode(_cells(points, boundary), boundary)
    return [p for p in parts if not p.is_empty]


def _renode_all(geoms: Sequence[Polygonal]) -> list[Polygonal]:
    """Make a nested plan's grids share vertices across community and town borders."""
    return list(_renode(np.array(geoms, dtype=object)))


def build_hierarchy(
    boundary: Polygonal,
    county_code: str,
    towns: Sequence[tuple[str, str]],
    communities_per_town: int,
    grids_per_community: int,
    seed: int,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """A synthetic county: towns, communities and grids nested inside ``boundary`` (lon/lat).

    ``towns`` are (code, name); a 3-digit code is prefixed with ``county_code``. Communities of
    a 街道 (town number 001-099) are 社区 numbered 001…; of a 镇/乡 (100-399) 村 numbered 200….
    Grids are coded with :func:`geo.coding.assign_codes` and get 300-500 random households.
    All three layers are exact coverages of each other (built from one noding of the grids).
    """
    if len(county_code) != 6 or not county_code.isdigit():
        raise GeoError(f"区县编码应为 6 位数字 / county code must be 6 digits: {county_code!r}")
    rng = np.random.default_rng(seed)
    town_cells = voronoi_partition(boundary, len(towns), seed)
    grid_geoms: list[Polygonal] = []
    grid_town: list[int] = []
    grid_comm: list[int] = []
    comm_rows: list[dict[str, object]] = []
    for t, ((code, name), town_geom) in enumerate(zip(towns, town_cells, strict=True)):
        town_code = code if len(code) == 9 else county_code + code
        is_street = int(town_code[6:9]) < 100
        comms = voronoi_partition(town_geom, communities_per_town, seed + 1000 * (t + 1))
        for c, comm_geom in enumerate(comms):
            number = (1 if is_street else 200) + c
            kind = "社区" if is_street else "村"
            comm_rows.append(
                {"code": f"{town_code}{number:03d}", "name": f"{name}第{c + 1}{kind}",
                 "town_code": town_code}
            )  # fmt: skip
            cells = voronoi_partition(comm_geom, grids_per_community, seed + 7919 * len(comm_rows))
            grid_geoms.extend(cells)
            grid_town.extend([t] * len(cells))
            grid_comm.extend([len(comm_rows) - 1] * len(cells))
    grid_geoms = _renode_all(grid_geoms)
    comm_idx = np.array(grid_comm)
    town_idx = np.array(grid_town)
    geoms = np.array(grid_geoms, dtype=object)
    comm_geoms = [shapely.coverage_union_all(geoms[comm_idx == c]) for c in range(len(comm_rows))]
    town_geoms = [shapely.coverage_union_all(geoms[town_idx == t]) for t in range(len(towns))]
    towns_gdf = gpd.GeoDataFrame(
        {
            "code": [c if len(c) == 9 else county_code + c for c, _ in towns],
            "name": [n for _, n in towns],
        },
        geometry=town_geoms,
        crs="EPSG:4326",
    )
    comms_gdf = gpd.GeoDataFrame(comm_rows, geometry=comm_geoms, crs="EPSG:4326")
    grids_gdf = gpd.GeoDataFrame(
        {
            "code": [None] * len(geoms),
            "kind": ["basic"] * len(geoms),
            "households": rng.integers(300, 501, size=len(geoms)),
        },
        geometry=list(geoms),
        crs="EPSG:4326",
    )
    grids_gdf = assign_codes(grids_gdf, comms_gdf)
    grids_gdf["name"] = [f"网格{c[-3:]}" for c in grids_gdf["code"]]
    grids_gdf["parent_code"] = [c[:12] for c in grids_gdf["code"]]
    grids_gdf = grids_gdf.sort_values("code", kind="stable").reset_index(drop=True)
    return towns_gdf, comms_gdf, grids_gdf
