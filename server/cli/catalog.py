"""``flask catalog seed``: the standard departments and categories."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.catalog_seed import seed_catalog
from server.extensions import db

group = AppGroup("catalog", help="部门与类别 / departments and categories")


@group.command("seed")
def seed() -> None:
    """Add the standard departments and categories that are missing."""
    session = db()
    deps, cats = seed_catalog(session)
    session.commit()
    click.echo(f"added {deps} departments and {cats} categories")
