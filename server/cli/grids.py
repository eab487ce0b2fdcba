"""``flask grids validate|import|publish|list``: a stable contract for scripts.

``validate`` prints ``{"features": N, "valid": bool, "errors": [...], "warnings": [...],
"codes": [...]}`` with ``--format json``; exit status 0 when valid, 1 when not, 2 when the file
cannot be read.

A code the file supplies is never rewritten silently: a malformed or duplicated one is an error.
``--renumber`` replaces them instead, each replacement a ``code_renumbered`` warning and a line
``{"old", "new", "reason", ...}`` of ``codes`` (docs/geo.md, "Grid codes").
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from geo.errors import GeoError
from server.extensions import db
from server.models import GridPlan, Region
from server.usecases.grid_plan_versions import PlanError, check_plan, publish, store_plan

group = AppGroup("grids", help="网格方案 / grid plans")


def _options(fn: Any) -> Any:
    fn = click.option(
        "--renumber",
        is_flag=True,
        help="replace malformed and duplicated codes with new numbers (each one reported)",
    )(fn)
    fn = click.option("--make-valid", is_flag=True, help="repair invalid geometry (reported)")(fn)
    fn = click.option(
        "--gap-width",
        "gap_width",
        type=float,
        default=0.0,
        show_default=True,
        help="ignore gaps narrower than this many metres (slivers)",
    )(fn)
    fn = click.option("--crs", help="EPSG:4326, EPSG:4490, EPSG:4513..4554 or gcj02")(fn)
    fn = click.option(
        "--boundaries",
        type=click.Path(dir_okay=False),
        help="community boundaries (default: those in the database)",
    )(fn)
    fn = click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text")(fn)
    return click.argument("path", type=click.Path(dir_okay=False))(fn)


def _print(report: dict[str, Any], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    state = "有效 / valid" if report["valid"] else "无效 / invalid"
    click.echo(f"{report['features']} features: {state}")
    for label, items in (("ERROR", report["errors"]), ("warning", report["warnings"])):
        for p in items:
            click.echo(f"  {label} {p['kind']}: {p['message']}")
    codes = report.get("codes", [])
    if codes:
        given = sum(1 for c in codes if c["reason"] == "missing")
        again = sum(1 for c in codes if c["source"] == "previous_plan")
        click.echo(
            f"codes: {given} given to grids without one, {len(codes) - given} renumbered "
            f"({again} taken from the active plan)"
        )
        for c in codes:
            if c["reason"] != "missing":
                click.echo(f"  renumbered {c['feature']}: {c['old']} -> {c['new']} ({c['reason']})")


def _check(
    path: str,
    boundaries: str | None,
    crs: str | None,
    gap: float,
    make_valid: bool,
    fmt: str,
    renumber: bool = False,
) -> Any:
    try:
        return check_plan(
            db(),
            path,
            boundaries=boundaries,
            crs=crs,
            gap_width_m=gap,
            make_valid=make_valid,
            renumber=renumber,
        )
    except GeoError as exc:
        if fmt == "json":
            click.echo(json.dumps({"error": "unreadable", "message": str(exc)}, ensure_ascii=False))
        else:
            click.echo(f"错误 / error: {exc}", err=True)
        sys.exit(2)


@group.command("validate")
@_options
def validate(
    path: str,
    fmt: str,
    boundaries: str | None,
    crs: str | None,
    gap_width: float,
    make_valid: bool,
    renumber: bool,
) -> None:
    """Validate a grid plan file against the community boundaries."""
    check = _check(path, boundaries, crs, gap_width, make_valid, fmt, renumber)
    _print(check.report.to_dict(), fmt)
    sys.exit(0 if check.report.valid else 1)


@group.command("import")
@_options
@click.option("--publish", "do_publish", is_flag=True, help="make it the active plan at once")
def import_(
    path: str,
    fmt: str,
    boundaries: str | None,
    crs: str | None,
    gap_width: float,
    make_valid: bool,
    renumber: bool,
    do_publish: bool,
) -> None:
    """Validate, code and store a plan as a new version (and publish it with --publish)."""
    check = _check(path, boundaries, crs, gap_width, make_valid, fmt, renumber)
    report = check.report.to_dict()
    session = db()
    if not check.report.valid:
        _print(report, fmt)
        click.echo("方案有错误，未保存 / the plan has errors: nothing stored", err=True)
        sys.exit(1)
    try:
        plan = store_plan(session, check)
        if do_publish:
            publish(session, plan)
        session.commit()
    except PlanError as exc:
        session.rollback()
        click.echo(f"错误 / error: {exc}", err=True)
        sys.exit(1)
    report["plan"] = {"id": plan.id, "version": plan.version, "status": plan.status}
    _print(report, fmt)
    if fmt == "text":
        click.echo(f"stored plan version {plan.version} ({plan.status})")


@group.command("publish")
@click.argument("plan_id", type=int)
def publish_cmd(plan_id: int) -> None:
    """Publish a stored draft plan."""
    session = db()
    plan = session.get(GridPlan, plan_id)
    if plan is None:
        raise click.ClickException(f"no plan {plan_id}")
    try:
        publish(session, plan)
        session.commit()
    except PlanError as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"plan {plan.id} (version {plan.version}) is active")


@group.command("list")
def list_plans() -> None:
    """List plan versions."""
    session = db()
    for plan in session.scalars(select(GridPlan).order_by(GridPlan.id)):
        region = session.get(Region, plan.region_id)
        name = region.name if region else "?"
        click.echo(f"{plan.id:4d}  {name} v{plan.version:<3d} {plan.status:8s} {plan.source_name}")
