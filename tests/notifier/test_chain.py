"""The ladder stays in the statutory chain (issue 16 §2), through the real broker, both
databases, intake's addresses and a real SMTP server.

Third rung: the competent authority's board contact (from the chain file), and the resident
is told which routes are open. The national table never gets a single report: no topic it
reads carries one, and its figures are per body.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker

from schemas.cloudevents import decode
from schemas.leg import EscalationRaised, EscalationStep, LegStatus
from schemas.pattern import DigestPublished
from schemas.process import ProcessFigures
from schemas.report import Category
from schemas.routing import Place
from schemas.topics import (
    DIGEST_PUBLISHED,
    ESCALATION,
    LEG_STATUS_REPORTED,
    NATIONAL_TABLE_READS,
    PATTERN_DETECTED,
    PROCESS_FIGURES,
    TOPICS,
    TopicSpec,
)
from services.notifier.actions import leg_id_for
from services.notifier.authorities import register_authority
from services.notifier.models import Leg
from tests.notifier.conftest import Intake, NotifierUnderTest, mailing_notifier, resident_report
from tests.notifier.test_notifier_service import deliver, od_reports, publish
from tests.notifier.test_patterns_service import WIJK_AAN_ZEE, at, send_reports
from tests.support.factories import NOW, report_received, reporter_key
from tests.support.kafka import Record, consume_until, headers_of, wait_async
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.kafka
COMPLAINTS = "https://www.noord-holland.nl/klachten"
OMBUDSMAN = "https://www.nationaleombudsman.nl/klacht-indienen"
ACKNOWLEDGED = LegStatus.ACKNOWLEDGED


def chain_file(tmp_path: Path) -> Path:
    path = tmp_path / "chain.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "authorities": {
                    "pv27": {
                        "board_contact": "pv27-gs",
                        "board_name": "Gedeputeerde Staten van Noord-Holland",
                        "complaint_url": COMPLAINTS,
                    }
                }
            }
        )
    )
    return path


async def test_the_third_rung_reaches_the_board_and_the_resident_learns_the_routes(
    database_url: str,
    kafka_bootstrap_servers: str,
    smtp_server: SmtpServer,
    intake_http: Intake,
    producer: KafkaBroker,
    tmp_path: Path,
) -> None:
    report_id = await resident_report(intake_http)
    async with mailing_notifier(
        database_url, kafka_bootstrap_servers, intake_http, smtp_server.port,
        chain_file=chain_file(tmp_path),
    ) as service:  # fmt: skip
        province, _ = await deliver(service, producer, report_id, "pv27", "od-odnzkg")
        key = await register_authority(service.notifier.runtime.sessions, "pv27", "Noord-Holland")
        answered = await service.client.post(
            f"/api/v1/legs/{province}/status",
            json={"status": "acknowledged"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert answered.status_code == 200, answered.text
        service.clock.advance(timedelta(days=5))  # past 3x the OD's acknowledgement deadline
        assert await service.notifier.tick() == 3
        records = await consume_until(
            kafka_bootstrap_servers,
            ESCALATION.name,
            lambda rs: sum(str(report_id).encode() == r.key for r in rs) >= 3,
        )
        events = [decode(headers_of(r), r.value or b"")[1] for r in records
                  if r.key == str(report_id).encode()]  # fmt: skip
        steps = [(e.step.value, e.notify) for e in events if isinstance(e, EscalationRaised)]
        assert steps == [
            ("reminder", ["od-odnzkg"]),
            ("commissioning_authority", ["pv27"]),
            ("administrative_lead", ["pv27-gs"]),
        ]
        assert await service.notifier.mailer.send_due() == 2  # acknowledged (pv27), routes
        subjects = [m["Subject"] for m in smtp_server.inbox.messages]
        assert subjects.count("Uw melding blijft liggen: wat u kunt doen") == 1
        routes = next(m for m in smtp_server.inbox.messages if "blijft liggen" in m["Subject"])
        text = routes.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Gedeputeerde Staten van Noord-Holland" in text
        assert "Algemene wet bestuursrecht" in text
        assert COMPLAINTS in text
        assert OMBUDSMAN in text
        assert LegStatus.DELIVERED.value not in text, "plain words, no codes"


def test_no_topic_the_national_table_reads_carries_a_single_report() -> None:
    read = [spec for spec in TOPICS if NATIONAL_TABLE_READS in spec.consumers]
    assert {spec.name for spec in read} >= {PROCESS_FIGURES.name}
    assert ESCALATION not in read
    for spec in read:
        assert spec.event is not None
        fields = set(spec.event.model_fields)
        assert not fields & {"report_id", "recipient_id", "reporter_key", "leg_id"}, spec.name


async def test_the_table_gets_per_body_figures_of_where_things_stall(
    notifier_service: object, producer: KafkaBroker, kafka_bootstrap_servers: str
) -> None:
    from tests.notifier.conftest import NotifierUnderTest

    assert isinstance(notifier_service, NotifierUnderTest)
    service = notifier_service
    await deliver(service, producer, None, "pv27", "od-odnzkg")
    service.clock.advance(timedelta(days=2, hours=1))
    assert await service.notifier.tick() == 4
    published = await service.notifier.publish_figures()
    records = await consume_until(
        kafka_bootstrap_servers,
        PROCESS_FIGURES.name,
        lambda rs: any(r.key == str(published.figures_id).encode() for r in rs),
    )
    [record] = [r for r in records if r.key == str(published.figures_id).encode()]
    _, event = decode(headers_of(record), record.value or b"")
    assert isinstance(event, ProcessFigures)
    bodies = {b.recipient_id: b for b in event.bodies}
    assert set(bodies) >= {"pv27", "od-odnzkg"}
    assert (bodies["od-odnzkg"].reminders, bodies["od-odnzkg"].commissioning_authority) == (1, 1)
    assert bodies["od-odnzkg"].open_overdue == 1
    assert b"report_id" not in (record.value or b"")


async def read_all(bootstrap_servers: str, spec: TopicSpec) -> list[Record]:
    """Every record on the topic up to its end as it is now (its partitions' end offsets)."""
    partitions = [TopicPartition(spec.name, p) for p in range(spec.partitions)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Record] = []
        while any([await consumer.position(p) < ends[p] for p in partitions]):
            batch = await consumer.getmany(*partitions, timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
        return records
    finally:
        await consumer.stop()


async def test_no_event_with_a_single_report_reaches_the_national_tables_topics(
    notifier_service: NotifierUnderTest, producer: KafkaBroker, kafka_bootstrap_servers: str
) -> None:
    """Issue 16 §2, every path to the table's topics (`NATIONAL_TABLE_READS`): one resident
    reports the steelworks ten times in an hour (the burst rule and the scan see one reporter);
    the OD acknowledges one report through Kafka; the ladder fires all its rungs; then the scan
    and the recurrence check, the figures and the digest. Nothing the table reads names a
    report, a leg or the reporter; no pattern comes of one resident; the digest event leaves
    out counts below five; the ladder's rungs never notify the table."""
    service = notifier_service
    resident = reporter_key("one-resident")
    place = Place(municipality_code="GM0375", province_code="PV27")
    reports = [
        (
            report_received(
                reporter_key=resident,
                observed_at=NOW - timedelta(minutes=55 - 5 * n),
                location=at(WIJK_AAN_ZEE[0] + n * 0.0003, WIJK_AAN_ZEE[1]),
            ),
            place,
        )
        for n in range(10)
    ]
    await send_reports(service, producer, reports)
    report_ids = [str(r.report_id) for r, _ in reports]
    legs = [leg_id_for(r.report_id, to) for r, _ in reports for to in ("pv27", "od-odnzkg")]
    await publish(producer, LEG_STATUS_REPORTED.name, od_reports(report_ids[0], ACKNOWLEDGED))

    async def acknowledged() -> bool:
        async with service.notifier.runtime.sessions() as session:
            leg = await session.get(Leg, leg_id_for(reports[0][0].report_id, "od-odnzkg"))
        return leg is not None and leg.status == ACKNOWLEDGED.value

    await wait_async(acknowledged, timeout_s=60)
    service.clock.advance(timedelta(days=6))  # past 3x the deadlines to acknowledge, in the week
    assert await service.notifier.tick() == 57, "three rungs on the 19 legs not acknowledged"
    assert await service.notifier.scan() == 0, "one resident is no pattern"
    figures_event = await service.notifier.publish_figures()
    digest_id = await service.notifier.publish_digest()
    # the outbox relays in order: once the digest is on its topic, all before it is too
    await consume_until(
        kafka_bootstrap_servers,
        DIGEST_PUBLISHED.name,
        lambda rs: any(r.key == digest_id.encode() for r in rs),
    )
    since_ms = int(service.started_at * 1000)
    forbidden = [*report_ids, *legs, resident]
    read = [spec for spec in TOPICS if NATIONAL_TABLE_READS in spec.consumers]
    assert {s.name for s in read} == {s.name for s in (PATTERN_DETECTED, DIGEST_PUBLISHED,
                                                      PROCESS_FIGURES)}  # fmt: skip
    ours: dict[str, list[object]] = {}
    for spec in read:
        records = await read_all(kafka_bootstrap_servers, spec)
        for record in records:  # this test's and every earlier one's
            value = (record.value or b"").decode()
            assert not [f for f in forbidden if f in value], (spec.name, value[:300])
        ours[spec.name] = [decode(headers_of(r), r.value or b"")[1] for r in records
                           if r.timestamp >= since_ms]  # fmt: skip
    assert ours[PATTERN_DETECTED.name] == [], "no pattern of one resident's reports"
    [figures_out] = [
        e
        for e in ours[PROCESS_FIGURES.name]
        if isinstance(e, ProcessFigures) and e.figures_id == figures_event.figures_id
    ]
    assert {b.recipient_id for b in figures_out.bodies} == {"pv27", "od-odnzkg"}
    assert all(b.legs == 10 for b in figures_out.bodies), "per body, never per report"
    [digest_out] = [
        e
        for e in ours[DIGEST_PUBLISHED.name]
        if isinstance(e, DigestPublished) and str(e.digest_id) == digest_id
    ]
    assert digest_out.pattern_ids == []
    assert digest_out.reports_by_category == {Category.ODOUR: 10}
    document = (await service.client.get(f"/digests/{digest_id}.json")).text
    assert not [f for f in forbidden if f in document], "the digest names no report or leg"

    escalations = await consume_until(
        kafka_bootstrap_servers,
        ESCALATION.name,
        lambda rs: sum(r.key in {i.encode() for i in report_ids} for r in rs) >= 57,
    )
    raised = [decode(headers_of(r), r.value or b"")[1] for r in escalations
              if r.key in {i.encode() for i in report_ids}]  # fmt: skip
    assert len(raised) == 57
    for event in raised:
        assert isinstance(event, EscalationRaised)
        assert event.step is not EscalationStep.NATIONAL_TABLE
        assert "national-table" not in event.notify
