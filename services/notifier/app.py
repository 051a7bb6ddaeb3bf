"""The notifier's entry point: legs from deliveries, answers from authorities (Kafka, API,
inbox), the escalation ladder, resident mail and the metrics that show who answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import col, select
from starlette.middleware.sessions import SessionMiddleware

from schemas.case import CaseUpdated
from schemas.process import ProcessFigures
from schemas.report import Category
from schemas.topics import (
    COMPLAINT_WAVE,
    DELIVERY_PATTERN,
    DIGEST_PUBLISHED,
    ESCALATION,
    INCIDENT,
    LEG_STATUS,
    PATTERN_DETECTED,
    PROCESS_FIGURES,
    all_static_topics,
)
from services.notifier import api, figures, incident_api, meldkamer, staff, web
from services.notifier.actions import Legs
from services.notifier.callers import COOKIE, install_refusals
from services.notifier.chain import Chain
from services.notifier.consumers import Inputs, consume_inputs
from services.notifier.desk import Desk
from services.notifier.incidents import Incidents
from services.notifier.mail import Mailer
from services.notifier.metrics import OPEN_LEGS, OVERDUE_LEGS
from services.notifier.models import Leg
from services.notifier.norms import Norms
from services.notifier.patterns import digest
from services.notifier.patterns.burst import BurstDetector
from services.notifier.patterns.service import Patterns, ScanSettings
from services.notifier.settings import NotifierSettings
from services.notifier.signin import Provider, SignIn
from services.notifier.transitions import CLOSED
from services.notifier.worktime import WorkingCalendar
from services.runtime.clock import Clock, SystemClock
from services.runtime.database import write_transaction
from services.runtime.pages import origin_of
from services.runtime.retries import every
from services.runtime.service import (
    ServiceRuntime,
    add_outbox_relay,
    build_runtime,
    create_http_app,
)
from services.runtime.settings import Environment

NAME = "notifier"
GAUGE_INTERVAL_S = 30.0
log = logging.getLogger(__name__)


@dataclass
class Notifier:
    runtime: ServiceRuntime
    legs: Legs
    mailer: Mailer
    patterns: Patterns
    incidents: Incidents

    async def scan(self, categories: Sequence[Category] = tuple(Category)) -> int:
        """The (hourly) scan per category and the facility recurrence check (per complete day);
        patterns announced."""
        now = self.legs.clock.now().astimezone(UTC)
        announced = 0
        for category in categories:
            async with write_transaction(self.runtime.sessions) as session:
                announced += await self.patterns.scan_category(session, category, now)
        async with write_transaction(self.runtime.sessions) as session:
            announced += await self.patterns.facility_recurrence(session, now.date())
        return announced

    @property
    def settings(self) -> NotifierSettings:
        settings = self.runtime.settings
        assert isinstance(settings, NotifierSettings)
        return settings

    async def publish_digest(self) -> str:
        """Compose, archive and announce a digest of the last period; returns its id."""
        settings = self.settings
        async with write_transaction(self.runtime.sessions) as session:
            return await digest.publish(
                session,
                calendar=self.legs.calendar,
                facilities=digest.read_facilities(settings.reference_dir),
                names=digest.read_place_names(settings.reference_dir),
                now=self.legs.clock.now().astimezone(UTC),
                period=timedelta(seconds=settings.digest_interval_s),
                public_base_url=settings.public_base_url,
                render=web.render_digest,
                clock=self.legs.clock,
            )

    async def publish_figures(self) -> ProcessFigures:
        """The national table's per-body figures of the last period (no single report)."""
        period = timedelta(seconds=self.settings.figures_interval_s)
        now, clock = self.legs.clock.now().astimezone(UTC), self.legs.clock
        async with write_transaction(self.runtime.sessions) as session:
            calendar = self.legs.calendar
            return await figures.publish(
                session, calendar=calendar, now=now, period=period, clock=clock
            )

    async def warm_up(self) -> None:
        async with self.runtime.sessions() as session:
            await self.patterns.warm_up(session)

    async def tick(self, limit: int = 1000) -> int:
        """One pass of the ladder; returns the rungs fired."""
        async with write_transaction(self.runtime.sessions) as session:
            return await self.legs.tick(session, limit=limit)

    async def measure(self) -> None:
        async with self.runtime.sessions() as session:
            open_rows = (
                await session.exec(
                    select(Leg.recipient_id, func.count())
                    .where(col(Leg.status).not_in([s.value for s in CLOSED]))
                    .group_by(col(Leg.recipient_id))
                )
            ).all()
            overdue_rows = (
                await session.exec(
                    select(Leg.next_step, func.count())
                    .where(col(Leg.deadline_kind).is_not(None), col(Leg.next_step) > 1)
                    .group_by(col(Leg.next_step))
                )
            ).all()
        OPEN_LEGS.clear()
        for recipient_id, count in open_rows:
            OPEN_LEGS.labels(recipient_id).set(count)
        for step in (1, 2, 3):
            OVERDUE_LEGS.labels(str(step)).set(0)
        for next_step, count in overdue_rows:
            OVERDUE_LEGS.labels(str(min(next_step - 1, 3))).set(count)


