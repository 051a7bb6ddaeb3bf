"""When a pattern was last seen (a scan cluster or a recurrence that continues without being
announced again): a pattern is "the same" only while it continues (issue 17). Empty for
patterns stored before.

Revision ID: notifier_0006
Revises: notifier_0007 (the head on main when rebased; the lead re-chains)
"""

import sqlalchemy as sa
from alembic import op

revision = "notifier_0006"
down_revision = "notifier_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pattern", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pattern") as batch:
        batch.drop_column("last_seen_at")
