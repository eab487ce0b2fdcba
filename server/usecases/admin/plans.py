"""Grid plans: upload (checked as a whole), list, publish.

The checking, storing and publishing themselves are :mod:`server.usecases.grid_plan_versions`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from geo.crs import parse_crs
from geo.errors import CRSError
from geo.io import SUPPORTED_SUFFIXES
from server.domain.names import name_problem
from server.models import Grid, GridPlan, Region, User
from server.usecases.admin.request_body import get_or_not_found, iso
from server.usecases.context import Actor, Context
from server.usecases.errors import Conflict, Unprocessable, ValidationFailed
from server.usecases.grid_plan_versions import PlanCheck, PlanError, check_plan, publish, store_plan

log = logging.getLogger("wangge.admin")

#: Largest grid plan file the API accepts (the blueprint enforces it on the request body).
MAX_PLAN_BYTES = 50 * 2**20
#: Widest sliver a plan upload may ask to ignore (metres).
MAX_GAP_WIDTH_M = 100.0


def plan_json(
    plan: GridPlan,
    region: Region | None,
    grids: int,
    creator: User | None,
) -> dict[str, Any]:
    report = plan.report or {}
    errors = report.get("errors") or []
    warnings = report.get("warnings") or []
    return {
        "id": plan.id,
        "region": {"id": region.id, "code": region.code, "name": region.name} if region else None,
        "version": plan.version,
        "status": plan.status,
        "source_name": plan.source_name,
        "grid_count": grids,
        "valid": bool(report.get("valid", False)),
        "error_count": len(errors) if isinstance(errors, list) else 0,
        "warning_count": len(warnings) if isinstance(warnings, list) else 0,
        "created_at": iso(plan.created_at),
        "created_by": {"id": creator.id, "display_name": creator.display_name or creator.username}
        if creator
        else None,
        "published_at": iso(plan.published_at),
        "retired_at": iso(plan.retired_at),
    }


def _plans_json(ctx: Context, plans: list[GridPlan]) -> list[dict[str, Any]]:
    ids = [p.id for p in plans]
    counts: dict[int, int] = {}
    if ids:
        counts = {
            int(pid): int(n)
            for pid, n in ctx.db.execute(
                select(Grid.plan_id, func.count())
                .where(Grid.plan_id.in_(ids))
                .group_by(Grid.plan_id)
            ).all()
        }
    regions = {p.region_id: ctx.db.get(Region, p.region_id) for p in plans}
    users = {p.created_by_id: ctx.db.get(User, p.created_by_id) for p in plans if p.created_by_id}
    return [
        plan_json(
            p,
            regions.get(p.region_id),
            counts.get(p.id, 0),
            users.get(p.created_by_id) if p.created_by_id else None,
        )
        for p in plans
    ]


def list_plans(ctx: Context) -> list[dict[str, Any]]:
    plans = list(ctx.db.scalars(select(GridPlan).order_by(GridPlan.id.desc())))
    return _plans_json(ctx, plans)


def get_plan(ctx: Context, plan_id: int) -> dict[str, Any]:
    plan = get_or_not_found(ctx, GridPlan, plan_id, "未知网格方案 / unknown grid plan")
    return {"plan": _plans_json(ctx, [plan])[0], "report": plan.report}


@dataclass
class PlanOptions:
    crs: str | None = None
    gap_width_m: float = 0.0
    make_valid: bool = False
    publish: bool = False
    renumber: bool = False  # replace malformed and duplicated codes (each one reported)

    @classmethod
    def parse(cls, form: dict[str, str]) -> PlanOptions:
        """``crs``, ``gap_width``, ``make_valid``, ``publish``, ``renumber`` from form fields."""
        fields: dict[str, str] = {}
        crs_raw = (form.get("crs") or "").strip() or None
        crs: str | None = None
        try:
            crs = parse_crs(crs_raw)
        except CRSError as exc:
            fields["crs"] = str(exc)
        gap = 0.0
        gap_raw = (form.get("gap_width") or "").strip()
        if gap_raw:
            try:
                gap = float(gap_raw)
            except ValueError:
                gap = math.nan
            if not math.isfinite(gap) or gap < 0 or gap > MAX_GAP_WIDTH_M:
                fields["gap_width"] = f"0–{MAX_GAP_WIDTH_M:g} 米 / metres"
        flags = {}
        for key in ("make_valid", "publish", "renumber"):
            raw = (form.get(key) or "").strip().lower()
            if raw in {"", "0", "false", "no", "off"}:
                flags[key] = False
            elif raw in {"1", "true", "yes", "on"}:
                flags[key] = True
            else:
                fields[key] = "1 or 0"
        if fields:
            raise ValidationFailed("选项无效 / bad options: " + ", ".join(fields), fields=fields)
        return cls(crs, gap, flags["make_valid"], flags["publish"], flags["renumber"])


def upload_suffix(filename: str) -> str:
    """The file type of an upload by its name, or a 400."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValidationFailed(
            "不支持的文件类型 / unsupported file type; 可用 / accepted: "
            + ", ".join(SUPPORTED_SUFFIXES),
            fields={"file": ", ".join(SUPPORTED_SUFFIXES)},
        )
    return suffix


