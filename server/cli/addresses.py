"""``flask addresses reindex|search``: the address-search index (server/usecases/address_search.py).

``reindex`` rebuilds the tokens of every place (after a restore, or on a database whose places
were stored before migration 0011) and refreshes the planner's statistics of the rebuilt table;
``search`` prints what the hotline would find, as JSON.
"""

from __future__ import annotations

import json
import time

import click
from flask.cli import AppGroup

from server.domain import workflow as wf
from server.extensions import db
from server.usecases import address_search
from server.usecases.context import Actor

group = AppGroup("addresses", help="地址检索索引 / the address-search index")


@group.command("reindex")
def reindex() -> None:
    """Rebuild the address-search tokens of every place, then their planner statistics."""
    session = db()
    started = time.perf_counter()
    rows = address_search.reindex_all(session)
    session.commit()
    click.echo(f"{rows} tokens in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    statement = address_search.refresh_statistics(session)
    click.echo(f"{statement} in {time.perf_counter() - started:.1f} s")


@group.command("search")
@click.argument("words")
@click.option("--limit", default=10, show_default=True)
def search(words: str, limit: int) -> None:
    """Search as an admin (every jurisdiction) and print the hits as JSON."""
    hits = address_search.search(db(), Actor.system(wf.Role.ADMIN), words, limit)
    click.echo(json.dumps(hits, ensure_ascii=False, indent=2))
