"""The router's handlers, on FastStream's in-memory broker and on the real one (the ``broker``
fixture): decisions, per-recipient deliveries, re-routing, redelivery without duplicates, and
dead letters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from schemas.cloudevents import decode, headers_for
from schemas.leg import Actor, ActorKind, LegStatus, LegStatusChanged
from schemas.report import Category, Location, LocationSource, ReportCorrected
from schemas.routing import ReportDelivered, Role, RoutingDecided, TriageRequested
from schemas.topics import (
    LEG_STATUS,
    REPORT_CORRECTED,
    REPORT_RECEIVED,
    REPORT_UNROUTABLE,
    ROUTING_DECIDED,
    ROUTING_TRIAGE,
    delivery_topic,
)
from services.router.app import build_runtime_for
from services.router.settings import RouterSettings
from services.runtime.clock import SystemClock
from services.runtime.migrations import upgrade
from tests.router.test_reference import SHARED
from tests.support import pdok
from tests.support.brokers import Bus
from tests.support.factories import report_received
from tests.support.kafka import headers_of

WIJK_AAN_ZEE = Location(lat=52.49325, lon=4.59954, source=LocationSource.WGS84)


@pytest.fixture
async def router(database_url: str, broker: Bus) -> AsyncIterator[Bus]:
    """The router's consumers running on ``broker``; the test publishes and reads there."""
    upgrade("router", database_url)
    with pdok.locatieserver() as pdok_url:
        settings = RouterSettings(
            database_url=database_url,
            kafka_bootstrap_servers=broker.bootstrap_servers,
            reference_dir=SHARED,
            fixed_wind_from_deg=180.0,
            pdok_locatieserver_url=pdok_url,
        )
        async with broker.serving(build_runtime_for(settings, SystemClock())):
            yield broker


async def test_report_is_decided_and_delivered_per_recipient(router: Bus) -> None:
    event = report_received(
        location=WIJK_AAN_ZEE, observed_at=datetime(2026, 11, 23, 9, tzinfo=UTC)
    )
    event_id = uuid4()
    await router.publish(REPORT_RECEIVED.name, event, event_id)
    await router.publish(REPORT_RECEIVED.name, event, event_id)  # redelivered

    [decided] = await router.read_about(ROUTING_DECIDED.name, event.report_id)
    _, decision = decode(headers_of(decided), decided.value)
    assert isinstance(decision, RoutingDecided)
    recipients = {r.recipient_id: r.role.value for r in decision.recipients}
    assert recipients["od-odnzkg"] == "executing_body"
    assert recipients["pv27"] == "competent_authority"
    assert decision.registry_version.startswith("2025.1")

    topic = delivery_topic("od-odnzkg").name
    [delivered] = await router.read_about(topic, event.report_id)
    headers = headers_of(delivered)
    assert headers["ce_type"] == "nl.buursignaal.report.delivered.v1"
    _, delivery = decode(headers, delivered.value)
    assert isinstance(delivery, ReportDelivered)
    assert delivery.recipient.recipient_id == "od-odnzkg"
    assert "benedenwinds" in delivery.recipient.reason.nl
    # the redelivered input produced no second decision or delivery
    with pytest.raises(TimeoutError):
        await router.read_about(topic, event.report_id, 2, timeout_s=5)


async def test_not_ours_reroutes_then_goes_to_triage(router: Bus) -> None:
    event = report_received(location=WIJK_AAN_ZEE)
    await router.publish(REPORT_RECEIVED.name, event)
    await router.read_about(ROUTING_DECIDED.name, event.report_id)

    def refusal(recipient: str) -> LegStatusChanged:
        return LegStatusChanged(
            report_id=event.report_id,
            recipient_id=recipient,
            status=LegStatus.NOT_OURS,
            actor=Actor(kind=ActorKind.AUTHORITY, actor_id=recipient),
            occurred_at=datetime.now(UTC),
            explanation="Dit hoort niet bij ons.",
        )

    await router.publish(LEG_STATUS.name, refusal("od-odnzkg"))
    decided = await router.read_about(ROUTING_DECIDED.name, event.report_id, 2)
    _, second = decode(headers_of(decided[1]), decided[1].value)
    assert isinstance(second, RoutingDecided)
    assert second.round == 2
    assert "od-odnzkg" in second.excluded_recipients
    assert all(r.recipient_id != "od-odnzkg" for r in second.recipients)

    await router.publish(LEG_STATUS.name, refusal("pv27"))
    # rounds 1 and 2 were low confidence (two possible sources: a request each), then refusals
    triage = await router.read_about(ROUTING_TRIAGE.name, event.report_id, 3)
    requests = [decode(headers_of(r), r.value)[1] for r in triage]
    assert [r.refused_by for r in requests if isinstance(r, TriageRequested)][-1] == [
        "od-odnzkg",
        "pv27",
    ]


