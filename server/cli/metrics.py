"""``flask metrics export|show|check|rebuild`` (docs/metrics.md, "CLI").

The CLI acts for an administrator: no jurisdiction is added; narrow with ``--scope``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast

import click
from flask.cli import AppGroup
from sqlalchemy.engine import Connection

from server.domain import metric_definitions as md
from server.domain import workflow as wf
from server.domain.scorecards import SCORECARD_KINDS
from server.domain.worktime import WorkCalendar
from server.extensions import db, settings
from server.metrics import export, projection
from server.metrics.counting import compute_plan
from server.metrics.planning import MetricsQuery, QueryError, plan
from server.metrics.service import query_from_args, report_table
from server.usecases.context import calendar_from

F = TypeVar("F", bound=Callable[..., Any])

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


def _question(
    period: str | None,
    start: str | None,
    end: str | None,
    as_of: str | None,
    by: str | None,
    scopes: tuple[str, ...],
) -> tuple[WorkCalendar, Connection, MetricsQuery]:
    """The calendar, the connection and the question of the command's options."""
    cfg = settings()
    cal = calendar_from(cfg.office_hours, cfg.timezone, db())
    args = {"period": period, "from": start, "to": end, "as_of": as_of, "by": by}
    return cal, db().connection(), query_from_args(args, list(scopes), cal)


def _usage_errors(fn: F) -> F:
    """A question the metrics cannot answer is a usage error of the command (exit 2)."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except QueryError as err:
            raise click.UsageError(err.message) from None

    return cast(F, wrapper)


@group.command("export")
@_options
@_usage_errors
@click.option(
    "--report",
    type=click.Choice(["metrics", *SCORECARD_KINDS]),
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
    cal, conn, q = _question(period, start, end, as_of, by, scopes)
    table, result = report_table(conn, report, q, cal, settings().timezone)
    data = export.to_xlsx(table) if fmt == "xlsx" else export.to_csv(table)
    Path(out).write_bytes(data)
    click.echo(f"{out}: {len(table.rows)} rows, as of {result.plan.as_of.isoformat()}")


@group.command("show")
@_options
@_usage_errors
def show(
    period: str | None,
    start: str | None,
    end: str | None,
    as_of: str | None,
    scopes: tuple[str, ...],
    by: str | None,
) -> None:
    """Print the main figures in the terminal."""
    cal, conn, q = _question(period, start, end, as_of, by, scopes)
    result = compute_plan(conn, plan(conn, q, cal), cal)
    keys = [
        wf.State.REPORTED,
        wf.State.ACCEPTED,
        "due",
        wf.State.CLOSED,
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
