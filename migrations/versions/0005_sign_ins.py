"""sign-ins: one row per signed-in browser or phone, ended at sign-out

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

The session and the remember cookie name a sign-in (by a random key whose SHA-256 is stored);
signing out ends that row, so a copied cookie stops working, while the user's other devices stay
signed in. Cookies issued before this revision name no sign-in and are refused: everyone signs
in once more after the upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.models.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("ended_at", server.models.types.UTCDateTime(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sign_ins_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_ins")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_sign_ins_key_hash")),
    )
    with op.batch_alter_table("sign_ins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sign_ins_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sign_ins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_ins_user_id"))
    op.drop_table("sign_ins")
