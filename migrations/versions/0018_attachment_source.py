"""photos: where an upload came from (the phone or the console's desk)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30

``attachments.source``: ``field`` (the phone) or ``desk`` (the console), as the app stated it at
upload; null when it did not (an app from before). A desk upload has no watermark because no
phone took it, which the console said was an "old app" (旧版应用). Photos uploaded before by
dispatchers, supervisors and admins were uploaded at the desk (they have no field app): they
are marked ``desk``; a handler works on the phone or at the desk, so theirs stay unknown.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=8), nullable=True))
    op.execute(
        "UPDATE attachments SET source = 'desk' WHERE uploader_id IN "
        "(SELECT id FROM users WHERE role IN ('dispatcher', 'supervisor', 'admin'))"
    )


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("source")
