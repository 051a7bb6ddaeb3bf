"""The idempotent-consumer guard: effects of one event are committed at most once per consumer.

Call ``first_delivery`` inside the transaction that applies the event's effects.  The claim and
the effects commit together, so a crash before commit redelivers and redoes both, and a
redelivery after commit finds the claim and does nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.runtime.clock import Clock
from services.runtime.database import dialect_insert
from services.runtime.models import ProcessedEvent


async def first_delivery(
    session: AsyncSession, *, consumer: str, event_id: str, clock: Clock
) -> bool:
    """Claim ``event_id`` for ``consumer``; False when an earlier delivery already claimed it."""
    values = {"consumer": consumer, "event_id": event_id, "processed_at": clock.now()}
    insert = dialect_insert(session)
    statement = (
        insert(ProcessedEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
    )
    claimed = (await session.exec(statement.returning(col(ProcessedEvent.event_id)))).first()
    return claimed is not None


async def first_deliveries(
    session: AsyncSession, *, consumer: str, event_ids: Sequence[str], clock: Clock
) -> set[str]:
    """``first_delivery`` for a batch in one statement: the ids claimed now (not before)."""
    if not event_ids:
        return set()
    now = clock.now()
    insert = dialect_insert(session)
    statement = (
        insert(ProcessedEvent)
        .values([{"consumer": consumer, "event_id": i, "processed_at": now} for i in event_ids])
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(col(ProcessedEvent.event_id))
    )
    return {str(row[0]) for row in (await session.exec(statement)).all()}
