"""Every service's migrations run forward and back on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from services.runtime.database import sync_url
from services.runtime.migrations import alembic_config, upgrade


def tables(database_url: str) -> set[str]:
    engine = create_engine(sync_url(database_url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", ["intake", "router", "notifier"])
def test_upgrade_and_downgrade(service: str, database_url: str) -> None:
    upgrade(service, database_url)
    assert {"outbox", "processed_event", "alembic_version"} <= tables(database_url)
    upgrade(service, database_url)  # a second upgrade is a no-op
    command.downgrade(alembic_config(service, database_url), "base")
    assert tables(database_url) <= {"alembic_version"}
