"""address search: the tokens of each place's text (server/usecases/address_search.py)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

A derived index, the same on SQLite and PostgreSQL (no extension): the primary key
(token, depth, place_id) is each token's posting list, shallowest places first. Places stored before this revision are indexed
by ``flask base reindex`` (which rebuilds the whole index any time).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "address_tokens",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("depth", sa.SmallInteger(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_address_tokens_place_id_places"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token", "depth", "place_id", name=op.f("pk_address_tokens")),
    )
    op.create_index(
        op.f("ix_address_tokens_place_id"), "address_tokens", ["place_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_address_tokens_place_id"), table_name="address_tokens")
    op.drop_table("address_tokens")
