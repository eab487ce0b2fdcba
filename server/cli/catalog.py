"""``flask catalog seed``: the standard departments and categories."""

from __future__ import annotations

import click

from server.catalog_seed import seed_catalog
from server.extensions import db


@click.group("catalog", help="部门与类别 / departments and categories")
def group() -> None:
    pass


@group.command("seed")
def seed() -> None:
    """Add the standard departments and categories that are missing."""
    session = db()
    deps, cats = seed_catalog(session)
    session.commit()
    click.echo(f"added {deps} departments and {cats} categories")
