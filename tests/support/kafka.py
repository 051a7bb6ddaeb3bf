"""Kafka helpers for tests: where the broker is, and reading a topic until something holds."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer

from services.runtime.broker import KafkaCredentials, client_options
from tools.local import kafka
from tools.local.postgres import free_port

Record: TypeAlias = Any  # aiokafka.ConsumerRecord; aiokafka ships no type information


def docker_engine_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        client.ping()
    except Exception:
        return False
    return True


@contextmanager
def kafka_bootstrap(tmp_dir: Path, brokers: int = 1) -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS when set; else testcontainers with Docker; else the local broker.

    ``brokers=3`` is always a local cluster of this machine's own (``throwaway_cluster``)."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured and brokers == 1:
        yield configured
        return
    if docker_engine_answers() and brokers == 1:
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    with throwaway_cluster(tmp_dir, brokers) as config:
        yield config.bootstrap_servers


@contextmanager
def throwaway_cluster(
    tmp_dir: Path,
    brokers: int = 3,
    *,
    authentication: bool = False,
    authorities: tuple[str, ...] = (),
) -> Iterator[kafka.BrokerConfig]:
    """A local broker (``brokers=1``) or cluster on free ports in ``tmp_dir``, wiped afterwards;
    the config lets a test kill and restart its nodes (``kafka.kill``, ``kafka.up``).

    ``authentication``: SASL/SCRAM and ACLs as in ``stack up`` (ADR 0018), with principals for
    the services and ``authorities``; ``kafka.credentials(config, name)`` signs one in."""
    peers = tuple((free_port(), free_port()) for _ in range(brokers - 1))
    config = kafka.BrokerConfig(
        data_dir=tmp_dir / "kafka",
        port=free_port(),
        controller_port=free_port(),
        brokers=brokers,
        peer_ports=peers,
        authentication=authentication,
        authorities=authorities,
    )
    kafka.up(config)
    try:
        yield config
    finally:
        kafka.down(config, wipe=True)


async def consume_until(
    bootstrap_servers: str,
    topic: str,
    condition: Callable[[list[Record]], bool],
    *,
    timeout_s: float = 30.0,
    credentials: KafkaCredentials | None = None,
) -> list[Record]:
    """Read ``topic`` from the beginning until ``condition(records)`` holds or time runs out
    (as the principal of ``credentials`` on a broker with authentication).

    Raises ``TimeoutError`` with what was seen, so a failing test says why.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        **client_options(credentials),
    )
    await consumer.start()
    records: list[Record] = []
    deadline = time.monotonic() + timeout_s
    try:
        while not condition(records):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"condition not met on {topic} within {timeout_s} s; saw {len(records)} records"
                )
            batch = await consumer.getmany(timeout_ms=int(min(remaining, 0.5) * 1000))
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


def headers_of(record: Record) -> dict[str, str]:
    return {key: value.decode() for key, value in record.headers}


async def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


async def wait_async(condition: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    """Poll an async condition until it holds; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.1)


def wait_until(
    condition: Callable[[], bool], timeout_s: float = 30.0, interval_s: float = 0.2
) -> None:
    """``wait_for`` for synchronous code (processes, browsers): poll until ``condition`` holds."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval_s)
