"""`buursignaal deadletters`: list, show and replay dead letters on the real broker (issue 14)."""

from __future__ import annotations

import json
import os
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from schemas.cloudevents import headers_for
from schemas.topics import TopicSpec
from services.runtime.broker import ensure_topics
from tests.support.factories import report_received
from tests.support.kafka import consume_until
from tests.support.processes import cli

pytestmark = pytest.mark.kafka


async def test_a_dead_letter_is_listed_shown_and_replayed_to_its_topic(
    kafka_bootstrap_servers: str,
) -> None:
    dead_letters = f"test.deadletter.{uuid.uuid4().hex[:8]}.v1"
    original = f"test.original.{uuid.uuid4().hex[:8]}.v1"
    specs = [
        TopicSpec(name, None, "report_id", 1, None, ("test",), ("test",))
        for name in (dead_letters, original)
    ]
    await ensure_topics(kafka_bootstrap_servers, specs)
    event = report_received()
    headers = {
        **headers_for(event, source="/test"),
        "x-deadletter-reason": "failed 3 times, last: OperationalError: the database was down",
        "x-deadletter-consumer": "router",
        "x-original-topic": original,
        "x-original-partition": "0",
        "x-original-offset": "41",
        "x-deadlettered-at": "2026-12-02T02:00:00+00:00",
    }
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            dead_letters,
            event.model_dump_json().encode(),
            key=str(event.report_id).encode(),
            headers=[(k, v.encode()) for k, v in headers.items()],
        )
    finally:
        await producer.stop()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap_servers}

    listed = cli("deadletters", "list", "--topic", dead_letters, env=env, check=True)
    (line,) = listed.stdout.splitlines()
    summary = json.loads(line)
    assert summary["dead_letter"] == f"{dead_letters}@0:0"
    assert summary["event_id"] == headers["ce_id"]
    assert "database was down" in summary["reason"]

    shown = cli("deadletters", "show", summary["dead_letter"], "--topic", dead_letters, env=env)
    assert json.loads(shown.stdout)["body"] == event.model_dump_json()
    unknown = cli("deadletters", "show", f"{dead_letters}@0:9", "--topic", dead_letters, env=env)
    assert unknown.returncode == 1

    replayed = cli("deadletters", "replay", "all", "--topic", dead_letters, env=env, check=True)
    assert "replayed 1" in replayed.stdout
    (record,) = await consume_until(kafka_bootstrap_servers, original, lambda rs: len(rs) >= 1)
    assert record.value == event.model_dump_json().encode()
    assert record.key == str(event.report_id).encode()
    again = {k: v.decode() for k, v in record.headers}
    assert again["ce_id"] == headers["ce_id"], "the same CloudEvents id: consumers deduplicate"
    assert not any(k.startswith(("x-deadletter-", "x-original-")) for k in again)
    every = cli("deadletters", "list", env=env)
    assert every.returncode == 0, every.stderr  # every dead-letter topic of the registry
