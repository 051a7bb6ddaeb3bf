"""A database outage is waited out, never dead-lettered (issue 14).

A PostgreSQL server of this test's own is stopped at once (as a crash would) while an event
arrives: the consumer holds the event, says why on ``stalled`` (``/ready`` answers 503 with
it), and once the server is back the event takes effect exactly once. Nothing goes to the
dead-letter topic. The broker is FastStream's in-memory one; the database is real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from faststream.kafka import TestKafkaBroker
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas._base import Event
from schemas.cloudevents import CloudEventAttributes, headers_for
from schemas.topics import REPORT_RECEIVED
from services.runtime.database import make_engine, session_factory
from services.runtime.migrations import upgrade
from services.runtime.problems import install_problem_handlers
from tests.support.consumers import memory_consumer
from tests.support.factories import report_received
from tests.support.kafka import wait_async
from tools.local.postgres import ThrowawayPostgres, install

WAITING = "buursignaal_consumer_waiting"


@pytest.fixture
def own_postgres() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres(install()).start()
    try:
        yield server
    finally:
        server.stop()


async def test_an_event_waits_out_a_database_outage_and_takes_effect_once(
    own_postgres: ThrowawayPostgres,
) -> None:
    url = own_postgres.create_database("outage")
    upgrade("router", url)
    with psycopg.connect(own_postgres.url("outage", driver="postgresql"), autocommit=True) as db:
        db.execute("CHECKPOINT")  # the server runs with synchronous_commit=off: keep the schema
    engine = make_engine(url)
    applied: list[Event] = []

    async def apply(_s: AsyncSession, _a: CloudEventAttributes, event: Event) -> None:
        applied.append(event)

    made = memory_consumer(session_factory(engine), apply, retry_backoff_s=0.05, max_backoff_s=0.5)
    consumer, broker, dead = made.consumer, made.broker, made.dead

    event = report_received()
    try:
        async with TestKafkaBroker(broker) as test_broker:
            own_postgres.outage()
            publishing = asyncio.create_task(
                test_broker.publish(
                    event.model_dump_json().encode(),
                    REPORT_RECEIVED.name,
                    headers=headers_for(event, source="/t"),
                )
            )

            async def stalled() -> bool:
                return consumer.stalled is not None

            await wait_async(stalled, timeout_s=30)
            await asyncio.sleep(3)  # longer than the three tries that once led to a dead letter
            assert not publishing.done(), "the event is held while the database is down"
            assert "OperationalError" in (consumer.stalled or "")
            waiting = REGISTRY.get_sample_value(
                "buursignaal_consumer_waiting", {"consumer": "router"}
            )
            assert waiting == 1
            own_postgres.recover()
            await asyncio.wait_for(publishing, timeout=60)
    finally:
        await engine.dispose()
    assert consumer.stalled is None
    assert REGISTRY.get_sample_value(WAITING, {"consumer": "router"}) == 0
    assert applied[-1] == event
    assert dead == [], "a database outage is not bad input"


async def test_a_request_during_a_database_outage_is_answered_503(
    own_postgres: ThrowawayPostgres,
) -> None:
    """Not a 500 with a traceback: the fault campaign's client saw those while PostgreSQL
    restarted. 503 problem+json with Retry-After, and the driver's message stays in the log."""
    engine = make_engine(own_postgres.create_database("requests"))
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/count")
    async def count() -> dict[str, int]:
        async with engine.connect() as connection:
            return {"n": (await connection.execute(text("SELECT 1"))).scalar_one()}

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    try:
        assert (await client.get("/count")).json() == {"n": 1}
        own_postgres.outage()
        answer = await client.get("/count")
    finally:
        await client.aclose()
        await engine.dispose()
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert str(own_postgres.port) not in answer.text
