"""Signals (reports as pattern detection sees them) and announced patterns.

Revision ID: notifier_0002
Revises: notifier_0001
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "notifier_0002"
down_revision = "notifier_0001"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "signal",
        sa.Column("report_id", sa.String(36), primary_key=True),
        sa.Column("reporter_key", sa.String(64), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        _when("observed_at"),
        sa.Column("municipality_code", sa.String(8)),
        sa.Column("province_code", sa.String(8)),
        sa.Column("facility_ids", sa.JSON(), nullable=False),
        sa.Column("sectors", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
    )
    op.create_index("ix_signal_category_time", "signal", ["category", "observed_at"])
    op.create_table(
        "pattern",
        sa.Column("pattern_id", sa.String(36), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, index=True),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("announcement", sa.Integer(), nullable=False),
        sa.Column("unique_reporters", sa.Integer(), nullable=False),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("recurrence_interval_days", sa.Float()),
        _when("first_detected_at"),
        _when("detected_at"),
        _when("window_start"),
        _when("window_end"),
        sa.Column("centre_lat", sa.Float()),
        sa.Column("centre_lon", sa.Float()),
        sa.Column("radius_m", sa.Float()),
        sa.Column("municipality_codes", sa.JSON(), nullable=False),
        sa.Column("province_codes", sa.JSON(), nullable=False),
        sa.Column("facility_ids", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("report_ids", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pattern")
    op.drop_index("ix_signal_category_time", "signal")
    op.drop_table("signal")
