"""address search: a larger statistics sample for address_tokens.token on PostgreSQL

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29

With the default sample (100) PostgreSQL keeps the 100 commonest tokens and guesses the same
count for every other one (~1,200 rows at county size: a door plate of 430 places and a
``12号`` of 7,700 alike), so it joined the search's other tokens by hashing their whole posting
lists instead of probing them (bench/base_data.py; docs/base-data.md). With 1,000 the tokens a
search starts from have real counts. No model change (a planner setting, not schema); SQLite
has no such setting and its ANALYZE already counts per index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE address_tokens ALTER COLUMN token SET STATISTICS 1000")
        op.execute("ANALYZE address_tokens")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE address_tokens ALTER COLUMN token SET STATISTICS -1")
