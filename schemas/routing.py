"""Where a report goes, to whom, in which role, and why (the router's output)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from schemas._base import Contract, LocalizedText, ReportEvent
from schemas.report import Report

RECIPIENT_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"


class RecipientKind(StrEnum):
    MUNICIPALITY = "municipality"  # gemeente
    PROVINCE = "province"  # provincie
    OMGEVINGSDIENST = "omgevingsdienst"
    WATER_BOARD = "water_board"  # waterschap
    RIJKSWATERSTAAT = "rijkswaterstaat"
    GGD = "ggd"
    SAFETY_REGION = "safety_region"  # veiligheidsregio
    STATE_SUPERVISION_OF_MINES = "sodm"  # Staatstoezicht op de Mijnen
    MINISTRY = "ministry"


class Role(StrEnum):
    COMPETENT_AUTHORITY = "competent_authority"  # bevoegd gezag
    EXECUTING_BODY = "executing_body"  # uitvoerende dienst
    ADVISOR = "advisor"
    INFORMED = "informed"


class Recipient(Contract):
    recipient_id: str = Field(pattern=RECIPIENT_ID_PATTERN)
    name: str
    kind: RecipientKind
    role: Role
    rule_id: str
    reason: LocalizedText


class Place(Contract):
    municipality_code: str | None = Field(default=None, pattern=r"^GM\d{4}$")
    municipality_name: str | None = None
    province_code: str | None = Field(default=None, pattern=r"^PV\d{2}$")
    safety_region_code: str | None = Field(default=None, pattern=r"^VR\d{2}$")
    ggd_region_code: str | None = None
    water_board_code: str | None = None
    border_candidates: list[str] = Field(
        default_factory=list, description="other municipalities within 250 m of the point"
    )
    on_water: bool = Field(
        default=False,
        description="the point lies in no municipality (on a large water or the coastal strip); "
        "the municipality is the nearest one",
    )
    distance_m: float | None = Field(
        default=None, ge=0, description="on the water: how far the municipality is (about)"
    )
    water_name: str | None = Field(
        default=None, max_length=64, description="the large water the point lies on or at"
    )
    national_water: bool = Field(
        default=False, description="that water is managed by Rijkswaterstaat (a rijkswater)"
    )


class FacilityCandidate(Contract):
    facility_id: str
    name: str
    distance_m: float = Field(ge=0)
    bearing_deg: float = Field(ge=0, lt=360, description="from the facility to the reporter")
    downwind: bool | None = Field(default=None, description="None when no wind was known")
    score: float = Field(ge=0, le=1)
    sector: str | None = Field(default=None, max_length=64, description="e.g. steel, chemicals")
    plausible: bool = Field(
        default=False,
        description="weighed a possible source (ADR 0013); its authorities got the report",
    )
    coordinate_uncertainty_m: float | None = Field(
        default=None, ge=0, description="how far the facility's true site may lie from its point"
    )
    nuisance_match: bool | None = Field(
        default=None,
        description="its typical nuisances include the report's category; None when unknown",
    )
    seveso: bool = Field(default=False, description="a Seveso establishment")


class Wind(Contract):
    direction_deg: float | None = Field(
        default=None, ge=0, le=360, description="where the wind comes FROM; None when calm"
    )
    speed_ms: float = Field(ge=0)
    station_id: str
    hour_ending: AwareDatetime


class Referral(Contract):
    """Out of scope (traffic, aviation, neighbours): who the resident should contact instead."""

    reason: LocalizedText
    contact: str


class RoutingDecided(ReportEvent):
    """The complete, auditable decision for one routing round of one report."""

    ce_type = "nl.buursignaal.routing.decided.v1"

    round: int = Field(ge=1, description="1 for the first routing, +1 per re-routing")
    decided_at: AwareDatetime
    place: Place
    recipients: list[Recipient]
    excluded_recipients: list[str] = Field(
        default_factory=list, description="recipients that answered 'not ours'"
    )
    candidate_facilities: list[FacilityCandidate] = Field(
        default_factory=list, description="ranked, best first; `plausible` marks the sources"
    )
    wind: Wind | None = None
    registry_version: str
    confidence: Literal["high", "low"]
    call_112: bool = False
    referral: Referral | None = None
    reason: LocalizedText | None = Field(
        default=None,
        description="why the decision is low confidence or what it could not know (on the "
        "water, several possible sources, no wind observation)",
    )


class ReportDelivered(ReportEvent):
    """One report delivered to one recipient, on that recipient's own topic."""

    ce_type = "nl.buursignaal.report.delivered.v1"

    round: int = Field(ge=1)
    recipient: Recipient
    report: Report
    place: Place
    candidate_facilities: list[FacilityCandidate] = Field(default_factory=list)
    acute: bool = False
    wind: Wind | None = Field(default=None, description="the hourly wind used for attribution")


class ReportUnroutable(ReportEvent):
    """No recipient can be found (for example a point outside the Netherlands)."""

    ce_type = "nl.buursignaal.report.unroutable.v1"

    reason: LocalizedText
    detail: str = ""


class TriageRequested(ReportEvent):
    """A human must decide: recipients kept refusing, or the rules cannot decide."""

    ce_type = "nl.buursignaal.routing.triage-requested.v1"

    reason: LocalizedText
    refused_by: list[str] = Field(default_factory=list)
