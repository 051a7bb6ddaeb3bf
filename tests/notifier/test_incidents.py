"""Incidents (voorvallen, issue 16 §4): a wave of reports answered once.

Through the real broker, intake's addresses and a real SMTP server on SQLite and PostgreSQL:
20 residents report the same smell; their legs at the executing body form one incident; one
answer reaches every leg and each resident gets the explanation exactly once, also when the
notifier crashed between answering and mailing and the client sent the answer again. Moves and
merges keep every history (no broker needed there).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from faststream.kafka import KafkaBroker
from sqlmodel import col, select

from schemas.cloudevents import decode
from schemas.incident import ComplaintWave, IncidentUpdated
from schemas.leg import LegStatus
from schemas.routing import Place, Role
from schemas.topics import COMPLAINT_WAVE, INCIDENT
from services.notifier.authorities import register_authority
from services.notifier.consumers import Inputs
from services.notifier.incidents import Incidents
from services.notifier.models import Incident, IncidentMove, Leg, LegHistory, MailJob, Signal
from services.notifier.patterns.service import Patterns
from tests.notifier.conftest import Intake, NotifierUnderTest, mailing_notifier, resident_report
from tests.notifier.test_notifier_service import deliver
from tests.notifier.world import World, authority
from tests.support.factories import NOW, delivered, recipient, report_received, reporter_key
from tests.support.kafka import consume_until, headers_of, wait_async
from tests.support.smtp import SmtpServer

ANSWER = "Bij het bedrijf is een fakkel ontstoken; de oorzaak is verholpen en wij houden toezicht."
RESIDENTS = 20


@pytest.mark.kafka
async def test_an_incident_of_twenty_reports_answered_once_mails_each_resident_once(
    database_url: str,
    kafka_bootstrap_servers: str,
    smtp_server: SmtpServer,
    intake_http: Intake,
    producer: KafkaBroker,
) -> None:
    reports = [await resident_report(intake_http, f"buur{n}@example.nl") for n in range(RESIDENTS)]
    async with mailing_notifier(
        database_url, kafka_bootstrap_servers, intake_http, smtp_server.port
    ) as service:
        for report_id in reports:
            resident = reporter_key(str(report_id))
            await deliver(service, producer, report_id, "pv27", "od-odnzkg", reporter=resident)
        key = await register_authority(service.notifier.runtime.sessions, "od-odnzkg", "OD")
        as_od = {"Authorization": f"Bearer {key}"}
        [incident] = (await service.client.get("/api/v1/incidents", headers=as_od)).json()
        assert (incident["report_count"], incident["unique_reporters"]) == (RESIDENTS, RESIDENTS)
        detail = (
            await service.client.get(f"/api/v1/incidents/{incident['incident_id']}", headers=as_od)
        ).json()
        assert len(detail["legs"]) == len(detail["timeline"]) == RESIDENTS
        answer_url = f"/api/v1/incidents/{incident['incident_id']}/status"
        for body in ({"status": "acknowledged"}, {"status": "resolved", "explanation": ANSWER}):
            answered = await service.client.post(answer_url, json=body, headers=as_od)
            assert answered.status_code == 200, answered.text
            assert len(answered.json()["changed"]) == RESIDENTS
        # the wave (15 unique reporters) went once to the competent authority
        waves = await consume_until(
            kafka_bootstrap_servers,
            COMPLAINT_WAVE.name,
            lambda rs: any(r.key == incident["incident_id"].encode() for r in rs),
        )
        [wave] = [decode(headers_of(r), r.value or b"")[1] for r in waves
                  if r.key == incident["incident_id"].encode()]  # fmt: skip
        assert isinstance(wave, ComplaintWave)
        assert (wave.unique_reporters, wave.notify) == (15, ["pv27"])
        updates = await consume_until(
            kafka_bootstrap_servers,
            INCIDENT.name,
            lambda rs: sum(r.key == incident["incident_id"].encode() for r in rs) >= RESIDENTS,
        )
        last = decode(headers_of(updates[-1]), updates[-1].value or b"")[1]
        assert isinstance(last, IncidentUpdated)
        assert b"reporter_key" not in (updates[-1].value or b"")
        # the notifier crashes now: answered and committed, nothing mailed yet
    async with mailing_notifier(
        database_url, kafka_bootstrap_servers, intake_http, smtp_server.port
    ) as restarted:
        again = await restarted.client.post(
            answer_url, json={"status": "resolved", "explanation": ANSWER}, headers=as_od
        )  # the client did not see the answer before the crash and sends it again
        assert again.status_code == 200, again.text
        assert again.json()["changed"] == []
        # the restarted notifier's mail round (it runs at start) sends what was left
        await wait_async(lambda: _all_sent(restarted), timeout_s=60)
        assert await restarted.notifier.mailer.send_due() == 0
    explained = Counter(
        m["To"]
        for m in smtp_server.inbox.messages
        if ANSWER in m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    )
    assert explained == Counter({f"buur{n}@example.nl": 1 for n in range(RESIDENTS)})


async def _all_sent(service: NotifierUnderTest) -> bool:
    async with service.notifier.runtime.sessions() as session:
        jobs = (await session.exec(select(MailJob))).all()
    return len(jobs) == 2 * RESIDENTS and all(job.status == "sent" for job in jobs)


async def incident_world(world: World, count: int) -> tuple[Incidents, list[Leg]]:
    """``count`` reports from one spot to one executing body, each with its own resident."""
    incidents = Incidents(world.legs, wave_threshold=15)
    legs = []
    async with world.sessions() as session, session.begin():
        for _ in range(count):
            delivery = delivered(
                report_received(reporter_key=reporter_key(uuid.uuid4().hex)),
                recipient("od-odnzkg", Role.EXECUTING_BODY),
                place=Place(municipality_code="GM0453", safety_region_code="VR12"),
            )
            leg = await world.legs.open_leg(session, delivery)
            await incidents.on_delivery(session, delivery, leg)
            legs.append(leg)
    return incidents, legs


async def test_moving_legs_between_incidents_keeps_every_history(world: World) -> None:
    incidents, legs = await incident_world(world, 4)
    first = legs[0].incident_id
    assert first is not None
    assert {leg.incident_id for leg in legs} == {first}
    od = authority("od-odnzkg")
    async with world.sessions() as session, session.begin():
        incident = await incidents.incident_of(session, "od-odnzkg", first)
        leg = await session.get(Leg, legs[0].id)
        assert leg is not None
        apart = await incidents.move(
            session, incident, leg, None, od, "Andere geur, ander tijdstip."
        )
    second = apart.id
    async with world.sessions() as session:
        one, other = await session.get(Incident, first), await session.get(Incident, second)
    assert one is not None
    assert other is not None
    assert (one.report_count, other.report_count) == (3, 1)
    async with world.sessions() as session, session.begin():
        source = await incidents.incident_of(session, "od-odnzkg", second)
        target = await incidents.incident_of(session, "od-odnzkg", first)
        await incidents.merge(session, source, target, od, "Toch hetzelfde voorval.")
    await world.change(legs[1].id, LegStatus.ACKNOWLEDGED, od)
    async with world.sessions() as session:
        merged = await session.get(Incident, second)
        whole = await session.get(Incident, first)
        moves = (await session.exec(select(IncidentMove).order_by(col(IncidentMove.id)))).all()
        history = (
            await session.exec(
                select(LegHistory)
                .where(LegHistory.leg_id == legs[0].id)
                .order_by(col(LegHistory.id))
            )
        ).all()
    assert merged is not None
    assert whole is not None
    assert (merged.state, merged.merged_into) == ("merged", first)
    assert (whole.report_count, whole.unique_reporters) == (4, 4)
    assert [(m.from_incident, m.to_incident, m.actor_id, m.reason) for m in moves] == [
        (first, second, "od-odnzkg", "Andere geur, ander tijdstip."),
        (second, first, "od-odnzkg", "Toch hetzelfde voorval."),
    ]
    assert history[0].explanation == "delivered", "the first row is kept"
    assert [h.actor_id for h in history[1:]] == ["od-odnzkg", "od-odnzkg"]
    assert "Toch hetzelfde voorval." in (history[-1].explanation or "")


async def test_a_wave_is_told_once_and_again_only_on_growth(world: World) -> None:
    await incident_world(world, 29)
    waves = await world.events("incident.wave")
    assert [(w["unique_reporters"], w["notify"]) for w in waves] == [(15, ["vr12"])]
    await incident_world(world, 1)
    waves = await world.events("incident.wave")
    assert [w["unique_reporters"] for w in waves] == [15, 30]


async def test_a_backlog_in_batches_forms_one_incident_with_its_whole_timeline(
    world: World,
) -> None:
    """A backlog arrives in batches, each applied as the consumer applies it: the batch's legs,
    incidents and signals loaded first in a few queries (``Inputs.load_for_deliveries``), then
    every delivery with no flush before the commit. The second batch joins the incident the
    first one opened (found by the batch's query, not one query per delivery); each incident
    update names every leg's moment, those of this batch too; a report delivered to two
    bodies is one signal; a redelivered report opens nothing twice."""
    incidents = Incidents(world.legs, wave_threshold=100)
    inputs = Inputs(world.legs, Patterns(world.clock), incidents)
    body, authority_of = (
        recipient("od-odnzkg", Role.EXECUTING_BODY),
        recipient("gm0453", Role.COMPETENT_AUTHORITY),
    )
    place = Place(municipality_code="GM0453", safety_region_code="VR12")
    reports = [
        report_received(
            reporter_key=reporter_key(f"backlog-{n}"),
            observed_at=NOW - timedelta(minutes=60 - 2 * n),
        )
        for n in range(20)
    ]
    batches = [
        [delivered(r, to, place=place) for r in reports[:10] for to in (body, authority_of)],
        [delivered(r, to, place=place) for r in reports[8:] for to in (body, authority_of)],
    ]  # the second batch repeats two reports of the first (an outbox re-send)
    for batch in batches:
        async with world.sessions() as session, session.begin():
            await inputs.load_for_deliveries(session, batch)
            with session.no_autoflush:
                for delivery in batch:
                    await inputs.on_delivery(session, None, delivery)  # type: ignore[arg-type]
    async with world.sessions() as session:
        stored = (await session.exec(select(Incident))).all()
        signals = (await session.exec(select(Signal))).all()
        legs = (await session.exec(select(Leg).where(Leg.recipient_id == "od-odnzkg"))).all()
    assert len(stored) == 1, "the second batch joined the first batch's incident"
    assert stored[0].report_count == 20
    assert stored[0].unique_reporters == 20
    assert {leg.incident_id for leg in legs} == {stored[0].id}
    assert len(legs) == 20
    assert len(signals) == 20, "one signal per report, whichever body it reached first"
    assert all(set(s.recipients) >= {"ca:gm0453"} for s in signals)
    updates = await world.events(INCIDENT.name)
    assert [len(u["timeline"]) for u in updates] == list(range(1, 21)), (  # type: ignore[arg-type]
        "each update names every moment so far, this batch's too"
    )
