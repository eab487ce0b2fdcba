"""Grid plans: check a file as a whole, store it as a draft version, publish it.

Publishing makes the new version active and retires the old one in one transaction; grids of
old versions stay, so every case keeps the grid it was reported in.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from geo.coding import code_grids
from geo.errors import ReadError
from geo.io import read_boundaries, read_features
from geo.parents import column_codes, is_grid_code
from geo.problems import Problem, ValidationReport, geojson_location
from geo.validate import feature_ids, households_value, report_codes, validate_plan
from server.domain.names import name_problem
from server.models import Grid, GridPlan, Region
from server.models.types import utcnow
from server.usecases import grid_locator, routing


class PlanError(Exception):
    """A plan that cannot be stored or published, with a clear message."""


@dataclass
class PlanCheck:
    grids: gpd.GeoDataFrame
    parents: gpd.GeoDataFrame | None
    report: ValidationReport
    source_name: str


def _multi(geom: BaseGeometry) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon)]
    return MultiPolygon(polys)


def active_grids_gdf(db: Session) -> gpd.GeoDataFrame | None:
    rows = db.execute(
        select(Grid.code, Grid.geom)
        .join(GridPlan, Grid.plan_id == GridPlan.id)
        .where(GridPlan.status == "active")
    ).all()
    if not rows:
        return None
    return gpd.GeoDataFrame(
        {"code": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs="EPSG:4326"
    )


def county_communities(db: Session, grids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The communities (with boundaries) of the county the plan lies in: the county most grids
    fall in, by their codes or else their position. A plan is one county's (``store_plan``);
    checking it against every community in the database would report every other county's
    communities as gaps. Grids outside that county are then reported as in no parent."""
    rows = db.execute(
        select(Region.code, Region.name, Region.boundary, Region.path).where(
            Region.level == "community", Region.boundary.is_not(None)
        )
    ).all()
    codes = [str(r[0]) for r in rows]
    county = [routing.county_in_path(db, r[3]) for r in rows]
    votes: Counter[str] = Counter()
    if rows and len(grids):
        by_code = dict(zip(codes, county, strict=True))
        grid_codes = column_codes(grids, "code") if "code" in grids.columns else [None] * len(grids)
        geoms = np.asarray(grids.geometry.values, dtype=object)
        usable = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
        pending: list[int] = []
        for i, code in enumerate(grid_codes):
            if code is not None and is_grid_code(code) and code[:12] in by_code:
                votes[by_code[code[:12]]] += 1
            elif usable[i]:
                pending.append(i)
        if pending:
            probe = geoms[pending]
            bad = ~shapely.is_valid(probe)
            if bad.any():
                probe = probe.copy()
                probe[bad] = shapely.make_valid(probe[bad])
            points = shapely.point_on_surface(probe)
            tree = shapely.STRtree(np.asarray([r[2] for r in rows], dtype=object))
            _, hit = tree.query(points, predicate="within")
            votes.update(county[k] for k in hit)
    winner = votes.most_common(1)[0][0] if votes else None
    keep = [k for k, c in enumerate(county) if c == winner]
    return gpd.GeoDataFrame(
        {"code": [codes[k] for k in keep], "name": [rows[k][1] for k in keep]},
        geometry=[rows[k][2] for k in keep],
        crs="EPSG:4326",
    )


