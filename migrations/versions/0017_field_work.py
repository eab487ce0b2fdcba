"""field work: patrols and their tracks, check-ins, work-log comments, photo evidence

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29

New tables ``patrols``, ``track_chunks``, ``track_points``, ``check_ins`` (one live check-in per
worker and day: a partial unique index that leaves rejected 补签 out) and ``work_log_comments``
(server/models/fieldwork.py, docs/field-work.md). ``attachments`` gains the capture time and
position the phone states and whether it drew the watermark; ``personal_data_reads`` gains the
worker whose track was read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.models.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("received_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("makeup", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", server.models.types.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('accepted','pending','approved','rejected')",
            name=op.f("ck_check_ins_status"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["regions.id"], name=op.f("fk_check_ins_community_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["regions.id"], name=op.f("fk_check_ins_county_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_check_ins_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["regions.id"], name=op.f("fk_check_ins_town_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["users.id"], name=op.f("fk_check_ins_worker_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_ins")),
        sa.UniqueConstraint("uuid", name=op.f("uq_check_ins_uuid")),
    )
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_check_ins_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_check_ins_county_id"), ["county_id"], unique=False)
        batch_op.create_index("ix_check_ins_day_status", ["day", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_check_ins_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_check_ins_town_id"), ["town_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_check_ins_worker_id"), ["worker_id"], unique=False)
        batch_op.create_index(
            "uq_check_ins_worker_day_live",
            ["worker_id", "day"],
            unique=True,
            sqlite_where=sa.text("status <> 'rejected'"),
            postgresql_where=sa.text("status <> 'rejected'"),
        )

    op.create_table(
        "patrols",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("started_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("ended_at", server.models.types.UTCDateTime(), nullable=True),
        sa.Column("end_hash", sa.String(length=64), nullable=True),
        sa.Column("start_lon", sa.Float(), nullable=True),
        sa.Column("start_lat", sa.Float(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("created_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["regions.id"], name=op.f("fk_patrols_community_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["regions.id"], name=op.f("fk_patrols_county_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["regions.id"], name=op.f("fk_patrols_town_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["users.id"], name=op.f("fk_patrols_worker_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrols")),
        sa.UniqueConstraint("uuid", name=op.f("uq_patrols_uuid")),
    )
    with op.batch_alter_table("patrols", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patrols_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_patrols_county_id"), ["county_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_patrols_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_patrols_town_id"), ["town_id"], unique=False)
        batch_op.create_index(
            "ix_patrols_worker_started", ["worker_id", "started_at"], unique=False
        )

    op.create_table(
        "work_log_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", server.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_work_log_comments_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["users.id"], name=op.f("fk_work_log_comments_worker_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_log_comments")),
        sa.UniqueConstraint("uuid", name=op.f("uq_work_log_comments_uuid")),
    )
    with op.batch_alter_table("work_log_comments", schema=None) as batch_op:
        batch_op.create_index("ix_work_log_comments_worker_day", ["worker_id", "day"], unique=False)

    op.create_table(
        "track_chunks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("patrol_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("received_at", server.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            name=op.f("fk_track_chunks_patrol_id_patrols"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_track_chunks")),
        sa.UniqueConstraint("patrol_id", "seq", name=op.f("uq_track_chunks_patrol_id")),
        sa.UniqueConstraint("uuid", name=op.f("uq_track_chunks_uuid")),
    )
    op.create_table(
        "track_points",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("patrol_id", sa.Integer(), nullable=False),
        sa.Column("chunk_id", sa.Integer(), nullable=False),
        sa.Column("at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["chunk_id"],
            ["track_chunks.id"],
            name=op.f("fk_track_points_chunk_id_track_chunks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patrol_id"],
            ["patrols.id"],
            name=op.f("fk_track_points_patrol_id_patrols"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_track_points")),
    )
    with op.batch_alter_table("track_points", schema=None) as batch_op:
        batch_op.create_index("ix_track_points_patrol_at", ["patrol_id", "at"], unique=False)

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("captured_at", server.models.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("captured_lon", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("captured_lat", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("captured_accuracy_m", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("watermarked", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("personal_data_reads", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_personal_data_reads_subject_user_id_users"),
            "users",
            ["subject_user_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("personal_data_reads", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_personal_data_reads_subject_user_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("subject_user_id")

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("watermarked")
        batch_op.drop_column("captured_accuracy_m")
        batch_op.drop_column("captured_lat")
        batch_op.drop_column("captured_lon")
        batch_op.drop_column("captured_at")

    with op.batch_alter_table("track_points", schema=None) as batch_op:
        batch_op.drop_index("ix_track_points_patrol_at")

    op.drop_table("track_points")
    op.drop_table("track_chunks")
    with op.batch_alter_table("work_log_comments", schema=None) as batch_op:
        batch_op.drop_index("ix_work_log_comments_worker_day")

    op.drop_table("work_log_comments")
    with op.batch_alter_table("patrols", schema=None) as batch_op:
        batch_op.drop_index("ix_patrols_worker_started")
        batch_op.drop_index(batch_op.f("ix_patrols_town_id"))
        batch_op.drop_index(batch_op.f("ix_patrols_grid_code"))
        batch_op.drop_index(batch_op.f("ix_patrols_county_id"))
        batch_op.drop_index(batch_op.f("ix_patrols_community_id"))

    op.drop_table("patrols")
    with op.batch_alter_table("check_ins", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_check_ins_worker_day_live",
            sqlite_where=sa.text("status <> 'rejected'"),
            postgresql_where=sa.text("status <> 'rejected'"),
        )
        batch_op.drop_index(batch_op.f("ix_check_ins_worker_id"))
        batch_op.drop_index(batch_op.f("ix_check_ins_town_id"))
        batch_op.drop_index(batch_op.f("ix_check_ins_grid_code"))
        batch_op.drop_index("ix_check_ins_day_status")
        batch_op.drop_index(batch_op.f("ix_check_ins_county_id"))
        batch_op.drop_index(batch_op.f("ix_check_ins_community_id"))

    op.drop_table("check_ins")
