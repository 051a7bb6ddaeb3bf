"""The router's state changes: route a new report, route again after "not ours".

Each runs inside the consumer's transaction; its events go through the outbox, so a crash
redelivers the input and nothing is published twice for one routing round.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any

from sqlalchemy import Table
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from schemas._base import Event, LocalizedText
from schemas.leg import ActorKind, LegStatus, LegStatusChanged
from schemas.report import Report, ReportCorrected, ReportReceived
from schemas.routing import ReportDelivered, ReportUnroutable, RoutingDecided, TriageRequested
from schemas.topics import (
    REPORT_UNROUTABLE,
    ROUTING_DECIDED,
    ROUTING_TRIAGE,
    TopicSpec,
    delivery_topic,
)
from services.router.metrics import DECIDE_SECONDS, RECIPIENTS, ROUTED
from services.router.models import RoutedReport
from services.router.resolution import Resolution
from services.router.versions import ResolverByYear
from services.router.waterboards import WaterBoardFinder
from services.runtime.clock import Clock
from services.runtime.database import stage_insert, table_of
from services.runtime.errors import UnprocessableEventError
from services.runtime.outbox import enqueue

SOURCE = "/buursignaal/router"
ROUTED_REPORT_TABLE: Table = table_of(RoutedReport)
EnsureTopic = Callable[[TopicSpec], Awaitable[None]]


@dataclass
class RoutingState:
    """A report's routing so far (one ``routed_report`` row, as plain values)."""

    report_id: str
    report: dict[str, Any]
    routing_round: int
    delivered_to: list[str]
    refused_by: list[str]


@dataclass(eq=False)
class RoutingActions:
    """Routes a new report, and routes it again after a correction or a "not ours"."""

    resolvers: ResolverByYear
    clock: Clock
    ensure_topic: EnsureTopic
    _: KW_ONLY
    max_refusals: int = 2
    water_boards: WaterBoardFinder | None = None

    async def route_new(self, session: AsyncSession, event: ReportReceived) -> Resolution:
        report = Report.model_validate(event, from_attributes=True)
        routed = RoutingState(
            report_id=str(event.report_id),
            report=report.model_dump(mode="json"),
            routing_round=1,
            delivered_to=[],
            refused_by=[],
        )
        resolution = await self._decide(session, routed, report)
        stage_insert(session, ROUTED_REPORT_TABLE, vars(routed).copy())
        return resolution

    async def on_status(self, session: AsyncSession, change: LegStatusChanged) -> None:
        if change.status is not LegStatus.NOT_OURS or change.actor.kind is not ActorKind.AUTHORITY:
            return
        stored = await self._stored(session, change.report_id)
        routed = self._state(stored)
        if change.recipient_id not in routed.delivered_to:
            raise UnprocessableEventError(
                f"{change.recipient_id} never received report {change.report_id}"
            )
        if change.recipient_id in routed.refused_by:
            return
        routed.refused_by = [*routed.refused_by, change.recipient_id]
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
        else:
            routed.routing_round += 1
            await self._decide(session, routed, Report.model_validate(routed.report))
        self._save(session, stored, routed)

    async def on_correction(self, session: AsyncSession, correction: ReportCorrected) -> None:
        """Decide again with the corrected location or category (a new round).

        Recipients that already have the report keep it (the new decision lists who is
        responsible now); new recipients get a delivery; refusals still count.
        """
        stored = await self._stored(session, correction.report_id)
        changes: dict[str, Any] = {}
        if correction.location is not None:
            changes["location"] = correction.location.model_dump(mode="json")
        if correction.category is not None:
            changes["category"] = correction.category.value
        if correction.subtype is not None:
            changes["subtype"] = correction.subtype
        report = Report.model_validate({**stored.report, **changes})
        routed = self._state(stored)
        routed.report = report.model_dump(mode="json")
        routed.routing_round += 1
        await self._decide(session, routed, report)
        self._save(session, stored, routed)

    async def _stored(self, session: AsyncSession, report_id: object) -> RoutedReport:
        stored = (
            await session.exec(select(RoutedReport).where(RoutedReport.report_id == str(report_id)))
        ).first()
        if stored is None:
            raise UnprocessableEventError(f"report {report_id} was never routed here")
        return stored

    @staticmethod
    def _state(stored: RoutedReport) -> RoutingState:
        return RoutingState(
            report_id=stored.report_id,
            report=stored.report,
            routing_round=stored.routing_round,
            delivered_to=list(stored.delivered_to),
            refused_by=list(stored.refused_by),
        )

    @staticmethod
    def _save(session: AsyncSession, stored: RoutedReport, routed: RoutingState) -> None:
        stored.report = routed.report
        stored.routing_round = routed.routing_round
        stored.delivered_to = routed.delivered_to
        stored.refused_by = routed.refused_by
        session.add(stored)

    async def _decide(
        self, session: AsyncSession, routed: RoutingState, report: Report
    ) -> Resolution:
        """Resolve ``report`` for this round and emit its outcome: unroutable, triage, or a
        decision with a delivery to each recipient that does not have the report yet."""
        resolution = await self._resolve(report, frozenset(routed.refused_by))
        ROUTED.labels(resolution.outcome, report.category.value).inc()
        for chosen in resolution.recipients:
            RECIPIENTS.labels(chosen.rule_id, chosen.role.value).inc()
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
        self._emit(session, self._decision(routed, report, resolution), ROUTING_DECIDED)
        await self._deliver(session, routed, report, resolution)
        return resolution

    async def _resolve(self, report: Report, excluded: frozenset[str]) -> Resolution:
        """The resolution, asked again with the water board when a rule wants it."""
        resolver = self.resolvers.for_report(report)
        with DECIDE_SECONDS.time():
            resolution = resolver.resolve(report, excluded)
        lat, lon = report.location.lat, report.location.lon
        if not (resolution.needs_water_board and self.water_boards):
            return resolution
        if lat is None or lon is None:
            return resolution
        board = await self.water_boards.find(lat, lon)
        if board is None:
            return resolution
        return resolver.resolve(report, excluded, water_board=board)

    def _decision(
        self, routed: RoutingState, report: Report, resolution: Resolution
    ) -> RoutingDecided:
        return RoutingDecided(
            report_id=report.report_id,
            round=routed.routing_round,
            decided_at=self.clock.now(),
            place=resolution.place,
            recipients=resolution.recipients,
            excluded_recipients=routed.refused_by,
            candidate_facilities=resolution.candidates,
            wind=resolution.wind,
            registry_version=f"{resolution.registry_version}/rules {self.resolvers.rules.version}",
            confidence=resolution.confidence,
            call_112=resolution.call_112,
            referral=resolution.referral,
            reason=resolution.reason if resolution.outcome == "routed" else None,
        )

    async def _deliver(
        self, session: AsyncSession, routed: RoutingState, report: Report, resolution: Resolution
    ) -> None:
        """A delivery on its own topic to each recipient that does not have the report yet."""
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
                wind=resolution.wind,
            )
            self._emit(session, delivery, topic)
        routed.delivered_to = [*routed.delivered_to, *(r.recipient_id for r in new)]

    def _emit(self, session: AsyncSession, event: Event, topic: TopicSpec) -> None:
        key = str(getattr(event, "report_id", uuid.uuid4()))
        enqueue(session, event, topic=topic.name, key=key, source=SOURCE, clock=self.clock)
