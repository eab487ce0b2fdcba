"""residents: a newborn registered before they have an identity number (出生登记)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29

``id_cipher`` and ``id_hash`` may be NULL: a child registered at birth, whose 公民身份号码 comes
later (docs/base-data.md, "Newborns"); the birth date and sex are then typed, until the number
is added and they are derived from it again. The unique index on ``id_hash`` stays (NULLs are
distinct on SQLite and PostgreSQL); ``id_mask`` is "" for no number.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.alter_column("id_cipher", existing_type=sa.LargeBinary(), nullable=True)
        batch_op.alter_column("id_hash", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # Refused while a resident without a number exists (NOT NULL fails): add their numbers first.
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.alter_column("id_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("id_cipher", existing_type=sa.LargeBinary(), nullable=False)
