"""Wires one service: settings, broker, database, background tasks, and its HTTP surface.

Every service exposes ``/health`` (the process is alive), ``/ready`` (broker connected and
database reachable; 503 otherwise) and ``/metrics`` (Prometheus).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from faststream.kafka import KafkaBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from schemas._base import Event
from schemas.topics import TopicPattern, TopicSpec
from services.runtime.broker import BrokerConnection, RecordProducer, ensure_topics
from services.runtime.clock import Clock
from services.runtime.consumer import Apply, E, EventConsumer, Prepare, Verify, subscribe
from services.runtime.database import SessionFactory
from services.runtime.headers import SecurityHeaders
from services.runtime.metrics import metrics_response
from services.runtime.openapi import document_problems
from services.runtime.outbox import OutboxRelay
from services.runtime.pages import install_pages, origin_of
from services.runtime.problems import install_problem_handlers
from services.runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

BackgroundTask = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
CreateTopics = Callable[[Iterable[TopicSpec]], Awaitable[list[str]]]


@dataclass
class ServiceRuntime:
    name: str
    settings: ServiceSettings
    broker: KafkaBroker
    engine: AsyncEngine
    sessions: SessionFactory
    clock: Clock
    topics: Sequence[TopicSpec]
    background: list[BackgroundTask] = field(default_factory=list)
    consumers: list[EventConsumer[Any]] = field(default_factory=list)
    relay_producer: RecordProducer | None = None
    connection: BrokerConnection = field(init=False)
    create_topics: CreateTopics = field(init=False)
    """Creates the topics that do not exist yet, once running (``ensure_topics`` on this
    service's Kafka; a test on FastStream's in-memory broker puts in one that needs none)."""
    _stop: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.connection = BrokerConnection(
            self.broker,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            topics=self.topics,
            initial_backoff_s=self.settings.connect_backoff_initial_s,
            max_backoff_s=self.settings.connect_backoff_max_s,
            credentials=self.settings.kafka_credentials,
        )
        self.create_topics = functools.partial(
            ensure_topics,
            self.settings.kafka_bootstrap_servers,
            credentials=self.settings.kafka_credentials,
        )

    def consume(
        self,
        source: TopicSpec | TopicPattern,
        apply: Apply[E],
        *,
        handles: type[E],
        description: str,
        prepare: Prepare[E] | None = None,
        urgent: bool = False,
        ignores: tuple[type[Event], ...] = (),
        verify: Verify[E] | None = None,
    ) -> EventConsumer[E]:
        """Consume ``source`` in this service's group, once per event, dead-lettering.

        ``source`` is a topic of the registry (one group per topic: no rebalances across
        topics) or a pattern of topics (one group for every topic matching it). ``handles`` is
        the event type of the topic (checked against the registry); any other type is
        dead-lettered. ``urgent``: hand over each record at once rather than letting the broker
        collect a batch first (see ``subscribe``); for the path from the resident to the
        authority. ``ignores``: other event types on the topic that are not this consumer's
        (skipped, not dead-lettered).
        """
        if source.dead_letter is None:
            raise ValueError(f"{source.name} has no dead-letter topic in the registry")
        if source.event is not handles:
            raise ValueError(f"{source.name} carries {source.event}, not {handles}")
        consumer = EventConsumer(
            self.name,
            handles=handles,
            broker=self.broker,
            sessions=self.sessions,
            clock=self.clock,
            dead_letter_topic=source.dead_letter,
            apply=apply,
            prepare=prepare,
            ignores=ignores,
            verify=verify,
        )
        if isinstance(source, TopicSpec):
            self._subscribe(consumer, source, None, description=description, urgent=urgent)
        else:
            self._subscribe(consumer, None, source.pattern, description=description, urgent=urgent)
        return consumer

    def _subscribe(
        self,
        consumer: EventConsumer[Any],
        spec: TopicSpec | None,
        pattern: str | None,
        *,
        description: str,
        urgent: bool,
    ) -> None:
        source = spec.name if spec is not None else re.sub(r"[{}]", "", pattern or "")
        subscribe(
            self.broker,
            spec,
            consumer,
            group_id=f"{self.name}.{source}",
            description=description,
            max_records=self.settings.consumer_batch_size,
            pattern=pattern,
            urgent=urgent,
        )
        self.consumers.append(consumer)

    def declare_publisher(self, spec: TopicSpec) -> None:
        """Document that this service publishes on ``spec`` (for the AsyncAPI document)."""
        self.broker.publisher(
            spec.name,
            title=f"{self.name}:{spec.name}",
            description=spec.description,
            schema=spec.event,
        )

    async def start(self) -> None:
        self._stop.clear()
        self._tasks.append(asyncio.create_task(self._connect_then_run(), name=f"{self.name}-main"))

    async def _connect_then_run(self) -> None:
        await self.connection.connect()
        for task in self.background:
            self._tasks.append(asyncio.create_task(task(self._stop)))

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            if task.get_name() == f"{self.name}-main":
                task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.connection.close()
        await self.engine.dispose()

    async def database_ok(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            log.warning("database not reachable", exc_info=True)
            return False
        return True

    async def readiness(self) -> dict[str, Any]:
        database = await self.database_ok()
        stalled = {c.name: c.stalled for c in self.consumers if c.stalled is not None}
        return {
            "service": self.name,
            "ready": self.connection.ready and database and not stalled,
            "checks": {
                "kafka": "connected" if self.connection.ready else "connecting",
                "database": "ok" if database else "unreachable",
                "consumers": "flowing" if not stalled else "waiting out a failure",
            },
            "waiting": stalled,
            "kafka_connect_attempts": self.connection.attempts,
            "kafka_last_error": self.connection.last_error,
        }


def operations_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": runtime.name}

    @router.get("/ready")
    async def ready() -> JSONResponse:
        body = await runtime.readiness()
        return JSONResponse(body, status_code=200 if body["ready"] else 503)

    return router


def create_http_app(
    runtime: ServiceRuntime,
    *,
    title: str,
    version: str = "1",
    routers: Iterable[APIRouter] = (),
    configure: Callable[[FastAPI], None] | None = None,
    static: Path | None = None,
    form_action: Sequence[str] = (),
    reference_dir: Path | None = None,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.state.runtime = runtime
    install_problem_handlers(app)
    app.include_router(operations_router(runtime))
    for router in routers:
        app.include_router(router)
    app.add_api_route("/metrics", metrics_response, methods=["GET"], tags=["operations"])
    if configure is not None:
        configure(app)
    if static is not None:
        # a service with pages: its own files, the shared NL Design System look and maps
        app.mount("/static", StaticFiles(directory=static), name="static")
        install_pages(app, runtime.settings, reference_dir)
    document_problems(app)
    app.add_middleware(
        SecurityHeaders,
        form_action=form_action,
        image_origins=origin_of(runtime.settings.map_tiles_url),
    )
    return app


def build_runtime(
    name: str,
    settings: ServiceSettings,
    *,
    topics: Sequence[TopicSpec],
    clock: Clock,
) -> ServiceRuntime:
    """The plumbing of one service; the service adds its handlers and background tasks."""
    from services.runtime.broker import make_broker
    from services.runtime.database import make_engine, session_factory

    engine = make_engine(settings.effective_database_url)
    return ServiceRuntime(
        name=name,
        settings=settings,
        broker=make_broker(
            settings.kafka_bootstrap_servers,
            client_id=f"buursignaal-{name}",
            credentials=settings.kafka_credentials,
        ),
        engine=engine,
        sessions=session_factory(engine),
        clock=clock,
        topics=topics,
    )


def add_outbox_relay(runtime: ServiceRuntime, *, idempotent_producer: bool = True) -> OutboxRelay:
    """Run the outbox relay of this service in the background once the broker is connected.

    Every service's relay is idempotent (``acks=all``): ADR 0012 measured no cost against
    ``idempotent_producer=False`` (which ADR 0005 had chosen for the router); consumers
    deduplicate by CloudEvents id either way.
    """
    producer = RecordProducer(
        runtime.settings.kafka_bootstrap_servers,
        client_id=f"buursignaal-{runtime.name}-relay",
        idempotent=idempotent_producer,
        credentials=runtime.settings.kafka_credentials,
    )
    runtime.relay_producer = producer
    relay = OutboxRelay(
        runtime.sessions,
        producer.send,
        runtime.clock,
        batch_size=runtime.settings.outbox_batch_size,
        poll_interval_s=runtime.settings.outbox_poll_interval_s,
    )

    async def run(stop: asyncio.Event) -> None:
        if not await producer.start(stop, max_backoff_s=runtime.settings.connect_backoff_max_s):
            return
        try:
            await relay.run(stop)
        finally:
            await producer.stop()

    runtime.background.append(run)
    for consumer in runtime.consumers:
        consumer.outbox = relay  # consumers publish what they wrote before committing offsets
    return relay
