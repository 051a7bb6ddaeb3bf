"""Legs, clocks and the ladder on SQLite and PostgreSQL, with a clock the test moves.

No broker here: these are the notifier's actions inside real transactions; the service tests
run the same actions through Kafka.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlmodel import col, select

from schemas.leg import LegStatus
from schemas.report import HealthSymptom
from schemas.routing import Role
from services.notifier.actions import Legs
from services.notifier.models import EscalationFired, Leg, LegHistory, MailJob
from services.notifier.norms import Norms
from services.notifier.transitions import TransitionError
from services.notifier.worktime import WorkingCalendar
from services.runtime.clock import FixedClock
from services.runtime.database import make_engine, session_factory
from services.runtime.migrations import upgrade
from tests.notifier.world import EXPLAINED, World, authority, local, utc
from tests.support.factories import delivered, recipient, report_received
from tools.local.postgres import ThrowawayPostgres


async def test_multi_recipient_report_from_delivery_to_resolution(world: World) -> None:
    report = report_received()
    province, od = await world.open(
        delivered(report, recipient("pv27")),
        delivered(report, recipient("od-odnzkg", Role.EXECUTING_BODY)),
    )
    again = await world.open(delivered(report, recipient("pv27")))
    assert [leg.id for leg in again] == [province.id], "one leg per recipient"
    # acknowledge within one working day: Friday 15:00 -> Monday 15:00
    assert utc((await world.leg(od.id)).next_due_at) == local(2026, 11, 23, 15, 0)
    world.clock.set(local(2026, 11, 23, 9, 0))
    await world.change(od.id, LegStatus.ACKNOWLEDGED, authority("od-odnzkg"), handler="desk 3")
    after_ack = await world.leg(od.id)
    assert after_ack.deadline_kind == "resolve"
    # ten working days from the delivery, not from the acknowledgement
    assert utc(after_ack.next_due_at) == local(2026, 12, 4, 15, 0)
    world.clock.set(local(2026, 11, 25, 10, 0))
    await world.change(od.id, LegStatus.RESOLVED, authority("od-odnzkg"), explanation=EXPLAINED)
    closed = await world.leg(od.id)
    assert (closed.status, closed.next_due_at, closed.explanation) == ("resolved", None, EXPLAINED)
    async with world.sessions() as session:
        history = (await session.exec(select(LegHistory).where(LegHistory.leg_id == od.id))).all()
        mails = (await session.exec(select(MailJob).order_by(col(MailJob.id)))).all()
    assert [h.to_status for h in history] == ["delivered", "acknowledged", "resolved"]
    assert [m.kind for m in mails] == ["acknowledged", "closed"]
    assert mails[1].context["explanation"] == EXPLAINED
    statuses = [(e["recipient_id"], e["status"]) for e in await world.events("leg.status")]
    assert statuses == [
        ("pv27", "delivered"),
        ("od-odnzkg", "delivered"),
        ("od-odnzkg", "acknowledged"),
        ("od-odnzkg", "resolved"),
    ]
    assert (await world.leg(province.id)).status == "delivered", "legs are independent"


@pytest.mark.parametrize(
    ("delivered_at", "acknowledge_by"),
    [
        (local(2026, 11, 20, 15, 0), local(2026, 11, 23, 15, 0)),  # over a weekend
        (local(2025, 12, 24, 16, 0), local(2025, 12, 29, 16, 0)),  # Christmas, Boxing Day
        (local(2026, 4, 24, 12, 0), local(2026, 4, 28, 12, 0)),  # King's Day, Monday 27 April
        (local(2026, 11, 21, 22, 0), local(2026, 11, 23, 17, 0)),  # Saturday: all of Monday
    ],
)
async def test_acknowledgement_deadlines_skip_weekends_and_holidays(
    world: World, delivered_at: datetime, acknowledge_by: datetime
) -> None:
    world.clock.set(delivered_at)
    (leg,) = await world.open(delivered(report_received(), recipient("gm0453")))
    assert utc((await world.leg(leg.id)).next_due_at) == acknowledge_by


async def test_health_symptoms_shorten_the_acknowledgement_to_four_working_hours(
    world: World,
) -> None:
    report = report_received(health_symptoms=[HealthSymptom.BREATHING])
    (leg,) = await world.open(delivered(report, recipient("gm0453")))
    assert utc((await world.leg(leg.id)).next_due_at) == local(2026, 11, 23, 10, 30)


async def test_ladder_fires_each_rung_once_across_restarts(world: World) -> None:
    report = report_received()
    _, od = await world.open(
        delivered(report, recipient("pv27")),
        delivered(report, recipient("od-odnzkg", Role.EXECUTING_BODY)),
    )
    assert await world.tick() == 0
    world.clock.set(local(2026, 11, 23, 15, 0))  # 1x the acknowledgement deadline
    assert await world.tick() == 2  # both legs: reminder
    assert await world.tick() == 0
    restarted = Legs(WorkingCalendar(), Norms(), world.clock)  # a new process, same database
    assert await world.tick(restarted) == 0
    world.clock.set(local(2026, 11, 24, 15, 0))  # 2x
    assert await world.tick(restarted) == 2
    world.clock.set(local(2026, 11, 30, 9, 0))  # past 3x
    assert await world.tick(restarted) == 2
    assert await world.tick(restarted) == 0
    escalations = [
        e for e in await world.events("leg.escalated") if e["recipient_id"] == "od-odnzkg"
    ]
    assert [(e["step"], e["notify"]) for e in escalations] == [
        ("reminder", ["od-odnzkg"]),
        ("commissioning_authority", ["pv27"]),
        ("administrative_lead", ["pv27-bestuur"]),
    ]
    # a crash after firing but before the leg was saved: the rung is not fired again
    async with world.sessions() as session, session.begin():
        leg = await session.get(Leg, od.id)
        assert leg is not None
        leg.next_step, leg.next_due_at = 1, local(2026, 11, 23, 15, 0)
        session.add(leg)
    assert await world.tick(restarted) == 0
    async with world.sessions() as session:
        fired = (await session.exec(select(EscalationFired))).all()
    assert len(fired) == 6


async def test_waiting_for_the_resident_pauses_the_clock(world: World) -> None:
    (leg,) = await world.open(delivered(report_received(), recipient("gm0453")))
    world.clock.set(local(2026, 11, 23, 9, 0))
    await world.change(leg.id, LegStatus.ACKNOWLEDGED, authority("gm0453"))
    resolve_by = (await world.leg(leg.id)).next_due_at
    await world.change(leg.id, LegStatus.WAITING_FOR_RESIDENT, authority("gm0453"))
    assert (await world.leg(leg.id)).next_due_at is None
    world.clock.set(local(2026, 11, 25, 9, 0))  # two working days later
    await world.change(leg.id, LegStatus.IN_PROGRESS, authority("gm0453"))
    resumed = await world.leg(leg.id)
    before = utc(resolve_by)
    assert before is not None
    assert utc(resumed.next_due_at) == WorkingCalendar().add(before, 2 * 8.5)


async def test_reopening_restarts_the_ladder(world: World) -> None:
    (leg,) = await world.open(delivered(report_received(), recipient("gm0453")))
    await world.change(leg.id, LegStatus.ACKNOWLEDGED, authority("gm0453"))
    await world.change(leg.id, LegStatus.RESOLVED, authority("gm0453"), explanation=EXPLAINED)
    world.clock.set(local(2026, 12, 1, 10, 0))
    async with world.sessions() as session, session.begin():
        stored = await session.get(Leg, leg.id)
        assert stored is not None
        await world.legs.answer_feedback(session, stored, solved=False)
    reopened = await world.leg(leg.id)
    assert (reopened.status, reopened.cycle) == ("reopened", 1)
    assert utc(reopened.next_due_at) == local(
        2026, 12, 15, 10, 0
    )  # ten working days from reopening
    world.clock.set(local(2026, 12, 15, 10, 0))
    assert await world.tick() == 1, "the reopened leg's ladder starts again at the first rung"
    with pytest.raises(TransitionError, match="cannot set"):
        await world.change(leg.id, LegStatus.DELIVERED, authority("gm0453"))


@pytest.fixture
async def postgres_world(postgres_server: ThrowawayPostgres) -> AsyncIterator[World]:
    """The world on PostgreSQL alone: row locks are what the next two tests are about."""
    database_url = postgres_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
    upgrade("notifier", database_url)
    engine = make_engine(database_url)
    clock = FixedClock(local(2026, 11, 20, 15, 0))
    try:
        yield World(session_factory(engine), clock, Legs(WorkingCalendar(), Norms(), clock))
    finally:
        await engine.dispose()


async def overdue_leg(world: World) -> Leg:
    """A leg acknowledged on Monday whose resolve deadline (Friday 4 December) has passed."""
    (leg,) = await world.open(delivered(report_received(), recipient("gm0453")))
    world.clock.set(local(2026, 11, 23, 9, 0))
    await world.change(leg.id, LegStatus.ACKNOWLEDGED, authority("gm0453"))
    world.clock.set(local(2026, 12, 4, 15, 30))
    return await world.leg(leg.id)


@pytest.mark.postgres
async def test_a_tick_between_reading_and_changing_a_leg_is_not_overwritten(
    postgres_world: World,
) -> None:
    """Connection A reads a leg whose acknowledgement is overdue; connection B's tick fires the
    reminder (next rung: 2) and commits; then A acknowledges. The acknowledgement starts the
    resolve ladder at its first rung: it must not keep the tick's rung 2, which it would if A
    wrote what it had read before the tick (rung 1, so "unchanged") over B's update."""
    world = postgres_world
    (leg,) = await world.open(delivered(report_received(), recipient("gm0453")))
    world.clock.set(local(2026, 11, 23, 15, 30))  # Monday: the acknowledgement is overdue
    async with world.sessions() as session, session.begin():
        read_before_the_tick = await session.get(Leg, leg.id)
        assert read_before_the_tick is not None
        assert read_before_the_tick.next_step == 1
        assert await asyncio.wait_for(world.tick(), 10) == 1  # B: reminder, committed
        await world.legs.change_status(
            session, read_before_the_tick, LegStatus.ACKNOWLEDGED, authority("gm0453")
        )
    stored = await world.leg(leg.id)
    assert (stored.deadline_kind, stored.next_step) == ("resolve", 1)
    assert utc(stored.next_due_at) == local(2026, 12, 4, 15, 0), "ten working days"


@pytest.mark.postgres
async def test_a_tick_skips_a_leg_while_its_status_is_being_changed(
    postgres_world: World,
) -> None:
    """Connection A holds the leg in a status change; B's tick neither waits nor fires it; after
    A commits, the next tick fires the rung from A's result."""
    world = postgres_world
    leg = await overdue_leg(world)
    async with world.sessions() as session, session.begin():
        changing = await session.get(Leg, leg.id)
        assert changing is not None
        await world.legs.change_status(
            session, changing, LegStatus.IN_PROGRESS, authority("gm0453")
        )
        assert await asyncio.wait_for(world.tick(), 10) == 0, "locked: skipped, not fired"
    stored = await world.leg(leg.id)
    assert (stored.status, stored.next_step) == ("in_progress", 1)
    assert await world.tick() == 1, "the reminder fires once the change is committed"
    assert (await world.leg(leg.id)).next_step == 2
