"""The transactional outbox: events are rows committed with the state change, then relayed.

``enqueue`` adds the row in the caller's transaction.  ``OutboxRelay`` publishes unsent rows in
id order with the idempotent producer (``acks=all``) and marks them sent afterwards; a crash
between publishing and marking republishes the same ``ce_id``, which consumers deduplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from typing import Any, NotRequired, Protocol, TypedDict, Unpack
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, Row, Table, and_, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from tenacity import RetryCallState

from schemas._base import Event
from schemas.cloudevents import headers_for
from services.runtime.clock import Clock
from services.runtime.database import (
    SessionFactory,
    engine_of,
    stage_insert,
    staged_inserts,
    table_of,
    write_transaction,
    writing,
)
from services.runtime.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISHED,
    RELAY_ERRORS,
)
from services.runtime.models import OutboxMessage
from services.runtime.retries import patient

log = logging.getLogger(__name__)
BACKLOG_MEASURE_INTERVAL_S = 1.0
OUTBOX_TABLE: Table = table_of(OutboxMessage)


class Publish(Protocol):
    """Send one record; the returned awaitable resolves once the broker acknowledged it."""

    async def __call__(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> Awaitable[object]: ...


class Addressed(TypedDict):
    """Where ``enqueue`` sends an event: the parameters of ``outbox_values``."""

    topic: str
    key: str
    source: str
    clock: Clock
    event_id: NotRequired[UUID | None]


def enqueue(session: AsyncSession, event: Event, **where: Unpack[Addressed]) -> str:
    """Add ``event`` to the outbox inside the caller's transaction; return its CloudEvents id.

    The row is written when the transaction commits, with every other row staged in it
    (``stage_insert``).
    """
    values = outbox_values(event, **where)
    stage_insert(session, OUTBOX_TABLE, values)
    return str(values["event_id"])


def staged(session: AsyncSession) -> list[dict[str, Any]]:
    """The outbox rows this transaction will write when it commits."""
    return staged_inserts(session, OUTBOX_TABLE)


def outbox_values(
    event: Event,
    *,
    topic: str,
    key: str,
    source: str,
    clock: Clock,
    event_id: UUID | None = None,
) -> dict[str, Any]:
    """The outbox table's column values for ``event`` (for bulk inserts by a group commit)."""
    now = clock.now()
    headers = headers_for(event, source=source, event_id=event_id or uuid4(), time=now)
    return {
        "event_id": headers["ce_id"],
        "topic": topic,
        "key": key,
        "headers": headers,
        "payload": event.model_dump_json().encode(),
        "created_at": now,
        "sent_at": None,
    }


