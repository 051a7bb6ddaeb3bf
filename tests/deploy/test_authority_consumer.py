"""The authority consumer example (deploy/authority/consumer.py) against the real broker: it
reads its own delivery topic and its answer is a valid status report for the notifier."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from schemas.cloudevents import decode, headers_for
from schemas.leg import LegStatus, LegStatusReported
from schemas.routing import Role
from schemas.topics import LEG_STATUS_REPORTED, all_static_topics, delivery_topic
from services.runtime.broker import ensure_topics, make_broker
from tests.support.factories import delivered, recipient, report_received
from tests.support.kafka import consume_until, headers_of

pytestmark = pytest.mark.kafka
EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "authority" / "consumer.py"


async def test_the_example_acknowledges_its_deliveries(
    kafka_bootstrap_servers: str, topic_suffix: str
) -> None:
    me = f"od-example-{topic_suffix}"
    spec = delivery_topic(me)
    await ensure_topics(kafka_bootstrap_servers, [*all_static_topics(), spec])
    report = report_received()
    event = delivered(report, recipient(me, Role.EXECUTING_BODY))
    broker = make_broker(kafka_bootstrap_servers, client_id="example-test")
    await broker.start()
    try:
        await broker.publish(
            event.model_dump_json().encode(),
            spec.name,
            key=str(report.report_id).encode(),
            headers=headers_for(event, source="/router"),
        )
    finally:
        await broker.stop()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        "--recipient",
        me,
        "--bootstrap",
        kafka_bootstrap_servers,
        "--limit",
        "1",
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0
    assert str(report.report_id) in stdout.decode()
    records = await consume_until(
        kafka_bootstrap_servers,
        LEG_STATUS_REPORTED.name,
        lambda rs: any(r.key == str(report.report_id).encode() for r in rs),
    )
    record = next(r for r in records if r.key == str(report.report_id).encode())
    _, answer = decode(headers_of(record), record.value or b"")
    assert isinstance(answer, LegStatusReported), "the example speaks the contract"
    assert (answer.recipient_id, answer.status) == (me, LegStatus.ACKNOWLEDGED)
