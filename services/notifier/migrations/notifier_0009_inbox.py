"""The meldkamer's indexes (issue 19): an authority's single open legs in deadline order (the
inbox's pages) and its legs by delivery time (the period filter and the reports nearby).

Revision ID: notifier_0009
Revises: notifier_0008
"""

from alembic import op

revision = "notifier_0009"
down_revision = "notifier_0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_leg_inbox", "leg", ["recipient_id", "incident_id", "next_due_at", "id"])
    op.create_index("ix_leg_recipient_delivered", "leg", ["recipient_id", "delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_leg_recipient_delivered", table_name="leg")
    op.drop_index("ix_leg_inbox", table_name="leg")
