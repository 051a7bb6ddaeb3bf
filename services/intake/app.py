"""Intake's entry point: wires settings, broker, database, outbox relay and HTTP routes."""

from __future__ import annotations

from fastapi import FastAPI

from schemas.topics import REPORT_RECEIVED, all_static_topics
from services.intake.settings import IntakeSettings
from services.runtime.clock import Clock, SystemClock
from services.runtime.service import (
    ServiceRuntime,
    add_outbox_relay,
    build_runtime,
    create_http_app,
)

NAME = "intake"


def build_runtime_for(settings: IntakeSettings, clock: Clock) -> ServiceRuntime:
    runtime = build_runtime(NAME, settings, topics=all_static_topics(), clock=clock)
    runtime.declare_publisher(REPORT_RECEIVED)
    add_outbox_relay(runtime)
    return runtime


def create_app(settings: IntakeSettings | None = None, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime_for(settings or IntakeSettings(), clock or SystemClock())
    return create_http_app(runtime, title="Buursignaal intake")
