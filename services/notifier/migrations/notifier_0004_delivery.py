"""What each leg's delivery carried (the report, place, candidates, reason), for authorities
that read it over HTTP or in the inbox; empty for legs opened before.

Revision ID: notifier_0004
Revises: notifier_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "notifier_0004"
down_revision = "notifier_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("leg", sa.Column("delivery", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leg") as batch:
        batch.drop_column("delivery")
