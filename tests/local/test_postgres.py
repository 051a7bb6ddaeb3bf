"""The throwaway PostgreSQL cluster: a real server on 127.0.0.1 that leaves nothing behind."""

from __future__ import annotations

import psycopg
import pytest

from tools.local.postgres import ThrowawayPostgres, install

pytestmark = pytest.mark.postgres


def test_cluster_serves_queries_then_disappears() -> None:
    server = ThrowawayPostgres(install()).start()
    try:
        url = server.create_database("probe").replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(url) as conn:
            row = conn.execute("SHOW listen_addresses").fetchone()
            assert row == ("127.0.0.1",)
            version = conn.execute("SELECT version()").fetchone()
            assert version is not None
            assert "PostgreSQL" in version[0]
    finally:
        server.stop()
    assert not server.root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
