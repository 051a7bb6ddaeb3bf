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
from faststream.kafka import KafkaBroker

from schemas.cloudevents import decode
from schemas.leg import EscalationRaised, LegStatus
from schemas.process import ProcessFigures
from schemas.topics import ESCALATION, NATIONAL_TABLE_READS, PROCESS_FIGURES, TOPICS
from services.notifier.authorities import register_authority
from tests.notifier.conftest import Intake, mailing_notifier, resident_report
from tests.notifier.test_notifier_service import deliver
from tests.support.kafka import consume_until, headers_of
from tests.support.smtp import SmtpServer

pytestmark = pytest.mark.kafka
COMPLAINTS = "https://www.noord-holland.nl/klachten"
OMBUDSMAN = "https://www.nationaleombudsman.nl/klacht-indienen"


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
