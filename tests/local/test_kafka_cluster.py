"""The pipeline on a local three-broker cluster: topics with three replicas, two of them in sync
before a write counts, and one broker killed (SIGKILL) under load.

Reports are produced the way intake's relay does (idempotent, ``acks=all``, sent again until
acknowledged) while the real router consumes them; the broker that coordinates the router's
consumer group and leads some of its partitions is killed half way.  Afterwards every
acknowledged report is on its topic, every report has exactly one routing decision, the router's
group has committed the end of every partition, and the partitions the dead broker led have new
leaders from which the router went on consuming.  (``kafka.up`` would restart the dead node with
its data; under this load it needs about 20 s to recover its ~450 partitions, so the test leaves
that out to stay fast.)
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from schemas.cloudevents import headers_for
from schemas.topics import (
    CLUSTER_REPLICATION,
    REPORT_RECEIVED,
    ROUTING_DECIDED,
    TopicSpec,
    delivery_topic,
)
from services.runtime.broker import RecordProducer, ensure_topics
from tests.router.test_router_handlers import WIJK_AAN_ZEE, router  # noqa: F401  (the real one)
from tests.support.brokers import KafkaBus
from tests.support.factories import report_received
from tests.support.kafka import Record, consume_until, headers_of, throwaway_cluster, wait_async
from tools.local import kafka

pytestmark = pytest.mark.kafka

REPORTS = 300
ROUTER_GROUP = f"router.{REPORT_RECEIVED.name}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[kafka.BrokerConfig]:
    with throwaway_cluster(tmp_path_factory.mktemp("cluster"), brokers=3) as config:
        yield config


async def admin_for(bootstrap: str) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    return admin


async def partitions_of(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    admin = await admin_for(bootstrap)
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(described["partitions"], key=lambda p: p["partition"])


async def test_topics_have_three_replicas_two_of_them_in_sync(
    cluster: kafka.BrokerConfig, topic_suffix: str
) -> None:
    spec = TopicSpec(f"test.{topic_suffix}.replicated.v1", None, "report_id", 3, None, (), ())
    assert await ensure_topics(cluster.bootstrap_servers, [spec]) == [spec.name]
    partitions = await partitions_of(cluster.bootstrap_servers, spec.name)
    assert [len(p["replicas"]) for p in partitions] == [CLUSTER_REPLICATION.factor] * 3
    assert {p["leader"] for p in partitions} == {1, 2, 3}, "leadership is spread"
    admin = await admin_for(cluster.bootstrap_servers)
    try:
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, spec.name)]
        )
    finally:
        await admin.close()
    configs = {entry[0]: entry[1] for entry in response.resources[0][4]}
    assert configs["min.insync.replicas"] == str(CLUSTER_REPLICATION.min_insync) == "2"


@dataclass
class Load:
    """Reports sent like intake's relay: each one again until the cluster acknowledged it."""

    producer: RecordProducer
    acknowledged: dict[str, str] = field(default_factory=dict)  # report id -> CloudEvents id
    resent: int = 0
    pending: list[asyncio.Task[None]] = field(default_factory=list)

    async def send(self, count: int, per_second: float) -> None:
        for _ in range(count):
            event = report_received(location=WIJK_AAN_ZEE)
            headers = headers_for(event, source="/buursignaal/intake")
            key = str(event.report_id).encode()
            body = event.model_dump_json()
            self.pending.append(asyncio.create_task(self._until_acknowledged(body, key, headers)))
            await asyncio.sleep(1 / per_second)

    async def drained(self, timeout_s: float) -> None:
        await asyncio.wait_for(asyncio.gather(*self.pending), timeout_s)

    async def _until_acknowledged(self, body: str, key: bytes, headers: dict[str, str]) -> None:
        while True:
            try:
                sent = await self.producer.send(REPORT_RECEIVED.name, key, body.encode(), headers)
                await sent
            except KafkaError:
                self.resent += 1
                await asyncio.sleep(0.5)
            else:
                self.acknowledged[key.decode()] = headers["ce_id"]
                return


@pytest.fixture
async def load(cluster: kafka.BrokerConfig) -> AsyncIterator[Load]:
    producer = RecordProducer(cluster.bootstrap_servers, client_id="cluster-test-intake")
    assert await producer.start(asyncio.Event())
    try:
        yield Load(producer)
    finally:
        await producer.stop()


