"""Names of the groups of a metrics answer (towns, grids, departments, weeks…) and their order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.engine import Connection

from server.domain.levels import LEVEL_LABELS, Level
from server.metrics.planning import Plan
from server.models import Category, Department, Grid, GridPlan, Region, User
from server.models.metric_events import LEVEL_CODES

# --- group labels ------------------------------------------------------------------------------


def unknown_label(p: Plan, key: Any) -> dict[str, Any]:
    if key is None:
        names = {"department": "未派遣 / not dispatched"}
        return {"key": None, "name": names.get(p.query.by or "", "（无）/ none")}
    return {"key": key, "name": str(key)}


def scope_path(p: Plan) -> str | None:
    """The deepest region path the filters confine the figures to (None: not a region)."""
    if any(f.kind == "grid" for f in p.filters):
        return None
    paths = [str(f.label["path"]) for f in p.filters if f.kind == "region" and f.label.get("path")]
    return max(paths, key=len) if paths else None


def scope_level(p: Plan) -> str | None:
    """The level of the deepest region the filters confine the figures to (None: none)."""
    regions = [f.label for f in p.filters if f.kind == "region" and f.label.get("path")]
    if not regions:
        return None
    return str(max(regions, key=lambda r: len(str(r["path"])))["level"])


def group_labels(conn: Connection, p: Plan, keys: list[Any]) -> dict[Any, dict[str, Any]]:
    """Names of the groups; also the scope's towns, communities or current grids, and the
    weeks or months of the period, that have no case (a line of zeros for maps and rankings)."""
    by = p.query.by
    out: dict[Any, dict[str, Any]] = {}
    if by in ("week", "month"):
        for b in p.buckets:
            out[b.key] = {
                "key": b.key,
                "name": b.label,
                "from": b.start.isoformat(),
                "to": b.end.isoformat(),
            }
        return out
    known = [k for k in keys if k is not None]
    path = scope_path(p) if not any(f.kind == "group" for f in p.filters) else None
    cond: ColumnElement[bool]
    if by in ("county", "town", "community"):
        cond = Region.id.in_(known)
        if path:
            cond = or_(cond, Region.path.startswith(path))
        stmt = select(Region.id, Region.code, Region.name).where(Region.level == by, cond)
        for r in conn.execute(stmt):
            out[r.id] = {"key": r.id, "id": r.id, "code": r.code, "name": r.name}
    elif by == "grid":
        active = GridPlan.status == "active"
        cond = Grid.code.in_(known)
        if path:
            cond = or_(cond, Region.path.startswith(path) & active)
        stmt2 = (
            select(Grid.code, Grid.name, Grid.community_id)
            .join(Region, Region.id == Grid.community_id)
            .join(GridPlan, GridPlan.id == Grid.plan_id)
            .where(cond)
            .order_by(active, Grid.id)  # rows of the active plan come last and win
        )
        for g in conn.execute(stmt2):
            out[g.code] = {
                "key": g.code,
                "code": g.code,
                "name": g.name,
                "community_id": g.community_id,
            }
    elif by == "centre":
        cond = Region.id.in_(known)
        if path:
            cond = or_(cond, Region.path.startswith(path) & Region.centre.is_(True))
        stmt6 = select(Region.id, Region.code, Region.name, Region.level).where(cond)
        for c in conn.execute(stmt6):
            out[c.id] = {
                "key": c.id,
                "id": c.id,
                "code": c.code,
                "name": c.name,
                "level": c.level,
            }
    elif by == "level":
        top = scope_level(p)
        for name, code in LEVEL_CODES.items():
            if code in known or top is None or code >= LEVEL_CODES[top]:
                zh, en = LEVEL_LABELS[Level(name)]
                out[code] = {"key": code, "code": str(code), "level": name, "name": zh, "en": en}
    elif known and by == "department":
        stmt3 = select(Department.id, Department.code, Department.name).where(
            Department.id.in_(known)
        )
        for r in conn.execute(stmt3):
            out[r.id] = {"key": r.id, "id": r.id, "code": r.code, "name": r.name}
    elif known and by == "category":
        stmt4 = select(Category.id, Category.code, Category.name).where(Category.id.in_(known))
        for r in conn.execute(stmt4):
            out[r.id] = {"key": r.id, "id": r.id, "code": r.code, "name": r.name}
    elif known and by == "worker":
        stmt5 = select(User.id, User.username, User.display_name).where(User.id.in_(known))
        for r in conn.execute(stmt5):
            out[r.id] = {
                "key": r.id,
                "id": r.id,
                "username": r.username,
                "name": r.display_name or r.username,
            }
    return out


def ordered_keys(p: Plan, keys: list[Any], labels: dict[Any, dict[str, Any]]) -> list[Any]:
    """Buckets in time order; other groups by code (or name), the "none" group last."""
    every = list(dict.fromkeys([*labels, *keys]))
    if p.query.by in ("week", "month"):
        order = {b.key: n for n, b in enumerate(p.buckets)}
        return sorted((k for k in every if k in order), key=order.__getitem__)

    def sort_key(k: Any) -> tuple[int, str, str]:
        if k is None:
            return (1, "", "")
        lab = labels.get(k, {})
        code = str(lab.get("code") or "")
        return (0, code.zfill(24), str(k).zfill(24))

    return sorted(every, key=sort_key)
