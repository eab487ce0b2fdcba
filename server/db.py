"""Engine and session handling (plain SQLAlchemy 2; no Flask here)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

T = TypeVar("T")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def redact(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<malformed database URL>"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA synchronous=NORMAL")
    # 32 MiB of page cache per connection (SQLite's default is 2 MiB): a county's indexes of
    # random keys (the keyed hashes of identity numbers) are read and written at random, and a
    # bulk import was disk-bound at the default (allocated as used, not up front).
    cur.execute("PRAGMA cache_size=-32768")
    cur.close()


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    url = normalise_url(str(url) if isinstance(url, str) else url.render_as_string(False))
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        if "poolclass" not in kwargs:
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 20)
        engine = create_engine(url, **kwargs)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def is_postgres(engine_or_session: Engine | Session) -> bool:
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    return bind.dialect.name == "postgresql"


# --- rows written or read with Core, held by a session as if its ORM had done it ---------------
# (issue 13: on the hot paths, a report and the sign-in check of every request, the ORM's unit
# of work and its loading of a row cost more than the statements themselves)


def new_row(model: type[T], values: dict[str, Any]) -> T:
    """A transient ``model`` object with every column set from ``values`` by column name (one
    not given: its scalar default, else None), set without attribute events. With every column
    set, :func:`as_loaded` leaves nothing for a later access to load."""
    obj = model.__mapper__.class_manager.new_instance()  # type: ignore[attr-defined]
    state = obj.__dict__
    for column in model.__table__.c:  # type: ignore[attr-defined]
        if column.key in values:
            state[column.key] = values[column.key]
        else:
            default = column.default
            state[column.key] = default.arg if default is not None and default.is_scalar else None
    return obj  # type: ignore[no-any-return]


def row_values(obj: Any) -> dict[str, Any]:
    """The column values of an object made by :func:`new_row`, by column name (for an INSERT)."""
    state = obj.__dict__
    return {column.key: state[column.key] for column in type(obj).__table__.c}


def as_loaded(session: Session, obj: T) -> T:
    """Hold ``obj`` (made by :func:`new_row`, its row in the database) in ``session`` as if
    the session had loaded it: persistent, in the identity map, no pending changes;
    relationships load on first access. When the session already holds that row, its object
    is answered instead (as a query would)."""
    make_transient_to_detached(obj)
    key = obj._sa_instance_state.key  # type: ignore[attr-defined]
    held = session.identity_map.get(key)
    if held is not None:
        return held  # type: ignore[no-any-return]
    session.add(obj)
    return obj
