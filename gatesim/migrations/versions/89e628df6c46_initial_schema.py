"""The schema as versions before migrations made it

Revision ID: 89e628df6c46
Revises:
Create Date: 2026-12-04 07:41:13.068101
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "89e628df6c46"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = (
    "change_counters",
    "citizens",
    "devices",
    "flights",
    "bookings",
    "bulk_enrolments",
    "enrolment_reviews",
    "face_templates",
    "boarding_passes",
    "decisions",
    "gate_template_copies",
)
"""Every table this revision makes, each after those it refers to."""


def upgrade() -> None:
    """Upgrade the schema to this revision."""
    op.create_table(
        "change_counters",
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_change_counters")),
    )
    op.create_table(
        "citizens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("national_id", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("account_level", sa.Integer(), nullable=False),
        sa.Column("biometric_consent", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "account_level IN (1, 2)", name=op.f("ck_citizens_account_level")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizens")),
        sa.UniqueConstraint("national_id", name=op.f("uq_citizens_national_id")),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("touchpoints", sa.JSON(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
    )
    op.create_index(op.f("ix_devices_key_hash"), "devices", ["key_hash"], unique=True)
    op.create_table(
        "flights",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("origin", sa.String(length=3), nullable=False),
        sa.Column("destination", sa.String(length=3), nullable=False),
        sa.Column("departure_at", sa.DateTime(), nullable=False),
        sa.Column("gate", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flights")),
        sa.UniqueConstraint(
            "code", "departure_at", name=op.f("uq_flights_code_departure_at")
        ),
    )
    op.create_index(op.f("ix_flights_code"), "flights", ["code"], unique=False)
    op.create_index(
        op.f("ix_flights_departure_at"), "flights", ["departure_at"], unique=False
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=6), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("flight_id", sa.Integer(), nullable=False),
        sa.Column("checked_baggage", sa.Boolean(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(), nullable=True),
        sa.Column("security_cleared_at", sa.DateTime(), nullable=True),
        sa.Column("boarded_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_bookings_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["flight_id"], ["flights.id"], name=op.f("fk_bookings_flight_id_flights")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint(
            "citizen_id", "flight_id", name=op.f("uq_bookings_citizen_id_flight_id")
        ),
        sa.UniqueConstraint("reference", name=op.f("uq_bookings_reference")),
    )
    op.create_index(
        op.f("ix_bookings_citizen_id"), "bookings", ["citizen_id"], unique=False
    )
    op.create_index(
        op.f("ix_bookings_flight_id"), "bookings", ["flight_id"], unique=False
    )
    op.create_table(
        "bulk_enrolments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("photo_key", sa.String(length=500), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_bulk_enrolments_citizen_id_citizens"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_enrolments")),
        sa.UniqueConstraint("photo_key", name=op.f("uq_bulk_enrolments_photo_key")),
    )
    op.create_table(
        "enrolment_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("matching_citizen_id", sa.Integer(), nullable=False),
        sa.Column("distance", sa.Double(), nullable=False),
        sa.Column("encoding_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("quality_measures", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_enrolment_reviews_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["matching_citizen_id"],
            ["citizens.id"],
            name=op.f("fk_enrolment_reviews_matching_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_reviews")),
    )
    op.create_index(
        op.f("ix_enrolment_reviews_citizen_id"),
        "enrolment_reviews",
        ["citizen_id"],
        unique=False,
    )
    op.create_table(
        "face_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("encoding_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("quality", sa.Double(), nullable=False),
        sa.Column("face_width_px", sa.Integer(), nullable=False),
        sa.Column("quality_measures", sa.JSON(), nullable=False),
        sa.Column("model_name", sa.String(length=80), nullable=False),
        sa.Column("model_version", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_face_templates_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_templates")),
    )
    op.create_index(
        op.f("ix_face_templates_citizen_id"),
        "face_templates",
        ["citizen_id"],
        unique=False,
    )
    op.create_table(
        "boarding_passes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("flight_id", sa.Integer(), nullable=False),
        sa.Column("seat", sa.String(length=4), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_boarding_passes_booking_id_bookings"),
        ),
        sa.ForeignKeyConstraint(
            ["flight_id"],
            ["flights.id"],
            name=op.f("fk_boarding_passes_flight_id_flights"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_boarding_passes")),
        sa.UniqueConstraint("booking_id", name=op.f("uq_boarding_passes_booking_id")),
        sa.UniqueConstraint(
            "flight_id", "seat", name=op.f("uq_boarding_passes_flight_id_seat")
        ),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("touchpoint", sa.String(length=12), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reason_code", sa.String(length=40), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("flight_code", sa.String(length=8), nullable=True),
        sa.Column("distance", sa.Double(), nullable=True),
        sa.Column("threshold", sa.Double(), nullable=True),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("by_staff", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_decisions_booking_id_bookings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_index(
        op.f("ix_decisions_created_at"), "decisions", ["created_at"], unique=False
    )
    op.create_index(
        op.f("ix_decisions_touchpoint"), "decisions", ["touchpoint"], unique=False
    )
    op.create_table(
        "gate_template_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("flight_id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("encoding_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("copied_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_gate_template_copies_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name=op.f("fk_gate_template_copies_citizen_id_citizens"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["flight_id"],
            ["flights.id"],
            name=op.f("fk_gate_template_copies_flight_id_flights"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["face_templates.id"],
            name=op.f("fk_gate_template_copies_template_id_face_templates"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_template_copies")),
        sa.UniqueConstraint(
            "booking_id", "template_id", name="uq_gate_template_copies_booking_template"
        ),
    )
    op.create_index(
        op.f("ix_gate_template_copies_booking_id"),
        "gate_template_copies",
        ["booking_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_gate_template_copies_citizen_id"),
        "gate_template_copies",
        ["citizen_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_gate_template_copies_flight_id"),
        "gate_template_copies",
        ["flight_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_gate_template_copies_template_id"),
        "gate_template_copies",
        ["template_id"],
        unique=False,
    )


def downgrade() -> None:
    """Return the schema to the previous revision: drop every table."""
    for table in reversed(TABLES):
        op.drop_table(table)
