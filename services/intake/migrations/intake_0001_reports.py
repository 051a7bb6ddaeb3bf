"""Reports, contact details, photos, Open311 clients and the residents' read model.

Revision ID: intake_0001
Revises: runtime_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "intake_0001"
down_revision = "runtime_0001"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report",
        sa.Column("number", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("tracking_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("reporter_key", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("subtype", sa.String(64)),
        sa.Column("lat", sa.Float()),
        sa.Column("lon", sa.Float()),
        sa.Column("location_source", sa.String(16), nullable=False),
        sa.Column("location_verified", sa.Boolean(), nullable=False),
        sa.Column("observed_at", WHEN, nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("duration_minutes", sa.Integer()),
        sa.Column("still_noticeable", sa.Boolean()),
        sa.Column("intensity", sa.Integer()),
        sa.Column("description", sa.String(4000), nullable=False),
        sa.Column("health_symptoms", sa.JSON(), nullable=False),
        sa.Column("symptoms_other", sa.String(500)),
        sa.Column("suspected_source", sa.String(200)),
        sa.Column("suspected_facility_id", sa.String(64)),
        sa.Column("photo_count", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("linked_report_id", sa.String(36), index=True),
        sa.Column("idempotency_key", sa.String(200), unique=True),
        sa.Column("client_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_note_nl", sa.String(2000)),
        sa.Column("status_note_en", sa.String(2000)),
    )
    op.create_index("ix_report_rate", "report", ["reporter_key", "category", "received_at"])
    op.create_index("ix_report_nearby", "report", ["category", "received_at"])
    op.create_table(
        "reporter_contact",
        sa.Column("report_id", sa.String(36), sa.ForeignKey("report.id"), primary_key=True),
        sa.Column("name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("phone", sa.String(20)),
        sa.Column("address", sa.String(200)),
        sa.Column("ip_address", sa.String(45), index=True),
        sa.Column("share_with_authority", sa.Boolean(), nullable=False),
        sa.Column("email_updates", sa.Boolean(), nullable=False),
        sa.Column("received_at", WHEN, nullable=False, index=True),
        sa.Column("erased_at", WHEN),
    )
    op.create_table(
        "photo",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("report_id", sa.String(36), sa.ForeignKey("report.id"), index=True),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "open311_client",
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_table(
        "recipient_view",
        sa.Column("report_id", sa.String(36), primary_key=True),
        sa.Column("recipient_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("reason_nl", sa.String(2000), nullable=False),
        sa.Column("reason_en", sa.String(2000), nullable=False),
        sa.Column("routing_round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("deadline_at", WHEN),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "status_view",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.String(36), nullable=False, index=True),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("occurred_at", WHEN, nullable=False),
        sa.Column("explanation", sa.String(4000)),
    )


def downgrade() -> None:
    for table in (
        "status_view",
        "recipient_view",
        "open311_client",
        "photo",
        "reporter_contact",
        "report",
    ):
        op.drop_table(table)
