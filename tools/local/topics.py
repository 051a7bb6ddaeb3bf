"""The registry's topics on the local broker: created once, and usable only when every
partition has a leader (consumers that start earlier log ``NotLeaderForPartitionError``)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from aiokafka.admin import AIOKafkaAdminClient

from tools.local.errors import LocalInfraError

if TYPE_CHECKING:
    from services.runtime.broker import KafkaCredentials


def _leaderless(topics: list[dict[str, Any]]) -> int:
    """Partitions without a leader (or topics the broker does not know yet)."""
    missing = 0
    for topic in topics:
        partitions = topic.get("partitions") or []
        if topic.get("error_code") or not partitions:
            missing += 1
        missing += sum(1 for p in partitions if p.get("error_code") or p.get("leader", -1) < 0)
    return missing


async def _wait_for_leaders(
    bootstrap_servers: str,
    names: list[str],
    timeout_s: float,
    credentials: KafkaCredentials | None = None,
) -> int:
    from services.runtime.broker import client_options

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=30_000,
        **client_options(credentials),
    )
    await admin.start()
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            topics = await admin.describe_topics(names)
            if _leaderless(topics) == 0:
                return sum(len(topic["partitions"]) for topic in topics)
            if time.monotonic() > deadline:
                raise LocalInfraError(
                    f"Topic partitions still without a leader after {timeout_s:.0f} s."
                )
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


async def prepare(
    bootstrap_servers: str,
    timeout_s: float = 60.0,
    *,
    credentials: KafkaCredentials | None = None,
) -> tuple[int, int]:
    """Create the registry's topics and wait for their leaders: (topics, partitions).

    On a broker with authentication ``credentials`` are the admin's (ADR 0018)."""
    from schemas.topics import all_static_topics
    from services.runtime.broker import ensure_topics

    specs = list(all_static_topics())
    await ensure_topics(bootstrap_servers, specs, credentials=credentials)
    names = [spec.name for spec in specs]
    partitions = await _wait_for_leaders(bootstrap_servers, names, timeout_s, credentials)
    return len(names), partitions


def prepare_topics(
    bootstrap_servers: str, credentials: KafkaCredentials | None = None
) -> tuple[int, int]:
    return asyncio.run(prepare(bootstrap_servers, credentials=credentials))
