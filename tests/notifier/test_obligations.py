"""Obligations follow the role (issue 16 §1), on SQLite and PostgreSQL, and through the real
broker.

An informed party and an advisor get the delivery but no deadline, no ladder and no "overdue";
an advisor gets an advice deadline only where the norms set one, and then at most a reminder.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy import insert
from sqlmodel import col, select

from schemas.cloudevents import decode
from schemas.leg import DeadlineKind, EscalationRaised, LegStatus
from schemas.routing import Role
from schemas.topics import ESCALATION, LEG_STATUS, delivery_topic
from services.notifier.actions import leg_id_for
from services.notifier.api import leg_out
from services.notifier.authorities import register_authority
from services.notifier.models import CaseFile, EscalationFired, Leg, LegHistory
from services.notifier.norms import Norm, Norms
from services.notifier.transitions import TransitionError
from services.runtime.broker import ensure_topics
from services.runtime.database import make_engine, session_factory
from services.runtime.migrations import upgrade
from tests.notifier.conftest import NotifierUnderTest
from tests.notifier.test_notifier_service import publish
from tests.notifier.world import EXPLAINED, World, authority, local, open_world, utc
from tests.support.factories import delivered, recipient, report_received
from tests.support.kafka import Record, consume_until, headers_of, wait_async


@pytest.fixture
async def advice_world(database_url: str) -> AsyncIterator[World]:
    """A norms file that gives the GGD five working days to advise on odour."""
    norms = Norms(overrides={"advisor:odour": Norm(advice_days=5)})
    async for opened in open_world(database_url, norms):
        yield opened


async def test_informed_and_advising_legs_get_no_deadline_and_no_escalation(
    world: World,
) -> None:
    report = report_received()
    ca, informed, ggd = await world.open(
        delivered(report, recipient("pv27")),
        delivered(report, recipient("gm0453", Role.INFORMED)),
        delivered(report, recipient("ggd-kennemerland", Role.ADVISOR)),
    )
    for leg in (informed, ggd):
        stored = await world.leg(leg.id)
        assert (stored.deadline_kind, stored.next_due_at) == (None, None)
        assert leg_out(stored).obligation in {"informed", "advise"}
        assert leg_out(stored).overdue_steps == 0
    assert utc((await world.leg(ca.id)).next_due_at) == local(2026, 11, 23, 15, 0)
    world.clock.set(local(2027, 1, 20, 9, 0))  # two months later
    assert await world.tick() == 3, "only the competent authority's three rungs"
    assert await world.tick() == 0
    escalated = {e["recipient_id"] for e in await world.events("leg.escalated")}
    assert escalated == {"pv27"}
    by_recipient = {e["recipient_id"]: e for e in await world.events("leg.status")}
    assert by_recipient["gm0453"]["respond_by"] is None
    assert by_recipient["ggd-kennemerland"]["respond_by"] is None


async def test_an_informed_party_reads_and_notes_but_answers_nothing(world: World) -> None:
    (leg,) = await world.open(delivered(report_received(), recipient("gm0453", Role.INFORMED)))
    with pytest.raises(TransitionError, match="informed party has nothing to answer"):
        await world.change(leg.id, LegStatus.RESOLVED, authority("gm0453"), explanation=EXPLAINED)
    await world.change(leg.id, LegStatus.ACKNOWLEDGED, authority("gm0453"))
    async with world.sessions() as session, session.begin():
        stored = await session.get(Leg, leg.id)
        assert stored is not None
        await world.legs.add_note(session, stored, authority("gm0453"), "Bekend bij de wethouder.")
    acknowledged = await world.leg(leg.id)
    assert (acknowledged.status, acknowledged.next_due_at) == ("acknowledged", None)
    assert acknowledged.acknowledged_at is not None
    async with world.sessions() as session:
        history = (
            await session.exec(
                select(LegHistory).where(LegHistory.leg_id == leg.id).order_by(col(LegHistory.id))
            )
        ).all()
    assert [(h.to_status, h.explanation) for h in history] == [
        ("delivered", "delivered"),
        ("acknowledged", None),
        ("acknowledged", "Bekend bij de wethouder."),
    ]


async def test_an_advice_deadline_only_where_the_norms_set_one_and_at_most_a_reminder(
    advice_world: World,
) -> None:
    world = advice_world
    (ggd,) = await world.open(
        delivered(report_received(), recipient("ggd-kennemerland", Role.ADVISOR))
    )
    stored = await world.leg(ggd.id)
    assert stored.deadline_kind == "advice"
    assert utc(stored.next_due_at) == local(2026, 11, 27, 15, 0), "five working days"
    world.clock.set(local(2027, 1, 20, 9, 0))
    assert await world.tick() == 1
    assert await world.tick() == 0
    [reminder] = await world.events("leg.escalated")
    assert (reminder["step"], reminder["notify"]) == ("reminder", ["ggd-kennemerland"])
    await world.change(ggd.id, LegStatus.ACKNOWLEDGED, authority("ggd-kennemerland"))
    assert (await world.leg(ggd.id)).next_due_at is None, "the one rung has fired"


def test_the_default_norms_give_informed_and_advising_roles_no_deadline() -> None:
    norms = Norms()
    for role in (Role.INFORMED, Role.ADVISOR):
        for kind in ("acknowledge", "resolve", "advice"):
            hours = norms.hours(
                DeadlineKind(kind), role=role, category="odour", urgent=True, day_hours=8.5
            )
            assert hours is None
    answering = norms.hours(
        DeadlineKind("resolve"), role=Role.EXECUTING_BODY, category="odour", urgent=False,
        day_hours=8.5,
    )  # fmt: skip
    assert answering == 85


async def test_the_migration_takes_deadlines_from_existing_informed_legs_keeping_history(
    database_url: str,
) -> None:
    upgrade("notifier", database_url, "notifier_0004")
    engine = make_engine(database_url)
    start = local(2026, 11, 2, 9, 0)
    report_id = str(uuid.uuid4())
    legs = {role: str(uuid.uuid4()) for role in ("competent_authority", "informed", "advisor")}
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(CaseFile.__table__),  # type: ignore[attr-defined]
                [{"report_id": report_id, "reporter_key": "0" * 64, "category": "odour",
                  "language": "nl", "urgent": False, "received_at": start}],
            )  # fmt: skip
            await connection.execute(
                insert(Leg.__table__),  # type: ignore[attr-defined]
                [{"id": leg_id, "report_id": report_id, "recipient_id": f"r-{role[:4]}",
                  "recipient_name": role, "role": role, "category": "odour", "routing_round": 1,
                  "status": "delivered", "delivered_at": start, "cycle": 0,
                  "deadline_kind": "acknowledge", "clock_origin": start, "paused_hours": 0.0,
                  "norm_hours": 8.5, "next_step": 3, "next_due_at": start + timedelta(days=3)}
                 for role, leg_id in legs.items()],
            )  # fmt: skip
            await connection.execute(
                insert(LegHistory.__table__),  # type: ignore[attr-defined]
                [{"leg_id": leg_id, "at": start, "from_status": None, "to_status": "delivered",
                  "actor_kind": "system", "actor_id": "notifier", "explanation": "delivered"}
                 for leg_id in legs.values()],
            )  # fmt: skip
            await connection.execute(
                insert(EscalationFired.__table__),  # type: ignore[attr-defined]
                [{"leg_id": legs["informed"], "cycle": 0, "deadline_kind": "acknowledge",
                  "step": 1, "due_at": start, "fired_at": start}],
            )  # fmt: skip
    finally:
        await engine.dispose()
    upgrade("notifier", database_url)
    engine = make_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            stored = {str(leg.role): leg for leg in (await session.exec(select(Leg))).all()}
            history = (await session.exec(select(LegHistory).order_by(col(LegHistory.id)))).all()
            fired = (await session.exec(select(EscalationFired))).all()
    finally:
        await engine.dispose()
    assert stored["competent_authority"].deadline_kind == "acknowledge", "answering: unchanged"
    for role in ("informed", "advisor"):
        assert (stored[role].deadline_kind, stored[role].next_due_at) == (None, None)
        assert leg_out(stored[role]).overdue_steps == 0
    rows = [(h.leg_id, str(h.to_status)) for h in history]
    assert rows.count((legs["informed"], "delivered")) == 2, "the old row and the migration's"
    assert rows.count((legs["competent_authority"], "delivered")) == 1
    assert "Obligations follow the role" in (history[-1].explanation or "")
    assert len(fired) == 1, "fired rungs are kept"


@pytest.mark.kafka
async def test_through_kafka_informed_and_advising_legs_get_no_deadline_and_no_escalation(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    """The same report delivered by the router to a competent authority, an executing body,
    an informed municipality and an advising GGD: the leg.status events and the API give the
    informed and the advising leg no deadline; two months on, the ladder's rungs on the
    escalation topic are the two answering bodies' only (default norms: no advice deadline)."""
    service = notifier_service
    report = report_received()
    answering = {"pv27": Role.COMPETENT_AUTHORITY, "od-odnzkg": Role.EXECUTING_BODY}
    owing_nothing = {"gm0453": Role.INFORMED, "ggd-kennemerland": Role.ADVISOR}
    roles = answering | owing_nothing
    specs = [delivery_topic(recipient_id) for recipient_id in roles]
    await ensure_topics(service.settings.kafka_bootstrap_servers, specs)
    for recipient_id, role in roles.items():
        event = delivered(report, recipient(recipient_id, role))
        await publish(producer, delivery_topic(recipient_id).name, event)
    legs = {r: leg_id_for(report.report_id, r) for r in roles}

    async def opened() -> bool:
        async with service.notifier.runtime.sessions() as session:
            return all([await session.get(Leg, i) is not None for i in legs.values()])

    await wait_async(opened, timeout_s=60)
    ours = str(report.report_id).encode()

    def mine(records: list[Record]) -> list[Any]:
        return [decode(headers_of(r), r.value or b"")[1] for r in records if r.key == ours]

    status_records = await consume_until(
        service.settings.kafka_bootstrap_servers,
        LEG_STATUS.name,
        lambda rs: {e.recipient_id for e in mine(rs)} >= set(roles),
    )
    opened_events = {e.recipient_id: e for e in mine(status_records)}
    for recipient_id in answering:
        assert opened_events[recipient_id].respond_by is not None, recipient_id
    for recipient_id, role in owing_nothing.items():
        assert opened_events[recipient_id].respond_by is None, recipient_id
        key = await register_authority(service.notifier.runtime.sessions, recipient_id, "x")
        shown = await service.client.get(
            f"/api/v1/legs/{legs[recipient_id]}", headers={"Authorization": f"Bearer {key}"}
        )
        assert shown.status_code == 200, shown.text
        leg = shown.json()
        expected = "informed" if role is Role.INFORMED else "advise"
        assert (leg["obligation"], leg["deadline"], leg["respond_by"]) == (expected, None, None)

    service.clock.advance(timedelta(days=60))
    assert await service.notifier.tick() == 6, "three rungs for each answering leg, none else"
    assert await service.notifier.tick() == 0
    escalations = await consume_until(
        service.settings.kafka_bootstrap_servers,
        ESCALATION.name,
        lambda rs: len(mine(rs)) >= 6,
    )
    raised = [e for e in mine(escalations) if isinstance(e, EscalationRaised)]
    assert len(raised) == 6
    assert {e.recipient_id for e in raised} == set(answering)
    assert not {n for e in raised for n in e.notify} & set(owing_nothing)
    async with service.notifier.runtime.sessions() as session:
        fired = (await session.exec(select(EscalationFired))).all()
        stored = {r: await session.get(Leg, i) for r, i in legs.items()}
    assert {f.leg_id for f in fired} == {legs[r] for r in answering}
    for recipient_id in owing_nothing:
        leg_row = stored[recipient_id]
        assert leg_row is not None
        assert (leg_row.deadline_kind, leg_row.next_due_at) == (None, None)
        assert leg_out(leg_row).overdue_steps == 0
