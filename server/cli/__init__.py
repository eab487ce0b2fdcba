"""``flask --app wsgi …`` commands for what admins script.

Every command but ``flask db …`` needs the migrated schema: on a database that is not at the
newest migration it stops with one clear line (run ``flask --app wsgi db upgrade``) and exit
status 3, before touching anything, instead of a traceback.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo
from sqlalchemy.exc import SQLAlchemyError

from server import migrate
from server.db import redact

#: Exit status when the database is not migrated (0, 1 and 2 keep their meaning per command).
EXIT_SCHEMA = 3


class SchemaNotReady(click.ClickException):
    exit_code = EXIT_SCHEMA


def require_schema() -> None:
    """Raise ``SchemaNotReady`` unless the database answers and is at the newest migration."""
    engine = current_app.extensions["wangge.engine"]
    where = redact(str(current_app.extensions["wangge.settings"].database_url))
    try:
        current = migrate.current_revision(engine)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:300]
        raise SchemaNotReady(
            f"无法读取数据库 / cannot read the database at {where}: {reason}"
        ) from None
    head = migrate.head_revision()
    if current is None:
        raise SchemaNotReady(
            f"数据库尚未建表 / the database at {where} has no schema yet: "
            "run `flask --app wsgi db upgrade` first"
        )
    if current != head:
        raise SchemaNotReady(
            f"数据库结构版本为 {current}，本程序需要 {head} / the schema is at {current}, "
            f"this version needs {head}: run `flask --app wsgi db upgrade` first"
        )


def _needs_schema(command: click.Command) -> None:
    """Check the schema before ``command`` runs (after its options are parsed: ``--help``
    still works on an empty database)."""
    inner = command.callback
    assert inner is not None

    @functools.wraps(inner)
    def checked(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        if not current_app:
            ctx.with_resource(ctx.ensure_object(ScriptInfo).load_app().app_context())
        try:
            require_schema()
        except SchemaNotReady as exc:
            if kwargs.get("fmt") == "json":  # scripts reading --format json get JSON
                message = exc.format_message()
                click.echo(json.dumps({"error": "schema", "message": message}, ensure_ascii=False))
            raise
        return inner(*args, **kwargs)

    command.callback = checked


def register(app: Flask) -> None:
    from server.cli import (
        addresses,
        calendar,
        cases,
        catalog,
        database,
        datakey,
        demo,
        fieldwork,
        grids,
        metrics,
        open311,
        uploads,
        users,
    )

    app.cli.add_command(database.group)
    groups = (
        grids.group, catalog.group, users.group, demo.group, open311.group, addresses.group,
        datakey.group,
    )  # fmt: skip
    for group in groups:
        _guard(group)
        app.cli.add_command(group)
    _guard(metrics.group)
    app.cli.add_command(metrics.group)
    _guard(calendar.group)
    app.cli.add_command(calendar.group)
    _guard(cases.group)
    app.cli.add_command(cases.group)
    _guard(fieldwork.group)
    app.cli.add_command(fieldwork.group)
    _guard(uploads.group)
    app.cli.add_command(uploads.group)


def _guard(group: AppGroup) -> None:
    for command in group.commands.values():
        if not getattr(command, "_wangge_schema_checked", False):
            _needs_schema(command)
            command._wangge_schema_checked = True  # type: ignore[attr-defined]