def check_plan(
    db: Session,
    path: str | Path,
    *,
    boundaries: str | Path | None = None,
    crs: str | None = None,
    gap_width_m: float = 0.0,
    make_valid: bool = False,
    renumber: bool = False,
) -> PlanCheck:
    """Read, code and validate a plan file. Raises geo.errors.GeoError when unreadable.

    Grids without a code get one. A code the file supplies is kept as it is: a malformed or
    duplicated one is a ``bad_code`` / ``duplicate_code`` error, and nothing is renumbered --
    unless ``renumber`` is true, when such codes are replaced and each replacement is a
    ``code_renumbered`` warning. ``report.codes`` lists every code given or changed."""
    grids = read_features(path, crs)
    if not len(grids):
        raise ReadError("文件中没有网格 / the file has no features")
    # Without a boundary file, check against the communities of the plan's own county.
    parents: gpd.GeoDataFrame | None = None
    if boundaries:
        parents = read_boundaries(boundaries, crs)
    elif db.scalar(select(func.count(Region.id)).where(Region.level == "community")):
        parents = county_communities(db, grids)
    supplied = column_codes(grids, "code")
    changes = []
    moved = []
    if parents is not None and len(parents):
        coding = code_grids(grids, parents, previous=active_grids_gdf(db), renumber=renumber)
        grids, changes, moved = coding.grids, coding.changes, coding.moved
    report = validate_plan(grids, parents, gap_width_m=gap_width_m, make_valid=make_valid)
    report_codes(report, supplied, grids, changes, moved, confirmed=renumber)
    report.errors.extend(name_problems(grids))
    if not renumber:
        for problem in report.errors:
            if problem.kind in ("bad_code", "duplicate_code", "code_moved"):
                problem.message += "；未改动，可选择重新编号 / left as is: fix it, or renumber"
    if make_valid:
        from geo.validate import repair_geometries

        grids = repair_geometries(grids)
    return PlanCheck(grids, parents, report, Path(path).name)


#: A grid's name: the column's width (``grids.name``), under the names' rule's 200.
MAX_GRID_NAME = 100


