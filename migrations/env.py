"""Alembic environment: the models' metadata and the database's URL.

``server.migrate`` (``flask db …``, the tests) sets the URL; the plain ``alembic`` command (which
reads alembic.ini) takes the app's own: WANGGE_DATABASE_URL, else the SQLite file in the
instance directory.
"""

from __future__ import annotations

from alembic import context

from server.config import Settings
from server.db import make_engine, normalise_url
from server.migrate import include_object
from server.models import Base

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    if config.config_file_name is None:  # server.migrate.alembic_config
        url = config.get_main_option("sqlalchemy.url")
        assert url
        return url
    return normalise_url(Settings.from_env().database_url)


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        include_object=include_object,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(database_url(), poolclass=__import__("sqlalchemy.pool").pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            compare_type=True,
            render_as_batch=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
