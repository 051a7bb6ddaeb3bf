"""Consume an event once: decode, deduplicate, apply in one transaction, or dead-letter it.

Offsets are committed by FastStream only after the handler returns, so everything here
(including publishing a dead letter, and publishing the outbox rows the transaction wrote)
happens before the consumer moves on.

Records arrive in batches: one transaction applies the whole batch (one claim statement, one
outbox insert, one commit). When anything in it fails, the batch is rolled back and its records
are handled one by one, each with its own retries and dead letter, so one bad event costs its
batch a second pass and never blocks or drops the others.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Generic, TypeVar

from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage as KafkaMessageParam
from faststream.kafka.message import KafkaMessage
from sqlmodel.ext.asyncio.session import AsyncSession
from tenacity import RetryCallState

from schemas._base import Event
from schemas.cloudevents import CloudEventAttributes, InvalidCloudEventError, decode
from schemas.topics import TopicSpec
from services.runtime.clock import Clock
from services.runtime.database import SessionFactory, write_transaction
from services.runtime.errors import UnprocessableEventError, Verdict, classify
from services.runtime.idempotency import first_deliveries
from services.runtime.logs import REPORT_ID
from services.runtime.metrics import (
    CONSUMER_WAITING,
    DEAD_LETTERS,
    EVENTS_CONSUMED,
    reason_kind,
)
from services.runtime.outbox import OutboxRelay, staged
from services.runtime.retries import bounded, log_retry, until_available

log = logging.getLogger(__name__)
COLLECT_MS = 200
"""How long the broker may hold a fetch of a non-urgent consumer to collect a larger batch."""
COLLECT_BYTES = 256 * 1024
"""... unless this much has come in before."""
URGENT_FETCH_WAIT_MS = 500
"""An urgent consumer's fetch returns at the first record; this is only the idle round trip."""

E = TypeVar("E", bound=Event)
Apply = Callable[[AsyncSession, CloudEventAttributes, E], Awaitable[None]]
# Load what a batch will need in a few queries before it is applied (optional).
Prepare = Callable[[AsyncSession, Sequence[E]], Awaitable[None]]


@dataclass
class IncomingRecord:
    """What a consumer needs of a Kafka record (FastStream's message or aiokafka's record)."""

    topic: str
    partition: int
    offset: int
    headers: dict[str, str]
    body: bytes
    key: bytes | None = None


class IgnoredEventError(Exception):
    """An event of a type the consumer leaves to others on the same topic."""


Verify = Callable[[IncomingRecord, E], str | None]


