"""stage time limits, supervision-card thresholds and each case's stage clock (issue 15)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

``stage_limits`` (per category × urgency × level × stage) and ``card_thresholds`` (per stage);
on ``incidents`` the current stage's clock (``stage_started_at``, ``stage_due_at``,
``stage_natural``), the card it holds (``stage_card``) and an explicit deadline set from
outside (``fixed_deadline_at``). Open cases get their stage's start from the case's own times;
their due time is the deadline for cases being handled and is filled for the other stages by
the next ``flask cases sweep`` (server/usecases/stages.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.models.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = "'accept','dispatch','handle','verify'"
UNCARDED = "stage_card IS NULL AND stage_due_at IS NOT NULL"
YELLOW = "stage_card = 'yellow'"
UNFILLED = "stage_due_at IS NULL AND stage_started_at IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "stage_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=4), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("limit_value", sa.Float(), nullable=False),
        sa.Column("limit_unit", sa.String(length=16), nullable=False),
        sa.Column("updated_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"stage IN ({STAGES})", name=op.f("ck_stage_limits_stage")),
        sa.CheckConstraint("urgency IN ('normal','urgent')", name=op.f("ck_stage_limits_urgency")),
        sa.CheckConstraint(
            "limit_unit IN ('work_hours','work_days','hours')",
            name=op.f("ck_stage_limits_limit_unit"),
        ),
        sa.CheckConstraint("limit_value > 0", name=op.f("ck_stage_limits_limit_value")),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_stage_limits_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_limits")),
        sa.UniqueConstraint(
            "category_code",
            "urgency",
            "level",
            "stage",
            name=op.f("uq_stage_limits_category_code"),
        ),
    )
    op.create_table(
        "card_thresholds",
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("yellow_days", sa.Integer(), nullable=False),
        sa.Column("red_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"stage IN ({STAGES})", name=op.f("ck_card_thresholds_stage")),
        sa.CheckConstraint(
            "yellow_days >= 0 AND yellow_days < red_days", name=op.f("ck_card_thresholds_days")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_card_thresholds_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("stage", name=op.f("pk_card_thresholds")),
    )
    op.add_column(
        "incidents", sa.Column("stage_started_at", server.models.types.UTCDateTime(), nullable=True)
    )
    op.add_column(
        "incidents", sa.Column("stage_due_at", server.models.types.UTCDateTime(), nullable=True)
    )
    op.add_column(
        "incidents",
        sa.Column("stage_natural", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("incidents", sa.Column("stage_card", sa.String(length=8), nullable=True))
    op.add_column(
        "incidents",
        sa.Column("fixed_deadline_at", server.models.types.UTCDateTime(), nullable=True),
    )
    # Both tables belong to the cached ``reference`` topic (migration 0007, server/cache.py).
    for table in ("stage_limits", "card_thresholds"):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_cache_epoch AFTER INSERT OR UPDATE OR DELETE OR "
                f"TRUNCATE ON {table} FOR EACH STATEMENT "
                "EXECUTE FUNCTION bump_cache_epoch('reference')"
            )
        else:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_cache_epoch_{event.lower()} AFTER {event} ON "
                    f"{table} BEGIN UPDATE cache_epochs SET n = n + 1 "
                    "WHERE topic = 'reference'; END"
                )
    # The sweep's partial indexes (server/models/cases.py says why).
    for name, column, where in (
        ("ix_incidents_stage_uncarded", "stage_due_at", UNCARDED),
        ("ix_incidents_stage_yellow", "stage_due_at", YELLOW),
        ("ix_incidents_stage_unfilled", "id", UNFILLED),
    ):
        op.create_index(
            name,
            "incidents",
            [column],
            unique=False,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )
    # The open cases' stage clocks, from their own times.
    op.execute(
        "UPDATE incidents SET stage_started_at = CASE state "
        "WHEN 'reported' THEN created_at "
        "WHEN 'accepted' THEN COALESCE(accepted_at, updated_at) "
        "WHEN 'dispatched' THEN COALESCE(dispatched_at, updated_at) "
        "WHEN 'in_progress' THEN COALESCE(dispatched_at, updated_at) "
        "WHEN 'resolved' THEN COALESCE(resolved_at, updated_at) END, "
        "stage_due_at = CASE WHEN state IN ('dispatched','in_progress') THEN deadline_at END, "
        "stage_natural = CASE WHEN state IN ('dispatched','in_progress') AND urgency = 'urgent' "
        "THEN TRUE ELSE FALSE END "
        "WHERE state IN ('reported','accepted','dispatched','in_progress','resolved')"
    )


def downgrade() -> None:
    for name in (
        "ix_incidents_stage_uncarded",
        "ix_incidents_stage_yellow",
        "ix_incidents_stage_unfilled",
    ):
        op.drop_index(name, table_name="incidents")
    for column in (
        "fixed_deadline_at",
        "stage_card",
        "stage_natural",
        "stage_started_at",
        "stage_due_at",
    ):
        op.drop_column("incidents", column)
    op.drop_table("card_thresholds")
    op.drop_table("stage_limits")
