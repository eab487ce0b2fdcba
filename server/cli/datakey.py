"""``flask data-key rotate``: re-encrypt personal data under a new ``WANGGE_DATA_KEY``
(server/usecases/data_key_rotation.py; docs/operations.md, "Data key").

The new key is the app's (``WANGGE_DATA_KEY``); the old one comes from ``WANGGE_OLD_DATA_KEY``
(an environment variable, never an argument: a key on the command line stays in the shell's
history and in ``ps``), or ``--old-is-development`` when the data was stored under the public
development key.
"""

from __future__ import annotations

import os
import time

import click
from flask import current_app
from flask.cli import AppGroup

from server.extensions import db
from server.usecases import data_key_rotation
from server.usecases.personal_data import KeyError_, data_key

group = AppGroup("data-key", help="个人信息加密密钥 / the data key of personal data")


@group.command("rotate")
@click.option(
    "--old-is-development",
    is_flag=True,
    help="the data was stored under the public development key (no WANGGE_OLD_DATA_KEY)",
)
@click.option("--dry-run", is_flag=True, help="only check that the old key opens every value")
def rotate(old_is_development: bool, dry_run: bool) -> None:
    """Re-encrypt identity numbers and phones from WANGGE_OLD_DATA_KEY to WANGGE_DATA_KEY, in
    one transaction (all or nothing). Stop the app first; start it again with the new key."""
    new_text = current_app.extensions["wangge.settings"].data_key
    if not new_text:
        raise click.ClickException(
            "WANGGE_DATA_KEY is not set: set the NEW key there (the development key is public)"
        )
    old_text = os.environ.get("WANGGE_OLD_DATA_KEY", "").strip()
    if old_text and old_is_development:
        raise click.ClickException("give WANGGE_OLD_DATA_KEY or --old-is-development, not both")
    if not old_text and not old_is_development:
        raise click.ClickException(
            "set WANGGE_OLD_DATA_KEY to the key the data is stored under (or --old-is-development)"
        )
    try:
        old = data_key(old_text)
    except KeyError_ as err:
        message = str(err).replace("WANGGE_DATA_KEY", "WANGGE_OLD_DATA_KEY")
        raise click.ClickException(message) from None
    new = data_key(new_text)
    if old.enc == new.enc:
        raise click.ClickException("WANGGE_OLD_DATA_KEY is the same key as WANGGE_DATA_KEY")
    session = db()
    started = time.perf_counter()
    try:
        done = data_key_rotation.rotate(
            session,
            old,
            new,
            dry_run=dry_run,
            progress=lambda t, n: click.echo(f"  {t}: {n}", err=True) if n % 20_000 == 0 else None,
        )
    except data_key_rotation.WrongOldKey as err:
        session.rollback()
        raise click.ClickException(f"nothing changed: {err}") from None
    if dry_run:
        session.rollback()
    else:
        session.commit()
    what = ", ".join(f"{t} {n} rows ({done.values[t]} values)" for t, n in done.rows.items())
    verb = "would re-encrypt" if dry_run else "re-encrypted"
    click.echo(f"{verb}: {what} in {time.perf_counter() - started:.1f} s")
