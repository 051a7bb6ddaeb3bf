"""Session-wide real infrastructure: one Kafka broker and one throwaway PostgreSQL cluster.

Every database test runs twice, on SQLite (the embedded default) and on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.brokers import broker  # noqa: F401  (memory and kafka, for handler tests)
from tests.support.kafka import kafka_bootstrap
from tests.support.smtp import smtp_server  # noqa: F401  (a fixture for every test package)
from tools.local.postgres import ThrowawayPostgres, install


@pytest.fixture(scope="session")
def kafka_bootstrap_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with kafka_bootstrap(tmp_path_factory.mktemp("broker")) as servers:
        yield servers


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres(install()).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind (a new file, or a new PostgreSQL database)."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite'}"
    server: ThrowawayPostgres = request.getfixturevalue("postgres_server")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def topic_suffix() -> str:
    """Tests share one broker, so each test writes to topics of its own."""
    return uuid.uuid4().hex[:8]
