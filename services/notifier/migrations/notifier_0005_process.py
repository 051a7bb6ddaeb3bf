"""The process as the field works it (issue 16).

Incidents (voorvallen): ``incident``, ``incident_move``, ``leg.incident_id``/``observed_at``.

One shared case: a body can take the lead on a report (``case_file.lead_recipient_id``).

Obligations follow the role: an informed party's leg and an advisor's leg lose the deadline
and ladder they were given before (an advisor's advice deadline exists only where the norms
file sets one, for legs delivered from now on). Nothing is deleted: every such leg gets a
history row saying so, its fired rungs stay in ``escalation_fired``.

Revision ID: notifier_0005
Revises: notifier_0007
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from services.runtime.database import UTCDateTime

revision = "notifier_0005"
down_revision = "notifier_0004"
branch_labels = None
depends_on = None

NOT_ANSWERING = ("informed", "advisor")
WHY = (
    "Obligations follow the role (issue 16): an informed or advising party has no deadline "
    "and no ladder."
)


def upgrade() -> None:
    _role_obligations()
    with op.batch_alter_table("case_file") as batch:
        batch.add_column(sa.Column("lead_recipient_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("lead_at", sa.DateTime(timezone=True), nullable=True))
    _incidents()


def _when(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _incidents() -> None:
    op.create_table(
        "incident",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("source_key", sa.String(120), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("merged_into", sa.String(36)),
        _when("window_start"),
        _when("window_end"),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("unique_reporters", sa.Integer(), nullable=False),
        sa.Column("reporter_keys", sa.JSON(), nullable=False),
        sa.Column("wind_from_deg", sa.Float()),
        sa.Column("wind_speed_ms", sa.Float()),
        sa.Column("waves_announced", sa.Integer(), nullable=False),
        sa.Column("wave_reporters", sa.Integer(), nullable=False),
        _when("created_at"),
    )
    op.create_index(
        "ix_incident_open", "incident", ["recipient_id", "category", "source_key", "window_end"]
    )
    op.create_table(
        "incident_move",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("leg_id", sa.String(36), nullable=False, index=True),
        sa.Column("from_incident", sa.String(36)),
        sa.Column("to_incident", sa.String(36), nullable=False),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=False),
        sa.Column("handler", sa.String(100)),
        sa.Column("reason", sa.String(1000), nullable=False),
        _when("at"),
    )
    with op.batch_alter_table("leg") as batch:
        batch.add_column(sa.Column("incident_id", sa.String(36), nullable=True))
        batch.add_column(_when("observed_at", nullable=True))
        batch.create_index("ix_leg_incident_id", ["incident_id"])


def _role_obligations() -> None:
    leg = sa.table(
        "leg",
        sa.column("id", sa.String),
        sa.column("role", sa.String),
        sa.column("status", sa.String),
        sa.column("deadline_kind", sa.String),
        sa.column("next_due_at", UTCDateTime()),
        sa.column("norm_hours", sa.Float),
    )
    history = sa.table(
        "leg_history",
        sa.column("leg_id", sa.String),
        sa.column("at", UTCDateTime()),
        sa.column("from_status", sa.String),
        sa.column("to_status", sa.String),
        sa.column("actor_kind", sa.String),
        sa.column("actor_id", sa.String),
        sa.column("explanation", sa.String),
    )
    affected = sa.and_(leg.c.role.in_(NOT_ANSWERING), leg.c.deadline_kind.is_not(None))
    rows = sa.select(
        leg.c.id,
        sa.literal(datetime.now(UTC), UTCDateTime()),
        leg.c.status,
        leg.c.status,
        sa.literal("system"),
        sa.literal("notifier"),
        sa.literal(WHY),
    ).where(affected)
    columns = ["leg_id", "at", "from_status", "to_status", "actor_kind", "actor_id", "explanation"]
    op.execute(sa.insert(history).from_select(columns, rows))
    op.execute(
        sa.update(leg).where(affected).values(deadline_kind=None, next_due_at=None, norm_hours=0.0)
    )


def downgrade() -> None:
    """The deadlines are not given back (the history rows say when they were taken)."""
    with op.batch_alter_table("leg") as batch:
        batch.drop_index("ix_leg_incident_id")
        batch.drop_column("observed_at")
        batch.drop_column("incident_id")
    op.drop_table("incident_move")
    op.drop_index("ix_incident_open", "incident")
    op.drop_table("incident")
    with op.batch_alter_table("case_file") as batch:
        batch.drop_column("lead_at")
        batch.drop_column("lead_recipient_id")
