"""One handler test, two brokers: FastStream's in-memory ``TestKafkaBroker`` and the real Kafka.

A test asks for the ``broker`` fixture (parametrized ``memory`` and ``kafka``), builds its service
with ``broker.bootstrap_servers``, runs it with ``async with broker.serving(runtime)``, publishes
with ``broker.publish`` and reads what the service produced with ``broker.read``. The same body
then runs twice (docs/testing.md):

- ``memory``: the service's subscribers run on FastStream's in-memory broker. A publish calls
  the handler before it returns, so everything the handler published (outbox rows, dead letters)
  is there at once; ``read`` answers without waiting and a missing record fails at once. No
  Kafka is started for it (``pytest -m "not kafka"`` runs these alone).
- ``kafka``: the service runs as in production against the session's Kafka broker: records are
  produced, consumed by the service's consumer groups, and the offsets committed; ``read``
  consumes the topic from the beginning until the condition holds.

The services subscribe to the registry's topic names with their own consumer groups, so on the
real broker tests share topics: a test picks its records by key (a fresh report id).
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from uuid import UUID

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from schemas._base import Event
from schemas.cloudevents import headers_for
from schemas.topics import TopicSpec
from services.runtime.broker import ensure_topics, make_broker
from services.runtime.outbox import OutboxRelay, Publish
from services.runtime.service import ServiceRuntime
from tests.support.kafka import Record, consume_until, wait_for

Condition = Callable[[list[Record]], bool]
NO_KAFKA = "127.0.0.1:9"
"""The memory variant's bootstrap address: nothing listens there, and nothing dials it."""


class Bus(ABC):
    """Where a handler test publishes and reads; ``kind`` is ``memory`` or ``kafka``."""

    kind: str
    bootstrap_servers: str
    _sender: KafkaBroker | None = None  # what ``publish`` sends through, while serving

    @abstractmethod
    def serving(self, runtime: ServiceRuntime) -> AbstractAsyncContextManager[None]:
        """Run ``runtime``'s consumers on this broker until the block ends (then stop it)."""

    async def publish_raw(
        self, topic: str, body: bytes, *, key: bytes, headers: Mapping[str, str]
    ) -> None:
        """Publish bytes as they are (for malformed events)."""
        if self._sender is None:
            raise RuntimeError("publish inside `async with broker.serving(runtime)`")
        await self._sender.publish(body, topic, key=key, headers=dict(headers))

    @abstractmethod
    async def read(
        self, topic: str, condition: Condition, *, timeout_s: float = 60.0
    ) -> list[Record]:
        """The records on ``topic`` once ``condition`` holds for them; ``TimeoutError`` if not."""

    @abstractmethod
    async def create_topics(self, specs: Iterable[TopicSpec]) -> None:
        """Make sure ``specs`` exist (before a pattern consumer starts, so it sees them)."""

    async def publish(self, topic: str, event: Event, event_id: UUID | None = None) -> None:
        """Publish ``event`` as a service does: keyed by its report, with CloudEvents headers."""
        await self.publish_raw(
            topic,
            event.model_dump_json().encode(),
            key=str(getattr(event, "report_id", "")).encode(),
            headers=headers_for(event, source="/test", event_id=event_id),
        )

    async def read_about(
        self, topic: str, report_id: UUID, count: int = 1, *, timeout_s: float = 60.0
    ) -> list[Record]:
        """The records on ``topic`` keyed by ``report_id``, once there are ``count`` of them."""
        key = str(report_id).encode()
        records = await self.read(
            topic, lambda rs: sum(r.key == key for r in rs) >= count, timeout_s=timeout_s
        )
        return [r for r in records if r.key == key]


class MemoryBus(Bus):
    """FastStream's ``TestKafkaBroker`` in place of the service's broker.

    The service's outbox is dispatched through its FastStream broker (in production a plain
    aiokafka producer sends it), and its topics need no creating; a subscriber to every topic
    keeps what was published, for ``read``.
    """

    kind = "memory"
    bootstrap_servers = NO_KAFKA

    def __init__(self) -> None:
        self._published: list[Record] = []

    @asynccontextmanager
    async def serving(self, runtime: ServiceRuntime) -> AsyncIterator[None]:
        broker = runtime.broker
        runtime.create_topics = _no_topics_to_create
        relay = OutboxRelay(runtime.sessions, _publisher(broker), runtime.clock)
        for consumer in runtime.consumers:
            if consumer.outbox is not None:
                consumer.outbox = relay

        @broker.subscriber(pattern=".*", group_id=f"memory-tap-{uuid.uuid4().hex[:8]}")
        async def keep(message: KafkaMessage) -> None:
            self._published.append(message.raw_message)

        try:
            async with TestKafkaBroker(broker) as in_memory:
                self._sender = in_memory
                yield
        finally:
            self._sender = None
            await runtime.engine.dispose()

    async def read(
        self, topic: str, condition: Condition, *, timeout_s: float = 60.0
    ) -> list[Record]:
        records = [r for r in self._published if r.topic == topic]
        if not condition(records):  # the handlers have run: waiting would not change it
            raise TimeoutError(f"condition not met on {topic}; saw {len(records)} records")
        return records

    async def create_topics(self, specs: Iterable[TopicSpec]) -> None:
        return None


class KafkaBus(Bus):
    """The session's real Kafka broker; the service runs with its own start and stop."""

    kind = "kafka"

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers

    @asynccontextmanager
    async def serving(self, runtime: ServiceRuntime) -> AsyncIterator[None]:
        producer = make_broker(self.bootstrap_servers, client_id="handler-test")
        await runtime.start()
        try:
            await wait_for(lambda: runtime.connection.ready, timeout_s=30)
            await producer.start()
            self._sender = producer
            yield
        finally:
            self._sender = None
            await producer.stop()
            await runtime.stop()

    async def read(
        self, topic: str, condition: Condition, *, timeout_s: float = 60.0
    ) -> list[Record]:
        return await consume_until(self.bootstrap_servers, topic, condition, timeout_s=timeout_s)

    async def create_topics(self, specs: Iterable[TopicSpec]) -> None:
        await ensure_topics(self.bootstrap_servers, specs)


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.kafka)])
def broker(request: pytest.FixtureRequest) -> Bus:
    """A handler test runs on FastStream's in-memory broker and on the real Kafka broker."""
    if request.param == "memory":
        return MemoryBus()
    return KafkaBus(request.getfixturevalue("kafka_bootstrap_servers"))


async def _no_topics_to_create(_specs: Iterable[TopicSpec]) -> list[str]:
    return []


def _publisher(broker: KafkaBroker) -> Publish:
    """The outbox relay's ``Publish`` through a FastStream broker (sent once it returns)."""

    async def publish(
        topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> Awaitable[object]:
        await broker.publish(value, topic, key=key, headers=headers)
        sent: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        sent.set_result(None)
        return sent

    return publish
