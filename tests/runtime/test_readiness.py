"""A service whose broker is down keeps retrying, says not-ready, and recovers when it comes up."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from services.router.app import create_app
from services.router.settings import RouterSettings
from tests.support.kafka import wait_for
from tools.local import kafka
from tools.local.postgres import free_port

pytestmark = pytest.mark.kafka


async def test_broker_down_means_not_ready_then_ready(tmp_path: Path) -> None:
    broker = kafka.BrokerConfig(
        data_dir=tmp_path / "kafka", port=free_port(), controller_port=free_port()
    )
    settings = RouterSettings(
        kafka_bootstrap_servers=broker.bootstrap_servers,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'router.sqlite'}",
        connect_backoff_initial_s=0.1,
        connect_backoff_max_s=0.5,
    )
    from services.runtime.migrations import upgrade

    upgrade("router", settings.effective_database_url)
    app = create_app(settings)
    runtime = app.state.runtime
    try:
        async with (
            LifespanManager(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://router"
            ) as client,
        ):
            await wait_for(lambda: runtime.connection.attempts >= 3, timeout_s=30)
            assert (await client.get("/health")).status_code == 200
            not_ready = await client.get("/ready")
            assert not_ready.status_code == 503
            assert not_ready.json()["checks"]["kafka"] == "connecting"
            assert not_ready.json()["kafka_last_error"]

            kafka.up(broker)
            await wait_for(lambda: runtime.connection.ready, timeout_s=60)
            ready = await client.get("/ready")
            assert ready.status_code == 200
            assert ready.json()["checks"] == {
                "kafka": "connected",
                "database": "ok",
                "consumers": "flowing",
            }
            metrics = (await client.get("/metrics")).text
            assert "buursignaal_broker_connected 1.0" in metrics
    finally:
        kafka.down(broker, wipe=True)
