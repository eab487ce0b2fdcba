"""``flask metrics export|show|check|rebuild`` (docs/metrics.md, "CLI").

The CLI acts for an administrator: no jurisdiction is added; narrow with ``--scope``.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from server.domain import metric_definitions as md
from server.extensions import db, settings
from server.metrics import export, projection, scorecards
from server.metrics.counting import compute_plan
from server.metrics.planning import QueryError, plan
from server.metrics.service import query_from_args, scope_json
from server.usecases.context import calendar_from

group = AppGroup("metrics", help="督查统计 / supervisor metrics")


def _options(fn):  # type: ignore[no-untyped-def]
    for option in reversed(
        [
            click.option("--period", help="a month, YYYY-MM (or --from/--to)"),
            click.option("--from", "start", help="first day, YYYY-MM-DD"),
            click.option("--to", "end", help="last day, YYYY-MM-DD"),
            click.option("--as-of", "as_of", help="ISO moment or date (its end); default now"),
            click.option(
                "--scope",
                "scopes",
                multiple=True,
                help="region:CODE, grid:CODE, department:ID, category:CODE, worker:ID",
            ),
            click.option("--by", type=click.Choice(md.GROUP_BYS), help="grouping"),
        ]
    ):
        fn = option(fn)
    return fn


def _query_args(
    period: str | None, start: str | None, end: str | None, as_of: str | None, by: str | None
) -> dict[str, str | None]:
    return {"period": period, "from": start, "to": end, "as_of": as_of, "by": by}


@group.command("export")
@_options
@click.option(
    "--report",
    type=click.Choice(["metrics", "department", "worker"]),
    default="metrics",
    show_default=True,
    help="the metrics table, or a scorecard",
)
@click.option(
    "--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True
)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), required=True)
def export_cmd(
    period: str | None,
    start: str | None,
    end: str | None,
    as_of: str | None,
    scopes: tuple[str, ...],
    by: str | None,
    report: str,
    fmt: str,
    out: str,
) -> None:
    """Write the monthly report (.xlsx with the definitions sheet, or .csv with a BOM)."""
    cfg = settings()
    cal = calendar_from(cfg.office_hours, cfg.timezone, db())
    conn = db().connection()
    try:
        q = query_from_args(_query_args(period, start, end, as_of, by), list(scopes), cal)
        if report == "metrics":
            p = plan(conn, q, cal)
            result = compute_plan(conn, p, cal)
            table = export.metrics_table(result, scope_json(p.filters), cfg.timezone)
        else:
            result, cards, _ = scorecards.scorecards(conn, report, q, cal)  # type: ignore[arg-type]
            table = export.scorecard_table(
                report,
                [scorecards.card_json(c) for c in cards],
                result,
                scope_json(result.plan.filters),
                cfg.timezone,
            )
    except QueryError as err:
        raise click.UsageError(err.message) from None
    data = export.to_xlsx(table) if fmt == "xlsx" else export.to_csv(table)
    Path(out).write_bytes(data)
    click.echo(f"{out}: {len(table.rows)} rows, as of {result.plan.as_of.isoformat()}")


@group.command("show")
@_options
def show(
    period: str | None,
    start: str | None,
    end: str | None,
    as_of: str | None,
    scopes: tuple[str, ...],
    by: str | None,
) -> None:
    """Print the main figures in the terminal."""
    cfg = settings()
    cal = calendar_from(cfg.office_hours, cfg.timezone, db())
    conn = db().connection()
    try:
        q = query_from_args(_query_args(period, start, end, as_of, by), list(scopes), cal)
        result = compute_plan(conn, plan(conn, q, cal), cal)
    except QueryError as err:
        raise click.UsageError(err.message) from None
    keys = [
        "reported",
        "accepted",
        "due",
        "closed",
        "closure_rate",
        "on_time_closure_rate",
        "overdue_open",
        "satisfaction_rate",
        "avg_handling_hours",
    ]
    names = [md.METRIC_BY_KEY[k].zh for k in keys]
    click.echo("\t".join(["", *names]))

    def fmt(v: object) -> str:
        if v is None:
            return "-"
        return f"{v:.2%}" if isinstance(v, float) and v <= 1 else str(v)

    for g in result.groups:
        click.echo("\t".join([str(g.label.get("name")), *(fmt(g.values[k]) for k in keys)]))
    click.echo("\t".join(["合计", *(fmt(result.total[k]) for k in keys)]))


@group.command("check")
def check() -> None:
    """Compare metric_events with a fresh fold of the trail; exit 1 if they differ."""
    problems = projection.check(db().connection())
    if problems:
        for p in problems[:20]:
            click.echo(f"{p['problem']}: event {p['event_id']} (case {p['incident_id']})")
        raise SystemExit(1)
    click.echo("metric_events agrees with incident_events")


@group.command("rebuild")
def rebuild() -> None:
    """Fold the whole trail into metric_events again (in one transaction)."""
    session = db()
    count = projection.rebuild(session.connection())
    session.commit()
    click.echo(f"metric_events rebuilt: {count} rows")
