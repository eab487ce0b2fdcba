"""``flask --app wsgi …`` commands for what admins script."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from server.cli import catalog, database, demo, grids, metrics, open311, users

    app.cli.add_command(database.group)
    app.cli.add_command(grids.group)
    app.cli.add_command(catalog.group)
    app.cli.add_command(users.group)
    app.cli.add_command(demo.group)
    app.cli.add_command(open311.group)
    app.cli.add_command(metrics.group)