def build_notifier(settings: NotifierSettings, clock: Clock) -> Notifier:
    runtime = build_runtime(NAME, settings, topics=all_static_topics(), clock=clock)
    calendar = WorkingCalendar(settings.working_hours_start, settings.working_hours_end)
    legs = Legs(calendar, Norms.load(settings.norms_file), clock, Chain.load(settings.chain_file))
    patterns = Patterns(
        clock,
        detector=BurstDetector(threshold=settings.burst_threshold),
        scan_settings=ScanSettings(
            permutations=settings.scan_permutations,
            max_radius_m=settings.scan_max_radius_m,
            scans_per_day=86400 / settings.scan_interval_s,
        ),
    )
    incidents = Incidents(legs, wave_threshold=settings.wave_threshold)
    notifier = Notifier(runtime, legs, _mailer(settings, runtime, clock), patterns, incidents)
    consume_inputs(runtime, Inputs(legs, patterns, incidents))
    for spec in (
        LEG_STATUS, ESCALATION, PATTERN_DETECTED, DIGEST_PUBLISHED, PROCESS_FIGURES, INCIDENT,
        COMPLAINT_WAVE,
    ):  # fmt: skip
        runtime.declare_publisher(spec)
    runtime.broker.publisher(
        DELIVERY_PATTERN,
        title=f"{NAME}:{DELIVERY_PATTERN}",
        description="case.updated: another leg of the recipient's report changed.",
        schema=CaseUpdated,
    )
    add_outbox_relay(runtime)
    _schedule(notifier, settings)
    return notifier


def _mailer(settings: NotifierSettings, runtime: ServiceRuntime, clock: Clock) -> Mailer:
    return Mailer(
        sessions=runtime.sessions,
        clock=clock,
        secret=settings.secret_key.get_secret_value(),
        intake_url=settings.intake_url,
        internal_token=settings.internal_api_token.get_secret_value(),
        public_base_url=settings.public_base_url,
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        mail_from=settings.mail_from,
        smtp_timeout_s=settings.smtp_timeout_s,
    )


def _schedule(notifier: Notifier, settings: NotifierSettings) -> None:
    """The background rounds: the burst windows first, then ladder, mail, gauges, scan, digest."""

    async def warm_up(_stop: asyncio.Event) -> None:
        try:
            await notifier.warm_up()
        except Exception:
            log.exception("could not rebuild the burst windows; they start empty")

    notifier.runtime.background[:0] = [warm_up]
    notifier.runtime.background += [
        every(settings.tick_interval_s, notifier.tick, "ladder tick", log),
        every(settings.mail_interval_s, notifier.mailer.send_due, "mail round", log),
        every(GAUGE_INTERVAL_S, notifier.measure, "leg gauges", log),
        every(
            settings.scan_interval_s,
            notifier.scan,
            "hourly scan",
            log,
            first_wait=not settings.scan_at_start,
        ),
        every(settings.digest_interval_s, notifier.publish_digest, "digest", log, first_wait=True),
        every(
            settings.figures_interval_s, notifier.publish_figures, "figures", log, first_wait=True
        ),
    ]


def build_runtime_for(settings: NotifierSettings, clock: Clock) -> ServiceRuntime:
    return build_notifier(settings, clock).runtime


def create_app(settings: NotifierSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or NotifierSettings()
    notifier = build_notifier(settings, clock or SystemClock())
    runtime = notifier.runtime
    secret = settings.secret_key.get_secret_value()

    def configure(app: FastAPI) -> None:
        app.state.notifier = notifier
        app.state.sessions = runtime.sessions
        app.state.desk = Desk(runtime.sessions, notifier.legs, secret, notifier.incidents)
        app.state.sign_in = _sign_in(settings, notifier)
        install_refusals(app)
        incident_api.install(app)
        app.add_middleware(
            SessionMiddleware,
            secret_key=secret,
            session_cookie=COOKIE,
            max_age=settings.inbox_idle_s,
            same_site="lax",  # the provider's redirect back is a cross-site navigation
            https_only=settings.environment is Environment.PRODUCTION,
        )

    return create_http_app(
        runtime,
        title="Buursignaal notifier",
        routers=[api.router, incident_api.router, staff.router, web.router, meldkamer.router],
        configure=configure,
        static=Path(__file__).parent / "static",
        form_action=origin_of(settings.oidc_issuer),
        reference_dir=settings.reference_dir,
    )


def _sign_in(settings: NotifierSettings, notifier: Notifier) -> SignIn:
    provider = None
    if settings.oidc_issuer:
        provider = Provider(
            issuer=settings.oidc_issuer.rstrip("/"),
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value(),
            redirect_uri=f"{settings.public_base_url}/inbox/auth",
            after_logout_uri=f"{settings.public_base_url}/inbox/login",
            metadata_url=settings.oidc_metadata_url,
        )
    return SignIn(
        sessions=notifier.runtime.sessions,
        clock=notifier.legs.clock,
        idle=timedelta(seconds=settings.inbox_idle_s),
        key_sign_in=settings.inbox_key_sign_in
        and settings.environment is not Environment.PRODUCTION,
        provider=provider,
    )
