"""``flask fieldwork purge``: delete patrol positions older than the retention period
(``WANGGE_TRACK_RETENTION_DAYS``, default 180; docs/field-work.md, "Patrols and tracks").

The patrols and their summaries (distance, duration, coverage) stay, so work logs and the
assessment still count them; the positions themselves, and each old patrol's start position,
are gone. Safe to run daily from cron or a systemd timer. Prints one line, or JSON.
"""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from server.extensions import db, settings
from server.models.types import utcnow
from server.usecases import track_retention

group = AppGroup("fieldwork", help="外勤 / field work: the retention of GPS tracks")


@group.command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=1, max=36500),  # as WANGGE_TRACK_RETENTION_DAYS (server/config.py)
    help="keep this many days (1–36500) instead of WANGGE_TRACK_RETENTION_DAYS",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def purge(days: int | None, fmt: str) -> None:
    """Delete the GPS positions of patrols older than the retention period."""
    keep = days or settings().track_retention_days
    done = track_retention.purge(db(), utcnow(), keep)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "points": done.points,
                    "patrols": done.patrols,
                    "before": done.before.isoformat(),
                    "days": keep,
                }
            )
        )
    else:
        click.echo(
            f"{done.points} position(s) older than {keep} days deleted "
            f"(before {done.before.isoformat()}); {done.patrols} patrol start position(s) cleared"
        )
