"""The notifier through the real broker, on SQLite and PostgreSQL: legs from deliveries,
answers through Kafka and the HTTP API, isolation between authorities, the ladder's events,
and resident mail through a real SMTP server with the reopen link end to end."""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import UUID

import pytest
from faststream.kafka import KafkaBroker
from sqlmodel import select

from schemas._base import Event
from schemas.cloudevents import decode, headers_for
from schemas.leg import Actor, ActorKind, LegStatus, LegStatusChanged, LegStatusReported
from schemas.routing import Role, RoutingDecided
from schemas.topics import (
    ESCALATION,
    LEG_STATUS,
    LEG_STATUS_REPORTED,
    ROUTING_DECIDED,
    delivery_topic,
)
from services.notifier.actions import leg_id_for
from services.notifier.authorities import register_authority
from services.notifier.models import Leg, MailJob
from services.runtime.broker import ensure_topics
from tests.notifier.conftest import Intake, NotifierUnderTest, mailing_notifier, resident_report
from tests.support.factories import NOW, delivered, recipient, report_received
from tests.support.kafka import consume_until, headers_of, wait_async
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.kafka
EXPLAINED = "Wij hebben de afzuiging hersteld; bij controle was de geur verdwenen."


async def publish(broker: KafkaBroker, topic: str, event: Event) -> None:
    await broker.publish(
        event.model_dump_json().encode(),
        topic,
        key=str(getattr(event, "report_id", "")).encode(),
        headers=headers_for(event, source="/test"),
    )


async def deliver(
    service: NotifierUnderTest,
    broker: KafkaBroker,
    report_id: UUID | None = None,
    *to: str,
    reporter: str | None = None,
) -> list[str]:
    """Publish deliveries as the router does; wait until the notifier opened the legs."""
    report = report_received(
        **({"report_id": report_id} if report_id else {}),
        **({"reporter_key": reporter} if reporter else {}),
    )
    roles = {"pv27": Role.COMPETENT_AUTHORITY}
    for recipient_id in to:
        spec = delivery_topic(recipient_id)
        await ensure_topics(service.settings.kafka_bootstrap_servers, [spec])
        role = roles.get(recipient_id, Role.EXECUTING_BODY)
        await publish(broker, spec.name, delivered(report, recipient(recipient_id, role)))
    ids = [leg_id_for(report.report_id, r) for r in to]

    async def opened() -> bool:
        async with service.notifier.runtime.sessions() as session:
            return all([await session.get(Leg, i) is not None for i in ids])

    await wait_async(opened, timeout_s=60)
    return ids


def statuses(records: list[object], report_id: str) -> list[tuple[str, str]]:
    found = []
    for record in records:
        _, event = decode(headers_of(record), record.value or b"")  # type: ignore[attr-defined]
        if isinstance(event, LegStatusChanged) and str(event.report_id) == report_id:
            found.append((event.recipient_id, event.status.value))
    return found


def od_reports(report_id: str, status: LegStatus) -> LegStatusReported:
    """The OD's own system reports ``status`` for its leg (no explanation)."""
    return LegStatusReported(
        report_id=UUID(report_id),
        recipient_id="od-odnzkg",
        status=status,
        actor=Actor(kind=ActorKind.AUTHORITY, actor_id="od-odnzkg"),
        occurred_at=NOW,
    )


