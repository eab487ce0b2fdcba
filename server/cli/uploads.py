"""``flask uploads expire``: delete the unfinished photo uploads idle for
``WANGGE_UPLOAD_EXPIRY_DAYS`` (default 7) with their piece files (docs/operations.md,
"Uploads").

The app does it itself at most hourly (its sweep, ``WANGGE_APP_SWEEP_SECONDS``); run this from
cron or a systemd timer where that sweep is off. Safe to run at once on several hosts: an upload
that took a piece or a resume meanwhile stays (server/usecases/pending_uploads.py). Finished
photos are never touched. Prints one line, or JSON with ``--format json``.
"""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from server.api.util import context
from server.usecases import pending_uploads

group = AppGroup("uploads", help="照片上传 / photo uploads: the expiry of unfinished ones")


@group.command("expire")
@click.option(
    "--days",
    type=click.IntRange(min=1, max=3650),  # as WANGGE_UPLOAD_EXPIRY_DAYS (server/config.py)
    help="expire uploads idle this many days (1–3650) instead of WANGGE_UPLOAD_EXPIRY_DAYS",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def expire(days: int | None, fmt: str) -> None:
    """Delete the unfinished uploads idle for the expiry period, and their piece files."""
    ctx = context()
    keep = days or ctx.upload_expiry_days
    done = pending_uploads.expire(ctx, keep)
    before = done.before.isoformat() if done.before else None
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "uploads": done.uploads,
                    "received_bytes": done.received_bytes,
                    "stray_files": done.stray_files,
                    "before": before,
                    "days": keep,
                }
            )
        )
    else:
        click.echo(
            f"{done.uploads} unfinished upload(s) idle for {keep} days deleted (before {before}, "
            f"{done.received_bytes} bytes); {done.stray_files} stray piece file(s) deleted"
        )
