"""The notifier's actions in real transactions on SQLite and PostgreSQL, with a clock the test
moves (the ``world`` fixture in conftest.py); shared by the leg, obligation and incident tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import col, select

from schemas.leg import Actor, ActorKind, LegStatus
from services.notifier.actions import Legs
from services.notifier.models import Leg
from services.notifier.norms import Norms
from services.notifier.worktime import AMSTERDAM, WorkingCalendar
from services.runtime.clock import FixedClock
from services.runtime.database import SessionFactory, make_engine, session_factory
from services.runtime.migrations import upgrade
from services.runtime.models import OutboxMessage

EXPLAINED = "Wij hebben de afzuiging hersteld; de geur is bij controle verdwenen."


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=AMSTERDAM)


def utc(moment: datetime | None) -> datetime | None:
    """SQLite returns naive UTC datetimes; PostgreSQL aware ones."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def authority(recipient_id: str) -> Actor:
    return Actor(kind=ActorKind.AUTHORITY, actor_id=recipient_id)


@dataclass
class World:
    sessions: SessionFactory
    clock: FixedClock
    legs: Legs

    async def open(self, *deliveries: object) -> list[Leg]:
        async with self.sessions() as session, session.begin():
            return [await self.legs.open_leg(session, d) for d in deliveries]  # type: ignore[arg-type]

    async def change(self, leg_id: str, status: LegStatus, actor: Actor, **extra: str) -> Leg:
        async with self.sessions() as session, session.begin():
            leg = await session.get(Leg, leg_id)
            assert leg is not None
            return await self.legs.change_status(session, leg, status, actor, **extra)

    async def tick(self, legs: Legs | None = None) -> int:
        async with self.sessions() as session, session.begin():
            return await (legs or self.legs).tick(session)

    async def leg(self, leg_id: str) -> Leg:
        async with self.sessions() as session:
            leg = await session.get(Leg, leg_id)
            assert leg is not None
            return leg

    async def events(self, topic_part: str) -> list[dict[str, object]]:
        async with self.sessions() as session:
            rows = (
                await session.exec(
                    select(OutboxMessage)
                    .where(col(OutboxMessage.topic).contains(topic_part))
                    .order_by(col(OutboxMessage.id))
                )
            ).all()
        return [json.loads(row.payload) for row in rows]


async def open_world(database_url: str, norms: Norms | None = None) -> AsyncIterator[World]:
    upgrade("notifier", database_url)
    engine = make_engine(database_url)
    clock = FixedClock(local(2026, 11, 20, 15, 0))  # a Friday afternoon
    try:
        legs = Legs(WorkingCalendar(), norms or Norms(), clock)
        yield World(session_factory(engine), clock, legs)
    finally:
        await engine.dispose()