@dataclass(eq=False)
class EventConsumer(Generic[E]):
    """Applies the events of one type (``handles``); any other type is dead-lettered.

    What a failure means decides what is done with it (``services.runtime.errors.classify``):
    refused -> dead letter now; unknown -> ``max_attempts`` tries with backoff, then dead letter;
    transient (the database or broker unreachable) -> never a dead letter: the consumer holds
    the record (and so its partition: offsets are committed only after it returns), retries with
    backoff capped at ``max_backoff_s`` for as long as it takes, and says why in ``stalled``
    (``/ready`` answers 503 with it) until the record takes effect.
    """

    name: str
    _: KW_ONLY
    handles: type[E]
    broker: KafkaBroker
    sessions: SessionFactory
    clock: Clock
    dead_letter_topic: str
    apply: Apply[E]
    max_attempts: int = 3
    retry_backoff_s: float = 0.2
    max_backoff_s: float = 30.0
    prepare: Prepare[E] | None = None
    ignores: tuple[type[Event], ...] = ()
    """Other event types that share the topic and are not this consumer's (skipped, counted)."""
    verify: Verify[E] | None = None
    """Checks a record against its event (None: fine; else why it is refused, dead-lettered)."""
    stalled: str | None = field(default=None, init=False)
    """Why the consumer is waiting out a transient failure (None while it flows)."""
    outbox: OutboxRelay | None = field(default=None, init=False)
    """Set when the service runs an outbox relay (its rows are then dispatched at once)."""

    async def handle_batch(self, records: Sequence[IncomingRecord]) -> None:
        """Process records in order: the whole batch in one transaction when it can."""
        decoded: list[tuple[IncomingRecord, CloudEventAttributes, E]] = []
        for record in records:
            try:
                attributes, event = self._decode(record)
            except IgnoredEventError:
                EVENTS_CONSUMED.labels(self.name, "ignored").inc()
                continue
            except InvalidCloudEventError as error:
                await self._dead_letter(record, str(error))
                continue
            except UnprocessableEventError as error:
                await self._dead_letter(record, f"unprocessable: {error}")
                continue
            decoded.append((record, attributes, event))
        if not decoded:
            return
        try:
            outcomes, written = await self._transaction(
                [(attributes, event) for _, attributes, event in decoded]
            )
        except Exception as error:
            log.info("%s: batch of %d failed (%s); one by one", self.name, len(decoded), error)
            for record, _, _ in decoded:
                await self.handle(record)
            return
        await self._dispatch(written)
        for outcome, count in outcomes.items():
            EVENTS_CONSUMED.labels(self.name, outcome).inc(count)

    async def _wait_out(
        self, error: Exception, events: list[tuple[CloudEventAttributes, E]]
    ) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """Hold the record until the transient failure is over; then it takes effect."""
        self.stalled = f"{type(error).__name__}: {error}"[:500]
        CONSUMER_WAITING.labels(self.name).set(1)
        log.warning("%s: waiting out %s", self.name, self.stalled)

        def note(state: RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            self.stalled = f"{type(failure).__name__}: {failure}"[:500]
            EVENTS_CONSUMED.labels(self.name, "waiting").inc()

        try:
            waiting = until_available(
                initial_s=self.retry_backoff_s, max_s=self.max_backoff_s, on_retry=note
            )
            return await waiting(self._transaction, events)
        finally:
            self.stalled = None
            CONSUMER_WAITING.labels(self.name).set(0)

    def _decode(self, record: IncomingRecord) -> tuple[CloudEventAttributes, E]:
        attributes, event = decode(record.headers, record.body)
        if self.ignores and isinstance(event, self.ignores):
            raise IgnoredEventError(event.ce_type)
        if not isinstance(event, self.handles):
            expected = getattr(self.handles, "ce_type", self.handles.__name__)
            raise UnprocessableEventError(f"expected {expected}, got {event.ce_type}")
        if self.verify is not None and (problem := self.verify(record, event)):
            raise UnprocessableEventError(problem)
        return attributes, event

    async def handle(self, record: IncomingRecord) -> str:
        """Process one record; return the outcome (applied, duplicate, dead_lettered)."""
        try:
            attributes, event = self._decode(record)
        except IgnoredEventError:
            EVENTS_CONSUMED.labels(self.name, "ignored").inc()
            return "ignored"
        except InvalidCloudEventError as error:
            return await self._dead_letter(record, str(error))
        except UnprocessableEventError as error:
            return await self._dead_letter(record, f"unprocessable: {error}")
        retrying = bounded(
            self.max_attempts,
            initial_s=self.retry_backoff_s,
            on_retry=log_retry(log, f"{self.name}: event {attributes.id}"),
        )
        outcomes: dict[str, int]
        written: list[dict[str, Any]]
        try:
            try:
                outcomes, written = await retrying(self._transaction, [(attributes, event)])
            except Exception as error:
                if classify(error) is not Verdict.TRANSIENT:
                    raise
                outcomes, written = await self._wait_out(error, [(attributes, event)])
        except Exception as error:
            if classify(error) is Verdict.REFUSED:
                return await self._dead_letter(record, f"unprocessable: {error}")
            attempts = retrying.statistics.get("attempt_number", self.max_attempts)
            reason = f"failed {attempts} times, last: {type(error).__name__}: {error}"
            return await self._dead_letter(record, reason)
        await self._dispatch(written)
        outcome: str = "applied" if outcomes["applied"] else "duplicate"
        EVENTS_CONSUMED.labels(self.name, outcome).inc()
        return outcome

    async def _transaction(
        self, events: Sequence[tuple[CloudEventAttributes, E]]
    ) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """Claim and apply ``events`` in one transaction; return outcomes and outbox rows."""
        outcomes = {"applied": 0, "duplicate": 0}
        written: list[dict[str, Any]] = []
        try:
            async with write_transaction(self.sessions) as session:
                fresh = await first_deliveries(
                    session,
                    consumer=self.name,
                    event_ids=[str(attributes.id) for attributes, _ in events],
                    clock=self.clock,
                )
                todo = []
                for attributes, event in events:
                    if str(attributes.id) not in fresh:
                        outcomes["duplicate"] += 1
                        continue
                    fresh.discard(str(attributes.id))  # the same event twice in one batch
                    todo.append((attributes, event))
                if self.prepare is not None and todo:
                    await self.prepare(session, [event for _, event in todo])
                # one flush at commit instead of one before every query of every event
                with session.no_autoflush:
                    for attributes, event in todo:
                        token = REPORT_ID.set(_report_id(event))
                        try:
                            await self.apply(session, attributes, event)
                        finally:
                            REPORT_ID.reset(token)
                        outcomes["applied"] += 1
                written = list(staged(session))
                if self.outbox is not None:
                    self.outbox.claim(written)  # before commit: the relay must not race us
        except BaseException:
            if self.outbox is not None and written:
                self.outbox.release(written)
            raise
        return outcomes, written

    async def _dispatch(self, written: list[dict[str, Any]]) -> None:
        """Publish what the transaction wrote before the offset is committed.

        Without a relay in this process the rows wait for whichever relay runs; when publishing
        fails, the error reaches FastStream (the offset is not committed, the record comes
        again, is found a duplicate) and the relay publishes the rows once the broker is back.
        """
        if self.outbox is not None and written:
            await self.outbox.dispatch(written)

    async def _dead_letter(self, record: IncomingRecord, reason: str) -> str:
        token = REPORT_ID.set(record.key.decode("utf-8", "replace") if record.key else None)
        try:
            return await self._publish_dead_letter(record, reason)
        finally:
            REPORT_ID.reset(token)

    async def _publish_dead_letter(self, record: IncomingRecord, reason: str) -> str:
        headers = {
            **record.headers,
            "x-deadletter-reason": reason[:1000],
            "x-deadletter-consumer": self.name,
            "x-original-topic": record.topic,
            "x-original-partition": str(record.partition),
            "x-original-offset": str(record.offset),
            "x-deadlettered-at": self.clock.now().isoformat(),
        }
        await self.broker.publish(
            record.body, self.dead_letter_topic, key=record.key, headers=headers
        )
        log.warning("%s: dead-lettered %s@%s: %s", self.name, record.topic, record.offset, reason)
        EVENTS_CONSUMED.labels(self.name, "dead_lettered").inc()
        DEAD_LETTERS.labels(record.topic, reason_kind(reason)).inc()
        return "dead_lettered"


def _report_id(event: Event) -> str | None:
    report_id = getattr(event, "report_id", None)
    return str(report_id) if report_id is not None else None


def records_from_message(message: KafkaMessage) -> list[IncomingRecord]:
    """Adapt FastStream's message (a tuple of aiokafka ``ConsumerRecord``s) to records."""
    raw = message.raw_message
    return [
        IncomingRecord(
            record.topic,
            record.partition,
            record.offset,
            {key: value.decode("utf-8", "replace") for key, value in record.headers},
            record.value or b"",
            record.key,
        )
        for record in (raw if isinstance(raw, (tuple, list)) else (raw,))
    ]


def subscribe(
    broker: KafkaBroker,
    spec: TopicSpec | None,
    consumer: EventConsumer[Any],
    *,
    group_id: str,
    description: str,
    max_records: int = 500,
    pattern: str | None = None,
    urgent: bool = False,
) -> None:
    """Register ``consumer`` on ``spec``'s topic (or every topic matching ``pattern``, written
    like ``buursignaal.delivery.{recipient_id}.v1``) in batches of up to ``max_records``.

    An ``urgent`` consumer gets each record as soon as the broker has it (a report on its way
    to the authority). Any other lets the broker collect for up to ``COLLECT_MS`` before it
    answers a fetch: larger batches, far fewer transactions and fetch requests (a fetch on the
    delivery pattern names every recipient's topic), a fraction of a second later.

    The offsets are committed after the handler returns; when it raises, the consumer is
    rewound to the batch's first record (``NACK_ON_ERROR``) and the batch comes again.
    """

    async def handle(message: KafkaMessageParam) -> None:
        await consumer.handle_batch(records_from_message(message))

    source = pattern if spec is None else spec.name
    if source is None:
        raise ValueError("subscribe needs a topic or a pattern")
    handle.__name__ = f"{consumer.name}_{re.sub(r'[^A-Za-z0-9]+', '_', source)}"
    topics = () if spec is None else (spec.name,)
    broker.subscriber(
        *topics,
        pattern=pattern,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=50,
        fetch_min_bytes=1 if urgent else COLLECT_BYTES,
        fetch_max_wait_ms=URGENT_FETCH_WAIT_MS if urgent else COLLECT_MS,
        title=f"{group_id}:{source}",
        description=description,
    )(handle)
