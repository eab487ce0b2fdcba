"""``flask demo seed``: a demo county to try the product with."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.extensions import db, settings

group = AppGroup("demo", help="演示数据 / demo data")


@group.command("seed")
@click.option("--if-empty", is_flag=True, help="do nothing when the database has users already")
@click.option("--seed", "rng_seed", default=20261123, show_default=True)
def seed(if_empty: bool, rng_seed: int) -> None:
    """Create the demo county, its grids, departments, categories, users, cases and base data."""
    from server.demo import seed_demo

    try:
        cfg = settings()
        out = seed_demo(
            db(),
            if_empty=if_empty,
            seed=rng_seed,
            upload_dir=cfg.upload_dir,
            data_key_text=cfg.data_key,
        )
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(out)
