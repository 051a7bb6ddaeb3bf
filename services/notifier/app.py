"""The notifier's entry point: consumes leg status changes; legs arrive with issue #5."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas._base import Event
from schemas.cloudevents import CloudEventAttributes
from schemas.topics import ESCALATION, LEG_STATUS, all_static_topics
from services.notifier.settings import NotifierSettings
from services.runtime.clock import Clock, SystemClock
from services.runtime.service import (
    ServiceRuntime,
    add_outbox_relay,
    build_runtime,
    create_http_app,
)

NAME = "notifier"
log = logging.getLogger(__name__)


async def _note_status(
    _session: AsyncSession, attributes: CloudEventAttributes, event: Event
) -> None:
    log.info("leg status %s (%s); legs not wired yet", attributes.subject, event.ce_type)


def build_runtime_for(settings: NotifierSettings, clock: Clock) -> ServiceRuntime:
    runtime = build_runtime(NAME, settings, topics=all_static_topics(), clock=clock)
    runtime.consume(
        LEG_STATUS,
        _note_status,
        description="Authorities' answers, validated against the transition table.",
    )
    runtime.declare_publisher(ESCALATION)
    add_outbox_relay(runtime)
    return runtime


def create_app(settings: NotifierSettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime_for(settings or NotifierSettings(), clock or SystemClock())
    return create_http_app(runtime, title="Buursignaal notifier")
