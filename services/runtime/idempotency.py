"""The idempotent-consumer guard: effects of one event are committed at most once per consumer.

Call ``first_delivery`` inside the transaction that applies the event's effects.  The claim and
the effects commit together, so a crash before commit redelivers and redoes both, and a
redelivery after commit finds the claim and does nothing.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.runtime.clock import Clock
from services.runtime.models import ProcessedEvent


async def first_delivery(
    session: AsyncSession, *, consumer: str, event_id: str, clock: Clock
) -> bool:
    """Claim ``event_id`` for ``consumer``; False when an earlier delivery already claimed it."""
    values = {"consumer": consumer, "event_id": event_id, "processed_at": clock.now()}
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(ProcessedEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
    )
    claimed = (await session.exec(statement.returning(col(ProcessedEvent.event_id)))).first()
    return claimed is not None
