"""The wind of each signal (for wind roses) and the archive of published digests.

Revision ID: notifier_0003
Revises: notifier_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "notifier_0003"
down_revision = "notifier_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("signal", sa.Column("wind_from_deg", sa.Float()))
    op.create_table(
        "digest",
        sa.Column("digest_id", sa.String(36), primary_key=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("digest")
    with op.batch_alter_table("signal") as batch:
        batch.drop_column("wind_from_deg")
