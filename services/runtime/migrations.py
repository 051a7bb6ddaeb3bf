"""Alembic, run from code: each service has its own database and its own migration scripts.

One Alembic environment (``services/runtime/alembic``) serves every service. Its base revision
``runtime_0001`` creates the plumbing every service database has (outbox, processed_event);
each service's revisions live in ``services/<service>/migrations`` and build on it.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import make_url

from services.runtime.database import sync_url

SERVICES_DIR = Path(__file__).resolve().parents[1]
ENVIRONMENT_DIR = Path(__file__).resolve().parent / "alembic"


def alembic_config(service: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ENVIRONMENT_DIR))
    config.set_main_option(
        "version_locations",
        f"{ENVIRONMENT_DIR / 'versions'} {SERVICES_DIR / service / 'migrations'}",
    )
    config.set_main_option("path_separator", "space")
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return config


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(service, database_url), revision)


def run_env() -> None:
    """The body of every service's ``migrations/env.py`` (online mode, sync driver)."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set for the migration")
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def create_runtime_tables() -> None:
    """Create the outbox and processed_event tables (the base revision does this)."""
    from alembic import op

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["id"],
        sqlite_where=sa.text("sent_at IS NULL"),
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.create_table(
        "processed_event",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )


def drop_runtime_tables() -> None:
    from alembic import op

    op.drop_table("processed_event")
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    op.drop_table("outbox")
