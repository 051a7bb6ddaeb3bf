"""Corrections of a report's location or category by a triage desk or an authority.

Intake keeps the report, so it applies the correction to its record and publishes
``ReportCorrected`` from its outbox in the same transaction; the router then decides again.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import select

from schemas.report import Category, Location, LocationSource, ReportCorrected
from schemas.topics import REPORT_CORRECTED
from services.intake.actions import SOURCE, Intake
from services.intake.location import OutsideNetherlandsError
from services.intake.models import ReportRecord
from services.runtime.database import write_transaction
from services.runtime.outbox import enqueue


class CorrectionRequest(BaseModel):
    """``POST /internal/v1/reports/{id}/correction`` (bearer token)."""

    model_config = ConfigDict(extra="forbid")

    corrected_by: str = Field(min_length=1, max_length=100, description="a role, never a name")
    reason: str = Field(min_length=1, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    category: Category | None = None
    subtype: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _complete(self) -> CorrectionRequest:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if self.lat is None and self.category is None and self.subtype is None:
            raise ValueError("a correction changes the location, the category or the subtype")
        return self


async def correct_report(intake: Intake, report_id: str, request: CorrectionRequest) -> bool:
    """Apply ``request``; False when there is no such report. Raises for a point abroad."""
    location = None
    if request.lat is not None and request.lon is not None:
        if not intake.netherlands.contains(request.lat, request.lon):
            raise OutsideNetherlandsError("the corrected location is not in the Netherlands")
        location = Location(lat=request.lat, lon=request.lon, source=LocationSource.WGS84)
    async with write_transaction(intake.sessions) as session:
        record = (
            await session.exec(select(ReportRecord).where(ReportRecord.id == report_id))
        ).first()
        if record is None:
            return False
        if location is not None:
            record.lat, record.lon = location.lat, location.lon
            record.location_source = LocationSource.WGS84
            record.location_verified = True
        if request.category is not None:
            record.category = request.category
        if request.subtype is not None:
            record.subtype = request.subtype
        session.add(record)
        event = ReportCorrected(
            report_id=record.id,
            corrected_at=intake.clock.now(),
            corrected_by=request.corrected_by,
            reason=request.reason,
            location=location,
            category=request.category,
            subtype=request.subtype,
        )
        topic = REPORT_CORRECTED.name
        enqueue(session, event, topic=topic, key=record.id, source=SOURCE, clock=intake.clock)
    if callable(intake.wake_relay):
        intake.wake_relay()
    return True
