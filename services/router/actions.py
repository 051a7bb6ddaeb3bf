"""The router's state changes: route a new report, route again after "not ours".

Each runs inside the consumer's transaction; its events go through the outbox, so a crash
redelivers the input and nothing is published twice for one routing round.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas._base import Event, LocalizedText
from schemas.leg import ActorKind, LegStatus, LegStatusChanged
from schemas.report import Report, ReportReceived
from schemas.routing import ReportDelivered, ReportUnroutable, RoutingDecided, TriageRequested
from schemas.topics import (
    REPORT_UNROUTABLE,
    ROUTING_DECIDED,
    ROUTING_TRIAGE,
    TopicSpec,
    delivery_topic,
)
from services.router.models import RoutedReport
from services.router.resolution import Resolution, Router
from services.runtime.clock import Clock
from services.runtime.errors import UnprocessableEventError
from services.runtime.outbox import enqueue

SOURCE = "/buursignaal/router"
EnsureTopic = Callable[[TopicSpec], Awaitable[None]]


class Routing:
    def __init__(
        self, router: Router, clock: Clock, ensure_topic: EnsureTopic, *, max_refusals: int = 2
    ) -> None:
        self.router = router
        self.clock = clock
        self.ensure_topic = ensure_topic
        self.max_refusals = max_refusals

    async def route_new(self, session: AsyncSession, event: ReportReceived) -> Resolution:
        report = Report.model_validate(event.model_dump())
        routed = RoutedReport(report_id=str(event.report_id), report=report.model_dump(mode="json"))
        session.add(routed)
        return await self._decide(session, routed, report)

    async def on_status(self, session: AsyncSession, change: LegStatusChanged) -> None:
        if change.status is not LegStatus.NOT_OURS or change.actor.kind is not ActorKind.AUTHORITY:
            return
        routed = (
            await session.exec(
                select(RoutedReport).where(RoutedReport.report_id == str(change.report_id))
            )
        ).first()
        if routed is None:
            raise UnprocessableEventError(f"report {change.report_id} was never routed here")
        if change.recipient_id not in routed.delivered_to:
            raise UnprocessableEventError(
                f"{change.recipient_id} never received report {change.report_id}"
            )
        if change.recipient_id in routed.refused_by:
            return
        routed.refused_by = [*routed.refused_by, change.recipient_id]
        session.add(routed)
        if len(routed.refused_by) >= self.max_refusals:
            self._emit(
                session,
                TriageRequested(
                    report_id=change.report_id,
                    reason=LocalizedText(
                        nl="Meerdere instanties zeggen dat de melding niet bij hen hoort; "
                        "een medewerker beslist.",
                        en="Several authorities say the report is not theirs; a person decides.",
                    ),
                    refused_by=routed.refused_by,
                ),
                ROUTING_TRIAGE,
            )
            return
        routed.routing_round += 1
        await self._decide(session, routed, Report.model_validate(routed.report))

    async def _decide(
        self, session: AsyncSession, routed: RoutedReport, report: Report
    ) -> Resolution:
        resolution = self.router.resolve(report, excluded=frozenset(routed.refused_by))
        if resolution.outcome == "unroutable":
            assert resolution.reason is not None
            self._emit(
                session,
                ReportUnroutable(report_id=report.report_id, reason=resolution.reason),
                REPORT_UNROUTABLE,
            )
            return resolution
        if resolution.outcome == "triage" or resolution.confidence == "low":
            reason = resolution.reason or LocalizedText(
                nl="De plek is onzeker (geen grenzen beschikbaar); bevestig de ontvanger.",
                en="The place is uncertain (no boundaries available); confirm the recipient.",
            )
            self._emit(
                session,
                TriageRequested(
                    report_id=report.report_id, reason=reason, refused_by=routed.refused_by
                ),
                ROUTING_TRIAGE,
            )
            if resolution.outcome == "triage":
                return resolution
        decision = RoutingDecided(
            report_id=report.report_id,
            round=routed.routing_round,
            decided_at=self.clock.now(),
            place=resolution.place,
            recipients=resolution.recipients,
            excluded_recipients=routed.refused_by,
            candidate_facilities=resolution.candidates,
            wind=resolution.wind,
            registry_version=f"{self.router.registry.version}/rules {self.router.rules.version}",
            confidence=resolution.confidence,
            call_112=resolution.call_112,
            referral=resolution.referral,
        )
        self._emit(session, decision, ROUTING_DECIDED)
        new = [r for r in resolution.recipients if r.recipient_id not in routed.delivered_to]
        for recipient in new:
            topic = delivery_topic(recipient.recipient_id)
            await self.ensure_topic(topic)
            delivery = ReportDelivered(
                report_id=report.report_id,
                round=routed.routing_round,
                recipient=recipient,
                report=report,
                place=resolution.place,
                candidate_facilities=resolution.candidates,
                acute=resolution.call_112,
            )
            self._emit(session, delivery, topic)
        routed.delivered_to = [*routed.delivered_to, *(r.recipient_id for r in new)]
        session.add(routed)
        return resolution

    def _emit(self, session: AsyncSession, event: Event, topic: TopicSpec) -> None:
        key = str(getattr(event, "report_id", uuid.uuid4()))
        enqueue(session, event, topic=topic.name, key=key, source=SOURCE, clock=self.clock)
