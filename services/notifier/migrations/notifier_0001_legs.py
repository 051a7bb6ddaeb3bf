"""Cases, legs with response clocks, history, fired escalation rungs, authorities, mail jobs.

Revision ID: notifier_0001
Revises: runtime_0001
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = "notifier_0001"
down_revision = "runtime_0001"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "case_file",
        sa.Column("report_id", sa.String(36), primary_key=True),
        sa.Column("reporter_key", sa.String(64), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        _when("received_at"),
    )
    op.create_table(
        "leg",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("report_id", sa.String(36), nullable=False, index=True),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("recipient_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("routing_round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("handler", sa.String(100)),
        _when("delivered_at"),
        _when("acknowledged_at", nullable=True),
        _when("closed_at", nullable=True),
        sa.Column("explanation", sa.String(4000)),
        sa.Column("forwarded_to", sa.String(64)),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("deadline_kind", sa.String(16)),
        _when("clock_origin"),
        _when("paused_at", nullable=True),
        sa.Column("paused_hours", sa.Float(), nullable=False),
        sa.Column("norm_hours", sa.Float(), nullable=False),
        sa.Column("next_step", sa.Integer(), nullable=False),
        _when("next_due_at", nullable=True),
        sa.UniqueConstraint("report_id", "recipient_id", name="uq_leg_report_recipient"),
    )
    op.create_index(
        "ix_leg_due",
        "leg",
        ["next_due_at"],
        sqlite_where=sa.text("next_due_at IS NOT NULL"),
        postgresql_where=sa.text("next_due_at IS NOT NULL"),
    )
    op.create_index("ix_leg_recipient_status", "leg", ["recipient_id", "status"])
    op.create_table(
        "leg_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("leg_id", sa.String(36), nullable=False, index=True),
        _when("at"),
        sa.Column("from_status", sa.String(32)),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=False),
        sa.Column("explanation", sa.String(4000)),
    )
    op.create_table(
        "escalation_fired",
        sa.Column("leg_id", sa.String(36), primary_key=True),
        sa.Column("cycle", sa.Integer(), primary_key=True),
        sa.Column("deadline_kind", sa.String(16), primary_key=True),
        sa.Column("step", sa.Integer(), primary_key=True),
        _when("due_at"),
        _when("fired_at"),
    )
    op.create_table(
        "authority",
        sa.Column("recipient_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "mail_job",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_attempt_at"),
        _when("sent_at", nullable=True),
        sa.Column("last_error", sa.String(500)),
    )
    op.create_index("ix_mail_job_due", "mail_job", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("mail_job")
    op.drop_table("authority")
    op.drop_table("escalation_fired")
    op.drop_table("leg_history")
    op.drop_index("ix_leg_recipient_status", "leg")
    op.drop_index("ix_leg_due", "leg")
    op.drop_table("leg")
    op.drop_table("case_file")
