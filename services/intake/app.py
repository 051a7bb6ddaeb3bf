"""Intake's entry point: wires settings, broker, database, outbox relay and HTTP routes."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlmodel import col, select
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
from services.intake import api
from services.intake.actions import (
    Intake,
    apply_routing,
    apply_status,
    apply_unroutable,
    load_tracking,
)
from services.intake.corrections import CorrectionRequest, correct_report
from services.intake.location import Geocoder, Netherlands, OutsideNetherlandsError
from services.intake.models import ReporterContact, ReportRecord
from services.intake.open311 import open311_router
from services.intake.privacy import ContactsAsked, unsubscribe_token
from services.intake.problems import (
    language_from,
    validation_problem,
)
from services.intake.settings import IntakeSettings
from services.intake.web import web_router
from services.runtime.clock import Clock, SystemClock
from services.runtime.problems import FieldProblem, problem
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

    async def erase_contacts(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                erased = await intake.erase_expired_contacts()
                if erased:
                    log.info("erased contact details of %d reports past retention", erased)
            except Exception:
                log.exception("contact retention job failed; retrying later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=RETENTION_INTERVAL_S)

    runtime.background.append(erase_contacts)
    return intake


def _problems_for_api(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        language = language_from(request.headers.get("accept-language"))
        invalid = [
            FieldProblem(
                name=".".join(
                    str(p) for p in item["loc"] if p not in ("query", "path", "header", "body")
                ),
                code=item["type"],
                reason=item["msg"],
            )
            for item in error.errors()
        ]
        return validation_problem(invalid, language)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if request.url.path.startswith(("/api/", "/internal/")):
            return problem(error.status_code, "http-error", str(error.detail))
        return Response(str(error.detail), status_code=error.status_code, media_type="text/plain")


def _unauthorised(request: Request, token: str) -> Response | None:
    """The 401 for an internal endpoint called without the bearer token (none when it is
    right; an empty configured token closes the endpoints)."""
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(given, token):
        return problem(401, "unauthorised", "A valid internal token is required.")
    return None


def _internal_routes(
    app: FastAPI, intake: Intake, token: str, secret: str, public_base_url: str
) -> None:
    @app.post("/internal/v1/reports/{report_id}/correction", include_in_schema=False)
    async def correction(report_id: str, body: CorrectionRequest, request: Request) -> Response:
        """A triage desk or authority corrects the place or category; the router decides again."""
        if (refused := _unauthorised(request, token)) is not None:
            return refused
        try:
            found = await correct_report(intake, report_id, body)
        except OutsideNetherlandsError as error:
            return problem(422, "outside-netherlands", str(error))
        if not found:
            return problem(404, "no-report", "There is no report with this id.")
        return JSONResponse({"report_id": report_id, "status": "corrected"}, status_code=202)

    @app.post("/internal/v1/contacts", include_in_schema=False)
    async def contacts_for_mail(asked: ContactsAsked, request: Request) -> Response:
        """The e-mail addresses for a round of notifications, to the notifier only (bearer
        token): ``{"report_ids": [...]}`` in, the reports whose resident asked for e-mail
        updates out; a report without a usable address is simply absent."""
        if (refused := _unauthorised(request, token)) is not None:
            return refused
        async with intake.sessions() as session:
            rows = (
                await session.exec(
                    select(ReporterContact, ReportRecord.language)
                    .join(ReportRecord, ReportRecord.id == ReporterContact.report_id)  # type: ignore[arg-type]
                    .where(col(ReporterContact.report_id).in_(asked.report_ids))
                )
            ).all()
        contacts = {
            contact.report_id: {
                "email": contact.email,
                "language": language,
                "unsubscribe_url": f"{public_base_url}/unsubscribe/{contact.report_id}/"
                f"{unsubscribe_token(secret, contact.report_id)}",
            }
            for contact, language in rows
            if contact.email is not None and contact.email_updates
        }
        return JSONResponse({"contacts": contacts})

    @app.get("/unsubscribe/{report_id}/{signature}", response_class=HTMLResponse)
    async def unsubscribe_page(report_id: str, signature: str) -> Response:
        if not hmac.compare_digest(unsubscribe_token(secret, report_id), signature):
            return HTMLResponse(_plain_page("Link onbekend", "Deze link klopt niet."), 404)
        form = (
            '<form method="post"><p>Wilt u geen e-mails meer over deze melding? '
            '<i lang="en">No more e-mails about this report?</i></p>'
            '<button type="submit">Afmelden / Unsubscribe</button></form>'
        )
        return HTMLResponse(_plain_page("Afmelden", form))

    @app.post("/unsubscribe/{report_id}/{signature}", response_class=HTMLResponse)
    async def unsubscribe(report_id: str, signature: str) -> Response:
        if not hmac.compare_digest(unsubscribe_token(secret, report_id), signature):
            return HTMLResponse(_plain_page("Link onbekend", "Deze link klopt niet."), 404)
        await intake.stop_email_updates(report_id)
        return HTMLResponse(
            _plain_page(
                "Afgemeld",
                "<p>U krijgt geen e-mails meer over deze melding.</p>"
                '<p lang="en">You will get no more e-mails about this report.</p>',
            )
        )


def _plain_page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><main><h1>{title}</h1>{body}</main></body></html>"
    )


def create_app(
    settings: IntakeSettings | None = None,
    clock: Clock | None = None,
    geocoder: Geocoder | None = None,
) -> FastAPI:
    settings = settings or IntakeSettings()
    runtime = build_runtime_for(settings, clock or SystemClock())
    intake = build_intake(settings, runtime, geocoder)
    secret = settings.secret_key.get_secret_value()

    def configure(app: FastAPI) -> None:
        app.state.intake = intake
        app.state.settings = settings
        _problems_for_api(app)
        _internal_routes(
            app,
            intake,
            settings.internal_api_token.get_secret_value(),
            secret,
            settings.public_base_url.rstrip("/"),
        )
        app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    return create_http_app(
        runtime,
        title="Buursignaal intake",
        routers=[api.router, open311_router(), web_router(secret)],
        configure=configure,
    )
