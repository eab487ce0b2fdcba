"""uploads: the last sign of life of an unfinished upload, and an index of the unfinished ones

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30

``attachments.touched_at``: when an unfinished upload last took a piece or a resume (a begin
again); one idle for ``WANGGE_UPLOAD_EXPIRY_DAYS`` is deleted with its piece file (an outside
audit: abandoned uploads filled the disk). Filled from ``created_at`` for the rows there are.
``ix_attachments_unfinished`` (``status = 'uploading'`` only): a user's unfinished uploads,
counted at each begin against the per-user cap, and the idle ones the expiry finds, without
reading the photos.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from server.models.types import UTCDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("touched_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE attachments SET touched_at = created_at")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attachments_unfinished",
            ["uploader_id", "touched_at"],
            unique=False,
            sqlite_where=sa.text("status = 'uploading'"),
            postgresql_where=sa.text("status = 'uploading'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_attachments_unfinished")
        batch_op.drop_column("touched_at")
