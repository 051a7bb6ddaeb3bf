"""What the notifier takes from Kafka: deliveries open legs, decisions tell the resident,
status reports from authorities' systems change legs (forbidden ones are dead-lettered)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from schemas.case import CaseUpdated
from schemas.cloudevents import CloudEventAttributes
from schemas.leg import LegStatusReported
from schemas.routing import ReportDelivered, RoutingDecided
from schemas.topics import DELIVERIES, LEG_STATUS_REPORTED, ROUTING_DECIDED
from services.notifier.actions import Legs, leg_id_for
from services.notifier.incidents import Incidents
from services.notifier.models import Leg
from services.notifier.patterns.service import Patterns
from services.notifier.transitions import TransitionError
from services.runtime.consumer import IncomingRecord, Verify
from services.runtime.errors import UnprocessableEventError
from services.runtime.service import ServiceRuntime
from services.runtime.status_signature import signature_problem


@dataclass
class Inputs:
    legs: Legs
    patterns: Patterns
    incidents: Incidents

    async def on_delivery(
        self, session: AsyncSession, _a: CloudEventAttributes, event: ReportDelivered
    ) -> None:
        leg = await self.legs.open_leg(session, event)
        await self.incidents.on_delivery(session, event, leg)
        await self.patterns.on_delivery(session, event)

    async def on_decision(
        self, session: AsyncSession, _a: CloudEventAttributes, event: RoutingDecided
    ) -> None:
        self.legs.on_decision(session, event)

    async def on_reported(
        self, session: AsyncSession, _a: CloudEventAttributes, event: LegStatusReported
    ) -> None:
        leg = await session.get(Leg, leg_id_for(event.report_id, event.recipient_id))
        if leg is None:
            raise UnprocessableEventError(
                f"{event.recipient_id} has no leg for report {event.report_id}"
            )
        if event.actor.actor_id != event.recipient_id:
            raise UnprocessableEventError(
                f"{event.actor.actor_id} cannot report for {event.recipient_id}"
            )
        changes = {
            "explanation": event.explanation,
            "forwarded_to": event.forwarded_to,
            "handler": event.handler,
        }
        try:
            await self.legs.change_status(session, leg, event.status, event.actor, **changes)
        except TransitionError as error:
            raise UnprocessableEventError(str(error)) from error

    async def load_for_deliveries(
        self, session: AsyncSession, deliveries: Sequence[ReportDelivered]
    ) -> None:
        await self.legs.load_for(
            session, [(d.report_id, d.recipient.recipient_id) for d in deliveries]
        )
        await self.incidents.prepare(session, deliveries)
        await self.patterns.prepare(session, deliveries)

    async def load_for_reports(
        self, session: AsyncSession, reports: Sequence[LegStatusReported]
    ) -> None:
        await self.legs.load_for(session, [(r.report_id, r.recipient_id) for r in reports])


def status_signatures(runtime: ServiceRuntime) -> Verify[LegStatusReported] | None:
    """With Kafka authentication on, a status report must be signed by the authority it names
    (ADR 0018); a plaintext broker (tests of other things) has no principals to check."""
    if runtime.settings.kafka_credentials is None:
        return None
    secret = runtime.settings.secret_key.get_secret_value()

    def verify(record: IncomingRecord, event: LegStatusReported) -> str | None:
        return signature_problem(secret, event.recipient_id, record.headers, record.body)

    return verify


def consume_inputs(runtime: ServiceRuntime, inputs: Inputs) -> None:
    runtime.consume(
        DELIVERIES,
        inputs.on_delivery,
        handles=ReportDelivered,
        description="Every delivery opens one leg for its recipient.",
        prepare=inputs.load_for_deliveries,
        ignores=(CaseUpdated,),  # the notifier's own news to the recipient, on the same topic
    )
    runtime.consume(
        ROUTING_DECIDED,
        inputs.on_decision,
        handles=RoutingDecided,
        description="Tells the resident who got the report and why.",
    )
    runtime.consume(
        LEG_STATUS_REPORTED,
        inputs.on_reported,
        handles=LegStatusReported,
        description="Authorities' systems answer here; forbidden changes are dead-lettered.",
        prepare=inputs.load_for_reports,
        verify=status_signatures(runtime),
    )
