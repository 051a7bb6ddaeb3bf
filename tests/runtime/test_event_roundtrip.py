"""An event goes into the outbox, through the real broker with CloudEvents headers, and back.

Runs on SQLite and on PostgreSQL (the ``database_url`` fixture), against the real Kafka broker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from faststream.kafka import KafkaBroker
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas._base import Event
from schemas.cloudevents import CloudEventAttributes, decode, headers_for
from schemas.report import ReportReceived
from schemas.topics import TopicSpec
from services.runtime.broker import ensure_topics, make_broker
from services.runtime.clock import FixedClock
from services.runtime.consumer import EventConsumer, IncomingRecord, subscribe
from services.runtime.database import SessionFactory, make_engine, session_factory
from services.runtime.errors import UnprocessableEventError
from services.runtime.migrations import upgrade
from services.runtime.outbox import OutboxRelay, enqueue
from tests.support.factories import NOW, report_received
from tests.support.kafka import Record, consume_until, headers_of, wait_for

pytestmark = pytest.mark.kafka


@dataclass
class Pipeline:
    topic: TopicSpec
    dead_letter: TopicSpec
    sessions: SessionFactory
    broker: KafkaBroker
    clock: FixedClock
    bootstrap: str

    def relay(self, **kwargs: object) -> OutboxRelay:
        broker = self.broker

        async def publish(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> object:
            return await broker.publish(value, topic, key=key, headers=headers, no_confirm=True)

        return OutboxRelay(self.sessions, publish, self.clock, **kwargs)  # type: ignore[arg-type]

    def recording_consumer(
        self, broker: KafkaBroker | None = None
    ) -> tuple[EventConsumer[Event], list[Event]]:
        """A consumer whose effect is to record the event (the list it returns)."""
        applied: list[Event] = []

        async def apply(_s: AsyncSession, _a: CloudEventAttributes, event: Event) -> None:
            applied.append(event)

        consumer = EventConsumer(
            "test-consumer",
            handles=Event,
            broker=broker or self.broker,
            sessions=self.sessions,
            clock=self.clock,
            dead_letter_topic=self.dead_letter.name,
            apply=apply,
        )
        return consumer, applied

    async def enqueue(self, event: ReportReceived) -> str:
        async with self.sessions() as session, session.begin():
            event_id = enqueue(
                session,
                event,
                topic=self.topic.name,
                key=str(event.report_id),
                source="/buursignaal/test",
                clock=self.clock,
            )
        return event_id


def _topic(name: str, event: type[Event] | None, partitions: int) -> TopicSpec:
    """A topic of the test's own: written and read by the test, kept without a retention limit."""
    return TopicSpec(name, event, "report_id", partitions, None, ("test",), ("test",))


@pytest.fixture
async def pipeline(
    database_url: str, kafka_bootstrap_servers: str, topic_suffix: str
) -> AsyncIterator[Pipeline]:
    upgrade("intake", database_url)
    engine = make_engine(database_url)
    topic = _topic(f"test.{topic_suffix}.report.received.v1", ReportReceived, partitions=3)
    dead_letter = _topic(f"test.{topic_suffix}.deadletter.v1", None, partitions=1)
    await ensure_topics(kafka_bootstrap_servers, [topic, dead_letter])
    broker = make_broker(kafka_bootstrap_servers, client_id="test")
    await broker.start()
    try:
        yield Pipeline(
            topic,
            dead_letter,
            session_factory(engine),
            broker,
            FixedClock(NOW),
            kafka_bootstrap_servers,
        )
    finally:
        await broker.stop()
        await engine.dispose()


def as_incoming(record: Record) -> IncomingRecord:
    return IncomingRecord(
        record.topic, record.partition, record.offset, headers_of(record), record.value or b""
    )


async def test_event_travels_with_cloudevents_headers(pipeline: Pipeline) -> None:
    event = report_received()
    event_id = await pipeline.enqueue(event)

    relay = pipeline.relay()
    assert await relay.relay_once() == 1
    assert await relay.relay_once() == 0, "a sent row must not be sent again"

    records = await consume_until(pipeline.bootstrap, pipeline.topic.name, lambda r: len(r) >= 1)
    assert len(records) == 1
    headers = headers_of(records[0])
    assert headers["ce_id"] == event_id
    assert headers["ce_type"] == "nl.buursignaal.report.received.v1"
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_source"] == "/buursignaal/test"
    assert headers["ce_subject"] == str(event.report_id)
    assert headers["ce_time"].startswith("2026-11-23T12:00:00")
    assert records[0].key == str(event.report_id).encode()
    attributes, decoded = decode(headers, records[0].value or b"")
    assert str(attributes.id) == event_id
    assert decoded == event


async def test_consumer_applies_each_event_once(pipeline: Pipeline) -> None:
    await pipeline.enqueue(report_received())
    await pipeline.relay().relay_once()
    records = await consume_until(pipeline.bootstrap, pipeline.topic.name, lambda r: len(r) >= 1)
    consumer, applied = pipeline.recording_consumer()
    assert await consumer.handle(as_incoming(records[0])) == "applied"
    assert await consumer.handle(as_incoming(records[0])) == "duplicate"
    assert len(applied) == 1


