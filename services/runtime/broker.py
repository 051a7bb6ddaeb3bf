"""The Kafka broker every service uses, topics from the registry, and a patient connection.

A service started while Kafka is down keeps retrying with exponential backoff and reports
not-ready; it never crashes in a loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.security import SASLScram512

from schemas.topics import Replication, TopicSpec, replication_for
from services.runtime.metrics import BROKER_CONNECTED
from services.runtime.retries import log_retry, patient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KafkaCredentials:
    """A principal's SASL/SCRAM-SHA-512 credentials (ADR 0018); ``SASL_SSL`` outside one host."""

    username: str
    password: str
    protocol: Literal["SASL_PLAINTEXT", "SASL_SSL"] = "SASL_PLAINTEXT"
    mechanism: Literal["SCRAM-SHA-512", "PLAIN"] = "SCRAM-SHA-512"
    """PLAIN only for compose's admin (a static user of the brokers, before any SCRAM user)."""

    def client_options(self) -> dict[str, Any]:
        """aiokafka's options for a client (producer, consumer, admin) of this principal."""
        options: dict[str, Any] = {
            "security_protocol": self.protocol,
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }
        if self.protocol == "SASL_SSL":
            import ssl

            options["ssl_context"] = ssl.create_default_context()
        return options

    def __repr__(self) -> str:  # never a password in a log line
        return f"KafkaCredentials({self.username!r}, {self.protocol})"


def client_options(credentials: KafkaCredentials | None) -> dict[str, Any]:
    """aiokafka's security options: none on a plaintext broker."""
    return {} if credentials is None else credentials.client_options()


def producer_options(*, idempotent: bool = True) -> dict[str, Any]:
    """How every producer of the services sends (ADR 0012): ``acks=all``, so a record counts once
    the topic's ``min.insync.replicas`` replicas have it (2 of 3 on a cluster), and idempotence,
    so a send retried after a lost answer or a leader change is written once."""
    return {
        "acks": "all",
        "enable_idempotence": idempotent,
        "linger_ms": 2,
        "request_timeout_ms": 15_000,
    }


def make_broker(
    bootstrap_servers: str, *, client_id: str, credentials: KafkaCredentials | None = None
) -> KafkaBroker:
    """A FastStream broker whose producer is idempotent and waits for all replicas.

    FastStream logs through a standard logger of ours, so its lines take the service's log
    format (JSON in ``var/log``) instead of a coloured handler of its own.

    ``bootstrap_servers`` may name several brokers (``host:port,host:port``): aiokafka splits
    such a string, FastStream does not, so it gets the list.  With ``credentials`` it signs in
    with SASL/SCRAM-SHA-512 (ADR 0018)."""
    security = None
    if credentials is not None:
        security = SASLScram512(
            credentials.username,
            credentials.password,
            use_ssl=credentials.protocol == "SASL_SSL",
        )
    return KafkaBroker(
        [server.strip() for server in bootstrap_servers.split(",") if server.strip()],
        client_id=client_id,
        logger=logging.getLogger("buursignaal.broker"),
        allow_auto_create_topics=False,
        graceful_timeout=10.0,
        metadata_max_age_ms=15_000,  # pattern subscribers see new recipient topics soon
        security=security,
        **producer_options(),
    )


