"""What the national table reads: detected patterns and periodic digests (no personal data)."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from schemas._base import Contract, Event, LocalizedText
from schemas.report import Category


class DetectionMethod(StrEnum):
    BURST = "burst"
    SPACE_TIME_SCAN = "space_time_scan"
    FACILITY_RECURRENCE = "facility_recurrence"


class Scope(StrEnum):
    LOCAL = "local"
    REGIONAL = "regional"
    NATIONAL = "national"


class CoarsePoint(Contract):
    """A location snapped to a 500 m grid: never a resident's exact address."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    grid_m: int = Field(default=500, ge=500)


class PatternDetected(Event):
    ce_type = "nl.buursignaal.pattern.detected.v1"

    pattern_id: UUID
    method: DetectionMethod
    category: Category
    scope: Scope
    detected_at: AwareDatetime
    window_start: AwareDatetime
    window_end: AwareDatetime
    unique_reporters: int = Field(ge=0)
    report_count: int = Field(ge=0)
    announcement: int = Field(ge=1, description="1 when new; +1 each time it grows")
    recurrence_interval_days: float | None = Field(default=None, ge=0)
    centre: CoarsePoint | None = None
    radius_m: float | None = Field(default=None, ge=0)
    municipality_codes: list[str] = Field(default_factory=list)
    province_codes: list[str] = Field(default_factory=list)
    facility_ids: list[str] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list)
    summary: LocalizedText
    dossier_candidate: bool = Field(
        default=False,
        description="a recurrence that lasted (or a pattern across regions) the national table "
        "may open a dossier for; absent in events before it existed",
    )
    joins: list[UUID] = Field(
        default_factory=list,
        description="a national pattern: the local and regional patterns it joins",
    )

    def ce_subject(self) -> str:
        return str(self.pattern_id)


class DigestPublished(Event):
    ce_type = "nl.buursignaal.digest.published.v1"

    digest_id: UUID
    period_start: AwareDatetime
    period_end: AwareDatetime
    published_at: AwareDatetime
    url: str
    pattern_ids: list[UUID] = Field(default_factory=list)
    reports_by_category: dict[Category, int] = Field(default_factory=dict)
    summary: LocalizedText

    def ce_subject(self) -> str:
        return str(self.digest_id)
