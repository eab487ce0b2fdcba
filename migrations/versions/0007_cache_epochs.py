"""cache epochs: triggers move a topic's number when its tables change (server/cache.py)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Processes cache reference rows (regions, grids, plans, categories, departments), people (users,
grid assignments) and the statutory calendar, and read ``cache_epochs`` once per request to
know whether their copies are current. The numbers are moved by triggers, so every writer
(any process, the CLI, ``psql``) invalidates every process's caches.

PostgreSQL: a statement-level trigger per table (also on TRUNCATE) upserts the topic's row with
the next value of the sequence ``cache_epoch_seq``: never a number seen before, even after the
row was deleted or truncated (a missing row means "do not trust any cache" in server/cache.py).
SQLite: row triggers add one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOPICS = {
    "reference": ("regions", "grids", "grid_plans", "categories", "departments"),
    "people": ("users", "grid_assignments"),
    "calendar": ("calendar_years", "calendar_days", "calendar_changes"),
}


def upgrade() -> None:
    op.create_table(
        "cache_epochs",
        sa.Column("topic", sa.String(length=16), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic", name=op.f("pk_cache_epochs")),
    )
    op.bulk_insert(
        sa.table("cache_epochs", sa.column("topic"), sa.column("n")),
        [{"topic": t, "n": 1} for t in TOPICS],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE cache_epoch_seq START 2")
        op.execute(
            "CREATE FUNCTION bump_cache_epoch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO cache_epochs (topic, n) VALUES (TG_ARGV[0], nextval('cache_epoch_seq')) "
            "ON CONFLICT (topic) DO UPDATE SET n = EXCLUDED.n; RETURN NULL; END $$"
        )
        for topic, tables in TOPICS.items():
            for table in tables:
                op.execute(
                    f"CREATE TRIGGER {table}_cache_epoch AFTER INSERT OR UPDATE OR DELETE OR "
                    f"TRUNCATE ON {table} FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION bump_cache_epoch('{topic}')"
                )
    else:
        for topic, tables in TOPICS.items():
            for table in tables:
                for event in ("INSERT", "UPDATE", "DELETE"):
                    op.execute(
                        f"CREATE TRIGGER {table}_cache_epoch_{event.lower()} AFTER {event} ON "
                        f"{table} BEGIN UPDATE cache_epochs SET n = n + 1 "
                        f"WHERE topic = '{topic}'; END"
                    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for tables in TOPICS.values():
        for table in tables:
            if postgres:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_cache_epoch ON {table}")
            else:
                for event in ("insert", "update", "delete"):
                    op.execute(f"DROP TRIGGER IF EXISTS {table}_cache_epoch_{event}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS bump_cache_epoch()")
        op.execute("DROP SEQUENCE IF EXISTS cache_epoch_seq")
    op.drop_table("cache_epochs")
