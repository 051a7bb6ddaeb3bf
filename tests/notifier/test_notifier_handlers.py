"""The notifier's delivery handler, on FastStream's in-memory broker and on the real one (the
``broker`` fixture): a leg opens once however often its delivery comes, and what cannot be a
delivery is dead-lettered with the reason and its original bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from uuid import uuid4

import pytest
from prometheus_client import REGISTRY
from sqlmodel import col, func, select

from schemas.cloudevents import decode, headers_for
from schemas.leg import LegStatusChanged
from schemas.topics import DELIVERY_DEAD_LETTER, LEG_STATUS, TopicSpec, delivery_topic
from services.notifier.actions import leg_id_for
from services.notifier.app import Notifier, build_notifier
from services.notifier.models import Leg, LegHistory
from services.runtime.clock import FixedClock
from services.runtime.migrations import upgrade
from tests.notifier.conftest import notifier_settings
from tests.support.brokers import Bus
from tests.support.factories import NOW, delivered, recipient, report_received
from tests.support.kafka import headers_of


@dataclass
class Running:
    notifier: Notifier
    broker: Bus
    recipient_id: str
    topic: TopicSpec


@pytest.fixture
async def running(database_url: str, broker: Bus, topic_suffix: str) -> AsyncIterator[Running]:
    """The notifier's consumers on ``broker``, and a recipient whose delivery topic is this
    test's own (created before the pattern consumer starts, so that it is subscribed at once)."""
    upgrade("notifier", database_url)
    recipient_id = f"gm0453-{topic_suffix}"
    topic = delivery_topic(recipient_id)
    await broker.create_topics([topic])
    notifier = build_notifier(
        notifier_settings(database_url, broker.bootstrap_servers), FixedClock(NOW)
    )
    async with broker.serving(notifier.runtime):
        yield Running(notifier, broker, recipient_id, topic)


def duplicates_seen() -> float:
    """How many events the notifier found it had seen before (this process, all tests)."""
    sample = REGISTRY.get_sample_value(
        "buursignaal_events_consumed_total", {"consumer": "notifier", "outcome": "duplicate"}
    )
    return sample or 0.0


async def test_a_leg_opens_once_when_its_delivery_comes_twice(running: Running) -> None:
    broker = running.broker
    report = report_received()
    delivery = delivered(report, recipient(running.recipient_id))
    duplicates_before = duplicates_seen()
    event_id = uuid4()
    await broker.publish(running.topic.name, delivery, event_id)
    await broker.publish(running.topic.name, delivery, event_id)  # redelivered
    await broker.publish(running.topic.name, delivery)  # sent again, as a new event

    [opened] = await broker.read_about(LEG_STATUS.name, report.report_id)
    _, status = decode(headers_of(opened), opened.value or b"")
    assert isinstance(status, LegStatusChanged)
    assert (status.recipient_id, status.status.value) == (running.recipient_id, "delivered")
    with pytest.raises(TimeoutError):  # no second "delivered" for the same leg
        await broker.read_about(LEG_STATUS.name, report.report_id, 2, timeout_s=5)
    with pytest.raises(TimeoutError):  # nor was a copy refused (all three were handled by now)
        await broker.read_about(DELIVERY_DEAD_LETTER.name, report.report_id, timeout_s=2)
    assert duplicates_seen() >= duplicates_before + 1, "the redelivery was found a duplicate"
    async with running.notifier.runtime.sessions() as session:
        legs = (await session.exec(select(Leg).where(Leg.report_id == str(report.report_id)))).all()
        history = (
            await session.exec(
                select(func.count()).where(
                    col(LegHistory.leg_id) == leg_id_for(report.report_id, running.recipient_id)
                )
            )
        ).one()
    assert [leg.id for leg in legs] == [leg_id_for(report.report_id, running.recipient_id)]
    assert history == 1


async def test_what_is_not_a_delivery_is_dead_lettered(running: Running) -> None:
    """A body that is no valid delivery, and an event of another type on a delivery topic."""
    broker = running.broker
    report = report_received()
    malformed = b'{"report_id": "not-a-uuid"}'
    headers = headers_for(delivered(report, recipient(running.recipient_id)), source="/test")
    key = str(report.report_id).encode()
    await broker.publish_raw(running.topic.name, malformed, key=key, headers=headers)
    await broker.publish(running.topic.name, report)  # a received report, not a delivery

    dead = await broker.read_about(DELIVERY_DEAD_LETTER.name, report.report_id, 2)
    reasons = [headers_of(record)["x-deadletter-reason"] for record in dead]
    assert "invalid nl.buursignaal.report.delivered.v1 body" in reasons[0]
    assert reasons[1] == (
        "unprocessable: expected nl.buursignaal.report.delivered.v1,"
        " got nl.buursignaal.report.received.v1"
    )
    assert dead[0].value == malformed, "the original bytes are kept"
    assert {headers_of(record)["x-original-topic"] for record in dead} == {running.topic.name}
    assert {headers_of(record)["x-deadletter-consumer"] for record in dead} == {"notifier"}
    async with running.notifier.runtime.sessions() as session:
        assert await session.get(Leg, leg_id_for(report.report_id, running.recipient_id)) is None