async def ensure_topics(
    bootstrap_servers: str,
    specs: Iterable[TopicSpec],
    *,
    replication: Replication | None = None,
    credentials: KafkaCredentials | None = None,
) -> list[str]:
    """Create the topics that do not exist yet (one request), with registry settings.

    Their replication is the registry's for the cluster (``replication_for`` its brokers:
    3 replicas and ``min.insync.replicas=2`` on three or more, 1 and 1 on a single broker)
    unless ``replication`` is given."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=60_000,
        **client_options(credentials),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = {spec.name: spec for spec in specs if spec.name not in existing}
        if not missing:
            return []
        if replication is None:
            replication = replication_for(len((await admin.describe_cluster())["brokers"]))
        response = await admin.create_topics(
            [
                NewTopic(
                    spec.name,
                    spec.partitions,
                    replication.factor,
                    topic_configs=spec.topic_configs(replication),
                )
                for spec in missing.values()
            ],
            timeout_ms=30_000,
        )
        created: list[str] = []
        for name, code, *message in response.topic_errors:
            if code == 0:
                created.append(name)
            elif code != TopicAlreadyExistsError.errno:  # another instance created it first
                raise KafkaError(f"cannot create topic {name}: error {code} {message}")
        return created
    finally:
        await admin.close()


class BrokerConnection:
    """Connects a broker in the background with backoff; ``ready`` tells ``/ready``."""

    def __init__(
        self,
        broker: KafkaBroker,
        *,
        bootstrap_servers: str,
        topics: Iterable[TopicSpec],
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 15.0,
        after_connect: Callable[[], Awaitable[None]] | None = None,
        credentials: KafkaCredentials | None = None,
    ) -> None:
        self.broker = broker
        self._credentials = credentials
        self._bootstrap_servers = bootstrap_servers
        self._topics = tuple(topics)
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._after_connect = after_connect
        self.ready = False
        self.attempts = 0
        self.last_error: str | None = None

    async def connect(self) -> None:
        """Connect, retrying with backoff until it succeeds (cancel the task to give up)."""
        retrying = patient(
            initial_s=self._initial_backoff_s,
            max_s=self._max_backoff_s,
            on_retry=log_retry(log, f"connecting to Kafka at {self._bootstrap_servers}"),
        )
        async for attempt in retrying:
            with attempt:
                await self._connect_once()
        self.ready = True
        self.last_error = None
        BROKER_CONNECTED.set(1)
        log.info("connected to Kafka at %s", self._bootstrap_servers)

    async def _connect_once(self) -> None:
        self.attempts += 1
        try:
            await ensure_topics(
                self._bootstrap_servers, self._topics, credentials=self._credentials
            )
            await self.broker.start()
            if self._after_connect is not None:
                await self._after_connect()
        except Exception as error:
            self.last_error = f"{type(error).__name__}: {error}"
            try:
                await self.broker.stop()
            except Exception:
                log.debug("cleanup after a failed connect failed", exc_info=True)
            raise

    async def close(self) -> None:
        self.ready = False
        BROKER_CONNECTED.set(0)
        await self.broker.stop()


class RecordProducer:
    """A plain idempotent producer (``acks=all``) for the outbox relay.

    The relay publishes pre-serialised records with their CloudEvents headers; going straight to
    aiokafka keeps the per-record cost low on the path every report takes.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        client_id: str,
        idempotent: bool = True,
        credentials: KafkaCredentials | None = None,
    ) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._credentials = credentials
        self._client_id = client_id
        self._idempotent = idempotent
        self._producer: AIOKafkaProducer | None = None
        self._tracked: set[str] = set()

    async def track(self, topics: Iterable[str]) -> None:
        """Fetch metadata for ``topics`` now, in one request, instead of one per first send.

        aiokafka asks the broker for metadata of every topic it tracks each time it meets a
        new one; a service that writes to hundreds of topics should name them up front.
        """
        self._tracked.update(topics)
        if self._producer is not None:
            client = self._producer.client
            await asyncio.gather(*(client.add_topic(topic) for topic in self._tracked))

    async def start(self, stop: asyncio.Event, *, max_backoff_s: float = 15.0) -> bool:
        """Connect, retrying with backoff until connected (True) or ``stop`` is set (False)."""
        retrying = patient(
            initial_s=0.5,
            max_s=max_backoff_s,
            stop=stop,
            on_retry=log_retry(log, "relay producer connecting"),
        )
        try:
            async for attempt in retrying:
                if stop.is_set():
                    return False
                with attempt:
                    await self._start_once()
        except Exception:
            if stop.is_set():
                return False
            raise
        await self.track(())
        return True

    async def _start_once(self) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap_servers,
            client_id=self._client_id,
            **producer_options(idempotent=self._idempotent),
            **client_options(self._credentials),
        )
        try:
            await producer.start()
        except Exception:
            await producer.stop()
            raise
        self._producer = producer

    async def send(
        self, topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> Awaitable[object]:
        if self._producer is None:
            raise ConnectionError("the relay producer is not connected")
        future: Awaitable[object] = await self._producer.send(
            topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
        )
        return future

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
