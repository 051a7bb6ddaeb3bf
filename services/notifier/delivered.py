"""What an authority reads of a delivered report over HTTP and in the inbox, without Kafka.

A leg opened from ``ReportDelivered`` keeps the event's report part in its ``delivery`` column
(``kept``): the report without the pseudonymous reporter key, the place, the candidate
facilities, the wind, the acute flag and this recipient's reason. ``DeliveredReport`` reads it
back. The event carries no photos (only how many there are) and no contact details (only
whether the resident agreed to share them on request), so neither is kept or shown.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from schemas._base import LocalizedText
from schemas.report import Channel, HealthSymptom, Location
from schemas.routing import FacilityCandidate, Place, ReportDelivered, Wind


def _in_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


UtcInstant = Annotated[AwareDatetime, AfterValidator(_in_utc)]
"""An instant given in UTC (JSON: RFC 3339 ending in ``Z``), whatever offset it came with."""

KEPT_REPORT = {"reporter_key", "report_id", "category"}  # not kept: the leg has id and category


def kept(delivery: ReportDelivered) -> dict[str, Any]:
    """The delivery as the leg keeps it (JSON): one dump of the event on the hot path."""
    content = delivery.model_dump(
        mode="json",
        include={"report", "place", "candidate_facilities", "acute", "wind"},
        exclude={"report": KEPT_REPORT},
    )
    report = content.pop("report")
    return {**report, **content, "reason": delivery.recipient.reason.model_dump(mode="json")}


class DeliveredWind(Wind):
    hour_ending: UtcInstant


class DeliveredReport(BaseModel):
    """What was reported, where, near which facilities and why it came to this authority."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    description: str = Field(description="the resident's own words")
    observed_at: UtcInstant = Field(description="when the resident noticed it")
    received_at: UtcInstant = Field(description="when intake accepted the report")
    channel: Channel
    subtype: str | None = None
    intensity: int | None = Field(default=None, ge=1, le=5, description="1 (slight) to 5")
    duration_minutes: int | None = None
    still_noticeable: bool | None = None
    health_symptoms: list[HealthSymptom] = Field(default_factory=list)
    symptoms_other: str | None = None
    suspected_source: str | None = None
    suspected_facility_id: str | None = None
    location: Location = Field(description="the point in WGS84 as delivered")
    place: Place = Field(description="municipality (code and name), province and regions")
    candidate_facilities: list[FacilityCandidate] = Field(default_factory=list)
    wind: DeliveredWind | None = None
    acute: bool = False
    reason: LocalizedText = Field(description="why this report came to this authority")
    linked_report_id: UUID | None = None
    language: Literal["nl", "en"] = "nl"
    photo_count: int = Field(
        default=0, description="photos the resident added; the delivery carries none, so no link"
    )
    contact_available: bool = Field(
        default=False,
        description=(
            "the resident agreed to share contact details on request; the details themselves"
            " are not delivered and not served"
        ),
    )


def delivered_report(delivery: dict[str, Any] | None) -> DeliveredReport | None:
    """The kept delivery of a leg; none for a leg opened by forwarding or before it was kept."""
    return None if delivery is None else DeliveredReport.model_validate(delivery)
