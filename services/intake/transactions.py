"""A write transaction on intake's database: the one opening every intake action uses.

Local to intake until the runtime offers the same helper; replace ``write_transaction`` with
the runtime's and nothing else changes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlmodel.ext.asyncio.session import AsyncSession

from services.runtime.database import SessionFactory, engine_of, writing


@contextlib.asynccontextmanager
async def write_transaction(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session in a transaction that commits on leaving (SQLite writers serialised)."""
    async with writing(engine_of(sessions)), sessions() as session, session.begin():
        yield session
