"""``flask cases sweep``: raise the automatic 督办 cards due now (docs/operations.md).

Idempotent and safe to run every minute from cron or a systemd timer, on several hosts at once
(server/usecases/stages.py says how). Sweeps again while a sweep used up its batch of cards
(a backlog), each batch its own transaction. Prints one line, or JSON with ``--format json``.
"""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import AppGroup

from server.api.util import context
from server.usecases import stages

group = AppGroup("cases", help="案件 / cases: the 督办 sweep")


@group.command("sweep")
@click.option("--now", "at", help="sweep as of this ISO moment (tests, catching up); default now")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def sweep(at: str | None, fmt: str) -> None:
    """Raise yellow and red 督办 cards on stages overdue by their thresholds."""
    ctx = context()
    if at:
        try:
            moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(
                "ISO 8601, e.g. 2026-10-09T09:00+08:00", param_hint="--now"
            ) from None
        if moment.tzinfo is None:
            raise click.BadParameter("needs a time zone offset", param_hint="--now")
        ctx.clock = lambda: moment
    result = stages.sweep(ctx)
    while result.full:  # a backlog: the next batch, in a transaction of its own
        more = stages.sweep(ctx)
        result.yellow, result.red = result.yellow + more.yellow, result.red + more.red
        result.filled += more.filled
        result.full = more.full and not more.skipped
    if fmt == "json":
        click.echo(json.dumps(result.to_json()))
    elif result.skipped:
        click.echo("another sweep is running: skipped")
    else:
        click.echo(
            f"{result.yellow} yellow card(s), {result.red} red card(s), "
            f"{result.filled} stage due time(s) filled"
        )
