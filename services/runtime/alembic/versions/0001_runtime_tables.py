"""The outbox and processed-event tables every service database has.

Revision ID: runtime_0001
Revises:
"""

from services.runtime.migrations import create_runtime_tables, drop_runtime_tables

revision = "runtime_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables()


def downgrade() -> None:
    drop_runtime_tables()
