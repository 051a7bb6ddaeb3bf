"""Dead letters for operators: list them, show one, replay them to where they came from.

Every dead-letter topic of the registry (``schemas.topics``) holds the original bytes and
headers of an event that could not take effect, with ``x-deadletter-reason``,
``x-deadletter-consumer`` and ``x-original-topic/partition/offset``. Replaying publishes the
original bytes and CloudEvents headers to the original topic again: the consumers are
idempotent by CloudEvents id, so an event that took effect in the meantime stays a no-op, and
one that never did now takes effect. A dead letter is named ``<topic>@<partition>:<offset>``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.topics import all_static_topics
from services.runtime.broker import KafkaCredentials, client_options

DEADLETTER_HEADERS = ("x-deadletter-", "x-original-")
QUIET_MS = 500
READ_TIMEOUT_S = 60


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, str]
    body: bytes

    @property
    def name(self) -> str:
        return f"{self.topic}@{self.partition}:{self.offset}"

    @property
    def reason(self) -> str:
        return self.headers.get("x-deadletter-reason", "")

    @property
    def original_topic(self) -> str:
        return self.headers.get("x-original-topic", "")

    def original_headers(self) -> list[tuple[str, bytes]]:
        return [
            (name, value.encode())
            for name, value in self.headers.items()
            if not name.startswith(DEADLETTER_HEADERS)
        ]

    def summary(self) -> dict[str, str]:
        return {
            "dead_letter": self.name,
            "type": self.headers.get("ce_type", ""),
            "event_id": self.headers.get("ce_id", ""),
            "consumer": self.headers.get("x-deadletter-consumer", ""),
            "original": self.original_topic,
            "at": self.headers.get("x-deadlettered-at", ""),
            "reason": self.reason,
        }


def dead_letter_topic_names() -> list[str]:
    return sorted(spec.name for spec in all_static_topics() if ".deadletter" in spec.name)


async def read(
    bootstrap: str, topics: Sequence[str], credentials: KafkaCredentials | None = None
) -> list[DeadLetter]:
    """Every dead letter on ``topics``, oldest first per topic (read to the end, no group)."""
    probe = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, **client_options(credentials)
    )
    await probe.start()
    try:
        existing = [topic for topic in topics if topic in await probe.topics()]
    finally:
        await probe.stop()
    if not existing:
        return []
    consumer = AIOKafkaConsumer(
        *existing,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **client_options(credentials),
    )
    await consumer.start()
    try:
        # one bound for all of it: end_offsets and position may wait on the metadata of a
        # broker that is coming back without a timeout of their own
        async with asyncio.timeout(READ_TIMEOUT_S):
            found = await _read_to_end(consumer)
    except TimeoutError as error:
        raise TimeoutError(
            f"could not read {', '.join(existing)} to its end in {READ_TIMEOUT_S} s"
        ) from error
    finally:
        await consumer.stop()
    return sorted(found, key=lambda d: (d.topic, d.partition, d.offset))


async def _read_to_end(consumer: AIOKafkaConsumer) -> list[DeadLetter]:
    while not consumer.assignment():  # noqa: ASYNC110 - without a group every partition is ours
        await asyncio.sleep(0.1)
    partitions = list(consumer.assignment())
    ends = await consumer.end_offsets(partitions)
    found: list[DeadLetter] = []
    while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
        batch = await consumer.getmany(timeout_ms=QUIET_MS)
        for records in batch.values():
            found.extend(
                DeadLetter(
                    topic=r.topic,
                    partition=r.partition,
                    offset=r.offset,
                    key=r.key,
                    headers={k: v.decode(errors="replace") for k, v in r.headers},
                    body=r.value or b"",
                )
                for r in records
            )
    return found


async def replay(
    bootstrap: str, letters: Sequence[DeadLetter], credentials: KafkaCredentials | None = None
) -> int:
    """Publish each letter's original bytes and headers to its original topic."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, enable_idempotence=True, **client_options(credentials)
    )
    await producer.start()
    try:
        for letter in letters:
            if not letter.original_topic:
                raise ValueError(f"{letter.name} does not say where it came from")
            await producer.send_and_wait(
                letter.original_topic,
                letter.body,
                key=letter.key,
                headers=letter.original_headers(),
            )
    finally:
        await producer.stop()
    return len(letters)


def run(
    action: str,
    bootstrap: str,
    names: Sequence[str],
    topic: str | None,
    credentials: KafkaCredentials | None = None,
) -> int:
    """The ``buursignaal deadletters`` command: list, show NAME..., replay NAME...|--all
    (on a broker with authentication as the admin, ``BUURSIGNAAL_KAFKA_USERNAME``/``_PASSWORD``)."""
    topics = [topic] if topic else dead_letter_topic_names()
    letters = asyncio.run(read(bootstrap, topics, credentials))
    if action == "list":
        for letter in letters:
            print(json.dumps(letter.summary(), ensure_ascii=False))
        return 0
    chosen = letters if names == ["all"] else [d for d in letters if d.name in names]
    missing = set(names) - {d.name for d in chosen} - {"all"}
    if missing:
        print(f"no such dead letter: {', '.join(sorted(missing))}")
        return 1
    if action == "show":
        for letter in chosen:
            body = letter.body.decode(errors="replace")
            print(json.dumps({**letter.summary(), "headers": letter.headers, "body": body}))
        return 0
    count = asyncio.run(replay(bootstrap, chosen, credentials))
    print(f"replayed {count} dead letters to their original topics")
    return 0