@dataclass(eq=False)
class OutboxRelay:
    """Publishes the committed outbox rows in order, marks them sent, and keeps polling."""

    sessions: SessionFactory
    publish: Publish
    clock: Clock
    _: KW_ONLY
    batch_size: int = 500
    poll_interval_s: float = 0.05
    on_batch_published: Callable[[Sequence[Row[Any]]], Awaitable[None]] | None = None
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _claimed: set[str] = field(default_factory=set, init=False, repr=False)

    def claim(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rows about to be committed that their writer will ``dispatch`` itself."""
        self._claimed.update(str(row["event_id"]) for row in rows)

    def release(self, rows: Sequence[dict[str, Any]]) -> None:
        """Hand claimed rows back to the relay (their writer could not dispatch them)."""
        self._claimed.difference_update(str(row["event_id"]) for row in rows)
        self.wake()

    async def dispatch(self, rows: Sequence[dict[str, Any]]) -> None:
        """Publish just-committed rows now and mark them sent; on failure the relay takes over.

        Consumers call this before their offsets are committed, so that in the normal path an
        input is acknowledged only once its outputs are on the broker.
        """
        if not rows:
            return
        try:
            acknowledgements = [
                await self.publish(
                    row["topic"], row["key"].encode(), row["payload"], row["headers"]
                )
                for row in rows
            ]
            await asyncio.gather(*acknowledgements)
            async with write_transaction(self.sessions) as session:
                connection = await session.connection()
                await connection.execute(
                    update(OUTBOX_TABLE)
                    .where(OUTBOX_TABLE.c.event_id.in_([row["event_id"] for row in rows]))
                    .values(sent_at=self.clock.now())
                )
        except BaseException:
            self.release(rows)
            raise
        self._claimed.difference_update(str(row["event_id"]) for row in rows)
        for row in rows:
            OUTBOX_PUBLISHED.labels(row["topic"]).inc()

    def wake(self) -> None:
        """Tell the relay that new rows were committed (saves waiting for the next poll)."""
        self._wakeup.set()

    async def relay_once(self) -> int:
        """Publish one batch of unsent rows in order; return how many were published."""
        engine = engine_of(self.sessions)
        if engine.dialect.name == "postgresql":
            # Rows stay locked from selection to marking, so several relays can run.
            async with self.sessions() as session:
                rows = await self._unsent(session, lock=True)
                if rows:
                    await self._publish_all(rows)
                    await self._mark_sent(session, rows)
                await session.commit()
        else:
            # SQLite: read, publish, then take the single writer's turn only to mark.
            async with self.sessions() as session:
                rows = await self._unsent(session, lock=False)
            # closing the session ended the read transaction; the rows keep their values
            if rows:
                await self._publish_all(rows)
                async with writing(engine), self.sessions() as session:
                    await self._mark_sent(session, rows)
                    await session.commit()
        for row in rows:
            OUTBOX_PUBLISHED.labels(row.topic).inc()
        return len(rows)

    async def _unsent(self, session: AsyncSession, *, lock: bool) -> list[Any]:
        """Plain rows (no ORM objects: the relay is on every report's path).

        Rows claimed by a consumer that dispatches them itself are skipped; while there are
        claims, the ids are read first so that their payloads are not read for nothing.
        """
        table = OUTBOX_TABLE
        unsent: ColumnElement[bool] = table.c.sent_at.is_(None)
        connection = await session.connection()
        if self._claimed:
            ids = (
                await connection.execute(
                    sa_select(table.c.id, table.c.event_id)
                    .where(unsent)
                    .order_by(table.c.id)
                    .limit(self.batch_size)
                )
            ).all()
            wanted = [row.id for row in ids if row.event_id not in self._claimed]
            if not wanted:
                return []
            unsent = and_(unsent, table.c.id.in_(wanted))
        query = (
            sa_select(
                table.c.id,
                table.c.event_id,
                table.c.topic,
                table.c.key,
                table.c.headers,
                table.c.payload,
            )
            .where(unsent)
            .order_by(table.c.id)
            .limit(self.batch_size)
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        rows = (await connection.execute(query)).all()  # Row objects
        return [row for row in rows if row.event_id not in self._claimed]

    async def _publish_all(self, rows: Sequence[Row[Any]]) -> None:
        acknowledgements = [
            await self.publish(row.topic, row.key.encode(), row.payload, dict(row.headers))
            for row in rows
        ]
        await asyncio.gather(*acknowledgements)
        if self.on_batch_published is not None:
            await self.on_batch_published(rows)

    async def _mark_sent(self, session: AsyncSession, rows: Sequence[Row[Any]]) -> None:
        ids = [row.id for row in rows]
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(ids))
            .values(sent_at=self.clock.now())
        )

    async def measure_backlog(self) -> tuple[int, float]:
        async with self.sessions() as session:
            count, oldest = (
                await session.exec(
                    select(func.count(), func.min(OutboxMessage.created_at)).where(
                        col(OutboxMessage.sent_at).is_(None)
                    )
                )
            ).one()
        age = 0.0
        if oldest is not None:
            oldest_at: datetime = oldest  # aware: the column is a UTCDateTime
            age = max(0.0, (self.clock.now() - oldest_at).total_seconds())
        OUTBOX_BACKLOG.set(count)
        OUTBOX_OLDEST_AGE.set(age)
        return int(count), age

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; errors are counted, logged and retried with backoff."""
        measured_at = 0.0
        while not stop.is_set():
            retrying = patient(
                initial_s=self.poll_interval_s, max_s=10.0, stop=stop, on_retry=self._failed
            )
            published = 0
            try:
                async for attempt in retrying:
                    with attempt:
                        published = await self.relay_once()
                        if time.monotonic() - measured_at >= BACKLOG_MEASURE_INTERVAL_S:
                            await self.measure_backlog()
                            measured_at = time.monotonic()
            except Exception:
                if stop.is_set():
                    return
                raise
            if published:
                continue
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self.poll_interval_s)

    @staticmethod
    def _failed(state: RetryCallState) -> None:
        RELAY_ERRORS.inc()
        error = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.error("outbox relay round failed; retrying in %.1f s", wait, exc_info=error)
