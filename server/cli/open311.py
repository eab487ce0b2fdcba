"""``flask open311 create-key|revoke-key|list-keys``: the API keys Open311 clients file with."""

from __future__ import annotations

import getpass
import os

import click
from flask.cli import AppGroup
from sqlalchemy import select

from server.extensions import db, settings
from server.models.geography import Region
from server.models.open311 import ApiKey
from server.open311 import keys

group = AppGroup("open311", help="Open311 API keys / 管理 Open311 接口密钥")


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "")


@group.command("create-key")
@click.argument("name")
@click.option(
    "--region",
    help="county (or town) code the key files into when a location is in no grid, e.g. 640181",
)
@click.option("--by", "created_by", default=None, help="who asked for it (default: OS user)")
def create_key(name: str, region: str | None, created_by: str | None) -> None:
    """Make a key called NAME and print it (once: only its SHA-256 is kept)."""
    session = db()
    place = None
    if region:
        place = session.scalar(select(Region).where(Region.code == region.ljust(12, "0")))
        if place is None:
            raise click.BadParameter(f"no region with code {region}", param_hint="--region")
    try:
        row, raw = keys.create(session, name, created_by or _who(), place)
    except keys.KeyProblem as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(raw)
    click.echo(
        f"created Open311 key {row.name!r}"
        + (f" for {place.name} ({place.code})" if place else "")
        + ". Store it now: it cannot be shown again / 请立即妥善保存，之后无法再次显示",
        err=True,
    )
    if not settings().open311_jurisdiction:
        click.echo("(WANGGE_OPEN311_JURISDICTION is not set: jurisdiction_id is ignored)", err=True)


@group.command("revoke-key")
@click.argument("name")
def revoke_key(name: str) -> None:
    """Revoke the key called NAME: POSTs with it are refused from now on."""
    session = db()
    try:
        row = keys.revoke(session, name)
    except keys.KeyProblem as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"revoked Open311 key {row.name!r} at {row.revoked_at:%Y-%m-%d %H:%M:%S} UTC")


@group.command("list-keys")
def list_keys() -> None:
    """List the keys (names and dates; the keys themselves are not stored)."""
    session = db()
    rows = list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
    if not rows:
        click.echo("no Open311 keys")
        return
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
        where = f"{row.region.code} {row.region.name}" if row.region else "-"
        click.echo(
            f"{row.name:24s} {state:18s} created {row.created_at:%Y-%m-%d} "
            f"by {row.created_by or '-':12s} region {where}"
        )
