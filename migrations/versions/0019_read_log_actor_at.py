"""the read log: one index on (actor_id, at) in place of the one on actor_id

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30

The duplicate-number limit counts a user's reads of the last 24 hours before every registration
and every import (server/usecases/base_data/duplicates.py). On ``actor_id`` alone that read
every entry the user ever made (every read of a record is logged: a dispatcher's grow by
thousands a day); on ``(actor_id, at)`` it reads the window's. The new index serves whatever
the old one did (its first column), so the old one goes.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("personal_data_reads", schema=None) as batch_op:
        batch_op.create_index("ix_personal_data_reads_actor_at", ["actor_id", "at"], unique=False)
        batch_op.drop_index("ix_personal_data_reads_actor_id")


def downgrade() -> None:
    with op.batch_alter_table("personal_data_reads", schema=None) as batch_op:
        batch_op.create_index("ix_personal_data_reads_actor_id", ["actor_id"], unique=False)
        batch_op.drop_index("ix_personal_data_reads_actor_at")
