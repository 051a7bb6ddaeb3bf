"""Reports the router has routed, with their rounds, deliveries and refusals.

Revision ID: router_0001
Revises: runtime_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "router_0001"
down_revision = "runtime_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routed_report",
        sa.Column("report_id", sa.String(36), primary_key=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("routing_round", sa.Integer(), nullable=False),
        sa.Column("delivered_to", sa.JSON(), nullable=False),
        sa.Column("refused_by", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("routed_report")
