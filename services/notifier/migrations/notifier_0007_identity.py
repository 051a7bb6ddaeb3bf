"""People and keys: the actor's person in the leg history, several named API keys per
authority (hashed, with creation, last use and revocation) and the inbox's server-side sessions.

The key hash each authority had moves to ``api_key`` as its key "initial"; nothing else changes.

Revision ID: notifier_0007
Revises: notifier_0004
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "notifier_0007"
down_revision = "notifier_0006"
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("leg_history") as batch:
        batch.add_column(sa.Column("actor_subject", sa.String(128), nullable=True))
        batch.add_column(sa.Column("actor_name", sa.String(200), nullable=True))
    keys = op.create_table(
        "api_key",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("recipient_id", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        _when("created_at"),
        _when("last_used_at", nullable=True),
        _when("revoked_at", nullable=True),
    )
    authorities = op.get_bind().execute(sa.text("SELECT recipient_id, key_hash FROM authority"))
    now = datetime.now(UTC)
    op.bulk_insert(
        keys,
        [
            {"id": str(uuid.uuid4()), "recipient_id": recipient_id, "name": "initial",
             "key_hash": key_hash, "created_at": now, "last_used_at": None, "revoked_at": None}
            for recipient_id, key_hash in authorities
        ],
    )  # fmt: skip
    with op.batch_alter_table("authority") as batch:
        batch.drop_column("key_hash")
    op.create_table(
        "inbox_session",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("organisation", sa.String(100), nullable=False),
        sa.Column("organisation_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("api_key_id", sa.String(36), nullable=True, index=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        _when("created_at"),
        _when("last_seen_at"),
    )


def downgrade() -> None:
    op.drop_table("inbox_session")
    with op.batch_alter_table("authority") as batch:
        batch.add_column(sa.Column("key_hash", sa.String(64), nullable=True))
    op.execute(
        "UPDATE authority SET key_hash = (SELECT MIN(k.key_hash) FROM api_key k"
        " WHERE k.recipient_id = authority.recipient_id AND k.revoked_at IS NULL)"
    )
    op.drop_table("api_key")
    with op.batch_alter_table("leg_history") as batch:
        batch.drop_column("actor_name")
        batch.drop_column("actor_subject")
