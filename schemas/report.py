"""What a resident reported, as it travels between services (never with personal data)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from schemas._base import Contract, Event, ReportEvent

REPORTER_KEY_PATTERN = r"^[0-9a-f]{64}$"


class Category(StrEnum):
    """The six kinds of nuisance from industry (Dutch term in the glossary)."""

    ODOUR = "odour"  # geur
    NOISE = "noise"  # geluid
    VIBRATION = "vibration"  # trillingen
    SOIL = "soil"  # bodem
    WATER = "water"  # water
    AIR = "air"  # lucht: dust, soot, smoke, flaring


class HealthSymptom(StrEnum):
    HEADACHE = "headache"
    IRRITATED_EYES = "irritated_eyes"
    IRRITATED_THROAT = "irritated_throat"
    NAUSEA = "nausea"
    BREATHING = "breathing_problems"
    DIZZINESS = "dizziness"
    SKIN = "skin_irritation"
    OTHER = "other"


class Channel(StrEnum):
    WEB = "web"
    APP = "app"
    OPEN311 = "open311"


class LocationSource(StrEnum):
    WGS84 = "wgs84"
    RD_NEW = "rd_new"
    ADDRESS = "address"


class Location(Contract):
    """Where it was noticed, in WGS84; ``verified`` is false when an address lookup failed."""

    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    source: LocationSource
    verified: bool = True


class Report(Contract):
    """The content of a report that authorities need; contact details stay in intake."""

    report_id: UUID
    reporter_key: str = Field(pattern=REPORTER_KEY_PATTERN, description="keyed HMAC, pseudonymous")
    channel: Channel
    category: Category
    subtype: str | None = Field(default=None, max_length=64)
    location: Location
    observed_at: AwareDatetime
    received_at: AwareDatetime
    duration_minutes: int | None = Field(default=None, ge=0, le=60 * 24 * 30)
    still_noticeable: bool | None = None
    intensity: int | None = Field(default=None, ge=1, le=5)
    description: str = Field(default="", max_length=4000)
    health_symptoms: list[HealthSymptom] = Field(default_factory=list)
    symptoms_other: str | None = Field(default=None, max_length=500)
    suspected_source: str | None = Field(default=None, max_length=200)
    suspected_facility_id: str | None = Field(default=None, max_length=64)
    photo_count: int = Field(default=0, ge=0, le=5)
    language: Literal["nl", "en"] = "nl"
    linked_report_id: UUID | None = Field(
        default=None, description="the report this one joins ('I notice it too')"
    )
    contact_available: bool = Field(
        default=False, description="the resident consented to share contact details on request"
    )


class ReportReceived(Report, Event):
    """Intake accepted a report and committed it; routing starts from here."""

    ce_type = "nl.buursignaal.report.received.v1"

    def ce_subject(self) -> str:
        return str(self.report_id)


class ReportCorrected(ReportEvent):
    """A person corrected where or what a report is about; the router decides again.

    Only the fields that changed are set. Corrections come from a triage desk or an authority
    through intake, which keeps the report and publishes this event from its outbox.
    """

    ce_type = "nl.buursignaal.report.corrected.v1"

    corrected_at: AwareDatetime
    corrected_by: str = Field(min_length=1, max_length=100, description="a role, never a name")
    reason: str = Field(min_length=1, max_length=500)
    location: Location | None = None
    category: Category | None = None
    subtype: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _something_changes(self) -> ReportCorrected:
        if self.location is None and self.category is None and self.subtype is None:
            raise ValueError("a correction changes the location, the category or the subtype")
        return self
