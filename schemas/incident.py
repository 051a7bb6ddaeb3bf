"""Incidents (voorvallen): a wave of reports about one event handled as one.

Reports to the same executing body that share a likely source (the same facility, or the same
cell when none) and category within an overlapping time window form an incident. These events
carry counts, times and the wind; never a report's content, reporter or exact place.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from schemas._base import Event, LocalizedText
from schemas.report import Category
from schemas.routing import RECIPIENT_ID_PATTERN


class IncidentState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"  # one answer was applied to its legs
    MERGED = "merged"  # its legs moved into another incident


class IncidentUpdated(Event):
    """An incident as it stands after a change (a report joined, an answer, a move, a merge)."""

    ce_type = "nl.buursignaal.incident.updated.v1"

    incident_id: UUID
    recipient_id: str = Field(pattern=RECIPIENT_ID_PATTERN, description="the executing body")
    category: Category
    facility_id: str | None = Field(default=None, description="the likely source, if known")
    cell: str | None = Field(default=None, description="a ~1 km cell when no facility is known")
    state: IncidentState
    merged_into: UUID | None = None
    window_start: AwareDatetime
    window_end: AwareDatetime
    report_count: int = Field(ge=0)
    unique_reporters: int = Field(ge=0)
    timeline: list[AwareDatetime] = Field(
        default_factory=list, description="when each report's nuisance was observed, in order"
    )
    wind_from_deg: float | None = Field(default=None, ge=0, le=360)
    wind_speed_ms: float | None = Field(default=None, ge=0)
    occurred_at: AwareDatetime

    def ce_subject(self) -> str:
        return str(self.incident_id)


class ComplaintWave(Event):
    """An incident reached the wave threshold of unique reporters (again only on growth)."""

    ce_type = "nl.buursignaal.incident.wave.v1"

    incident_id: UUID
    recipient_id: str = Field(pattern=RECIPIENT_ID_PATTERN, description="the executing body")
    category: Category
    unique_reporters: int = Field(ge=1)
    announcement: int = Field(ge=1, description="1 at the threshold, +1 per growth step")
    notify: list[str] = Field(description="the competent authorities and the safety region")
    reason: LocalizedText
    occurred_at: AwareDatetime

    def ce_subject(self) -> str:
        return str(self.incident_id)
