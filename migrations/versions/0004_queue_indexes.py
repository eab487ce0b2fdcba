"""queue indexes: counts, overdue board and search at a million cases

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23

Measured with bench/console.py on 1 M cases: sorting by updated_at, the overdue board and counts
per state scan a county's cases without these. On PostgreSQL, trigram (pg_trgm) GIN indexes serve
the queue's text, address and phone search (LIKE '%…%', also for Chinese text), and a pattern
index serves case-number prefixes; SQLite has neither and searches by scanning.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_incidents_county_state_deadline": ["county_id", "state", "deadline_at"],
    "ix_incidents_town_state_deadline": ["town_id", "state", "deadline_at"],
    "ix_incidents_community_state_deadline": ["community_id", "state", "deadline_at"],
    "ix_incidents_county_updated": ["county_id", "updated_at"],
}
TRIGRAM = ("description", "address", "caller_phone")


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        for name, columns in INDEXES.items():
            batch.create_index(name, columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in TRIGRAM:
            op.execute(
                f"CREATE INDEX gix_incidents_{column}_trgm ON incidents "
                f"USING gin ({column} gin_trgm_ops)"
            )
        op.execute(
            "CREATE INDEX gix_incidents_number_pattern ON incidents (number varchar_pattern_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in TRIGRAM:
            op.execute(f"DROP INDEX IF EXISTS gix_incidents_{column}_trgm")
        op.execute("DROP INDEX IF EXISTS gix_incidents_number_pattern")
    with op.batch_alter_table("incidents") as batch:
        for name in INDEXES:
            batch.drop_index(name)
