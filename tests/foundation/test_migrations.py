"""The schema is made by migrations only; models and migrations must agree on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import inspect, select
from sqlalchemy.pool import NullPool

from server import migrate
from server.db import make_engine, make_session_factory
from server.models import Base, Region


def test_models_match_migrations(db_url: str) -> None:
    engine = make_engine(db_url, poolclass=NullPool)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert migrate.diff_models(engine) == []
    finally:
        engine.dispose()


def test_diff_detects_a_missing_column(db_url: str) -> None:
    """The comparison is not vacuous: a column dropped behind Alembic's back is reported.

    The column is dropped inside a transaction that is rolled back (DDL is transactional on
    both databases): the PostgreSQL database is shared by the whole run, and a column left
    dropped failed every later sign-in on it."""
    engine = make_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            conn.exec_driver_sql("ALTER TABLE login_attempts DROP COLUMN success")
            diff = migrate.diff_models(conn)
            trans.rollback()
        assert any("success" in repr(d) for d in diff), diff
        if engine.dialect.name == "postgresql":  # pysqlite commits DDL at once; its copy is ours
            assert migrate.diff_models(engine) == [], "the shared database was left altered"
    finally:
        engine.dispose()


def test_up_down_up(tmp_path: Path, empty_db_url: str) -> None:
    """Up, all the way down, and up again, on a database of its own (not the shared one)."""
    migrate.upgrade(empty_db_url)
    migrate.downgrade(empty_db_url, "base")
    engine = make_engine(empty_db_url, poolclass=NullPool)
    try:
        tables = set(inspect(engine).get_table_names())
        assert not tables & set(Base.metadata.tables), tables
        migrate.upgrade(empty_db_url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        assert migrate.diff_models(engine) == []
    finally:
        engine.dispose()


def test_geometry_round_trip(db_url: str) -> None:
    engine = make_engine(db_url, poolclass=NullPool)
    sessions = make_session_factory(engine)
    shape = MultiPolygon([box(106.123456789, 38.1, 106.2, 38.2)])
    with sessions() as db:
        db.add(Region(code="640181000000", name="灵武市", level="county", path="/", boundary=shape))
        db.commit()
    with sessions() as db:
        got = db.scalar(select(Region.boundary))
        assert got is not None
        assert got.equals_exact(shape, 1e-12)
        assert not got.contains(Point(106.0, 38.0))
    engine.dispose()


def test_postgis_column_is_real_geometry(pg_clean_url: str) -> None:
    """On PostgreSQL the columns are PostGIS geometry with a GIST index, usable in SQL."""
    engine = make_engine(pg_clean_url, poolclass=NullPool)
    sessions = make_session_factory(engine)
    with sessions() as db:
        db.add(
            Region(
                code="640181000000",
                name="灵武市",
                level="county",
                path="/",
                boundary=MultiPolygon([box(106, 38, 107, 39)]),
            )
        )
        db.commit()
    with engine.connect() as conn:
        kind = conn.exec_driver_sql(
            "SELECT GeometryType(boundary), ST_SRID(boundary) FROM regions"
        ).one()
        inside = conn.exec_driver_sql(
            "SELECT count(*) FROM regions WHERE ST_Contains(boundary, "
            "ST_SetSRID(ST_MakePoint(106.5, 38.5), 4326))"
        ).scalar()
        indexes = {
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'gix_%%'"
            )
        }
    engine.dispose()
    assert tuple(kind) == ("MULTIPOLYGON", 4326)
    assert inside == 1
    assert indexes >= {"gix_regions_boundary", "gix_grids_geom", "gix_incidents_location"}
    # Trigram and pattern indexes for the queue's search (migration 0004).
    assert indexes >= {"gix_incidents_description_trgm", "gix_incidents_number_pattern"}


def test_the_alembic_command_migrates_the_database_of_wangge_database_url(tmp_path: Path) -> None:
    """``alembic upgrade head`` run by hand migrates WANGGE_DATABASE_URL's database, as the app
    and ``flask db upgrade`` do (it used to migrate alembic.ini's instance/wangge.db instead)."""
    import os
    import subprocess
    import sys

    from tests.support import ROOT

    target = tmp_path / "chosen.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANGGE_")}
    env |= {"WANGGE_DATABASE_URL": f"sqlite:///{target}", "WANGGE_INSTANCE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    engine = make_engine(f"sqlite:///{target}", poolclass=NullPool)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def test_address_tokens_have_a_larger_statistics_sample(pg_clean_url: str) -> None:
    """Migration 0016: PostgreSQL samples 1,000 values of address_tokens.token, so the tokens an
    address search starts from get real counts (with the default 100 every token outside the
    commonest 100 was guessed alike, and the planner hashed whole posting lists)."""
    engine = make_engine(pg_clean_url, poolclass=NullPool)
    with engine.connect() as conn:
        target = conn.exec_driver_sql(
            "SELECT attstattarget FROM pg_attribute "
            "WHERE attrelid = 'address_tokens'::regclass AND attname = 'token'"
        ).scalar()
    engine.dispose()
    assert target == 1000


def test_earlier_desk_uploads_are_marked_desk(empty_db_url: str) -> None:
    """Migration 0018: photos uploaded before by dispatchers, supervisors and admins (they
    have no field app) are desk uploads; a grid worker's and a handler's (phone or desk) stay
    unstated."""
    from sqlalchemy import column, insert, table

    from server.models import Attachment, User
    from server.models.types import UTCDateTime

    migrate.upgrade(empty_db_url, "0017")
    engine = make_engine(empty_db_url, poolclass=NullPool)
    roles = ("grid_worker", "handler", "dispatcher", "supervisor", "admin")
    try:
        with engine.begin() as conn:
            for n, role in enumerate(roles):
                uid = conn.execute(
                    insert(User.__table__).values(username=f"u{n}", password_hash="-", role=role)
                ).inserted_primary_key[0]
                # the table as 0017 has it (the model's defaults name later columns)
                old_attachments = table(
                    "attachments",
                    *(column(c) for c in ("uuid", "status", "uploader_id", "total_bytes",
                                          "received_bytes", "mime", "watermarked")),
                    column("created_at", UTCDateTime()),
                )  # fmt: skip
                conn.execute(
                    insert(old_attachments).values(
                        mime="image/jpeg",
                        watermarked=False,
                        created_at=datetime.now(UTC),
                        uuid=f"00000000-0000-4000-8000-00000000000{n}",
                        status="ready",
                        uploader_id=uid,
                        total_bytes=1,
                        received_bytes=1,
                    )
                )
        migrate.upgrade(empty_db_url)
        with engine.connect() as conn:
            rows = conn.execute(
                select(User.role, Attachment.source).join(User, User.id == Attachment.uploader_id)
            ).all()
        assert dict(rows) == {"grid_worker": None, "handler": None, "dispatcher": "desk",
                              "supervisor": "desk", "admin": "desk"}  # fmt: skip
    finally:
        engine.dispose()


def test_unfinished_uploads_are_touched_when_they_were_begun(empty_db_url: str) -> None:
    """Migration 0020: an upload there is counts as last touched when it was begun (its
    expiry runs from then), and the unfinished ones have their partial index."""
    from sqlalchemy import column, insert, table

    from server.models import Attachment
    from server.models.types import UTCDateTime

    migrate.upgrade(empty_db_url, "0019")
    engine = make_engine(empty_db_url, poolclass=NullPool)
    begun = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            old = table(
                "attachments",
                *(column(c) for c in ("uuid", "status", "total_bytes", "received_bytes", "mime",
                                      "watermarked")),
                column("created_at", UTCDateTime()),
            )  # fmt: skip
            conn.execute(
                insert(old).values(uuid="00000000-0000-4000-8000-000000000001",
                                   status="uploading", total_bytes=10, received_bytes=5,
                                   mime="image/jpeg", watermarked=False, created_at=begun)
            )  # fmt: skip
        migrate.upgrade(empty_db_url)
        with engine.connect() as conn:
            touched = conn.execute(select(Attachment.touched_at)).scalar_one()
        assert abs(touched - begun) < timedelta(seconds=1)
        names = {i["name"] for i in inspect(engine).get_indexes("attachments")}
        assert "ix_attachments_unfinished" in names
    finally:
        engine.dispose()