@pytest.fixture
def broker(cluster: kafka.BrokerConfig) -> KafkaBus:
    """The router fixture of the router's handler tests, on the cluster instead."""
    return KafkaBus(cluster.bootstrap_servers)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'router.sqlite'}"


async def victim_of(bootstrap: str) -> tuple[int, set[int]]:
    """The broker coordinating the router's group (if it leads partitions of the input, else
    the leader of partition 0), and the input partitions it leads."""
    admin = await admin_for(bootstrap)
    try:
        coordinator = await admin.find_coordinator(ROUTER_GROUP)
    finally:
        await admin.close()
    partitions = await partitions_of(bootstrap, REPORT_RECEIVED.name)
    led = {p["partition"] for p in partitions if p["leader"] == coordinator}
    if led:
        return coordinator, led
    leader = partitions[0]["leader"]
    return leader, {p["partition"] for p in partitions if p["leader"] == leader}


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    numbers = [p["partition"] for p in await partitions_of(bootstrap, topic)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, n) for n in numbers])
    finally:
        await consumer.stop()
    return {tp.partition: offset for tp, offset in ends.items()}


async def committed(bootstrap: str) -> dict[int, int]:
    admin = await admin_for(bootstrap)
    try:
        offsets = await admin.list_consumer_group_offsets(ROUTER_GROUP)
    finally:
        await admin.close()
    return {
        tp.partition: meta.offset
        for tp, meta in offsets.items()
        if tp.topic == REPORT_RECEIVED.name
    }


def decisions_by_report(records: list[Record]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for record in records:
        found.setdefault(record.key.decode(), set()).add(headers_of(record)["ce_id"])
    return found


@pytest.mark.usefixtures("router")
async def test_a_broker_killed_under_load_loses_nothing(
    cluster: kafka.BrokerConfig, load: Load
) -> None:
    bootstrap = cluster.bootstrap_servers
    await load.send(REPORTS // 3, per_second=100)
    victim, led = await victim_of(bootstrap)
    before_kill = await end_offsets(bootstrap, REPORT_RECEIVED.name)
    killed_at = time.monotonic()
    assert kafka.kill(cluster, victim) is not None
    await load.send(REPORTS - REPORTS // 3, per_second=100)
    await load.drained(timeout_s=60)

    # every acknowledged report is on the topic, and each has exactly one decision
    received = await consume_until(
        bootstrap,
        REPORT_RECEIVED.name,
        lambda rs: set(load.acknowledged) <= {r.key.decode() for r in rs},
        timeout_s=30,
    )
    ids = set(load.acknowledged)
    decided = await consume_until(
        bootstrap,
        ROUTING_DECIDED.name,
        lambda rs: ids <= set(decisions_by_report(rs)),
        timeout_s=90,
    )
    recovered_s = time.monotonic() - killed_at
    decisions = decisions_by_report(decided)
    assert len(ids) == REPORTS
    assert {report: len(decisions[report]) for report in ids} == dict.fromkeys(ids, 1), (
        "one routing decision per report (re-sent records keep their CloudEvents id)"
    )
    copies = Counter(r.key.decode() for r in received)
    deliveries = await consume_until(
        bootstrap,
        delivery_topic("od-odnzkg").name,
        lambda rs: ids <= {r.key.decode() for r in rs},
        timeout_s=30,
    )
    assert ids <= {r.key.decode() for r in deliveries}

    # the router's group committed the end of every input partition
    ends = await end_offsets(bootstrap, REPORT_RECEIVED.name)

    async def caught_up() -> bool:
        return await committed(bootstrap) == ends

    await wait_async(caught_up, timeout_s=30)

    # the dead broker's partitions have new leaders, written to and consumed after the kill
    partitions = await partitions_of(bootstrap, REPORT_RECEIVED.name)
    assert all(p["leader"] not in (victim, -1) for p in partitions)
    assert all(victim not in p["isr"] and len(p["isr"]) == 2 for p in partitions)
    assert all(ends[p] > before_kill[p] for p in led), "the moved partitions took new reports"
    print(
        f"killed broker {victim} (led partitions {sorted(led)}); {REPORTS} reports, "
        f"{load.resent} sends repeated, {sum(copies.values()) - len(copies)} duplicate records "
        f"on the topic, all decided {recovered_s:.1f} s after the kill"
    )