def check_file_name(filename: str) -> None:
    """The upload's base name becomes the plan's ``source_name`` (lists, exports): the names'
    rule (:func:`server.domain.names.name_problem`) or a 400 naming ``file``. A NUL or a
    bidi override in it is refused, never stripped."""
    base = PureWindowsPath(PurePosixPath(filename or "").name).name.strip()
    if bad := name_problem(base):
        raise ValidationFailed("文件名不可用 / bad file name: " + bad, fields={"file": bad})


def check_upload(ctx: Context, path: Path, source_name: str, options: PlanOptions) -> PlanCheck:
    """Read, code and validate an uploaded plan file (see ``grid_plan_versions.check_plan``).
    Raises ``geo.errors.GeoError`` when unreadable."""
    check = check_plan(
        ctx.db,
        path,
        crs=options.crs,
        gap_width_m=options.gap_width_m,
        make_valid=options.make_valid,
        renumber=options.renumber,
    )
    check.source_name = source_name
    return check


@dataclass
class PlanUpload:
    plan: dict[str, Any] | None  # None: not stored (the report has errors)
    report: dict[str, Any]


def upload_plan(
    ctx: Context, actor: Actor, path: Path, source_name: str, options: PlanOptions
) -> PlanUpload:
    """Check a plan file; store it as a draft when it has no errors (and publish it when asked).

    A plan with errors stores nothing and leaves the active plan as it was."""
    check = check_upload(ctx, path, source_name, options)
    report = check.report.to_dict()
    if not check.report.valid:
        ctx.db.rollback()
        return PlanUpload(None, report)
    try:
        # The communities come from the database: nothing to upsert (parents=None).
        plan = store_plan(
            ctx.db,
            PlanCheck(check.grids, None, check.report, source_name[:300]),
            created_by=actor.id,
        )
        if options.publish:
            publish(ctx.db, plan, now=ctx.now())
        ctx.db.commit()
    except PlanError as exc:
        ctx.db.rollback()
        raise Unprocessable(str(exc), code="plan_invalid", report=report) from None
    except IntegrityError:
        ctx.db.rollback()
        raise Conflict(
            "另一个方案正在同时保存，请重试 / another plan was stored at the same time: retry",
            code="concurrent_upload",
        ) from None
    log.info(
        "admin %s stored grid plan %s (v%s, %s) from %s",
        actor.id, plan.id, plan.version, plan.status, source_name,
    )  # fmt: skip
    return PlanUpload(_plans_json(ctx, [plan])[0], report)


def publish_plan(ctx: Context, actor: Actor, plan_id: int) -> dict[str, Any]:
    plan = get_or_not_found(ctx, GridPlan, plan_id, "未知网格方案 / unknown grid plan")
    try:
        publish(ctx.db, plan, now=ctx.now())
        ctx.db.commit()
    except PlanError as exc:
        ctx.db.rollback()
        raise Conflict(str(exc), code="plan_not_publishable") from None
    log.info("admin %s published grid plan %s (v%s)", actor.id, plan.id, plan.version)
    return _plans_json(ctx, [plan])[0]
