"""base data: places, households, residents, life events, key groups, organisations, visits,
and the read log of personal data

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

Identity numbers and phones are stored encrypted (``*_cipher``) with a keyed hash for exact
search (``*_hash``) and their mask (``*_mask``); see docs/base-data.md. The built-in key-group
kinds (``server.domain.base_data.BUILTIN_KINDS``) are stored at first use, not here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.models.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "key_group_kinds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_group_kinds")),
        sa.UniqueConstraint("code", name=op.f("uq_key_group_kinds_code")),
    )
    op.create_table(
        "places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("geom", server.models.types.Geometry("GEOMETRY", srid=4326), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", server.models.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('estate','building','unit','room')", name=op.f("ck_places_kind")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["regions.id"], name=op.f("fk_places_community_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["regions.id"], name=op.f("fk_places_county_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_places_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["places.id"], name=op.f("fk_places_parent_id_places")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["regions.id"], name=op.f("fk_places_town_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
        sa.UniqueConstraint("uuid", name=op.f("uq_places_uuid")),
    )
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_places_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_places_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_places_county_id"), ["county_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_places_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_places_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_places_town_id"), ["town_id"], unique=False)

    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", server.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"], ["regions.id"], name=op.f("fk_households_community_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["regions.id"], name=op.f("fk_households_county_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_households_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"], name=op.f("fk_households_place_id_places")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["regions.id"], name=op.f("fk_households_town_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        sa.UniqueConstraint("uuid", name=op.f("uq_households_uuid")),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_households_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_households_county_id"), ["county_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_households_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_households_place_id"), ["place_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_households_town_id"), ["town_id"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("contact_name", sa.String(length=100), nullable=False),
        sa.Column("contact_phone_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("contact_phone_hash", sa.String(length=64), nullable=True),
        sa.Column("contact_phone_mask", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", server.models.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('enterprise','individual','social_org','government','institution','other')",
            name=op.f("ck_organisations_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["regions.id"], name=op.f("fk_organisations_community_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["regions.id"], name=op.f("fk_organisations_county_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_organisations_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"], name=op.f("fk_organisations_place_id_places")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["regions.id"], name=op.f("fk_organisations_town_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("credit_code", name=op.f("uq_organisations_credit_code")),
        sa.UniqueConstraint("uuid", name=op.f("uq_organisations_uuid")),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisations_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_organisations_contact_phone_hash"), ["contact_phone_hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_organisations_county_id"), ["county_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_organisations_town_id"), ["town_id"], unique=False)

    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("id_cipher", sa.LargeBinary(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("id_mask", sa.String(length=18), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("phone_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_mask", sa.String(length=32), nullable=False),
        sa.Column("registration", sa.String(length=16), nullable=False),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", server.models.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "registration IN ('registered','floating')", name=op.f("ck_residents_registration")
        ),
        sa.CheckConstraint(
            "relation IN ('head','spouse','child','parent','grandchild','grandparent','sibling','other')",
            name=op.f("ck_residents_relation"),
        ),
        sa.CheckConstraint("sex IN ('male','female')", name=op.f("ck_residents_sex")),
        sa.CheckConstraint(
            "status IN ('active','moved_out','deceased','cancelled')",
            name=op.f("ck_residents_status"),
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["regions.id"], name=op.f("fk_residents_community_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["regions.id"], name=op.f("fk_residents_county_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_residents_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_residents_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["regions.id"], name=op.f("fk_residents_town_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residents")),
        sa.UniqueConstraint("id_hash", name=op.f("uq_residents_id_hash")),
        sa.UniqueConstraint("uuid", name=op.f("uq_residents_uuid")),
    )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_residents_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_residents_county_id"), ["county_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_residents_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_residents_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_residents_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_residents_phone_hash"), ["phone_hash"], unique=False)
        batch_op.create_index(batch_op.f("ix_residents_town_id"), ["town_id"], unique=False)

    op.create_table(
        "key_group_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("kind_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("ended_at", server.models.types.UTCDateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", server.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_key_group_tags_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["kind_id"],
            ["key_group_kinds.id"],
            name=op.f("fk_key_group_tags_kind_id_key_group_kinds"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_key_group_tags_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_group_tags")),
        sa.UniqueConstraint("uuid", name=op.f("uq_key_group_tags_uuid")),
    )
    with op.batch_alter_table("key_group_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_group_tags_kind_id"), ["kind_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_key_group_tags_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index(
            "uq_key_group_tags_open",
            ["resident_id", "kind_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    op.create_table(
        "life_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("from_household_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("created_at", server.models.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('move_in','move_out','death','cancel','restore')",
            name=op.f("ck_life_events_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_life_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["from_household_id"],
            ["households.id"],
            name=op.f("fk_life_events_from_household_id_households"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_life_events_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_life_events_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_life_events")),
        sa.UniqueConstraint("uuid", name=op.f("uq_life_events_uuid")),
    )
    with op.batch_alter_table("life_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_life_events_resident_id"), ["resident_id"], unique=False
        )

    op.create_table(
        "personal_data_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fields", sa.String(length=100), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_personal_data_reads_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["regions.id"],
            name=op.f("fk_personal_data_reads_community_id_regions"),
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["regions.id"], name=op.f("fk_personal_data_reads_county_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_personal_data_reads_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_personal_data_reads_resident_id_residents"),
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["regions.id"], name=op.f("fk_personal_data_reads_town_id_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_reads")),
    )
    with op.batch_alter_table("personal_data_reads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_personal_data_reads_actor_id"), ["actor_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_personal_data_reads_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_personal_data_reads_county_id"), ["county_id"], unique=False
        )
        batch_op.create_index(
            "ix_personal_data_reads_resident_at", ["resident_id", "at"], unique=False
        )

    op.create_table(
        "residences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("started_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("ended_at", server.models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_residences_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_residences_resident_id_residents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residences")),
    )
    with op.batch_alter_table("residences", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_residences_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_residences_resident_id"), ["resident_id"], unique=False
        )
        batch_op.create_index(
            "uq_residences_current",
            ["resident_id"],
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )

    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("visitor_id", sa.Integer(), nullable=True),
        sa.Column("visited_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("device_time", server.models.types.UTCDateTime(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("created_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("grid_code", sa.String(length=15), nullable=True),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("county_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["incidents.id"], name=op.f("fk_visits_case_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["regions.id"], name=op.f("fk_visits_community_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["county_id"], ["regions.id"], name=op.f("fk_visits_county_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_visits_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"], ["residents.id"], name=op.f("fk_visits_resident_id_residents")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["regions.id"], name=op.f("fk_visits_town_id_regions")
        ),
        sa.ForeignKeyConstraint(
            ["visitor_id"], ["users.id"], name=op.f("fk_visits_visitor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("uuid", name=op.f("uq_visits_uuid")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visits_community_id"), ["community_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visits_county_id"), ["county_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visits_grid_code"), ["grid_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_visits_household_id"), ["household_id"], unique=False)
        batch_op.create_index("ix_visits_resident_at", ["resident_id", "visited_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_visits_town_id"), ["town_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_visits_visitor_id"), ["visitor_id"], unique=False)

    op.create_table(
        "level_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("from_level", sa.Integer(), nullable=False),
        sa.Column("to_level", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", server.models.types.UTCDateTime(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", server.models.types.UTCDateTime(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending','approved','declined')", name=op.f("ck_level_requests_status")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_level_requests_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["users.id"], name=op.f("fk_level_requests_requested_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["key_group_tags.id"], name=op.f("fk_level_requests_tag_id_key_group_tags")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_level_requests")),
    )
    with op.batch_alter_table("level_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_level_requests_tag_id"), ["tag_id"], unique=False)
        batch_op.create_index(
            "uq_level_requests_pending",
            ["tag_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("visit_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_attachments_visit_id"), ["visit_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_attachments_visit_id_visits"), "visits", ["visit_id"], ["id"]
        )

    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX gix_places_geom ON places USING gist (geom)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS gix_places_geom")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_attachments_visit_id_visits"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_attachments_visit_id"))
        batch_op.drop_column("visit_id")

    with op.batch_alter_table("level_requests", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_level_requests_pending",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_index(batch_op.f("ix_level_requests_tag_id"))

    op.drop_table("level_requests")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visits_visitor_id"))
        batch_op.drop_index(batch_op.f("ix_visits_town_id"))
        batch_op.drop_index("ix_visits_resident_at")
        batch_op.drop_index(batch_op.f("ix_visits_household_id"))
        batch_op.drop_index(batch_op.f("ix_visits_grid_code"))
        batch_op.drop_index(batch_op.f("ix_visits_county_id"))
        batch_op.drop_index(batch_op.f("ix_visits_community_id"))

    op.drop_table("visits")
    with op.batch_alter_table("residences", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_residences_current",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_residences_resident_id"))
        batch_op.drop_index(batch_op.f("ix_residences_household_id"))

    op.drop_table("residences")
    with op.batch_alter_table("personal_data_reads", schema=None) as batch_op:
        batch_op.drop_index("ix_personal_data_reads_resident_at")
        batch_op.drop_index(batch_op.f("ix_personal_data_reads_county_id"))
        batch_op.drop_index(batch_op.f("ix_personal_data_reads_at"))
        batch_op.drop_index(batch_op.f("ix_personal_data_reads_actor_id"))

    op.drop_table("personal_data_reads")
    with op.batch_alter_table("life_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_life_events_resident_id"))

    op.drop_table("life_events")
    with op.batch_alter_table("key_group_tags", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_key_group_tags_open",
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_key_group_tags_resident_id"))
        batch_op.drop_index(batch_op.f("ix_key_group_tags_kind_id"))

    op.drop_table("key_group_tags")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residents_town_id"))
        batch_op.drop_index(batch_op.f("ix_residents_phone_hash"))
        batch_op.drop_index(batch_op.f("ix_residents_name"))
        batch_op.drop_index(batch_op.f("ix_residents_household_id"))
        batch_op.drop_index(batch_op.f("ix_residents_grid_code"))
        batch_op.drop_index(batch_op.f("ix_residents_county_id"))
        batch_op.drop_index(batch_op.f("ix_residents_community_id"))

    op.drop_table("residents")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_town_id"))
        batch_op.drop_index(batch_op.f("ix_organisations_name"))
        batch_op.drop_index(batch_op.f("ix_organisations_grid_code"))
        batch_op.drop_index(batch_op.f("ix_organisations_county_id"))
        batch_op.drop_index(batch_op.f("ix_organisations_contact_phone_hash"))
        batch_op.drop_index(batch_op.f("ix_organisations_community_id"))

    op.drop_table("organisations")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_town_id"))
        batch_op.drop_index(batch_op.f("ix_households_place_id"))
        batch_op.drop_index(batch_op.f("ix_households_grid_code"))
        batch_op.drop_index(batch_op.f("ix_households_county_id"))
        batch_op.drop_index(batch_op.f("ix_households_community_id"))

    op.drop_table("households")
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_places_town_id"))
        batch_op.drop_index(batch_op.f("ix_places_parent_id"))
        batch_op.drop_index(batch_op.f("ix_places_grid_code"))
        batch_op.drop_index(batch_op.f("ix_places_county_id"))
        batch_op.drop_index(batch_op.f("ix_places_community_id"))
        batch_op.drop_index(batch_op.f("ix_places_address"))

    op.drop_table("places")
    op.drop_table("key_group_kinds")