async def test_north_sea_is_unroutable_and_malformed_is_dead_lettered(router: Bus) -> None:
    sea = report_received(location=Location(lat=52.6, lon=4.2, source=LocationSource.WGS84))
    await router.publish(REPORT_RECEIVED.name, sea)
    [unroutable] = await router.read_about(REPORT_UNROUTABLE.name, sea.report_id)
    _, event = decode(headers_of(unroutable), unroutable.value)
    assert "Nederland" in event.reason.nl  # type: ignore[attr-defined]

    bad_id = uuid4()
    headers = headers_for(report_received(), source="/test")
    await router.publish_raw(
        REPORT_RECEIVED.name, b'{"category": "smell"}', key=str(bad_id).encode(), headers=headers
    )
    assert REPORT_RECEIVED.dead_letter is not None
    [dead] = await router.read_about(REPORT_RECEIVED.dead_letter, bad_id)
    assert (
        "invalid nl.buursignaal.report.received.v1 body" in headers_of(dead)["x-deadletter-reason"]
    )


async def test_regional_water_is_delivered_to_the_water_board_found_by_pdok(router: Bus) -> None:
    event = report_received(
        category=Category.WATER,
        subtype="discharge",
        location=Location(lat=52.3702, lon=4.8952, source=LocationSource.WGS84),
    )
    await router.publish(REPORT_RECEIVED.name, event)
    (delivered,) = await router.read_about(delivery_topic("w0155").name, event.report_id)
    _, delivery = decode(headers_of(delivered), delivered.value or b"")
    assert isinstance(delivery, ReportDelivered)
    assert delivery.recipient.role is Role.COMPETENT_AUTHORITY
    assert delivery.place.water_board_code == "W0155"


async def test_corrected_location_and_category_are_decided_again(router: Bus) -> None:
    """Noise in central Utrecht, then corrected to odour in Wijk aan Zee: a second round goes to
    the province and the Seveso-omgevingsdienst; Utrecht keeps what it has and is not sent
    the report again."""
    event = report_received(
        category=Category.NOISE,
        location=Location(lat=52.0907, lon=5.1214, source=LocationSource.WGS84),
    )
    await router.publish(REPORT_RECEIVED.name, event)
    await router.read_about(delivery_topic("gm0344").name, event.report_id)
    correction = ReportCorrected(
        report_id=event.report_id,
        corrected_at=datetime(2026, 11, 23, 12, tzinfo=UTC),
        corrected_by="triage desk",
        reason="wrong pin",
        location=WIJK_AAN_ZEE,
        category=Category.ODOUR,
    )
    await router.publish(REPORT_CORRECTED.name, correction)
    decided = await router.read_about(ROUTING_DECIDED.name, event.report_id, count=2)
    decisions = [decode(headers_of(r), r.value or b"")[1] for r in decided]
    rounds = {d.round: d for d in decisions if isinstance(d, RoutingDecided)}
    assert set(rounds) == {1, 2}
    assert rounds[1].place.municipality_code == "GM0344"
    assert rounds[2].place.municipality_code == "GM0375"
    assert {"pv27", "od-odnzkg"} <= {r.recipient_id for r in rounds[2].recipients}
    [delivered] = await router.read_about(delivery_topic("od-odnzkg").name, event.report_id)
    _, delivery = decode(headers_of(delivered), delivered.value or b"")
    assert isinstance(delivery, ReportDelivered)
    assert delivery.round == 2
    assert delivery.report.category is Category.ODOUR
    with pytest.raises(TimeoutError):
        await router.read_about(delivery_topic("gm0344").name, event.report_id, 2, timeout_s=3)


async def test_a_report_on_the_ijsselmeer_reaches_rijkswaterstaat_and_the_nearest_town(
    router: Bus,
) -> None:
    """A discharge seen from a boat on the IJsselmeer, in no municipal polygon: delivered to
    Rijkswaterstaat and the nearest municipality (Súdwest-Fryslân), decided with low
    confidence, the distance in the place, and a triage request that says why."""
    event = report_received(
        category=Category.WATER,
        subtype="discharge",
        location=Location(lat=52.80, lon=5.37, source=LocationSource.WGS84),
    )
    await router.publish(REPORT_RECEIVED.name, event)
    for recipient in ("rijkswaterstaat", "gm1900"):
        [delivered] = await router.read_about(delivery_topic(recipient).name, event.report_id)
        _, delivery = decode(headers_of(delivered), delivered.value or b"")
        assert isinstance(delivery, ReportDelivered)
        assert delivery.place.on_water
        assert delivery.place.water_name == "IJsselmeer"
    [decided] = await router.read_about(ROUTING_DECIDED.name, event.report_id)
    _, decision = decode(headers_of(decided), decided.value or b"")
    assert isinstance(decision, RoutingDecided)
    assert decision.confidence == "low"
    assert decision.place.distance_m is not None
    assert decision.reason is not None
    assert "IJsselmeer" in decision.reason.nl
    roles = {r.recipient_id: r.role for r in decision.recipients}
    assert roles == {"rijkswaterstaat": Role.COMPETENT_AUTHORITY, "gm1900": Role.INFORMED}
    [triage] = await router.read_about(ROUTING_TRIAGE.name, event.report_id)
    _, request = decode(headers_of(triage), triage.value or b"")
    assert isinstance(request, TriageRequested)
    assert "op het water" in request.reason.nl
    with pytest.raises(TimeoutError):
        await router.read_about(REPORT_UNROUTABLE.name, event.report_id, timeout_s=2)
