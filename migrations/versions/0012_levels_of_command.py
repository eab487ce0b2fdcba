"""levels of command: city regions, centres, the holding centre of a case, copies, routing rules

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

DESIGN §9 (server/domain/levels.py). Regions may be cities (above counties) and carry a
``centre`` flag (the region has a command centre): every existing county is one. Each case
records the centre that holds it now (``incidents.centre_id``): existing cases are held by their
county, the one centre there was. ``case_copies`` lists the departments a case was copied to
(抄告); ``routing_rules`` the level a new case goes to first per category × urgency (越级). The
routing rules are reference data: their changes move the ``reference`` cache epoch, like the
tables of migration 0007.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

import server.models.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_LEVELS = "level IN ('county','town','community')"
NEW_LEVELS = "level IN ('city','county','town','community')"


def _epoch_triggers(table: str, topic: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_cache_epoch AFTER INSERT OR UPDATE OR DELETE OR "
            f"TRUNCATE ON {table} FOR EACH STATEMENT "
            f"EXECUTE FUNCTION bump_cache_epoch('{topic}')"
        )
    else:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_cache_epoch_{event.lower()} AFTER {event} ON "
                f"{table} BEGIN UPDATE cache_epochs SET n = n + 1 "
                f"WHERE topic = '{topic}'; END"
            )


def _drop_epoch_triggers(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_cache_epoch ON {table}")
    else:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_cache_epoch_{event}")


@contextmanager
def _triggers_kept() -> Iterator[None]:
    """SQLite: a batch operation copies a table and renames the copy, which drops the table's
    triggers and fails on triggers naming it (the metric triggers name ``incidents``). Every
    trigger is dropped first and made again after."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    saved = bind.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
    ).all()
    for name, _sql in saved:
        op.execute(f'DROP TRIGGER IF EXISTS "{name}"')
    yield
    for _name, sql in saved:
        op.execute(sql)


def upgrade() -> None:
    with _triggers_kept():
        _upgrade_tables()
    op.execute("UPDATE regions SET centre = true WHERE level IN ('city', 'county')")
    op.execute("UPDATE incidents SET centre_id = county_id")


def _upgrade_tables() -> None:
    with op.batch_alter_table("regions") as batch:
        batch.drop_constraint("level", type_="check")
        batch.create_check_constraint("level", sa.text(NEW_LEVELS))
        batch.add_column(
            sa.Column("centre", sa.Boolean(), server_default=sa.false(), nullable=False)
        )

    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("centre_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("copied_department_ids", sa.JSON(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_incidents_centre_id_regions"), "regions", ["centre_id"], ["id"]
        )
        batch.create_index("ix_incidents_centre_state", ["centre_id", "state"], unique=False)

    op.create_table(
        "case_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("created_at", server.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_case_copies_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["incident_events.id"],
            name=op.f("fk_case_copies_event_id_incident_events"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_case_copies_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_copies")),
        sa.UniqueConstraint(
            "incident_id", "department_id", name=op.f("uq_case_copies_incident_id")
        ),
    )
    op.create_index(
        "ix_case_copies_department_incident",
        "case_copies",
        ["department_id", "incident_id"],
        unique=False,
    )

    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("copy_department_ids", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("urgency IN ('normal','urgent')", name=op.f("ck_routing_rules_urgency")),
        sa.CheckConstraint(
            "level IN ('city','county','town')", name=op.f("ck_routing_rules_level")
        ),
        sa.ForeignKeyConstraint(
            ["category_id"], ["categories.id"], name=op.f("fk_routing_rules_category_id_categories")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_routing_rules_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_rules")),
        sa.UniqueConstraint("category_id", "urgency", name=op.f("uq_routing_rules_category_id")),
    )
    _epoch_triggers("routing_rules", "reference")


def downgrade() -> None:
    _drop_epoch_triggers("routing_rules")
    op.drop_table("routing_rules")
    op.drop_index("ix_case_copies_department_incident", table_name="case_copies")
    op.drop_table("case_copies")
    with _triggers_kept():
        with op.batch_alter_table("incidents") as batch:
            batch.drop_index("ix_incidents_centre_state")
            batch.drop_constraint("fk_incidents_centre_id_regions", type_="foreignkey")
            batch.drop_column("copied_department_ids")
            batch.drop_column("centre_id")
        # A city above the counties cannot stay: the counties become the top again.
        op.execute("UPDATE regions SET parent_id = NULL WHERE parent_id IN "
                   "(SELECT id FROM regions WHERE level = 'city')")  # fmt: skip
        op.execute("DELETE FROM regions WHERE level = 'city'")
        with op.batch_alter_table("regions") as batch:
            batch.drop_column("centre")
            batch.drop_constraint("level", type_="check")
            batch.create_check_constraint("level", sa.text(OLD_LEVELS))