def grid_name(value: Any) -> str | None:
    """A feature's ``name`` as text, None when the file gives none (null, NaN, blank)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def name_problems(grids: gpd.GeoDataFrame, name_field: str = "name") -> list[Problem]:
    """A ``bad_name`` error for each grid whose name breaks the names' rule
    (:func:`server.domain.names.name_problem`: control or bidi characters, NUL, nothing that
    shows, more than :data:`MAX_GRID_NAME` characters): refused, never stripped or cut."""
    if name_field not in grids.columns:
        return []
    ids = feature_ids(
        column_codes(grids, "code") if "code" in grids.columns else [None] * len(grids)
    )
    out = []
    for i, raw in enumerate(grids[name_field].tolist()):
        name = grid_name(raw)
        if name is None or not (bad := name_problem(name, MAX_GRID_NAME)):
            continue
        shown = name[:40].encode("unicode_escape").decode("ascii")
        geom = grids.geometry.iloc[i]
        usable = geom is not None and not shapely.is_empty(geom)
        out.append(
            Problem(
                "bad_name",
                [ids[i]],
                f"网格名称不可用：{ids[i]} 为 “{shown}”（{bad}） / bad grid name: {ids[i]} "
                f"has '{shown}'",
                geojson_location(shapely.point_on_surface(geom)) if usable else None,
            )
        )
    return out


def _region(db: Session, code: str, level: str, name: str, parent: Region | None) -> Region:
    code = code.ljust(12, "0")
    region = db.scalar(select(Region).where(Region.code == code))
    if region is None:
        region = Region(code=code, name=name, level=level, parent=parent, path="")
        db.add(region)
        db.flush()
        region.path = (parent.path if parent else "/") + f"{region.id}/"
    return region


def upsert_parents(db: Session, parents: gpd.GeoDataFrame) -> None:
    """Make sure every community of a boundary file exists, with its boundary."""
    for row in parents.itertuples():
        code = str(getattr(row, "code", "") or "")
        if len(code) != 12 or not code.isdigit():
            continue
        name = str(getattr(row, "name", "") or code)
        county = _region(db, code[:6], "county", f"区县 {code[:6]}", None)
        town = _region(db, code[:9], "town", f"乡镇 {code[:9]}", county)
        community = _region(db, code, "community", name, town)
        community.name = name
        community.boundary = _multi(row.geometry)


def store_plan(db: Session, check: PlanCheck, *, created_by: int | None = None) -> GridPlan:
    """Store a valid plan as a draft version (not yet active). Does not commit."""
    if not check.report.valid:
        raise PlanError(
            f"网格方案有 {len(check.report.errors)} 个错误，不能保存 / the plan has "
            f"{len(check.report.errors)} errors and cannot be stored"
        )
    if check.parents is not None:
        upsert_parents(db, check.parents)
        db.flush()
    given = column_codes(check.grids, "code")
    if any(c is None for c in given):
        raise PlanError(
            "有网格没有编码，又没有社区边界可据以编号 / grids without a code, and no community "
            "boundaries to number them by: load the communities (--boundaries) or code every grid"
        )
    codes = [str(c) for c in given]
    communities = {
        r.code: r
        for r in db.scalars(select(Region).where(Region.code.in_(sorted({c[:12] for c in codes}))))
    }
    missing = sorted({c[:12] for c in codes} - set(communities))
    if missing:
        raise PlanError(f"社区不存在 / unknown communities: {', '.join(missing[:5])}")
    counties = {routing.county_in_path(db, c.path) for c in communities.values()}
    if len(counties) != 1:
        raise PlanError("一个方案只能属于一个区县 / a plan must lie in one county")
    county_id = int(counties.pop())
    version = (
        db.scalar(select(func.max(GridPlan.version)).where(GridPlan.region_id == county_id)) or 0
    ) + 1
    plan = GridPlan(
        region_id=county_id,
        version=version,
        status="draft",
        source_name=check.source_name[:300],
        report=check.report.to_dict(),
        created_by_id=created_by,
        created_at=utcnow(),
    )
    db.add(plan)
    db.flush()
    columns = set(check.grids.columns)
    geoms = check.grids.geometry.values

    def val(row: Any, key: str) -> Any:
        return getattr(row, key, None) if key in columns else None

    db.add_all(
        [
            Grid(
                plan_id=plan.id,
                code=str(row.code),
                name=grid_name(val(row, "name")) or f"第{str(row.code)[-3:]}网格",
                kind="dedicated"
                if str(val(row, "kind") or "") in {"dedicated", "专属"}
                else "basic",
                subkind=val(row, "subkind") if val(row, "subkind") else None,
                community_id=communities[str(row.code)[:12]].id,
                # validate_plan refused any other value (bad_households).
                households=households_value(val(row, "households")),
                geom=_multi(geom),
            )
            for row, geom in zip(check.grids.itertuples(), geoms, strict=True)
        ]
    )
    db.flush()
    return plan


def publish(db: Session, plan: GridPlan, *, now: datetime | None = None) -> GridPlan:
    """Make ``plan`` the active version of its county; retire the previous one. Does not commit."""
    if plan.status != "draft":
        raise PlanError(f"只能发布草稿 / only a draft can be published (this one is {plan.status})")
    report = plan.report or {}
    if not report.get("valid", False):
        raise PlanError("有错误的方案不能发布 / a plan with errors cannot be published")
    now = now or utcnow()
    # One publish per county at a time (a row lock on PostgreSQL; SQLite writes one at a
    # time anyway), so two drafts published at once cannot both end up active.
    db.execute(select(Region.id).where(Region.id == plan.region_id).with_for_update())
    db.refresh(plan)
    if plan.status != "draft":
        raise PlanError(f"只能发布草稿 / only a draft can be published (this one is {plan.status})")
    old = list(
        db.scalars(
            select(GridPlan).where(
                GridPlan.region_id == plan.region_id, GridPlan.status == "active"
            )
        )
    )
    for p in old:
        p.status, p.retired_at = "retired", now
        db.execute(update(Grid).where(Grid.plan_id == p.id).values(valid_to=now))
    plan.status, plan.published_at = "active", now
    db.execute(update(Grid).where(Grid.plan_id == plan.id).values(valid_from=now))
    db.flush()
    grid_locator.forget()
    return plan
