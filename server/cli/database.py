"""``flask db upgrade|downgrade|current|check``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from server import migrate
from server.extensions import settings

group = AppGroup("db", help="数据库迁移 / database migrations (Alembic)")


@group.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Migrate the schema up to REVISION (default: head)."""
    migrate.upgrade(settings().database_url, revision)
    current_app.extensions["wangge.schema_guard"].reset()
    click.echo(f"schema at {migrate.current_revision(current_app.extensions['wangge.engine'])}")


@group.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Migrate the schema down to REVISION (e.g. -1 or base)."""
    migrate.downgrade(settings().database_url, revision)
    click.echo(f"schema at {migrate.current_revision(current_app.extensions['wangge.engine'])}")


@group.command("current")
def current() -> None:
    """Print the schema revision and the newest one."""
    click.echo(f"current: {migrate.current_revision(current_app.extensions['wangge.engine'])}")
    click.echo(f"head:    {migrate.head_revision()}")


@group.command("check")
def check() -> None:
    """Exit 1 if the models and the migrated schema differ."""
    diff = migrate.diff_models(current_app.extensions["wangge.engine"])
    for d in diff:
        click.echo(repr(d))
    if diff:
        raise SystemExit(1)
    click.echo("models and migrations agree")