async def test_relay_crash_after_publish_is_deduplicated(pipeline: Pipeline) -> None:
    """Published but not marked sent (a crash in between): republished, applied once."""
    event = report_received()
    await pipeline.enqueue(event)

    async def crash(_rows: object) -> None:
        raise RuntimeError("relay killed between publish and mark-sent")

    with pytest.raises(RuntimeError, match="killed"):
        await pipeline.relay(on_batch_published=crash).relay_once()
    assert await pipeline.relay().relay_once() == 1, "the unmarked row is published again"

    records = await consume_until(pipeline.bootstrap, pipeline.topic.name, lambda r: len(r) >= 2)
    assert len({headers_of(r)["ce_id"] for r in records}) == 1, "both copies carry one ce_id"
    consumer, applied = pipeline.recording_consumer()
    outcomes = [await consumer.handle(as_incoming(record)) for record in records]
    assert outcomes == ["applied", "duplicate"]
    assert applied == [event]


async def test_failed_publish_leaves_rows_for_the_next_round(pipeline: Pipeline) -> None:
    await pipeline.enqueue(report_received())
    await pipeline.enqueue(report_received())

    async def broker_down(*_args: object) -> object:
        raise ConnectionError("broker unreachable")

    failing = OutboxRelay(pipeline.sessions, broker_down, pipeline.clock)  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        await failing.relay_once()
    assert (await failing.measure_backlog())[0] == 2
    assert await pipeline.relay().relay_once() == 2
    assert (await failing.measure_backlog())[0] == 0


async def test_subscriber_on_the_real_broker_applies_and_dead_letters(pipeline: Pipeline) -> None:
    """The FastStream subscriber path: a good event is applied, a malformed one dead-lettered."""
    consuming_broker = make_broker(pipeline.bootstrap, client_id="test-consumer")
    consumer, applied = pipeline.recording_consumer(consuming_broker)
    subscribe(consuming_broker, pipeline.topic, consumer, group_id="test", description="test")
    await consuming_broker.start()
    try:
        event = report_received()
        await pipeline.enqueue(event)
        await pipeline.relay().relay_once()
        await pipeline.broker.publish(
            b'{"report_id": "not-a-uuid"}',
            pipeline.topic.name,
            key=b"bad",
            headers={
                "ce_id": "6a1f8a52-51a4-4f0c-9a39-1f5d5b3c2d10",
                "ce_source": "/elsewhere",
                "ce_type": "nl.buursignaal.report.received.v1",
                "ce_specversion": "1.0",
                "ce_time": "2026-11-23T12:00:00+00:00",
            },
        )
        await wait_for(lambda: len(applied) == 1)
        dead = await consume_until(
            pipeline.bootstrap, pipeline.dead_letter.name, lambda r: len(r) >= 1
        )
    finally:
        await consuming_broker.stop()
    assert applied == [event]
    reason = headers_of(dead[0])["x-deadletter-reason"]
    assert "report_id" in reason
    assert headers_of(dead[0])["x-original-topic"] == pipeline.topic.name
    assert dead[0].value == b'{"report_id": "not-a-uuid"}', "the original bytes are kept"


async def test_a_batch_applies_once_dead_letters_the_bad_one_and_publishes_its_outputs(
    pipeline: Pipeline,
) -> None:
    """One batch: 20 good events, one of them twice, and one the handler cannot process.

    The batch transaction fails on the bad event, so every record is redone one by one: the good
    ones are applied once each, the bad one is dead-lettered with the reason, and the outputs the
    handler wrote to the outbox are on the broker before the consumer moves on (no relay runs).
    """
    good = [report_received() for _ in range(20)]
    bad = report_received()
    applied: list[Event] = []
    output_topic = pipeline.dead_letter.name  # any topic the test reads back will do

    async def apply(session: AsyncSession, _a: CloudEventAttributes, event: Event) -> None:
        assert isinstance(event, ReportReceived)
        if event.report_id == bad.report_id:
            raise UnprocessableEventError("this report cannot be routed")
        applied.append(event)
        enqueue(
            session,
            event,
            topic=output_topic,
            key=str(event.report_id),
            source="/buursignaal/test",
            clock=pipeline.clock,
        )

    consuming_broker = make_broker(pipeline.bootstrap, client_id="test-batch")
    consumer = EventConsumer(
        "test-batch",
        handles=Event,
        broker=consuming_broker,
        sessions=pipeline.sessions,
        clock=pipeline.clock,
        dead_letter_topic=pipeline.dead_letter.name,
        apply=apply,
    )
    relay = pipeline.relay()
    consumer.outbox = relay
    for event in [*good[:10], bad, good[3], *good[10:]]:
        headers = headers_for(event, source="/buursignaal/test", event_id=event.report_id)
        await pipeline.broker.publish(
            event.model_dump_json().encode(),
            pipeline.topic.name,
            key=str(event.report_id).encode(),
            headers=headers,
        )
    subscribe(consuming_broker, pipeline.topic, consumer, group_id="test", description="test")
    await consuming_broker.start()
    try:
        records = await consume_until(
            pipeline.bootstrap, pipeline.dead_letter.name, lambda r: len(r) >= 21
        )
    finally:
        await consuming_broker.stop()
    dead = [r for r in records if "x-deadletter-reason" in headers_of(r)]
    assert len(dead) == 1
    assert "cannot be routed" in headers_of(dead[0])["x-deadletter-reason"]
    outputs = [r for r in records if "x-deadletter-reason" not in headers_of(r)]
    # the in-memory list also saw the rolled-back first pass; the committed effects did not
    assert len(applied) > 20
    assert sorted(r.key for r in outputs) == sorted(str(e.report_id).encode() for e in good), (
        "each good event's output published once, by the consumer (no relay ran)"
    )
    assert (await relay.measure_backlog())[0] == 0, "dispatched rows are marked sent"
