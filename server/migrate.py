"""Run Alembic migrations from code (the CLI, the tests and ``make`` use this)."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from server.config import ROOT
from server.db import normalise_url


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # Alembic's ini interpolation treats % specially.
    cfg.set_main_option("sqlalchemy.url", normalise_url(database_url).replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Objects the model comparison ignores: PostGIS's own tables and our PG-only GIST indexes."""
    if type_ == "table" and name in {"spatial_ref_sys", "alembic_version"}:
        return False
    return not (type_ == "index" and name is not None and name.startswith("gix_"))


def diff_models(bind: Engine | Connection) -> list[Any]:
    """Differences between the models and the migrated schema: empty when they agree.

    Given a connection, it compares inside that connection's transaction (so a test can alter
    the schema, compare, and roll back)."""
    from server.models import Base

    if isinstance(bind, Connection):
        return _compare(bind, Base.metadata)
    with bind.connect() as conn:
        return _compare(conn, Base.metadata)


def _compare(conn: Connection, metadata: Any) -> list[Any]:
    ctx = MigrationContext.configure(
        conn,
        opts={"compare_type": True, "include_object": include_object},
    )
    return list(compare_metadata(ctx, metadata))
