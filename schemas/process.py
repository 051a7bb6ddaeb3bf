"""How the process runs, for the national table: per body and period, where things stall.

The table sits beside the statutory procedures and must not become incident-driven: it never
receives a single report or leg, only these figures (and the patterns and digests).
"""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, Field

from schemas._base import Contract, Event
from schemas.routing import RECIPIENT_ID_PATTERN


class BodyFigures(Contract):
    """One body's answering legs (competent authority, executing body) in one period."""

    recipient_id: str = Field(pattern=RECIPIENT_ID_PATTERN)
    name: str
    legs: int = Field(ge=0, description="answering legs delivered in the period")
    acknowledged: int = Field(ge=0)
    answered: int = Field(ge=0, description="resolved or no action")
    answered_on_time: int = Field(
        ge=0, description="acknowledged without a rung of the acknowledgement ladder"
    )
    median_hours_to_acknowledge: float | None = Field(default=None, ge=0)
    median_hours_to_resolve: float | None = Field(default=None, ge=0)
    open_overdue: int = Field(ge=0, description="open legs past their current deadline")
    reminders: int = Field(ge=0, description="rung 1 fired in the period")
    commissioning_authority: int = Field(ge=0, description="rung 2 fired in the period")
    administrative_lead: int = Field(ge=0, description="rung 3 fired in the period")


class ProcessFigures(Event):
    """Per-body figures of one period (working hours); no report, leg or reporter in it."""

    ce_type = "nl.buursignaal.process.figures.v1"

    figures_id: UUID
    period_start: AwareDatetime
    period_end: AwareDatetime
    published_at: AwareDatetime
    bodies: list[BodyFigures] = Field(default_factory=list)

    def ce_subject(self) -> str:
        return str(self.figures_id)
