"""The router's entry point: consumes received reports; routing itself arrives with issue #4."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas._base import Event
from schemas.cloudevents import CloudEventAttributes
from schemas.topics import REPORT_RECEIVED, ROUTING_DECIDED, all_static_topics
from services.router.settings import RouterSettings
from services.runtime.clock import Clock, SystemClock
from services.runtime.service import (
    ServiceRuntime,
    add_outbox_relay,
    build_runtime,
    create_http_app,
)

NAME = "router"
log = logging.getLogger(__name__)


async def _note_report(
    _session: AsyncSession, attributes: CloudEventAttributes, event: Event
) -> None:
    log.info("report %s received (%s); resolution not wired yet", attributes.subject, event.ce_type)


def build_runtime_for(settings: RouterSettings, clock: Clock) -> ServiceRuntime:
    runtime = build_runtime(NAME, settings, topics=all_static_topics(), clock=clock)
    runtime.consume(
        REPORT_RECEIVED, _note_report, description="Every accepted report is routed once."
    )
    runtime.declare_publisher(ROUTING_DECIDED)
    add_outbox_relay(runtime)
    return runtime


def create_app(settings: RouterSettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime_for(settings or RouterSettings(), clock or SystemClock())
    return create_http_app(runtime, title="Buursignaal router")
