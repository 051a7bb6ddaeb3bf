"""Intake's entry point: wires settings, broker, database, outbox relay and HTTP routes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas._base import Event
from schemas.cloudevents import CloudEventAttributes
from schemas.leg import LegStatusChanged
from schemas.routing import ReportUnroutable, RoutingDecided
from schemas.topics import (
    LEG_STATUS,
    REPORT_CORRECTED,
    REPORT_RECEIVED,
    REPORT_UNROUTABLE,
    ROUTING_DECIDED,
    all_static_topics,
)
from services.intake import api, internal, open311, web
from services.intake.actions import (
    Intake,
    apply_routing,
    apply_status,
    apply_unroutable,
    load_tracking,
)
from services.intake.location import Geocoder, Netherlands
from services.intake.problems import language_from, validation_problem
from services.intake.settings import IntakeSettings
from services.runtime.clock import Clock, SystemClock
from services.runtime.problems import FieldProblem, field_name
from services.runtime.retries import every
from services.runtime.service import (
    ServiceRuntime,
    add_outbox_relay,
    build_runtime,
    create_http_app,
)

NAME = "intake"
RETENTION_INTERVAL_S = 3600.0
log = logging.getLogger(__name__)


async def _on_routing(
    session: AsyncSession, _a: CloudEventAttributes, event: RoutingDecided
) -> None:
    await apply_routing(session, event)


async def _on_status(
    session: AsyncSession, _a: CloudEventAttributes, event: LegStatusChanged
) -> None:
    await apply_status(session, event)


async def _on_unroutable(
    session: AsyncSession, _a: CloudEventAttributes, event: ReportUnroutable
) -> None:
    await apply_unroutable(session, event)


async def _load_tracking(session: AsyncSession, events: Sequence[Event]) -> None:
    await load_tracking(session, {str(getattr(event, "report_id", "")) for event in events})


def build_runtime_for(settings: IntakeSettings, clock: Clock) -> ServiceRuntime:
    runtime = build_runtime(NAME, settings, topics=all_static_topics(), clock=clock)
    runtime.declare_publisher(REPORT_RECEIVED)
    runtime.declare_publisher(REPORT_CORRECTED)
    runtime.consume(
        ROUTING_DECIDED,
        _on_routing,
        handles=RoutingDecided,
        description="Who got the report, and why.",
        prepare=_load_tracking,
    )
    runtime.consume(
        LEG_STATUS,
        _on_status,
        handles=LegStatusChanged,
        description="Answers, for the tracking page.",
        prepare=_load_tracking,
    )
    runtime.consume(
        REPORT_UNROUTABLE,
        _on_unroutable,
        handles=ReportUnroutable,
        description="Reports nobody can take.",
        prepare=_load_tracking,
    )
    return runtime


def build_intake(
    settings: IntakeSettings, runtime: ServiceRuntime, geocoder: Geocoder | None = None
) -> Intake:
    intake = Intake(
        sessions=runtime.sessions,
        clock=runtime.clock,
        secret=settings.secret_key.get_secret_value(),
        netherlands=Netherlands.from_reference_dir(settings.reference_dir),
        geocoder=geocoder or Geocoder(settings.pdok_locatieserver_url, settings.pdok_timeout_s),
        device_window=timedelta(seconds=settings.rate_limit_device_seconds),
        ip_limit_per_hour=settings.rate_limit_ip_per_hour,
        contact_retention=timedelta(days=settings.contact_retention_days),
    )
    if settings.relay_enabled:
        intake.wake_relay = add_outbox_relay(runtime).wake

    async def erase_contacts() -> None:
        erased = await intake.erase_expired_contacts()
        if erased:
            log.info("erased contact details of %d reports past retention", erased)

    runtime.background.append(
        every(RETENTION_INTERVAL_S, erase_contacts, "contact retention job", log)
    )
    return intake


def _field_problem(item: Any) -> FieldProblem:
    return FieldProblem(name=field_name(item["loc"]), code=item["type"], reason=item["msg"])


async def _invalid_request(request: Request, error: Exception) -> Response:
    """A request that does not validate: Open311's error shape on its paths, problem+json
    elsewhere."""
    assert isinstance(error, RequestValidationError)
    if open311.on_open311(request):
        return open311.invalid_request(request, error)
    language = language_from(request.headers.get("accept-language"))
    return validation_problem([_field_problem(item) for item in error.errors()], language)


def _install_error_answers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, web.http_error)
    open311.install_open311_errors(app)


def create_app(
    settings: IntakeSettings | None = None,
    clock: Clock | None = None,
    geocoder: Geocoder | None = None,
) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = build_runtime_for(settings, clock or SystemClock())
    intake = build_intake(settings, runtime, geocoder)

    def configure(app: FastAPI) -> None:
        app.state.intake = intake
        app.state.settings = settings
        _install_error_answers(app)

    return create_http_app(
        runtime,
        title="Buursignaal intake",
        routers=[api.router, open311.router, web.router, internal.internal, internal.mail_links],
        configure=configure,
        static=Path(__file__).parent / "static",
        reference_dir=settings.reference_dir,
    )
