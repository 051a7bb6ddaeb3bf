"""The authority consumer example (deploy/authority/consumer.py) against the real broker: it
reads its own delivery topic and its answer is a valid status report for the notifier."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from schemas.cloudevents import decode
from schemas.leg import LegStatus, LegStatusReported
from schemas.routing import Role
from schemas.topics import LEG_STATUS_REPORTED, all_static_topics
from tests.support.deliveries import publish_delivery
from tests.support.kafka import consume_until, headers_of

pytestmark = pytest.mark.kafka
EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "authority" / "consumer.py"


async def test_the_example_acknowledges_its_deliveries(
    kafka_bootstrap_servers: str, topic_suffix: str
) -> None:
    me = f"od-example-{topic_suffix}"
    delivery = await publish_delivery(
        kafka_bootstrap_servers,
        me,
        Role.EXECUTING_BODY,
        source="/router",
        topics=all_static_topics(),
    )
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
    assert str(delivery.report_id) in stdout.decode()
    records = await consume_until(
        kafka_bootstrap_servers,
        LEG_STATUS_REPORTED.name,
        lambda rs: any(r.key == str(delivery.report_id).encode() for r in rs),
    )
    record = next(r for r in records if r.key == str(delivery.report_id).encode())
    _, answer = decode(headers_of(record), record.value or b"")
    assert isinstance(answer, LegStatusReported), "the example speaks the contract"
    assert (answer.recipient_id, answer.status) == (me, LegStatus.ACKNOWLEDGED)
