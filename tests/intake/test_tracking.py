"""The tracking page and API follow routing and status events from the real broker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from faststream.kafka import KafkaBroker

from schemas._base import Event, LocalizedText
from schemas.cloudevents import headers_for
from schemas.leg import Actor, ActorKind, LegStatus, LegStatusChanged
from schemas.routing import Place, Recipient, RecipientKind, ReportUnroutable, Role, RoutingDecided
from schemas.topics import LEG_STATUS, REPORT_UNROUTABLE, ROUTING_DECIDED
from services.intake.tracking import report_by_id
from services.runtime.broker import make_broker
from tests.intake.conftest import IntakeUnderTest
from tests.intake.test_api import body, post
from tests.support.factories import NOW
from tests.support.kafka import wait_async

pytestmark = pytest.mark.kafka

PROVINCE = Recipient(
    recipient_id="pv27-noord-holland",
    name="Provincie Noord-Holland",
    kind=RecipientKind.PROVINCE,
    role=Role.COMPETENT_AUTHORITY,
    rule_id="seveso",
    reason=LocalizedText(
        nl="De provincie is bevoegd gezag voor dit Seveso-bedrijf.",
        en="The province is the competent authority.",
    ),
)
OD = Recipient(
    recipient_id="od-nzkg",
    name="Omgevingsdienst Noordzeekanaalgebied",
    kind=RecipientKind.OMGEVINGSDIENST,
    role=Role.EXECUTING_BODY,
    rule_id="seveso",
    reason=LocalizedText(
        nl="De Seveso-omgevingsdienst houdt toezicht namens de provincie.",
        en="The Seveso service supervises.",
    ),
)


async def publish(bootstrap: str, topic: str, event: Event) -> None:
    broker: KafkaBroker = make_broker(bootstrap, client_id="authority-test")
    await broker.start()
    try:
        await broker.publish(
            event.model_dump_json().encode(),
            topic,
            key=str(getattr(event, "report_id", "")).encode(),
            headers=headers_for(event, source="/test"),
        )
    finally:
        await broker.stop()


async def report_view(service: IntakeUnderTest, report_id: str, token: str) -> Any:
    response = await service.client.get(
        f"/api/v1/reports/{report_id}", headers={"X-Tracking-Token": token}
    )
    return response.json()


async def test_routing_and_answers_reach_the_resident(intake_service: IntakeUnderTest) -> None:
    created = (await post(intake_service, body())).json()
    report_id, token = created["report_id"], created["tracking_token"]
    bootstrap = intake_service.settings.kafka_bootstrap_servers
    decision = RoutingDecided(
        report_id=UUID(report_id),
        round=1,
        decided_at=NOW,
        place=Place(municipality_code="GM0453", province_code="PV27"),
        recipients=[PROVINCE, OD],
        registry_version="2025.1",
        confidence="high",
    )
    await publish(bootstrap, ROUTING_DECIDED.name, decision)
    views: list[Any] = []

    async def routed() -> bool:
        views.append(await report_view(intake_service, report_id, token))
        return len(views[-1]["recipients"]) == 2

    await wait_async(routed)
    page = await intake_service.client.get(f"/track/{token}")
    assert "Omgevingsdienst Noordzeekanaalgebied" in page.text
    assert "houdt toezicht namens de provincie" in page.text

    deadline = NOW + timedelta(days=14)
    for status, explanation in (
        (LegStatus.ACKNOWLEDGED, None),
        (LegStatus.RESOLVED, "De fakkel is gedoofd."),
    ):
        for recipient in (PROVINCE, OD):
            await publish(
                bootstrap,
                LEG_STATUS.name,
                LegStatusChanged(
                    report_id=UUID(report_id),
                    recipient_id=recipient.recipient_id,
                    status=status,
                    actor=Actor(kind=ActorKind.AUTHORITY, actor_id=recipient.recipient_id),
                    occurred_at=NOW + timedelta(hours=1),
                    explanation=explanation,
                    respond_by=deadline,
                ),
            )

    async def resolved() -> bool:
        view = await report_view(intake_service, report_id, token)
        return all(r["status"] == "resolved" for r in view["recipients"])

    await wait_async(resolved)
    view = await report_view(intake_service, report_id, token)
    od = next(r for r in view["recipients"] if r["recipient_id"] == "od-nzkg")
    assert [step["status"] for step in od["history"]] == ["acknowledged", "resolved"]
    assert od["respond_by"].startswith("2026-12-07")
    open311 = (await intake_service.client.get(f"/open311/v2/requests/{report_id}.json")).json()[0]
    assert open311["status"] == "closed"
    assert open311["status_notes"] == "De fakkel is gedoofd."
    assert open311["agency_responsible"] == "Provincie Noord-Holland"
    assert open311["expected_datetime"].startswith("2026-12-07")


async def test_unroutable_report_says_why(intake_service: IntakeUnderTest) -> None:
    created = (await post(intake_service, body())).json()
    event = ReportUnroutable(
        report_id=UUID(created["report_id"]),
        reason=LocalizedText(nl="Deze plek ligt buiten Nederland.", en="Outside the Netherlands."),
    )
    await publish(intake_service.settings.kafka_bootstrap_servers, REPORT_UNROUTABLE.name, event)

    async def noted() -> bool:
        async with intake_service.intake.sessions() as session:
            record = await report_by_id(session, created["report_id"])
        return record is not None and record.status == "unroutable"

    await wait_async(noted)
    page = await intake_service.client.get(f"/track/{created['tracking_token']}?lang=en")
    assert "Outside the Netherlands." in page.text
