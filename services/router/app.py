"""The router's entry point: reference data, rules and wind in memory; consumes received
reports and "not ours" answers, publishes decisions and deliveries through its outbox."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas import topics
from schemas.cloudevents import CloudEventAttributes
from schemas.leg import LegStatusChanged
from schemas.report import ReportCorrected, ReportReceived
from schemas.routing import ReportDelivered
from schemas.topics import TopicSpec
from services.router.actions import RoutingActions
from services.router.rules import load_rules
from services.router.settings import RouterSettings
from services.router.versions import ResolverByYear
from services.router.waterboards import BoundaryWaterBoards, PdokWaterBoards, WaterBoardFinder
from services.router.wind import FixedWind, WatchedKnmiWind, WindProvider
from services.runtime.clock import Clock, SystemClock
from services.runtime.service import (
    ServiceRuntime,
    add_outbox_relay,
    build_runtime,
    create_http_app,
)

NAME = "router"
log = logging.getLogger(__name__)


def build_resolvers(settings: RouterSettings) -> ResolverByYear:
    wind: WindProvider
    weather = settings.weather_dir or settings.reference_dir / "weather"
    if settings.fixed_wind_from_deg is not None:
        wind = FixedWind(settings.fixed_wind_from_deg)
    elif settings.weather_dir is not None or (weather / "knmi_stations.csv").exists():
        wind = WatchedKnmiWind(weather)
    else:
        log.warning("no KNMI wind files in %s: wind unknown, no downwind attribution", weather)
        wind = FixedWind(None)
    return ResolverByYear.load(settings.reference_dir, load_rules(), wind)


def build_water_boards(
    settings: RouterSettings, resolvers: ResolverByYear
) -> WaterBoardFinder | None:
    latest = resolvers.latest.registry
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


class DeliveryTopics:
    """Every recipient's delivery topic, created once: all in one request at start (off the
    per-report path), or at a report's first delivery to it when that request failed."""

    def __init__(self, runtime: ServiceRuntime) -> None:
        self._runtime = runtime
        self.known: set[str] = set()

    async def ensure(self, spec: TopicSpec) -> None:
        if spec.name not in self.known:
            await self._runtime.create_topics([spec])
            self.known.add(spec.name)

    async def create_all(self, recipient_ids: list[str]) -> None:
        specs = [topics.delivery_topic(i) for i in recipient_ids]
        try:
            created = await self._runtime.create_topics(specs)
        except Exception:  # each report's first delivery creates its topic instead
            log.exception("could not create the delivery topics at start")
            return
        self.known.update(spec.name for spec in specs)
        if self._runtime.relay_producer is not None:
            await self._runtime.relay_producer.track(self.known)
        log.info("delivery topics: %d known, %d created", len(specs), len(created))


def consume_inputs(runtime: ServiceRuntime, routing: RoutingActions) -> None:
    """Received reports, corrections and "not ours" answers, each to its routing action."""

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
        topics.REPORT_RECEIVED,
        on_report,
        handles=ReportReceived,
        description="Every accepted report is routed once.",
        urgent=True,
    )
    runtime.consume(
        topics.REPORT_CORRECTED,
        on_correction,
        handles=ReportCorrected,
        description="A corrected place or category: decide again.",
        urgent=True,
    )
    runtime.consume(
        topics.LEG_STATUS,
        on_status,
        handles=LegStatusChanged,
        description="'Not ours' answers trigger re-routing.",
    )


def declare_outputs(runtime: ServiceRuntime) -> None:
    """Decisions, unroutable reports, triage requests and one delivery topic per recipient."""
    for spec in (topics.ROUTING_DECIDED, topics.REPORT_UNROUTABLE, topics.ROUTING_TRIAGE):
        runtime.declare_publisher(spec)
    runtime.broker.publisher(
        "buursignaal.delivery.{recipient_id}.v1",
        title=f"{NAME}:buursignaal.delivery.{{recipient_id}}.v1",
        description="One topic per recipient (recipient id in the name).",
        schema=ReportDelivered,
    )


def build_runtime_for(settings: RouterSettings, clock: Clock) -> ServiceRuntime:
    runtime = build_runtime(NAME, settings, topics=topics.all_static_topics(), clock=clock)
    delivery_topics = DeliveryTopics(runtime)
    resolvers = build_resolvers(settings)
    routing = RoutingActions(
        resolvers,
        clock,
        delivery_topics.ensure,
        max_refusals=settings.max_refusals,
        water_boards=build_water_boards(settings, resolvers),
    )

    async def create_delivery_topics(_stop: asyncio.Event) -> None:
        await delivery_topics.create_all(resolvers.possible_recipient_ids())

    runtime.background.append(create_delivery_topics)
    consume_inputs(runtime, routing)
    declare_outputs(runtime)
    add_outbox_relay(runtime)  # idempotent like the others: measured, ADR 0012
    return runtime


def create_app(settings: RouterSettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime_for(settings or RouterSettings(), clock or SystemClock())
    return create_http_app(runtime, title="Buursignaal router")
