"""The router's entry point: reference data, rules and wind in memory; consumes received
reports and "not ours" answers, publishes decisions and deliveries through its outbox."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas.cloudevents import CloudEventAttributes
from schemas.leg import LegStatusChanged
from schemas.report import ReportCorrected, ReportReceived
from schemas.routing import ReportDelivered
from schemas.topics import (
    LEG_STATUS,
    REPORT_CORRECTED,
    REPORT_RECEIVED,
    REPORT_UNROUTABLE,
    ROUTING_DECIDED,
    ROUTING_TRIAGE,
    TopicSpec,
    all_static_topics,
    delivery_topic,
)
from services.router.actions import Routing
from services.router.rules import load_rules
from services.router.settings import RouterSettings
from services.router.versions import VersionedRouter
from services.router.waterboards import BoundaryWaterBoards, PdokWaterBoards, WaterBoardFinder
from services.router.wind import FixedWind, WatchedKnmiWind, WindProvider
from services.runtime.broker import ensure_topics
from services.runtime.clock import Clock, SystemClock
from services.runtime.service import (
    ServiceRuntime,
    add_outbox_relay,
    build_runtime,
    create_http_app,
)

NAME = "router"
log = logging.getLogger(__name__)


def build_router(settings: RouterSettings) -> VersionedRouter:
    wind: WindProvider
    weather = settings.weather_dir or settings.reference_dir / "weather"
    if settings.fixed_wind_from_deg is not None:
        wind = FixedWind(settings.fixed_wind_from_deg)
    elif settings.weather_dir is not None or (weather / "knmi_stations.csv").exists():
        wind = WatchedKnmiWind(weather)
    else:
        log.warning("no KNMI wind files in %s: wind unknown, no downwind attribution", weather)
        wind = FixedWind(None)
    return VersionedRouter.load(settings.reference_dir, load_rules(), wind)


def build_water_boards(
    settings: RouterSettings, router: VersionedRouter
) -> WaterBoardFinder | None:
    latest = router.latest.registry
    year = latest.validity.valid_from.year
    boundaries = BoundaryWaterBoards.load(settings.reference_dir, year)
    if boundaries is not None:
        return boundaries
    if settings.pdok_locatieserver_url:
        return PdokWaterBoards(
            settings.pdok_locatieserver_url, latest.water_boards, timeout_s=settings.pdok_timeout_s
        )
    log.warning("no water board boundaries and no PDOK lookup: water boards unknown")
    return None


def build_runtime_for(settings: RouterSettings, clock: Clock) -> ServiceRuntime:
    runtime = build_runtime(NAME, settings, topics=all_static_topics(), clock=clock)
    known_topics: set[str] = set()

    async def ensure_topic(spec: TopicSpec) -> None:
        if spec.name not in known_topics:
            await ensure_topics(settings.kafka_bootstrap_servers, [spec])
            known_topics.add(spec.name)

    router = build_router(settings)
    routing = Routing(
        router,
        clock,
        ensure_topic,
        max_refusals=settings.max_refusals,
        water_boards=build_water_boards(settings, router),
    )

    async def create_delivery_topics(_stop: asyncio.Event) -> None:
        """Every recipient's topic in one request at start, off the per-report path."""
        specs = [delivery_topic(i) for i in router.possible_recipient_ids()]
        try:
            created = await ensure_topics(settings.kafka_bootstrap_servers, specs)
        except Exception:  # each report's first delivery creates its topic instead
            log.exception("could not create the delivery topics at start")
            return
        known_topics.update(spec.name for spec in specs)
        if runtime.relay_producer is not None:
            await runtime.relay_producer.track(known_topics)
        log.info("delivery topics: %d known, %d created", len(specs), len(created))

    runtime.background.append(create_delivery_topics)

    async def on_report(
        session: AsyncSession, _a: CloudEventAttributes, event: ReportReceived
    ) -> None:
        await routing.route_new(session, event)

    async def on_status(
        session: AsyncSession, _a: CloudEventAttributes, event: LegStatusChanged
    ) -> None:
        await routing.on_status(session, event)

    async def on_correction(
        session: AsyncSession, _a: CloudEventAttributes, event: ReportCorrected
    ) -> None:
        await routing.on_correction(session, event)

    runtime.consume(
        REPORT_RECEIVED,
        on_report,
        handles=ReportReceived,
        description="Every accepted report is routed once.",
        urgent=True,
    )
    runtime.consume(
        REPORT_CORRECTED,
        on_correction,
        handles=ReportCorrected,
        description="A corrected place or category: decide again.",
        urgent=True,
    )
    runtime.consume(
        LEG_STATUS,
        on_status,
        handles=LegStatusChanged,
        description="'Not ours' answers trigger re-routing.",
    )
    for spec in (ROUTING_DECIDED, REPORT_UNROUTABLE, ROUTING_TRIAGE):
        runtime.declare_publisher(spec)
    runtime.broker.publisher(
        "buursignaal.delivery.{recipient_id}.v1",
        title=f"{NAME}:buursignaal.delivery.{{recipient_id}}.v1",
        description="One topic per recipient (recipient id in the name).",
        schema=ReportDelivered,
    )
    add_outbox_relay(runtime, idempotent_producer=False)  # hundreds of delivery topics
    runtime.routing = routing  # type: ignore[attr-defined]
    return runtime


def create_app(settings: RouterSettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime_for(settings or RouterSettings(), clock or SystemClock())
    return create_http_app(runtime, title="Buursignaal router")