async def test_authorities_answer_through_kafka_and_the_api(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    province, od = await deliver(service, producer, None, "pv27", "od-odnzkg")
    async with service.notifier.runtime.sessions() as session:
        leg = await session.get(Leg, od)
    assert leg is not None
    report_id = leg.report_id
    # Kafka route: the OD's system acknowledges
    await publish(
        producer,
        LEG_STATUS_REPORTED.name,
        od_reports(report_id, LegStatus.ACKNOWLEDGED),
    )
    # a forbidden change (closing without an explanation) is dead-lettered with the reason
    await publish(
        producer,
        LEG_STATUS_REPORTED.name,
        od_reports(report_id, LegStatus.RESOLVED),
    )
    bootstrap = service.settings.kafka_bootstrap_servers
    dead = await consume_until(
        bootstrap,
        LEG_STATUS_REPORTED.dead_letter or "",
        lambda rs: any(report_id in (r.value or b"").decode() for r in rs),
    )
    reason = next(
        headers_of(r)["x-deadletter-reason"] for r in dead if report_id in (r.value or b"").decode()
    )
    assert "explanation" in reason

    # HTTP route: the province answers with its key; another authority sees nothing
    province_key = await register_authority(service.notifier.runtime.sessions, "pv27", "NH")
    other_key = await register_authority(service.notifier.runtime.sessions, "gm0344", "Utrecht")
    own = {"Authorization": f"Bearer {province_key}"}
    other = {"Authorization": f"Bearer {other_key}"}
    assert (await service.client.get(f"/api/v1/legs/{province}")).status_code == 401
    assert (await service.client.get(f"/api/v1/legs/{province}", headers=other)).status_code == 404
    assert (await service.client.get("/api/v1/legs", headers=other)).json() == []
    refused = await service.client.post(
        f"/api/v1/legs/{province}/status", json={"status": "acknowledged"}, headers=other
    )
    assert refused.status_code == 404, "not 403: another authority's leg does not exist for it"
    listed = await service.client.get("/api/v1/legs", headers=own)
    assert [leg["leg_id"] for leg in listed.json()] == [province]
    answer = await service.client.post(
        f"/api/v1/legs/{province}/status", json={"status": "acknowledged"}, headers=own
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["deadline"] == "resolve"
    bad = await service.client.post(
        f"/api/v1/legs/{province}/status",
        json={"status": "no_action", "explanation": "nee"},
        headers=own,
    )
    assert bad.status_code == 409
    assert bad.headers["content-type"] == "application/problem+json"
    assert "explanation" in bad.json()["detail"]
    typo = await service.client.post(
        f"/api/v1/legs/{province}/status", json={"status": "done"}, headers=own
    )
    assert typo.status_code in (400, 422)

    records = await consume_until(
        bootstrap, LEG_STATUS.name, lambda rs: len(statuses(rs, report_id)) >= 4
    )
    assert sorted(statuses(records, report_id)) == [
        ("od-odnzkg", "acknowledged"),
        ("od-odnzkg", "delivered"),
        ("pv27", "acknowledged"),
        ("pv27", "delivered"),
    ]
    detail = await service.client.get(f"/api/v1/legs/{province}", headers=own)
    assert [h["to_status"] for h in detail.json()["history"]] == ["delivered", "acknowledged"]


async def test_ladder_events_reach_the_escalation_topic(
    notifier_service: NotifierUnderTest, producer: KafkaBroker
) -> None:
    service = notifier_service
    (leg_id,) = await deliver(service, producer, None, "gm0453")
    service.clock.advance(timedelta(days=2, hours=1))  # past 2x the acknowledgement deadline
    assert await service.notifier.tick() == 2
    assert await service.notifier.tick() == 0
    async with service.notifier.runtime.sessions() as session:
        leg = await session.get(Leg, leg_id)
    assert leg is not None
    records = await consume_until(
        service.settings.kafka_bootstrap_servers,
        ESCALATION.name,
        lambda rs: sum(leg.report_id.encode() == r.key for r in rs) >= 2,
    )
    steps = [
        decode(headers_of(r), r.value or b"")[1] for r in records if r.key == leg.report_id.encode()
    ]
    assert [s.step.value for s in steps] == ["reminder", "commissioning_authority"]  # type: ignore[attr-defined]


async def test_resident_mail_end_to_end_with_the_reopen_link(
    database_url: str,
    kafka_bootstrap_servers: str,
    smtp_server: SmtpServer,
    intake_http: Intake,
    producer: KafkaBroker,
) -> None:
    report_id = await resident_report(intake_http)
    async with mailing_notifier(
        database_url, kafka_bootstrap_servers, intake_http, smtp_server.port
    ) as service:
        notifier, web, clock = service.notifier, service.client, service.clock
        decision = RoutingDecided(
            report_id=report_id,
            round=1,
            decided_at=NOW,
            place={"municipality_code": "GM0453"},
            recipients=[recipient("gm0453")],
            registry_version="test",
            confidence="high",
        )
        await publish(producer, ROUTING_DECIDED.name, decision)
        (leg_id,) = await deliver(service, producer, report_id, "gm0453")

        async def routed_mail_job() -> bool:
            async with notifier.runtime.sessions() as session:
                return (await session.exec(select(MailJob))).first() is not None

        await wait_async(routed_mail_job)
        key = await register_authority(notifier.runtime.sessions, "gm0453", "Velsen")
        own = {"Authorization": f"Bearer {key}"}
        for body in ({"status": "acknowledged"}, {"status": "resolved", "explanation": EXPLAINED}):
            answer = await web.post(f"/api/v1/legs/{leg_id}/status", json=body, headers=own)
            assert answer.status_code == 200, answer.text

        smtp_server.stop()  # the mail server is down: nothing is lost, nothing sent twice
        assert await notifier.mailer.send_due() == 0
        smtp_server.start()
        assert await notifier.mailer.send_due() == 0, "a failed job waits for its next attempt"
        clock.advance(timedelta(minutes=5))
        assert await notifier.mailer.send_due() == 3
        assert await notifier.mailer.send_due() == 0

        mails = smtp_server.inbox.messages
        assert [m["Subject"] for m in mails] == [
            "Uw melding is doorgestuurd",
            "Uw melding is in behandeling",
            "Antwoord op uw melding",
        ]
        assert all(m["To"] == "buur@example.nl" for m in mails)
        closing = mails[2].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert EXPLAINED in closing
        assert "Afmelden: http://127.0.0.1" in closing
        no_link = re.search(r"Nee: (\S+)", closing)
        assert no_link is not None
        path = no_link.group(1).removeprefix("http://notifier.test")
        page = await web.get(path)
        assert page.status_code == 200
        assert "Is het probleem opgelost?" in page.text
        answered = await web.post(path.split("?")[0], data={"answer": "no"})
        assert "heropend" in answered.text
        async with notifier.runtime.sessions() as session:
            leg = await session.get(Leg, leg_id)
        assert leg is not None
        assert (leg.status, leg.cycle) == ("reopened", 1)
        again = await web.post(path.split("?")[0], data={"answer": "no"})
        assert "al verwerkt" in again.text, "a second click changes nothing"
