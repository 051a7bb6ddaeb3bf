"""A runtime consumer of ``ReportReceived`` on FastStream's in-memory broker, with what it
dead-letters collected: the set-up the consumer tests share."""

from __future__ import annotations

from dataclasses import dataclass, field

from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from schemas._base import Event
from schemas.topics import REPORT_RECEIVED
from services.runtime.broker import make_broker
from services.runtime.clock import FixedClock
from services.runtime.consumer import Apply, EventConsumer, subscribe
from services.runtime.database import SessionFactory
from tests.support.factories import NOW


@dataclass
class MemoryConsumer:
    consumer: EventConsumer[Event]
    broker: KafkaBroker
    dead: list[dict[str, str]] = field(default_factory=list)


def memory_consumer(
    sessions: SessionFactory,
    apply: Apply[Event],
    *,
    retry_backoff_s: float = 0.2,
    max_backoff_s: float = 30.0,
) -> MemoryConsumer:
    assert REPORT_RECEIVED.dead_letter is not None
    broker = make_broker("127.0.0.1:1", client_id="memory")
    consumer = EventConsumer(
        "router",
        handles=Event,
        broker=broker,
        sessions=sessions,
        clock=FixedClock(NOW),
        dead_letter_topic=REPORT_RECEIVED.dead_letter,
        apply=apply,
        retry_backoff_s=retry_backoff_s,
        max_backoff_s=max_backoff_s,
    )
    subscribe(broker, REPORT_RECEIVED, consumer, group_id="router", description="test")
    made = MemoryConsumer(consumer, broker)

    @broker.subscriber(REPORT_RECEIVED.dead_letter)
    async def collect(message: KafkaMessage) -> None:
        made.dead.append(dict(message.headers))

    return made
