"""The answer side: a leg's status changes and the escalation ladder."""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from schemas._base import Contract, LocalizedText, ReportEvent
from schemas.routing import RECIPIENT_ID_PATTERN


class LegStatus(StrEnum):
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_RESIDENT = "waiting_for_resident"
    RESOLVED = "resolved"
    NO_ACTION = "no_action"
    NOT_OURS = "not_ours"
    FORWARDED = "forwarded"
    REOPENED = "reopened"


class ActorKind(StrEnum):
    AUTHORITY = "authority"
    RESIDENT = "resident"
    SYSTEM = "system"


class Actor(Contract):
    kind: ActorKind
    actor_id: str = Field(max_length=128, description="recipient id, reporter key or service")
    subject: str | None = Field(
        default=None,
        max_length=128,
        description="the person of the authority who acted: a pseudonymous subject id (OIDC sub)",
    )
    name: str | None = Field(
        default=None, max_length=200, description="that person's display name, for the audit trail"
    )


class LegEvent(ReportEvent):
    """An event about one leg: one report at one recipient."""

    recipient_id: str = Field(pattern=RECIPIENT_ID_PATTERN)

    def ce_subject(self) -> str:
        return f"{self.report_id}/{self.recipient_id}"


class LegStatusEvent(LegEvent):
    """A new status of one leg, who gave it and when."""

    status: LegStatus
    actor: Actor
    occurred_at: AwareDatetime


class LegStatusReported(LegStatusEvent):
    """An authority's system reports a new status for one of its legs (Kafka route).

    The notifier checks the transition and, when allowed, records it and publishes
    ``LegStatusChanged``; a forbidden one is dead-lettered with the reason.
    """

    ce_type = "nl.buursignaal.leg.status-reported.v1"

    explanation: str | None = Field(default=None, max_length=4000)
    forwarded_to: str | None = Field(default=None, pattern=RECIPIENT_ID_PATTERN)
    handler: str | None = Field(default=None, max_length=100, description="a desk, not a name")


class LegStatusChanged(LegStatusEvent):
    """The notifier recorded a new status for one leg (after checking the transition)."""

    ce_type = "nl.buursignaal.leg.status-changed.v1"

    explanation: str | None = Field(
        default=None, max_length=4000, description="plain language; required to close a leg"
    )
    forwarded_to: str | None = Field(default=None, pattern=RECIPIENT_ID_PATTERN)
    respond_by: AwareDatetime | None = Field(
        default=None, description="the leg's current answer deadline, once the notifier set it"
    )


class EscalationStep(StrEnum):
    REMINDER = "reminder"  # 1x the deadline: the handling body
    COMMISSIONING_AUTHORITY = "commissioning_authority"  # 2x: province or municipality
    NATIONAL_TABLE = "national_table"  # no longer fired (issue 16): the table reads figures
    ADMINISTRATIVE_LEAD = "administrative_lead"  # 3x: the competent authority's board


class DeadlineKind(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    ADVICE = "advice"  # an advisor's, only where the norms set one


class EscalationRaised(LegEvent):
    """One rung of the ladder fired for one leg; fired rungs are never withdrawn."""

    ce_type = "nl.buursignaal.leg.escalated.v1"

    step: EscalationStep
    deadline_kind: DeadlineKind
    deadline_at: AwareDatetime
    fired_at: AwareDatetime
    notify: list[str] = Field(description="recipient ids told about this step")
    reason: LocalizedText

    def ce_subject(self) -> str:
        return f"{super().ce_subject()}/{self.step.value}"
