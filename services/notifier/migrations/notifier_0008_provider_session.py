"""The provider's session id on an inbox session, so that a back-channel logout from Keycloak
(its ``logout_token`` names the session by ``sid``) ends the notifier's sessions of it.

Revision ID: notifier_0008
Revises: notifier_0007
"""

import sqlalchemy as sa
from alembic import op

revision = "notifier_0008"
down_revision = "notifier_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox_session") as batch:
        batch.add_column(sa.Column("provider_sid", sa.String(128), nullable=True))
        batch.create_index("ix_inbox_session_provider_sid", ["provider_sid"])
        batch.create_index("ix_inbox_session_subject", ["subject"])


def downgrade() -> None:
    with op.batch_alter_table("inbox_session") as batch:
        batch.drop_index("ix_inbox_session_subject")
        batch.drop_index("ix_inbox_session_provider_sid")
        batch.drop_column("provider_sid")
