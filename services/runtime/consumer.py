"""Consume an event once: decode, deduplicate, apply in one transaction, or dead-letter it.

Offsets are committed by FastStream only after the handler returns, so everything here
(including publishing a dead letter) happens before the consumer moves on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage as KafkaMessageParam
from faststream.kafka.message import KafkaMessage
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas._base import Event
from schemas.cloudevents import CloudEventAttributes, InvalidCloudEventError, decode
from schemas.topics import TopicSpec
from services.runtime.clock import Clock
from services.runtime.database import SessionFactory, engine_of, writing
from services.runtime.errors import UnprocessableEventError
from services.runtime.idempotency import first_delivery
from services.runtime.metrics import EVENTS_CONSUMED

log = logging.getLogger(__name__)

Apply = Callable[[AsyncSession, CloudEventAttributes, Event], Awaitable[None]]


class IncomingRecord:
    """What a consumer needs of a Kafka record (FastStream's message or aiokafka's record)."""

    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        headers: Mapping[str, str],
        body: bytes,
        key: bytes | None = None,
    ) -> None:
        self.key = key
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.headers = dict(headers)
        self.body = body


class EventConsumer:
    def __init__(
        self,
        name: str,
        *,
        broker: KafkaBroker,
        sessions: SessionFactory,
        clock: Clock,
        dead_letter_topic: str,
        apply: Apply,
        max_attempts: int = 3,
        retry_backoff_s: float = 0.2,
    ) -> None:
        self.name = name
        self._broker = broker
        self._sessions = sessions
        self._clock = clock
        self._dead_letter_topic = dead_letter_topic
        self._apply = apply
        self._max_attempts = max_attempts
        self._retry_backoff_s = retry_backoff_s

    async def handle(self, record: IncomingRecord) -> str:
        """Process one record; return the outcome (applied, duplicate, dead_lettered)."""
        try:
            attributes, event = decode(record.headers, record.body)
        except InvalidCloudEventError as error:
            return await self._dead_letter(record, str(error))
        for attempt in range(1, self._max_attempts + 1):
            try:
                outcome = await self._apply_once(attributes, event)
            except UnprocessableEventError as error:
                return await self._dead_letter(record, f"unprocessable: {error}")
            except Exception as error:
                if attempt == self._max_attempts:
                    reason = f"failed {attempt} times, last: {type(error).__name__}: {error}"
                    return await self._dead_letter(record, reason)
                log.warning(
                    "%s: attempt %d for %s failed (%s); retrying",
                    self.name,
                    attempt,
                    attributes.id,
                    error,
                )
                await asyncio.sleep(self._retry_backoff_s * 2 ** (attempt - 1))
                continue
            EVENTS_CONSUMED.labels(self.name, outcome).inc()
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    async def _apply_once(self, attributes: CloudEventAttributes, event: Event) -> str:
        async with (
            writing(engine_of(self._sessions)),
            self._sessions() as session,
            session.begin(),
        ):
            fresh = await first_delivery(
                session, consumer=self.name, event_id=str(attributes.id), clock=self._clock
            )
            if not fresh:
                return "duplicate"
            await self._apply(session, attributes, event)
        return "applied"

    async def _dead_letter(self, record: IncomingRecord, reason: str) -> str:
        headers = {
            **record.headers,
            "x-deadletter-reason": reason[:1000],
            "x-deadletter-consumer": self.name,
            "x-original-topic": record.topic,
            "x-original-partition": str(record.partition),
            "x-original-offset": str(record.offset),
            "x-deadlettered-at": self._clock.now().isoformat(),
        }
        await self._broker.publish(
            record.body, self._dead_letter_topic, key=record.key, headers=headers
        )
        log.warning("%s: dead-lettered %s@%s: %s", self.name, record.topic, record.offset, reason)
        EVENTS_CONSUMED.labels(self.name, "dead_lettered").inc()
        return "dead_lettered"


def record_from_message(message: KafkaMessage) -> IncomingRecord:
    """Adapt FastStream's message (one aiokafka ``ConsumerRecord``) to ``IncomingRecord``."""
    raw = message.raw_message
    if isinstance(raw, tuple):  # batch subscribers are not used for events
        raise TypeError("batch messages are not supported here")
    headers = {key: value.decode("utf-8", "replace") for key, value in raw.headers}
    return IncomingRecord(raw.topic, raw.partition, raw.offset, headers, raw.value or b"", raw.key)


def subscribe(
    broker: KafkaBroker,
    spec: TopicSpec,
    consumer: EventConsumer,
    *,
    group_id: str,
    description: str,
) -> None:
    """Register ``consumer`` on ``spec``'s topic; the offset is committed after it returns."""

    async def handle(message: KafkaMessageParam) -> None:
        await consumer.handle(record_from_message(message))

    handle.__name__ = f"{consumer.name}_{spec.name.replace('.', '_').replace('-', '_')}"
    broker.subscriber(
        spec.name,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.ACK,
        title=f"{group_id}:{spec.name}",
        description=description,
    )(handle)
